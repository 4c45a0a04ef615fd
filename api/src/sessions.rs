//! Sessions, login throttling and the record of attempts.
//!
//! A token is 32 random bytes handed to the client once; the server keeps
//! only its SHA-256, so a copy of `sessions.db` logs no one in. Sessions
//! expire and can be revoked. Failed logins slow the answer down
//! (exponentially within a window), lock the account after a number of
//! failures (an `AccountLocked` event, HY 5.1) and refuse a client address
//! that keeps failing. Every attempt — and every refused attempt to reach
//! data outside scope — is recorded in the `attempts` table, which Sở Nội
//! vụ can read through the API.
//!
//! Nodes behind one load balancer keep all of it — sessions, attempts and the
//! failure counters — in the PostgreSQL database they share
//! ([`SessionStore::open_postgres`]): a session made on one node works on every
//! other, a revocation ends it everywhere, and the limits count every node's
//! failures.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hoso_domain::clock::Clock;
use hoso_ledger::postgres::blocking::{self, Database};
use rand::RngCore;
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// File name of the sessions database in the data directory.
pub const SESSIONS_FILE: &str = "sessions.db";

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token.
    pub token_hash: [u8; 32],
    /// Account.
    pub account_id: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// Why a token does not authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Never issued, or revoked.
    Unknown,
    /// Past its expiry.
    Expired,
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Attempt {
    /// When.
    pub at: String,
    /// What: `login-ok`, `login-failed`, `login-throttled`, `account-locked`,
    /// `scope-refused`, `token-refused`.
    pub kind: String,
    /// Account, when known.
    pub account_id: Option<String>,
    /// Login name given, for logins.
    pub username: Option<String>,
    /// Client address.
    pub client: String,
    /// Route or resource.
    pub target: String,
    /// Detail.
    pub detail: String,
}

#[derive(Default)]
struct Failures {
    by_account: HashMap<String, VecDeque<DateTime<Utc>>>,
    by_client: HashMap<String, VecDeque<DateTime<Utc>>>,
}

fn prune(q: &mut VecDeque<DateTime<Utc>>, window: Duration, now: DateTime<Utc>) {
    // A window too long for chrono counts every failure ever seen.
    let Some(start) = chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
    else {
        return;
    };
    while q.front().is_some_and(|t| *t < start) {
        q.pop_front();
    }
}

/// Why the sessions database failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// `sessions.db`.
    #[error("sessions database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The tables in the PostgreSQL database the nodes share.
    #[error("sessions database: {0}")]
    Postgres(#[from] blocking::Error),
}

/// The PostgreSQL tables: the SQLite ones, and the failure counters, which a
/// single node keeps in memory but nodes behind one load balancer must share (a
/// guesser spreading attempts over the nodes meets the same limits).
const POSTGRES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sessions (
    token_hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX IF NOT EXISTS sessions_account ON sessions (account_id);
CREATE TABLE IF NOT EXISTS attempts (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    account_id TEXT,
    username TEXT,
    client TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    id BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (scope, key, at)";

/// Where sessions, attempts and failure counts are kept.
// One per store, made once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Db {
    /// `sessions.db`, the counters in memory, sessions cached (one node).
    Sqlite {
        conn: Mutex<Connection>,
        cache: Mutex<HashMap<[u8; 32], Session>>,
        failures: Mutex<Failures>,
    },
    /// The database the nodes share: no cache, since a session revoked
    /// through one node must stop working on every other at once.
    Postgres(blocking::Client),
}

/// A statement's parameter, owned so that it can travel to the PostgreSQL
/// client's thread.
enum Value {
    Text(String),
    MaybeText(Option<String>),
    Int(i64),
    Bytes(Vec<u8>),
}

impl Value {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        match self {
            Value::Text(v) => v,
            Value::MaybeText(v) => v,
            Value::Int(v) => v,
            Value::Bytes(v) => v,
        }
    }

    fn postgres(&self) -> &(dyn blocking::ToSql + Sync) {
        match self {
            Value::Text(v) => v,
            Value::MaybeText(v) => v,
            Value::Int(v) => v,
            Value::Bytes(v) => v,
        }
    }
}

/// A result row of either database, read by column.
trait Columns {
    fn text(&self, i: usize) -> Result<String, SessionError>;
    fn maybe_text(&self, i: usize) -> Result<Option<String>, SessionError>;
    fn int(&self, i: usize) -> Result<i64, SessionError>;
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String, SessionError> {
        Ok(self.get(i)?)
    }
    fn maybe_text(&self, i: usize) -> Result<Option<String>, SessionError> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, SessionError> {
        Ok(self.get(i)?)
    }
}

impl Columns for blocking::Row {
    fn text(&self, i: usize) -> Result<String, SessionError> {
        Ok(self.try_get(i).map_err(blocking::Error::from)?)
    }
    fn maybe_text(&self, i: usize) -> Result<Option<String>, SessionError> {
        Ok(self.try_get(i).map_err(blocking::Error::from)?)
    }
    fn int(&self, i: usize) -> Result<i64, SessionError> {
        Ok(self.try_get(i).map_err(blocking::Error::from)?)
    }
}

/// A statement as PostgreSQL numbers its parameters: the statements on
/// sessions and attempts are written once, with SQLite's `?N`, and differ in
/// nothing else (no `?` stands anywhere in them but in a placeholder).
fn numbered_for_postgres(sql: &str) -> String {
    sql.replace('?', "$")
}

impl Db {
    /// Runs a statement that writes.
    fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<(), SessionError> {
        match self {
            Db::Sqlite { conn, .. } => {
                lock(conn).execute(
                    sql,
                    rusqlite::params_from_iter(params.iter().map(Value::sqlite)),
                )?;
            }
            Db::Postgres(client) => {
                client.run(move |c| {
                    let params: Vec<_> = params.iter().map(Value::postgres).collect();
                    c.execute(&numbered_for_postgres(sql), &params)
                })?;
            }
        }
        Ok(())
    }

    /// The rows of a query, each read by `read`.
    fn query<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        read: impl Fn(&dyn Columns) -> Result<T, SessionError> + Send + 'static,
    ) -> Result<Vec<T>, SessionError> {
        match self {
            Db::Sqlite { conn, .. } => {
                let conn = lock(conn);
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(params.iter().map(Value::sqlite)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(read(row)?);
                }
                Ok(out)
            }
            Db::Postgres(client) => client.run(move |c| {
                let params: Vec<_> = params.iter().map(Value::postgres).collect();
                c.query(&numbered_for_postgres(sql), &params)?
                    .iter()
                    .map(|row| read(row))
                    .collect()
            }),
        }
    }

    /// The one node's cache of sessions; none in PostgreSQL, where a session
    /// revoked through one node must stop working on every other at once.
    fn cache(&self) -> Option<&Mutex<HashMap<[u8; 32], Session>>> {
        match self {
            Db::Sqlite { cache, .. } => Some(cache),
            Db::Postgres(_) => None,
        }
    }
}

/// The sessions database and the failure counters.
pub struct SessionStore {
    db: Db,
    /// Times the failure windows, and stamps an attempt whose own time
    /// does not parse.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore").finish_non_exhaustive()
    }
}

/// Hash of a token as presented.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these maps leaves nothing half-updated
    // that matters more than refusing every later request would.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The start of the failure window ending `now` (`None`: a window too long
/// for chrono, which counts every failure ever seen), in microseconds.
fn window_start(window: Duration, now: DateTime<Utc>) -> Option<i64> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .map(|t| t.timestamp_micros())
}

const ACCOUNT: &str = "account";
const CLIENT: &str = "client";

/// Drops a name's and an address's failures older than the window, then
/// counts what is left (as [`prune`] does in memory).
fn count_failures_pg(
    tx: &mut blocking::Tx<'_>,
    username: &str,
    client: &str,
    start: Option<i64>,
) -> Result<(u32, u32), blocking::Error> {
    if let Some(start) = start {
        tx.execute(
            "DELETE FROM login_failures
             WHERE ((scope = $1 AND key = $2) OR (scope = $3 AND key = $4)) AND at < $5",
            &[&ACCOUNT, &username, &CLIENT, &client, &start],
        )?;
    }
    let row = tx.query_one(
        "SELECT count(*) FILTER (WHERE scope = $1 AND key = $2),
                count(*) FILTER (WHERE scope = $3 AND key = $4)
         FROM login_failures WHERE (scope = $1 AND key = $2) OR (scope = $3 AND key = $4)",
        &[&ACCOUNT, &username, &CLIENT, &client],
    )?;
    let count = |i: usize| -> Result<u32, blocking::Error> {
        Ok(u32::try_from(row.try_get::<_, i64>(i)?).unwrap_or(u32::MAX))
    };
    Ok((count(0)?, count(1)?))
}

impl SessionStore {
    /// Opens or creates the database; failure windows are timed by `clock`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, SessionError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS sessions (
               token_hash BLOB PRIMARY KEY,
               account_id TEXT NOT NULL,
               created_at INTEGER NOT NULL,
               expires_at INTEGER NOT NULL,
               revoked_at INTEGER
             );
             CREATE INDEX IF NOT EXISTS sessions_account ON sessions (account_id);
             CREATE TABLE IF NOT EXISTS attempts (
               id INTEGER PRIMARY KEY,
               at INTEGER NOT NULL,
               kind TEXT NOT NULL,
               account_id TEXT,
               username TEXT,
               client TEXT NOT NULL,
               target TEXT NOT NULL,
               detail TEXT NOT NULL
             );",
        )?;
        Ok(Self {
            db: Db::Sqlite {
                conn: Mutex::new(conn),
                cache: Mutex::new(HashMap::new()),
                failures: Mutex::new(Failures::default()),
            },
            clock,
        })
    }

    /// The tables of the PostgreSQL database the nodes share (created if
    /// needed); failure windows are timed by `clock`.
    pub fn open_postgres(db: &Database, clock: Arc<dyn Clock>) -> Result<Self, SessionError> {
        let client = blocking::Client::connect(db)?;
        blocking::create_schema(&client, "sessions", POSTGRES_SCHEMA)?;
        Ok(Self {
            db: Db::Postgres(client),
            clock,
        })
    }

    /// Starts a session; returns the token (shown to the client once).
    pub fn create(
        &self,
        account_id: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(String, Session), SessionError> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let hash = token_hash(&token);
        let expires_at =
            now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(8));
        let session = Session {
            token_hash: hash,
            account_id: account_id.to_owned(),
            expires_at,
        };
        self.db.execute(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            vec![
                Value::Bytes(hash.to_vec()),
                Value::Text(account_id.to_owned()),
                Value::Int(now.timestamp()),
                Value::Int(expires_at.timestamp()),
            ],
        )?;
        if let Some(cache) = self.db.cache() {
            lock(cache).insert(hash, session.clone());
        }
        Ok((token, session))
    }

    /// The session of a token, or why there is none.
    pub fn lookup(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Session, TokenState>, SessionError> {
        let hash = token_hash(token);
        let cached = self.db.cache().and_then(|c| lock(c).get(&hash).cloned());
        let session = match cached {
            Some(s) => Some(s),
            None => {
                let row = self
                    .db
                    .query(
                        "SELECT account_id, expires_at FROM sessions
                         WHERE token_hash = ?1 AND revoked_at IS NULL",
                        vec![Value::Bytes(hash.to_vec())],
                        |r| Ok((r.text(0)?, r.int(1)?)),
                    )?
                    .into_iter()
                    .next();
                let session = row.and_then(|(account_id, exp)| {
                    Some(Session {
                        token_hash: hash,
                        account_id,
                        expires_at: DateTime::from_timestamp(exp, 0)?,
                    })
                });
                if let (Some(s), Some(cache)) = (&session, self.db.cache()) {
                    lock(cache).insert(hash, s.clone());
                }
                session
            }
        };
        Ok(match session {
            None => Err(TokenState::Unknown),
            Some(s) if s.expires_at <= now => Err(TokenState::Expired),
            Some(s) => Ok(s),
        })
    }

    /// Ends one session.
    pub fn revoke(&self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<(), SessionError> {
        self.db.execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            vec![Value::Bytes(hash.to_vec()), Value::Int(now.timestamp())],
        )?;
        if let Some(cache) = self.db.cache() {
            lock(cache).remove(hash);
        }
        Ok(())
    }

    /// Ends every session of an account (password changed, account locked).
    pub fn revoke_account(&self, account_id: &str, now: DateTime<Utc>) -> Result<(), SessionError> {
        self.db.execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
            vec![
                Value::Text(account_id.to_owned()),
                Value::Int(now.timestamp()),
            ],
        )?;
        if let Some(cache) = self.db.cache() {
            lock(cache).retain(|_, s| s.account_id != account_id);
        }
        Ok(())
    }

    /// Ends every session of an account but one (the one that changed the
    /// password carries on).
    pub fn revoke_others(
        &self,
        account_id: &str,
        keep: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        self.db.execute(
            "UPDATE sessions SET revoked_at = ?3
             WHERE account_id = ?1 AND token_hash != ?2 AND revoked_at IS NULL",
            vec![
                Value::Text(account_id.to_owned()),
                Value::Bytes(keep.to_vec()),
                Value::Int(now.timestamp()),
            ],
        )?;
        if let Some(cache) = self.db.cache() {
            lock(cache).retain(|h, s| s.account_id != account_id || h == keep);
        }
        Ok(())
    }

    /// Records an attempt. A failure to record is logged, never fatal to
    /// the request being answered.
    pub fn record(&self, a: &Attempt) {
        let at = DateTime::parse_from_rfc3339(&a.at)
            .map(|t| t.timestamp_micros())
            .unwrap_or_else(|_| self.clock.now().timestamp_micros());
        let result = self.db.execute(
            "INSERT INTO attempts (at, kind, account_id, username, client, target, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                Value::Int(at),
                Value::Text(a.kind.clone()),
                Value::MaybeText(a.account_id.clone()),
                Value::MaybeText(a.username.clone()),
                Value::Text(a.client.clone()),
                Value::Text(a.target.clone()),
                Value::Text(a.detail.clone()),
            ],
        );
        if a.kind == "login-ok" {
            tracing::info!(account = ?a.account_id, client = %a.client, "login");
        } else {
            tracing::warn!(
                kind = %a.kind, account = ?a.account_id, client = %a.client, target = %a.target,
                detail = %a.detail, "security attempt recorded"
            );
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "could not record an attempt");
        }
    }

    /// The most recent attempts, newest first.
    pub fn attempts(&self, limit: usize) -> Result<Vec<Attempt>, SessionError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db.query(
            "SELECT at, kind, account_id, username, client, target, detail
             FROM attempts ORDER BY id DESC LIMIT ?1",
            vec![Value::Int(limit)],
            |r| {
                Ok(Attempt {
                    at: DateTime::from_timestamp_micros(r.int(0)?)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default(),
                    kind: r.text(1)?,
                    account_id: r.maybe_text(2)?,
                    username: r.maybe_text(3)?,
                    client: r.text(4)?,
                    target: r.text(5)?,
                    detail: r.text(6)?,
                })
            },
        )
    }

    /// Failures in the window for a login name and a client address.
    pub fn failures(
        &self,
        username: &str,
        client: &str,
        window: Duration,
    ) -> Result<(u32, u32), SessionError> {
        let now = self.clock.now();
        match &self.db {
            Db::Sqlite { failures, .. } => {
                let mut f = lock(failures);
                let a = f.by_account.entry(username.to_owned()).or_default();
                prune(a, window, now);
                let na = a.len();
                let c = f.by_client.entry(client.to_owned()).or_default();
                prune(c, window, now);
                let nc = c.len();
                Ok((
                    u32::try_from(na).unwrap_or(u32::MAX),
                    u32::try_from(nc).unwrap_or(u32::MAX),
                ))
            }
            Db::Postgres(db) => {
                let (name, addr, start) = (
                    username.to_owned(),
                    client.to_owned(),
                    window_start(window, now),
                );
                Ok(db
                    .run(move |c| c.transaction(|tx| count_failures_pg(tx, &name, &addr, start)))?)
            }
        }
    }

    /// Counts a failed login; returns the failures now in the window for
    /// the login name and the client address.
    pub fn fail(
        &self,
        username: &str,
        client: &str,
        window: Duration,
    ) -> Result<(u32, u32), SessionError> {
        let now = self.clock.now();
        match &self.db {
            Db::Sqlite { failures, .. } => {
                {
                    let mut f = lock(failures);
                    f.by_account
                        .entry(username.to_owned())
                        .or_default()
                        .push_back(now);
                    f.by_client
                        .entry(client.to_owned())
                        .or_default()
                        .push_back(now);
                }
                self.failures(username, client, window)
            }
            Db::Postgres(db) => {
                let (name, addr, start, at) = (
                    username.to_owned(),
                    client.to_owned(),
                    window_start(window, now),
                    now.timestamp_micros(),
                );
                Ok(db.run(move |c| {
                    c.transaction(|tx| {
                        tx.execute(
                            "INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $5), ($3, $4, $5)",
                            &[&ACCOUNT, &name, &CLIENT, &addr, &at],
                        )?;
                        count_failures_pg(tx, &name, &addr, start)
                    })
                })?)
            }
        }
    }

    /// A successful login clears the login name's count, and takes back
    /// the one attempt it had counted against the client (but not the
    /// client's earlier failures: one good password does not excuse a spray
    /// of bad ones).
    pub fn succeed(&self, username: &str, client: &str) -> Result<(), SessionError> {
        match &self.db {
            Db::Sqlite { failures, .. } => {
                let mut f = lock(failures);
                f.by_account.remove(username);
                if let Some(q) = f.by_client.get_mut(client) {
                    q.pop_back();
                }
            }
            Db::Postgres(db) => {
                let (name, addr) = (username.to_owned(), client.to_owned());
                db.run(move |c| {
                    c.transaction(|tx| {
                        tx.execute(
                            "DELETE FROM login_failures WHERE scope = $1 AND key = $2",
                            &[&ACCOUNT, &name],
                        )?;
                        tx.execute(
                            "DELETE FROM login_failures WHERE id = (
                               SELECT max(id) FROM login_failures WHERE scope = $1 AND key = $2)",
                            &[&CLIENT, &addr],
                        )
                    })
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoso_domain::clock::ManualClock;
    use hoso_ledger::postgres::blocking::testing;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_773_100_800, 0).expect("a time")
    }

    /// A store over a fresh SQLite file.
    fn sqlite(clock: Arc<ManualClock>) -> (tempfile::TempDir, SessionStore) {
        let dir = tempfile::tempdir().expect("dir");
        let s = SessionStore::open(&dir.path().join(SESSIONS_FILE), clock).expect("open");
        (dir, s)
    }

    #[test]
    fn tokens_are_stored_hashed_and_expire_and_revoke() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(SESSIONS_FILE);
        let s = SessionStore::open(&path, Arc::new(ManualClock::new(start()))).expect("open");
        let now = start();
        let (token, session) = s
            .create("acc-1", Duration::from_secs(60), now)
            .expect("create");
        assert_eq!(s.lookup(&token, now).expect("db"), Ok(session.clone()));
        let raw = std::fs::read(&path).expect("read");
        assert!(
            !raw.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token itself is never stored"
        );
        assert_eq!(
            s.lookup(&token, now + chrono::Duration::seconds(61))
                .expect("db"),
            Err(TokenState::Expired)
        );
        // A second store over the same file (a restart) knows the session.
        let again = SessionStore::open(&path, Arc::new(ManualClock::new(start()))).expect("reopen");
        assert!(again.lookup(&token, now).expect("db").is_ok());
        s.revoke(&session.token_hash, now).expect("revoke");
        assert_eq!(s.lookup(&token, now).expect("db"), Err(TokenState::Unknown));
        assert_eq!(
            s.lookup("never-issued", now).expect("db"),
            Err(TokenState::Unknown)
        );
    }

    #[test]
    fn tokens_are_stored_hashed_and_expire_and_revoke_on_every_node_in_postgres() {
        let Some(db) = testing::scratch("sessions in PostgreSQL") else {
            return;
        };
        let clock = Arc::new(ManualClock::new(start()));
        let a = SessionStore::open_postgres(&db, clock.clone()).expect("open");
        let b = SessionStore::open_postgres(&db, clock).expect("open another node's");
        let now = start();
        let (token, session) = a
            .create("acc-1", Duration::from_secs(60), now)
            .expect("create");
        let (other, _) = a
            .create("acc-1", Duration::from_secs(60), now)
            .expect("create");
        assert_eq!(b.lookup(&token, now).expect("db"), Ok(session.clone()));
        let stored: Vec<Vec<u8>> = blocking::Client::connect(&db)
            .expect("connect")
            .run(|c| {
                c.query("SELECT token_hash FROM sessions", &[])?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()
                    .map_err(blocking::Error::from)
            })
            .expect("read");
        assert!(stored.contains(&session.token_hash.to_vec()));
        assert!(
            stored.iter().all(|h| h.as_slice() != token.as_bytes()),
            "the token itself is never stored"
        );
        assert_eq!(
            b.lookup(&token, now + chrono::Duration::seconds(61))
                .expect("db"),
            Err(TokenState::Expired)
        );
        // Revoked through one node, it is gone on the other at once.
        a.revoke(&session.token_hash, now).expect("revoke");
        assert_eq!(b.lookup(&token, now).expect("db"), Err(TokenState::Unknown));
        assert!(a.lookup(&other, now).expect("db").is_ok());
        b.revoke_account("acc-1", now).expect("revoke all");
        assert_eq!(a.lookup(&other, now).expect("db"), Err(TokenState::Unknown));
        assert_eq!(
            a.lookup("never-issued", now).expect("db"),
            Err(TokenState::Unknown)
        );
        // Attempts recorded on one node are read on the other, newest first.
        for kind in ["login-failed", "login-ok"] {
            a.record(&Attempt {
                at: now.to_rfc3339(),
                kind: kind.into(),
                account_id: Some("acc-1".into()),
                username: Some("an".into()),
                client: "1.2.3.4".into(),
                target: "POST /api/v1/sessions".into(),
                detail: String::new(),
            });
        }
        let seen = b.attempts(10).expect("attempts");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].kind, "login-ok");
        assert_eq!(seen[1].at, now.to_rfc3339());
    }

    /// Both backends, each as two nodes would see it (SQLite: one node).
    fn stores(
        clock: &Arc<ManualClock>,
        what: &str,
    ) -> Vec<(
        Option<tempfile::TempDir>,
        SessionStore,
        Option<SessionStore>,
    )> {
        let (dir, s) = sqlite(clock.clone());
        let mut out = vec![(Some(dir), s, None)];
        if let Some(db) = testing::scratch(what) {
            let a = SessionStore::open_postgres(&db, clock.clone()).expect("open");
            let b = SessionStore::open_postgres(&db, clock.clone()).expect("open");
            out.push((None, a, Some(b)));
        }
        out
    }

    #[test]
    fn hy_5_1_failures_are_counted_per_name_and_client_and_cleared_by_success() {
        let clock = Arc::new(ManualClock::new(start()));
        for (_dir, s, other) in stores(&clock, "login failures in PostgreSQL") {
            let t = other.as_ref().unwrap_or(&s);
            let w = Duration::from_secs(60);
            assert_eq!(s.fail("an", "1.2.3.4", w).unwrap(), (1, 1));
            assert_eq!(t.fail("an", "1.2.3.4", w).unwrap(), (2, 2));
            assert_eq!(s.fail("binh", "1.2.3.4", w).unwrap(), (1, 3));
            assert_eq!(t.fail("an", "1.2.3.4", w).unwrap(), (3, 4));
            s.succeed("an", "1.2.3.4").unwrap();
            assert_eq!(t.failures("an", "1.2.3.4", w).unwrap(), (0, 3));
        }
    }

    #[test]
    fn hy_5_1_failures_leave_the_window_as_the_clock_moves() {
        let clock = Arc::new(ManualClock::new(start()));
        for (_dir, s, other) in stores(&clock, "login failure windows in PostgreSQL") {
            clock.set(start());
            let t = other.as_ref().unwrap_or(&s);
            let w = Duration::from_secs(60);
            assert_eq!(s.fail("an", "1.2.3.4", w).unwrap(), (1, 1));
            clock.advance(chrono::Duration::seconds(40));
            assert_eq!(t.fail("an", "1.2.3.4", w).unwrap(), (2, 2));
            // The window's edge is still in it.
            clock.advance(chrono::Duration::seconds(20));
            assert_eq!(s.failures("an", "1.2.3.4", w).unwrap(), (2, 2));
            clock.advance(chrono::Duration::seconds(1));
            assert_eq!(t.failures("an", "1.2.3.4", w).unwrap(), (1, 1));
            clock.advance(chrono::Duration::seconds(40));
            assert_eq!(s.failures("an", "1.2.3.4", w).unwrap(), (0, 0));
        }
    }
}
