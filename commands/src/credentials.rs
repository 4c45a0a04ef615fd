//! Passwords: the DT 10 rules a new password must meet, and the credential
//! table that holds argon2id hashes.
//!
//! Credentials are the one piece of mutable state beside the log: a hash has
//! to be replaceable and forgettable, and the log is neither. So they live in
//! their own SQLite file (`credentials.db` in the data directory), and the
//! log records only the *fact* that a password was issued or changed and by
//! whom (`account.PasswordChanged`). Losing this file locks everyone out but
//! loses no record; an administrator reissues passwords (DL 15.7, HY 16.6).
//!
//! Nodes that share a PostgreSQL database keep the same table there
//! ([`CredentialStore::open_postgres`]), so a password set through one node logs
//! in on every other.

use std::path::Path;
use std::sync::Mutex;

use hoso_ledger::postgres::blocking::{self, Database};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use hoso_domain::text::fold;

/// Citation of the complexity rules.
pub const DT_10: &str = "DT 10.1–10.2";
/// Citation of change-after-issue.
pub const BT_4_4: &str = "BT 4.4";

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;

/// What a password must not contain, besides the character-class rules.
#[derive(Debug, Clone, Default)]
pub struct PasswordContext<'a> {
    /// Login name.
    pub username: &'a str,
    /// Holder's full name.
    pub full_name: &'a str,
    /// Holder's date of birth, if known.
    pub birth_date: Option<NaiveDate>,
}

/// A DT 10 rule the password breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("password has {length} characters; at least {MIN_LENGTH} are required ({DT_10})")]
    TooShort {
        /// Characters given.
        length: usize,
    },
    /// A character class is missing.
    #[error("password lacks {class} ({DT_10})")]
    MissingClass {
        /// "an upper-case letter", "a lower-case letter", "a digit" or "a special character".
        class: &'static str,
    },
    /// Contains the username, a part of the name, or the birth date.
    #[error("password contains the holder's {what} ({DT_10})")]
    ContainsPersonalData {
        /// "username", "name" or "date of birth".
        what: &'static str,
    },
    /// Same as the password it replaces.
    #[error("the new password must differ from the current one ({BT_4_4})")]
    Unchanged,
}

/// Checks a new password against DT 10.1–10.2.
pub fn check_password(password: &str, ctx: &PasswordContext<'_>) -> Result<(), PasswordRejection> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordRejection::TooShort { length });
    }
    type Class = (&'static str, fn(char) -> bool);
    let classes: [Class; 4] = [
        ("an upper-case letter", char::is_uppercase),
        ("a lower-case letter", char::is_lowercase),
        ("a digit", |c| c.is_ascii_digit()),
        ("a special character", |c| {
            !c.is_alphanumeric() && !c.is_whitespace()
        }),
    ];
    for (class, test) in classes {
        if !password.chars().any(test) {
            return Err(PasswordRejection::MissingClass { class });
        }
    }
    let folded: String = fold(password)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let username: String = fold(ctx.username)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    if username.len() >= 3 && folded.contains(&username) {
        return Err(PasswordRejection::ContainsPersonalData { what: "username" });
    }
    let name = fold(ctx.full_name);
    let joined: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
    // Short syllables ("an", "le") would forbid half the dictionary; the
    // longer name parts and the whole name are what a guesser tries.
    let name_hit = (joined.len() >= 3 && folded.contains(&joined))
        || name
            .split_whitespace()
            .any(|part| part.chars().count() >= 4 && folded.contains(part));
    if name_hit {
        return Err(PasswordRejection::ContainsPersonalData { what: "name" });
    }
    if let Some(d) = ctx.birth_date {
        let digits: String = password.chars().filter(char::is_ascii_digit).collect();
        let forms = [
            d.format("%d%m%Y").to_string(),
            d.format("%Y%m%d").to_string(),
            d.format("%d%m%y").to_string(),
            d.format("%m%d%Y").to_string(),
        ];
        if forms.iter().any(|f| digits.contains(f.as_str())) {
            return Err(PasswordRejection::ContainsPersonalData {
                what: "date of birth",
            });
        }
    }
    Ok(())
}

/// Failures of the credential table.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The SQLite file failed.
    #[error("credential store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL table failed.
    #[error("credential store: {0}")]
    Postgres(#[from] blocking::Error),
    /// Hashing failed (bad parameters or a stored hash that is not PHC).
    #[error("password hashing: {0}")]
    Hash(String),
    /// The table's lock was poisoned by a panic elsewhere.
    #[error("credential store lock poisoned")]
    Poisoned,
}

/// How a password check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// No credential for the account.
    NoCredential,
    /// Wrong password.
    Mismatch,
    /// Correct; `must_change` is set while an issued password has not been
    /// replaced by its holder (BT 4.4).
    Match {
        /// The holder must change it before doing anything else.
        must_change: bool,
    },
}

/// Where the hashes are kept.
enum Table {
    /// `credentials.db` (or memory).
    Sqlite(Mutex<Connection>),
    /// The `credentials` table of the database the nodes share.
    Postgres(blocking::Client),
}

/// The PostgreSQL table: the SQLite one's columns.
const POSTGRES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS credentials (
    account_id  TEXT PRIMARY KEY,
    phc         TEXT NOT NULL,
    must_change BOOLEAN NOT NULL,
    set_at      TEXT NOT NULL
)";

const POSTGRES_UPSERT: &str =
    "INSERT INTO credentials (account_id, phc, must_change, set_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (account_id) DO UPDATE SET phc = $2, must_change = $3, set_at = $4";

/// The argon2id hashes of account passwords, in `credentials.db` or PostgreSQL.
pub struct CredentialStore {
    table: Table,
    argon: Argon2<'static>,
    /// A hash of nothing anyone knows, verified against when there is no
    /// credential to check, so that an unknown login name costs the same
    /// time as a wrong password.
    decoy: std::sync::OnceLock<String>,
}

impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStore").finish_non_exhaustive()
    }
}

/// A stored credential, opaque outside this module (the hash never leaves
/// it except to be put back).
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialRow {
    phc: String,
    must_change: bool,
    set_at: String,
}

impl std::fmt::Debug for CredentialRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRow")
            .field("must_change", &self.must_change)
            .finish_non_exhaustive()
    }
}

/// File name of the credential table inside a data directory.
pub const CREDENTIALS_FILE: &str = "credentials.db";

impl CredentialStore {
    /// Opens (creating if needed) the credential table at `path`, hashing
    /// with argon2id at the OWASP-recommended cost (19 MiB, 2 passes).
    pub fn open(path: &Path) -> Result<Self, CredentialError> {
        Self::with_connection(Connection::open(path)?, Params::default())
    }

    /// An in-memory table, for tests and throw-away demos.
    pub fn in_memory() -> Result<Self, CredentialError> {
        Self::with_connection(Connection::open_in_memory()?, Params::default())
    }

    /// The `credentials` table of the PostgreSQL database the nodes share
    /// (created if needed), hashing as [`Self::open`] does.
    pub fn open_postgres(db: &Database) -> Result<Self, CredentialError> {
        let client = blocking::Client::connect(db)?;
        blocking::create_schema(&client, "credentials", POSTGRES_SCHEMA)?;
        Ok(Self::with_table(Table::Postgres(client), Params::default()))
    }

    fn with_table(table: Table, params: Params) -> Self {
        Self {
            table,
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            decoy: std::sync::OnceLock::new(),
        }
    }

    fn with_connection(conn: Connection, params: Params) -> Result<Self, CredentialError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS credentials (
                 account_id  TEXT PRIMARY KEY,
                 phc         TEXT NOT NULL,
                 must_change INTEGER NOT NULL,
                 set_at      TEXT NOT NULL
             ) STRICT;",
        )?;
        Ok(Self::with_table(Table::Sqlite(Mutex::new(conn)), params))
    }

    /// Writes a row, replacing the account's.
    fn upsert(
        &self,
        account_id: &str,
        phc: &str,
        must_change: bool,
        set_at: &str,
    ) -> Result<(), CredentialError> {
        match &self.table {
            Table::Sqlite(conn) => {
                let conn = conn.lock().map_err(|_| CredentialError::Poisoned)?;
                conn.execute(
                    "INSERT INTO credentials (account_id, phc, must_change, set_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(account_id) DO UPDATE SET phc = ?2, must_change = ?3, set_at = ?4",
                    params![account_id, phc, must_change, set_at],
                )?;
            }
            Table::Postgres(client) => {
                let (id, phc, at) = (account_id.to_owned(), phc.to_owned(), set_at.to_owned());
                client.run(move |c| c.execute(POSTGRES_UPSERT, &[&id, &phc, &must_change, &at]))?;
            }
        }
        Ok(())
    }

    fn hash(&self, password: &str) -> Result<String, CredentialError> {
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| CredentialError::Hash(e.to_string()))?;
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CredentialError::Hash(e.to_string()))
    }

    /// Stores a new password for the account, replacing any earlier one.
    pub fn set(
        &self,
        account_id: &str,
        password: &str,
        must_change: bool,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialError> {
        let phc = self.hash(password)?;
        self.upsert(account_id, &phc, must_change, &at.to_rfc3339())
    }

    /// Removes an account's credential (used to undo a password whose
    /// logging failed, so the table never holds a password the log does not
    /// know was issued).
    pub fn remove(&self, account_id: &str) -> Result<(), CredentialError> {
        match &self.table {
            Table::Sqlite(conn) => {
                let conn = conn.lock().map_err(|_| CredentialError::Poisoned)?;
                conn.execute(
                    "DELETE FROM credentials WHERE account_id = ?1",
                    params![account_id],
                )?;
            }
            Table::Postgres(client) => {
                let id = account_id.to_owned();
                client.run(move |c| {
                    c.execute("DELETE FROM credentials WHERE account_id = $1", &[&id])
                })?;
            }
        }
        Ok(())
    }

    /// The stored row of an account (its hash, flag and time), to put back
    /// if what replaces it cannot be logged.
    pub fn snapshot(&self, account_id: &str) -> Result<Option<CredentialRow>, CredentialError> {
        match &self.table {
            Table::Sqlite(conn) => {
                let conn = conn.lock().map_err(|_| CredentialError::Poisoned)?;
                Ok(conn
                    .query_row(
                        "SELECT phc, must_change, set_at FROM credentials WHERE account_id = ?1",
                        params![account_id],
                        |r| {
                            Ok(CredentialRow {
                                phc: r.get(0)?,
                                must_change: r.get(1)?,
                                set_at: r.get(2)?,
                            })
                        },
                    )
                    .optional()?)
            }
            Table::Postgres(client) => {
                let id = account_id.to_owned();
                client
                    .run(move |c| {
                        let row = c.query_opt(
                        "SELECT phc, must_change, set_at FROM credentials WHERE account_id = $1",
                        &[&id],
                    )?;
                        row.map(|r| -> Result<_, blocking::Error> {
                            Ok(CredentialRow {
                                phc: r.try_get(0)?,
                                must_change: r.try_get(1)?,
                                set_at: r.try_get(2)?,
                            })
                        })
                        .transpose()
                    })
                    .map_err(CredentialError::from)
            }
        }
    }

    /// Puts back what [`Self::snapshot`] returned (removing the credential
    /// when there was none).
    pub fn restore(
        &self,
        account_id: &str,
        row: Option<&CredentialRow>,
    ) -> Result<(), CredentialError> {
        let Some(row) = row else {
            return self.remove(account_id);
        };
        self.upsert(account_id, &row.phc, row.must_change, &row.set_at)
    }

    /// Spends the time of a real check without checking anything: for a
    /// login name that does not exist or an account that may not log in.
    pub fn verify_decoy(&self, password: &str) -> Result<(), CredentialError> {
        let phc = match self.decoy.get() {
            Some(p) => p.clone(),
            None => {
                let secret: [u8; 16] = rand::random();
                let p = self.hash(&hex::encode(secret))?;
                self.decoy.get_or_init(|| p).clone()
            }
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| CredentialError::Hash(e.to_string()))?;
        // The outcome is meaningless by construction.
        let _ = self.argon.verify_password(password.as_bytes(), &parsed);
        Ok(())
    }

    /// Checks a password.
    pub fn verify(
        &self,
        account_id: &str,
        password: &str,
    ) -> Result<PasswordCheck, CredentialError> {
        let row: Option<(String, bool)> = self
            .snapshot(account_id)?
            .map(|r| (r.phc.clone(), r.must_change));
        let Some((phc, must_change)) = row else {
            self.verify_decoy(password)?;
            return Ok(PasswordCheck::NoCredential);
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| CredentialError::Hash(e.to_string()))?;
        Ok(
            match self.argon.verify_password(password.as_bytes(), &parsed) {
                Ok(()) => PasswordCheck::Match { must_change },
                Err(_) => PasswordCheck::Mismatch,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PasswordContext<'static> {
        PasswordContext {
            username: "duc.nv",
            full_name: "Nguyễn Văn Đức",
            birth_date: NaiveDate::from_ymd_opt(1990, 5, 17),
        }
    }

    #[test]
    fn dt_10_1_password_complexity() {
        assert_eq!(check_password("Gio-Mua-Thu#2026", &ctx()), Ok(()));
        assert_eq!(
            check_password("Short#1a", &ctx()),
            Err(PasswordRejection::TooShort { length: 8 })
        );
        for (pw, class) in [
            ("gio-mua-thu#2026", "an upper-case letter"),
            ("GIO-MUA-THU#2026", "a lower-case letter"),
            ("Gio-Mua-Thu#abcd", "a digit"),
            ("GioMuaThu20262026", "a special character"),
        ] {
            assert_eq!(
                check_password(pw, &ctx()),
                Err(PasswordRejection::MissingClass { class }),
                "{pw}"
            );
        }
    }

    #[test]
    fn dt_10_2_password_must_not_contain_name_username_or_birth_date() {
        for (pw, what) in [
            ("Xx#9NguyenVanDuc", "name"),
            ("Xx#9-nguyễn-2026", "name"),
            ("Xx#9-Ducnv-2026", "username"),
            ("Gio-Mua#17051990", "date of birth"),
            ("Gio-Mua#19900517", "date of birth"),
        ] {
            assert!(
                matches!(
                    check_password(pw, &ctx()),
                    Err(PasswordRejection::ContainsPersonalData { what: w }) if w == what
                ),
                "{pw}: {:?}",
                check_password(pw, &ctx())
            );
        }
    }

    #[test]
    fn stored_hashes_verify_and_are_salted() {
        hashes_verify_and_are_salted(&CredentialStore::in_memory().unwrap());
    }

    #[test]
    fn stored_hashes_verify_and_are_salted_in_postgres() {
        let Some(db) =
            hoso_ledger::postgres::blocking::testing::scratch("credentials in PostgreSQL")
        else {
            return;
        };
        let store = CredentialStore::open_postgres(&db).unwrap();
        hashes_verify_and_are_salted(&store);
        // Another node's store over the same database sees the same hashes,
        // and a snapshot put back is the row as it was.
        let other = CredentialStore::open_postgres(&db).unwrap();
        assert_eq!(
            other.verify("b", "Gio-Mua-Thu#2026").unwrap(),
            PasswordCheck::Match { must_change: false }
        );
        let before = store.snapshot("a").unwrap();
        let now = DateTime::from_timestamp(1_773_100_900, 0).unwrap();
        other.set("a", "Khac-Hoan-Toan#9", false, now).unwrap();
        assert_eq!(
            store.verify("a", "Gio-Mua-Thu#2026").unwrap(),
            PasswordCheck::Mismatch
        );
        store.restore("a", before.as_ref()).unwrap();
        assert_eq!(
            other.verify("a", "Gio-Mua-Thu#2026").unwrap(),
            PasswordCheck::Match { must_change: true }
        );
        store.remove("a").unwrap();
        assert_eq!(other.verify("a", "x").unwrap(), PasswordCheck::NoCredential);
    }

    fn hashes_verify_and_are_salted(store: &CredentialStore) {
        // Any instant will do: only the hashes are checked.
        let now = DateTime::from_timestamp(1_773_100_800, 0).unwrap();
        store.set("a", "Gio-Mua-Thu#2026", true, now).unwrap();
        store.set("b", "Gio-Mua-Thu#2026", false, now).unwrap();
        assert_eq!(
            store.verify("a", "Gio-Mua-Thu#2026").unwrap(),
            PasswordCheck::Match { must_change: true }
        );
        assert_eq!(store.verify("a", "wrong").unwrap(), PasswordCheck::Mismatch);
        assert_eq!(store.verify("c", "x").unwrap(), PasswordCheck::NoCredential);
        let phcs: Vec<String> = ["a", "b"]
            .iter()
            .map(|id| store.snapshot(id).unwrap().unwrap().phc)
            .collect();
        assert!(phcs[0].starts_with("$argon2id$"));
        assert_ne!(phcs[0], phcs[1], "same password, different salt");
    }
}
