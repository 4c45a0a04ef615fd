//! The stream index: where each stream's revisions sit in the log.
//!
//! It is derived from the log and kept out of the commit that makes an append durable.
//! A B-tree keyed by stream puts every new event on a different leaf page: with the
//! index inside `ledger.db`, a 64-event group commit wrote ~100 WAL frames instead of
//! ~20, and that write, not SQLite's CPU, bounded appends. So the log file holds only
//! the events (appended at the right edge, a few pages per group) and the index lives
//! in two layers:
//!
//! - **memory**: the entries of events committed since the last flush, recorded by
//!   the writer before it acknowledges a group, so a read after an acknowledged append
//!   always finds it;
//! - **`ledger-index.db`**: everything before that, flushed in large sorted batches
//!   by a background thread (WAL, `synchronous = NORMAL`: consistent after a crash,
//!   possibly behind). Its meta row records how far it reaches and the hash of the last
//!   event it covers.
//!
//! Invariant: for every stream, memory holds a suffix of its revisions and the file
//! holds all the revisions before that suffix. On open the file is checked against the
//! log (same store, not beyond its head, same last hash) and caught up by scanning the
//! events after it; a file that does not match is rebuilt from the log, so losing or
//! restoring it loses nothing. Every row fetched through the index is checked to be the
//! stream and revision the index says, so a log edited under the index is reported as
//! corruption, not served.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::schema::{COLUMNS, event_from_row, sql_error, until_damage};
use crate::RecordedEvent;
use crate::envelope::Hash;
use crate::error::{StoreError, StoreResult};

/// Name of the index file inside a data directory.
pub const INDEX_FILE: &str = "ledger-index.db";
/// Entries inserted per transaction when the file is rebuilt or caught up at open.
const CATCH_UP_CHUNK: usize = 200_000;
/// Idle reader connections to the index file kept open.
const READERS_IDLE_MAX: usize = 8;

const INDEX_DDL: &str = "
CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS stream_index (
    stream   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (stream, revision)
) STRICT, WITHOUT ROWID;
";

/// Reads the events of `stream` at `places`, checking that each row is the event the
/// index says: a row moved, removed or rewritten under the index is corruption at its
/// position. With `stop_before_damage`, a damaged row after good ones ends the result
/// there, as in `query_events_until_damage`.
fn events_at(
    conn: &Connection,
    stream: &str,
    places: &[Place],
    stop_before_damage: bool,
) -> StoreResult<Vec<crate::RecordedEvent>> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE position = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(|e| sql_error("prepare read", e))?;
    let decoded = places.iter().map(|&(revision, position)| {
        let misplaced = |found: &str| StoreError::Corrupt {
            position: Some(position),
            detail: format!(
                "the stream index places {stream}@{revision} at position {position}, but {found}"
            ),
        };
        let mut rows = stmt
            .query([to_i64(position)])
            .map_err(|e| sql_error("read events", e))?;
        let Some(row) = rows.next().map_err(|e| sql_error("read events", e))? else {
            return Err(misplaced("the log has no event there"));
        };
        let e = event_from_row(row)?;
        if e.stream == stream && e.revision == revision {
            Ok(e)
        } else if e.compute_hash(true) == e.hash {
            // The row is what was written, so the index is the one out of step (a
            // damaged file): no reason to stop the log.
            Err(StoreError::Backend {
                detail: format!(
                    "the stream index places {stream}@{revision} at position {position}, where \
                     the log holds {}@{}: remove {INDEX_FILE} and open the store again to \
                     rebuild it from the log",
                    e.stream, e.revision
                ),
            })
        } else {
            Err(misplaced(&format!(
                "the event there is {}@{} and does not match its hash",
                e.stream, e.revision
            )))
        }
    });
    until_damage(decoded, stop_before_damage)
}

/// Opens (creating if new) the index file for writing and reads its meta.
fn open_index_file(path: &Path) -> StoreResult<(Connection, MetaState)> {
    let conn = Connection::open(path).map_err(|e| sql_error("open stream index", e))?;
    // NORMAL: a crash may lose the last flushes (caught up from the log at open)
    // but never leaves the file inconsistent. Rare checkpoints keep its fsyncs
    // from queueing beside the log's.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA wal_autocheckpoint = 8192;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(|e| sql_error("configure stream index", e))?;
    conn.execute_batch(INDEX_DDL)
        .map_err(|e| sql_error("create stream index", e))?;
    let state = read_meta(&conn)?;
    Ok((conn, state))
}

/// A slice of one stream's revisions, as a read asks for it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Span {
    /// Revisions `from..`, ascending, at most `max`.
    Forwards { from: u64, max: usize },
    /// Revisions `..=from`, descending, at most `max`.
    Backwards { from: u64, max: usize },
}

/// One event's place: (revision, position).
pub(super) type Place = (u64, u64);

#[derive(Default)]
struct Mem {
    /// Entries not yet in the file, per stream, in revision order.
    streams: HashMap<String, VecDeque<Place>>,
    /// The same entries in log order, waiting for the next flush.
    unflushed: Vec<(String, u64, u64)>,
    /// Every position below this is indexed (in memory or in the file).
    upto: u64,
    /// Hash of the event at `upto - 1`.
    last_hash: Option<Hash>,
    /// Every position below this is in the file.
    file_upto: u64,
}

/// The shared stream index of one open store.
pub(super) struct StreamIndex {
    path: PathBuf,
    /// False when the file could not be used (read-only store without a matching
    /// file): then memory holds the whole index.
    file: bool,
    writable: bool,
    mem: Mutex<Mem>,
    readers: Mutex<Vec<Connection>>,
    /// Bytes each reader connection maps of the file.
    map_bytes: u64,
    /// Serialises read-only refreshes from the log.
    refresh: Mutex<()>,
}

impl StreamIndex {
    /// Opens (creating or rebuilding as needed) the index of a writable store and
    /// brings the file up to the log's head. Returns the index and the connection the
    /// flusher writes with.
    pub fn open_writable(
        dir: &Path,
        ledger: &Connection,
        store_id: &str,
        next_position: u64,
        map_bytes: u64,
    ) -> StoreResult<(Self, Connection)> {
        let path = dir.join(INDEX_FILE);
        let (mut conn, state) = match open_index_file(&path) {
            Ok(opened) => opened,
            Err(e) => {
                // Derived data: a file SQLite cannot read is replaced, never trusted.
                tracing::warn!(error = %e, path = %path.display(), "stream index file unreadable; rebuilding it from the log");
                for suffix in ["", "-wal", "-shm"] {
                    let f = PathBuf::from(format!("{}{suffix}", path.display()));
                    if f.exists() {
                        std::fs::remove_file(&f).map_err(|source| StoreError::Io {
                            action: "remove the damaged stream index file",
                            path: f.clone(),
                            source,
                        })?;
                    }
                }
                open_index_file(&path).map_err(index_file_failed)?
            }
        };
        let (mut upto, mut last_hash) = match check_meta(&state, ledger, store_id, next_position)? {
            Ok(upto) => (upto, state.last_hash),
            Err(why) => {
                // A new ledger's index is new too: nothing was lost, nothing to
                // warn an operator of.
                if next_position == 0 {
                    tracing::debug!(reason = %why, path = %path.display(), "starting the stream index of an empty log");
                } else {
                    tracing::warn!(reason = %why, path = %path.display(), "rebuilding the stream index from the log");
                }
                // One transaction: a crash half-way must not leave old meta over
                // an emptied table.
                conn.execute_batch(
                    "BEGIN IMMEDIATE; DELETE FROM index_meta; DROP TABLE stream_index; COMMIT;",
                )
                .and_then(|()| conn.execute_batch(INDEX_DDL))
                .map_err(|e| index_file_failed(sql_error("reset stream index", e)))?;
                (0, None)
            }
        };
        if upto < next_position {
            let started = std::time::Instant::now();
            let from = upto;
            tracing::info!(
                from,
                events = next_position - from,
                "indexing the log's streams (once, after a migration, a lost index file or a crash)"
            );
            let mut entries = Vec::new();
            scan_log(ledger, upto, |(stream, revision, position, hash)| {
                entries.push((stream, revision, position));
                last_hash = Some(hash);
                if entries.len() >= CATCH_UP_CHUNK {
                    upto = position + 1;
                    write_batch(&mut conn, &mut entries, store_id, upto, last_hash)?;
                }
                Ok(())
            })?;
            upto = next_position;
            write_batch(&mut conn, &mut entries, store_id, upto, last_hash)?;
            tracing::info!(
                events = next_position - from,
                ms = started.elapsed().as_millis() as u64,
                "stream index caught up with the log"
            );
        } else {
            // Record the store even when nothing was indexed, so a file moved to
            // another store is recognised as foreign.
            write_batch(&mut conn, &mut Vec::new(), store_id, upto, last_hash)?;
        }
        Ok((
            Self::assemble(path, true, true, upto, last_hash, map_bytes),
            conn,
        ))
    }

    /// An index whose file (if `file`) covers positions below `upto`, the last of
    /// them hashing to `last_hash`; memory starts empty.
    fn assemble(
        path: PathBuf,
        file: bool,
        writable: bool,
        upto: u64,
        last_hash: Option<Hash>,
        map_bytes: u64,
    ) -> Self {
        Self {
            path,
            file,
            writable,
            mem: Mutex::new(Mem {
                upto,
                last_hash,
                file_upto: upto,
                ..Mem::default()
            }),
            readers: Mutex::new(Vec::new()),
            map_bytes,
            refresh: Mutex::new(()),
        }
    }

    /// The index of a read-only store: the file if it matches the log, else memory
    /// only. Nothing is written. Memory is filled from the log on the first read.
    pub fn open_read_only(
        dir: &Path,
        ledger: &Connection,
        store_id: &str,
        next_position: u64,
        map_bytes: u64,
    ) -> StoreResult<Self> {
        let path = dir.join(INDEX_FILE);
        let usable = if path.is_file() {
            match open_index_reader(&path, map_bytes).and_then(|c| {
                let state = read_meta(&c)?;
                // A writer process may have flushed since `next_position` was read;
                // the log's head read after the meta is never behind the file.
                let head: Option<u64> = ledger
                    .query_row("SELECT max(position) FROM events", [], |r| r.get(0))
                    .map_err(|e| sql_error("read log head", e))?;
                let next = head.map_or(0, |h| h + 1).max(next_position);
                check_meta(&state, ledger, store_id, next)
                    .map(|r| r.map(|upto| (upto, state.last_hash)))
            }) {
                Ok(Ok(found)) => Some(found),
                Ok(Err(why)) => {
                    tracing::info!(reason = %why, "stream index file not used; indexing the log in memory");
                    None
                }
                Err(e) => {
                    tracing::info!(error = %e, "stream index file unreadable; indexing the log in memory");
                    None
                }
            }
        } else {
            None
        };
        let (file, upto, last_hash) = match usable {
            Some((upto, hash)) => (true, upto, hash),
            None => (false, 0, None),
        };
        Ok(Self::assemble(
            path, file, false, upto, last_hash, map_bytes,
        ))
    }

    /// Records the events of a committed group, before it is acknowledged. `places`
    /// are in log order and end at `next_position - 1`, whose hash is `last_hash`.
    pub fn record<'a>(
        &self,
        places: impl Iterator<Item = (&'a str, u64, u64)>,
        next_position: u64,
        last_hash: Hash,
    ) {
        let mut mem = lock(&self.mem);
        for (stream, revision, position) in places {
            match mem.streams.get_mut(stream) {
                Some(q) => q.push_back((revision, position)),
                None => {
                    mem.streams
                        .insert(stream.to_owned(), VecDeque::from([(revision, position)]));
                }
            }
            mem.unflushed.push((stream.to_owned(), revision, position));
        }
        mem.upto = next_position;
        mem.last_hash = Some(last_hash);
    }

    /// Writes what memory holds to the file in one transaction, then drops it from
    /// memory. On failure the entries stay in memory for the next try.
    pub fn flush(&self, conn: &mut Connection, store_id: &str) -> StoreResult<usize> {
        let (mut batch, upto, last_hash) = {
            let mut mem = lock(&self.mem);
            if mem.unflushed.is_empty() {
                return Ok(0);
            }
            (std::mem::take(&mut mem.unflushed), mem.upto, mem.last_hash)
        };
        let n = batch.len();
        let kept = batch.clone();
        if let Err(e) = write_batch(conn, &mut batch, store_id, upto, last_hash) {
            let mut mem = lock(&self.mem);
            let newer = std::mem::replace(&mut mem.unflushed, kept);
            mem.unflushed.extend(newer);
            return Err(e);
        }
        let mut mem = lock(&self.mem);
        for (stream, _, position) in &kept {
            if let Some(q) = mem.streams.get_mut(stream.as_str()) {
                while q.front().is_some_and(|&(_, p)| p <= *position) {
                    q.pop_front();
                }
                if q.is_empty() {
                    mem.streams.remove(stream.as_str());
                }
            }
        }
        mem.file_upto = upto;
        Ok(n)
    }

    /// The events of `stream` in `span`, each checked to be the one the index names.
    /// With `stop_before_damage`, a damaged event after good ones ends the result.
    pub fn read(
        &self,
        ledger: &Connection,
        stream: &str,
        span: Span,
        stop_before_damage: bool,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let places = self.locate(ledger, stream, span)?;
        events_at(ledger, stream, &places, stop_before_damage)
    }

    /// The last event of `stream`, if it has any.
    pub fn latest(&self, ledger: &Connection, stream: &str) -> StoreResult<Option<RecordedEvent>> {
        let span = Span::Backwards {
            from: u64::MAX,
            max: 1,
        };
        Ok(self.read(ledger, stream, span, false)?.pop())
    }

    /// The places of `stream`'s revisions in `span`. `ledger` is a reader of the log,
    /// used by a read-only store to index events appended since it last looked.
    fn locate(&self, ledger: &Connection, stream: &str, span: Span) -> StoreResult<Vec<Place>> {
        if !self.writable {
            self.refresh_from(ledger)?;
        }
        // Only the part of the memory suffix the span can use is copied: a
        // read-only store without a file holds whole streams there.
        let (suffix, below, file_upto) = {
            let mem = lock(&self.mem);
            let q = mem.streams.get(stream);
            let below = q.and_then(|q| q.front()).map(|&(rev, _)| rev);
            let suffix: Vec<Place> = match (q, span) {
                (None, _) => Vec::new(),
                (Some(q), Span::Forwards { from, max }) => {
                    let start = q.partition_point(|&(rev, _)| rev < from);
                    q.range(start..).take(max).copied().collect()
                }
                (Some(q), Span::Backwards { from, max }) => {
                    let end = q.partition_point(|&(rev, _)| rev <= from);
                    q.range(end.saturating_sub(max)..end).copied().collect()
                }
            };
            (suffix, below, mem.file_upto)
        };
        // Revisions below the memory suffix are all in the file (see the invariant).
        let use_file = self.file && file_upto > 0;
        match span {
            Span::Forwards { from, max } => {
                let mut out = Vec::new();
                if use_file && below.is_none_or(|b| from < b) {
                    out = self.query_file(stream, span, below)?;
                }
                let after = out.last().map(|&(rev, _)| rev);
                out.extend(
                    suffix
                        .iter()
                        .filter(|&&(rev, _)| rev >= from && after.is_none_or(|a| rev > a))
                        .copied(),
                );
                out.truncate(max);
                Ok(out)
            }
            Span::Backwards { from, max } => {
                let mut out: Vec<Place> = suffix
                    .iter()
                    .rev()
                    .filter(|&&(rev, _)| rev <= from)
                    .take(max)
                    .copied()
                    .collect();
                // The file holds the revisions below the suffix (all, without one).
                let top = match below {
                    None => Some(from),
                    Some(b) => b.checked_sub(1).map(|b| b.min(from)),
                };
                if let Some(top) = top
                    && out.len() < max
                    && use_file
                {
                    let rest = self.query_file(
                        stream,
                        Span::Backwards {
                            from: top,
                            max: max - out.len(),
                        },
                        None,
                    )?;
                    out.extend(rest);
                }
                Ok(out)
            }
        }
    }

    fn query_file(&self, stream: &str, span: Span, below: Option<u64>) -> StoreResult<Vec<Place>> {
        self.query_file_raw(stream, span, below)
            .map_err(index_file_failed)
    }

    fn query_file_raw(
        &self,
        stream: &str,
        span: Span,
        below: Option<u64>,
    ) -> StoreResult<Vec<Place>> {
        let conn = {
            let mut pool = lock(&self.readers);
            pool.pop()
        };
        let conn = match conn {
            Some(c) => c,
            None => open_index_reader(&self.path, self.map_bytes)?,
        };
        let result = (|| {
            let (sql, a, b, max) = match span {
                Span::Forwards { from, max } => (
                    "SELECT revision, position FROM stream_index \
                     WHERE stream = ?1 AND revision >= ?2 AND revision < ?3 ORDER BY revision LIMIT ?4",
                    to_i64(from),
                    below.map_or(i64::MAX, to_i64),
                    max,
                ),
                Span::Backwards { from, max } => (
                    "SELECT revision, position FROM stream_index \
                     WHERE stream = ?1 AND revision <= ?2 AND revision >= ?3 ORDER BY revision DESC LIMIT ?4",
                    to_i64(from),
                    0,
                    max,
                ),
            };
            let mut stmt = conn
                .prepare_cached(sql)
                .map_err(|e| sql_error("read stream index", e))?;
            let rows = stmt
                .query_map(params![stream, a, b, to_i64(max as u64)], |r| {
                    Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?))
                })
                .map_err(|e| sql_error("read stream index", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| sql_error("read stream index", e))
        })();
        let mut pool = lock(&self.readers);
        if pool.len() < READERS_IDLE_MAX {
            pool.push(conn);
        }
        result
    }

    /// A reader connection of the file, configured as the pool's are.
    #[cfg(test)]
    pub(super) fn reader_for_test(&self) -> Connection {
        #[allow(clippy::unwrap_used)]
        open_index_reader(&self.path, self.map_bytes).unwrap()
    }

    /// Indexes, in memory, the events a read-only store has not seen yet.
    fn refresh_from(&self, ledger: &Connection) -> StoreResult<()> {
        let _one = lock(&self.refresh);
        let from = lock(&self.mem).upto;
        let mut found = Vec::new();
        scan_log(ledger, from, |place| {
            found.push(place);
            Ok(())
        })?;
        if let Some(&(_, _, last, hash)) = found.last() {
            let mut mem = lock(&self.mem);
            for (stream, revision, position, _) in found {
                let q = mem.streams.entry(stream).or_default();
                // What a writable store's writer guarantees, a reader checks: a
                // stream's next event takes the next revision.
                if let Some(&(prev, _)) = q.back()
                    && prev.checked_add(1) != Some(revision)
                {
                    return Err(StoreError::Corrupt {
                        position: Some(position),
                        detail: format!(
                            "revision {revision} follows revision {prev} in its stream"
                        ),
                    });
                }
                q.push_back((revision, position));
            }
            mem.upto = last + 1;
            mem.last_hash = Some(hash);
        }
        Ok(())
    }
}

struct MetaState {
    store_id: Option<String>,
    upto: Option<u64>,
    last_hash: Option<Hash>,
}

fn read_meta(conn: &Connection) -> StoreResult<MetaState> {
    let get = |key: &str| -> StoreResult<Option<String>> {
        conn.query_row("SELECT value FROM index_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| sql_error("read stream index meta", e))
    };
    Ok(MetaState {
        store_id: get("store_id")?,
        upto: get("indexed_upto")?.and_then(|v| v.parse().ok()),
        last_hash: get("last_hash")?
            .and_then(|v| hex::decode(v).ok())
            .and_then(|b| Hash::try_from(b).ok()),
    })
}

/// `Ok(Ok(upto))` when the file belongs to this log as it is now; `Ok(Err(why))` when
/// it must be rebuilt.
fn check_meta(
    state: &MetaState,
    ledger: &Connection,
    store_id: &str,
    next_position: u64,
) -> StoreResult<Result<u64, String>> {
    let Some(upto) = state.upto else {
        return Ok(Err("the index file is new or incomplete".into()));
    };
    if state.store_id.as_deref() != Some(store_id) {
        return Ok(Err("the index file belongs to another ledger".into()));
    }
    if upto > next_position {
        return Ok(Err(format!(
            "the index file reaches position {upto} but the log ends before it (a restored log?)"
        )));
    }
    if upto > 0 {
        let hash: Option<Vec<u8>> = ledger
            .query_row(
                "SELECT hash FROM events WHERE position = ?1",
                [to_i64(upto - 1)],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sql_error("check stream index", e))?;
        if hash.as_deref() != state.last_hash.as_ref().map(|h| h.as_slice()) {
            return Ok(Err(format!(
                "the event at position {} is not the one the index file ends with",
                upto - 1
            )));
        }
    }
    Ok(Ok(upto))
}

/// Feeds `each` the (stream, revision, position, hash) of every event from `from` on,
/// in log order.
fn scan_log(
    ledger: &Connection,
    from: u64,
    mut each: impl FnMut((String, u64, u64, Hash)) -> StoreResult<()>,
) -> StoreResult<()> {
    let failed = |e| sql_error("scan log for the stream index", e);
    let mut stmt = ledger
        .prepare_cached(
            "SELECT stream, revision, position, hash FROM events WHERE position >= ?1 ORDER BY position",
        )
        .map_err(failed)?;
    let mut rows = stmt.query([to_i64(from)]).map_err(failed)?;
    while let Some(row) = rows.next().map_err(failed)? {
        each(place_row(row)?)?;
    }
    Ok(())
}

fn place_row(row: &rusqlite::Row<'_>) -> StoreResult<(String, u64, u64, Hash)> {
    let position: u64 = row
        .get(2)
        .map_err(|e| sql_error("scan log for the stream index", e))?;
    let bad = |what: &str| StoreError::Corrupt {
        position: Some(position),
        detail: format!("stored event has an invalid {what}"),
    };
    let stream: String = row.get(0).map_err(|_| bad("stream"))?;
    let revision: u64 = row.get(1).map_err(|_| bad("revision"))?;
    let hash: Vec<u8> = row.get(3).map_err(|_| bad("hash"))?;
    let hash = Hash::try_from(hash).map_err(|_| bad("hash"))?;
    Ok((stream, revision, position, hash))
}

/// Inserts `entries` (sorted here by stream for locality) and moves the file's mark
/// to `upto`, in one transaction. A duplicate (stream, revision) means two events
/// claim one place in a stream: the log is damaged.
fn write_batch(
    conn: &mut Connection,
    entries: &mut Vec<(String, u64, u64)>,
    store_id: &str,
    upto: u64,
    last_hash: Option<Hash>,
) -> StoreResult<()> {
    entries.sort_unstable_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    let fail = |e| index_file_failed(sql_error("write stream index", e));
    let tx = conn.transaction().map_err(fail)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO stream_index (stream, revision, position) VALUES (?1, ?2, ?3)",
            )
            .map_err(fail)?;
        for (stream, revision, position) in entries.iter() {
            insert
                .execute(params![stream, to_i64(*revision), to_i64(*position)])
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Corrupt {
                        position: Some(*position),
                        detail: format!("a second event claims {stream}@{revision}"),
                    },
                    _ => fail(e),
                })?;
        }
        let mut meta = tx
            .prepare_cached("INSERT OR REPLACE INTO index_meta (key, value) VALUES (?1, ?2)")
            .map_err(fail)?;
        for (k, v) in [
            ("store_id", store_id.to_owned()),
            ("indexed_upto", upto.to_string()),
            ("last_hash", last_hash.map(hex::encode).unwrap_or_default()),
        ] {
            meta.execute(params![k, v]).map_err(fail)?;
        }
    }
    tx.commit().map_err(fail)?;
    entries.clear();
    Ok(())
}

/// Bytes a reader connection maps of the index file unless the store's options
/// bound it (`StoreOptions::read_map_bytes`).
pub(super) const INDEX_MAP_BYTES: u64 = 1 << 30;

fn open_index_reader(path: &Path, map_bytes: u64) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_error("open stream index", e))?;
    conn.execute_batch(&format!(
        "PRAGMA query_only = ON;
         PRAGMA mmap_size = {map_bytes};
         PRAGMA cache_size = -16384;"
    ))
    .map_err(|e| sql_error("configure stream index reader", e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| sql_error("configure stream index reader", e))?;
    Ok(conn)
}

/// A damaged or unreadable index file says nothing about the log, which stays
/// intact: the failure is reported without poisoning the store, and the file is
/// rebuilt at the next open (`open_writable` discards a file it cannot read).
fn index_file_failed(e: StoreError) -> StoreError {
    match e {
        StoreError::Corrupt { detail, .. } => StoreError::Backend {
            detail: format!(
                "the stream index file is damaged ({detail}); it is rebuilt from the log when the store is next opened"
            ),
        },
        other => other,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
