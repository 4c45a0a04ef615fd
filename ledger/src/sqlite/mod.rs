//! The embedded SQLite backend: one WAL-mode database file per data directory, one
//! writer thread doing group commit, a small pool of read-only connections, and a
//! stream index derived from the log beside it (see [`index`]).

mod index;
mod scan;
mod schema;
mod writer;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{Semaphore, oneshot, watch};

pub use index::INDEX_FILE;
use index::{Span, StreamIndex};
use schema::{COLUMNS, configure_reader, configure_writer, sql_error};
pub use schema::{CORRUPT_MARKER_FILE, DB_FILE, FORMAT, FORMAT_VERSION, LOCK_FILE};
use schema::{query_events, query_events_until_damage};
use writer::{Poison, WriteRequest, Writer};

use crate::envelope::{ExpectedRevision, NewEvent, RecordedEvent};
use crate::error::{Damage, StoreError, StoreResult};
use crate::store::{
    AppendResult, Direction, EventFeed, EventStore, PageObserver, StoreOptions, StreamFrom,
};
use crate::verify::VerifyReport;

/// Requests that may wait for the writer before appenders are made to wait in turn.
const QUEUE_REQUESTS_MAX: usize = 8_192;
/// Idle reader connections kept open.
const READERS_IDLE_MAX: usize = 8;
/// Events on open whose hashes and links are re-checked, to catch a damaged tail early.
const TAIL_CHECK_EVENTS: i64 = 256;
/// How often the maintenance thread flushes the stream index and copies the WAL back
/// into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
/// WAL length (frames) after a background checkpoint at which the writer finishes the
/// checkpoint itself, so that its next transaction starts the WAL over (see
/// `Writer::run`).
const WAL_RESET_FRAMES: i64 = 4_096;
/// Most frames left for the writer to copy when it finishes a checkpoint.
const WAL_RESET_LEFT: i64 = 256;
/// Background checkpoint passes tried per tick to get down to [`WAL_RESET_LEFT`].
const WAL_RESET_ROUNDS: usize = 8;

/// A hoso ledger in one SQLite file. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.db_path)
            .finish()
    }
}

struct Inner {
    db_path: PathBuf,
    requests: Option<std::sync::mpsc::Sender<WriteRequest>>,
    queue_slots: Arc<Semaphore>,
    readers: Mutex<Vec<Connection>>,
    /// Bytes each reader connection maps of the log.
    map_bytes: u64,
    head_rx: watch::Receiver<Option<u64>>,
    poison: Arc<Poison>,
    index: Arc<StreamIndex>,
    writer: Option<JoinHandle<()>>,
    checkpointer: Option<(std::sync::mpsc::Sender<()>, JoinHandle<()>)>,
    _lock: Option<File>,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    ReadWrite,
    ReadOnly,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what was queued and stop; joining it
        // means a store reopened right after this one never races a leftover writer.
        self.requests = None;
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        if let Some((stop, h)) = self.checkpointer.take() {
            drop(stop);
            let _ = h.join();
        }
    }
}

impl SqliteStore {
    /// Creates a new, empty store in `dir` (created if missing). Fails if one exists.
    ///
    /// The store appears whole or not at all: its schema and identity are
    /// written to a side file that is renamed into place once durable, so a
    /// process killed while creating leaves no `ledger.db` without its meta
    /// table (which every later open would refuse as "not a store"), only a side
    /// file the next create replaces.
    pub fn create(dir: &Path, options: StoreOptions) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            action: "create data directory",
            path: dir.to_owned(),
            source,
        })?;
        let db_path = dir.join(DB_FILE);
        if db_path.exists() {
            return Err(StoreError::AlreadyExists { path: db_path });
        }
        let lock = take_lock(dir)?;
        let side = dir.join(CREATING_FILE);
        write_new_store(&side, &options)?;
        std::fs::rename(&side, &db_path).map_err(|source| StoreError::Io {
            action: "move the new ledger into place",
            path: db_path.clone(),
            source,
        })?;
        sync_dir(dir)?;
        let conn = Connection::open(&db_path).map_err(|e| sql_error("open database", e))?;
        configure_writer(&conn).map_err(|e| sql_error("configure database", e))?;
        tracing::info!(path = %db_path.display(), "created ledger");
        Self::start(db_path, conn, Some(lock), options)
    }

    /// Opens the existing store in `dir`. Never creates one: a wrong path must not
    /// silently become a new, empty ledger.
    pub fn open(dir: &Path, options: StoreOptions) -> StoreResult<Self> {
        Self::open_mode(dir, options, Mode::ReadWrite)
    }

    /// Opens the existing store in `dir` for reading only: no lock, no writer, no
    /// checkpoint, no marker file — nothing in the directory changes — so an inspector
    /// can check a ledger that another process holds open, or an evidence copy, without
    /// touching it. Appends fail with [`StoreError::ReadOnly`]; subscriptions end once
    /// they have caught up.
    pub fn open_read_only(dir: &Path) -> StoreResult<Self> {
        Self::open_mode(dir, StoreOptions::default(), Mode::ReadOnly)
    }

    fn open_mode(dir: &Path, options: StoreOptions, mode: Mode) -> StoreResult<Self> {
        if !dir.is_dir() {
            return Err(StoreError::NotAStore {
                path: dir.to_owned(),
                reason: "no such directory".into(),
            });
        }
        let db_path = dir.join(DB_FILE);
        if !db_path.is_file() {
            return Err(StoreError::NotAStore {
                path: dir.to_owned(),
                reason: format!("it has no {DB_FILE}; create one with `hoso init`"),
            });
        }
        let (lock, flags) = match mode {
            Mode::ReadWrite => (Some(take_lock(dir)?), OpenFlags::SQLITE_OPEN_READ_WRITE),
            Mode::ReadOnly => (None, OpenFlags::SQLITE_OPEN_READ_ONLY),
        };
        let conn = Connection::open_with_flags(&db_path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| sql_error("open database", e))?;
        check_format(&conn, &db_path)?;
        match mode {
            Mode::ReadWrite => configure_writer(&conn),
            Mode::ReadOnly => configure_reader(&conn, log_map_bytes(&options)),
        }
        .map_err(|e| sql_error("configure database", e))?;
        if mode == Mode::ReadWrite
            && schema::migrate_v1(&conn).map_err(|e| sql_error("migrate format 1", e))?
        {
            tracing::info!(path = %db_path.display(), "ledger migrated from format 1 to {FORMAT_VERSION}: the stream index moved to its own file");
        }
        Self::start(db_path, conn, lock, options)
    }

    fn start(
        db_path: PathBuf,
        conn: Connection,
        lock: Option<File>,
        options: StoreOptions,
    ) -> StoreResult<Self> {
        let writable = lock.is_some();
        let map_bytes = log_map_bytes(&options);
        let index_map_bytes = options.read_map_bytes.unwrap_or(index::INDEX_MAP_BYTES);
        let (next_position, last_recorded_us) = conn
            // The last row's time is the latest (recorded_at never goes back in
            // position order); `max(recorded_at)` would scan the whole table.
            .query_row(
                "SELECT max(position), (SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1) FROM events",
                [],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .map_err(|e| sql_error("read log head", e))?;
        let next_position = match next_position {
            None => 0,
            Some(p) => u64::try_from(p)
                .ok()
                .and_then(|p| p.checked_add(1))
                .ok_or_else(|| StoreError::Corrupt {
                    position: None,
                    detail: format!("impossible last position {p}"),
                })?,
        };
        let last_recorded_us = last_recorded_us.unwrap_or(i64::MIN);
        let marker = db_path.with_file_name(schema::CORRUPT_MARKER_FILE);
        let poison = Arc::new(Poison::load(marker, writable));
        let dir = db_path.parent().unwrap_or(Path::new(".")).to_owned();
        let store_id: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sql_error("read meta", e))?
            .unwrap_or_default();
        let (index, index_writer) = if writable {
            match StreamIndex::open_writable(&dir, &conn, &store_id, next_position, index_map_bytes)
            {
                Ok((index, c)) => (index, Some(c)),
                Err(e) if e.is_corruption() => {
                    // Open anyway so that `verify` can locate the damage, but accept no write.
                    poison.set(Damage::from(&e));
                    (
                        StreamIndex::open_read_only(
                            &dir,
                            &conn,
                            &store_id,
                            next_position,
                            index_map_bytes,
                        )?,
                        None,
                    )
                }
                Err(e) => return Err(e),
            }
        } else {
            (
                StreamIndex::open_read_only(
                    &dir,
                    &conn,
                    &store_id,
                    next_position,
                    index_map_bytes,
                )?,
                None,
            )
        };
        let index = Arc::new(index);
        if let Err(e) = check_tail(&conn, &index) {
            if e.is_corruption() {
                // Open anyway so that `verify` can locate the damage, but accept no write.
                poison.set(Damage::from(&e));
            } else {
                return Err(e);
            }
        }

        let (head_tx, head_rx) = watch::channel(next_position.checked_sub(1));
        let mut inner = Inner {
            db_path,
            requests: None,
            queue_slots: Arc::new(Semaphore::new(QUEUE_REQUESTS_MAX)),
            readers: Mutex::new(Vec::new()),
            map_bytes,
            head_rx,
            poison: poison.clone(),
            index: index.clone(),
            writer: None,
            checkpointer: None,
            _lock: lock,
        };
        if writable {
            let wal_catch_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (tx, rx) = std::sync::mpsc::channel();
            let writer = Writer {
                conn,
                next_position,
                last_recorded_us,
                heads: HashMap::new(),
                poison,
                head_tx,
                clock: options.clock,
                index: index.clone(),
                wal_catch_up: wal_catch_up.clone(),
            };
            inner.writer = Some(
                std::thread::Builder::new()
                    .name("hoso-ledger-writer".into())
                    .spawn(move || writer.run(rx))
                    .map_err(|source| StoreError::Io {
                        action: "start writer thread",
                        path: inner.db_path.clone(),
                        source,
                    })?,
            );
            inner.requests = Some(tx);
            inner.checkpointer = Some(spawn_maintenance(
                &inner.db_path,
                index,
                index_writer,
                store_id,
                wal_catch_up,
                inner.poison.clone(),
            )?);
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.db_path
    }

    /// The corruption that stopped writes, if any, in words.
    pub fn poisoned(&self) -> Option<String> {
        self.inner.poison.get().map(|d| d.detail)
    }

    /// SQLite's own page-level check of the file (`PRAGMA quick_check`).
    pub async fn check_pages(&self) -> StoreResult<()> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare("PRAGMA quick_check")
                .map_err(|e| sql_error("quick_check", e))?;
            let problems: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| sql_error("quick_check", e))?
                .collect::<Result<_, _>>()
                .map_err(|e| sql_error("quick_check", e))?;
            if problems.len() == 1 && problems[0] == "ok" {
                Ok(())
            } else {
                Err(StoreError::Corrupt {
                    position: None,
                    detail: format!("SQLite page check failed: {}", problems.join("; ")),
                })
            }
        })
        .await
    }

    /// The `mmap_size` the store's reader connections run with, as SQLite reports it
    /// (capped by SQLite's own limit): what a reader may map of the log
    /// ([`StoreOptions::read_map_bytes`]).
    pub async fn reader_map_size(&self) -> StoreResult<u64> {
        self.with_reader(|conn| {
            let n: i64 = conn
                .query_row("PRAGMA mmap_size", [], |r| r.get(0))
                .map_err(|e| sql_error("read mmap_size", e))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Runs `f` on a pooled read-only connection on the blocking pool.
    async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        let result = tokio::task::spawn_blocking(move || {
            let conn = {
                let mut pool = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
                pool.pop()
            };
            let conn = match conn {
                Some(c) => c,
                None => open_reader(&inner.db_path, inner.map_bytes)?,
            };
            let out = f(&conn);
            let mut pool = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < READERS_IDLE_MAX {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend {
            detail: format!("reader task failed: {e}"),
        })?;
        if let Err(e) = &result
            && e.is_corruption()
        {
            self.inner.poison.set(Damage::from(e));
        }
        result
    }
}

/// Where [`SqliteStore::create`] builds a store before it is moved into place.
const CREATING_FILE: &str = "ledger.db.creating";

/// Writes an empty store (schema and meta) to `path`, replacing a side file an
/// interrupted create left, and returns once it is on disk. It is written in
/// SQLite's rollback-journal mode, so the file is whole by itself after the
/// commit (no WAL beside it to move with it); the store is switched to WAL when
/// opened at its real name.
fn write_new_store(path: &Path, options: &StoreOptions) -> StoreResult<()> {
    for stale in [
        path.to_owned(),
        PathBuf::from(format!("{}-journal", path.display())),
    ] {
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StoreError::Io {
                    action: "remove an interrupted create's file",
                    path: stale,
                    source,
                });
            }
        }
    }
    let mut conn = Connection::open(path).map_err(|e| sql_error("create database", e))?;
    conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;")
        .map_err(|e| sql_error("configure database", e))?;
    let tx = conn
        .transaction()
        .map_err(|e| sql_error("create schema", e))?;
    tx.execute_batch(schema::DDL)
        .map_err(|e| sql_error("create schema", e))?;
    for (k, v) in options.new_store_meta(FORMAT, FORMAT_VERSION) {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![k, v],
        )
        .map_err(|e| sql_error("write meta", e))?;
    }
    tx.commit().map_err(|e| sql_error("create schema", e))?;
    conn.close()
        .map_err(|(_, e)| sql_error("close database", e))
}

/// Makes a rename in `dir` durable (the directory's entry, not only the file).
fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| StoreError::Io {
            action: "sync the data directory",
            path: dir.to_owned(),
            source,
        })
}

fn take_lock(dir: &Path) -> StoreResult<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Io {
            action: "open lock file",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Io {
            action: "lock the store (another hoso process has it open)",
            path,
            source: std::io::Error::from(std::io::ErrorKind::WouldBlock),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io {
            action: "lock the store",
            path,
            source,
        }),
    }
}

/// Bytes the store's reader connections map of the log.
fn log_map_bytes(options: &StoreOptions) -> u64 {
    options.read_map_bytes.unwrap_or(schema::LOG_MAP_BYTES)
}

fn open_reader(path: &Path, map_bytes: u64) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_error("open reader", e))?;
    configure_reader(&conn, map_bytes).map_err(|e| sql_error("configure reader", e))?;
    Ok(conn)
}

/// Refuses files that are not a hoso ledger of a format this build understands.
fn check_format(conn: &Connection, path: &Path) -> StoreResult<()> {
    let not_a_store = |reason: String| StoreError::NotAStore {
        path: path.to_owned(),
        reason,
    };
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| match e.sqlite_error_code() {
            // Not SQLite at all is a wrong file; a damaged SQLite file stays `Corrupt`.
            Some(rusqlite::ErrorCode::NotADatabase) => {
                not_a_store(format!("the file is not an SQLite database ({e})"))
            }
            _ => sql_error("read schema", e),
        })?;
    if !has_meta {
        return Err(not_a_store(
            "an SQLite database, but not a hoso ledger (no meta table)".into(),
        ));
    }
    let meta = |key: &str| -> StoreResult<Option<String>> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| sql_error("read meta", e))
    };
    if meta("format")?.as_deref() != Some(FORMAT) {
        return Err(not_a_store(format!("meta.format is not {FORMAT}")));
    }
    let version: i64 = meta("format_version")?
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| not_a_store("meta.format_version missing or not a number".into()))?;
    if version > FORMAT_VERSION {
        return Err(not_a_store(format!(
            "format version {version} was written by a newer hoso (this build reads up to {FORMAT_VERSION})"
        )));
    }
    Ok(())
}

/// Re-hashes the last events and checks each links to its stream predecessor: a torn
/// or edited tail is found at open, before anything is chained onto it.
fn check_tail(conn: &Connection, index: &StreamIndex) -> StoreResult<()> {
    let sql =
        format!("SELECT {COLUMNS} FROM events ORDER BY position DESC LIMIT {TAIL_CHECK_EVENTS}");
    let tail = query_events(conn, &sql, [])?;
    for e in &tail {
        if e.compute_hash(true) != e.hash {
            return Err(StoreError::Corrupt {
                position: Some(e.position),
                detail: format!("event {}@{} does not match its hash", e.stream, e.revision),
            });
        }
        if e.revision > 0 {
            let span = Span::Forwards {
                from: e.revision - 1,
                max: 1,
            };
            let prev = index.read(conn, &e.stream, span, false)?;
            if prev.first().map(|p| (p.revision, p.hash)) != Some((e.revision - 1, e.prev_hash)) {
                return Err(StoreError::Corrupt {
                    position: Some(e.position),
                    detail: format!(
                        "event {}@{} does not link to its predecessor",
                        e.stream, e.revision
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Starts the thread that, off the append path, flushes the stream index to its file
/// and copies the WAL back into the database. On stop it does both a last time.
fn spawn_maintenance(
    db_path: &Path,
    index: Arc<StreamIndex>,
    mut index_conn: Option<Connection>,
    store_id: String,
    wal_catch_up: Arc<std::sync::atomic::AtomicBool>,
    poison: Arc<Poison>,
) -> StoreResult<(std::sync::mpsc::Sender<()>, JoinHandle<()>)> {
    let conn = Connection::open(db_path).map_err(|e| sql_error("open checkpointer", e))?;
    conn.busy_timeout(Duration::from_secs(1))
        .map_err(|e| sql_error("configure checkpointer", e))?;
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("hoso-ledger-maintenance".into())
        .spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            let flush = |index_conn: &mut Option<Connection>| {
                if let Some(c) = index_conn.as_mut()
                    && let Err(e) = index.flush(c, &store_id)
                {
                    if e.is_corruption() {
                        // Two events claim one place in a stream: the log is damaged.
                        poison.set(Damage::from(&e));
                    } else {
                        // The entries stay in memory and are tried again; reads are unaffected.
                        tracing::warn!(error = %e, "stream index flush failed");
                    }
                }
            };
            while let Err(RecvTimeoutError::Timeout) = stop_rx.recv_timeout(CHECKPOINT_INTERVAL) {
                flush(&mut index_conn);
                // PASSIVE never blocks the writer. Once the WAL is long, repeat it until
                // only a few frames are left uncopied, then let the writer copy those
                // (cheaply) so that the WAL starts over.
                let checkpoint = || {
                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    })
                };
                let mut rounds = 0;
                loop {
                    match checkpoint() {
                        Ok((frames, copied)) if frames >= WAL_RESET_FRAMES => {
                            if frames - copied <= WAL_RESET_LEFT {
                                wal_catch_up.store(true, std::sync::atomic::Ordering::Relaxed);
                                break;
                            }
                        }
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "WAL checkpoint failed");
                            break;
                        }
                    }
                    rounds += 1;
                    if rounds >= WAL_RESET_ROUNDS {
                        break;
                    }
                }
            }
            // Index everything and fold both WALs into their files on a clean shutdown.
            flush(&mut index_conn);
            if let Some(c) = &index_conn {
                let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            }
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        })
        .map_err(|source| StoreError::Io {
            action: "start checkpointer thread",
            path: db_path.to_owned(),
            source,
        })?;
    Ok((stop_tx, handle))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> StoreResult<AppendResult> {
        if let Some(damage) = self.inner.poison.get() {
            return Err(damage.refusal());
        }
        let sender = self.inner.requests.as_ref().ok_or(StoreError::ReadOnly)?;
        // Checked here, on the caller's task, so that the single writer thread only
        // does what needs the stored state.
        crate::envelope::validate_append(stream, &events)?;
        let (reply, rx) = oneshot::channel();
        let events = events
            .into_iter()
            .map(|mut e| {
                // What is hashed must equal what is read back, which has µs precision.
                e.effective_at = e.effective_at.map(crate::envelope::truncate_to_micros);
                e
            })
            .collect();
        // Backpressure: past this many queued requests, appenders wait here, not in memory.
        let permit = self
            .inner
            .queue_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        sender
            .send(WriteRequest {
                stream: stream.to_owned(),
                expected,
                events,
                reply,
                _permit: permit,
            })
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: StreamFrom,
        direction: Direction,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let stream = stream.to_owned();
        let index = self.inner.index.clone();
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let max = max_count;
        let from_revision = match from {
            StreamFrom::Start => 0,
            StreamFrom::Revision(r) => r,
            StreamFrom::End => u64::MAX,
        };
        let span = match direction {
            Direction::Forwards if from == StreamFrom::End => return Ok(Vec::new()),
            Direction::Forwards => Span::Forwards {
                from: from_revision,
                max,
            },
            Direction::Backwards => Span::Backwards {
                from: from_revision,
                max,
            },
        };
        self.with_reader(move |conn| {
            index.read(conn, &stream, span, matches!(span, Span::Forwards { .. }))
        })
        .await
    }

    async fn read_all(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let from = to_i64(from_position);
        let limit = to_i64(max_count as u64);
        self.with_reader(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM events WHERE position >= ?1 ORDER BY position LIMIT ?2"
            );
            query_events_until_damage(conn, &sql, params![from, limit], true)
        })
        .await
    }

    /// One query over the range filtered by type inside SQLite: the other rows are
    /// never decoded nor copied out.
    async fn read_all_of_type(
        &self,
        from_position: u64,
        to_position: u64,
        event_type: &str,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let from = to_i64(from_position);
        let to = to_i64(to_position);
        let limit = to_i64(max_count as u64);
        let event_type = event_type.to_owned();
        self.with_reader(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM events WHERE position >= ?1 AND position < ?2 \
                 AND event_type = ?3 ORDER BY position LIMIT ?4"
            );
            query_events_until_damage(conn, &sql, params![from, to, event_type, limit], true)
        })
        .await
    }

    /// Two columns of the rows, not the events: the sealer follows the log with it.
    async fn read_hashes(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<(u64, crate::envelope::Hash)>> {
        let from = to_i64(from_position);
        let limit = to_i64(max_count as u64);
        self.with_reader(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT position, hash FROM events WHERE position >= ?1 ORDER BY position LIMIT ?2",
                )
                .map_err(|e| sql_error("prepare hash read", e))?;
            let mut rows = stmt
                .query(params![from, limit])
                .map_err(|e| sql_error("read hashes", e))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(|e| sql_error("read hashes", e))? {
                let position: i64 = row.get(0).map_err(|e| sql_error("read hashes", e))?;
                let hash: Vec<u8> = row.get(1).map_err(|e| sql_error("read hashes", e))?;
                let (Ok(position), Ok(hash)) =
                    (u64::try_from(position), crate::envelope::Hash::try_from(hash.as_slice()))
                else {
                    return Err(StoreError::Corrupt {
                        position: u64::try_from(position).ok(),
                        detail: "a row's position or hash has the wrong shape".into(),
                    });
                };
                out.push((position, hash));
            }
            Ok(out)
        })
        .await
    }

    /// Reads and hashes ranges of `$all` on several threads and checks the chains in
    /// order (see `scan`); what is checked and reported is the trait's definition.
    async fn verify_all(&self, observe: PageObserver<'_>) -> StoreResult<VerifyReport> {
        scan::verify_from(self, 0, observe).await
    }

    /// As [`verify_all`](Self::verify_all), from `from`: the same parallel scan, each
    /// stream that continues from before `from` linked to its head there.
    async fn verify_from(&self, from: u64, observe: PageObserver<'_>) -> StoreResult<VerifyReport> {
        scan::verify_from(self, from, observe).await
    }

    fn subscribe_all(&self, from_position: u64) -> EventFeed {
        crate::feed::follow(
            self.clone(),
            from_position,
            self.inner.head_rx.clone(),
            None,
        )
    }

    async fn stream_revision(&self, stream: &str) -> StoreResult<Option<u64>> {
        let stream = stream.to_owned();
        let index = self.inner.index.clone();
        // Read through the row, like every other use of the index.
        self.with_reader(move |conn| Ok(index.latest(conn, &stream)?.map(|e| e.revision)))
            .await
    }

    async fn head_position(&self) -> StoreResult<Option<u64>> {
        Ok(*self.inner.head_rx.borrow())
    }

    fn dense_positions(&self) -> bool {
        true
    }

    fn mark_corrupt(&self, damage: Damage) {
        self.inner.poison.set(damage);
    }

    fn damage(&self) -> Option<Damage> {
        self.inner.poison.get()
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_map_the_file_instead_of_copying_pages() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::create(dir.path(), StoreOptions::default()).unwrap());
        let conn = open_reader(&dir.path().join(DB_FILE), schema::LOG_MAP_BYTES).unwrap();
        let mmap: i64 = conn
            .query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap();
        assert!(mmap > 0, "mmap_size is {mmap}");
    }

    #[tokio::test]
    async fn readers_map_no_more_than_the_options_allow() {
        let dir = tempfile::tempdir().unwrap();
        let bounded = StoreOptions {
            read_map_bytes: Some(64 << 20),
            ..StoreOptions::default()
        };
        drop(SqliteStore::create(dir.path(), StoreOptions::default()).unwrap());
        let store = SqliteStore::open(dir.path(), bounded.clone()).unwrap();
        assert_eq!(store.reader_map_size().await.unwrap(), 64 << 20);
        // The stream index's readers too.
        let index = open_index_reader_for_test(&store);
        let mapped: i64 = index
            .query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mapped, 64 << 20);
        drop(index);
        drop(store);
        // By default a reader maps as much as SQLite lets it (its own cap is below
        // the 4 GiB asked).
        let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(store.reader_map_size().await.unwrap() > 1 << 30);
        drop(store);
        let read_only = SqliteStore::open_mode(dir.path(), bounded, Mode::ReadOnly).unwrap();
        assert_eq!(read_only.reader_map_size().await.unwrap(), 64 << 20);
    }

    fn open_index_reader_for_test(store: &SqliteStore) -> Connection {
        store.inner.index.reader_for_test()
    }

    #[test]
    fn the_writer_fsyncs_every_commit_in_wal_mode() {
        // The crash test cannot see this (SIGKILL keeps the page cache), so pin it here.
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        configure_writer(&conn).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            (mode.as_str(), sync),
            ("wal", 2),
            "WAL with synchronous = FULL"
        );
    }
}
