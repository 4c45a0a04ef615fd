//! The attachment store: digitised documents (birth certificates, decisions,
//! health papers) kept outside the log, each encrypted under the data key of
//! the dossier it was uploaded for.
//!
//! - **On disk** a document is `attachments/<address>`: the address is the
//!   hex SHA-256 of the document's digest sealed stably under the dossier's
//!   key, so it is the same for the same document of the same dossier, says
//!   nothing without the key, and means nothing once the dossier's key is
//!   shredded. The content is the document sealed under that key with the
//!   digest as context. Writes are atomic (temporary file, fsync, rename).
//! - **`uploads.db`** keeps what the quota and the sweeper need: address,
//!   dossier, uploader, size, time of upload, whether an event cites it, and
//!   the digest sealed (never in the clear).
//! - **Citations**: an event may cite only what was uploaded to its own
//!   dossier ([`AttachmentStore::check_uploaded`]); what was never cited is
//!   removed after the grace period ([`AttachmentStore::sweep`]).
//! - **Legacy** directories kept plaintext files named by digest, shared by
//!   all dossiers; [`AttachmentStore::migrate_legacy`] encrypts a copy for
//!   every dossier citing one, then removes the plaintext.
//! - **PostgreSQL**: nodes that share a database keep `uploads` and the
//!   encrypted documents there (`attachment_blobs`, the same sealed bytes under
//!   the same address, written in one transaction with their row), so a
//!   document uploaded through one node is read through every other
//!   ([`AttachmentStore::open_postgres`]). Such a store has no directory and so
//!   no legacy files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use hoso_commands::sealing::{Keyring, SealError};
use hoso_domain::clock::Clock;
use hoso_ledger::postgres::blocking::{self, Database, lock_class};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// The directory, inside the data directory, of the encrypted documents.
pub const ATTACHMENTS_DIR: &str = "attachments";
/// The uploads' metadata, inside the data directory.
pub const UPLOADS_FILE: &str = "uploads.db";

/// What the address of a document is bound to besides its dossier.
const ADDRESS_CONTEXT: &[u8] = b"attachment-address";
/// What the sealed digest in `uploads.db` is bound to besides its dossier.
const DIGEST_CONTEXT: &[u8] = b"attachment-sha256";
/// Prefix of the context a document's content is sealed under (then its digest).
const CONTENT_CONTEXT: &[u8] = b"attachment";

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// An event cites a digest that was not uploaded to its dossier.
    #[error("attachment {sha256} was not uploaded to this dossier")]
    NotUploaded {
        /// The digest cited (hex).
        sha256: String,
    },
    /// The upload would take the account's uncited uploads over its quota.
    #[error(
        "uploads not yet cited by any declaration or decision would reach {would_hold} bytes; the limit per account is {limit} bytes"
    )]
    QuotaExceeded {
        /// The limit per account.
        limit: u64,
        /// What the account would hold with this upload.
        would_hold: u64,
    },
    /// The sweeper could not tell whether the log cites an upload.
    #[error("could not tell whether an upload is cited: {0}")]
    Lookup(String),
    /// The dossier's key.
    #[error("sealing: {0}")]
    Sealing(#[from] SealError),
    /// `uploads.db`.
    #[error("uploads database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The tables in the PostgreSQL database the nodes share.
    #[error("uploads database: {0}")]
    Postgres(#[from] blocking::Error),
    /// A file operation.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, AttachmentError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AttachmentError + '_ {
    move |source| AttachmentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The document's SHA-256.
    pub sha256: [u8; 32],
    /// Its size.
    pub bytes: u64,
    /// Whether this upload stored it (false: the dossier already held it).
    pub new: bool,
}

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Uploads removed, never cited within the grace period.
    pub removed: usize,
    /// Bytes freed.
    pub bytes: u64,
    /// Uploads found cited by the log although not marked so (a crash
    /// between the append and the mark), now marked.
    pub found_cited: usize,
}

/// What a migration of legacy plaintext files did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Plaintext files encrypted and removed.
    pub files: usize,
    /// Encrypted copies written (one per citing dossier).
    pub copies: usize,
    /// Plaintext files no dossier cites, removed.
    pub uncited: usize,
    /// Leftovers of an interrupted write (temporary or unrecorded files), removed.
    pub leftovers: usize,
}

/// The PostgreSQL tables: `uploads.db`'s, and the sealed documents by address
/// (a row's document goes with it).
const POSTGRES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS uploads (
    address     TEXT PRIMARY KEY,
    dossier_id  TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    uploaded_at TEXT NOT NULL,
    cited       BOOLEAN NOT NULL DEFAULT false,
    sealed_sha  BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_pending ON uploads (account_id) WHERE NOT cited;
CREATE TABLE IF NOT EXISTS attachment_blobs (
    address TEXT PRIMARY KEY REFERENCES uploads (address) ON DELETE CASCADE,
    content BYTEA NOT NULL
)";

/// Where documents and their metadata are kept.
enum Db {
    /// `attachments/` and `uploads.db` in the data directory.
    Sqlite(Mutex<Connection>),
    /// The database the nodes share.
    Postgres(blocking::Client),
}

/// Encrypted attachments and their metadata.
pub struct AttachmentStore {
    /// `attachments/` (unused on PostgreSQL).
    dir: PathBuf,
    db: Db,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AttachmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl AttachmentStore {
    /// Opens (creating if need be) the store of the data directory `data`.
    pub fn open(data: &Path, keyring: Arc<Keyring>, clock: Arc<dyn Clock>) -> Result<Self> {
        let dir = data.join(ATTACHMENTS_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let conn = Connection::open(data.join(UPLOADS_FILE))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS uploads (
                 address     TEXT PRIMARY KEY,
                 dossier_id  TEXT NOT NULL,
                 account_id  TEXT NOT NULL,
                 bytes       INTEGER NOT NULL,
                 uploaded_at TEXT NOT NULL,
                 cited       INTEGER NOT NULL DEFAULT 0,
                 sealed_sha  BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS uploads_pending
                 ON uploads (account_id) WHERE cited = 0;",
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Self {
            dir,
            db: Db::Sqlite(Mutex::new(conn)),
            keyring,
            clock,
        })
    }

    /// The store in the PostgreSQL database the nodes share (its tables created
    /// if need be); `keyring` must be the nodes' shared one too.
    pub fn open_postgres(
        db: &Database,
        keyring: Arc<Keyring>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let client = blocking::Client::connect(db)?;
        blocking::create_schema(&client, "uploads", POSTGRES_SCHEMA)?;
        Ok(Self {
            dir: PathBuf::new(),
            db: Db::Postgres(client),
            keyring,
            clock,
        })
    }

    /// The file name of `sha`'s document in `dossier_id`'s attachments.
    pub fn address(&self, dossier_id: &str, sha: &[u8; 32]) -> Result<String> {
        let sealed = self.keyring.seal_stable(dossier_id, ADDRESS_CONTEXT, sha)?;
        Ok(hex::encode(Sha256::digest(sealed)))
    }

    fn content_context(sha: &[u8; 32]) -> Vec<u8> {
        [CONTENT_CONTEXT, sha.as_slice()].concat()
    }

    /// The SQLite connection, or the PostgreSQL client.
    fn db(&self) -> std::result::Result<std::sync::MutexGuard<'_, Connection>, &blocking::Client> {
        match &self.db {
            Db::Sqlite(conn) => Ok(conn.lock().unwrap_or_else(PoisonError::into_inner)),
            Db::Postgres(client) => Err(client),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        match &self.db {
            Db::Sqlite(conn) => conn.lock().unwrap_or_else(PoisonError::into_inner),
            // Only the SQLite paths call this.
            Db::Postgres(_) => unreachable!("a SQLite path on a PostgreSQL store"),
        }
    }

    /// [`Self::put`] in PostgreSQL: the quota check, the row and the document
    /// in one transaction under the account's advisory lock, so that parallel
    /// uploads of one account through several nodes cannot each pass alone.
    #[allow(clippy::too_many_arguments)]
    fn put_postgres(
        &self,
        client: &blocking::Client,
        account_id: &str,
        dossier_id: &str,
        bytes: &[u8],
        sha: [u8; 32],
        address: String,
        quota: u64,
    ) -> Result<Stored> {
        let size = bytes.len() as u64;
        let sealed = self
            .keyring
            .seal(dossier_id, &Self::content_context(&sha), bytes)?;
        let sealed_sha = self.keyring.seal(dossier_id, DIGEST_CONTEXT, &sha)?;
        let (account, dossier, at) = (
            account_id.to_owned(),
            dossier_id.to_owned(),
            self.clock.now().to_rfc3339(),
        );
        let new = client.run(move |c| {
            c.transaction(|tx| -> Result<bool> {
                tx.advisory_lock(lock_class::UPLOADS, &account)?;
                if tx
                    .query_opt("SELECT 1 FROM uploads WHERE address = $1", &[&address])?
                    .is_some()
                {
                    return Ok(false);
                }
                let pending: i64 = tx
                    .query_one(
                        "SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM uploads
                         WHERE account_id = $1 AND NOT cited",
                        &[&account],
                    )?
                    .try_get(0)
                    .map_err(blocking::Error::from)?;
                let would_hold = u64::try_from(pending).unwrap_or(0).saturating_add(size);
                if would_hold > quota {
                    return Err(AttachmentError::QuotaExceeded {
                        limit: quota,
                        would_hold,
                    });
                }
                let bytes = i64::try_from(size).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO uploads (address, dossier_id, account_id, bytes, uploaded_at, cited, sealed_sha)
                     VALUES ($1, $2, $3, $4, $5, false, $6)",
                    &[&address, &dossier, &account, &bytes, &at, &sealed_sha],
                )?;
                tx.execute(
                    "INSERT INTO attachment_blobs (address, content) VALUES ($1, $2)",
                    &[&address, &sealed],
                )?;
                Ok(true)
            })
        })?;
        Ok(Stored {
            sha256: sha,
            bytes: size,
            new,
        })
    }

    /// Stores `bytes` for `dossier_id`, uploaded by `account_id`, refusing it
    /// when the account's uncited uploads would exceed `quota` bytes. The same
    /// document uploaded again to the same dossier is stored once and counted
    /// once. Blocking: call it off the async runtime.
    pub fn put(
        &self,
        account_id: &str,
        dossier_id: &str,
        bytes: &[u8],
        quota: u64,
    ) -> Result<Stored> {
        let sha: [u8; 32] = Sha256::digest(bytes).into();
        let address = self.address(dossier_id, &sha)?;
        if let Db::Postgres(client) = &self.db {
            return self.put_postgres(client, account_id, dossier_id, bytes, sha, address, quota);
        }
        let size = bytes.len() as u64;
        // Held across the check and the insert, so that parallel uploads of one
        // account cannot each pass the quota alone.
        let conn = self.conn();
        let known: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM uploads WHERE address = ?1",
                [&address],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_some() && self.dir.join(&address).exists() {
            return Ok(Stored {
                sha256: sha,
                bytes: size,
                new: false,
            });
        }
        let pending: i64 = conn.query_row(
            "SELECT COALESCE(SUM(bytes), 0) FROM uploads WHERE account_id = ?1 AND cited = 0",
            [account_id],
            |r| r.get(0),
        )?;
        let would_hold = u64::try_from(pending).unwrap_or(0).saturating_add(size);
        if would_hold > quota {
            return Err(AttachmentError::QuotaExceeded {
                limit: quota,
                would_hold,
            });
        }
        let sealed = self
            .keyring
            .seal(dossier_id, &Self::content_context(&sha), bytes)?;
        // The file first: a row never names a missing file, and a file left
        // without its row by a crash is removed at the next start.
        self.write_atomic(&address, &sealed)?;
        let sealed_sha = self.keyring.seal(dossier_id, DIGEST_CONTEXT, &sha)?;
        conn.execute(
            "INSERT OR IGNORE INTO uploads (address, dossier_id, account_id, bytes, uploaded_at, cited, sealed_sha)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            params![
                address,
                dossier_id,
                account_id,
                i64::try_from(size).unwrap_or(i64::MAX),
                self.clock.now().to_rfc3339(),
                sealed_sha
            ],
        )?;
        Ok(Stored {
            sha256: sha,
            bytes: size,
            new: true,
        })
    }

    fn write_atomic(&self, address: &str, content: &[u8]) -> Result<()> {
        let path = self.dir.join(address);
        let tmp = self
            .dir
            .join(format!(".{address}.{}", uuid::Uuid::now_v7()));
        let written = (|| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(content)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename itself is durable only once the directory is.
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io(&path))
    }

    /// The document `sha` of `dossier_id`, decrypted; `None` when the dossier
    /// holds no such upload. Blocking.
    pub fn get(&self, dossier_id: &str, sha: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let address = self.address(dossier_id, sha)?;
        let sealed = match self.db() {
            Err(client) => {
                let found = client.run(move |c| {
                    c.query_opt(
                        "SELECT content FROM attachment_blobs WHERE address = $1",
                        &[&address],
                    )?
                    .map(|r| r.try_get::<_, Vec<u8>>(0))
                    .transpose()
                    .map_err(blocking::Error::from)
                })?;
                match found {
                    Some(b) => b,
                    None => return Ok(None),
                }
            }
            Ok(_) => {
                let path = self.dir.join(address);
                match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io(&path)(e)),
                }
            }
        };
        Ok(Some(self.keyring.open_sealed(
            dossier_id,
            &Self::content_context(sha),
            &sealed,
        )?))
    }

    /// Refuses, with [`AttachmentError::NotUploaded`], any of `shas` that was
    /// not uploaded to `dossier_id`.
    pub fn check_uploaded(&self, dossier_id: &str, shas: &[[u8; 32]]) -> Result<()> {
        for sha in shas {
            let address = self.address(dossier_id, sha)?;
            let uploaded = match self.db() {
                Ok(conn) => {
                    let found: Option<String> = conn
                        .query_row(
                            "SELECT dossier_id FROM uploads WHERE address = ?1",
                            [&address],
                            |r| r.get(0),
                        )
                        .optional()?;
                    found.as_deref() == Some(dossier_id) && self.dir.join(&address).exists()
                }
                Err(client) => {
                    let found: Option<String> = client.run(move |c| {
                        c.query_opt(
                            "SELECT u.dossier_id FROM uploads u
                             JOIN attachment_blobs b ON b.address = u.address
                             WHERE u.address = $1",
                            &[&address],
                        )?
                        .map(|r| r.try_get(0))
                        .transpose()
                        .map_err(blocking::Error::from)
                    })?;
                    found.as_deref() == Some(dossier_id)
                }
            };
            if !uploaded {
                return Err(AttachmentError::NotUploaded {
                    sha256: hex::encode(sha),
                });
            }
        }
        Ok(())
    }

    /// Marks `shas` of `dossier_id` as cited by an appended event: they no
    /// longer count against their uploader's quota and are never swept.
    pub fn mark_cited(&self, dossier_id: &str, shas: &[[u8; 32]]) -> Result<()> {
        for sha in shas {
            let address = self.address(dossier_id, sha)?;
            match self.db() {
                Ok(conn) => {
                    conn.execute(
                        "UPDATE uploads SET cited = 1 WHERE address = ?1 AND dossier_id = ?2",
                        params![address, dossier_id],
                    )?;
                }
                Err(client) => {
                    let dossier = dossier_id.to_owned();
                    client.run(move |c| {
                        c.execute(
                            "UPDATE uploads SET cited = true WHERE address = $1 AND dossier_id = $2",
                            &[&address, &dossier],
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Bytes `account_id` holds in uploads no event cites yet.
    pub fn pending_bytes(&self, account_id: &str) -> Result<u64> {
        let n: i64 = match self.db() {
            Ok(conn) => conn.query_row(
                "SELECT COALESCE(SUM(bytes), 0) FROM uploads WHERE account_id = ?1 AND cited = 0",
                [account_id],
                |r| r.get(0),
            )?,
            Err(client) => {
                let account = account_id.to_owned();
                client.run(move |c| {
                    c.query_one(
                        "SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM uploads
                         WHERE account_id = $1 AND NOT cited",
                        &[&account],
                    )?
                    .try_get(0)
                    .map_err(blocking::Error::from)
                })?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Removes the uploads uploaded more than `grace` ago (by the store's
    /// clock) that no event cites. `cited(dossier_id, sha)` asks the log
    /// before anything is removed: an upload it cites although unmarked (the
    /// process stopped between the append and the mark) is marked and kept.
    /// Blocking.
    pub fn sweep(
        &self,
        grace: chrono::Duration,
        mut cited: impl FnMut(&str, &[u8; 32]) -> Result<bool>,
    ) -> Result<Swept> {
        let cutoff: DateTime<Utc> = self.clock.now() - grace;
        let candidates: Vec<(String, String, i64, String, Vec<u8>)> = match self.db() {
            Ok(conn) => {
                let mut q = conn.prepare(
                    "SELECT address, dossier_id, bytes, uploaded_at, sealed_sha FROM uploads WHERE cited = 0",
                )?;
                q.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?
            }
            Err(client) => client.run(|c| {
                c.query(
                    "SELECT address, dossier_id, bytes, uploaded_at, sealed_sha FROM uploads WHERE NOT cited",
                    &[],
                )?
                .iter()
                .map(|r| -> std::result::Result<_, blocking::Error> {
                    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?))
                })
                .collect::<std::result::Result<_, blocking::Error>>()
            })?,
        };
        let mut swept = Swept::default();
        for (address, dossier_id, bytes, at, sealed_sha) in candidates {
            let old = DateTime::parse_from_rfc3339(&at)
                .map(|t| t.with_timezone(&Utc) <= cutoff)
                .unwrap_or(true);
            if !old {
                continue;
            }
            let sha: Option<[u8; 32]> =
                match self
                    .keyring
                    .open_sealed(&dossier_id, DIGEST_CONTEXT, &sealed_sha)
                {
                    Ok(sha) => sha.try_into().ok(),
                    // A dossier whose key is gone (shredded) cites nothing
                    // readable: its upload goes like any uncited one.
                    Err(SealError::NoDataKey { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
            if let Some(sha) = sha
                && cited(&dossier_id, &sha)?
            {
                match self.db() {
                    Ok(conn) => {
                        conn.execute(
                            "UPDATE uploads SET cited = 1 WHERE address = ?1",
                            [&address],
                        )?;
                    }
                    Err(client) => {
                        client.run(move |c| {
                            c.execute(
                                "UPDATE uploads SET cited = true WHERE address = $1",
                                &[&address],
                            )
                        })?;
                    }
                }
                swept.found_cited += 1;
                continue;
            }
            if let Db::Postgres(client) = &self.db {
                // The document goes with its row (ON DELETE CASCADE), in the
                // same statement, and only while still uncited.
                let deleted = client.run(move |c| {
                    c.execute(
                        "DELETE FROM uploads WHERE address = $1 AND NOT cited",
                        &[&address],
                    )
                })?;
                if deleted > 0 {
                    tracing::info!(dossier = %dossier_id, bytes, "removed an upload no event cited within the grace period");
                    swept.removed += 1;
                    swept.bytes += u64::try_from(bytes).unwrap_or(0);
                }
                continue;
            }
            // The row first, and only while still uncited: an upload cited
            // meanwhile (marked after its append) keeps its file. The lock is
            // held until the file is gone, so that the same document uploaded
            // again meanwhile is not left with a row and no file.
            let conn = self.conn();
            let deleted = conn.execute(
                "DELETE FROM uploads WHERE address = ?1 AND cited = 0",
                [&address],
            )?;
            if deleted == 0 {
                continue;
            }
            let path = self.dir.join(&address);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
            drop(conn);
            tracing::info!(dossier = %dossier_id, bytes, "removed an upload no event cited within the grace period");
            swept.removed += 1;
            swept.bytes += u64::try_from(bytes).unwrap_or(0);
        }
        Ok(swept)
    }

    /// The plaintext documents of a directory from before encryption: files
    /// named by their own SHA-256.
    pub fn legacy_files(&self) -> Result<BTreeSet<[u8; 32]>> {
        let mut found = BTreeSet::new();
        if matches!(self.db, Db::Postgres(_)) {
            return Ok(found);
        }
        for (name, path) in self.entries()? {
            let Some(sha) = parse_hex32(&name) else {
                continue;
            };
            if self.known_address(&name)? {
                continue;
            }
            let content = std::fs::read(&path).map_err(io(&path))?;
            if <[u8; 32]>::from(Sha256::digest(&content)) == sha {
                found.insert(sha);
            }
        }
        Ok(found)
    }

    fn entries(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let e = e.map_err(io(&self.dir))?;
            if let Ok(name) = e.file_name().into_string() {
                out.push((name, e.path()));
            }
        }
        Ok(out)
    }

    fn known_address(&self, address: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM uploads WHERE address = ?1", [address], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .is_some())
    }

    /// Encrypts every legacy plaintext file for each dossier `citing` names
    /// (digest → dossier ids, from the log), records the copies as cited, and
    /// only then removes the plaintext. Files no dossier cites are removed:
    /// with no record of the dossier they were uploaded for they could never
    /// be cited now (the uploader uploads again); so are leftovers of an
    /// interrupted write. Idempotent: a crash at any
    /// point leaves the plaintext in place until its copies are durable, and
    /// a rerun finishes the work. Blocking.
    pub fn migrate_legacy(
        &self,
        citing: &BTreeMap<[u8; 32], BTreeSet<String>>,
    ) -> Result<Migrated> {
        let mut done = Migrated::default();
        if matches!(self.db, Db::Postgres(_)) {
            return Ok(done);
        }
        for sha in self.legacy_files()? {
            let path = self.dir.join(hex::encode(sha));
            let content = std::fs::read(&path).map_err(io(&path))?;
            let dossiers = citing.get(&sha).cloned().unwrap_or_default();
            for dossier_id in &dossiers {
                let address = self.address(dossier_id, &sha)?;
                // A copy already there was renamed into place whole by an
                // earlier, interrupted run.
                if !self.dir.join(&address).exists() {
                    let sealed =
                        self.keyring
                            .seal(dossier_id, &Self::content_context(&sha), &content)?;
                    self.write_atomic(&address, &sealed)?;
                    done.copies += 1;
                }
                let sealed_sha = self.keyring.seal(dossier_id, DIGEST_CONTEXT, &sha)?;
                self.conn().execute(
                    "INSERT INTO uploads (address, dossier_id, account_id, bytes, uploaded_at, cited, sealed_sha)
                     VALUES (?1, ?2, '', ?3, ?4, 1, ?5)
                     ON CONFLICT (address) DO UPDATE SET cited = 1",
                    params![
                        address,
                        dossier_id,
                        i64::try_from(content.len()).unwrap_or(i64::MAX),
                        self.clock.now().to_rfc3339(),
                        sealed_sha
                    ],
                )?;
            }
            // Every copy is renamed, its directory synced and its row
            // committed: only now may the plaintext go.
            std::fs::remove_file(&path).map_err(io(&path))?;
            std::fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.dir))?;
            if dossiers.is_empty() {
                tracing::warn!("removed a plaintext attachment that no dossier cites");
                done.uncited += 1;
            } else {
                tracing::info!(
                    dossiers = dossiers.len(),
                    "encrypted a plaintext attachment for each dossier citing it and removed the plaintext"
                );
                done.files += 1;
            }
        }
        // Then what an interrupted write left: a temporary file that never
        // reached its rename, or ciphertext whose row was never committed.
        // (Only at start, when no upload is under way.)
        for (name, path) in self.entries()? {
            let leftover = name.starts_with('.')
                || (parse_hex32(&name).is_some() && !self.known_address(&name)?);
            if leftover {
                std::fs::remove_file(&path).map_err(io(&path))?;
                done.leftovers += 1;
            }
        }
        if done.leftovers > 0 {
            tracing::info!(
                files = done.leftovers,
                "removed the leftovers of interrupted uploads"
            );
        }
        Ok(done)
    }
}

/// Which dossiers cite each of `wanted`, read from the log itself (every
/// place an event cites a document, as `hoso_bundle` lists them): where a
/// legacy plaintext file must be encrypted. Only plaintext citations are
/// looked for: every sealed citation postdates the legacy files.
pub async fn citations_in_log(
    store: &dyn hoso_ledger::EventStore,
    wanted: &BTreeSet<[u8; 32]>,
) -> std::result::Result<BTreeMap<[u8; 32], BTreeSet<String>>, hoso_ledger::StoreError> {
    let registry = hoso_schemas::Registry::standard();
    let mut found: BTreeMap<[u8; 32], BTreeSet<String>> = BTreeMap::new();
    let mut next = store.first_position();
    loop {
        let page = store.read_all(next, 1000).await?;
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        for e in &page {
            let Some(dossier_id) = e.stream.strip_prefix(hoso_domain::dossier::STREAM_PREFIX)
            else {
                continue;
            };
            let cites = match hoso_ledger::typed::decode(&registry, e) {
                Ok(event) => {
                    hoso_bundle::format::cited_attachments(&event, e.source_document.as_ref())
                }
                Err(err) => {
                    // Its envelope's document still counts; the payload is
                    // for `hoso verify` to report.
                    tracing::warn!(position = e.position, error = %err, "an event that does not decode: only its envelope's citation is read");
                    e.source_document
                        .as_ref()
                        .and_then(|d| d.attachment_sha256)
                        .into_iter()
                        .collect()
                }
            };
            for sha in cites.into_iter().filter(|s| wanted.contains(s)) {
                found.entry(sha).or_default().insert(dossier_id.to_owned());
            }
        }
    }
    Ok(found)
}

/// Encrypts the legacy plaintext files of the node's data directory for the
/// dossiers whose events cite them (see [`AttachmentStore::migrate_legacy`]).
/// Run at start, before serving.
pub async fn migrate(state: &crate::AppState) -> std::result::Result<Migrated, MigrateError> {
    let store = state.attachments.clone();
    let legacy = tokio::task::spawn_blocking(move || store.legacy_files())
        .await
        .map_err(|e| MigrateError::Task(e.to_string()))??;
    let citing = if legacy.is_empty() {
        BTreeMap::new()
    } else {
        tracing::info!(
            files = legacy.len(),
            "plaintext attachments from before encryption: encrypting them per citing dossier"
        );
        citations_in_log(state.workflows.store().as_ref(), &legacy).await?
    };
    let store = state.attachments.clone();
    let done = tokio::task::spawn_blocking(move || store.migrate_legacy(&citing))
        .await
        .map_err(|e| MigrateError::Task(e.to_string()))??;
    if done != Migrated::default() {
        tracing::info!(
            files = done.files,
            copies = done.copies,
            uncited = done.uncited,
            leftovers = done.leftovers,
            "attachment migration done"
        );
    }
    Ok(done)
}

/// Why [`migrate`] failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The store.
    #[error(transparent)]
    Store(#[from] AttachmentError),
    /// Reading the log.
    #[error("reading the log: {0}")]
    Log(#[from] hoso_ledger::StoreError),
    /// The blocking task.
    #[error("attachment task: {0}")]
    Task(String),
}

/// One pass of the sweeper over the node's uploads, with the profile's grace
/// period; whether the dossier cites an upload is asked of the read model
/// (which opens sealed citations).
pub async fn sweep(state: &Arc<crate::AppState>) -> std::result::Result<Swept, MigrateError> {
    let days = state.workflows.profile().uploads().unreferenced_grace_days;
    let grace = chrono::Duration::days(i64::from(days));
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        s.attachments.sweep(grace, |dossier_id, sha| {
            let history = s
                .read
                .history(dossier_id)
                .map_err(|e| AttachmentError::Lookup(e.to_string()))?;
            let f = crate::access::Filter {
                map: s.workflows.profile().restrictions(),
                keyring: &s.keyring,
                basis: &hoso_commands::workflows::ReadBasis::Own,
                dossier_id,
                cache: None,
            };
            Ok(f.attachment_level(&history, &hex::encode(sha)).is_some())
        })
    })
    .await
    .map_err(|e| MigrateError::Task(e.to_string()))?
    .map_err(MigrateError::from)
}

/// Sweeps once now, then every `every`, logging what went; runs until aborted.
pub fn spawn_sweeper(
    state: Arc<crate::AppState>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(&state).await {
                Ok(s) if s.removed > 0 || s.found_cited > 0 => tracing::info!(
                    removed = s.removed,
                    bytes = s.bytes,
                    found_cited = s.found_cited,
                    "swept uncited uploads"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the attachment sweep failed"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

fn parse_hex32(name: &str) -> Option<[u8; 32]> {
    if name.len() != 64 {
        return None;
    }
    hex::decode(name).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;
    use hoso_domain::clock::ManualClock;

    struct Fixture {
        dir: tempfile::TempDir,
        clock: Arc<ManualClock>,
        store: AttachmentStore,
    }

    fn fixture() -> Fixture {
        fixture_on(None)
    }

    /// The store in the directory, or in `db` (data keys there too).
    fn fixture_on(db: Option<&Database>) -> Fixture {
        use hoso_commands::sealing::DataKeysAt;
        let dir = tempfile::tempdir().unwrap();
        let at = db.map_or(DataKeysAt::Directory, DataKeysAt::Postgres);
        let keyring = Arc::new(Keyring::create_with(dir.path(), None, at).unwrap());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap(),
        ));
        let store = match db {
            Some(db) => AttachmentStore::open_postgres(db, keyring, clock.clone()).unwrap(),
            None => AttachmentStore::open(dir.path(), keyring, clock.clone()).unwrap(),
        };
        Fixture { dir, clock, store }
    }

    /// The directory's store, and one in a fresh PostgreSQL database when
    /// `HOSO_POSTGRES_URL` is set.
    fn fixtures(what: &str) -> Vec<Fixture> {
        let mut out = vec![fixture()];
        if let Some(db) = hoso_ledger::postgres::blocking::testing::scratch(what) {
            out.push(fixture_on(Some(&db)));
        }
        out
    }

    /// Every byte the store keeps: the directory's files, or the tables' values.
    fn stored_bytes(f: &Fixture) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = all_bytes(f.dir.path());
        if let Db::Postgres(client) = &f.store.db {
            let rows: Vec<Vec<u8>> = client
                .run(|c| {
                    let mut out = Vec::new();
                    for r in c.query(
                        "SELECT u.address, u.dossier_id, u.account_id, u.sealed_sha, b.content
                         FROM uploads u JOIN attachment_blobs b ON b.address = u.address",
                        &[],
                    )? {
                        let text: [String; 3] = [r.try_get(0)?, r.try_get(1)?, r.try_get(2)?];
                        out.extend(text.map(String::into_bytes));
                        out.push(r.try_get(3)?);
                        out.push(r.try_get(4)?);
                    }
                    Ok::<_, blocking::Error>(out)
                })
                .unwrap();
            assert!(!rows.is_empty());
            out.extend(rows.into_iter().map(|b| (PathBuf::from("postgres"), b)));
        }
        out
    }

    fn all_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(all_bytes(&p));
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_document_is_stored_encrypted_under_an_address_that_reveals_nothing() {
        for f in fixtures("attachments in PostgreSQL") {
            stored_encrypted(&f);
        }
    }

    fn stored_encrypted(f: &Fixture) {
        let doc = b"GIAY KHAI SINH marker-7f3a";
        let s = f.store.put("acc-1", "d-1", doc, 1 << 20).unwrap();
        assert!(s.new);
        let sha_hex = hex::encode(s.sha256);
        for (path, bytes) in stored_bytes(f) {
            assert!(!contains(&bytes, b"marker-7f3a"), "{}", path.display());
            assert!(!contains(&bytes, sha_hex.as_bytes()), "{}", path.display());
            assert!(!contains(&bytes, &s.sha256), "{}", path.display());
            assert!(!path.to_string_lossy().contains(&sha_hex));
        }
        assert_eq!(f.store.get("d-1", &s.sha256).unwrap().unwrap(), doc);
        // Another dossier holds nothing under that digest.
        assert_eq!(f.store.get("d-2", &s.sha256).unwrap(), None);
        // Uploaded again: stored once.
        assert!(!f.store.put("acc-1", "d-1", doc, 1 << 20).unwrap().new);
        assert_eq!(f.store.pending_bytes("acc-1").unwrap(), doc.len() as u64);
    }

    #[test]
    fn only_what_was_uploaded_to_the_dossier_may_be_cited() {
        for f in fixtures("attachment citations in PostgreSQL") {
            only_uploaded(&f);
        }
    }

    fn only_uploaded(f: &Fixture) {
        let s = f.store.put("acc-1", "d-1", b"proof", 1 << 20).unwrap();
        f.store.check_uploaded("d-1", &[s.sha256]).unwrap();
        assert!(matches!(
            f.store.check_uploaded("d-2", &[s.sha256]),
            Err(AttachmentError::NotUploaded { .. })
        ));
        assert!(matches!(
            f.store.check_uploaded("d-1", &[[9; 32]]),
            Err(AttachmentError::NotUploaded { .. })
        ));
    }

    #[test]
    fn an_account_holds_at_most_its_quota_in_uncited_uploads() {
        for f in fixtures("upload quotas in PostgreSQL") {
            quota_held(&f);
        }
    }

    fn quota_held(f: &Fixture) {
        let quota = 1024 * 1024;
        let mut stored = Vec::new();
        let mut refused = 0;
        for i in 0..20u8 {
            let doc = vec![i; 200 * 1024];
            match f.store.put("acc-1", "d-1", &doc, quota) {
                Ok(s) => stored.push(s.sha256),
                Err(AttachmentError::QuotaExceeded { limit, would_hold }) => {
                    assert_eq!(limit, quota);
                    assert!(would_hold > quota);
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(stored.len(), 5);
        assert_eq!(refused, 15);
        assert!(f.store.pending_bytes("acc-1").unwrap() <= quota);
        // Another account has its own quota.
        f.store.put("acc-2", "d-1", b"other", quota).unwrap();
        // Once cited, uploads no longer count.
        f.store.mark_cited("d-1", &stored).unwrap();
        assert_eq!(f.store.pending_bytes("acc-1").unwrap(), 0);
        f.store
            .put("acc-1", "d-1", &[99; 200 * 1024], quota)
            .unwrap();
    }

    #[test]
    fn uncited_uploads_are_swept_after_the_grace_period_and_cited_ones_kept() {
        for f in fixtures("the upload sweep in PostgreSQL") {
            swept(&f);
        }
    }

    fn swept(f: &Fixture) {
        let grace = chrono::Duration::days(7);
        let cited = f.store.put("acc-1", "d-1", b"cited", 1 << 20).unwrap();
        let late = f
            .store
            .put("acc-1", "d-1", b"never cited", 1 << 20)
            .unwrap();
        let unmarked = f
            .store
            .put("acc-1", "d-1", b"cited, unmarked", 1 << 20)
            .unwrap();
        f.store.mark_cited("d-1", &[cited.sha256]).unwrap();
        let log_cites = |_: &str, sha: &[u8; 32]| Ok(*sha == unmarked.sha256);

        // Within the grace period nothing goes.
        f.clock.set(f.clock.now() + chrono::Duration::days(6));
        assert_eq!(f.store.sweep(grace, log_cites).unwrap(), Swept::default());
        assert!(f.store.get("d-1", &late.sha256).unwrap().is_some());

        f.clock.set(f.clock.now() + chrono::Duration::days(2));
        let swept = f.store.sweep(grace, log_cites).unwrap();
        assert_eq!(swept.removed, 1);
        assert_eq!(swept.bytes, b"never cited".len() as u64);
        assert_eq!(swept.found_cited, 1);
        assert_eq!(f.store.get("d-1", &late.sha256).unwrap(), None);
        assert!(f.store.get("d-1", &cited.sha256).unwrap().is_some());
        assert!(f.store.get("d-1", &unmarked.sha256).unwrap().is_some());
        assert_eq!(f.store.pending_bytes("acc-1").unwrap(), 0);
        // Nothing left to do.
        assert_eq!(f.store.sweep(grace, log_cites).unwrap(), Swept::default());
    }

    #[test]
    fn legacy_plaintext_is_encrypted_per_citing_dossier_then_removed_idempotently() {
        let f = fixture();
        let dir = f.dir.path().join(ATTACHMENTS_DIR);
        let doc = b"legacy scan marker-9c1e";
        let sha: [u8; 32] = Sha256::digest(doc).into();
        std::fs::write(dir.join(hex::encode(sha)), doc).unwrap();
        let orphan = b"nobody cites me";
        let orphan_sha: [u8; 32] = Sha256::digest(orphan).into();
        std::fs::write(dir.join(hex::encode(orphan_sha)), orphan).unwrap();
        std::fs::write(dir.join(".tmp-leftover"), b"half").unwrap();
        assert_eq!(
            f.store.legacy_files().unwrap(),
            BTreeSet::from([sha, orphan_sha])
        );

        // An interrupted first run: one dossier's copy written, the plaintext kept.
        let address = f.store.address("d-1", &sha).unwrap();
        let sealed = f
            .store
            .keyring
            .seal("d-1", &AttachmentStore::content_context(&sha), doc)
            .unwrap();
        f.store.write_atomic(&address, &sealed).unwrap();

        let citing = BTreeMap::from([(sha, BTreeSet::from(["d-1".into(), "d-2".into()]))]);
        let m = f.store.migrate_legacy(&citing).unwrap();
        assert_eq!(
            m,
            Migrated {
                files: 1,
                copies: 1,
                uncited: 1,
                leftovers: 1
            }
        );
        for d in ["d-1", "d-2"] {
            assert_eq!(f.store.get(d, &sha).unwrap().unwrap(), doc);
            f.store.check_uploaded(d, &[sha]).unwrap();
        }
        assert!(!dir.join(hex::encode(sha)).exists());
        assert!(!dir.join(hex::encode(orphan_sha)).exists());
        for (path, bytes) in all_bytes(f.dir.path()) {
            assert!(!contains(&bytes, b"marker-9c1e"), "{}", path.display());
        }
        // Migrated copies count as cited: never swept, not in any quota.
        f.clock.set(f.clock.now() + chrono::Duration::days(30));
        let swept = f
            .store
            .sweep(chrono::Duration::days(7), |_, _| Ok(false))
            .unwrap();
        assert_eq!(swept.removed, 0);
        // A second run finds nothing to do.
        assert_eq!(
            f.store.migrate_legacy(&citing).unwrap(),
            Migrated::default()
        );
        assert!(f.store.legacy_files().unwrap().is_empty());
    }
}
