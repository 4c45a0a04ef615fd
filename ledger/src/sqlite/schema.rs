//! The on-disk format of the SQLite backend: DDL, pragmas, and the row ⇄ event codec
//! that asserts on every read that the stored bytes still have the shapes written, and
//! the one way rows are read into events (`query_events`, `until_damage`), shared by
//! the writer, the stream index and the readers so that none imports another.

use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row};
use uuid::Uuid;

use crate::envelope::{Hash, RecordedEvent, SourceDocument, date_from_days, from_micros};
use crate::error::{StoreError, StoreResult};

/// Name of the log file inside a data directory.
pub const DB_FILE: &str = "ledger.db";
/// Name of the advisory lock file that keeps a second writer process out.
pub const LOCK_FILE: &str = "ledger.lock";
/// Written beside the log when corruption is detected; while it exists the store
/// accepts no write. Holds the first problem found.
pub const CORRUPT_MARKER_FILE: &str = "ledger.corrupt";
/// Value of `meta.format`: marks the file as a hoso ledger.
pub const FORMAT: &str = "hoso-ledger";
/// Current on-disk format version. Version 1 also kept a `(stream, revision)` index
/// inside the log file; version 2 keeps it in the derived stream index file instead
/// (`index.rs`), and a version-1 file opened for writing is migrated by dropping it.
pub const FORMAT_VERSION: i64 = 2;
/// The version-1 index that [`migrate_v1`] drops.
const V1_STREAM_INDEX: &str = "events_stream_revision";

/// The schema. Triggers make the append-only rule hold in the database itself, not
/// only in our code: an `UPDATE` or `DELETE` through any client aborts. Rows are
/// keyed by position alone, so a group commit touches only the right edge of the
/// table and of the event-id index (event ids are UUID v7, time-ordered).
pub const DDL: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    stream          TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    event_id        BLOB    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    actor           TEXT    NOT NULL,
    correlation_id  BLOB,
    causation_id    BLOB,
    recorded_at     INTEGER NOT NULL,
    effective_at    INTEGER,
    doc_number      TEXT,
    doc_date        INTEGER,
    doc_issuer      TEXT,
    doc_sha256      BLOB,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL
) STRICT;
CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'hoso ledger is append-only: events are never updated'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'hoso ledger is append-only: events are never deleted'); END;
";

/// Columns in the order [`event_from_row`] expects.
pub const COLUMNS: &str = "position, stream, revision, event_id, event_type, schema_version, \
     payload, actor, correlation_id, causation_id, recorded_at, effective_at, \
     doc_number, doc_date, doc_issuer, doc_sha256, prev_hash, hash";

/// Brings a version-1 log to version 2: its `(stream, revision)` index is dropped (the
/// stream index file replaces it) and the version is recorded. No event row changes.
pub fn migrate_v1(conn: &Connection) -> rusqlite::Result<bool> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'format_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if version.as_deref() != Some("1") {
        return Ok(false);
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         DROP INDEX IF EXISTS {V1_STREAM_INDEX};
         UPDATE meta SET value = '{FORMAT_VERSION}' WHERE key = 'format_version';
         COMMIT;"
    ))?;
    Ok(true)
}

/// Pragmas for the single writer connection. `synchronous = FULL` in WAL mode fsyncs the
/// WAL at every commit, which is what makes an acknowledged append durable.
/// Automatic checkpoints are off: a separate connection checkpoints so that copying
/// pages back into the database never stalls a commit.
pub fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA cache_size = -8192;
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = OFF;",
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Bytes a reader connection maps of the log unless the store's options bound it
/// (`StoreOptions::read_map_bytes`).
pub const LOG_MAP_BYTES: u64 = 4 << 30;

/// Pragmas for reader connections: they can never write. They map up to `map_bytes`
/// of the file.
pub fn configure_reader(conn: &Connection, map_bytes: u64) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA query_only = ON;
         PRAGMA mmap_size = {map_bytes};
         PRAGMA cache_size = -32768;
         PRAGMA temp_store = MEMORY;"
    ))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Maps an SQLite failure to the store's vocabulary, recognising damaged files.
pub fn sql_error(context: &'static str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            position: None,
            detail: format!("{context}: {e}"),
        },
        Some(ErrorCode::NotADatabase) => StoreError::Corrupt {
            position: None,
            detail: format!("{context}: the file is not an SQLite database ({e})"),
        },
        _ => StoreError::Sqlite { context, source: e },
    }
}

fn corrupt(position: u64, what: &str) -> StoreError {
    StoreError::Corrupt {
        position: Some(position),
        detail: format!("stored event has an invalid {what}"),
    }
}

// The decoders below borrow each value from SQLite's buffer for the current row
// (`get_ref`) and look at it once: hashes and ids are checked and copied straight
// into fixed arrays, so the only allocations per row are the three strings and the
// payload the `RecordedEvent` owns. A value of the wrong type or invalid UTF-8 is
// corruption at the row's position, never a panic.

fn value<'r>(row: &'r Row<'_>, idx: usize) -> Result<ValueRef<'r>, StoreError> {
    row.get_ref(idx).map_err(|e| sql_error("read event", e))
}

fn wrong_type(position: u64, idx: usize, v: ValueRef<'_>) -> StoreError {
    StoreError::Corrupt {
        position: Some(position),
        detail: format!(
            "column {} holds a value of type {}",
            column_name(idx),
            v.data_type()
        ),
    }
}

fn opt_int(row: &Row<'_>, idx: usize, position: u64) -> Result<Option<i64>, StoreError> {
    match value(row, idx)? {
        ValueRef::Integer(i) => Ok(Some(i)),
        ValueRef::Null => Ok(None),
        v => Err(wrong_type(position, idx, v)),
    }
}

fn int(row: &Row<'_>, idx: usize, position: u64) -> Result<i64, StoreError> {
    match value(row, idx)? {
        ValueRef::Integer(i) => Ok(i),
        v => Err(wrong_type(position, idx, v)),
    }
}

fn opt_text<'r>(
    row: &'r Row<'_>,
    idx: usize,
    position: u64,
) -> Result<Option<&'r str>, StoreError> {
    match value(row, idx)? {
        // E.g. invalid UTF-8 forced into a TEXT column: the row is not what was written.
        ValueRef::Text(b) => std::str::from_utf8(b)
            .map(Some)
            .map_err(|err| StoreError::Corrupt {
                position: Some(position),
                detail: format!(
                    "column {} holds an unreadable {} value ({err})",
                    column_name(idx),
                    Type::Text
                ),
            }),
        ValueRef::Null => Ok(None),
        v => Err(wrong_type(position, idx, v)),
    }
}

fn text<'r>(row: &'r Row<'_>, idx: usize, position: u64) -> Result<&'r str, StoreError> {
    match opt_text(row, idx, position)? {
        Some(s) => Ok(s),
        None => Err(wrong_type(position, idx, ValueRef::Null)),
    }
}

fn opt_blob<'r>(
    row: &'r Row<'_>,
    idx: usize,
    position: u64,
) -> Result<Option<&'r [u8]>, StoreError> {
    match value(row, idx)? {
        ValueRef::Blob(b) => Ok(Some(b)),
        ValueRef::Null => Ok(None),
        v => Err(wrong_type(position, idx, v)),
    }
}

fn blob<'r>(row: &'r Row<'_>, idx: usize, position: u64) -> Result<&'r [u8], StoreError> {
    match opt_blob(row, idx, position)? {
        Some(b) => Ok(b),
        None => Err(wrong_type(position, idx, ValueRef::Null)),
    }
}

fn hash_col(row: &Row<'_>, idx: usize, position: u64, what: &str) -> Result<Hash, StoreError> {
    Hash::try_from(blob(row, idx, position)?).map_err(|_| corrupt(position, what))
}

fn uuid_col(
    row: &Row<'_>,
    idx: usize,
    position: u64,
    what: &str,
) -> Result<Option<Uuid>, StoreError> {
    opt_blob(row, idx, position)?
        .map(|b| Uuid::from_slice(b).map_err(|_| corrupt(position, what)))
        .transpose()
}

fn column_name(i: usize) -> &'static str {
    COLUMNS.split(", ").nth(i).map_or("?", str::trim)
}

/// Decodes one row selected with [`COLUMNS`], rejecting anything not shaped as written.
pub fn event_from_row(row: &Row<'_>) -> Result<RecordedEvent, StoreError> {
    let position_raw = match value(row, 0)? {
        ValueRef::Integer(i) => i,
        v => {
            return Err(StoreError::Corrupt {
                position: None,
                detail: format!("position of type {}", v.data_type()),
            });
        }
    };
    let position = u64::try_from(position_raw).map_err(|_| StoreError::Corrupt {
        position: None,
        detail: format!("negative position {position_raw}"),
    })?;
    let revision =
        u64::try_from(int(row, 2, position)?).map_err(|_| corrupt(position, "revision"))?;
    let event_id =
        uuid_col(row, 3, position, "event id")?.ok_or_else(|| corrupt(position, "event id"))?;
    let schema_version =
        u32::try_from(int(row, 5, position)?).map_err(|_| corrupt(position, "schema version"))?;
    let recorded_at =
        from_micros(int(row, 10, position)?).ok_or_else(|| corrupt(position, "recorded_at"))?;
    let effective_at = opt_int(row, 11, position)?
        .map(|us| from_micros(us).ok_or_else(|| corrupt(position, "effective_at")))
        .transpose()?;
    let days = opt_int(row, 13, position)?;
    let issuer = opt_text(row, 14, position)?;
    let sha = opt_blob(row, 15, position)?;
    let source_document = match opt_text(row, 12, position)? {
        None => {
            // Without a document, its other columns must be empty too: anything there
            // was not written by the ledger (and would escape the hash).
            if days.is_some() || issuer.is_some() || sha.is_some() {
                return Err(corrupt(
                    position,
                    "source document (fields without a number)",
                ));
            }
            None
        }
        Some(number) => {
            let date = days
                .and_then(|d| i32::try_from(d).ok())
                .and_then(date_from_days)
                .ok_or_else(|| corrupt(position, "source document date"))?;
            let attachment_sha256 = sha
                .map(|b| Hash::try_from(b).map_err(|_| corrupt(position, "attachment hash")))
                .transpose()?;
            Some(SourceDocument {
                number: number.to_owned(),
                date,
                issuer: issuer
                    .ok_or_else(|| corrupt(position, "source document issuer"))?
                    .to_owned(),
                attachment_sha256,
            })
        }
    };
    Ok(RecordedEvent {
        position,
        stream: text(row, 1, position)?.to_owned(),
        revision,
        event_id,
        event_type: text(row, 4, position)?.to_owned(),
        schema_version,
        payload: blob(row, 6, position)?.to_vec(),
        actor: text(row, 7, position)?.to_owned(),
        correlation_id: uuid_col(row, 8, position, "correlation id")?,
        causation_id: uuid_col(row, 9, position, "causation id")?,
        recorded_at,
        effective_at,
        source_document,
        prev_hash: hash_col(row, 16, position, "prev_hash")?,
        hash: hash_col(row, 17, position, "hash")?,
    })
}

/// Reads rows matching `sql` (which selects [`COLUMNS`]).
pub(super) fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<RecordedEvent>> {
    query_events_until_damage(conn, sql, params, false)
}

/// Like [`query_events`], but when a row turns out damaged after some good ones, the
/// good ones are returned and the page ends there: the reader then verifies them and
/// asks again from the damaged row, which fails on its own. So verification still
/// reports the *first* bad position when an earlier edit and an unreadable row share
/// a page.
pub(super) fn query_events_until_damage(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    stop_before_damage: bool,
) -> StoreResult<Vec<RecordedEvent>> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| sql_error("prepare read", e))?;
    let mut rows = stmt
        .query(params)
        .map_err(|e| sql_error("read events", e))?;
    let decoded = std::iter::from_fn(|| {
        rows.next()
            .map_err(|e| sql_error("read events", e))
            .and_then(|row| row.map(event_from_row).transpose())
            .transpose()
    });
    until_damage(decoded, stop_before_damage)
}

/// Collects decoded events; with `stop_before_damage`, a damaged one after good ones
/// ends the result there instead of failing it (see [`query_events_until_damage`]).
pub(super) fn until_damage(
    decoded: impl Iterator<Item = StoreResult<RecordedEvent>>,
    stop_before_damage: bool,
) -> StoreResult<Vec<RecordedEvent>> {
    let mut out = Vec::new();
    for d in decoded {
        match d {
            Ok(e) => out.push(e),
            Err(e) if stop_before_damage && e.is_corruption() && !out.is_empty() => return Ok(out),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
