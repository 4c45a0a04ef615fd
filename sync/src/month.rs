//! The month statement of continuous mode (`docs/sync-format.md` §8): what the
//! Sở Nội vụ director signs once a month is over, committing to the batches the
//! server sealed in it with the province's connection key (HY 13.6).
//!
//! A [`MonthStatement`] names the province, the month, the sequences of its first
//! and last batch, how many batches and items they hold, the RFC 9162 Merkle root
//! over the batches' statement digests (in sequence order, each digest the leaf
//! data, as an item's digest is in a batch) and the previous month statement's
//! digest, so month statements form a chain of their own. Its canonical bytes are
//! compact JSON in a fixed field order; [`MonthStatement::digest`] hashes them
//! under its own domain tag, so a month statement's signature can never pass for a
//! batch's, nor the reverse.

use hoso_domain::signing;
use hoso_ledger::merkle;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{Hash, Month, SyncError, check_name, parse_hash};

/// The `format` every month statement of this version carries.
pub const MONTH_FORMAT: &str = "hoso-sync-month/1";
/// Domain tag of [`MonthStatement::digest`].
const MONTH_TAG: &[u8] = b"hoso-sync-month-v1\0";
/// Prefix of a month statement's stream: `sync-month-<yyyy-mm>` (not a batch's
/// `sync-<n>`, whose suffix is digits only).
pub const MONTH_STREAM_PREFIX: &str = "sync-month-";

/// The stream of `month`'s statement.
pub fn month_stream(month: Month) -> String {
    format!("{MONTH_STREAM_PREFIX}{month}")
}

/// The month a stream name belongs to, if it is a month statement's stream.
pub fn month_of_stream(stream: &str) -> Option<Month> {
    stream.strip_prefix(MONTH_STREAM_PREFIX)?.parse().ok()
}

/// The statement of one month of continuous batches: what the director signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthStatement {
    /// Always [`MONTH_FORMAT`].
    pub format: String,
    /// The province profile's name.
    pub province: String,
    /// The month.
    pub month: Month,
    /// Sequence of the month's first batch.
    pub first_sequence: u64,
    /// Sequence of its last batch.
    pub last_sequence: u64,
    /// `last_sequence - first_sequence + 1`.
    pub batch_count: u64,
    /// The items of those batches, summed.
    pub item_count: u64,
    /// [`month_root`] of the batches' statement digests.
    pub merkle_root: Hash,
    /// The previous month statement's digest; all zeros for the first.
    pub previous_digest: Hash,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthWire {
    format: String,
    province: String,
    month: String,
    first_sequence: u64,
    last_sequence: u64,
    batch_count: u64,
    item_count: u64,
    merkle_root: String,
    previous_digest: String,
}

impl MonthStatement {
    /// Refuses a month statement impossible on its face.
    pub fn check(&self) -> Result<(), SyncError> {
        if self.format != MONTH_FORMAT {
            return Err(SyncError::UnknownFormat(self.format.clone()));
        }
        check_name("province", &self.province)?;
        if self.first_sequence == 0 {
            return Err(SyncError::SequenceZero);
        }
        let span = self
            .last_sequence
            .checked_sub(self.first_sequence)
            .and_then(|d| d.checked_add(1));
        if span != Some(self.batch_count) {
            return Err(SyncError::Malformed {
                what: "month statement",
                problem: format!(
                    "batches {}..={} are not {} batches",
                    self.first_sequence, self.last_sequence, self.batch_count
                ),
            });
        }
        Ok(())
    }

    /// The canonical bytes: compact JSON, fields in this order, hashes as 64
    /// lowercase hex digits, no trailing line feed.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, SyncError> {
        self.check()?;
        Ok(format!(
            concat!(
                r#"{{"format":"{}","province":"{}","month":"{}","#,
                r#""first_sequence":{},"last_sequence":{},"batch_count":{},"item_count":{},"#,
                r#""merkle_root":"{}","previous_digest":"{}"}}"#
            ),
            self.format,
            self.province,
            self.month,
            self.first_sequence,
            self.last_sequence,
            self.batch_count,
            self.item_count,
            hex::encode(self.merkle_root),
            hex::encode(self.previous_digest),
        )
        .into_bytes())
    }

    /// Reads a month statement from its canonical bytes; any other spelling is
    /// refused.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, SyncError> {
        const WHAT: &str = "month statement";
        let wire: MonthWire = serde_json::from_slice(bytes).map_err(|e| SyncError::Malformed {
            what: WHAT,
            problem: e.to_string(),
        })?;
        let statement = Self {
            format: wire.format,
            province: wire.province,
            month: wire.month.parse()?,
            first_sequence: wire.first_sequence,
            last_sequence: wire.last_sequence,
            batch_count: wire.batch_count,
            item_count: wire.item_count,
            merkle_root: parse_hash(WHAT, &wire.merkle_root)?,
            previous_digest: parse_hash(WHAT, &wire.previous_digest)?,
        };
        if statement.canonical_bytes()? != bytes {
            return Err(SyncError::NotCanonical { what: WHAT });
        }
        Ok(statement)
    }

    /// `SHA-256("hoso-sync-month-v1\0" ‖ canonical bytes)`: what the director
    /// signs, and what the next month statement names as `previous_digest`.
    pub fn digest(&self) -> Result<Hash, SyncError> {
        let mut h = Sha256::new();
        h.update(MONTH_TAG);
        h.update(self.canonical_bytes()?);
        Ok(h.finalize().into())
    }

    /// Checks the director's ed25519 signature over the digest.
    pub fn verify_signature(&self, public_key: &[u8], signature: &[u8]) -> Result<(), SyncError> {
        signing::verify(public_key, &self.digest()?, signature).map_err(SyncError::Signature)
    }
}

/// The RFC 9162 root over the month's batches' statement digests, in sequence
/// order.
pub fn month_root(statement_digests: &[Hash]) -> Hash {
    merkle::root_of(statement_digests)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn statement() -> MonthStatement {
        MonthStatement {
            format: MONTH_FORMAT.to_owned(),
            province: "hung-yen".to_owned(),
            month: Month::new(2026, 7).unwrap(),
            first_sequence: 4,
            last_sequence: 6,
            batch_count: 3,
            item_count: 12,
            merkle_root: month_root(&[[1; 32], [2; 32], [3; 32]]),
            previous_digest: [9; 32],
        }
    }

    #[test]
    fn the_canonical_bytes_are_fixed_and_read_back() {
        let s = statement();
        let bytes = s.canonical_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(
            r#"{"format":"hoso-sync-month/1","province":"hung-yen","month":"2026-07","first_sequence":4,"last_sequence":6,"batch_count":3,"item_count":12,"merkle_root":""#
        ));
        assert!(text.ends_with(&format!(r#""previous_digest":"{}"}}"#, "09".repeat(32))));
        assert_eq!(MonthStatement::from_canonical(&bytes).unwrap(), s);
        let spaced = text.replace(",\"month\"", ", \"month\"");
        assert_eq!(
            MonthStatement::from_canonical(spaced.as_bytes()),
            Err(SyncError::NotCanonical {
                what: "month statement"
            })
        );
    }

    #[test]
    fn the_digest_is_domain_separated_from_a_batch_statement() {
        let s = statement();
        let mut plain = Sha256::new();
        plain.update(s.canonical_bytes().unwrap());
        let plain: Hash = plain.finalize().into();
        assert_ne!(s.digest().unwrap(), plain);
        let mut batch_tagged = Sha256::new();
        batch_tagged.update(b"hoso-sync-statement-v1\0");
        batch_tagged.update(s.canonical_bytes().unwrap());
        let batch_tagged: Hash = batch_tagged.finalize().into();
        assert_ne!(s.digest().unwrap(), batch_tagged);
        let mut other = s.clone();
        other.item_count += 1;
        assert_ne!(other.digest().unwrap(), s.digest().unwrap());
    }

    #[test]
    fn a_count_other_than_the_sequences_span_is_refused() {
        let mut s = statement();
        s.batch_count = 2;
        assert!(s.check().is_err());
        let mut s = statement();
        s.last_sequence = 3;
        assert!(s.check().is_err());
        let mut s = statement();
        s.first_sequence = 0;
        assert_eq!(s.check(), Err(SyncError::SequenceZero));
        let mut s = statement();
        s.format = "hoso-sync-statement/1".to_owned();
        assert!(matches!(s.check(), Err(SyncError::UnknownFormat(_))));
    }

    #[test]
    fn the_signature_verifies_under_the_signers_key_only() {
        use ed25519_dalek::{Signer, SigningKey};
        let s = statement();
        let key = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let sig = key.sign(&s.digest().unwrap()).to_bytes();
        s.verify_signature(key.verifying_key().as_bytes(), &sig)
            .unwrap();
        assert!(
            s.verify_signature(other.verifying_key().as_bytes(), &sig)
                .is_err()
        );
    }

    #[test]
    fn a_month_stream_is_never_a_batch_stream() {
        let m = Month::new(2026, 7).unwrap();
        assert_eq!(month_stream(m), "sync-month-2026-07");
        assert_eq!(month_of_stream(&month_stream(m)), Some(m));
        assert_eq!(crate::sequence_of(&month_stream(m)), None);
        assert_eq!(month_of_stream("sync-12"), None);
    }
}
