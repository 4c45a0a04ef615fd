//! Signed tree heads ("checkpoints"): the node's signed statement that the Merkle tree
//! over `$all` had a given size and root at a given time.
//!
//! A head is signed with the ledger's ed25519 key (see [`crate::ledger_keys`]). Heads
//! are kept in two places: in the log, as `ledger.TreeHeadSigned` events of the stream
//! `ledger-checkpoints`, and in a small file outside the log (`tree-head.json` in the
//! data directory, [`HEAD_FILE`]) holding the latest one, so a node that finds its log
//! shorter than, or inconsistent with, the head it last signed knows it was tampered
//! with while stopped.
//!
//! # The signed message
//!
//! The signature is ed25519 (RFC 8032, verified strictly) over exactly these
//! [`SIGNED_MESSAGE_LEN`] = 75 bytes, all integers big-endian:
//!
//! | offset | length | field |
//! |---|---|---|
//! | 0 | 18 | the ASCII bytes `hoso-tree-head-v1` followed by one zero byte ([`DOMAIN_PREFIX`]) |
//! | 18 | 8 | `tree_size`, unsigned 64-bit: the number of leaves (events of `$all`) |
//! | 26 | 32 | `root`: the RFC 6962/9162 Merkle tree hash over those leaves |
//! | 58 | 8 | `signed_at`, signed 64-bit: microseconds since 1970-01-01T00:00:00Z (UTC) |
//! | 66 | 8 | `key_id`: the first 8 bytes of SHA-256 of the 32-byte ed25519 public key |
//! | 74 | 1 | `reason`: 1 = interval, 2 = opened, 3 = shutdown |
//!
//! The prefix keeps a head's signature from being valid for any other message the
//! same key might ever sign. Times finer than a microsecond are truncated when a head
//! is built ([`TreeHead::new`]), so the time in the JSON form, in the event and in
//! the signed bytes is always the same instant.
//!
//! # The JSON form
//!
//! Used by the HTTP API and by `tree-head.json`: one flat object,
//!
//! ```json
//! {"tree_size":42,"root":"<64 hex>","signed_at":"2026-12-06T09:40:00.000000Z",
//!  "key_id":"<16 hex>","reason":"interval","signature":"<128 hex>"}
//! ```
//!
//! with lowercase hex for binary fields, RFC 3339 for the time, and `reason` one of
//! `interval`, `opened`, `shutdown`. Unknown fields are refused.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hoso_schemas::pb::ledger as pb;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::envelope::Hash;

/// The stream the `ledger.TreeHeadSigned` events are appended to.
pub const CHECKPOINT_STREAM: &str = "ledger-checkpoints";
/// The stream of `ledger.LedgerKeyRegistered` and `ledger.LedgerKeyRevoked` events.
pub const KEYS_STREAM: &str = "ledger-keys";
/// Name of the latest signed tree head's file inside the data directory.
pub const HEAD_FILE: &str = "tree-head.json";
/// Domain-separation prefix of the signed message: `hoso-tree-head-v1` and a zero byte.
pub const DOMAIN_PREFIX: &[u8; 18] = b"hoso-tree-head-v1\0";
/// Length of the signed message.
pub const SIGNED_MESSAGE_LEN: usize = DOMAIN_PREFIX.len() + 8 + 32 + 8 + KeyId::LEN + 1;

/// Identifies a ledger key: the first 8 bytes of SHA-256 of its public key.
///
/// Shown (and parsed) as 16 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// Length of a key id in bytes.
    pub const LEN: usize = 8;

    /// The id of a public key.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; Self::LEN];
        id.copy_from_slice(&digest[..Self::LEN]);
        Self(id)
    }

    /// A key id from its raw bytes.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// A key id from raw bytes of any length, refusing a wrong length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CheckpointError> {
        <[u8; 8]>::try_from(bytes)
            .map(Self)
            .map_err(|_| CheckpointError::FieldLength {
                field: "key_id",
                expected: Self::LEN,
                actual: bytes.len(),
            })
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = CheckpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_hex::<8>("key_id", s).map(Self)
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why the node signed a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadReason {
    /// Every N events or T seconds while serving.
    Interval,
    /// Right after the node opened and verified the log.
    Opened,
    /// At a clean shutdown: any event after this head's size was appended while the
    /// node was stopped.
    Shutdown,
}

impl HeadReason {
    /// The byte of the signed message (and the protobuf enum value).
    pub const fn byte(self) -> u8 {
        match self {
            Self::Interval => 1,
            Self::Opened => 2,
            Self::Shutdown => 3,
        }
    }

    /// The reason a byte stands for.
    pub fn from_byte(byte: u8) -> Result<Self, CheckpointError> {
        match byte {
            1 => Ok(Self::Interval),
            2 => Ok(Self::Opened),
            3 => Ok(Self::Shutdown),
            other => Err(CheckpointError::UnknownReason(i32::from(other))),
        }
    }
}

impl fmt::Display for HeadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Interval => "interval",
            Self::Opened => "opened",
            Self::Shutdown => "shutdown",
        })
    }
}

/// What a signed tree head states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of leaves: the events of `$all` at positions `0..tree_size`.
    pub tree_size: u64,
    /// The Merkle tree hash over those leaves.
    pub root: Hash,
    /// When the node signed it, to the microsecond.
    pub signed_at: DateTime<Utc>,
    /// The ledger key that signs it.
    pub key_id: KeyId,
    /// Why the node signed it.
    pub reason: HeadReason,
}

impl TreeHead {
    /// A head, with `signed_at` truncated to the microsecond the signed message holds.
    pub fn new(
        tree_size: u64,
        root: Hash,
        signed_at: DateTime<Utc>,
        key_id: KeyId,
        reason: HeadReason,
    ) -> Self {
        Self {
            tree_size,
            root,
            signed_at: truncate_to_micros(signed_at),
            key_id,
            reason,
        }
    }

    /// The exact bytes the signature covers (layout in the module documentation).
    pub fn signed_message(&self) -> [u8; SIGNED_MESSAGE_LEN] {
        let mut message = [0u8; SIGNED_MESSAGE_LEN];
        let mut at = 0;
        for part in [
            DOMAIN_PREFIX.as_slice(),
            &self.tree_size.to_be_bytes(),
            &self.root,
            &self.signed_at.timestamp_micros().to_be_bytes(),
            self.key_id.as_bytes(),
            &[self.reason.byte()],
        ] {
            message[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        debug_assert_eq!(at, SIGNED_MESSAGE_LEN);
        message
    }
}

/// A tree head and the ledger key's signature over [`TreeHead::signed_message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SignedTreeHeadJson", into = "SignedTreeHeadJson")]
pub struct SignedTreeHead {
    /// What is signed.
    pub head: TreeHead,
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    /// Signs `head` with `key`. The head's `key_id` is set to `key`'s, so a head can
    /// never name a key other than the one that signed it; `signed_at` is truncated to
    /// the microsecond.
    pub fn sign(head: TreeHead, key: &SigningKey) -> Self {
        let head = TreeHead::new(
            head.tree_size,
            head.root,
            head.signed_at,
            KeyId::of(&key.verifying_key()),
            head.reason,
        );
        let signature = key.sign(&head.signed_message()).to_bytes();
        Self { head, signature }
    }

    /// Checks the signature with `key`, which must be the key the head names.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let key_id = KeyId::of(key);
        if key_id != self.head.key_id {
            return Err(CheckpointError::KeyMismatch {
                head: self.head.key_id,
                key: key_id,
            });
        }
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.head.signed_message(), &signature)
            .map_err(|_| CheckpointError::BadSignature {
                key_id,
                tree_size: self.head.tree_size,
            })
    }

    /// The head as the `ledger.TreeHeadSigned` event.
    pub fn to_event(&self) -> pb::TreeHeadSigned {
        pb::TreeHeadSigned {
            tree_size: self.head.tree_size,
            root: self.head.root.to_vec(),
            signed_at_micros: self.head.signed_at.timestamp_micros(),
            key_id: self.head.key_id.as_bytes().to_vec(),
            reason: i32::from(self.head.reason.byte()),
            signature: self.signature.to_vec(),
        }
    }

    /// A head read back from a `ledger.TreeHeadSigned` event, refusing wrong lengths,
    /// an unknown reason and an unrepresentable time. The signature is not checked.
    pub fn from_event(event: &pb::TreeHeadSigned) -> Result<Self, CheckpointError> {
        let reason = u8::try_from(event.reason)
            .map_err(|_| CheckpointError::UnknownReason(event.reason))
            .and_then(HeadReason::from_byte)?;
        let signed_at = DateTime::from_timestamp_micros(event.signed_at_micros)
            .ok_or(CheckpointError::TimeOutOfRange(event.signed_at_micros))?;
        Ok(Self {
            head: TreeHead {
                tree_size: event.tree_size,
                root: fixed::<32>("root", &event.root)?,
                signed_at,
                key_id: KeyId::from_slice(&event.key_id)?,
                reason,
            },
            signature: fixed::<64>("signature", &event.signature)?,
        })
    }
}

impl From<&SignedTreeHead> for pb::TreeHeadSigned {
    fn from(head: &SignedTreeHead) -> Self {
        head.to_event()
    }
}

impl TryFrom<&pb::TreeHeadSigned> for SignedTreeHead {
    type Error = CheckpointError;

    fn try_from(event: &pb::TreeHeadSigned) -> Result<Self, Self::Error> {
        Self::from_event(event)
    }
}

/// Why a head could not be read or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signature does not verify under the key the head names.
    #[error("tree head of size {tree_size}: signature does not verify under key {key_id}")]
    BadSignature {
        /// The key that was used.
        key_id: KeyId,
        /// The head's tree size.
        tree_size: u64,
    },
    /// The head names another key than the one offered to verify it.
    #[error("tree head names key {head}, but was checked with key {key}")]
    KeyMismatch {
        /// The key the head names.
        head: KeyId,
        /// The key offered.
        key: KeyId,
    },
    /// A binary field has the wrong length.
    #[error("{field}: expected {expected} bytes, found {actual}")]
    FieldLength {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// A binary field is not lowercase hex.
    #[error("{field}: not hex ({problem})")]
    NotHex {
        /// The field.
        field: &'static str,
        /// What the decoder said.
        problem: String,
    },
    /// The reason is none of interval (1), opened (2), shutdown (3).
    #[error("unknown tree head reason {0}")]
    UnknownReason(i32),
    /// The time cannot be represented.
    #[error("signed_at out of range: {0} microseconds")]
    TimeOutOfRange(i64),
    /// The time is not RFC 3339.
    #[error("signed_at is not an RFC 3339 time: {0}")]
    BadTime(String),
}

/// Why the head file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HeadFileError {
    /// Reading failed (other than the file being absent).
    #[error("cannot read tree head file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Writing, syncing or renaming failed.
    #[error("cannot write tree head file {}: {source}", path.display())]
    Write {
        /// The file (or its temporary or directory).
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not a signed tree head in the JSON form.
    #[error("tree head file {} is malformed: {source}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        source: serde_json::Error,
    },
}

/// Writes `head` to `path` atomically: a temporary file beside it (mode 0600) is
/// written and synced, renamed over `path`, and the directory synced, so a crash
/// leaves either the old head or the new one, never a torn file.
pub fn write_head_file(path: &Path, head: &SignedTreeHead) -> Result<(), HeadFileError> {
    let mut bytes = serde_json::to_vec_pretty(head).map_err(|source| HeadFileError::Write {
        path: path.to_path_buf(),
        source: io::Error::other(source),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(|(path, source)| HeadFileError::Write { path, source })
}

/// Reads the head file; `Ok(None)` when there is none (a node that never signed).
pub fn read_head_file(path: &Path) -> Result<Option<SignedTreeHead>, HeadFileError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HeadFileError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| HeadFileError::Malformed {
            path: path.to_path_buf(),
            source,
        })
}

/// Replaces `path` with `bytes` atomically, the new file created with mode 0600.
/// On failure, names the path that failed; the temporary file is removed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), (PathBuf, io::Error)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tag = [0u8; 8];
    rand::rng().fill_bytes(&mut tag);
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        hex::encode(tag)
    ));
    let written = write_tmp(&tmp, bytes)
        .map_err(|e| (tmp.clone(), e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| (path.to_path_buf(), e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(&dir).map_err(|e| (dir, e))
}

fn write_tmp(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The flat JSON object of the module documentation.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedTreeHeadJson {
    tree_size: u64,
    root: String,
    signed_at: String,
    key_id: String,
    reason: HeadReason,
    signature: String,
}

impl From<SignedTreeHead> for SignedTreeHeadJson {
    fn from(signed: SignedTreeHead) -> Self {
        let head = signed.head;
        Self {
            tree_size: head.tree_size,
            root: hex::encode(head.root),
            signed_at: head.signed_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            key_id: head.key_id.to_string(),
            reason: head.reason,
            signature: hex::encode(signed.signature),
        }
    }
}

impl TryFrom<SignedTreeHeadJson> for SignedTreeHead {
    type Error = CheckpointError;

    fn try_from(json: SignedTreeHeadJson) -> Result<Self, Self::Error> {
        let signed_at = DateTime::parse_from_rfc3339(&json.signed_at)
            .map_err(|e| CheckpointError::BadTime(e.to_string()))?
            .with_timezone(&Utc);
        Ok(Self {
            head: TreeHead::new(
                json.tree_size,
                decode_hex::<32>("root", &json.root)?,
                signed_at,
                json.key_id.parse()?,
                json.reason,
            ),
            signature: decode_hex::<64>("signature", &json.signature)?,
        })
    }
}

fn decode_hex<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], CheckpointError> {
    // Lowercase only, so one head has one JSON form.
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(CheckpointError::NotHex {
            field,
            problem: "uppercase digit".to_owned(),
        });
    }
    let bytes = hex::decode(text).map_err(|e| CheckpointError::NotHex {
        field,
        problem: e.to_string(),
    })?;
    fixed::<N>(field, &bytes)
}

fn fixed<const N: usize>(field: &'static str, bytes: &[u8]) -> Result<[u8; N], CheckpointError> {
    <[u8; N]>::try_from(bytes).map_err(|_| CheckpointError::FieldLength {
        field,
        expected: N,
        actual: bytes.len(),
    })
}

fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn head(key: &SigningKey) -> TreeHead {
        TreeHead::new(
            42,
            [0xab; 32],
            Utc.with_ymd_and_hms(2026, 12, 6, 9, 40, 0).unwrap()
                + chrono::Duration::nanoseconds(123_456_789),
            KeyId::of(&key.verifying_key()),
            HeadReason::Interval,
        )
    }

    #[test]
    fn signed_message_has_the_documented_layout() {
        let k = key(1);
        let h = head(&k);
        let m = h.signed_message();
        assert_eq!(m.len(), 75);
        assert_eq!(&m[..18], b"hoso-tree-head-v1\0");
        assert_eq!(&m[18..26], &42u64.to_be_bytes());
        assert_eq!(&m[26..58], &[0xab; 32]);
        let micros = Utc
            .with_ymd_and_hms(2026, 12, 6, 9, 40, 0)
            .unwrap()
            .timestamp_micros()
            + 123_456;
        assert_eq!(&m[58..66], &micros.to_be_bytes());
        let digest = Sha256::digest(k.verifying_key().as_bytes());
        assert_eq!(&m[66..74], &digest[..8]);
        assert_eq!(m[74], 1);
    }

    #[test]
    fn the_ledger_streams_are_valid_stream_names() {
        let k = key(12);
        let event = hoso_schemas::DomainEvent::from(SignedTreeHead::sign(head(&k), &k).to_event());
        for stream in [CHECKPOINT_STREAM, KEYS_STREAM] {
            let new = crate::NewEvent::new(
                event.type_name(),
                event.schema_version(),
                event.encode_payload(),
            );
            crate::envelope::validate_append(stream, &[new]).unwrap();
        }
    }

    #[test]
    fn key_id_is_sixteen_lowercase_hex_and_parses_back() {
        let id = KeyId::of(&key(2).verifying_key());
        let text = id.to_string();
        assert_eq!(text.len(), 16);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(text.parse::<KeyId>().unwrap(), id);
        assert!("abc".parse::<KeyId>().is_err());
        assert!(text.to_uppercase().parse::<KeyId>().is_err());
    }

    #[test]
    fn sign_then_verify() {
        let k = key(3);
        let signed = SignedTreeHead::sign(head(&k), &k);
        signed.verify(&k.verifying_key()).unwrap();
        assert_eq!(signed.head.signed_at.timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn sign_names_the_signing_key() {
        let k = key(3);
        let other = key(4);
        let signed = SignedTreeHead::sign(head(&other), &k);
        assert_eq!(signed.head.key_id, KeyId::of(&k.verifying_key()));
    }

    #[test]
    fn every_field_is_covered_by_the_signature() {
        let k = key(5);
        let signed = SignedTreeHead::sign(head(&k), &k);
        let vk = k.verifying_key();
        let mut changed = signed.clone();
        changed.head.tree_size += 1;
        assert!(matches!(
            changed.verify(&vk),
            Err(CheckpointError::BadSignature { .. })
        ));
        let mut changed = signed.clone();
        changed.head.root[0] ^= 1;
        assert!(changed.verify(&vk).is_err());
        let mut changed = signed.clone();
        changed.head.signed_at += chrono::Duration::microseconds(1);
        assert!(changed.verify(&vk).is_err());
        let mut changed = signed.clone();
        changed.head.reason = HeadReason::Shutdown;
        assert!(changed.verify(&vk).is_err());
        let mut changed = signed.clone();
        changed.signature[10] ^= 1;
        assert!(changed.verify(&vk).is_err());
    }

    #[test]
    fn verify_with_another_key_is_a_key_mismatch() {
        let k = key(6);
        let signed = SignedTreeHead::sign(head(&k), &k);
        let other = key(7).verifying_key();
        assert_eq!(
            signed.verify(&other),
            Err(CheckpointError::KeyMismatch {
                head: signed.head.key_id,
                key: KeyId::of(&other)
            })
        );
    }

    #[test]
    fn json_form_round_trips_and_is_flat() {
        let k = key(8);
        let signed = SignedTreeHead::sign(head(&k), &k);
        let json = serde_json::to_value(&signed).unwrap();
        assert_eq!(json["tree_size"], 42);
        assert_eq!(json["root"], hex::encode([0xab; 32]));
        assert_eq!(json["signed_at"], "2026-12-06T09:40:00.123456Z");
        assert_eq!(json["reason"], "interval");
        assert_eq!(json["key_id"], signed.head.key_id.to_string());
        assert_eq!(json["signature"].as_str().unwrap().len(), 128);
        let back: SignedTreeHead = serde_json::from_value(json).unwrap();
        assert_eq!(back, signed);
        back.verify(&k.verifying_key()).unwrap();
    }

    #[test]
    fn json_form_refuses_bad_fields() {
        let k = key(9);
        let signed = SignedTreeHead::sign(head(&k), &k);
        let good = serde_json::to_value(&signed).unwrap();
        for (field, value) in [
            ("root", serde_json::json!("abcd")),
            ("signature", serde_json::json!("zz")),
            ("signed_at", serde_json::json!("yesterday")),
            ("reason", serde_json::json!("whim")),
            ("key_id", serde_json::json!("0011")),
            ("extra", serde_json::json!(1)),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert!(
                serde_json::from_value::<SignedTreeHead>(bad).is_err(),
                "{field} accepted"
            );
        }
    }

    #[test]
    fn event_form_round_trips_and_refuses_bad_fields() {
        let k = key(10);
        for reason in [
            HeadReason::Interval,
            HeadReason::Opened,
            HeadReason::Shutdown,
        ] {
            let mut h = head(&k);
            h.reason = reason;
            let signed = SignedTreeHead::sign(h, &k);
            let event = signed.to_event();
            assert_eq!(event.reason, i32::from(reason.byte()));
            let back = SignedTreeHead::from_event(&event).unwrap();
            assert_eq!(back, signed);
            back.verify(&k.verifying_key()).unwrap();
        }
        let event = SignedTreeHead::sign(head(&k), &k).to_event();
        let mut bad = event.clone();
        bad.root.pop();
        assert!(matches!(
            SignedTreeHead::from_event(&bad),
            Err(CheckpointError::FieldLength { field: "root", .. })
        ));
        let mut bad = event.clone();
        bad.reason = 0;
        assert_eq!(
            SignedTreeHead::from_event(&bad),
            Err(CheckpointError::UnknownReason(0))
        );
        let mut bad = event.clone();
        bad.signed_at_micros = i64::MAX;
        assert!(matches!(
            SignedTreeHead::from_event(&bad),
            Err(CheckpointError::TimeOutOfRange(_))
        ));
        let mut bad = event;
        bad.key_id.push(0);
        assert!(matches!(
            SignedTreeHead::from_event(&bad),
            Err(CheckpointError::FieldLength {
                field: "key_id",
                ..
            })
        ));
    }

    fn any_head() -> impl proptest::strategy::Strategy<Value = (TreeHead, u8)> {
        use proptest::prelude::*;
        (
            any::<u64>(),
            any::<[u8; 32]>(),
            // Any instant from 1900 to 2199, to the nanosecond.
            -2_208_988_800_000_000_000i64..7_258_118_400_000_000_000i64,
            prop_oneof![
                Just(HeadReason::Interval),
                Just(HeadReason::Opened),
                Just(HeadReason::Shutdown)
            ],
            1u8..=255,
        )
            .prop_map(|(tree_size, root, nanos, reason, seed)| {
                let head = TreeHead::new(
                    tree_size,
                    root,
                    DateTime::from_timestamp_nanos(nanos),
                    KeyId::from_bytes([0; 8]),
                    reason,
                );
                (head, seed)
            })
    }

    proptest::proptest! {
        #[test]
        fn every_form_round_trips_and_verifies((head, seed) in any_head()) {
            let k = key(seed);
            let signed = SignedTreeHead::sign(head, &k);
            let json: SignedTreeHead =
                serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();
            proptest::prop_assert_eq!(&json, &signed);
            let event = SignedTreeHead::from_event(&signed.to_event()).unwrap();
            proptest::prop_assert_eq!(&event, &signed);
            proptest::prop_assert!(event.verify(&k.verifying_key()).is_ok());
        }

        #[test]
        fn no_other_message_verifies((head, seed) in any_head(), bit in 0usize..SIGNED_MESSAGE_LEN * 8) {
            let k = key(seed);
            let signed = SignedTreeHead::sign(head, &k);
            let mut message = signed.head.signed_message();
            message[bit / 8] ^= 1 << (bit % 8);
            let signature = Signature::from_bytes(&signed.signature);
            proptest::prop_assert!(k.verifying_key().verify_strict(&message, &signature).is_err());
        }
    }

    #[test]
    fn head_file_round_trips_with_mode_0600_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEAD_FILE);
        assert!(read_head_file(&path).unwrap().is_none());
        let k = key(11);
        let first = SignedTreeHead::sign(head(&k), &k);
        write_head_file(&path, &first).unwrap();
        assert_eq!(read_head_file(&path).unwrap(), Some(first.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let mut h = head(&k);
        h.tree_size = 43;
        let second = SignedTreeHead::sign(h, &k);
        write_head_file(&path, &second).unwrap();
        assert_eq!(read_head_file(&path).unwrap(), Some(second));
        // Only the file itself: no temporary left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn malformed_head_file_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HEAD_FILE);
        fs::write(&path, b"{\"tree_size\": 1}").unwrap();
        assert!(matches!(
            read_head_file(&path),
            Err(HeadFileError::Malformed { .. })
        ));
        fs::write(&path, b"not json").unwrap();
        assert!(matches!(
            read_head_file(&path),
            Err(HeadFileError::Malformed { .. })
        ));
    }
}
