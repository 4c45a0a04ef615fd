//! The envelope fields KurrentDB has no column for, carried in each event's custom
//! metadata as a small JSON object.
//!
//! KurrentDB stores stream, revision, event id, type and payload natively; everything
//! else the hash chain covers (and the chain itself) travels here. The object is
//! versioned by `format` and decoded strictly: a field missing, mistyped or unknown means
//! the stored event is not what this ledger wrote, which is reported as corruption by
//! the caller rather than guessed around.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{Hash, SourceDocument, from_micros};

/// Version of the metadata layout written by this build.
pub(super) const FORMAT: u32 = 1;

/// The decoded metadata of one event: every envelope field KurrentDB does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Metadata {
    pub schema_version: u32,
    pub actor: String,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: Option<DateTime<Utc>>,
    pub source_document: Option<SourceDocument>,
    pub prev_hash: Hash,
    pub hash: Hash,
}

/// The JSON shape. Times are µs since the Unix epoch (the precision that is hashed),
/// hashes lowercase hex, the document date an ISO 8601 calendar date.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    schema_version: u32,
    actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
    recorded_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_document: Option<WireDocument>,
    prev_hash: String,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDocument {
    number: String,
    date: String,
    issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attachment_sha256: Option<String>,
}

/// The metadata bytes stored with an event.
pub(super) fn encode(m: &Metadata) -> Result<Vec<u8>, serde_json::Error> {
    let wire = Wire {
        format: FORMAT,
        schema_version: m.schema_version,
        actor: m.actor.clone(),
        correlation_id: m.correlation_id,
        causation_id: m.causation_id,
        recorded_at: m.recorded_at.timestamp_micros(),
        effective_at: m.effective_at.map(|t| t.timestamp_micros()),
        source_document: m.source_document.as_ref().map(|d| WireDocument {
            number: d.number.clone(),
            date: d.date.to_string(),
            issuer: d.issuer.clone(),
            attachment_sha256: d.attachment_sha256.map(hex::encode),
        }),
        prev_hash: hex::encode(m.prev_hash),
        hash: hex::encode(m.hash),
    };
    serde_json::to_vec(&wire)
}

/// Decodes stored metadata; the error says what is wrong, for a `Corrupt` report.
pub(super) fn decode(bytes: &[u8]) -> Result<Metadata, String> {
    if bytes.is_empty() {
        return Err("it has no metadata (not written by hoso)".into());
    }
    // Look at the version before the shape, so that a newer layout is reported as such
    // rather than as an unknown field.
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("its metadata is not JSON: {e}"))?;
    let format = match value.get("format") {
        None => return Err("its metadata has no format field (not written by hoso)".into()),
        Some(f) => f
            .as_u64()
            .ok_or_else(|| format!("its metadata format {f} is not a number"))?,
    };
    if format != u64::from(FORMAT) {
        return Err(format!(
            "its metadata format {format} is not supported (this build reads format {FORMAT})"
        ));
    }
    let wire: Wire =
        serde_json::from_value(value).map_err(|e| format!("its metadata is malformed: {e}"))?;
    let time = |what: &str, us: i64| {
        from_micros(us)
            .ok_or_else(|| format!("its metadata field {what} ({us} µs) is out of range"))
    };
    let source_document = match wire.source_document {
        None => None,
        Some(d) => Some(SourceDocument {
            date: d.date.parse::<NaiveDate>().map_err(|e| {
                format!(
                    "its metadata field source_document.date ({:?}) is not a date: {e}",
                    d.date
                )
            })?,
            attachment_sha256: d
                .attachment_sha256
                .as_deref()
                .map(|h| hash("source_document.attachment_sha256", h))
                .transpose()?,
            number: d.number,
            issuer: d.issuer,
        }),
    };
    Ok(Metadata {
        schema_version: wire.schema_version,
        actor: wire.actor,
        correlation_id: wire.correlation_id,
        causation_id: wire.causation_id,
        recorded_at: time("recorded_at", wire.recorded_at)?,
        effective_at: wire
            .effective_at
            .map(|us| time("effective_at", us))
            .transpose()?,
        source_document,
        prev_hash: hash("prev_hash", &wire.prev_hash)?,
        hash: hash("hash", &wire.hash)?,
    })
}

fn hash(what: &str, text: &str) -> Result<Hash, String> {
    let bytes =
        hex::decode(text).map_err(|e| format!("its metadata field {what} is not hex: {e}"))?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| format!("its metadata field {what} holds {len} bytes, not a 32-byte SHA-256"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Metadata {
        Metadata {
            schema_version: 3,
            actor: "acc-7 (Nguyễn Văn A)".into(),
            correlation_id: Some(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            causation_id: Some(Uuid::from_u128(42)),
            recorded_at: from_micros(1_700_000_000_123_456).unwrap(),
            effective_at: Some(from_micros(-86_400_000_001).unwrap()),
            source_document: Some(SourceDocument {
                number: "125/QĐ-UBND".into(),
                date: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
                issuer: "UBND tỉnh Kon Tum".into(),
                attachment_sha256: Some([0xab; 32]),
            }),
            prev_hash: [1; 32],
            hash: [0xfe; 32],
        }
    }

    fn minimal() -> Metadata {
        Metadata {
            correlation_id: None,
            causation_id: None,
            effective_at: None,
            source_document: None,
            ..full()
        }
    }

    fn json(m: &Metadata) -> serde_json::Value {
        serde_json::from_slice(&encode(m).unwrap()).unwrap()
    }

    fn decode_value(v: &serde_json::Value) -> Result<Metadata, String> {
        decode(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn every_field_round_trips() {
        for m in [full(), minimal()] {
            assert_eq!(decode(&encode(&m).unwrap()), Ok(m));
        }
        let mut m = full();
        if let Some(d) = m.source_document.as_mut() {
            d.attachment_sha256 = None;
        }
        assert_eq!(decode(&encode(&m).unwrap()), Ok(m));
    }

    #[test]
    fn every_field_is_actually_stored() {
        // A round trip through a decoder that ignored a field would still "pass" if the
        // field kept its default; changing each field must change the bytes.
        let base = encode(&full()).unwrap();
        let mut variants = Vec::new();
        let mut m = full();
        m.schema_version += 1;
        variants.push(m);
        let mut m = full();
        m.actor.push('x');
        variants.push(m);
        let mut m = full();
        m.correlation_id = None;
        variants.push(m);
        let mut m = full();
        m.causation_id = None;
        variants.push(m);
        let mut m = full();
        m.recorded_at += chrono::Duration::microseconds(1);
        variants.push(m);
        let mut m = full();
        m.effective_at = None;
        variants.push(m);
        let mut m = full();
        m.prev_hash[0] = 0;
        variants.push(m);
        let mut m = full();
        m.hash[31] = 0;
        variants.push(m);
        for edit in 0..4 {
            let mut m = full();
            if let Some(d) = m.source_document.as_mut() {
                match edit {
                    0 => d.number.push('x'),
                    1 => d.date = d.date.succ_opt().unwrap(),
                    2 => d.issuer.push('x'),
                    _ => d.attachment_sha256 = Some([0; 32]),
                }
            }
            variants.push(m);
        }
        for v in variants {
            let bytes = encode(&v).unwrap();
            assert_ne!(bytes, base, "{v:?}");
            assert_eq!(decode(&bytes), Ok(v));
        }
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let v = json(&full());
        assert_eq!(v["format"], 1);
        assert_eq!(v["recorded_at"], 1_700_000_000_123_456_i64);
        assert_eq!(v["prev_hash"], "01".repeat(32));
        assert_eq!(v["source_document"]["date"], "2024-02-29");
        assert_eq!(v["correlation_id"], "01900000-0000-7000-8000-000000000001");
        // Absent optional fields are left out rather than written as null.
        let v = json(&minimal());
        assert!(v.get("effective_at").is_none() && v.get("source_document").is_none());
        // …and explicit nulls are read as absent.
        let mut v = json(&minimal());
        v["effective_at"] = serde_json::Value::Null;
        assert_eq!(decode_value(&v), Ok(minimal()));
    }

    #[test]
    fn extreme_dates_and_times_round_trip() {
        let mut m = full();
        for date in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
        ] {
            if let Some(d) = m.source_document.as_mut() {
                d.date = date;
            }
            assert_eq!(decode(&encode(&m).unwrap()), Ok(m.clone()), "{date}");
        }
        m.recorded_at = DateTime::<Utc>::MIN_UTC;
        m.effective_at = Some(DateTime::<Utc>::MAX_UTC);
        let m = Metadata {
            recorded_at: crate::envelope::truncate_to_micros(m.recorded_at),
            effective_at: m.effective_at.map(crate::envelope::truncate_to_micros),
            ..m
        };
        assert_eq!(decode(&encode(&m).unwrap()), Ok(m));
    }

    #[test]
    fn missing_metadata_is_refused() {
        assert!(decode(b"").unwrap_err().contains("no metadata"));
        assert!(decode(b"{}").unwrap_err().contains("no format"));
    }

    #[test]
    fn malformed_metadata_is_refused_and_named() {
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Edit, &str)> = vec![
            ("not json", Box::new(|_| {}), "not JSON"),
            (
                "format 2",
                Box::new(|v| v["format"] = 2.into()),
                "format 2 is not supported",
            ),
            (
                "format text",
                Box::new(|v| v["format"] = "1".into()),
                "not a number",
            ),
            (
                "no hash",
                Box::new(|v| drop(v.as_object_mut().map(|o| o.remove("hash")))),
                "hash",
            ),
            (
                "no actor",
                Box::new(|v| drop(v.as_object_mut().map(|o| o.remove("actor")))),
                "actor",
            ),
            (
                "no recorded_at",
                Box::new(|v| drop(v.as_object_mut().map(|o| o.remove("recorded_at")))),
                "recorded_at",
            ),
            (
                "unknown field",
                Box::new(|v| v["extra"] = 1.into()),
                "extra",
            ),
            (
                "short hash",
                Box::new(|v| v["hash"] = "abcd".into()),
                "holds 2 bytes",
            ),
            (
                "hash not hex",
                Box::new(|v| v["prev_hash"] = "zz".repeat(32).into()),
                "prev_hash is not hex",
            ),
            (
                "bad uuid",
                Box::new(|v| v["causation_id"] = "nope".into()),
                "malformed",
            ),
            (
                "schema text",
                Box::new(|v| v["schema_version"] = "1".into()),
                "malformed",
            ),
            (
                "time range",
                Box::new(|v| v["recorded_at"] = i64::MAX.into()),
                "recorded_at",
            ),
            (
                "bad date",
                Box::new(|v| v["source_document"]["date"] = "2023-02-29".into()),
                "source_document.date",
            ),
            (
                "bad attachment",
                Box::new(|v| v["source_document"]["attachment_sha256"] = "00".into()),
                "attachment_sha256 holds 1 bytes",
            ),
            (
                "document field",
                Box::new(|v| {
                    drop(
                        v["source_document"]
                            .as_object_mut()
                            .map(|o| o.remove("issuer")),
                    )
                }),
                "issuer",
            ),
        ];
        for (name, edit, expected) in cases {
            let result = if name == "not json" {
                decode(b"{\"format\": 1,")
            } else {
                let mut v = json(&full());
                edit(&mut v);
                decode_value(&v)
            };
            let err = result.expect_err(name);
            assert!(err.contains(expected), "{name}: {err}");
        }
    }
}
