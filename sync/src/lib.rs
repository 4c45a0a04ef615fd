//! The national sync feed's batches as pure data and math: what a batch holds, the
//! statement the Sở Nội vụ director signs, their one canonical byte encoding, the
//! Merkle root over the items and the checks a consumer runs. No I/O, no clock.
//!
//! The format is normative in `docs/sync-format.md`; this module is its reference
//! implementation, so anyone holding a statement, its signature, the director's
//! public key and the items can verify a batch with nothing of the server.
//!
//! - A [`BatchItem`] is one approval of a dossier: dossier id, approved revision,
//!   that revision's chain hash and the SHA-256 of the dossier's document in the
//!   national exchange format. Its canonical bytes are compact JSON in a fixed field
//!   order ([`BatchItem::canonical_bytes`]); [`item_digest`] hashes them under a
//!   domain tag and is the RFC 9162 leaf data, so [`leaf_hash`] is
//!   `SHA-256(0x00 ‖ item_digest)` and [`merkle_root`] is the RFC 9162 root over the
//!   items in batch order (the ledger's own Merkle functions, [`hoso_ledger::merkle`]).
//! - A [`BatchStatement`] names the province, the batch's sequence and month, the
//!   log range it covers, the item count, the Merkle root and the previous batch's
//!   statement digest, so batches form a chain. [`BatchStatement::digest`] is what
//!   the director signs with ed25519 ([`verify_signature`]).
//! - [`verify_item`] checks one item against a statement with an inclusion proof;
//!   [`verify_follows`] checks that one statement continues another.
//!
//! Parsing ([`BatchStatement::from_canonical`], [`BatchItem::from_canonical`])
//! re-encodes what it read and refuses any other spelling of the same values, so no
//! byte of a served statement or item is insignificant.

pub mod month;

use std::fmt;
use std::str::FromStr;

use hoso_domain::signing::{self, SignatureProblem};
use hoso_ledger::merkle::{self, InclusionProof, ProofError};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The `format` every statement of this version carries.
pub const STATEMENT_FORMAT: &str = "hoso-sync-statement/1";

/// Domain tag of [`item_digest`]: an item's digest can never pass for another hash.
const ITEM_TAG: &[u8] = b"hoso-sync-item-v1\0";
/// Domain tag of [`BatchStatement::digest`]: a statement signature can never be
/// replayed as an approval signature (`hoso-approval-v1\0`) or anything else.
const STATEMENT_TAG: &[u8] = b"hoso-sync-statement-v1\0";

/// Prefix of a batch's stream: batch `n` lives in `sync-<n>` (decimal, no
/// padding). Revision 0 is its `sync.MonthlyBatchSealed`; later revisions record
/// its delivery and acknowledgement. One stream per batch rather than per month,
/// so that continuous mode may seal several batches in a month.
pub const STREAM_PREFIX: &str = "sync-";

/// The stream of batch `sequence`.
pub fn stream_name(sequence: u64) -> String {
    format!("{STREAM_PREFIX}{sequence}")
}

/// The batch sequence a stream name belongs to, if it is a batch's stream.
pub fn sequence_of(stream: &str) -> Option<u64> {
    let digits = stream.strip_prefix(STREAM_PREFIX)?;
    // One spelling per sequence: no sign, no leading zero.
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Longest dossier id or province name accepted.
const NAME_MAX: usize = 128;

/// Why a batch, statement or item is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The bytes are not JSON of the expected shape.
    #[error("{what} is not valid: {problem}")]
    Malformed {
        /// "statement" or "item".
        what: &'static str,
        /// What the parser said.
        problem: String,
    },
    /// The bytes hold the right values but not in their one canonical spelling.
    #[error("{what} is not in its canonical encoding")]
    NotCanonical {
        /// "statement" or "item".
        what: &'static str,
    },
    /// The statement's `format` is not [`STATEMENT_FORMAT`].
    #[error("statement format {0:?} is not {STATEMENT_FORMAT:?}")]
    UnknownFormat(String),
    /// A province name or dossier id outside `[0-9A-Za-z._-]{1,128}`.
    #[error("{what} {value:?} is not 1–128 characters of [0-9A-Za-z._-]")]
    BadName {
        /// "province" or "dossier".
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A month not written `yyyy-mm` with a month 01–12.
    #[error("month {0:?} is not yyyy-mm")]
    BadMonth(String),
    /// Sequences start at 1.
    #[error("batch sequence 0 does not exist (sequences start at 1)")]
    SequenceZero,
    /// `from_position` after `to_position`.
    #[error("log range [{from}, {to}) is reversed")]
    ReversedRange {
        /// First position covered.
        from: u64,
        /// One past the last position covered.
        to: u64,
    },
    /// More items than events in the range (each item is one event of it).
    #[error("{count} items cannot come from a log range of {span} events")]
    TooManyItems {
        /// Items claimed.
        count: u64,
        /// Events in the range.
        span: u64,
    },
    /// The first batch names a previous digest, or a later one does not.
    #[error("batch {sequence} has {} previous digest", if *.zero { "a zero" } else { "a non-zero" })]
    PreviousDigest {
        /// The statement's sequence.
        sequence: u64,
        /// Whether the digest given is all zeros.
        zero: bool,
    },
    /// The inclusion proof is for a tree of another size than the batch.
    #[error("the proof is for {found} items, the batch has {expected}")]
    ProofSize {
        /// The statement's item count.
        expected: u64,
        /// The proof's tree size.
        found: u64,
    },
    /// The item is not at the proof's place under the statement's root.
    #[error("item {index} does not verify against the batch's Merkle root: {source}")]
    ItemNotIncluded {
        /// The item's place in the batch.
        index: u64,
        /// Why the proof failed.
        #[source]
        source: ProofError,
    },
    /// The director's signature does not verify over the statement digest.
    #[error("the statement signature does not verify: {0}")]
    Signature(#[source] SignatureProblem),
    /// The next statement does not carry the next sequence.
    #[error("batch {found} cannot follow batch {previous}")]
    SequenceGap {
        /// The earlier statement's sequence.
        previous: u64,
        /// The later statement's sequence.
        found: u64,
    },
    /// The next statement does not name the earlier one's digest.
    #[error("batch {sequence} does not name the digest of the batch before it")]
    BrokenChain {
        /// The later statement's sequence.
        sequence: u64,
    },
    /// The next statement's range does not start where the earlier one's ends.
    #[error("batch {sequence} starts at position {found}, the batch before ends at {expected}")]
    RangeGap {
        /// The later statement's sequence.
        sequence: u64,
        /// Where the earlier range ends.
        expected: u64,
        /// Where the later range starts.
        found: u64,
    },
}

/// A calendar month, written `yyyy-mm` (years 1000–9999, so always four digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month, if `year` has four digits and `month` is 1–12.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1000..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The month after this one (none after 9999-12).
    pub fn next(self) -> Option<Self> {
        if self.month == 12 {
            Self::new(self.year + 1, 1)
        } else {
            Self::new(self.year, self.month + 1)
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = SyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SyncError::BadMonth(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !s
                .bytes()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let month: u32 = s[5..].parse().map_err(|_| bad())?;
        Self::new(year, month).ok_or_else(bad)
    }
}

/// One approval in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The dossier id (its stream is `dossier-<id>`).
    pub dossier: String,
    /// The approved revision of the dossier's stream.
    pub revision: u64,
    /// The chain hash of the event at that revision (`ApprovalSigned.stream_hash`).
    pub chain_hash: Hash,
    /// SHA-256 of the dossier's document in the national exchange format, as of
    /// that revision.
    pub document_sha256: Hash,
}

/// The wire shape of an item, for parsing only (encoding is by hand, in order).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemWire {
    dossier: String,
    revision: u64,
    chain_hash: String,
    document_sha256: String,
}

impl BatchItem {
    /// The canonical bytes: compact JSON, fields in this order, hashes as 64
    /// lowercase hex digits, no trailing line feed:
    /// `{"dossier":"…","revision":N,"chain_hash":"…","document_sha256":"…"}`.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, SyncError> {
        check_name("dossier", &self.dossier)?;
        Ok(format!(
            r#"{{"dossier":"{}","revision":{},"chain_hash":"{}","document_sha256":"{}"}}"#,
            self.dossier,
            self.revision,
            hex::encode(self.chain_hash),
            hex::encode(self.document_sha256),
        )
        .into_bytes())
    }

    /// Reads an item from its canonical bytes; any other spelling is refused.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, SyncError> {
        const WHAT: &str = "item";
        let wire: ItemWire = serde_json::from_slice(bytes).map_err(|e| SyncError::Malformed {
            what: WHAT,
            problem: e.to_string(),
        })?;
        let item = Self {
            dossier: wire.dossier,
            revision: wire.revision,
            chain_hash: parse_hash(WHAT, &wire.chain_hash)?,
            document_sha256: parse_hash(WHAT, &wire.document_sha256)?,
        };
        if item.canonical_bytes()? != bytes {
            return Err(SyncError::NotCanonical { what: WHAT });
        }
        Ok(item)
    }
}

/// `SHA-256("hoso-sync-item-v1\0" ‖ canonical item bytes)`: the item's RFC 9162
/// leaf data.
pub fn item_digest(item: &BatchItem) -> Result<Hash, SyncError> {
    let mut h = Sha256::new();
    h.update(ITEM_TAG);
    h.update(item.canonical_bytes()?);
    Ok(h.finalize().into())
}

/// `SHA-256(0x00 ‖ item_digest)`: the item's leaf in the batch's Merkle tree.
pub fn leaf_hash(item: &BatchItem) -> Result<Hash, SyncError> {
    Ok(merkle::leaf_hash(&item_digest(item)?))
}

/// The RFC 9162 root over the items' digests, in batch order (the empty batch has
/// the root `SHA-256("")`).
pub fn merkle_root(items: &[BatchItem]) -> Result<Hash, SyncError> {
    Ok(root_of_digests(&item_digests(items)?))
}

/// The items' digests, in order: what [`root_of_digests`] and
/// [`inclusion_proof`] take.
pub fn item_digests(items: &[BatchItem]) -> Result<Vec<Hash>, SyncError> {
    items.iter().map(item_digest).collect()
}

/// The RFC 9162 root over item digests already computed.
pub fn root_of_digests(digests: &[Hash]) -> Hash {
    merkle::root_of(digests)
}

/// The inclusion proof of the item at `index` among `digests` (the batch's
/// [`item_digests`]); `None` when `index` is not in the batch.
pub fn inclusion_proof(digests: &[Hash], index: u64) -> Option<InclusionProof> {
    merkle::inclusion_proof(digests, index).ok()
}

/// The inclusion proofs of every item among `digests`, in order: the same
/// proofs as [`inclusion_proof`] for each index, in one pass over the tree
/// (`O(n log n)` hashes, where a proof at a time costs `O(n)` each, so a
/// province's month of 100,000 items would cost hours).
pub fn inclusion_proofs(digests: &[Hash]) -> Vec<InclusionProof> {
    let size = digests.len() as u64;
    let mut paths: Vec<Vec<Hash>> = vec![Vec::new(); digests.len()];
    fill_paths(digests, &mut paths);
    paths
        .into_iter()
        .enumerate()
        .map(|(i, path)| InclusionProof {
            leaf_index: i as u64,
            tree_size: size,
            path,
        })
        .collect()
}

/// The root of `digests`, appending to each leaf's path the sibling subtree
/// root at this level (RFC 9162 §2.1.3.1: `PATH(m, D[0:k]) : MTH(D[k:n])`, so
/// the deeper levels, pushed first, come first).
fn fill_paths(digests: &[Hash], paths: &mut [Vec<Hash>]) -> Hash {
    match digests {
        [] => merkle::empty_root(),
        [one] => merkle::leaf_hash(one),
        _ => {
            let n = digests.len() as u64;
            let k = (1u64 << (63 - (n - 1).leading_zeros())) as usize;
            let (left_paths, right_paths) = paths.split_at_mut(k);
            let left = fill_paths(&digests[..k], left_paths);
            let right = fill_paths(&digests[k..], right_paths);
            for p in left_paths {
                p.push(right);
            }
            for p in right_paths {
                p.push(left);
            }
            merkle::node_hash(&left, &right)
        }
    }
}

/// The statement of one batch: what the director signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatement {
    /// Always [`STATEMENT_FORMAT`].
    pub format: String,
    /// The province profile's name (e.g. `hung-yen`).
    pub province: String,
    /// 1 for the province's first batch, then 2, 3, …
    pub sequence: u64,
    /// The month the batch is for (monthly mode: its approvals were recorded in it).
    pub month: Month,
    /// First log position covered (the previous batch's `to_position`; 0 for the
    /// first batch).
    pub from_position: u64,
    /// One past the last log position covered: the batch covers
    /// `[from_position, to_position)`.
    pub to_position: u64,
    /// How many items (approvals) the range holds.
    pub item_count: u64,
    /// [`merkle_root`] of the items.
    pub merkle_root: Hash,
    /// [`BatchStatement::digest`] of the previous batch; all zeros for the first.
    pub previous_digest: Hash,
}

/// The wire shape of a statement, for parsing only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementWire {
    format: String,
    province: String,
    sequence: u64,
    month: String,
    from_position: u64,
    to_position: u64,
    item_count: u64,
    merkle_root: String,
    previous_digest: String,
}

impl BatchStatement {
    /// Refuses a statement that says something impossible on its face (the
    /// checks that need no other statement and no log).
    pub fn check(&self) -> Result<(), SyncError> {
        if self.format != STATEMENT_FORMAT {
            return Err(SyncError::UnknownFormat(self.format.clone()));
        }
        check_name("province", &self.province)?;
        if self.sequence == 0 {
            return Err(SyncError::SequenceZero);
        }
        if self.from_position > self.to_position {
            return Err(SyncError::ReversedRange {
                from: self.from_position,
                to: self.to_position,
            });
        }
        let span = self.to_position - self.from_position;
        if self.item_count > span {
            return Err(SyncError::TooManyItems {
                count: self.item_count,
                span,
            });
        }
        let zero = self.previous_digest == [0; 32];
        if zero != (self.sequence == 1) {
            return Err(SyncError::PreviousDigest {
                sequence: self.sequence,
                zero,
            });
        }
        Ok(())
    }

    /// The canonical bytes: compact JSON, fields in this order, hashes as 64
    /// lowercase hex digits, no trailing line feed (see `docs/sync-format.md`).
    /// A statement that fails [`Self::check`] has none.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, SyncError> {
        self.check()?;
        Ok(format!(
            concat!(
                r#"{{"format":"{}","province":"{}","sequence":{},"month":"{}","#,
                r#""from_position":{},"to_position":{},"item_count":{},"#,
                r#""merkle_root":"{}","previous_digest":"{}"}}"#
            ),
            self.format,
            self.province,
            self.sequence,
            self.month,
            self.from_position,
            self.to_position,
            self.item_count,
            hex::encode(self.merkle_root),
            hex::encode(self.previous_digest),
        )
        .into_bytes())
    }

    /// Reads a statement from its canonical bytes; any other spelling, and any
    /// statement failing [`Self::check`], is refused.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, SyncError> {
        const WHAT: &str = "statement";
        let wire: StatementWire =
            serde_json::from_slice(bytes).map_err(|e| SyncError::Malformed {
                what: WHAT,
                problem: e.to_string(),
            })?;
        let statement = Self {
            format: wire.format,
            province: wire.province,
            sequence: wire.sequence,
            month: wire.month.parse()?,
            from_position: wire.from_position,
            to_position: wire.to_position,
            item_count: wire.item_count,
            merkle_root: parse_hash(WHAT, &wire.merkle_root)?,
            previous_digest: parse_hash(WHAT, &wire.previous_digest)?,
        };
        if statement.canonical_bytes()? != bytes {
            return Err(SyncError::NotCanonical { what: WHAT });
        }
        Ok(statement)
    }

    /// `SHA-256("hoso-sync-statement-v1\0" ‖ canonical bytes)`: what the director
    /// signs, and what the next batch names as `previous_digest`.
    pub fn digest(&self) -> Result<Hash, SyncError> {
        let mut h = Sha256::new();
        h.update(STATEMENT_TAG);
        h.update(self.canonical_bytes()?);
        Ok(h.finalize().into())
    }
}

/// Checks that `item` is the item at `proof.leaf_index` of the batch `statement`
/// describes.
pub fn verify_item(
    statement: &BatchStatement,
    item: &BatchItem,
    proof: &InclusionProof,
) -> Result<(), SyncError> {
    statement.check()?;
    if proof.tree_size != statement.item_count {
        return Err(SyncError::ProofSize {
            expected: statement.item_count,
            found: proof.tree_size,
        });
    }
    merkle::verify_inclusion(&item_digest(item)?, proof, &statement.merkle_root).map_err(|source| {
        SyncError::ItemNotIncluded {
            index: proof.leaf_index,
            source,
        }
    })
}

/// Checks the director's ed25519 `signature` over `statement`'s digest with the raw
/// 32-byte `public_key`. (Which key was the director's on the sealing day is for the
/// caller to know: the `SigningKeyRegistered` events of the director's account.)
pub fn verify_signature(
    statement: &BatchStatement,
    public_key: &[u8],
    signature: &[u8],
) -> Result<(), SyncError> {
    signing::verify(public_key, &statement.digest()?, signature).map_err(SyncError::Signature)
}

/// Checks that `next` is the batch right after `previous`: the next sequence, the
/// previous statement's digest, and a range starting where the previous one ended.
pub fn verify_follows(previous: &BatchStatement, next: &BatchStatement) -> Result<(), SyncError> {
    next.check()?;
    if previous.sequence.checked_add(1) != Some(next.sequence) {
        return Err(SyncError::SequenceGap {
            previous: previous.sequence,
            found: next.sequence,
        });
    }
    if previous.digest()? != next.previous_digest {
        return Err(SyncError::BrokenChain {
            sequence: next.sequence,
        });
    }
    if next.from_position != previous.to_position {
        return Err(SyncError::RangeGap {
            sequence: next.sequence,
            expected: previous.to_position,
            found: next.from_position,
        });
    }
    Ok(())
}

pub(crate) fn check_name(what: &'static str, value: &str) -> Result<(), SyncError> {
    let ok = !value.is_empty()
        && value.len() <= NAME_MAX
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(SyncError::BadName {
            what,
            value: value.to_owned(),
        })
    }
}

/// 64 lowercase hex digits, the only spelling of a hash.
pub(crate) fn parse_hash(what: &'static str, text: &str) -> Result<Hash, SyncError> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(SyncError::NotCanonical { what });
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| SyncError::NotCanonical { what })?;
    Ok(out)
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn all_proofs_at_once_are_the_proofs_one_at_a_time() {
        for n in 0..70u8 {
            let digests: Vec<Hash> = (0..n).map(|i| [i; 32]).collect();
            let all = inclusion_proofs(&digests);
            assert_eq!(all.len(), usize::from(n));
            for (i, p) in all.iter().enumerate() {
                assert_eq!(
                    Some(p),
                    inclusion_proof(&digests, i as u64).as_ref(),
                    "n {n} i {i}"
                );
            }
        }
    }

    fn item(n: u8) -> BatchItem {
        BatchItem {
            dossier: format!("0197f5c2-0000-7000-8000-0000000000{n:02x}"),
            revision: u64::from(n) + 3,
            chain_hash: [n; 32],
            document_sha256: [n.wrapping_add(100); 32],
        }
    }

    fn statement(items: &[BatchItem]) -> BatchStatement {
        BatchStatement {
            format: STATEMENT_FORMAT.to_owned(),
            province: "hung-yen".to_owned(),
            sequence: 1,
            month: Month::new(2026, 11).unwrap(),
            from_position: 0,
            to_position: 100,
            item_count: items.len() as u64,
            merkle_root: merkle_root(items).unwrap(),
            previous_digest: [0; 32],
        }
    }

    #[test]
    fn item_bytes_are_the_documented_json() {
        let bytes = item(1).canonical_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"dossier":"0197f5c2-0000-7000-8000-000000000001","revision":4,"chain_hash":"{}","document_sha256":"{}"}}"#,
                "01".repeat(32),
                "65".repeat(32)
            )
        );
        assert_eq!(BatchItem::from_canonical(&bytes).unwrap(), item(1));
    }

    #[test]
    fn statement_bytes_are_the_documented_json() {
        let s = statement(&[]);
        let text = String::from_utf8(s.canonical_bytes().unwrap()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"format":"hoso-sync-statement/1","province":"hung-yen","sequence":1,"month":"2026-11","from_position":0,"to_position":100,"item_count":0,"merkle_root":"{}","previous_digest":"{}"}}"#,
                hex::encode(merkle::empty_root()),
                "00".repeat(32)
            )
        );
        assert_eq!(BatchStatement::from_canonical(text.as_bytes()).unwrap(), s);
    }

    #[test]
    fn other_spellings_of_the_same_values_are_refused() {
        let s = statement(&[item(1)]);
        let text = String::from_utf8(s.canonical_bytes().unwrap()).unwrap();
        let variants = [
            text.replace(',', ", "),
            format!("{text}\n"),
            text.replace("\"sequence\":1", "\"sequence\":01"),
            text.replace(
                &hex::encode(s.merkle_root),
                &hex::encode(s.merkle_root).to_uppercase(),
            ),
            text.replace(
                r#""format":"hoso-sync-statement/1","province":"hung-yen""#,
                r#""province":"hung-yen","format":"hoso-sync-statement/1""#,
            ),
        ];
        for v in variants {
            assert_ne!(v, text);
            assert!(BatchStatement::from_canonical(v.as_bytes()).is_err(), "{v}");
        }
        let extra = text.replace('}', r#","extra":1}"#);
        assert!(matches!(
            BatchStatement::from_canonical(extra.as_bytes()),
            Err(SyncError::Malformed { .. })
        ));
    }

    #[test]
    fn impossible_statements_have_no_digest() {
        let good = statement(&[item(1)]);
        type Case = (fn(&mut BatchStatement), fn(&SyncError) -> bool);
        let cases: [Case; 6] = [
            (
                |s| s.format = "hoso-sync-statement/2".into(),
                |e| matches!(e, SyncError::UnknownFormat(_)),
            ),
            (
                |s| s.province = "Hưng Yên".into(),
                |e| matches!(e, SyncError::BadName { .. }),
            ),
            (|s| s.sequence = 0, |e| *e == SyncError::SequenceZero),
            (
                |s| s.from_position = 101,
                |e| matches!(e, SyncError::ReversedRange { .. }),
            ),
            (
                |s| s.item_count = 101,
                |e| matches!(e, SyncError::TooManyItems { .. }),
            ),
            (
                |s| s.previous_digest = [1; 32],
                |e| matches!(e, SyncError::PreviousDigest { zero: false, .. }),
            ),
        ];
        for (change, expected) in cases {
            let mut s = good.clone();
            change(&mut s);
            let err = s.digest().unwrap_err();
            assert!(expected(&err), "{err}");
        }
        let mut later = good.clone();
        later.sequence = 2;
        assert_eq!(
            later.digest().unwrap_err(),
            SyncError::PreviousDigest {
                sequence: 2,
                zero: true
            }
        );
    }

    #[test]
    fn a_batch_stream_has_one_name() {
        assert_eq!(stream_name(12), "sync-12");
        assert_eq!(sequence_of("sync-12"), Some(12));
        for other in [
            "sync-012",
            "sync-0",
            "sync-",
            "sync-+1",
            "sync-2026-01",
            "dossier-1",
        ] {
            assert_eq!(sequence_of(other), None, "{other}");
        }
    }

    #[test]
    fn months_are_four_digit_years_and_real_months() {
        assert_eq!(
            "2026-12"
                .parse::<Month>()
                .unwrap()
                .next()
                .unwrap()
                .to_string(),
            "2027-01"
        );
        for bad in [
            "2026-13",
            "2026-00",
            "26-01",
            "2026-1",
            "+026-01",
            "2026/01",
            "２026-01",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_item_verifies_at_its_place_only() {
        let items: Vec<_> = (0..7).map(item).collect();
        let s = statement(&items);
        let digests = item_digests(&items).unwrap();
        for (i, it) in items.iter().enumerate() {
            let proof = inclusion_proof(&digests, i as u64).unwrap();
            verify_item(&s, it, &proof).unwrap();
            let other = &items[(i + 1) % items.len()];
            assert!(matches!(
                verify_item(&s, other, &proof),
                Err(SyncError::ItemNotIncluded { .. })
            ));
        }
        let mut proof = inclusion_proof(&digests, 0).unwrap();
        proof.tree_size = 8;
        assert!(matches!(
            verify_item(&s, &items[0], &proof),
            Err(SyncError::ProofSize {
                expected: 7,
                found: 8
            })
        ));
        assert!(inclusion_proof(&digests, 7).is_none());
    }

    #[test]
    fn a_chain_of_statements_follows_only_in_order() {
        let first = statement(&[item(1)]);
        let second = BatchStatement {
            sequence: 2,
            month: first.month.next().unwrap(),
            from_position: first.to_position,
            to_position: 180,
            previous_digest: first.digest().unwrap(),
            ..statement(&[item(2), item(3)])
        };
        verify_follows(&first, &second).unwrap();
        let mut skipped = second.clone();
        skipped.sequence = 3;
        assert!(matches!(
            verify_follows(&first, &skipped),
            Err(SyncError::SequenceGap { .. })
        ));
        let mut gap = second.clone();
        gap.from_position = 99;
        assert!(matches!(
            verify_follows(&first, &gap),
            Err(SyncError::RangeGap { .. })
        ));
        let mut forged = second.clone();
        forged.previous_digest = [9; 32];
        assert!(matches!(
            verify_follows(&first, &forged),
            Err(SyncError::BrokenChain { .. })
        ));
    }
}
