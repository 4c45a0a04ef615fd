//! Verifying a bundle offline, with nothing but its bytes and (optionally) the
//! province's published ledger public key.
//!
//! The steps run in the order `docs/bundle-format.md` lists them, and the first failure
//! is returned, naming the section, index, stream, revision and position it concerns.
//! Without a key every check but the head's signature is made, and the answer is
//! "self-consistent, not authenticated": anyone can write a self-consistent bundle.

use ed25519_dalek::VerifyingKey;
use hoso_domain::signing::{self, SignatureProblem};
use hoso_ledger::checkpoint::CheckpointError;
use hoso_ledger::merkle::{InclusionProof, ProofError, verify_inclusion};
use hoso_ledger::{GENESIS_HASH, Hash, KeyId, RecordedEvent, SignedTreeHead};
use hoso_schemas::pb::account::SigningKeyRegistered;
use hoso_schemas::pb::dossier::ApprovalSigned;
use hoso_schemas::{DomainEvent, Registry, SchemaError};

use crate::format::{Attachment, Bundle, BundleEvent, FORMAT, attachment_list, cited_attachments};

/// Which list of the bundle an event is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `events`: the dossier's own events.
    Dossier,
    /// `signer_keys`: the signers' key registrations.
    SignerKeys,
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Dossier => "events",
            Self::SignerKeys => "signer_keys",
        })
    }
}

/// Where in the bundle an event is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    /// The list.
    pub section: Section,
    /// Index in the list, from 0.
    pub index: usize,
    /// The event's stream.
    pub stream: String,
    /// Its revision.
    pub revision: u64,
    /// Its position in `$all`.
    pub position: u64,
}

impl EventRef {
    fn of(section: Section, index: usize, e: &BundleEvent) -> Self {
        Self {
            section,
            index,
            stream: e.stream.clone(),
            revision: e.revision,
            position: e.position,
        }
    }
}

impl std::fmt::Display for EventRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}] ({} revision {}, position {})",
            self.section, self.index, self.stream, self.revision, self.position
        )
    }
}

/// Why a bundle does not verify. Each variant is one rule of the format.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bytes are not a bundle's JSON.
    #[error("not a bundle: malformed at line {line}, column {column}: {message}")]
    Malformed {
        /// Line (from 1).
        line: usize,
        /// Column (from 1).
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The bytes parse but are not the canonical serialization of what they hold.
    #[error("not in canonical form: first difference at byte offset {offset}")]
    NotCanonical {
        /// Offset of the first byte that differs from the canonical serialization.
        offset: usize,
    },
    /// The format tag is not one this verifier knows.
    #[error("unsupported format {found:?} (this verifier reads {FORMAT:?})")]
    UnsupportedFormat {
        /// The tag found.
        found: String,
    },
    /// The dossier stream name is not `dossier-<id>`.
    #[error("{0:?} is not a dossier stream")]
    NotADossier(String),
    /// The bundle holds no dossier event.
    #[error("the bundle holds no dossier event")]
    NoEvents,
    /// A dossier event belongs to another stream.
    #[error("{at}: belongs to another stream than {dossier}")]
    ForeignEvent {
        /// The event.
        at: EventRef,
        /// The bundle's dossier.
        dossier: String,
    },
    /// The dossier's revisions are not dense from 0: an event is missing or moved.
    #[error("{at}: expected revision {expected}; an event is missing or out of order")]
    RevisionGap {
        /// The event.
        at: EventRef,
        /// The revision that should be there.
        expected: u64,
    },
    /// The dossier's last revision is not the one the bundle declares.
    #[error(
        "the bundle declares last revision {declared} but its events end at revision {found}: events were dropped or added at the end"
    )]
    LastRevisionMismatch {
        /// `last_revision`.
        declared: u64,
        /// The revision of the last event.
        found: u64,
    },
    /// Positions do not increase (within a list).
    #[error("{at}: position does not follow the previous event's")]
    PositionOrder {
        /// The event.
        at: EventRef,
    },
    /// A time or date cannot be represented.
    #[error("{at}: recorded_at or effective_at out of range")]
    TimeOutOfRange {
        /// The event.
        at: EventRef,
    },
    /// An event's content does not hash to its recorded hash.
    #[error("{at}: content altered: it hashes to {computed}, not to the recorded {recorded}")]
    HashMismatch {
        /// The event.
        at: EventRef,
        /// Hash recomputed from the fields (hex).
        computed: String,
        /// The `hash` field (hex).
        recorded: String,
    },
    /// A dossier event's `prev_hash` is not the previous event's hash.
    #[error("{at}: chain broken: prev_hash is not the hash of revision {previous}")]
    BrokenLink {
        /// The event.
        at: EventRef,
        /// The revision it should link to (its own revision for revision 0's genesis).
        previous: u64,
    },
    /// The first event's `prev_hash` is not the genesis hash.
    #[error("{at}: the first event of the stream must link to the all-zero genesis hash")]
    BadGenesis {
        /// The event.
        at: EventRef,
    },
    /// An event's position is not covered by the head.
    #[error("{at}: not covered by the tree head of size {tree_size}")]
    NotCovered {
        /// The event.
        at: EventRef,
        /// The head's tree size.
        tree_size: u64,
    },
    /// An inclusion proof does not lead to the head's root.
    #[error("{at}: inclusion proof against the tree head of size {tree_size} fails: {source}")]
    Inclusion {
        /// The event.
        at: EventRef,
        /// The head's tree size.
        tree_size: u64,
        /// Why.
        source: ProofError,
    },
    /// An event's payload does not decode as its type.
    #[error("{at}: payload does not decode: {source}")]
    Undecodable {
        /// The event.
        at: EventRef,
        /// What the registry said.
        source: SchemaError,
    },
    /// The attachment list is not the one the events cite.
    #[error("attachments: the list does not match the hashes the events cite ({detail})")]
    AttachmentsMismatch {
        /// The first difference.
        detail: String,
    },
    /// An approval signs a revision that is not an earlier event of the dossier.
    #[error("approval at revision {approval}: signs revision {signed}, not an earlier event")]
    ApprovalRevision {
        /// Revision of the `ApprovalSigned` event.
        approval: u64,
        /// The revision it signs.
        signed: u64,
    },
    /// An approval's stream hash is not the chain hash of the revision it signs.
    #[error("approval at revision {approval}: stream_hash is not the hash of revision {signed}")]
    ApprovalHash {
        /// Revision of the `ApprovalSigned` event.
        approval: u64,
        /// The revision it signs.
        signed: u64,
    },
    /// No key registration in the bundle matches an approval's signer and key id.
    #[error(
        "approval at revision {approval}: no registration of key {key_id} of account {signer} in signer_keys"
    )]
    MissingSignerKey {
        /// Revision of the `ApprovalSigned` event.
        approval: u64,
        /// The signer.
        signer: String,
        /// The key id.
        key_id: String,
    },
    /// An approval signature does not verify under the registered key.
    #[error(
        "approval at revision {approval}: signature by {signer} with key {key_id} does not verify: {problem}"
    )]
    ApprovalSignature {
        /// Revision of the `ApprovalSigned` event.
        approval: u64,
        /// The signer.
        signer: String,
        /// The key id.
        key_id: String,
        /// Why.
        problem: SignatureProblem,
    },
    /// A `signer_keys` entry is not a key registration, or one no approval uses.
    #[error("{at}: not the registration of a key that signs one of the dossier's approvals")]
    StrayKeyEvent {
        /// The event.
        at: EventRef,
    },
    /// The head's signature does not verify under the key given.
    #[error("tree head (size {tree_size}): {source}")]
    HeadSignature {
        /// The head's tree size.
        tree_size: u64,
        /// Why.
        source: CheckpointError,
    },
}

/// Whether the tree head was checked against the ledger's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// The head's signature verifies under the given key.
    Authenticated {
        /// The key.
        key_id: KeyId,
    },
    /// No key was given: the bundle is self-consistent, and nothing more is known.
    NotAuthenticated,
}

/// One event of a verified bundle, decoded.
#[derive(Debug, Clone)]
pub struct VerifiedEvent {
    /// The event as stored.
    pub recorded: RecordedEvent,
    /// Its payload, decoded (and upcast) through the registry.
    pub decoded: DomainEvent,
}

/// One approval of the dossier and its signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalCheck {
    /// Revision of the `ApprovalSigned` event.
    pub approval_revision: u64,
    /// The revision it signs.
    pub signed_revision: u64,
    /// The signing account.
    pub signer: String,
    /// The account whose power the signer used, if by delegation.
    pub delegated_from: Option<String>,
    /// The key id.
    pub key_id: String,
    /// The registered public key.
    pub public_key: [u8; 32],
    /// Position of the key's registration.
    pub key_position: u64,
    /// Whether the signature verified (always true in a report `verify` returns).
    pub valid: bool,
}

/// What a successful verification established, and what the timeline shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// The dossier stream.
    pub dossier: String,
    /// The tree head every proof was checked against.
    pub head: SignedTreeHead,
    /// Whether the head's signature was checked.
    pub authentication: Authentication,
    /// The dossier's events, revision order.
    pub events: Vec<VerifiedEvent>,
    /// The approvals and their signatures.
    pub approvals: Vec<ApprovalCheck>,
    /// The attachments the dossier cites.
    pub attachments: Vec<Attachment>,
    /// The exporter's (unauthenticated) statement that later events were left out.
    pub later_events_omitted: bool,
}

impl Report {
    /// `true` only when the head's signature was checked with the ledger key.
    pub fn is_authenticated(&self) -> bool {
        matches!(self.authentication, Authentication::Authenticated { .. })
    }

    /// One line: "verified and authenticated …" or "self-consistent, not authenticated".
    pub fn verdict(&self) -> String {
        let size = self.head.head.tree_size;
        match self.authentication {
            Authentication::Authenticated { key_id } => format!(
                "verified and authenticated: {} events of {} proven in the tree of size {size} signed by ledger key {key_id}",
                self.events.len(),
                self.dossier
            ),
            Authentication::NotAuthenticated => format!(
                "self-consistent, not authenticated: {} events of {} agree with the tree head of size {size}, but no ledger key was given to check its signature",
                self.events.len(),
                self.dossier
            ),
        }
    }
}

/// Verifies a bundle's bytes. With `ledger_key`, the head's signature is checked too.
pub fn verify(bytes: &[u8], ledger_key: Option<&VerifyingKey>) -> Result<Report, BundleError> {
    let bundle = parse(bytes)?;
    if bundle.format != FORMAT {
        return Err(BundleError::UnsupportedFormat {
            found: bundle.format,
        });
    }
    let dossier_id = bundle
        .dossier
        .strip_prefix(hoso_domain::dossier::STREAM_PREFIX)
        .filter(|id| !id.is_empty());
    if dossier_id.is_none() {
        return Err(BundleError::NotADossier(bundle.dossier));
    }
    let head = &bundle.tree_head.head;

    // The dossier's chain: dense revisions from 0, each event re-hashed and linked.
    if bundle.events.is_empty() {
        return Err(BundleError::NoEvents);
    }
    let mut recorded = Vec::with_capacity(bundle.events.len());
    for (i, e) in bundle.events.iter().enumerate() {
        let at = || EventRef::of(Section::Dossier, i, e);
        if e.stream != bundle.dossier {
            return Err(BundleError::ForeignEvent {
                at: at(),
                dossier: bundle.dossier.clone(),
            });
        }
        if e.revision != i as u64 {
            return Err(BundleError::RevisionGap {
                at: at(),
                expected: i as u64,
            });
        }
        let r = rehash(Section::Dossier, i, e)?;
        match i.checked_sub(1).map(|p| &bundle.events[p]) {
            None if e.prev_hash != GENESIS_HASH => {
                return Err(BundleError::BadGenesis { at: at() });
            }
            Some(prev) if e.prev_hash != prev.hash => {
                return Err(BundleError::BrokenLink {
                    at: at(),
                    previous: prev.revision,
                });
            }
            Some(prev) if e.position <= prev.position => {
                return Err(BundleError::PositionOrder { at: at() });
            }
            _ => {}
        }
        recorded.push(r);
    }
    let found = bundle.events.len() as u64 - 1;
    if bundle.last_revision != found {
        return Err(BundleError::LastRevisionMismatch {
            declared: bundle.last_revision,
            found,
        });
    }
    let mut key_events = Vec::with_capacity(bundle.signer_keys.len());
    for (i, e) in bundle.signer_keys.iter().enumerate() {
        let r = rehash(Section::SignerKeys, i, e)?;
        if i > 0 && e.position <= bundle.signer_keys[i - 1].position {
            return Err(BundleError::PositionOrder {
                at: EventRef::of(Section::SignerKeys, i, e),
            });
        }
        key_events.push(r);
    }

    // Every event is a leaf of the signed tree.
    for (section, list) in [
        (Section::Dossier, &bundle.events),
        (Section::SignerKeys, &bundle.signer_keys),
    ] {
        for (i, e) in list.iter().enumerate() {
            let at = || EventRef::of(section, i, e);
            if e.position >= head.tree_size {
                return Err(BundleError::NotCovered {
                    at: at(),
                    tree_size: head.tree_size,
                });
            }
            let proof = InclusionProof {
                leaf_index: e.position,
                tree_size: head.tree_size,
                path: e.proof.clone(),
            };
            verify_inclusion(&e.hash, &proof, &head.root).map_err(|source| {
                BundleError::Inclusion {
                    at: at(),
                    tree_size: head.tree_size,
                    source,
                }
            })?;
        }
    }

    // Payloads, attachments, approvals.
    let registry = Registry::standard();
    let mut events = Vec::with_capacity(recorded.len());
    for (i, r) in recorded.into_iter().enumerate() {
        let decoded = decode(&registry, Section::Dossier, i, &bundle.events[i], &r)?;
        events.push(VerifiedEvent {
            recorded: r,
            decoded,
        });
    }
    let derived = attachment_list(events.iter().map(|e| {
        (
            e.recorded.revision,
            cited_attachments(&e.decoded, e.recorded.source_document.as_ref()),
        )
    }));
    check_attachments(&bundle.attachments, &derived)?;
    let mut keys = Vec::with_capacity(key_events.len());
    for (i, r) in key_events.iter().enumerate() {
        let e = &bundle.signer_keys[i];
        match decode(&registry, Section::SignerKeys, i, e, r)? {
            DomainEvent::SigningKeyRegistered(k)
                if r.stream == hoso_domain::account::stream_id(&k.account_id) =>
            {
                keys.push((k, false));
            }
            _ => {
                return Err(BundleError::StrayKeyEvent {
                    at: EventRef::of(Section::SignerKeys, i, e),
                });
            }
        }
    }
    let mut approvals = Vec::new();
    for e in &events {
        if let DomainEvent::ApprovalSigned(a) = &e.decoded {
            approvals.push(check_approval(
                &bundle.dossier,
                e.recorded.revision,
                a,
                &events,
                &bundle.signer_keys,
                &mut keys,
            )?);
        }
    }
    if let Some(i) = keys.iter().position(|(_, used)| !used) {
        return Err(BundleError::StrayKeyEvent {
            at: EventRef::of(Section::SignerKeys, i, &bundle.signer_keys[i]),
        });
    }

    // Last, the head itself: only a key turns "consistent" into "authentic".
    let authentication = match ledger_key {
        None => Authentication::NotAuthenticated,
        Some(key) => {
            bundle
                .tree_head
                .verify(key)
                .map_err(|source| BundleError::HeadSignature {
                    tree_size: head.tree_size,
                    source,
                })?;
            Authentication::Authenticated {
                key_id: KeyId::of(key),
            }
        }
    };
    Ok(Report {
        dossier: bundle.dossier,
        head: bundle.tree_head,
        authentication,
        events,
        approvals,
        attachments: bundle.attachments,
        later_events_omitted: bundle.later_events_omitted,
    })
}

/// Parses strictly and insists on the canonical serialization.
fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let canonical = bundle.to_bytes().map_err(|e| BundleError::Malformed {
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    if canonical != bytes {
        let offset = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(BundleError::NotCanonical { offset });
    }
    Ok(bundle)
}

/// The stored event a bundle entry describes, its hash recomputed and compared.
fn rehash(section: Section, index: usize, e: &BundleEvent) -> Result<RecordedEvent, BundleError> {
    let r = e.to_recorded().ok_or_else(|| BundleError::TimeOutOfRange {
        at: EventRef::of(section, index, e),
    })?;
    let computed = r.compute_hash(true);
    if computed != e.hash {
        return Err(BundleError::HashMismatch {
            at: EventRef::of(section, index, e),
            computed: hex::encode(computed),
            recorded: hex::encode(e.hash),
        });
    }
    Ok(r)
}

fn decode(
    registry: &Registry,
    section: Section,
    index: usize,
    e: &BundleEvent,
    r: &RecordedEvent,
) -> Result<DomainEvent, BundleError> {
    registry
        .decode(&r.event_type, r.schema_version, &r.payload)
        .map_err(|source| BundleError::Undecodable {
            at: EventRef::of(section, index, e),
            source,
        })
}

fn check_attachments(listed: &[Attachment], derived: &[Attachment]) -> Result<(), BundleError> {
    for (i, (l, d)) in listed.iter().zip(derived).enumerate() {
        if l != d {
            return Err(BundleError::AttachmentsMismatch {
                detail: format!(
                    "entry {i} lists {} cited by {:?}; the events cite {} at {:?}",
                    hex::encode(l.sha256),
                    l.cited_by,
                    hex::encode(d.sha256),
                    d.cited_by
                ),
            });
        }
    }
    if listed.len() != derived.len() {
        return Err(BundleError::AttachmentsMismatch {
            detail: format!(
                "{} entries listed, the events cite {} hashes",
                listed.len(),
                derived.len()
            ),
        });
    }
    Ok(())
}

fn check_approval(
    dossier: &str,
    approval: u64,
    a: &ApprovalSigned,
    events: &[VerifiedEvent],
    key_list: &[BundleEvent],
    keys: &mut [(SigningKeyRegistered, bool)],
) -> Result<ApprovalCheck, BundleError> {
    let signed = a.revision;
    let target = usize::try_from(signed)
        .ok()
        .filter(|_| signed < approval)
        .and_then(|i| events.get(i))
        .ok_or(BundleError::ApprovalRevision { approval, signed })?;
    if a.stream_hash.as_slice() != target.recorded.hash.as_slice() {
        return Err(BundleError::ApprovalHash { approval, signed });
    }
    let Some(k) = keys
        .iter()
        .position(|(k, _)| k.key_id == a.key_id && k.account_id == a.signer)
    else {
        return Err(BundleError::MissingSignerKey {
            approval,
            signer: a.signer.clone(),
            key_id: a.key_id.clone(),
        });
    };
    keys[k].1 = true;
    let key = &keys[k].0;
    let hash: Hash = target.recorded.hash;
    let digest = signing::approval_digest(dossier, signed, &hash);
    signing::verify(&key.public_key, &digest, &a.signature).map_err(|problem| {
        BundleError::ApprovalSignature {
            approval,
            signer: a.signer.clone(),
            key_id: a.key_id.clone(),
            problem,
        }
    })?;
    let public_key = <[u8; 32]>::try_from(key.public_key.as_slice()).map_err(|_| {
        BundleError::ApprovalSignature {
            approval,
            signer: a.signer.clone(),
            key_id: a.key_id.clone(),
            problem: SignatureProblem::BadKey,
        }
    })?;
    Ok(ApprovalCheck {
        approval_revision: approval,
        signed_revision: signed,
        signer: a.signer.clone(),
        delegated_from: a.delegated_from.clone(),
        key_id: a.key_id.clone(),
        public_key,
        key_position: key_list[k].position,
        valid: true,
    })
}
