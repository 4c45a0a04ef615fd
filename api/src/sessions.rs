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

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hoso_domain::clock::Clock;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
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

/// The sessions database and the in-memory failure counters.
pub struct SessionStore {
    conn: Mutex<Connection>,
    cache: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<Failures>,
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

impl SessionStore {
    /// Opens or creates the database; failure windows are timed by `clock`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, rusqlite::Error> {
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
            conn: Mutex::new(conn),
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(Failures::default()),
            clock,
        })
    }

    /// Starts a session; returns the token (shown to the client once).
    pub fn create(
        &self,
        account_id: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(String, Session), rusqlite::Error> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let hash = token_hash(&token);
        let expires_at =
            now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(8));
        lock(&self.conn).execute(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                hash.as_slice(),
                account_id,
                now.timestamp(),
                expires_at.timestamp()
            ],
        )?;
        let session = Session {
            token_hash: hash,
            account_id: account_id.to_owned(),
            expires_at,
        };
        lock(&self.cache).insert(hash, session.clone());
        Ok((token, session))
    }

    /// The session of a token, or why there is none.
    pub fn lookup(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Session, TokenState>, rusqlite::Error> {
        let hash = token_hash(token);
        let cached = lock(&self.cache).get(&hash).cloned();
        let session = match cached {
            Some(s) => Some(s),
            None => {
                let row = lock(&self.conn)
                    .query_row(
                        "SELECT account_id, expires_at FROM sessions
                         WHERE token_hash = ?1 AND revoked_at IS NULL",
                        [hash.as_slice()],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                    )
                    .optional()?;
                row.and_then(|(account_id, exp)| {
                    let s = Session {
                        token_hash: hash,
                        account_id,
                        expires_at: DateTime::from_timestamp(exp, 0)?,
                    };
                    lock(&self.cache).insert(hash, s.clone());
                    Some(s)
                })
            }
        };
        Ok(match session {
            None => Err(TokenState::Unknown),
            Some(s) if s.expires_at <= now => Err(TokenState::Expired),
            Some(s) => Ok(s),
        })
    }

    /// Ends one session.
    pub fn revoke(&self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<(), rusqlite::Error> {
        lock(&self.conn).execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            params![hash.as_slice(), now.timestamp()],
        )?;
        lock(&self.cache).remove(hash);
        Ok(())
    }

    /// Ends every session of an account (password changed, account locked).
    pub fn revoke_account(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), rusqlite::Error> {
        lock(&self.conn).execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
            params![account_id, now.timestamp()],
        )?;
        lock(&self.cache).retain(|_, s| s.account_id != account_id);
        Ok(())
    }

    /// Ends every session of an account but one (the one that changed the
    /// password carries on).
    pub fn revoke_others(
        &self,
        account_id: &str,
        keep: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<(), rusqlite::Error> {
        lock(&self.conn).execute(
            "UPDATE sessions SET revoked_at = ?3
             WHERE account_id = ?1 AND token_hash != ?2 AND revoked_at IS NULL",
            params![account_id, keep.as_slice(), now.timestamp()],
        )?;
        lock(&self.cache).retain(|h, s| s.account_id != account_id || h == keep);
        Ok(())
    }

    /// Records an attempt. A failure to record is logged, never fatal to
    /// the request being answered.
    pub fn record(&self, a: &Attempt) {
        let at = DateTime::parse_from_rfc3339(&a.at)
            .map(|t| t.timestamp_micros())
            .unwrap_or_else(|_| self.clock.now().timestamp_micros());
        let result = lock(&self.conn).execute(
            "INSERT INTO attempts (at, kind, account_id, username, client, target, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                at,
                a.kind,
                a.account_id,
                a.username,
                a.client,
                a.target,
                a.detail
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
    pub fn attempts(&self, limit: usize) -> Result<Vec<Attempt>, rusqlite::Error> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare(
            "SELECT at, kind, account_id, username, client, target, detail
             FROM attempts ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            let at: i64 = r.get(0)?;
            Ok(Attempt {
                at: DateTime::from_timestamp_micros(at)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
                kind: r.get(1)?,
                account_id: r.get(2)?,
                username: r.get(3)?,
                client: r.get(4)?,
                target: r.get(5)?,
                detail: r.get(6)?,
            })
        })?;
        rows.collect()
    }

    /// Failures in the window for a login name and a client address.
    pub fn failures(&self, username: &str, client: &str, window: Duration) -> (u32, u32) {
        let now = self.clock.now();
        let mut f = lock(&self.failures);
        let a = f.by_account.entry(username.to_owned()).or_default();
        prune(a, window, now);
        let na = a.len();
        let c = f.by_client.entry(client.to_owned()).or_default();
        prune(c, window, now);
        let nc = c.len();
        (
            u32::try_from(na).unwrap_or(u32::MAX),
            u32::try_from(nc).unwrap_or(u32::MAX),
        )
    }

    /// Counts a failed login; returns the failures now in the window for
    /// the login name and the client address.
    pub fn fail(&self, username: &str, client: &str, window: Duration) -> (u32, u32) {
        {
            let now = self.clock.now();
            let mut f = lock(&self.failures);
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

    /// A successful login clears the login name's count, and takes back
    /// the one attempt it had counted against the client (but not the
    /// client's earlier failures: one good password does not excuse a spray
    /// of bad ones).
    pub fn succeed(&self, username: &str, client: &str) {
        let mut f = lock(&self.failures);
        f.by_account.remove(username);
        if let Some(q) = f.by_client.get_mut(client) {
            q.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoso_domain::clock::ManualClock;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_773_100_800, 0).expect("a time")
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
    fn hy_5_1_failures_are_counted_per_name_and_client_and_cleared_by_success() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = Arc::new(ManualClock::new(start()));
        let s = SessionStore::open(&dir.path().join(SESSIONS_FILE), clock.clone()).expect("open");
        let w = Duration::from_secs(60);
        assert_eq!(s.fail("an", "1.2.3.4", w), (1, 1));
        assert_eq!(s.fail("an", "1.2.3.4", w), (2, 2));
        assert_eq!(s.fail("binh", "1.2.3.4", w), (1, 3));
        assert_eq!(s.fail("an", "1.2.3.4", w), (3, 4));
        s.succeed("an", "1.2.3.4");
        assert_eq!(s.failures("an", "1.2.3.4", w), (0, 3));
    }

    #[test]
    fn hy_5_1_failures_leave_the_window_as_the_clock_moves() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = Arc::new(ManualClock::new(start()));
        let s = SessionStore::open(&dir.path().join(SESSIONS_FILE), clock.clone()).expect("open");
        let w = Duration::from_secs(60);
        assert_eq!(s.fail("an", "1.2.3.4", w), (1, 1));
        clock.advance(chrono::Duration::seconds(40));
        assert_eq!(s.fail("an", "1.2.3.4", w), (2, 2));
        // The window's edge is still in it.
        clock.advance(chrono::Duration::seconds(20));
        assert_eq!(s.failures("an", "1.2.3.4", w), (2, 2));
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(s.failures("an", "1.2.3.4", w), (1, 1));
        clock.advance(chrono::Duration::seconds(40));
        assert_eq!(s.failures("an", "1.2.3.4", w), (0, 0));
    }
}
