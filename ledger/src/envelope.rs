//! The event envelope and its canonical bytes, which the per-stream hash chain covers.
//!
//! The canonical encoding is a fixed, versioned, length-prefixed layout rather than
//! serde output: a hash chain is only verifiable by an inspector with nothing but the
//! file if the bytes hashed are defined independently of any library's formatting.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first event of every stream.
pub const GENESIS_HASH: Hash = [0u8; 32];

/// Domain separation tag and version of the canonical envelope encoding.
const CANONICAL_TAG: &[u8; 8] = b"HOSO-EV\x01";

/// Limits on what one append may carry; everything has a bound so that a single
/// request cannot exhaust memory or stall the group commit for everyone else.
pub mod limits {
    /// Most events in one append.
    pub const EVENTS_PER_APPEND_MAX: usize = 4_096;
    /// Largest payload of one event, in bytes.
    pub const PAYLOAD_BYTES_MAX: usize = 1 << 20;
    /// Longest stream name, event type, actor or document field, in bytes.
    pub const NAME_BYTES_MAX: usize = 256;
}

/// Checks the limits and shapes of an append that do not depend on stored state; every
/// backend calls this first so that all of them refuse exactly the same batches.
pub(crate) fn validate_append(stream: &str, events: &[NewEvent]) -> crate::StoreResult<()> {
    let bad = |reason: String| Err(crate::StoreError::InvalidInput { reason });
    if events.is_empty() {
        return bad("a batch must hold at least one event".into());
    }
    if events.len() > limits::EVENTS_PER_APPEND_MAX {
        return bad(format!(
            "{} events in one append; the limit is {}",
            events.len(),
            limits::EVENTS_PER_APPEND_MAX
        ));
    }
    check_name("stream name", stream)?;
    if stream.starts_with('$') {
        return bad(format!("stream {stream} is reserved for the ledger itself"));
    }
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    for e in events {
        check_name("event type", &e.event_type)?;
        check_name("actor", &e.actor)?;
        if e.payload.len() > limits::PAYLOAD_BYTES_MAX {
            return bad(format!(
                "payload of {} bytes; the limit is {}",
                e.payload.len(),
                limits::PAYLOAD_BYTES_MAX
            ));
        }
        if let Some(d) = &e.source_document {
            check_name("source document number", &d.number)?;
            check_name("source document issuer", &d.issuer)?;
        }
        if !ids.insert(e.event_id) {
            return bad(format!(
                "event id {} appears twice in one batch",
                e.event_id
            ));
        }
    }
    Ok(())
}

fn check_name(what: &str, s: &str) -> crate::StoreResult<()> {
    if s.is_empty() || s.len() > limits::NAME_BYTES_MAX || s.chars().any(char::is_control) {
        return Err(crate::StoreError::InvalidInput {
            reason: format!(
                "{what} must be 1–{} bytes without control characters",
                limits::NAME_BYTES_MAX
            ),
        });
    }
    Ok(())
}

pub use hoso_schemas::SourceDocument;

/// What the writer expects the stream's current revision to be.
///
/// Same vocabulary as KurrentDB's `StreamState` so both backends map onto it directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist (have at least one event).
    StreamExists,
    /// The stream's last event must have exactly this revision.
    Exact(u64),
}

impl std::fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("stream exists"),
            Self::Exact(n) => write!(f, "revision {n}"),
        }
    }
}

impl ExpectedRevision {
    /// Whether a stream whose last revision is `current` satisfies this expectation.
    pub fn admits(self, current: Option<u64>) -> bool {
        match (self, current) {
            (Self::Any, _) => true,
            (Self::NoStream, None) => true,
            (Self::StreamExists, Some(_)) => true,
            (Self::Exact(n), Some(c)) => n == c,
            _ => false,
        }
    }
}

/// An event as a writer proposes it; the store adds position, revision, time and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// UUID v7; appending the same id again is an idempotent no-op.
    pub event_id: Uuid,
    /// Type name, e.g. `dossier.DeclarationSubmitted`.
    pub event_type: String,
    /// Version of the payload schema the bytes were written with.
    pub schema_version: u32,
    /// Protobuf payload.
    pub payload: Vec<u8>,
    /// Account that caused the event, or `system`.
    pub actor: String,
    /// Request that started the chain of work.
    pub correlation_id: Option<Uuid>,
    /// Event or command that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// When the event takes effect by law (valid time); `None` means when recorded.
    pub effective_at: Option<DateTime<Utc>>,
    /// Decision behind the event.
    pub source_document: Option<SourceDocument>,
}

impl NewEvent {
    /// An event with a fresh v7 id, caused by `system`.
    pub fn new(event_type: impl Into<String>, schema_version: u32, payload: Vec<u8>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version,
            payload,
            actor: "system".to_owned(),
            correlation_id: None,
            causation_id: None,
            effective_at: None,
            source_document: None,
        }
    }

    /// The event carrying a domain event of the catalogue, at its current schema version.
    pub fn from_domain(event: &hoso_schemas::DomainEvent) -> Self {
        Self::new(
            event.type_name(),
            event.schema_version(),
            event.encode_payload(),
        )
    }

    /// Sets the actor.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// Sets the event id (for a retry of an earlier attempt).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.event_id = id;
        self
    }

    /// Sets correlation and causation ids.
    pub fn with_trace(mut self, correlation: Option<Uuid>, causation: Option<Uuid>) -> Self {
        self.correlation_id = correlation;
        self.causation_id = causation;
        self
    }

    /// Sets the legal effective time.
    pub fn with_effective_at(mut self, at: DateTime<Utc>) -> Self {
        self.effective_at = Some(truncate_to_micros(at));
        self
    }

    /// Sets the source document.
    pub fn with_source_document(mut self, doc: SourceDocument) -> Self {
        self.source_document = Some(doc);
        self
    }
}

/// An event as stored: the proposal plus everything the ledger assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global order in `$all`; strictly increasing (dense in the SQLite backend).
    pub position: u64,
    /// Stream the event belongs to.
    pub stream: String,
    /// Per-stream order, dense from 0.
    pub revision: u64,
    /// Idempotency key.
    pub event_id: Uuid,
    /// Type name.
    pub event_type: String,
    /// Payload schema version as written.
    pub schema_version: u32,
    /// Protobuf payload as written (never upcast in place).
    pub payload: Vec<u8>,
    /// Who caused it.
    pub actor: String,
    /// Request tracing.
    pub correlation_id: Option<Uuid>,
    /// Request tracing.
    pub causation_id: Option<Uuid>,
    /// Transaction time: when the ledger learned it. Non-decreasing in position order.
    pub recorded_at: DateTime<Utc>,
    /// Valid time.
    pub effective_at: Option<DateTime<Utc>>,
    /// Decision behind it.
    pub source_document: Option<SourceDocument>,
    /// Hash of the previous event of the same stream ([`GENESIS_HASH`] for revision 0).
    pub prev_hash: Hash,
    /// `SHA-256(prev_hash ‖ canonical envelope ‖ payload)`.
    pub hash: Hash,
}

impl RecordedEvent {
    /// Recomputes this event's hash from its content and its recorded `prev_hash`.
    ///
    /// `position_hashed` says whether the backend put the global position into the hash:
    /// backends with dense positions assign them before hashing and do (so reordering
    /// `$all`, or removing a stream's last event and renumbering, breaks the hash); a
    /// clustered backend whose server assigns positions after the hash cannot.
    pub fn compute_hash(&self, position_hashed: bool) -> Hash {
        chain_hash(
            &self.prev_hash,
            &EnvelopeRef::of_recorded(self, position_hashed),
            &self.payload,
        )
    }
}

/// The hashed fields of an envelope, borrowed from either a proposal or a stored event.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeRef<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Stream revision.
    pub revision: u64,
    /// Global position, where the backend hashes it (see [`RecordedEvent::compute_hash`]).
    pub position: Option<u64>,
    /// Event id.
    pub event_id: &'a Uuid,
    /// Type name.
    pub event_type: &'a str,
    /// Schema version.
    pub schema_version: u32,
    /// Actor.
    pub actor: &'a str,
    /// Correlation id.
    pub correlation_id: Option<&'a Uuid>,
    /// Causation id.
    pub causation_id: Option<&'a Uuid>,
    /// Transaction time.
    pub recorded_at: DateTime<Utc>,
    /// Valid time.
    pub effective_at: Option<DateTime<Utc>>,
    /// Source document.
    pub source_document: Option<&'a SourceDocument>,
}

impl<'a> EnvelopeRef<'a> {
    /// Borrow the hashed fields of a stored event.
    pub fn of_recorded(e: &'a RecordedEvent, position_hashed: bool) -> Self {
        Self {
            stream: &e.stream,
            revision: e.revision,
            position: position_hashed.then_some(e.position),
            event_id: &e.event_id,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            actor: &e.actor,
            correlation_id: e.correlation_id.as_ref(),
            causation_id: e.causation_id.as_ref(),
            recorded_at: e.recorded_at,
            effective_at: e.effective_at,
            source_document: e.source_document.as_ref(),
        }
    }

    /// Borrow the fields of a proposal as they will be stored at `revision`, `position`
    /// (`None` where the backend does not hash it) and `recorded_at`.
    pub fn of_new(
        stream: &'a str,
        revision: u64,
        position: Option<u64>,
        recorded_at: DateTime<Utc>,
        e: &'a NewEvent,
    ) -> Self {
        Self {
            stream,
            revision,
            position,
            event_id: &e.event_id,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            actor: &e.actor,
            correlation_id: e.correlation_id.as_ref(),
            causation_id: e.causation_id.as_ref(),
            recorded_at,
            effective_at: e.effective_at,
            source_document: e.source_document.as_ref(),
        }
    }

    /// Appends the canonical encoding of these fields (and the payload length) to `out`.
    ///
    /// Layout, all integers big-endian: tag `HOSO-EV\x01`; stream (u32 length + UTF-8);
    /// revision u64; position (0x00, or 0x01 + u64); event id 16 bytes; type (u32 length + UTF-8); schema version u32;
    /// actor (u32 length + UTF-8); correlation and causation (0x00, or 0x01 + 16 bytes);
    /// recorded_at i64 µs since the Unix epoch; effective_at (0x00, or 0x01 + i64 µs);
    /// source document (0x00, or 0x01 + number, date as i32 days since 1970-01-01,
    /// issuer, then 0x00 or 0x01 + 32-byte SHA-256); payload length u64.
    pub fn write_canonical(&self, payload_len: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(CANONICAL_TAG);
        put_str(out, self.stream);
        out.extend_from_slice(&self.revision.to_be_bytes());
        match self.position {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                out.extend_from_slice(&p.to_be_bytes());
            }
        }
        out.extend_from_slice(self.event_id.as_bytes());
        put_str(out, self.event_type);
        out.extend_from_slice(&self.schema_version.to_be_bytes());
        put_str(out, self.actor);
        put_opt_uuid(out, self.correlation_id);
        put_opt_uuid(out, self.causation_id);
        out.extend_from_slice(&self.recorded_at.timestamp_micros().to_be_bytes());
        match self.effective_at {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                out.extend_from_slice(&t.timestamp_micros().to_be_bytes());
            }
        }
        match self.source_document {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                put_str(out, &d.number);
                out.extend_from_slice(&days_since_epoch(d.date).to_be_bytes());
                put_str(out, &d.issuer);
                match &d.attachment_sha256 {
                    None => out.push(0),
                    Some(h) => {
                        out.push(1);
                        out.extend_from_slice(h);
                    }
                }
            }
        }
        out.extend_from_slice(&(payload_len as u64).to_be_bytes());
    }
}

/// `SHA-256(prev_hash ‖ canonical envelope ‖ payload)`.
pub fn chain_hash(prev_hash: &Hash, envelope: &EnvelopeRef<'_>, payload: &[u8]) -> Hash {
    let mut canonical = Vec::with_capacity(160 + envelope.stream.len());
    envelope.write_canonical(payload.len(), &mut canonical);
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(&canonical);
    h.update(payload);
    h.finalize().into()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Lengths are bounded by `limits::NAME_BYTES_MAX`, far below u32::MAX.
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_uuid(out: &mut Vec<u8>, id: Option<&Uuid>) {
    match id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

/// Days since 1970-01-01 (negative before).
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    (date - epoch).num_days() as i32
}

/// Inverse of [`days_since_epoch`]; `None` when out of chrono's range.
pub fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days.into()))
}

/// Timestamps are stored with microsecond precision; truncate so that what is hashed
/// before storing equals what is read back.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    from_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A UTC time from microseconds since the Unix epoch.
pub fn from_micros(us: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_micros(us).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream: "dossier-1".into(),
            revision: 0,
            event_id: Uuid::from_u128(42),
            event_type: "dossier.DossierOpened".into(),
            schema_version: 1,
            payload: vec![1, 2, 3],
            actor: "acc-1".into(),
            correlation_id: None,
            causation_id: Some(Uuid::from_u128(9)),
            recorded_at: from_micros(1_700_000_000_123_456).unwrap_or_default(),
            effective_at: None,
            source_document: Some(SourceDocument {
                number: "12/QĐ-UBND".into(),
                date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
                issuer: "UBND tỉnh".into(),
                attachment_sha256: None,
            }),
            prev_hash: GENESIS_HASH,
            hash: GENESIS_HASH,
        }
    }

    #[test]
    fn every_hashed_field_changes_the_hash() {
        let base = sample();
        let h0 = base.compute_hash(true);
        let mut variants: Vec<RecordedEvent> = Vec::new();
        let mut e = base.clone();
        e.stream.push('x');
        variants.push(e);
        let mut e = base.clone();
        e.revision = 1;
        variants.push(e);
        let mut e = base.clone();
        e.event_type.push('x');
        variants.push(e);
        let mut e = base.clone();
        e.schema_version = 2;
        variants.push(e);
        let mut e = base.clone();
        e.payload[0] ^= 1;
        variants.push(e);
        let mut e = base.clone();
        e.actor.push('x');
        variants.push(e);
        let mut e = base.clone();
        e.causation_id = None;
        variants.push(e);
        let mut e = base.clone();
        e.recorded_at += chrono::Duration::microseconds(1);
        variants.push(e);
        let mut e = base.clone();
        e.effective_at = Some(e.recorded_at);
        variants.push(e);
        let mut e = base.clone();
        if let Some(d) = e.source_document.as_mut() {
            d.issuer.push('x');
        }
        variants.push(e);
        let mut e = base.clone();
        e.prev_hash[31] = 1;
        variants.push(e);
        let mut e = base.clone();
        e.position = 99;
        variants.push(e);
        for v in variants {
            assert_ne!(v.compute_hash(true), h0, "{v:?}");
        }
        // Where the server assigns positions after hashing, they cannot be covered.
        let mut e = base.clone();
        e.position = 99;
        assert_eq!(e.compute_hash(false), base.compute_hash(false));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        // Moving a byte from one string to the next must change the hash.
        let mut a = sample();
        a.stream = "ab".into();
        a.event_type = "c".into();
        let mut b = sample();
        b.stream = "a".into();
        b.event_type = "bc".into();
        assert_ne!(a.compute_hash(true), b.compute_hash(true));
    }

    #[test]
    fn expected_revision_admission() {
        use ExpectedRevision::*;
        assert!(Any.admits(None) && Any.admits(Some(3)));
        assert!(NoStream.admits(None) && !NoStream.admits(Some(0)));
        assert!(StreamExists.admits(Some(0)) && !StreamExists.admits(None));
        assert!(Exact(2).admits(Some(2)) && !Exact(2).admits(Some(1)) && !Exact(0).admits(None));
    }

    #[test]
    fn dates_round_trip() {
        for d in [
            NaiveDate::from_ymd_opt(1900, 2, 28),
            NaiveDate::from_ymd_opt(2024, 2, 29),
        ]
        .into_iter()
        .flatten()
        {
            assert_eq!(date_from_days(days_since_epoch(d)), Some(d));
        }
    }
}
