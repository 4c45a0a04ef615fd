//! The province's connection key (HY 13.6: "the connection uses a key pair
//! issued for the province"): the ed25519 key pair with which the server
//! itself signs the national sync batches it seals in continuous mode.
//!
//! The file (`connection-key.json` in the data directory, [`CONNECTION_KEY_FILE`])
//! follows the ledger key ring's conventions: JSON, created with mode 0600 (and
//! never replaced in place: a new key is a new file), refused at load when
//! anyone but its owner may read or write it or when its shape breaks a rule:
//!
//! ```json
//! {"format":"hoso-connection-key/1","key_id":"<16 hex>","public_key":"<64 hex>",
//!  "created_at":"<RFC 3339>","secret_key":"<64 hex>"}
//! ```
//!
//! `key_id` is the first 8 bytes of SHA-256 of the public key, as a ledger
//! key's ([`hoso_ledger::checkpoint::KeyId`]). The public key is published
//! (`hoso sync connection-key`, `GET /api/v1/sync/keys`); the secret never
//! leaves the file and this value: it is zeroized on drop and no `Debug`
//! output shows it.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hoso_ledger::checkpoint::KeyId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Default name of the connection key's file inside the data directory.
pub const CONNECTION_KEY_FILE: &str = "connection-key.json";
/// The `format` value of the file.
const FORMAT: &str = "hoso-connection-key/1";

/// Why the connection key could not be created or read.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionKeyError {
    /// The file does not exist.
    #[error("connection key file missing ({}); `hoso init` or `hoso serve` creates it", path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// [`ConnectionKey::create`] found a file already there and left it alone.
    #[error("connection key file already exists ({})", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file may be read or written by others than its owner.
    #[error("connection key file {} has mode {mode:o}; it must be readable by its owner only (chmod 600)", path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a valid connection key.
    #[error("connection key file {} is invalid: {problem}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The rule it breaks.
        problem: String,
    },
    /// Reading or writing failed.
    #[error("cannot access connection key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// The province's connection key pair.
pub struct ConnectionKey {
    path: PathBuf,
    key_id: KeyId,
    created_at: DateTime<Utc>,
    /// Zeroized on drop by `ed25519_dalek`.
    secret: SigningKey,
}

impl fmt::Debug for ConnectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionKey")
            .field("path", &self.path)
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

/// The file as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    format: String,
    key_id: String,
    public_key: String,
    created_at: String,
    secret_key: String,
}

impl Drop for KeyJson {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

impl ConnectionKey {
    /// A new key pair at `path`, made `now`; refuses an existing file.
    pub fn create(path: &Path, now: DateTime<Utc>) -> Result<Self, ConnectionKeyError> {
        let io_err = |source| ConnectionKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut_slice());
        let secret = SigningKey::from_bytes(&seed);
        let key = Self {
            path: path.to_path_buf(),
            key_id: KeyId::of(&secret.verifying_key()),
            created_at: now,
            secret,
        };
        let json = KeyJson {
            format: FORMAT.to_owned(),
            key_id: key.key_id.to_string(),
            public_key: key.public_key_hex(),
            created_at: now.to_rfc3339_opts(SecondsFormat::Micros, true),
            secret_key: hex::encode(key.secret.as_bytes()),
        };
        let mut bytes = Zeroizing::new(
            serde_json::to_vec_pretty(&json).map_err(|e| io_err(io::Error::other(e)))?,
        );
        bytes.push(b'\n');
        let mut options = OpenOptions::new();
        // `create_new`: an existing key is never overwritten, even by a race.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ConnectionKeyError::Exists {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err(e)),
        };
        let written = file.write_all(&bytes).and_then(|()| file.sync_all());
        if let Err(e) = written {
            drop(file);
            let _ = fs::remove_file(path);
            return Err(io_err(e));
        }
        // Lost in a crash, the key would be made anew at the next start and
        // the national side would hold a key that no longer signs.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        crate::sealing::sync_dir(dir.unwrap_or(Path::new("."))).map_err(io_err)?;
        Ok(key)
    }

    /// Reads the key at `path`, checking its mode and every rule of its shape.
    pub fn load(path: &Path) -> Result<Self, ConnectionKeyError> {
        let io_err = |source| ConnectionKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ConnectionKeyError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err(e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(io_err)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(ConnectionKeyError::TooOpen {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes).map_err(io_err)?;
        let malformed = |problem: String| ConnectionKeyError::Malformed {
            path: path.to_path_buf(),
            problem,
        };
        let json: KeyJson = serde_json::from_slice(&bytes)
            .map_err(|e| malformed(format!("not a connection key file: {e}")))?;
        if json.format != FORMAT {
            return Err(malformed(format!(
                "format is {:?}, expected {FORMAT:?}",
                json.format
            )));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(&json.secret_key, seed.as_mut_slice())
            .map_err(|_| malformed("secret_key is not 64 hex digits".to_owned()))?;
        let secret = SigningKey::from_bytes(&seed);
        let public = secret.verifying_key();
        if json.public_key != hex::encode(public.as_bytes()) {
            return Err(malformed(
                "public_key is not that of the secret key".to_owned(),
            ));
        }
        let key_id = KeyId::of(&public);
        if json.key_id != key_id.to_string() {
            return Err(malformed("key_id is not that of the public key".to_owned()));
        }
        let created_at = DateTime::parse_from_rfc3339(&json.created_at)
            .map_err(|e| malformed(format!("created_at is not an RFC 3339 time: {e}")))?
            .with_timezone(&Utc);
        Ok(Self {
            path: path.to_path_buf(),
            key_id,
            created_at,
            secret,
        })
    }

    /// Loads the key, or creates it when the file does not exist (a data
    /// directory made before the key existed).
    pub fn open_or_create(path: &Path, now: DateTime<Utc>) -> Result<Self, ConnectionKeyError> {
        match Self::load(path) {
            Err(ConnectionKeyError::Missing { .. }) => Self::create(path, now),
            other => other,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key's id, as sealed batches name it (`director_key_id`).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// When the key was made.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.secret.verifying_key()
    }

    /// The public key as 64 lowercase hex digits, as it is published.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key().as_bytes())
    }

    /// The ed25519 signature over `message` (a statement digest).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.secret.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-07-01T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_writes_mode_0600_and_load_reads_the_same_key_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONNECTION_KEY_FILE);
        let key = ConnectionKey::create(&path, now()).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let back = ConnectionKey::load(&path).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.created_at(), now());
        assert_eq!(key.public_key_hex().len(), 64);
        let sig = back.sign(&[7; 32]);
        hoso_domain::signing::verify(key.public_key().as_bytes(), &[7; 32], &sig).unwrap();
        let shown = format!("{key:?}");
        let secret = fs::read_to_string(&path).unwrap();
        let secret: serde_json::Value = serde_json::from_str(&secret).unwrap();
        assert!(!shown.contains(secret["secret_key"].as_str().unwrap()));
    }

    #[test]
    fn create_refuses_an_existing_file_and_open_or_create_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONNECTION_KEY_FILE);
        assert!(matches!(
            ConnectionKey::load(&path),
            Err(ConnectionKeyError::Missing { .. })
        ));
        let first = ConnectionKey::open_or_create(&path, now()).unwrap();
        assert!(matches!(
            ConnectionKey::create(&path, now()),
            Err(ConnectionKeyError::Exists { .. })
        ));
        let again = ConnectionKey::open_or_create(&path, now()).unwrap();
        assert_eq!(again.key_id(), first.key_id());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONNECTION_KEY_FILE);
        ConnectionKey::create(&path, now()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            ConnectionKey::load(&path),
            Err(ConnectionKeyError::TooOpen { mode: 0o640, .. })
        ));
    }

    #[test]
    fn a_malformed_key_file_is_refused_with_the_rule_it_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONNECTION_KEY_FILE);
        ConnectionKey::create(&path, now()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let other = ConnectionKey::create(&dir.path().join("other.json"), now()).unwrap();
        let cases = [
            text.replace(FORMAT, "hoso-connection-key/2"),
            text.replace(
                &ConnectionKey::load(&path).unwrap().public_key_hex(),
                &other.public_key_hex(),
            ),
            text.replace("\"key_id\": \"", "\"key_id\": \"00"),
            "{}".to_owned(),
        ];
        for case in cases {
            fs::remove_file(&path).unwrap();
            write_0600(&path, &case);
            assert!(
                matches!(
                    ConnectionKey::load(&path),
                    Err(ConnectionKeyError::Malformed { .. })
                ),
                "{case}"
            );
        }
    }

    fn write_0600(path: &Path, text: &str) {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
}
