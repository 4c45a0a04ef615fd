//! The read-model database: its tables, its version, and opening it.
//!
//! The read model lives in `readmodel.db` beside the log, never inside it:
//! it can be thrown away and rebuilt from position 0 at any time, so
//! nothing in it is precious. Its schema carries a version; a binary with
//! a newer version finds an older file, says so, and rebuilds.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::ProjectionError;

/// File name of the read model inside a data directory.
pub const READ_MODEL_FILE: &str = "readmodel.db";

/// Version of the tables and of what the projections put in them. Bump it
/// whenever either changes: every existing read model is then rebuilt.
///
/// 4: identification numbers are no longer stored in clear (`person_key`, the
/// keyed hash searched by, and `person_id_sealed`; history bodies re-sealed).
/// 5: `approvals`, every signed approval in log order (the national feed's source).
/// 6: `org_events.recorded_at`, so a read as known at a date folds the
/// organisation as it was known then.
/// 7: `transfers`, every transfer between agencies and where it stands (the
/// receiving unit's list of dossiers waiting for it).
pub const PROJECTION_VERSION: i64 = 7;

const DDL: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

-- The head of every stream's hash chain as far as applied: the projector links each
-- new event to it before applying the event, so an event that does not continue its
-- chain never reaches the read model.
CREATE TABLE IF NOT EXISTS chain_heads (
    stream   TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    hash     BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- The last event applied (one row): at open it must still be in the log, at its
-- position, with its hash; a read model ahead of the log, or built from another log,
-- is rebuilt rather than trusted.
CREATE TABLE IF NOT EXISTS last_applied (
    id       INTEGER PRIMARY KEY CHECK (id = 0),
    position INTEGER NOT NULL,
    hash     BLOB NOT NULL
) STRICT;

-- Organisation events, kept decoded-and-reencoded (upcast) so the tree can
-- be folded again at open without reading the log.
CREATE TABLE IF NOT EXISTS org_events (
    position    INTEGER PRIMARY KEY,
    stream      TEXT NOT NULL,
    type        TEXT NOT NULL,
    body        BLOB NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT;

-- One row per dossier: what search, headcount and reports filter on.
CREATE TABLE IF NOT EXISTS dossiers (
    id             TEXT PRIMARY KEY,
    -- Keyed hash of the identification number (never the number itself).
    person_key     TEXT NOT NULL,
    full_name      TEXT NOT NULL,
    name_folded    TEXT NOT NULL,
    birth_year     INTEGER,
    gender         TEXT,
    ethnicity      TEXT,
    education      TEXT,
    qualification  TEXT,
    party_member   INTEGER NOT NULL,
    category       INTEGER NOT NULL,
    managing_unit  TEXT NOT NULL,
    employing_unit TEXT NOT NULL,
    status         INTEGER NOT NULL,
    workflow       TEXT NOT NULL,
    rank_code      TEXT,
    rank_name      TEXT,
    job_position   TEXT,
    archived       INTEGER NOT NULL,
    revision       INTEGER NOT NULL,
    opened_on      TEXT NOT NULL,
    locked_on      TEXT,
    -- The number sealed under the dossier's data key, hex.
    person_id_sealed TEXT NOT NULL
) STRICT;

-- Declared sections: approved (1) and pending (0), fields as SectionData bytes.
CREATE TABLE IF NOT EXISTS sections (
    dossier_id   TEXT NOT NULL,
    section_code TEXT NOT NULL,
    approved     INTEGER NOT NULL,
    fields       BLOB NOT NULL,
    PRIMARY KEY (dossier_id, section_code, approved)
) STRICT, WITHOUT ROWID;

-- Every dossier event, upcast, with its envelope and the diff it caused. Keyed
-- by position so a rebuild appends at the end of the table.
CREATE TABLE IF NOT EXISTS history (
    position    INTEGER PRIMARY KEY,
    dossier_id  TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    effective   TEXT,
    doc_number  TEXT,
    doc_date    TEXT,
    doc_issuer  TEXT,
    doc_sha256  BLOB,
    body        BLOB NOT NULL,
    diff        TEXT NOT NULL
) STRICT;

-- Every dossier.ApprovalSigned, keyed by position: the feed of approved revisions
-- the national sync batches are cut from, read in log order between two positions.
CREATE TABLE IF NOT EXISTS approvals (
    position          INTEGER PRIMARY KEY,
    dossier_id        TEXT NOT NULL,
    event_revision    INTEGER NOT NULL,
    approved_revision INTEGER NOT NULL,
    stream_hash       BLOB NOT NULL,
    signer            TEXT NOT NULL,
    delegated_from    TEXT,
    key_id            TEXT NOT NULL,
    recorded_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS obligations (
    dossier_id    TEXT NOT NULL,
    obligation_id TEXT NOT NULL,
    obligation    TEXT NOT NULL,
    responsible   TEXT NOT NULL,
    counted_from  TEXT NOT NULL,
    due           TEXT NOT NULL,
    citation      TEXT NOT NULL,
    closed_on     TEXT,
    late          INTEGER,
    outcome       TEXT,
    PRIMARY KEY (dossier_id, obligation_id)
) STRICT, WITHOUT ROWID;

-- Every transfer to another agency (DL 10.2) and where it stands: `pending`
-- until the receiver accepts (`accepted`, then `forwarded` once passed on to
-- a using unit) or rejects (`rejected`).
CREATE TABLE IF NOT EXISTS transfers (
    transfer_id  TEXT PRIMARY KEY,
    dossier_id   TEXT NOT NULL,
    kind         INTEGER NOT NULL,
    from_unit    TEXT NOT NULL,
    to_unit      TEXT NOT NULL,
    effective    TEXT,
    doc_number   TEXT,
    doc_date     TEXT,
    doc_issuer   TEXT,
    initiated_at INTEGER NOT NULL,
    state        TEXT NOT NULL
) STRICT;

-- Who changed (or, once the API logs reads, read) what, when, under what
-- right: events of streams other than dossiers, whose history rows serve.
CREATE TABLE IF NOT EXISTS audit (
    position    INTEGER PRIMARY KEY,
    recorded_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    stream      TEXT NOT NULL,
    type        TEXT NOT NULL,
    dossier_id  TEXT,
    detail      TEXT NOT NULL
) STRICT;
";

/// Secondary indexes. A rebuild creates them after loading, which is
/// several times faster than maintaining them row by row.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS dossiers_name ON dossiers (archived, name_folded, id);
CREATE INDEX IF NOT EXISTS dossiers_unit ON dossiers (managing_unit);
CREATE INDEX IF NOT EXISTS dossiers_person ON dossiers (person_key);
CREATE INDEX IF NOT EXISTS obligations_open ON obligations (closed_on, responsible);
CREATE INDEX IF NOT EXISTS transfers_state ON transfers (state, to_unit);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, position);
CREATE INDEX IF NOT EXISTS audit_dossier ON audit (dossier_id, position);
CREATE UNIQUE INDEX IF NOT EXISTS history_dossier ON history (dossier_id, revision);
CREATE INDEX IF NOT EXISTS history_actor ON history (actor, position);
CREATE INDEX IF NOT EXISTS approvals_dossier ON approvals (dossier_id, approved_revision);
";

/// Creates the secondary indexes (idempotent).
pub(crate) fn create_indexes(conn: &Connection) -> Result<(), ProjectionError> {
    conn.execute_batch(INDEXES)?;
    Ok(())
}

/// How an existing read-model file compares with this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No file, or an empty one: created.
    Created,
    /// Same version: use it.
    Current,
    /// Another version: the caller must rebuild.
    Stale {
        /// Version in the file.
        version: i64,
    },
    /// The file was damaged (not a database, failing SQLite's `quick_check`, or
    /// without a table or row this version writes): it was moved aside and an empty
    /// one created, which the caller must rebuild.
    Damaged {
        /// What was wrong.
        reason: String,
        /// Where the damaged file now is ([`DAMAGED_PREFIX`] and the time).
        moved_to: std::path::PathBuf,
    },
}

/// A damaged read model is kept, for whoever wants to know what happened to it, as
/// `readmodel.db.damaged-<UTC time>` (with its `-wal` beside it, if it had one).
pub const DAMAGED_PREFIX: &str = "readmodel.db.damaged-";

/// Whether the read model at `path` is damaged: `Some(why)` when the file is not a
/// database, fails `PRAGMA quick_check`, or, at this version, lacks a table or holds
/// one other than this version's DDL makes, or lacks its position. A missing or
/// empty file, or a file of another version, is not damaged (it is created, or
/// rebuilt as stale). Failures that are not damage (the file cannot be opened,
/// the disk fails) are errors: moving the file aside would not help.
pub fn damage(path: &Path) -> Result<Option<String>, ProjectionError> {
    if !path.exists() {
        return Ok(None);
    }
    match inspect(path) {
        Ok(found) => Ok(found),
        Err(e) if is_damage(&e) => Ok(Some(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn tables(conn: &Connection) -> rusqlite::Result<std::collections::BTreeMap<String, String>> {
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

fn inspect(path: &Path) -> rusqlite::Result<Option<String>> {
    let conn = Connection::open(path)?;
    let found = tables(&conn)?;
    if found.is_empty() {
        return Ok(None);
    }
    let checked: Vec<String> = {
        let mut stmt = conn.prepare("PRAGMA quick_check")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    if checked.first().map(String::as_str) != Some("ok") {
        return Ok(Some(format!("quick_check: {}", checked.join("; "))));
    }
    if !found.contains_key("meta") {
        return Ok(Some("its table meta is missing".into()));
    }
    let version: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if version != Some(PROJECTION_VERSION) {
        // Another version's file: rebuilt as stale, whatever its tables.
        return Ok(None);
    }
    let expected = {
        let fresh = Connection::open_in_memory()?;
        fresh.execute_batch(DDL)?;
        tables(&fresh)?
    };
    for (name, sql) in &expected {
        match found.get(name) {
            None => return Ok(Some(format!("its table {name} is missing"))),
            Some(other) if other != sql => {
                return Ok(Some(format!(
                    "its table {name} is not as this version makes it"
                )));
            }
            Some(_) => {}
        }
    }
    let position: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'next_position'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if position.is_none() {
        return Ok(Some("it does not record its position".into()));
    }
    Ok(None)
}

/// Opens (creating if needed) the read model at `path`. `indexed: false`
/// leaves a newly created file without secondary indexes, for a bulk load
/// that then calls [`create_indexes`].
pub fn open(path: &Path, indexed: bool) -> Result<(Connection, Found), ProjectionError> {
    let conn = Connection::open(path)?;
    // The read model is rebuildable, so it trades durability of the last
    // few commits for speed: a crash loses at most work that the
    // checkpoint (in the same transaction) has not recorded either.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )?;
    let has_meta: bool = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if has_meta {
        let version: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
                r.get(0)
            })
            .optional()?;
        return Ok(match version {
            Some(PROJECTION_VERSION) => (conn, Found::Current),
            Some(version) => (conn, Found::Stale { version }),
            None => (conn, Found::Stale { version: 0 }),
        });
    }
    if !indexed {
        // A bulk load into a file nobody else reads yet (see ReadModel::rebuild).
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA cache_size = -262144;",
        )?;
    }
    conn.execute_batch(DDL)?;
    if indexed {
        create_indexes(&conn)?;
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('version', ?1), ('next_position', 0)",
        [PROJECTION_VERSION],
    )?;
    Ok((conn, Found::Created))
}

/// The position of the next event to apply.
pub fn next_position(conn: &Connection) -> Result<u64, ProjectionError> {
    let v: i64 = conn.query_row(
        "SELECT value FROM meta WHERE key = 'next_position'",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// Reads a `workflow` column back into the review state it was written from. A name
/// no version of this code writes is a damaged read model, not a state to guess.
pub(crate) fn review_state_column(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<hoso_domain::review::ReviewState> {
    let name: String = row.get(idx)?;
    name.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(dir: &Path) -> std::path::PathBuf {
        let path = dir.join(READ_MODEL_FILE);
        drop(open(&path, true).unwrap());
        path
    }

    #[test]
    fn a_whole_file_a_missing_one_and_an_empty_one_are_not_damaged() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(damage(&tmp.path().join(READ_MODEL_FILE)).unwrap(), None);
        let path = made(tmp.path());
        assert_eq!(damage(&path).unwrap(), None);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(damage(&path).unwrap(), None);
    }

    #[test]
    fn garbage_a_missing_table_or_a_missing_position_is_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let path = made(tmp.path());
        Connection::open(&path)
            .unwrap()
            .execute_batch("DROP TABLE audit")
            .unwrap();
        let why = damage(&path).unwrap().unwrap();
        assert!(why.contains("audit"), "{why}");

        std::fs::remove_file(&path).unwrap();
        let path = made(tmp.path());
        Connection::open(&path)
            .unwrap()
            .execute_batch("DELETE FROM meta WHERE key = 'next_position'")
            .unwrap();
        assert!(damage(&path).unwrap().is_some());

        std::fs::write(&path, vec![0x42u8; 16 * 1024]).unwrap();
        assert!(damage(&path).unwrap().is_some());
    }

    #[test]
    fn another_versions_file_is_stale_not_damaged() {
        let tmp = tempfile::tempdir().unwrap();
        let path = made(tmp.path());
        Connection::open(&path)
            .unwrap()
            .execute_batch("UPDATE meta SET value = 1 WHERE key = 'version'; DROP TABLE approvals;")
            .unwrap();
        assert_eq!(damage(&path).unwrap(), None);
    }
}
