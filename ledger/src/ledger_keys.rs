//! The ledger's key ring: every ed25519 key that ever signed tree heads
//! ([`crate::checkpoint`]), kept in one file outside the log.
//!
//! The file (`ledger-keys.json` in the data directory, [`LEDGER_KEY_FILE`], or wherever
//! the operator points `HOSO_LEDGER_KEY_FILE`) is JSON, created with mode 0600 and
//! always replaced atomically:
//!
//! ```json
//! {"format":"hoso-ledger-keys/1","keys":[
//!   {"key_id":"<16 hex>","public_key":"<64 hex>","created_at":"<RFC 3339>",
//!    "state":"active","secret_key":"<64 hex>"},
//!   {"key_id":"…","public_key":"…","created_at":"…","state":"retired","retired_at":"…"},
//!   {"key_id":"…","public_key":"…","created_at":"…","state":"revoked",
//!    "revoked_at":"…","valid_through_tree_size":1024}]}
//! ```
//!
//! Exactly one key is **active**: it signs, and it is the only one whose secret the
//! file holds. Rotation retires it (its secret is erased; its public key stays, so the
//! heads it signed still verify) and makes a new one active. Revocation says a key is
//! no longer trusted: its heads of tree size up to `valid_through_tree_size` stay
//! valid, none after. Revoking the active key rotates first, so the node always has a
//! key to sign with and the revoked secret leaves the file in the same write.
//!
//! Loading refuses a file readable or writable by anyone but its owner (a signing key
//! others can read is a compromised key) and any file whose shape breaks a rule above.
//! Secrets are zeroized when the ring is dropped. Private keys never enter the log:
//! only [`LedgerKeyInfo::registered_event`] and [`LedgerKeyInfo::revoked_event`] do.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hoso_schemas::pb::ledger as pb;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::checkpoint::{CheckpointError, KeyId, SignedTreeHead, TreeHead, write_atomic};

/// Default name of the ledger key ring inside the data directory.
pub const LEDGER_KEY_FILE: &str = "ledger-keys.json";
/// The `format` value of a key ring file.
const FORMAT: &str = "hoso-ledger-keys/1";

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs the node's tree heads; the only key with a secret.
    Active,
    /// Replaced by a newer key; its heads stay valid.
    Retired {
        /// When it was replaced.
        retired_at: DateTime<Utc>,
    },
    /// No longer trusted beyond a tree size.
    Revoked {
        /// When it was revoked.
        revoked_at: DateTime<Utc>,
        /// Its heads with `tree_size` up to this stay valid, none after.
        valid_through_tree_size: u64,
    },
}

impl KeyState {
    /// `active`, `retired` or `revoked`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired { .. } => "retired",
            Self::Revoked { .. } => "revoked",
        }
    }
}

/// The public side of one key of the ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerKeyInfo {
    /// Its id (derived from the public key).
    pub key_id: KeyId,
    /// The ed25519 public key inspectors verify heads with.
    pub public_key: VerifyingKey,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Active, retired or revoked.
    pub state: KeyState,
}

impl LedgerKeyInfo {
    /// The `ledger.LedgerKeyRegistered` event recording this key in the log.
    pub fn registered_event(&self) -> pb::LedgerKeyRegistered {
        pb::LedgerKeyRegistered {
            key_id: self.key_id.as_bytes().to_vec(),
            public_key: self.public_key.as_bytes().to_vec(),
            registered_at_micros: self.created_at.timestamp_micros(),
        }
    }

    /// The `ledger.LedgerKeyRevoked` event, when the key is revoked.
    pub fn revoked_event(&self) -> Option<pb::LedgerKeyRevoked> {
        match self.state {
            KeyState::Revoked {
                revoked_at,
                valid_through_tree_size,
            } => Some(pb::LedgerKeyRevoked {
                key_id: self.key_id.as_bytes().to_vec(),
                revoked_at_micros: revoked_at.timestamp_micros(),
                valid_through_tree_size,
            }),
            _ => None,
        }
    }
}

/// What [`LedgerKeyRing::revoke`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// The key revoked.
    pub revoked: KeyId,
    /// The key made active first, when the revoked key was the active one.
    pub rotated_to: Option<KeyId>,
}

/// Why the key ring could not be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerKeyError {
    /// The file does not exist: the node cannot sign tree heads.
    #[error("ledger key file missing ({}); `hoso init` creates it", path.display())]
    KeyFileMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// [`LedgerKeyRing::create`] found a file already there and left it alone.
    #[error("ledger key file already exists ({})", path.display())]
    KeyFileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file may be read or written by others than its owner.
    #[error("ledger key file {} has mode {mode:o}; it must be readable by its owner only (chmod 600)", path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a valid key ring.
    #[error("ledger key file {} is invalid: {problem}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The rule it breaks.
        problem: String,
    },
    /// Reading failed.
    #[error("cannot read ledger key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Writing failed; the file is as it was.
    #[error("cannot write ledger key file {}: {source}", path.display())]
    Write {
        /// The path that failed (the file, its temporary or its directory).
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// No key of the ring has this id.
    #[error("no ledger key {0}")]
    UnknownKey(KeyId),
    /// The key is revoked already.
    #[error("ledger key {0} is already revoked")]
    AlreadyRevoked(KeyId),
    /// A head beyond the bound its revoked key stays valid through.
    #[error(
        "ledger key {key_id} is revoked: its heads are valid through tree size {valid_through_tree_size}, this one has {tree_size}"
    )]
    RevokedKey {
        /// The head's key.
        key_id: KeyId,
        /// The head's tree size.
        tree_size: u64,
        /// The revocation's bound.
        valid_through_tree_size: u64,
    },
    /// The head's signature does not verify.
    #[error(transparent)]
    Signature(#[from] CheckpointError),
}

/// Every ledger key ever used, with the active one's secret.
pub struct LedgerKeyRing {
    path: PathBuf,
    /// In order of creation; exactly one is active.
    keys: Vec<LedgerKeyInfo>,
    /// Where in `keys` the active one is.
    active: usize,
    /// The active key's secret (zeroized on drop by `ed25519_dalek`).
    secret: SigningKey,
}

impl fmt::Debug for LedgerKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerKeyRing")
            .field("path", &self.path)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl LedgerKeyRing {
    /// A new ring at `path` with one active key made `now`; refuses an existing file.
    pub fn create(path: &Path, now: DateTime<Utc>) -> Result<Self, LedgerKeyError> {
        if path.try_exists().map_err(|source| LedgerKeyError::Read {
            path: path.to_path_buf(),
            source,
        })? {
            return Err(LedgerKeyError::KeyFileExists {
                path: path.to_path_buf(),
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| LedgerKeyError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let secret = generate();
        let ring = Self {
            path: path.to_path_buf(),
            keys: vec![info_of(&secret, now)],
            active: 0,
            secret,
        };
        ring.save(&ring.keys, &ring.secret)?;
        Ok(ring)
    }

    /// Reads the ring at `path`, checking its mode and every rule of its shape.
    pub fn load(path: &Path) -> Result<Self, LedgerKeyError> {
        let read_err = |source| LedgerKeyError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LedgerKeyError::KeyFileMissing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(read_err(e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(read_err)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(LedgerKeyError::TooOpen {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes).map_err(read_err)?;
        let malformed = |problem: String| LedgerKeyError::Malformed {
            path: path.to_path_buf(),
            problem,
        };
        let json: RingJson = serde_json::from_slice(&bytes)
            .map_err(|e| malformed(format!("not a key ring: {e}")))?;
        let (keys, active, secret) = json.into_ring().map_err(malformed)?;
        Ok(Self {
            path: path.to_path_buf(),
            keys,
            active,
            secret,
        })
    }

    /// Loads the ring, or creates it when the file does not exist (a data directory
    /// made before the ring existed).
    pub fn open_or_create(path: &Path, now: DateTime<Utc>) -> Result<Self, LedgerKeyError> {
        match Self::load(path) {
            Err(LedgerKeyError::KeyFileMissing { .. }) => Self::create(path, now),
            other => other,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key that signs, and its id.
    pub fn signer(&self) -> (KeyId, &SigningKey) {
        (KeyId::of(&self.secret.verifying_key()), &self.secret)
    }

    /// The active key's public side.
    pub fn active(&self) -> &LedgerKeyInfo {
        &self.keys[self.active]
    }

    /// Every key, in order of creation, with its state.
    pub fn public_keys(&self) -> &[LedgerKeyInfo] {
        &self.keys
    }

    /// The key with this id.
    pub fn get(&self, key_id: KeyId) -> Option<&LedgerKeyInfo> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// Makes a new key active, made `now`; the old one is retired and its secret
    /// erased. The file is rewritten before the ring changes, so a failed write leaves
    /// both as they were. Answers the new key's id.
    pub fn rotate(&mut self, now: DateTime<Utc>) -> Result<KeyId, LedgerKeyError> {
        let (keys, secret) = self.rotated(now);
        self.save(&keys, &secret)?;
        let id = KeyId::of(&secret.verifying_key());
        self.active = keys.len() - 1;
        self.keys = keys;
        self.secret = secret;
        Ok(id)
    }

    /// Revokes `key_id` at `now`: its heads of tree size up to
    /// `valid_through_tree_size` stay valid, none after. The active key is rotated
    /// first (in the same write), so the node keeps a key to sign with.
    pub fn revoke(
        &mut self,
        key_id: KeyId,
        now: DateTime<Utc>,
        valid_through_tree_size: u64,
    ) -> Result<Revocation, LedgerKeyError> {
        let current = self.get(key_id).ok_or(LedgerKeyError::UnknownKey(key_id))?;
        let rotate = match current.state {
            KeyState::Revoked { .. } => return Err(LedgerKeyError::AlreadyRevoked(key_id)),
            KeyState::Active => true,
            KeyState::Retired { .. } => false,
        };
        let (mut keys, secret) = if rotate {
            self.rotated(now)
        } else {
            (self.keys.clone(), self.secret.clone())
        };
        for key in keys.iter_mut().filter(|k| k.key_id == key_id) {
            key.state = KeyState::Revoked {
                revoked_at: now,
                valid_through_tree_size,
            };
        }
        self.save(&keys, &secret)?;
        let rotated_to = rotate.then(|| KeyId::of(&secret.verifying_key()));
        if rotate {
            self.active = keys.len() - 1;
        }
        self.keys = keys;
        self.secret = secret;
        Ok(Revocation {
            revoked: key_id,
            rotated_to,
        })
    }

    /// Whether `head` may be trusted as far as its key goes: the key is in the ring
    /// and, if revoked, the head is within the revocation's bound. Answers the key to
    /// check the signature with.
    pub fn is_valid_for(&self, head: &TreeHead) -> Result<&VerifyingKey, LedgerKeyError> {
        let key = self
            .get(head.key_id)
            .ok_or(LedgerKeyError::UnknownKey(head.key_id))?;
        if let KeyState::Revoked {
            valid_through_tree_size,
            ..
        } = key.state
            && head.tree_size > valid_through_tree_size
        {
            return Err(LedgerKeyError::RevokedKey {
                key_id: head.key_id,
                tree_size: head.tree_size,
                valid_through_tree_size,
            });
        }
        Ok(&key.public_key)
    }

    /// [`Self::is_valid_for`], then the signature.
    pub fn verify(&self, signed: &SignedTreeHead) -> Result<(), LedgerKeyError> {
        let key = self.is_valid_for(&signed.head)?;
        Ok(signed.verify(key)?)
    }

    /// The keys and secret after a rotation at `now`, not yet saved.
    fn rotated(&self, now: DateTime<Utc>) -> (Vec<LedgerKeyInfo>, SigningKey) {
        let mut keys = self.keys.clone();
        for key in keys.iter_mut().filter(|k| k.state == KeyState::Active) {
            key.state = KeyState::Retired { retired_at: now };
        }
        let secret = generate();
        keys.push(info_of(&secret, now));
        (keys, secret)
    }

    fn save(&self, keys: &[LedgerKeyInfo], secret: &SigningKey) -> Result<(), LedgerKeyError> {
        let json = RingJson::of(keys, secret);
        let mut bytes = Zeroizing::new(serde_json::to_vec_pretty(&json).map_err(|e| {
            LedgerKeyError::Write {
                path: self.path.clone(),
                source: io::Error::other(e),
            }
        })?);
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)
            .map_err(|(path, source)| LedgerKeyError::Write { path, source })
    }
}

fn generate() -> SigningKey {
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(seed.as_mut_slice());
    SigningKey::from_bytes(&seed)
}

fn info_of(secret: &SigningKey, now: DateTime<Utc>) -> LedgerKeyInfo {
    let public_key = secret.verifying_key();
    LedgerKeyInfo {
        key_id: KeyId::of(&public_key),
        public_key,
        created_at: now,
        state: KeyState::Active,
    }
}

/// The file as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingJson {
    format: String,
    keys: Vec<KeyJson>,
}

/// One key as stored: the fields a state does not have are absent.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    key_id: String,
    public_key: String,
    created_at: String,
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_through_tree_size: Option<u64>,
}

impl Drop for KeyJson {
    fn drop(&mut self) {
        if let Some(secret) = self.secret_key.as_mut() {
            secret.zeroize();
        }
    }
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(what: &str, text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{what} {text:?} is not an RFC 3339 time: {e}"))
}

impl RingJson {
    fn of(keys: &[LedgerKeyInfo], secret: &SigningKey) -> Self {
        let keys = keys
            .iter()
            .map(|k| {
                let mut json = KeyJson {
                    key_id: k.key_id.to_string(),
                    public_key: hex::encode(k.public_key.as_bytes()),
                    created_at: time_text(k.created_at),
                    state: k.state.name().to_owned(),
                    secret_key: None,
                    retired_at: None,
                    revoked_at: None,
                    valid_through_tree_size: None,
                };
                match k.state {
                    KeyState::Active => {
                        json.secret_key = Some(hex::encode(secret.as_bytes()));
                    }
                    KeyState::Retired { retired_at } => {
                        json.retired_at = Some(time_text(retired_at))
                    }
                    KeyState::Revoked {
                        revoked_at,
                        valid_through_tree_size,
                    } => {
                        json.revoked_at = Some(time_text(revoked_at));
                        json.valid_through_tree_size = Some(valid_through_tree_size);
                    }
                }
                json
            })
            .collect();
        Self {
            format: FORMAT.to_owned(),
            keys,
        }
    }

    /// The keys, where the active one is and its secret, or the rule the file breaks.
    fn into_ring(self) -> Result<(Vec<LedgerKeyInfo>, usize, SigningKey), String> {
        if self.format != FORMAT {
            return Err(format!("format is {:?}, expected {FORMAT:?}", self.format));
        }
        let mut keys: Vec<LedgerKeyInfo> = Vec::with_capacity(self.keys.len());
        let mut secret = None;
        for json in &self.keys {
            let (info, key_secret) = json.parse()?;
            if keys.iter().any(|k| k.key_id == info.key_id) {
                return Err(format!("key {} is listed twice", info.key_id));
            }
            if let Some(s) = key_secret {
                if secret.is_some() {
                    return Err("more than one key is active".to_owned());
                }
                secret = Some((keys.len(), s));
            }
            keys.push(info);
        }
        let (active, secret) = secret.ok_or_else(|| "no key is active".to_owned())?;
        Ok((keys, active, secret))
    }
}

impl KeyJson {
    fn parse(&self) -> Result<(LedgerKeyInfo, Option<SigningKey>), String> {
        let key_id: KeyId = self
            .key_id
            .parse()
            .map_err(|e| format!("key id {:?}: {e}", self.key_id))?;
        let name = format!("key {key_id}");
        let mut public = [0u8; 32];
        hex::decode_to_slice(&self.public_key, &mut public)
            .map_err(|_| format!("{name}: public key is not 64 hex digits"))?;
        let public_key = VerifyingKey::from_bytes(&public)
            .map_err(|_| format!("{name}: public key is not an ed25519 point"))?;
        if KeyId::of(&public_key) != key_id {
            return Err(format!("{name}: the id is not that of its public key"));
        }
        let created_at = parse_time("created_at", &self.created_at)?;
        let fields = (
            self.secret_key.as_deref(),
            self.retired_at.as_deref(),
            self.revoked_at.as_deref(),
            self.valid_through_tree_size,
        );
        let (state, secret) = match (self.state.as_str(), fields) {
            ("active", (Some(secret_hex), None, None, None)) => {
                let mut seed = Zeroizing::new([0u8; 32]);
                hex::decode_to_slice(secret_hex, seed.as_mut_slice())
                    .map_err(|_| format!("{name}: secret key is not 64 hex digits"))?;
                let secret = SigningKey::from_bytes(&seed);
                if secret.verifying_key() != public_key {
                    return Err(format!(
                        "{name}: the secret key is not that of its public key"
                    ));
                }
                (KeyState::Active, Some(secret))
            }
            ("retired", (None, Some(at), None, None)) => (
                KeyState::Retired {
                    retired_at: parse_time("retired_at", at)?,
                },
                None,
            ),
            ("revoked", (None, None, Some(at), Some(bound))) => (
                KeyState::Revoked {
                    revoked_at: parse_time("revoked_at", at)?,
                    valid_through_tree_size: bound,
                },
                None,
            ),
            (state @ ("active" | "retired" | "revoked"), _) => {
                return Err(format!(
                    "{name}: state {state} with the wrong fields (active: secret_key; retired: retired_at; revoked: revoked_at and valid_through_tree_size)"
                ));
            }
            (other, _) => return Err(format!("{name}: unknown state {other:?}")),
        };
        Ok((
            LedgerKeyInfo {
                key_id,
                public_key,
                created_at,
                state,
            },
            secret,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::HeadReason;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, hour, 0, 0).unwrap()
    }

    fn ring_in(dir: &tempfile::TempDir) -> LedgerKeyRing {
        LedgerKeyRing::create(&dir.path().join(LEDGER_KEY_FILE), at(8)).unwrap()
    }

    fn signed(ring: &LedgerKeyRing, tree_size: u64) -> SignedTreeHead {
        let (id, key) = ring.signer();
        SignedTreeHead::sign(
            TreeHead::new(tree_size, [1; 32], at(9), id, HeadReason::Interval),
            key,
        )
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_writes_one_active_key_with_mode_0600_and_load_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let ring = ring_in(&dir);
        assert_eq!(mode(ring.path()), 0o600);
        assert_eq!(ring.public_keys().len(), 1);
        assert_eq!(ring.active().state, KeyState::Active);
        assert_eq!(ring.signer().0, ring.active().key_id);
        let loaded = LedgerKeyRing::load(ring.path()).unwrap();
        assert_eq!(loaded.public_keys(), ring.public_keys());
        assert_eq!(loaded.signer().1.to_bytes(), ring.signer().1.to_bytes());
    }

    #[test]
    fn create_refuses_an_existing_file_and_load_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let ring = ring_in(&dir);
        assert!(matches!(
            LedgerKeyRing::create(ring.path(), at(9)),
            Err(LedgerKeyError::KeyFileExists { .. })
        ));
        assert!(matches!(
            LedgerKeyRing::load(&dir.path().join("absent.json")),
            Err(LedgerKeyError::KeyFileMissing { .. })
        ));
        let created = LedgerKeyRing::open_or_create(&dir.path().join("new.json"), at(9)).unwrap();
        let opened = LedgerKeyRing::open_or_create(created.path(), at(10)).unwrap();
        assert_eq!(opened.public_keys(), created.public_keys());
    }

    #[test]
    fn rotate_retires_the_old_key_and_erases_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = ring_in(&dir);
        let old = ring.signer().0;
        let head = signed(&ring, 10);
        let new = ring.rotate(at(10)).unwrap();
        assert_ne!(old, new);
        assert_eq!(ring.signer().0, new);
        assert_eq!(
            ring.get(old).unwrap().state,
            KeyState::Retired { retired_at: at(10) }
        );
        // The old key's heads still verify.
        ring.verify(&head).unwrap();
        let text = fs::read_to_string(ring.path()).unwrap();
        assert_eq!(text.matches("secret_key").count(), 1);
        assert_eq!(mode(ring.path()), 0o600);
        let loaded = LedgerKeyRing::load(ring.path()).unwrap();
        assert_eq!(loaded.public_keys(), ring.public_keys());
        assert_eq!(loaded.signer().0, new);
    }

    #[test]
    fn revoking_a_retired_key_bounds_its_heads() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = ring_in(&dir);
        let old = ring.signer().0;
        let early = signed(&ring, 10);
        let late = signed(&ring, 11);
        ring.rotate(at(10)).unwrap();
        let r = ring.revoke(old, at(11), 10).unwrap();
        assert_eq!(
            r,
            Revocation {
                revoked: old,
                rotated_to: None
            }
        );
        ring.verify(&early).unwrap();
        assert!(matches!(
            ring.verify(&late),
            Err(LedgerKeyError::RevokedKey {
                tree_size: 11,
                valid_through_tree_size: 10,
                ..
            })
        ));
        let loaded = LedgerKeyRing::load(ring.path()).unwrap();
        assert_eq!(
            loaded.get(old).unwrap().state,
            KeyState::Revoked {
                revoked_at: at(11),
                valid_through_tree_size: 10
            }
        );
        assert!(matches!(
            ring.revoke(old, at(12), 12),
            Err(LedgerKeyError::AlreadyRevoked(id)) if id == old
        ));
    }

    #[test]
    fn revoking_the_active_key_rotates_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = ring_in(&dir);
        let old = ring.signer().0;
        let r = ring.revoke(old, at(10), 0).unwrap();
        let new = r.rotated_to.unwrap();
        assert_eq!(ring.signer().0, new);
        assert_eq!(ring.active().key_id, new);
        assert!(matches!(
            ring.get(old).unwrap().state,
            KeyState::Revoked { .. }
        ));
        let loaded = LedgerKeyRing::load(ring.path()).unwrap();
        assert_eq!(loaded.signer().0, new);
        assert_eq!(
            fs::read_to_string(ring.path())
                .unwrap()
                .matches("secret_key")
                .count(),
            1
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = ring_in(&dir);
        let stranger = SigningKey::from_bytes(&[9; 32]);
        let id = KeyId::of(&stranger.verifying_key());
        let head = SignedTreeHead::sign(
            TreeHead::new(1, [0; 32], at(9), id, HeadReason::Opened),
            &stranger,
        );
        assert!(matches!(ring.verify(&head), Err(LedgerKeyError::UnknownKey(k)) if k == id));
        assert!(matches!(
            ring.revoke(id, at(9), 0),
            Err(LedgerKeyError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ring = ring_in(&dir);
        let mut head = signed(&ring, 5);
        head.head.tree_size = 6;
        assert!(matches!(
            ring.verify(&head),
            Err(LedgerKeyError::Signature(
                CheckpointError::BadSignature { .. }
            ))
        ));
    }

    #[test]
    fn a_file_open_to_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ring = ring_in(&dir);
        fs::set_permissions(ring.path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            LedgerKeyRing::load(ring.path()),
            Err(LedgerKeyError::TooOpen { mode: 0o644, .. })
        ));
    }

    #[test]
    fn every_shape_rule_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = ring_in(&dir);
        ring.rotate(at(10)).unwrap();
        let good: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(ring.path()).unwrap()).unwrap();
        // A second, self-consistent active key.
        let extra = {
            let mut keys = good["keys"].as_array().unwrap().clone();
            let secret = SigningKey::from_bytes(&[4; 32]);
            let mut json = keys.pop().unwrap();
            json["key_id"] = KeyId::of(&secret.verifying_key()).to_string().into();
            json["public_key"] = hex::encode(secret.verifying_key().as_bytes()).into();
            json["secret_key"] = hex::encode(secret.to_bytes()).into();
            json
        };
        let other_secret = hex::encode(SigningKey::from_bytes(&[3; 32]).to_bytes());
        type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "format is",
                Box::new(|v| v["format"] = "hoso-ledger-keys/9".into()),
            ),
            (
                "no key is active",
                Box::new(|v| {
                    v["keys"].as_array_mut().unwrap().pop();
                }),
            ),
            (
                "more than one key is active",
                Box::new(move |v| {
                    v["keys"].as_array_mut().unwrap().push(extra.clone());
                }),
            ),
            (
                "listed twice",
                Box::new(|v| {
                    let first = v["keys"][0].clone();
                    v["keys"].as_array_mut().unwrap().push(first);
                }),
            ),
            (
                "the id is not that of its public key",
                Box::new(|v| {
                    v["keys"][0]["key_id"] = "00".repeat(8).into();
                }),
            ),
            (
                "public key is not 64 hex digits",
                Box::new(|v| {
                    v["keys"][0]["public_key"] = "zz".into();
                }),
            ),
            (
                "the secret key is not that of its public key",
                Box::new(move |v| {
                    v["keys"][1]["secret_key"] = other_secret.clone().into();
                }),
            ),
            (
                "state retired with the wrong fields",
                Box::new(|v| {
                    v["keys"][0]["secret_key"] = "11".repeat(32).into();
                }),
            ),
            (
                "state revoked with the wrong fields",
                Box::new(|v| {
                    v["keys"][0]["state"] = "revoked".into();
                    v["keys"][0]["revoked_at"] = "2026-12-06T10:00:00Z".into();
                    v["keys"][0].as_object_mut().unwrap().remove("retired_at");
                }),
            ),
            (
                "unknown state",
                Box::new(|v| v["keys"][0]["state"] = "dormant".into()),
            ),
            (
                "not an RFC 3339 time",
                Box::new(|v| {
                    v["keys"][0]["created_at"] = "today".into();
                }),
            ),
            (
                "unknown field",
                Box::new(|v| v["keys"][0]["note"] = "x".into()),
            ),
        ];
        for (problem, mutate) in cases {
            let mut bad = good.clone();
            mutate(&mut bad);
            let path = dir.path().join("bad.json");
            write_atomic(&path, &serde_json::to_vec(&bad).unwrap()).unwrap();
            match LedgerKeyRing::load(&path) {
                Err(LedgerKeyError::Malformed { problem: found, .. }) => {
                    assert!(
                        found.contains(problem),
                        "expected {problem:?}, found {found:?}"
                    );
                }
                other => panic!("expected {problem:?}, found {other:?}"),
            }
        }
        // The unmodified file loads, so each failure above is the mutation's.
        write_atomic(
            &dir.path().join("good.json"),
            &serde_json::to_vec(&good).unwrap(),
        )
        .unwrap();
        LedgerKeyRing::load(&dir.path().join("good.json")).unwrap();
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Whatever rotations and revocations happen, exactly one key is active, it is
        /// the signer, no key is lost, and the file reads back as the ring in memory.
        #[test]
        fn one_active_key_whatever_happens(steps in proptest::collection::vec((proptest::bool::ANY, 0usize..8, 0u64..100), 1..8)) {
            let dir = tempfile::tempdir().unwrap();
            let mut ring = ring_in(&dir);
            for (i, (rotate, pick, bound)) in steps.into_iter().enumerate() {
                let now = at(9) + chrono::Duration::minutes(i64::try_from(i).unwrap());
                let before = ring.public_keys().len();
                if rotate {
                    ring.rotate(now).unwrap();
                    proptest::prop_assert_eq!(ring.public_keys().len(), before + 1);
                } else {
                    let id = ring.public_keys()[pick % before].key_id;
                    match ring.revoke(id, now, bound) {
                        Ok(_) | Err(LedgerKeyError::AlreadyRevoked(_)) => {}
                        Err(e) => return Err(proptest::test_runner::TestCaseError::fail(e.to_string())),
                    }
                }
                let active: Vec<_> = ring.public_keys().iter().filter(|k| k.state == KeyState::Active).collect();
                proptest::prop_assert_eq!(active.len(), 1);
                proptest::prop_assert_eq!(active[0].key_id, ring.signer().0);
                let loaded = LedgerKeyRing::load(ring.path()).unwrap();
                proptest::prop_assert_eq!(loaded.public_keys(), ring.public_keys());
                proptest::prop_assert_eq!(loaded.signer().0, ring.signer().0);
            }
        }
    }

    #[test]
    fn events_carry_the_public_side_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = ring_in(&dir);
        let old = ring.active().clone();
        let registered = old.registered_event();
        assert_eq!(registered.public_key, old.public_key.as_bytes().to_vec());
        assert_eq!(registered.key_id, old.key_id.as_bytes().to_vec());
        assert_eq!(registered.registered_at_micros, at(8).timestamp_micros());
        assert!(old.revoked_event().is_none());
        ring.revoke(old.key_id, at(11), 7).unwrap();
        let revoked = ring.get(old.key_id).unwrap().revoked_event().unwrap();
        assert_eq!(revoked.valid_through_tree_size, 7);
        assert_eq!(revoked.revoked_at_micros, at(11).timestamp_micros());
    }
}
