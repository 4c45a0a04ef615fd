//! Field encryption at rest with envelope keys.
//!
//! Restricted and secret fields of a dossier (health, discipline details,
//! identification numbers, …) must not be readable by whoever holds a copy of
//! the log, yet the log must stay verifiable by anyone. So such fields are
//! *sealed* before they enter an event payload: the hash chain and the
//! signatures cover the ciphertext, and verifying the log needs no key.
//!
//! Keys never enter the log. They are kept in two places outside it:
//!
//! - the **key file** ([`KEY_FILE`], or a path the operator chooses) holds the
//!   key-encryption keys (KEK), by version, and the **identifier key**. It is
//!   JSON, `{"format":"hoso-field-keys/1","current":N,"keys":{"N":"<64 hex>"},
//!   "identifier_key":"<64 hex>"}`, created with mode 0600 and always
//!   replaced atomically;
//! - **`data-keys.db`** ([`DATA_KEYS_FILE`], SQLite) holds one data key (DEK)
//!   per dossier, created on first use and stored wrapped (AEAD-encrypted) by
//!   the current KEK.
//!
//! Losing the key file makes every sealed field unreadable, which is the
//! point: the log, the database backups and `data-keys.db` can travel without
//! exposing anything. Erasing one dossier's data key crypto-shreds that
//! dossier's sealed fields without touching the append-only log.
//!
//! The identifier key is an HMAC-SHA256 key: [`Keyring::person_key`] turns an
//! identification number into the keyed hash under which it is looked up
//! (reservation stream names, the handlers' index, the read model's search),
//! so nothing that a reader of the log or of a derived file sees can be
//! searched for a number without the key. A check value of it (an HMAC of a
//! fixed label) is recorded in `data-keys.db` the first time one is made; a
//! key file without it, or with another, is then refused
//! ([`SealError::IdentifierKeyMissing`], [`SealError::IdentifierKeyMismatch`]):
//! person keys made with another key would silently find nobody. A key file
//! written before identifier keys existed, on a data directory that never had
//! one, is given one once at open. Rotation keeps it: person keys are in the
//! log, so the identifier key can never change.
//!
//! Nodes that share a PostgreSQL database keep the wrapped data keys there
//! (tables `data_keys` and `data_key_meta`, [`Keyring::open_with`]); the key file
//! stays a file, the same on every node.
//!
//! Rotation ([`Keyring::rotate`]) re-wraps the data keys under a new KEK; the
//! sealed fields in the log are never re-encrypted, so the log is never
//! touched.
//!
//! The cipher is XChaCha20-Poly1305: its 24-byte nonces are drawn at random
//! for every seal without any risk of reuse to manage. The associated data
//! binds a ciphertext to its dossier and to the caller's `context` (field code,
//! row, …), so a sealed value moved to another field or dossier does not open.
//!
//! Formats (all integers big-endian):
//!
//! - sealed field: `0x01 ‖ nonce (24) ‖ ciphertext ‖ tag (16)`, associated
//!   data `"hoso-field" ‖ 0x01 ‖ len(dossier id) as u32 ‖ dossier id ‖ context`;
//! - wrapped data key: `0x01 ‖ nonce (24) ‖ encrypted key (32) ‖ tag (16)`,
//!   associated data `"hoso-dek" ‖ dossier id ‖ KEK version as u32`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hoso_ledger::postgres::blocking::{self, Database, lock_class};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Default name of the key file inside the data directory.
pub const KEY_FILE: &str = "field-keys.json";
/// Name of the SQLite file holding the wrapped per-dossier data keys.
pub const DATA_KEYS_FILE: &str = "data-keys.db";

/// The `format` value of a key file.
const KEY_FILE_FORMAT: &str = "hoso-field-keys/1";
/// Version byte of sealed fields and wrapped data keys.
const FORMAT_V1: u8 = 0x01;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Length of a wrapped data key.
const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
/// How long a write waits for another process holding `data-keys.db`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Domain separation of [`Keyring::person_key`]'s input.
const PERSON_KEY_LABEL: &[u8] = b"hoso-person-id/1\0";
/// What the identifier key's check value is the HMAC of.
const IDENTIFIER_CHECK_LABEL: &[u8] = b"hoso-identifier-key-check/1";
/// The `meta` row of `data-keys.db` holding the identifier key's check value.
const IDENTIFIER_CHECK_ROW: &str = "identifier_key_check";

/// What a sealed identification number is bound to besides its owner (the
/// dossier or account whose stream carries the event).
pub const PERSON_ID_CONTEXT: &[u8] = b"person_id";

/// What a consent's sealed subject number is bound to besides the reader
/// account: the consent, so that it does not open as another field.
pub fn consent_subject_context(consent_id: &str) -> Vec<u8> {
    let mut context = b"consent\x1fsubject\x1f".to_vec();
    context.extend_from_slice(consent_id.as_bytes());
    context
}

/// Why a field could not be sealed or opened, or the keys not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file does not exist, so nothing sealed can be decrypted.
    #[error("cannot decrypt: key file missing ({})", path.display())]
    KeyFileMissing {
        /// Where the key file was looked for.
        path: PathBuf,
    },
    /// [`Keyring::create`] found a key file already there and left it alone.
    #[error("key file already exists ({})", path.display())]
    KeyFileExists {
        /// The existing key file.
        path: PathBuf,
    },
    /// The key file could not be read or is not a valid key file.
    #[error("key file invalid ({}): {problem}", path.display())]
    KeyFileInvalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A wrapped data key names a KEK version the key file does not hold.
    #[error("cannot decrypt dossier {dossier_id}: key file has no key version {version}")]
    KeyVersionMissing {
        /// Dossier whose data key is wrapped by the missing version.
        dossier_id: String,
        /// The KEK version named by the wrapped data key.
        version: u32,
    },
    /// AEAD failure: wrong key, altered ciphertext or context.
    #[error("cannot decrypt dossier {dossier_id}: wrong key, or ciphertext or context altered")]
    Tampered {
        /// Dossier whose field (or data key) failed to decrypt.
        dossier_id: String,
    },
    /// Sealed bytes too short, or an unknown version byte.
    #[error("sealed data of dossier {dossier_id} is malformed: {problem}")]
    Malformed {
        /// Dossier the sealed bytes belong to.
        dossier_id: String,
        /// What is wrong with them.
        problem: String,
    },
    /// [`Keyring::open_sealed`] for a dossier that has no data key.
    #[error("cannot decrypt dossier {dossier_id}: it has no data key")]
    NoDataKey {
        /// The dossier.
        dossier_id: String,
    },
    /// `data-keys.db` records an identifier key but the key file holds none:
    /// every person key in the log was made with a key that is not here.
    #[error(
        "key file has no identifier key, but data-keys.db records one ({}); \
         restore the key file this data directory was created with",
        path.display()
    )]
    IdentifierKeyMissing {
        /// The key file.
        path: PathBuf,
    },
    /// The key file's identifier key is not the one `data-keys.db` records.
    #[error(
        "the identifier key of {} is not the one this data directory was created with",
        path.display()
    )]
    IdentifierKeyMismatch {
        /// The key file.
        path: PathBuf,
    },
    /// `data-keys.db` failed.
    #[error("data-key store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The data-key tables in the PostgreSQL database the nodes share failed.
    #[error("data-key store: {0}")]
    Postgres(#[from] blocking::Error),
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl SealError {
    /// A stable kebab-case code per variant, for logs and API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SealError::KeyFileMissing { .. } => "key-file-missing",
            SealError::KeyFileExists { .. } => "key-file-exists",
            SealError::KeyFileInvalid { .. } => "key-file-invalid",
            SealError::KeyVersionMissing { .. } => "key-version-missing",
            SealError::Tampered { .. } => "tampered",
            SealError::Malformed { .. } => "malformed",
            SealError::NoDataKey { .. } => "no-data-key",
            SealError::IdentifierKeyMissing { .. } => "identifier-key-missing",
            SealError::IdentifierKeyMismatch { .. } => "identifier-key-mismatch",
            SealError::Store(_) | SealError::Postgres(_) => "store",
            SealError::Io { .. } => "io",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SealError + '_ {
    move |source| SealError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What [`Keyring::rotate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// How many data keys were re-wrapped under the new KEK.
    pub rewrapped: u64,
    /// The KEK version current before the rotation.
    pub from_version: u32,
    /// The new current KEK version.
    pub to_version: u32,
}

/// One key-encryption key; zeroed when dropped.
type Kek = Zeroizing<[u8; KEY_LEN]>;

/// The KEKs of a key file, and its identifier key (absent in key files
/// written before there was one).
struct KekSet {
    current: u32,
    keys: BTreeMap<u32, Kek>,
    identifier: Option<Kek>,
}

impl KekSet {
    fn current_key(&self) -> Option<&Kek> {
        self.keys.get(&self.current)
    }
}

/// The key file as JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    format: String,
    current: u32,
    keys: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identifier_key: Option<String>,
}

impl Drop for KeyFileJson {
    fn drop(&mut self) {
        for hex_key in self.keys.values_mut() {
            hex_key.zeroize();
        }
        if let Some(hex_key) = self.identifier_key.as_mut() {
            hex_key.zeroize();
        }
    }
}

fn random_key() -> Kek {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    rand::rng().fill_bytes(key.as_mut_slice());
    key
}

fn cipher_for(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&Key::from(*key))
}

/// Reads and validates a key file.
fn read_key_file(path: &Path) -> Result<KekSet, SealError> {
    let invalid = |problem: String| SealError::KeyFileInvalid {
        path: path.to_path_buf(),
        problem,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SealError::KeyFileMissing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(invalid(format!("cannot read: {e}"))),
    };
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("cannot read: {e}")))?;
    let json: KeyFileJson =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("not a key file: {e}")))?;
    if json.format != KEY_FILE_FORMAT {
        return Err(invalid(format!(
            "format is {:?}, expected {KEY_FILE_FORMAT:?}",
            json.format
        )));
    }
    let mut keys = BTreeMap::new();
    for (version, hex_key) in &json.keys {
        let parsed: u32 = version
            .parse()
            .ok()
            .filter(|v: &u32| *v > 0 && version.as_str() == v.to_string())
            .ok_or_else(|| invalid(format!("key version {version:?} is not a positive integer")))?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(hex_key, key.as_mut_slice())
            .map_err(|_| invalid(format!("key {parsed} is not {} hex digits", KEY_LEN * 2)))?;
        keys.insert(parsed, key);
    }
    if !keys.contains_key(&json.current) {
        return Err(invalid(format!(
            "current version {} has no key",
            json.current
        )));
    }
    let identifier = match &json.identifier_key {
        None => None,
        Some(hex_key) => {
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            hex::decode_to_slice(hex_key, key.as_mut_slice()).map_err(|_| {
                invalid(format!("identifier key is not {} hex digits", KEY_LEN * 2))
            })?;
            Some(key)
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = file.metadata() {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "key file is readable by others than its owner; it should be 0600"
                );
            }
        }
    }
    Ok(KekSet {
        current: json.current,
        keys,
        identifier,
    })
}

/// Writes `set` to `path` atomically: a temporary file in the same directory
/// (mode 0600), fsync, then rename (or, when `create_new`, a hard link that
/// fails if `path` exists), then fsync of the directory.
fn write_key_file(path: &Path, set: &KekSet, create_new: bool) -> Result<(), SealError> {
    let json = KeyFileJson {
        format: KEY_FILE_FORMAT.to_owned(),
        current: set.current,
        keys: set
            .keys
            .iter()
            .map(|(v, k)| (v.to_string(), hex::encode(k.as_slice())))
            .collect(),
        identifier_key: set.identifier.as_ref().map(|k| hex::encode(k.as_slice())),
    };
    let mut bytes = Zeroizing::new(serde_json::to_vec_pretty(&json).map_err(|e| {
        SealError::KeyFileInvalid {
            path: path.to_path_buf(),
            problem: format!("cannot encode: {e}"),
        }
    })?);
    bytes.push(b'\n');

    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| KEY_FILE.to_owned());
    let mut tag = [0u8; 8];
    rand::rng().fill_bytes(&mut tag);
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        hex::encode(tag)
    ));

    let result = write_tmp_and_publish(&tmp, path, &bytes, create_new);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(&dir).map_err(io_err(&dir))
}

fn write_tmp_and_publish(
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
    create_new: bool,
) -> Result<(), SealError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp).map_err(io_err(tmp))?;
    file.write_all(bytes).map_err(io_err(tmp))?;
    file.sync_all().map_err(io_err(tmp))?;
    drop(file);

    if !create_new {
        return fs::rename(tmp, path).map_err(io_err(path));
    }
    match fs::hard_link(tmp, path) {
        Ok(()) => {
            // The key is published under `path`; the temporary name goes.
            fs::remove_file(tmp).map_err(io_err(tmp))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(SealError::KeyFileExists {
            path: path.to_path_buf(),
        }),
        Err(_) => {
            // File systems without hard links: check, then rename.
            if path.try_exists().map_err(io_err(path))? {
                return Err(SealError::KeyFileExists {
                    path: path.to_path_buf(),
                });
            }
            fs::rename(tmp, path).map_err(io_err(path))
        }
    }
}

/// Makes a file just created in `dir` survive a crash: its directory entry
/// is on disk only once the directory is synced.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Opens (creating if needed) `data-keys.db` and its table.
fn open_store(path: &Path) -> Result<Connection, SealError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS data_keys (
             dossier_id  TEXT PRIMARY KEY,
             kek_version INTEGER NOT NULL,
             wrapped     BLOB NOT NULL
         );
         CREATE TABLE IF NOT EXISTS meta (
             name  TEXT PRIMARY KEY,
             value TEXT NOT NULL
         )",
    )?;
    Ok(conn)
}

/// The PostgreSQL tables: `data-keys.db`'s.
const POSTGRES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS data_keys (
    dossier_id  TEXT PRIMARY KEY,
    kek_version BIGINT NOT NULL,
    wrapped     BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS data_key_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
)";

/// The advisory lock every write of the PostgreSQL data-key tables takes (the
/// `BEGIN IMMEDIATE` of SQLite), so that a rotation and a new data key, or two
/// nodes settling the identifier key, wait for each other.
const PG_LOCK: &str = "data-keys";

/// Where the wrapped data keys are kept.
enum Db {
    /// `data-keys.db`.
    Sqlite(Connection),
    /// The database the nodes share.
    Postgres(blocking::Client),
}

/// Where a [`Keyring`] keeps its wrapped data keys: `data-keys.db` in the data
/// directory, or the PostgreSQL database the nodes share.
#[derive(Debug, Clone, Copy, Default)]
pub enum DataKeysAt<'a> {
    /// `data-keys.db` in the data directory.
    #[default]
    Directory,
    /// The tables of this database.
    Postgres(&'a Database),
}

/// The statements on the data-key tables, each store in its own SQL
/// (placeholders, column types, the meta table's name), so that what reads
/// and writes them (settling the identifier key, making a data key, the
/// re-wrap of a rotation) is written once.
trait KeyTables {
    /// The identifier key's recorded check value.
    fn identifier_check(&mut self) -> Result<Option<String>, SealError>;
    /// Records the identifier key's check value, replacing any.
    fn record_identifier_check(&mut self, check: &str) -> Result<(), SealError>;
    /// Whether any dossier has a data key.
    fn any_data_key(&mut self) -> Result<bool, SealError>;
    /// A dossier's KEK version and wrapped data key.
    fn wrapped(&mut self, dossier_id: &str) -> Result<Option<(u32, Vec<u8>)>, SealError>;
    /// Every dossier's.
    fn all_wrapped(&mut self) -> Result<Vec<(String, u32, Vec<u8>)>, SealError>;
    /// Stores a dossier's wrapped data key unless it has one already.
    fn insert_wrapped(
        &mut self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<(), SealError>;
    /// Replaces a dossier's wrapped data key.
    fn update_wrapped(
        &mut self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<(), SealError>;
}

/// `data-keys.db`'s tables, through its connection or a transaction of it.
struct SqliteTables<'a>(&'a Connection);

impl KeyTables for SqliteTables<'_> {
    fn identifier_check(&mut self) -> Result<Option<String>, SealError> {
        Ok(self
            .0
            .query_row(
                "SELECT value FROM meta WHERE name = ?1",
                params![IDENTIFIER_CHECK_ROW],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn record_identifier_check(&mut self, check: &str) -> Result<(), SealError> {
        self.0.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
            params![IDENTIFIER_CHECK_ROW, check],
        )?;
        Ok(())
    }

    fn any_data_key(&mut self) -> Result<bool, SealError> {
        let rows: i64 = self
            .0
            .query_row("SELECT count(*) FROM data_keys", [], |r| r.get(0))?;
        Ok(rows > 0)
    }

    fn wrapped(&mut self, dossier_id: &str) -> Result<Option<(u32, Vec<u8>)>, SealError> {
        Ok(self
            .0
            .query_row(
                "SELECT kek_version, wrapped FROM data_keys WHERE dossier_id = ?1",
                params![dossier_id],
                |row| Ok((row.get::<_, u32>(0)?, row.get::<_, Vec<u8>>(1)?)),
            )
            .optional()?)
    }

    fn all_wrapped(&mut self) -> Result<Vec<(String, u32, Vec<u8>)>, SealError> {
        let mut stmt = self
            .0
            .prepare("SELECT dossier_id, kek_version, wrapped FROM data_keys")?;
        let rows = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn insert_wrapped(
        &mut self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<(), SealError> {
        self.0.execute(
            "INSERT INTO data_keys (dossier_id, kek_version, wrapped) VALUES (?1, ?2, ?3)
             ON CONFLICT (dossier_id) DO NOTHING",
            params![dossier_id, version, wrapped],
        )?;
        Ok(())
    }

    fn update_wrapped(
        &mut self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<(), SealError> {
        // Once per data key in a rotation: prepared once.
        self.0
            .prepare_cached(
                "UPDATE data_keys SET kek_version = ?2, wrapped = ?3 WHERE dossier_id = ?1",
            )?
            .execute(params![dossier_id, version, wrapped])?;
        Ok(())
    }
}

/// The shared database's tables, inside a transaction. KEK versions are
/// `BIGINT` there: one out of `u32`'s range is malformed.
impl KeyTables for blocking::Tx<'_> {
    fn identifier_check(&mut self) -> Result<Option<String>, SealError> {
        Ok(self
            .query_opt(
                "SELECT value FROM data_key_meta WHERE name = $1",
                &[&IDENTIFIER_CHECK_ROW],
            )?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(blocking::Error::from)?)
    }

    fn record_identifier_check(&mut self, check: &str) -> Result<(), SealError> {
        self.execute(
            "INSERT INTO data_key_meta (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = $2",
            &[&IDENTIFIER_CHECK_ROW, &check],
        )?;
        Ok(())
    }

    fn any_data_key(&mut self) -> Result<bool, SealError> {
        Ok(self
            .query_opt("SELECT 1 FROM data_keys LIMIT 1", &[])?
            .is_some())
    }

    fn wrapped(&mut self, dossier_id: &str) -> Result<Option<(u32, Vec<u8>)>, SealError> {
        let Some(row) = self.query_opt(
            "SELECT kek_version, wrapped FROM data_keys WHERE dossier_id = $1",
            &[&dossier_id],
        )?
        else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0).map_err(blocking::Error::from)?;
        let wrapped: Vec<u8> = row.try_get(1).map_err(blocking::Error::from)?;
        let version = u32::try_from(version).map_err(|_| SealError::Malformed {
            dossier_id: dossier_id.to_owned(),
            problem: format!("KEK version {version} out of range"),
        })?;
        Ok(Some((version, wrapped)))
    }

    fn all_wrapped(&mut self) -> Result<Vec<(String, u32, Vec<u8>)>, SealError> {
        let rows = self.query(
            "SELECT dossier_id, kek_version, wrapped FROM data_keys",
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let dossier_id: String = row.try_get(0).map_err(blocking::Error::from)?;
            let version: i64 = row.try_get(1).map_err(blocking::Error::from)?;
            let wrapped: Vec<u8> = row.try_get(2).map_err(blocking::Error::from)?;
            // No KEK has a version out of range: its key is missing.
            let version = u32::try_from(version).map_err(|_| SealError::KeyVersionMissing {
                dossier_id: dossier_id.clone(),
                version: u32::MAX,
            })?;
            out.push((dossier_id, version, wrapped));
        }
        Ok(out)
    }

    fn insert_wrapped(
        &mut self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<(), SealError> {
        self.execute(
            "INSERT INTO data_keys (dossier_id, kek_version, wrapped) VALUES ($1, $2, $3)
             ON CONFLICT (dossier_id) DO NOTHING",
            &[&dossier_id, &i64::from(version), &wrapped],
        )?;
        Ok(())
    }

    fn update_wrapped(
        &mut self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<(), SealError> {
        self.execute(
            "UPDATE data_keys SET kek_version = $2, wrapped = $3 WHERE dossier_id = $1",
            &[&dossier_id, &i64::from(version), &wrapped],
        )?;
        Ok(())
    }
}

impl Db {
    /// Runs `f` over the tables as they are, taking no write lock. `f` is sent
    /// to the PostgreSQL client's thread when the tables are there, hence
    /// `Send + 'static`.
    fn read<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut dyn KeyTables) -> Result<T, SealError> + Send + 'static,
    ) -> Result<T, SealError> {
        match self {
            Db::Sqlite(conn) => f(&mut SqliteTables(conn)),
            Db::Postgres(client) => client.run(move |c| c.transaction(|tx| f(tx))),
        }
    }

    /// Runs `f` in one transaction that holds off every other writer of the
    /// data keys, in any process or node, until it commits: `BEGIN IMMEDIATE`
    /// on `data-keys.db`, the advisory lock [`PG_LOCK`] in PostgreSQL (where
    /// row locks alone would not make a rotation wait for a dossier's first
    /// key). What `f` read before the lock must be read again inside `f`.
    fn write<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut dyn KeyTables) -> Result<T, SealError> + Send + 'static,
    ) -> Result<T, SealError> {
        match self {
            Db::Sqlite(conn) => {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&mut SqliteTables(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            Db::Postgres(client) => client.run(move |c| {
                c.transaction(|tx| {
                    tx.advisory_lock(lock_class::DATA_KEYS, PG_LOCK)?;
                    f(tx)
                })
            }),
        }
    }
}

/// Whether the store holds any data key or records an identifier key.
fn holds_keys(db: &mut Db) -> Result<bool, SealError> {
    db.read(|t| Ok(t.any_data_key()? || t.identifier_check()?.is_some()))
}

/// Opens the store `at` names (`db_path` for the directory).
fn open_db(db_path: &Path, at: DataKeysAt<'_>) -> Result<Db, SealError> {
    match at {
        DataKeysAt::Directory => Ok(Db::Sqlite(open_store(db_path)?)),
        DataKeysAt::Postgres(database) => {
            let client = blocking::Client::connect(database)?;
            blocking::create_schema(&client, "data_keys", POSTGRES_SCHEMA)?;
            Ok(Db::Postgres(client))
        }
    }
}

/// The identifier key's check value: an HMAC of a fixed label, which names
/// the key without revealing it.
fn identifier_check(key: &Kek) -> String {
    hex::encode(hmac_sha256(key, &[IDENTIFIER_CHECK_LABEL]))
}

fn hmac_sha256(key: &Kek, parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length, so this cannot fail for 32 bytes.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Makes sure the key file holds the identifier key the store records,
/// recording or creating one the first time (a data directory made before
/// identifier keys), and returns it. Runs in one write transaction on the
/// store, re-reading the key file inside it, so two processes (or nodes)
/// opening an old directory at once make one key.
fn settle_identifier_key(
    db: &mut Db,
    key_file: &Path,
    loaded: KekSet,
) -> Result<(KekSet, Kek), SealError> {
    if let Some(key) = loaded.identifier.clone()
        && db
            .read(|t| t.identifier_check())?
            .is_some_and(|c| c == identifier_check(&key))
    {
        return Ok((loaded, key));
    }
    let key_file = key_file.to_path_buf();
    db.write(move |t| {
        let mut set = read_key_file(&key_file)?;
        let key = match (t.identifier_check()?, set.identifier.clone()) {
            (Some(check), Some(key)) if check == identifier_check(&key) => key,
            (Some(_), Some(_)) => {
                return Err(SealError::IdentifierKeyMismatch { path: key_file });
            }
            (Some(_), None) => {
                return Err(SealError::IdentifierKeyMissing { path: key_file });
            }
            (None, Some(key)) => key,
            (None, None) => {
                let key = random_key();
                set.identifier = Some(key.clone());
                write_key_file(&key_file, &set, false)?;
                tracing::info!(
                    path = %key_file.display(),
                    "key file had no identifier key: one was added (back up the key file)"
                );
                key
            }
        };
        t.record_identifier_check(&identifier_check(&key))?;
        Ok((set, key))
    })
}

fn dek_aad(dossier_id: &str, kek_version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(8 + dossier_id.len() + 4);
    aad.extend_from_slice(b"hoso-dek");
    aad.extend_from_slice(dossier_id.as_bytes());
    aad.extend_from_slice(&kek_version.to_be_bytes());
    aad
}

fn field_aad(dossier_id: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(15 + dossier_id.len() + context.len());
    aad.extend_from_slice(b"hoso-field");
    aad.push(FORMAT_V1);
    aad.extend_from_slice(&(dossier_id.len() as u32).to_be_bytes());
    aad.extend_from_slice(dossier_id.as_bytes());
    aad.extend_from_slice(context);
    aad
}

/// `0x01 ‖ random nonce ‖ AEAD(plaintext, aad)`.
/// The nonce of a stable seal: a keyed hash of where the value belongs and
/// what it is. The hash key is keystream of the data key under a nonce no
/// random seal can draw in practice (all ones), so it is secret exactly as
/// the data key is.
fn stable_nonce(
    cipher: &XChaCha20Poly1305,
    dossier_id: &str,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<[u8; NONCE_LEN], SealError> {
    use hmac::{Hmac, Mac};
    let key = cipher
        .encrypt(&XNonce::from([0xff; NONCE_LEN]), [0u8; 32].as_slice())
        .map_err(|_| SealError::Malformed {
            dossier_id: dossier_id.to_owned(),
            problem: "cannot derive the nonce key".to_owned(),
        })?;
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key[..32]).map_err(|_| {
        SealError::Malformed {
            dossier_id: dossier_id.to_owned(),
            problem: "bad nonce key".to_owned(),
        }
    })?;
    mac.update(&u64::try_from(aad.len()).unwrap_or(u64::MAX).to_be_bytes());
    mac.update(aad);
    mac.update(plaintext);
    let tag = mac.finalize().into_bytes();
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&tag[..NONCE_LEN]);
    Ok(nonce)
}

fn seal_raw(
    cipher: &XChaCha20Poly1305,
    dossier_id: &str,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    seal_with(cipher, dossier_id, aad, plaintext, nonce)
}

fn seal_with(
    cipher: &XChaCha20Poly1305,
    dossier_id: &str,
    aad: &[u8],
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, SealError> {
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| SealError::Malformed {
            dossier_id: dossier_id.to_owned(),
            problem: "plaintext too long".to_owned(),
        })?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// The inverse of [`seal_raw`].
fn open_raw(
    cipher: &XChaCha20Poly1305,
    dossier_id: &str,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    let malformed = |problem: String| SealError::Malformed {
        dossier_id: dossier_id.to_owned(),
        problem,
    };
    let Some((&version, rest)) = sealed.split_first() else {
        return Err(malformed("empty".to_owned()));
    };
    if version != FORMAT_V1 {
        return Err(malformed(format!("unknown version byte 0x{version:02x}")));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(malformed(format!(
            "{} bytes, shorter than the {} of version, nonce and tag",
            sealed.len(),
            1 + NONCE_LEN + TAG_LEN
        )));
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    cipher
        .decrypt(
            &XNonce::from(nonce_bytes),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| SealError::Tampered {
            dossier_id: dossier_id.to_owned(),
        })
}

/// The keys that seal and open restricted dossier fields: the KEKs of the key
/// file, the wrapped data keys of `data-keys.db`, and a cache of unwrapped data
/// keys so that sealing and opening cost microseconds.
///
/// Several `Keyring`s (in several processes) may share one data directory:
/// `data-keys.db` is the source of truth, a cache miss re-reads it, and a data
/// key wrapped by a KEK version this keyring has not loaded makes it re-read
/// the key file.
pub struct Keyring {
    key_file: PathBuf,
    /// `data-keys.db`, or the PostgreSQL database, for `Debug`.
    db_path: PathBuf,
    /// The connection to `data-keys.db` (or PostgreSQL); also serialises the
    /// slow paths (creating, loading and re-wrapping data keys). Lock order:
    /// `store`, then `keks`, then `cache`.
    store: Mutex<Db>,
    keks: RwLock<KekSet>,
    /// The HMAC key of [`Keyring::person_key`]; fixed for the data
    /// directory's life.
    identifier: Kek,
    /// Unwrapped data keys by dossier id (the ciphers zero their key on drop).
    cache: RwLock<HashMap<String, XChaCha20Poly1305>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (current, versions) = {
            let keks = self.keks.read().unwrap_or_else(PoisonError::into_inner);
            (keks.current, keks.keys.keys().copied().collect::<Vec<_>>())
        };
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Keyring")
            .field("key_file", &self.key_file)
            .field("data_keys", &self.db_path)
            .field("current_version", &current)
            .field("versions", &versions)
            .field("cached_data_keys", &cached)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    fn paths(data_dir: &Path, key_file: Option<&Path>, at: DataKeysAt<'_>) -> (PathBuf, PathBuf) {
        let key_file = key_file.map_or_else(|| data_dir.join(KEY_FILE), Path::to_path_buf);
        let db = match at {
            DataKeysAt::Directory => data_dir.join(DATA_KEYS_FILE),
            DataKeysAt::Postgres(db) => PathBuf::from(db.url()),
        };
        (key_file, db)
    }

    /// Creates a new key file (refuses if one exists: [`SealError::KeyFileExists`])
    /// holding a fresh KEK version 1, and an empty `data-keys.db` in `data_dir`
    /// (created if needed).
    ///
    /// Also refuses, with [`SealError::KeyFileMissing`], when `data-keys.db`
    /// already holds data keys or records an identifier key: they belong to a
    /// key file that is gone, and new keys would not bring them back.
    pub fn create(data_dir: &Path, key_file: Option<&Path>) -> Result<Self, SealError> {
        Self::create_with(data_dir, key_file, DataKeysAt::Directory)
    }

    /// [`Keyring::create`] with the data keys `at` (the database the nodes
    /// share must hold none yet).
    pub fn create_with(
        data_dir: &Path,
        key_file: Option<&Path>,
        at: DataKeysAt<'_>,
    ) -> Result<Self, SealError> {
        let (key_file, db_path) = Self::paths(data_dir, key_file, at);
        fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        if key_file.try_exists().map_err(io_err(&key_file))? {
            return Err(SealError::KeyFileExists { path: key_file });
        }
        let existing = match at {
            DataKeysAt::Directory => db_path.try_exists().map_err(io_err(&db_path))?,
            DataKeysAt::Postgres(_) => true,
        };
        // An identifier key recorded means person keys were made with a key
        // that is gone: a new one would find nobody.
        if existing && holds_keys(&mut open_db(&db_path, at)?)? {
            return Err(SealError::KeyFileMissing { path: key_file });
        }
        let mut keys = BTreeMap::new();
        keys.insert(1, random_key());
        let set = KekSet {
            current: 1,
            keys,
            identifier: Some(random_key()),
        };
        // Key file first: a data-keys.db never exists without its key file.
        write_key_file(&key_file, &set, true)?;
        let db = open_db(&db_path, at)?;
        Self::assemble(key_file, db_path, db, set)
    }

    /// The keyring, once the identifier key is settled with `data-keys.db`.
    fn assemble(
        key_file: PathBuf,
        db_path: PathBuf,
        mut db: Db,
        set: KekSet,
    ) -> Result<Self, SealError> {
        let (set, identifier) = settle_identifier_key(&mut db, &key_file, set)?;
        Ok(Keyring {
            key_file,
            db_path,
            store: Mutex::new(db),
            keks: RwLock::new(set),
            identifier,
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// Opens an existing key file and `data-keys.db`.
    ///
    /// A missing key file is [`SealError::KeyFileMissing`], whose message is
    /// exactly `cannot decrypt: key file missing (<path>)`; an unreadable or
    /// garbled one is [`SealError::KeyFileInvalid`]. A missing `data-keys.db`
    /// is created empty (with a warning): fields sealed before then report
    /// [`SealError::NoDataKey`].
    pub fn open(data_dir: &Path, key_file: Option<&Path>) -> Result<Self, SealError> {
        Self::open_with(data_dir, key_file, DataKeysAt::Directory)
    }

    /// [`Keyring::open`] with the data keys `at`.
    pub fn open_with(
        data_dir: &Path,
        key_file: Option<&Path>,
        at: DataKeysAt<'_>,
    ) -> Result<Self, SealError> {
        let (key_file, db_path) = Self::paths(data_dir, key_file, at);
        let set = read_key_file(&key_file)?;
        if matches!(at, DataKeysAt::Directory) && !db_path.try_exists().map_err(io_err(&db_path))? {
            tracing::warn!(
                path = %db_path.display(),
                "data-keys.db is missing; starting an empty one (fields sealed earlier cannot be opened)"
            );
        }
        let db = open_db(&db_path, at)?;
        Self::assemble(key_file, db_path, db, set)
    }

    /// Opens, or creates both when neither the key file nor `data-keys.db`
    /// exists yet (first start).
    ///
    /// If `data-keys.db` exists but the key file does not, that is
    /// [`SealError::KeyFileMissing`]: a new KEK is never created silently then.
    pub fn open_or_create(data_dir: &Path, key_file: Option<&Path>) -> Result<Self, SealError> {
        Self::open_or_create_with(data_dir, key_file, DataKeysAt::Directory)
    }

    /// [`Keyring::open_or_create`] with the data keys `at` (for PostgreSQL, a
    /// database holding keys without the key file here is refused alike).
    pub fn open_or_create_with(
        data_dir: &Path,
        key_file: Option<&Path>,
        at: DataKeysAt<'_>,
    ) -> Result<Self, SealError> {
        let (key_path, db_path) = Self::paths(data_dir, key_file, at);
        if key_path.try_exists().map_err(io_err(&key_path))? {
            return Self::open_with(data_dir, key_file, at);
        }
        let existing = match at {
            DataKeysAt::Directory => db_path.try_exists().map_err(io_err(&db_path))?,
            DataKeysAt::Postgres(_) => holds_keys(&mut open_db(&db_path, at)?)?,
        };
        if existing {
            return Err(SealError::KeyFileMissing { path: key_path });
        }
        match Self::create_with(data_dir, key_file, at) {
            // Another process created it first.
            Err(SealError::KeyFileExists { .. }) => Self::open_with(data_dir, key_file, at),
            other => other,
        }
    }

    /// The key file in use.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// The person key of an identification number: HMAC-SHA256 under the
    /// identifier key of `"hoso-person-id/1\0" ‖ id`, as 64 lowercase hex
    /// digits. The same number gives the same key on this data directory
    /// (and on no other), so it is what lookups, stream names and the read
    /// model's search use instead of the number.
    pub fn person_key(&self, id: &str) -> String {
        hex::encode(hmac_sha256(
            &self.identifier,
            &[PERSON_KEY_LABEL, id.as_bytes()],
        ))
    }

    /// The current KEK version (the one new data keys are wrapped by).
    pub fn current_version(&self) -> u32 {
        self.keks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .current
    }

    /// Encrypts `plaintext` for `dossier_id`, bound to `context` (field code,
    /// row, …: whatever says where the value belongs). Creates the dossier's
    /// data key on first use.
    ///
    /// The result is `0x01 ‖ nonce (24) ‖ ciphertext ‖ tag (16)`.
    pub fn seal(
        &self,
        dossier_id: &str,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let aad = field_aad(dossier_id, context);
        let cipher = self.cipher(dossier_id, true)?;
        seal_raw(&cipher, dossier_id, &aad, plaintext)
    }

    /// [`Keyring::seal`] with a nonce derived from the value (a synthetic
    /// nonce, as in SIV): the same value in the same place of the same
    /// dossier seals to the same bytes, so that a history can tell an
    /// unchanged sealed field from a changed one without a key. That is all
    /// it tells: equal values in other places or other dossiers seal
    /// differently. Opened by [`Keyring::open_sealed`].
    pub fn seal_stable(
        &self,
        dossier_id: &str,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let aad = field_aad(dossier_id, context);
        let cipher = self.cipher(dossier_id, true)?;
        let nonce = stable_nonce(&cipher, dossier_id, &aad, plaintext)?;
        seal_with(&cipher, dossier_id, &aad, plaintext, nonce)
    }

    /// Decrypts what [`Keyring::seal`] returned for the same `dossier_id` and
    /// `context`.
    ///
    /// A wrong key or any altered byte, context or dossier id is
    /// [`SealError::Tampered`]; bytes too short or of an unknown version are
    /// [`SealError::Malformed`]; a dossier without a data key is
    /// [`SealError::NoDataKey`].
    pub fn open_sealed(
        &self,
        dossier_id: &str,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let aad = field_aad(dossier_id, context);
        let cipher = self.cipher(dossier_id, false)?;
        open_raw(&cipher, dossier_id, &aad, sealed)
    }

    /// Key rotation: generates a new KEK version, writes the key file holding
    /// the old keys and the new one (atomically), re-wraps every data key with
    /// the new KEK in ONE transaction of the store, then rewrites the key file with
    /// only the new KEK.
    ///
    /// A crash at any point leaves every data key unwrappable: both KEKs are in
    /// the file until the re-wrap has committed, and a later rotation finishes
    /// the clean-up. The log is never touched. Returns how many data keys were
    /// re-wrapped and the versions. If only the final rewrite of the key file
    /// fails, the error is returned although the re-wrap has committed; the old
    /// key then stays in the file until the next rotation.
    pub fn rotate(&self) -> Result<Rotation, SealError> {
        let mut db = self.store.lock().unwrap_or_else(PoisonError::into_inner);

        // The file on disk is the truth (another process may have rotated).
        let disk = read_key_file(&self.key_file)?;
        let from_version = disk.current;
        let to_version = disk
            .keys
            .keys()
            .next_back()
            .copied()
            .unwrap_or(from_version)
            .checked_add(1)
            .ok_or_else(|| SealError::KeyFileInvalid {
                path: self.key_file.clone(),
                problem: "no KEK version left".to_owned(),
            })?;
        let new_key = random_key();

        // 1. Old keys and the new one, the new one current.
        let mut both = disk;
        both.keys.insert(to_version, new_key.clone());
        both.current = to_version;
        // Person keys are in the log: the identifier key never rotates.
        both.identifier = Some(self.identifier.clone());
        write_key_file(&self.key_file, &both, false)?;
        *self.keks.write().unwrap_or_else(PoisonError::into_inner) = KekSet {
            current: to_version,
            keys: both.keys.clone(),
            identifier: both.identifier.clone(),
        };

        // 2. Re-wrap every data key in one transaction.
        let (keys, new) = (both.keys.clone(), new_key.clone());
        let rewrapped = db.write(move |t| rewrap_all(t, &keys, to_version, &new))?;

        // 3. Only the new key.
        let mut only_new = BTreeMap::new();
        only_new.insert(to_version, new_key);
        let set = KekSet {
            current: to_version,
            keys: only_new,
            identifier: both.identifier.clone(),
        };
        write_key_file(&self.key_file, &set, false)?;
        *self.keks.write().unwrap_or_else(PoisonError::into_inner) = set;

        tracing::info!(from_version, to_version, rewrapped, "field keys rotated");
        Ok(Rotation {
            rewrapped,
            from_version,
            to_version,
        })
    }

    /// Re-reads the key file into memory.
    fn reload_keks(&self) -> Result<(), SealError> {
        let set = read_key_file(&self.key_file)?;
        *self.keks.write().unwrap_or_else(PoisonError::into_inner) = set;
        Ok(())
    }

    /// The dossier's data key from the cache, else unwrapped (or, with
    /// `create`, made) by [`Self::data_key`].
    fn cipher(&self, dossier_id: &str, create: bool) -> Result<XChaCha20Poly1305, SealError> {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(dossier_id)
            .cloned();
        match cached {
            Some(c) => Ok(c),
            None => self.data_key(dossier_id, create),
        }
    }

    /// The slow path: loads the dossier's data key from the store (or, if
    /// `create`, creates it), caches it and returns it.
    fn data_key(&self, dossier_id: &str, create: bool) -> Result<XChaCha20Poly1305, SealError> {
        let mut db = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have loaded it while this one waited.
        if let Some(cipher) = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(dossier_id)
        {
            return Ok(cipher.clone());
        }
        let dossier = dossier_id.to_owned();
        let (version, wrapped) = match db.read(move |t| t.wrapped(&dossier))? {
            Some(row) => row,
            None if !create => {
                return Err(SealError::NoDataKey {
                    dossier_id: dossier_id.to_owned(),
                });
            }
            None => {
                let (dossier, key_file) = (dossier_id.to_owned(), self.key_file.clone());
                let (row, keks) = db.write(move |t| {
                    // The key file is read under the write lock: a rotation
                    // elsewhere either re-wraps this row (it commits after us)
                    // or has already published its new KEK, which we then use.
                    let keks = read_key_file(&key_file)?;
                    let kek = keks
                        .current_key()
                        .ok_or_else(|| SealError::KeyVersionMissing {
                            dossier_id: dossier.clone(),
                            version: keks.current,
                        })?;
                    let wrapped = seal_raw(
                        &cipher_for(kek),
                        &dossier,
                        &dek_aad(&dossier, keks.current),
                        random_key().as_slice(),
                    )?;
                    t.insert_wrapped(&dossier, keks.current, &wrapped)?;
                    // Whichever key won is the dossier's key.
                    let row = t.wrapped(&dossier)?.ok_or_else(|| SealError::NoDataKey {
                        dossier_id: dossier.clone(),
                    })?;
                    Ok((row, keks))
                })?;
                *self.keks.write().unwrap_or_else(PoisonError::into_inner) = keks;
                row
            }
        };
        self.cache_unwrapped(dossier_id, version, &wrapped)
    }

    /// Unwraps a data key and caches its cipher.
    fn cache_unwrapped(
        &self,
        dossier_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> Result<XChaCha20Poly1305, SealError> {
        let dek = self.unwrap_dek(dossier_id, version, wrapped)?;
        let cipher = cipher_for(&dek);
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(dossier_id.to_owned(), cipher.clone());
        Ok(cipher)
    }

    /// Unwraps a data key, re-reading the key file once if it names a KEK
    /// version not loaded (another process rotated).
    fn unwrap_dek(&self, dossier_id: &str, version: u32, wrapped: &[u8]) -> Result<Kek, SealError> {
        let kek_cipher = |keks: &KekSet| keks.keys.get(&version).map(|k| cipher_for(k));
        let loaded = kek_cipher(&self.keks.read().unwrap_or_else(PoisonError::into_inner));
        let cipher = match loaded {
            Some(cipher) => cipher,
            None => {
                self.reload_keks()?;
                kek_cipher(&self.keks.read().unwrap_or_else(PoisonError::into_inner)).ok_or_else(
                    || SealError::KeyVersionMissing {
                        dossier_id: dossier_id.to_owned(),
                        version,
                    },
                )?
            }
        };
        unwrap_with(&cipher, dossier_id, version, wrapped)
    }
}

/// Decrypts a wrapped data key with the KEK cipher of `version`.
fn unwrap_with(
    kek: &XChaCha20Poly1305,
    dossier_id: &str,
    version: u32,
    wrapped: &[u8],
) -> Result<Kek, SealError> {
    if wrapped.len() != WRAPPED_LEN {
        return Err(SealError::Malformed {
            dossier_id: dossier_id.to_owned(),
            problem: format!(
                "wrapped data key is {} bytes, expected {WRAPPED_LEN}",
                wrapped.len()
            ),
        });
    }
    let plain = Zeroizing::new(open_raw(
        kek,
        dossier_id,
        &dek_aad(dossier_id, version),
        wrapped,
    )?);
    let mut dek = Zeroizing::new([0u8; KEY_LEN]);
    dek.copy_from_slice(&plain);
    Ok(dek)
}

/// Re-wraps every data key under the KEK `to_version`: step 2 of
/// [`Keyring::rotate`], inside one [`Db::write`].
fn rewrap_all(
    t: &mut dyn KeyTables,
    keys: &BTreeMap<u32, Kek>,
    to_version: u32,
    new_key: &Kek,
) -> Result<u64, SealError> {
    let new_cipher = cipher_for(new_key);
    let mut rewrapped = 0u64;
    for (dossier_id, version, wrapped) in t.all_wrapped()? {
        let kek = keys
            .get(&version)
            .ok_or_else(|| SealError::KeyVersionMissing {
                dossier_id: dossier_id.clone(),
                version,
            })?;
        let dek = unwrap_with(&cipher_for(kek), &dossier_id, version, &wrapped)?;
        let rewrapped_dek = seal_raw(
            &new_cipher,
            &dossier_id,
            &dek_aad(&dossier_id, to_version),
            dek.as_slice(),
        )?;
        t.update_wrapped(&dossier_id, to_version, &rewrapped_dek)?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn rows(dir: &Path) -> Vec<(String, u32)> {
        let conn = Connection::open(dir.join(DATA_KEYS_FILE)).unwrap();
        let mut stmt = conn
            .prepare("SELECT dossier_id, kek_version FROM data_keys ORDER BY dossier_id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn key_file_json(dir: &Path) -> serde_json::Value {
        serde_json::from_slice(&fs::read(dir.join(KEY_FILE)).unwrap()).unwrap()
    }

    #[test]
    fn keyring_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Keyring>();
    }

    #[test]
    fn stable_seals_repeat_only_for_the_same_value_in_the_same_place() {
        let dir = tempfile::tempdir().unwrap();
        let k = Keyring::create(dir.path(), None).unwrap();
        let a = k.seal_stable("d1", b"25a#0", b"001090001234").unwrap();
        assert_eq!(a, k.seal_stable("d1", b"25a#0", b"001090001234").unwrap());
        assert_ne!(a, k.seal_stable("d1", b"25a#0", b"001090001235").unwrap());
        assert_ne!(a, k.seal_stable("d1", b"7#0", b"001090001234").unwrap());
        assert_ne!(a, k.seal_stable("d2", b"25a#0", b"001090001234").unwrap());
        assert_eq!(k.open_sealed("d1", b"25a#0", &a).unwrap(), b"001090001234");
    }

    #[test]
    fn round_trip_returns_the_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let sealed = ring
            .seal("d-1", b"health/row0", "Tiểu đường".as_bytes())
            .unwrap();
        assert_eq!(sealed[0], FORMAT_V1);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + "Tiểu đường".len() + TAG_LEN);
        assert_eq!(
            ring.open_sealed("d-1", b"health/row0", &sealed).unwrap(),
            "Tiểu đường".as_bytes()
        );
        // Random nonces: sealing twice differs.
        assert_ne!(
            sealed,
            ring.seal("d-1", b"health/row0", "Tiểu đường".as_bytes())
                .unwrap()
        );
        // Empty plaintext works too.
        let empty = ring.seal("d-1", b"x", b"").unwrap();
        assert!(ring.open_sealed("d-1", b"x", &empty).unwrap().is_empty());
    }

    #[test]
    fn context_mismatch_is_tampered() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let sealed = ring.seal("d-1", b"health/row0", b"secret").unwrap();
        let err = ring
            .open_sealed("d-1", b"health/row1", &sealed)
            .unwrap_err();
        assert!(matches!(err, SealError::Tampered { ref dossier_id } if dossier_id == "d-1"));
        assert_eq!(err.code(), "tampered");
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let sealed = ring.seal("d-1", b"f", b"secret value").unwrap();
        for i in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            let err = ring.open_sealed("d-1", b"f", &altered).unwrap_err();
            if i == 0 {
                assert!(
                    matches!(err, SealError::Malformed { .. }),
                    "byte {i}: {err}"
                );
            } else {
                assert!(matches!(err, SealError::Tampered { .. }), "byte {i}: {err}");
            }
        }
    }

    #[test]
    fn short_or_unknown_version_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let sealed = ring.seal("d-1", b"f", b"v").unwrap();
        for bad in [
            &[][..],
            &sealed[..1],
            &sealed[..1 + NONCE_LEN + TAG_LEN - 1],
        ] {
            let err = ring.open_sealed("d-1", b"f", bad).unwrap_err();
            assert_eq!(err.code(), "malformed", "{err}");
        }
        let mut v2 = sealed.clone();
        v2[0] = 0x02;
        assert_eq!(
            ring.open_sealed("d-1", b"f", &v2).unwrap_err().code(),
            "malformed"
        );
    }

    #[test]
    fn each_dossier_has_its_own_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let a = ring.seal("d-a", b"f", b"same plaintext").unwrap();
        let b = ring.seal("d-b", b"f", b"same plaintext").unwrap();
        assert_ne!(a, b);
        // Through the API (dossier id is in the associated data too).
        assert!(matches!(
            ring.open_sealed("d-b", b"f", &a),
            Err(SealError::Tampered { .. })
        ));
        // With B's key but A's associated data: the keys themselves differ.
        let b_key = ring.data_key("d-b", false).unwrap();
        assert!(matches!(
            open_raw(&b_key, "d-a", &field_aad("d-a", b"f"), &a),
            Err(SealError::Tampered { .. })
        ));
        let a_key = ring.data_key("d-a", false).unwrap();
        assert_eq!(
            open_raw(&a_key, "d-a", &field_aad("d-a", b"f"), &a).unwrap(),
            b"same plaintext"
        );
        assert_eq!(rows(dir.path()).len(), 2);
    }

    #[test]
    fn open_sealed_without_data_key_is_no_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let sealed = ring.seal("d-1", b"f", b"v").unwrap();
        let err = ring.open_sealed("d-unknown", b"f", &sealed).unwrap_err();
        assert!(matches!(err, SealError::NoDataKey { .. }));
        assert!(rows(dir.path()).iter().all(|(id, _)| id != "d-unknown"));
    }

    #[test]
    fn reopened_from_disk_still_decrypts() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = {
            let ring = Keyring::create(dir.path(), None).unwrap();
            ring.seal("d-1", b"f", b"kept").unwrap()
        };
        let ring = Keyring::open(dir.path(), None).unwrap();
        assert_eq!(ring.open_sealed("d-1", b"f", &sealed).unwrap(), b"kept");
        let ring = Keyring::open_or_create(dir.path(), None).unwrap();
        assert_eq!(ring.open_sealed("d-1", b"f", &sealed).unwrap(), b"kept");
    }

    #[test]
    fn key_file_elsewhere_is_used() {
        let data = tempfile::tempdir().unwrap();
        let secrets = tempfile::tempdir().unwrap();
        let kf = secrets.path().join("hoso-keys.json");
        let sealed = {
            let ring = Keyring::open_or_create(data.path(), Some(&kf)).unwrap();
            assert_eq!(ring.key_file(), kf);
            ring.seal("d-1", b"f", b"v").unwrap()
        };
        assert!(kf.exists());
        assert!(!data.path().join(KEY_FILE).exists());
        let ring = Keyring::open(data.path(), Some(&kf)).unwrap();
        assert_eq!(ring.open_sealed("d-1", b"f", &sealed).unwrap(), b"v");
        let err = Keyring::open(data.path(), None).unwrap_err();
        assert_eq!(err.code(), "key-file-missing");
    }

    #[test]
    fn missing_key_file_error_text_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create(dir.path(), None).unwrap());
        let path = dir.path().join(KEY_FILE);
        fs::remove_file(&path).unwrap();
        let err = Keyring::open(dir.path(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot decrypt: key file missing ({})", path.display())
        );
        assert_eq!(err.code(), "key-file-missing");
    }

    #[test]
    fn garbled_key_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create(dir.path(), None).unwrap());
        let path = dir.path().join(KEY_FILE);
        for garbage in [
            "not json".to_owned(),
            r#"{"format":"other/1","current":1,"keys":{"1":"00"}}"#.to_owned(),
            r#"{"format":"hoso-field-keys/1","current":1,"keys":{"1":"zz"}}"#.to_owned(),
            format!(
                r#"{{"format":"hoso-field-keys/1","current":2,"keys":{{"1":"{}"}}}}"#,
                "ab".repeat(32)
            ),
        ] {
            fs::write(&path, garbage).unwrap();
            let err = Keyring::open(dir.path(), None).unwrap_err();
            assert_eq!(err.code(), "key-file-invalid", "{err}");
        }
    }

    #[test]
    fn create_refuses_an_existing_key_file() {
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create(dir.path(), None).unwrap());
        let before = fs::read(dir.path().join(KEY_FILE)).unwrap();
        let err = Keyring::create(dir.path(), None).unwrap_err();
        assert!(matches!(err, SealError::KeyFileExists { .. }));
        assert_eq!(fs::read(dir.path().join(KEY_FILE)).unwrap(), before);
    }

    #[test]
    fn open_or_create_refuses_a_new_kek_when_data_keys_exist() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ring = Keyring::create(dir.path(), None).unwrap();
            ring.seal("d-1", b"f", b"v").unwrap();
        }
        fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        let err = Keyring::open_or_create(dir.path(), None).unwrap_err();
        assert!(matches!(err, SealError::KeyFileMissing { .. }), "{err}");
        assert!(!dir.path().join(KEY_FILE).exists());
        // Even an empty data-keys.db counts.
        let empty = tempfile::tempdir().unwrap();
        drop(open_store(&empty.path().join(DATA_KEYS_FILE)).unwrap());
        let err = Keyring::open_or_create(empty.path(), None).unwrap_err();
        assert_eq!(err.code(), "key-file-missing");
        // And create refuses too when data keys would be orphaned.
        let err = Keyring::create(dir.path(), None).unwrap_err();
        assert_eq!(err.code(), "key-file-missing");
    }

    #[test]
    fn open_or_create_creates_on_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("new-data-dir");
        let ring = Keyring::open_or_create(&data, None).unwrap();
        assert_eq!(ring.current_version(), 1);
        assert!(data.join(KEY_FILE).exists());
        assert!(data.join(DATA_KEYS_FILE).exists());
        let json = key_file_json(&data);
        assert_eq!(json["format"], "hoso-field-keys/1");
        assert_eq!(json["current"], 1);
        assert_eq!(json["keys"]["1"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn rotation_rewraps_every_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let sealed: Vec<_> = (0..5)
            .map(|i| {
                let id = format!("d-{i}");
                (id.clone(), ring.seal(&id, b"f", id.as_bytes()).unwrap())
            })
            .collect();
        let old_hex = key_file_json(dir.path())["keys"]["1"].clone();

        let rotation = ring.rotate().unwrap();
        assert_eq!(
            rotation,
            Rotation {
                rewrapped: 5,
                from_version: 1,
                to_version: 2
            }
        );
        assert_eq!(ring.current_version(), 2);

        // Old ciphertexts still open, in this keyring and after reopening.
        for (id, s) in &sealed {
            assert_eq!(ring.open_sealed(id, b"f", s).unwrap(), id.as_bytes());
        }
        let reopened = Keyring::open(dir.path(), None).unwrap();
        for (id, s) in &sealed {
            assert_eq!(reopened.open_sealed(id, b"f", s).unwrap(), id.as_bytes());
        }

        // The key file holds only the new version, and every row names it.
        let json = key_file_json(dir.path());
        assert_eq!(json["current"], 2);
        let keys = json["keys"].as_object().unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains_key("2"));
        assert_ne!(keys["2"], old_hex);
        let rows = rows(dir.path());
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|(_, v)| *v == 2), "{rows:?}");

        // New dossiers use the new KEK; rotating again works.
        reopened.seal("d-new", b"f", b"v").unwrap();
        assert_eq!(reopened.rotate().unwrap().rewrapped, 6);
        assert_eq!(reopened.current_version(), 3);
        // The first keyring notices the rotation by the second on a cache miss.
        let fresh = Keyring::open(dir.path(), None).unwrap();
        let s = fresh.seal("d-0", b"g", b"w").unwrap();
        assert_eq!(
            Keyring::open(dir.path(), None)
                .unwrap()
                .open_sealed("d-0", b"g", &s)
                .unwrap(),
            b"w"
        );
    }

    #[test]
    fn interrupted_rotation_leaves_every_data_key_unwrappable() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join(KEY_FILE);
        let ring = Keyring::create(dir.path(), None).unwrap();
        let a = ring.seal("d-a", b"f", b"a").unwrap();

        // Crash after step 1: both keys in the file, new current, rows still old.
        let mut both = read_key_file(&key_path).unwrap();
        both.keys.insert(2, random_key());
        both.current = 2;
        write_key_file(&key_path, &both, false).unwrap();
        drop(ring);
        let ring = Keyring::open(dir.path(), None).unwrap();
        assert_eq!(ring.open_sealed("d-a", b"f", &a).unwrap(), b"a");
        // A dossier created in between is wrapped by the new KEK.
        let b = ring.seal("d-b", b"f", b"b").unwrap();
        assert_eq!(rows(dir.path()), vec![("d-a".into(), 1), ("d-b".into(), 2)]);

        // The next rotation finishes: every row on version 3, one key left.
        let rotation = ring.rotate().unwrap();
        assert_eq!(
            (
                rotation.from_version,
                rotation.to_version,
                rotation.rewrapped
            ),
            (2, 3, 2)
        );
        assert_eq!(
            key_file_json(dir.path())["keys"].as_object().unwrap().len(),
            1
        );
        let ring = Keyring::open(dir.path(), None).unwrap();
        assert_eq!(ring.open_sealed("d-a", b"f", &a).unwrap(), b"a");
        assert_eq!(ring.open_sealed("d-b", b"f", &b).unwrap(), b"b");
    }

    #[test]
    fn rotation_by_another_keyring_is_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::create(dir.path(), None).unwrap();
        let second = Keyring::open(dir.path(), None).unwrap();
        let a = first.seal("d-a", b"f", b"a").unwrap();
        second.rotate().unwrap();
        // `first` still holds KEK 1 in memory, which is gone from the file: a
        // new dossier must be wrapped by KEK 2, and a cache miss must load it.
        let b = first.seal("d-b", b"f", b"b").unwrap();
        assert!(rows(dir.path()).iter().all(|(_, v)| *v == 2));
        let third = Keyring::open(dir.path(), None).unwrap();
        assert_eq!(third.open_sealed("d-a", b"f", &a).unwrap(), b"a");
        assert_eq!(third.open_sealed("d-b", b"f", &b).unwrap(), b"b");
        let reader = Keyring::open(dir.path(), None).unwrap();
        second.rotate().unwrap();
        assert_eq!(reader.open_sealed("d-b", b"f", &b).unwrap(), b"b");
    }

    #[test]
    fn key_file_from_another_data_dir_fails_cleanly() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let sealed = Keyring::create(one.path(), None)
            .unwrap()
            .seal("d-1", b"f", b"v")
            .unwrap();
        let other = Keyring::create(two.path(), None).unwrap();
        // Its identifier key is not this directory's: refused at open.
        let err = Keyring::open(one.path(), Some(other.key_file())).unwrap_err();
        assert_eq!(err.code(), "identifier-key-mismatch");
        // Given this directory's identifier key, the KEKs still do not fit.
        let adopt_identifier = || {
            let mut set = read_key_file(other.key_file()).unwrap();
            set.identifier = read_key_file(&one.path().join(KEY_FILE))
                .unwrap()
                .identifier;
            write_key_file(other.key_file(), &set, false).unwrap();
        };
        adopt_identifier();
        // Same version number, different key: the wrapped data key fails AEAD.
        let ring = Keyring::open(one.path(), Some(other.key_file())).unwrap();
        let err = ring.open_sealed("d-1", b"f", &sealed).unwrap_err();
        assert!(matches!(err, SealError::Tampered { .. }), "{err}");
        // A different version number: the version is missing.
        other.rotate().unwrap();
        adopt_identifier();
        let ring = Keyring::open(one.path(), Some(other.key_file())).unwrap();
        let err = ring.open_sealed("d-1", b"f", &sealed).unwrap_err();
        assert!(
            matches!(err, SealError::KeyVersionMissing { version: 1, .. }),
            "{err}"
        );
        assert_eq!(err.code(), "key-version-missing");
    }

    /// Eight threads seal a first value of one new dossier at once, each
    /// through the keyring `ring` gives it (in the thread, before they start):
    /// `count` must find one data key, whoever won, and `reopened` must open
    /// every value.
    fn race_first_seals(
        ring: impl Fn() -> Arc<Keyring> + Send + Sync + 'static,
        reopened: impl FnOnce() -> Keyring,
        count: impl FnOnce() -> usize,
    ) {
        let (ring, barrier) = (Arc::new(ring), Arc::new(Barrier::new(8)));
        let sealed: Vec<Vec<u8>> = (0..8)
            .map(|i| {
                let (ring, barrier) = (Arc::clone(&ring), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let ring = ring();
                    barrier.wait();
                    ring.seal("d-race", b"f", format!("t{i}").as_bytes())
                        .unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(count(), 1);
        let reopened = reopened();
        for (i, s) in sealed.iter().enumerate() {
            assert_eq!(
                reopened.open_sealed("d-race", b"f", s).unwrap(),
                format!("t{i}").as_bytes()
            );
        }
    }

    #[test]
    fn concurrent_first_seals_create_one_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Arc::new(Keyring::create(dir.path(), None).unwrap());
        race_first_seals(
            move || Arc::clone(&ring),
            || Keyring::open(dir.path(), None).unwrap(),
            || rows(dir.path()).len(),
        );
    }

    #[test]
    fn concurrent_first_seals_from_separate_keyrings_create_one_data_key() {
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create(dir.path(), None).unwrap());
        let path = dir.path().to_path_buf();
        race_first_seals(
            move || Arc::new(Keyring::open(&path, None).unwrap()),
            || Keyring::open(dir.path(), None).unwrap(),
            || rows(dir.path()).len(),
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_has_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(ring.key_file()), 0o600);
        ring.seal("d-1", b"f", b"v").unwrap();
        ring.rotate().unwrap();
        assert_eq!(mode(ring.key_file()), 0o600);
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    /// The key file as a data directory made before identifier keys had
    /// it: the KEKs only, and no check value in `data-keys.db`.
    fn make_legacy(dir: &Path) {
        let path = dir.join(KEY_FILE);
        let mut set = read_key_file(&path).unwrap();
        set.identifier = None;
        write_key_file(&path, &set, false).unwrap();
        let conn = Connection::open(dir.join(DATA_KEYS_FILE)).unwrap();
        conn.execute_batch("DROP TABLE meta").unwrap();
    }

    #[test]
    fn person_keys_are_keyed_stable_and_hide_the_number() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        let key = ring.person_key("033090001234");
        assert_eq!(key.len(), 64);
        assert_eq!(key, ring.person_key("033090001234"));
        assert_ne!(key, ring.person_key("033090001235"));
        assert!(!key.contains("033090001234"));
        assert_eq!(
            Keyring::open(dir.path(), None)
                .unwrap()
                .person_key("033090001234"),
            key
        );
        // Another data directory's key gives another person key.
        let other = tempfile::tempdir().unwrap();
        let other = Keyring::create(other.path(), None).unwrap();
        assert_ne!(other.person_key("033090001234"), key);
        // Rotation keeps the identifier key.
        ring.rotate().unwrap();
        assert_eq!(ring.person_key("033090001234"), key);
        assert_eq!(
            Keyring::open(dir.path(), None)
                .unwrap()
                .person_key("033090001234"),
            key
        );
        assert_eq!(
            key_file_json(dir.path())["identifier_key"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
    }

    #[test]
    fn a_legacy_key_file_gets_an_identifier_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = Keyring::create(dir.path(), None)
            .unwrap()
            .seal("d-1", b"f", b"v")
            .unwrap();
        make_legacy(dir.path());
        assert!(key_file_json(dir.path()).get("identifier_key").is_none());

        let ring = Keyring::open(dir.path(), None).unwrap();
        let added = key_file_json(dir.path());
        let hex_key = added["identifier_key"].as_str().unwrap().to_owned();
        assert_eq!(hex_key.len(), 64);
        // The KEKs are untouched: what was sealed still opens.
        assert_eq!(ring.open_sealed("d-1", b"f", &sealed).unwrap(), b"v");
        let key = ring.person_key("033090001234");

        // Once: the next open changes nothing.
        let again = Keyring::open(dir.path(), None).unwrap();
        assert_eq!(key_file_json(dir.path()), added);
        assert_eq!(again.person_key("033090001234"), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(ring.key_file()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_key_file_without_the_recorded_identifier_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create(dir.path(), None).unwrap());
        let path = dir.path().join(KEY_FILE);
        let mut set = read_key_file(&path).unwrap();
        set.identifier = None;
        write_key_file(&path, &set, false).unwrap();
        let err = Keyring::open(dir.path(), None).unwrap_err();
        assert!(
            matches!(err, SealError::IdentifierKeyMissing { .. }),
            "{err}"
        );
        assert_eq!(err.code(), "identifier-key-missing");
        // Nor is a new key file made over a recorded identifier key.
        let elsewhere = dir.path().join("new-keys.json");
        let err = Keyring::create(dir.path(), Some(&elsewhere)).unwrap_err();
        assert_eq!(err.code(), "key-file-missing");
        assert!(!elsewhere.exists());
        // Refused, not repaired: the key file still has none.
        assert!(key_file_json(dir.path()).get("identifier_key").is_none());
        let err = Keyring::open_or_create(dir.path(), None).unwrap_err();
        assert_eq!(err.code(), "identifier-key-missing");
    }

    #[test]
    fn a_key_file_with_another_identifier_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create(dir.path(), None).unwrap());
        let path = dir.path().join(KEY_FILE);
        let mut set = read_key_file(&path).unwrap();
        set.identifier = Some(random_key());
        write_key_file(&path, &set, false).unwrap();
        let err = Keyring::open(dir.path(), None).unwrap_err();
        assert!(
            matches!(err, SealError::IdentifierKeyMismatch { .. }),
            "{err}"
        );
        assert_eq!(err.code(), "identifier-key-mismatch");
    }

    #[test]
    fn debug_never_prints_keys() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::create(dir.path(), None).unwrap();
        ring.seal("d-1", b"f", b"v").unwrap();
        let hex_key = key_file_json(dir.path())["keys"]["1"]
            .as_str()
            .unwrap()
            .to_owned();
        let debug = format!("{ring:?}");
        assert!(!debug.contains(&hex_key));
        assert!(!debug.contains(&hex_key[..16]));
        assert!(debug.contains("current_version"));
    }

    /// The dossiers' KEK versions in the shared database.
    fn pg_rows(db: &Database) -> Vec<(String, u32)> {
        let client = blocking::Client::connect(db).unwrap();
        client
            .run(|c| {
                c.query(
                    "SELECT dossier_id, kek_version FROM data_keys ORDER BY dossier_id",
                    &[],
                )?
                .iter()
                .map(|r| {
                    let version: i64 = r.try_get(1).map_err(blocking::Error::from)?;
                    let id: String = r.try_get(0).map_err(blocking::Error::from)?;
                    Ok((id, u32::try_from(version).unwrap()))
                })
                .collect::<Result<_, blocking::Error>>()
            })
            .unwrap()
    }

    #[test]
    fn nodes_sharing_a_database_share_data_keys_rotation_and_the_identifier_key() {
        let Some(db) = blocking::testing::scratch("data keys in PostgreSQL") else {
            return;
        };
        let at = DataKeysAt::Postgres(&db);
        let one = tempfile::tempdir().unwrap();
        let ring = Keyring::create_with(one.path(), None, at).unwrap();
        let sealed: Vec<_> = (0..3)
            .map(|i| {
                let id = format!("d-{i}");
                (id.clone(), ring.seal(&id, b"f", id.as_bytes()).unwrap())
            })
            .collect();
        assert!(!one.path().join(DATA_KEYS_FILE).exists());

        // Another node: the same key file, a directory of its own.
        let two = tempfile::tempdir().unwrap();
        let key_file = one.path().join(KEY_FILE);
        let other = Keyring::open_with(two.path(), Some(&key_file), at).unwrap();
        assert_eq!(
            other.person_key("033090001234"),
            ring.person_key("033090001234")
        );
        for (id, s) in &sealed {
            assert_eq!(other.open_sealed(id, b"f", s).unwrap(), id.as_bytes());
        }
        let err = other.open_sealed("d-none", b"f", &sealed[0].1).unwrap_err();
        assert_eq!(err.code(), "no-data-key");

        // A rotation through one node re-wraps every row; the other node makes
        // its next data key under the new KEK.
        let rotation = other.rotate().unwrap();
        assert_eq!((rotation.from_version, rotation.to_version), (1, 2));
        assert_eq!(rotation.rewrapped, 3);
        ring.seal("d-new", b"f", b"v").unwrap();
        let rows = pg_rows(&db);
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|(_, v)| *v == 2), "{rows:?}");
        for (id, s) in &sealed {
            assert_eq!(ring.open_sealed(id, b"f", s).unwrap(), id.as_bytes());
        }

        // Keys in the database without their key file: never made anew.
        let three = tempfile::tempdir().unwrap();
        let err = Keyring::create_with(three.path(), None, at).unwrap_err();
        assert_eq!(err.code(), "key-file-missing");
        let err = Keyring::open_or_create_with(three.path(), None, at).unwrap_err();
        assert_eq!(err.code(), "key-file-missing");
        assert!(!three.path().join(KEY_FILE).exists());

        // A key file without the identifier key the database records, or with
        // another, is refused.
        let mut set = read_key_file(&key_file).unwrap();
        set.identifier = None;
        write_key_file(&key_file, &set, false).unwrap();
        let err = Keyring::open_with(two.path(), Some(&key_file), at).unwrap_err();
        assert_eq!(err.code(), "identifier-key-missing");
        set.identifier = Some(random_key());
        write_key_file(&key_file, &set, false).unwrap();
        let err = Keyring::open_with(two.path(), Some(&key_file), at).unwrap_err();
        assert_eq!(err.code(), "identifier-key-mismatch");
    }

    #[test]
    fn concurrent_first_seals_from_nodes_sharing_a_database_create_one_data_key() {
        let Some(db) = blocking::testing::scratch("concurrent data keys in PostgreSQL") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        drop(Keyring::create_with(dir.path(), None, DataKeysAt::Postgres(&db)).unwrap());
        let (path, shared) = (dir.path().to_path_buf(), db.clone());
        race_first_seals(
            move || {
                let at = DataKeysAt::Postgres(&shared);
                Arc::new(Keyring::open_with(&path, None, at).unwrap())
            },
            || Keyring::open_with(dir.path(), None, DataKeysAt::Postgres(&db)).unwrap(),
            || pg_rows(&db).len(),
        );
    }
}
