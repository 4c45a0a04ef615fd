//! The bundle file: its types and its one canonical encoding.
//!
//! A bundle is one JSON object serialized compactly (no insignificant whitespace,
//! keys in the order of the struct fields below, binary fields as lowercase hex,
//! strings escaped only where JSON requires it) and followed by one line feed. The
//! verifier re-serializes what it parsed and refuses a file that is not byte for byte
//! that serialization, so no byte of a bundle is insignificant: changing any one either
//! breaks the JSON, changes a hashed or signed field, or makes the file non-canonical.
//! `docs/bundle-format.md` is the normative description.

use chrono::NaiveDate;
use hoso_ledger::{Hash, RecordedEvent, SignedTreeHead, SourceDocument};
use hoso_schemas::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version tag every bundle starts with.
pub const FORMAT: &str = "hoso-bundle/1";

/// A dossier bundle: everything an inspector needs to check a dossier's history offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// The dossier's stream name, `dossier-<uuid>`.
    pub dossier: String,
    /// Revision of the last dossier event in the bundle; lets a verifier notice an
    /// event dropped from the end.
    pub last_revision: u64,
    /// The exporter's statement that the dossier had events after the tree head,
    /// left out because the head does not cover them. Not authenticated.
    pub later_events_omitted: bool,
    /// The signed tree head every proof is against (its flat JSON form).
    pub tree_head: SignedTreeHead,
    /// The dossier's events from revision 0, in revision order.
    pub events: Vec<BundleEvent>,
    /// The `account.SigningKeyRegistered` events of the keys that signed the
    /// dossier's approvals, in position order.
    pub signer_keys: Vec<BundleEvent>,
    /// Attachment hashes the dossier events cite, in ascending order.
    pub attachments: Vec<Attachment>,
}

/// One stored event, every envelope field exactly as hashed, and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// Position in `$all`: the Merkle leaf index.
    pub position: u64,
    /// Stream name.
    pub stream: String,
    /// Revision within the stream.
    pub revision: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Type name, e.g. `dossier.DeclarationSubmitted`.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// Account that caused the event, or `system`.
    pub actor: String,
    /// Correlation id.
    pub correlation_id: Option<Uuid>,
    /// Causation id.
    pub causation_id: Option<Uuid>,
    /// Transaction time, microseconds since the Unix epoch.
    pub recorded_at_us: i64,
    /// Valid time, microseconds since the Unix epoch.
    pub effective_at_us: Option<i64>,
    /// The decision behind the event.
    pub source_document: Option<BundleDocument>,
    /// The protobuf payload as stored (sealed fields stay ciphertext).
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
    /// Chain hash of the stream's previous event (zeros at revision 0).
    #[serde(with = "hex32")]
    pub prev_hash: Hash,
    /// This event's chain hash.
    #[serde(with = "hex32")]
    pub hash: Hash,
    /// Inclusion proof of `hash` as leaf `position` in the head's tree.
    #[serde(with = "hex32_vec")]
    pub proof: Vec<Hash>,
}

/// The envelope's source document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleDocument {
    /// Document number.
    pub number: String,
    /// Date signed, `YYYY-MM-DD`.
    pub date: NaiveDate,
    /// Issuing body.
    pub issuer: String,
    /// SHA-256 of the digitised copy.
    #[serde(with = "opt_hex32")]
    pub attachment_sha256: Option<Hash>,
}

/// An attachment the dossier cites, and the revisions that cite it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// SHA-256 of the attachment's content.
    #[serde(with = "hex32")]
    pub sha256: Hash,
    /// Revisions of the dossier events citing it, ascending.
    pub cited_by: Vec<u64>,
}

impl Bundle {
    /// The canonical bytes: compact JSON and one line feed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

impl BundleEvent {
    /// The bundle form of a stored event with its proof.
    pub fn of(e: &RecordedEvent, proof: Vec<Hash>) -> Self {
        Self {
            position: e.position,
            stream: e.stream.clone(),
            revision: e.revision,
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            actor: e.actor.clone(),
            correlation_id: e.correlation_id,
            causation_id: e.causation_id,
            recorded_at_us: e.recorded_at.timestamp_micros(),
            effective_at_us: e.effective_at.map(|t| t.timestamp_micros()),
            source_document: e.source_document.as_ref().map(|d| BundleDocument {
                number: d.number.clone(),
                date: d.date,
                issuer: d.issuer.clone(),
                attachment_sha256: d.attachment_sha256,
            }),
            payload: e.payload.clone(),
            prev_hash: e.prev_hash,
            hash: e.hash,
            proof,
        }
    }

    /// The stored event this describes, or `None` when a time is out of range.
    pub fn to_recorded(&self) -> Option<RecordedEvent> {
        Some(RecordedEvent {
            position: self.position,
            stream: self.stream.clone(),
            revision: self.revision,
            event_id: self.event_id,
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            payload: self.payload.clone(),
            actor: self.actor.clone(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            recorded_at: hoso_ledger::envelope::from_micros(self.recorded_at_us)?,
            effective_at: match self.effective_at_us {
                None => None,
                Some(us) => Some(hoso_ledger::envelope::from_micros(us)?),
            },
            source_document: self.source_document.as_ref().map(|d| SourceDocument {
                number: d.number.clone(),
                date: d.date,
                issuer: d.issuer.clone(),
                attachment_sha256: d.attachment_sha256,
            }),
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// The attachment hashes a dossier event cites: its envelope's source document, and
/// in its payload the decision references, supporting attachments, certificates and
/// attachments added. Empty hashes (no copy attached) are not citations.
pub fn cited_attachments(event: &DomainEvent, document: Option<&SourceDocument>) -> Vec<Hash> {
    use hoso_schemas::pb::common::DecisionRef;
    let mut raw: Vec<&[u8]> = Vec::new();
    let decision: Option<&DecisionRef> = match event {
        DomainEvent::DossierOpened(e) => e.recruitment_decision.as_ref(),
        DomainEvent::ManagingUnitReassigned(e) => e.decision.as_ref(),
        DomainEvent::AppointmentRecorded(e) => e.decision.as_ref(),
        DomainEvent::RankChanged(e) => e.decision.as_ref(),
        DomainEvent::SalaryChanged(e) => e.decision.as_ref(),
        DomainEvent::AllowanceChanged(e) => e.decision.as_ref(),
        DomainEvent::AwardGranted(e) => e.decision.as_ref(),
        DomainEvent::DisciplineImposed(e) => e.decision.as_ref(),
        DomainEvent::EvaluationRecorded(e) => e.decision.as_ref(),
        DomainEvent::DepartmentChanged(e) => e.decision.as_ref(),
        DomainEvent::TransferInitiated(e) => e.decision.as_ref(),
        DomainEvent::StatusChanged(e) => e.decision.as_ref(),
        DomainEvent::DeclarationSubmitted(e) => {
            raw.extend(e.supporting_attachments.iter().map(Vec::as_slice));
            None
        }
        DomainEvent::TrainingRecorded(e) => {
            raw.push(&e.certificate_sha256);
            None
        }
        DomainEvent::AttachmentAdded(e) => {
            raw.push(&e.sha256);
            None
        }
        _ => None,
    };
    if let Some(d) = decision {
        raw.push(&d.attachment_sha256);
    }
    let mut out: Vec<Hash> = raw
        .into_iter()
        .filter_map(|h| Hash::try_from(h).ok())
        .collect();
    if let Some(h) = document.and_then(|d| d.attachment_sha256) {
        out.push(h);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Builds the attachment list from `(revision, cited hashes)` pairs: one entry per
/// hash, ascending, each with the revisions citing it, ascending.
pub fn attachment_list(citations: impl IntoIterator<Item = (u64, Vec<Hash>)>) -> Vec<Attachment> {
    let mut by_hash: std::collections::BTreeMap<Hash, Vec<u64>> = Default::default();
    for (revision, hashes) in citations {
        for h in hashes {
            by_hash.entry(h).or_default().push(revision);
        }
    }
    by_hash
        .into_iter()
        .map(|(sha256, mut cited_by)| {
            cited_by.sort_unstable();
            cited_by.dedup();
            Attachment { sha256, cited_by }
        })
        .collect()
}

fn decode_hash<E: serde::de::Error>(s: &str) -> Result<Hash, E> {
    let bytes = hex::decode(s).map_err(E::custom)?;
    Hash::try_from(bytes.as_slice()).map_err(|_| E::custom("a hash is 32 bytes (64 hex digits)"))
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <&str>::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

mod hex32 {
    use hoso_ledger::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        super::decode_hash(<&str>::deserialize(d)?)
    }
}

mod opt_hex32 {
    use hoso_ledger::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
        match hash {
            None => s.serialize_none(),
            Some(h) => s.serialize_str(&hex::encode(h)),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Hash>, D::Error> {
        Option::<&str>::deserialize(d)?
            .map(super::decode_hash)
            .transpose()
    }
}

mod hex32_vec {
    use hoso_ledger::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hashes.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<&str>::deserialize(d)?
            .into_iter()
            .map(super::decode_hash)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_list_is_sorted_and_names_each_citing_revision_once() {
        let list = attachment_list([
            (3, vec![[2; 32], [1; 32]]),
            (1, vec![[2; 32]]),
            (3, vec![[2; 32]]),
        ]);
        assert_eq!(
            list,
            vec![
                Attachment {
                    sha256: [1; 32],
                    cited_by: vec![3]
                },
                Attachment {
                    sha256: [2; 32],
                    cited_by: vec![1, 3]
                },
            ]
        );
    }

    #[test]
    fn empty_and_short_hashes_are_not_citations() {
        let event = DomainEvent::from(hoso_schemas::pb::dossier::DeclarationSubmitted {
            supporting_attachments: vec![Vec::new(), vec![1; 31], vec![4; 32]],
            ..Default::default()
        });
        let doc = SourceDocument {
            number: "1/QĐ".into(),
            date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            issuer: "UBND".into(),
            attachment_sha256: Some([3; 32]),
        };
        assert_eq!(
            cited_attachments(&event, Some(&doc)),
            vec![[3; 32], [4; 32]]
        );
    }

    #[test]
    fn hex_fields_refuse_wrong_lengths() {
        let bad = r#"{"sha256":"abcd","cited_by":[]}"#;
        assert!(serde_json::from_str::<Attachment>(bad).is_err());
        let good = format!(r#"{{"sha256":"{}","cited_by":[1]}}"#, "ab".repeat(32));
        let a: Attachment = serde_json::from_str(&good).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::to_string(&a).ok(), Some(good));
    }
}

#[cfg(test)]
mod vector {
    use super::*;

    /// The worked example of `docs/bundle-format.md` §2: the document and the code
    /// must agree byte for byte.
    fn example() -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream: "dossier-1".into(),
            revision: 0,
            event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_002a),
            event_type: "dossier.DossierLocked".into(),
            schema_version: 1,
            payload: vec![0x0a, 0x02, 0x6f, 0x6b],
            actor: "system".into(),
            correlation_id: None,
            causation_id: None,
            recorded_at: hoso_ledger::envelope::from_micros(1_767_225_600_000_000)
                .unwrap_or_default(),
            effective_at: None,
            source_document: None,
            prev_hash: hoso_ledger::GENESIS_HASH,
            hash: hoso_ledger::GENESIS_HASH,
        }
    }

    #[test]
    fn the_documented_example_hashes_as_documented() {
        let e = example();
        let mut canonical = Vec::new();
        hoso_ledger::envelope::EnvelopeRef::of_recorded(&e, true)
            .write_canonical(e.payload.len(), &mut canonical);
        assert_eq!(
            hex::encode(&canonical),
            concat!(
                "484f534f2d455601",
                "00000009646f73736965722d31",
                "0000000000000000",
                "010000000000000007",
                "0190000000007000800000000000002a",
                "00000015646f73736965722e446f73736965724c6f636b6564",
                "00000001",
                "0000000673797374656d",
                "00",
                "00",
                "0006474846204000",
                "00",
                "00",
                "0000000000000004",
            )
        );
        let hash = e.compute_hash(true);
        assert_eq!(
            hex::encode(hash),
            "fff8af0cf9c0158317688cbab25a7818e46c7136f8f59d76ab45ab74d0d43c35"
        );
        assert_eq!(
            hex::encode(hoso_ledger::merkle::leaf_hash(&hash)),
            "8fc90b1aa3744ad8b3f8da3dec3998eea5165b17e233071f92fefb6d4c9dc7f7"
        );
    }
}
