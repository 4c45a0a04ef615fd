//! The PostgreSQL format of the ledger: DDL (versioned by `hoso_meta`), the triggers
//! that make the log append-only inside the database, and the row ⇄ event codec that
//! refuses, as corruption naming the position, any row not shaped as written.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use crate::envelope::{Hash, RecordedEvent, SourceDocument, date_from_days, from_micros};
use crate::error::{StoreError, StoreResult};

/// Value of `hoso_meta.format`: marks the database as a hoso ledger.
pub const FORMAT: &str = "hoso-ledger-postgres";
/// Current format version of the PostgreSQL schema; a database with a higher one was
/// written by a newer hoso and is refused.
pub const FORMAT_VERSION: i64 = 1;

/// Advisory lock key (transaction level) that serialises position assignment: every
/// node's group commit takes it before reading the head, so two nodes never assign the
/// same position and positions stay dense. (`hoso` in ASCII, then `log`.)
pub const APPEND_LOCK_KEY: i64 = 0x686f_736f_006c_6f67;
/// Advisory lock key (transaction level) taken while the schema is created, so two
/// nodes starting together do not both create it.
pub const SCHEMA_LOCK_KEY: i64 = 0x686f_736f_0064_646c;
/// The channel on which a commit announces its last position.
pub const NOTIFY_CHANNEL: &str = "hoso_events";

/// The schema, created once per database. `position` is the primary key (dense from 0,
/// assigned under [`APPEND_LOCK_KEY`]); `event_id` is unique; `(stream, revision)` is
/// unique too, which both indexes stream reads and makes a second event at one place
/// in a stream impossible even for a client that bypasses hoso. Times are µs since the
/// Unix epoch and the document date days since 1970-01-01: exactly the integers that are
/// hashed, so nothing is lost converting to and from a SQL time type.
pub const DDL: &str = "
CREATE TABLE hoso_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hoso_events (
    position        BIGINT  PRIMARY KEY CHECK (position >= 0),
    stream          TEXT    NOT NULL,
    revision        BIGINT  NOT NULL CHECK (revision >= 0),
    event_id        UUID    NOT NULL UNIQUE,
    event_type      TEXT    NOT NULL,
    schema_version  BIGINT  NOT NULL,
    payload         BYTEA   NOT NULL,
    actor           TEXT    NOT NULL,
    correlation_id  UUID,
    causation_id    UUID,
    recorded_at     BIGINT  NOT NULL,
    effective_at    BIGINT,
    doc_number      TEXT,
    doc_date        INTEGER,
    doc_issuer      TEXT,
    doc_sha256      BYTEA,
    prev_hash       BYTEA   NOT NULL,
    hash            BYTEA   NOT NULL
);
CREATE UNIQUE INDEX hoso_events_stream_revision ON hoso_events (stream, revision);
CREATE INDEX hoso_events_type_position ON hoso_events (event_type, position);
CREATE FUNCTION hoso_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hoso ledger is append-only: % on hoso_events is refused', TG_OP;
END;
$$;
CREATE TRIGGER hoso_events_no_update_delete BEFORE UPDATE OR DELETE ON hoso_events
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER hoso_events_no_truncate BEFORE TRUNCATE ON hoso_events
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();
CREATE TABLE hoso_damage (
    id          INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    position    BIGINT,
    detail      TEXT    NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
";

/// Columns in the order [`event_from_row`] expects.
pub const COLUMNS: &str = "position, stream, revision, event_id, event_type, schema_version, \
     payload, actor, correlation_id, causation_id, recorded_at, effective_at, \
     doc_number, doc_date, doc_issuer, doc_sha256, prev_hash, hash";

/// Maps a PostgreSQL failure to the store's vocabulary, with the server's message (the
/// client error's own text is often just "db error").
pub fn pg_error(context: &str, e: &tokio_postgres::Error) -> StoreError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{context}: {} ({})", db.message(), db.code().code()),
        None => {
            let mut s = format!("{context}: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            s
        }
    };
    StoreError::Backend { detail }
}

fn corrupt(position: u64, what: &str) -> StoreError {
    StoreError::Corrupt {
        position: Some(position),
        detail: format!("stored event has an invalid {what}"),
    }
}

fn column_name(i: usize) -> &'static str {
    COLUMNS.split(", ").nth(i).map_or("?", str::trim)
}

/// One column, any failure to decode it (wrong type, NULL where none may be) being
/// corruption at `position`.
fn get<'r, T: FromSql<'r>>(row: &'r Row, idx: usize, position: u64) -> StoreResult<T> {
    row.try_get::<_, T>(idx).map_err(|e| StoreError::Corrupt {
        position: Some(position),
        detail: format!("column {} cannot be read: {e}", column_name(idx)),
    })
}

fn hash_col(row: &Row, idx: usize, position: u64, what: &str) -> StoreResult<Hash> {
    let b: &[u8] = get(row, idx, position)?;
    Hash::try_from(b).map_err(|_| corrupt(position, what))
}

/// Decodes one row selected with [`COLUMNS`], rejecting anything not shaped as written.
pub fn event_from_row(row: &Row) -> StoreResult<RecordedEvent> {
    let raw: i64 = row.try_get(0).map_err(|e| StoreError::Corrupt {
        position: None,
        detail: format!("a row's position cannot be read: {e}"),
    })?;
    let position = u64::try_from(raw).map_err(|_| StoreError::Corrupt {
        position: None,
        detail: format!("negative position {raw}"),
    })?;
    let revision =
        u64::try_from(get::<i64>(row, 2, position)?).map_err(|_| corrupt(position, "revision"))?;
    let schema_version = u32::try_from(get::<i64>(row, 5, position)?)
        .map_err(|_| corrupt(position, "schema version"))?;
    let recorded_at = from_micros(get::<i64>(row, 10, position)?)
        .ok_or_else(|| corrupt(position, "recorded_at"))?;
    let effective_at = get::<Option<i64>>(row, 11, position)?
        .map(|us| from_micros(us).ok_or_else(|| corrupt(position, "effective_at")))
        .transpose()?;
    let days: Option<i32> = get(row, 13, position)?;
    let issuer: Option<&str> = get(row, 14, position)?;
    let sha: Option<&[u8]> = get(row, 15, position)?;
    let source_document = match get::<Option<&str>>(row, 12, position)? {
        None => {
            // Without a document its other columns must be empty too: anything there was
            // not written by the ledger (and would escape the hash).
            if days.is_some() || issuer.is_some() || sha.is_some() {
                return Err(corrupt(
                    position,
                    "source document (fields without a number)",
                ));
            }
            None
        }
        Some(number) => Some(SourceDocument {
            number: number.to_owned(),
            date: days
                .and_then(date_from_days)
                .ok_or_else(|| corrupt(position, "source document date"))?,
            issuer: issuer
                .ok_or_else(|| corrupt(position, "source document issuer"))?
                .to_owned(),
            attachment_sha256: sha
                .map(|b| Hash::try_from(b).map_err(|_| corrupt(position, "attachment hash")))
                .transpose()?,
        }),
    };
    Ok(RecordedEvent {
        position,
        stream: get::<&str>(row, 1, position)?.to_owned(),
        revision,
        event_id: get::<Uuid>(row, 3, position)?,
        event_type: get::<&str>(row, 4, position)?.to_owned(),
        schema_version,
        payload: get::<&[u8]>(row, 6, position)?.to_vec(),
        actor: get::<&str>(row, 7, position)?.to_owned(),
        correlation_id: get(row, 8, position)?,
        causation_id: get(row, 9, position)?,
        recorded_at,
        effective_at,
        source_document,
        prev_hash: hash_col(row, 16, position, "prev_hash")?,
        hash: hash_col(row, 17, position, "hash")?,
    })
}

/// Decodes rows; with `stop_before_damage`, a damaged row after good ones ends the page
/// there instead of failing it, so that verification reports the *first* bad position
/// when an earlier edit and an unreadable row share a page (as the SQLite reader does).
pub fn events_from_rows(rows: &[Row], stop_before_damage: bool) -> StoreResult<Vec<RecordedEvent>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match event_from_row(row) {
            Ok(e) => out.push(e),
            Err(e) if stop_before_damage && e.is_corruption() && !out.is_empty() => return Ok(out),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Converts a count or position to the `BIGINT` PostgreSQL compares it with.
pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
