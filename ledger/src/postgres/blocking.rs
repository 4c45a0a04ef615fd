//! A PostgreSQL client for synchronous code: the stores that live beside the log
//! (credentials, sessions and login throttling, wrapped data keys, uploads) have
//! synchronous APIs that async handlers call, as they call SQLite's.
//!
//! Each [`Client`] is a dedicated OS thread that owns one `tokio-postgres`
//! connection and its own current-thread runtime; callers hand it a closure over a
//! channel and wait for the answer. So nothing ever `block_on`s inside the caller's
//! tokio runtime: the only runtime blocked on is the worker thread's own. One client
//! serialises its callers, as the `Mutex<Connection>` of a SQLite store does; each
//! store opens its own. A connection the server closed (a restart, a failover) is
//! opened again before the next job.
//!
//! [`Database`] is where to connect: a URL that must not carry a password, and the
//! password given apart (from the environment or a file, never the settings file).

use std::fmt;
use std::str::FromStr;
use std::sync::mpsc;

use tokio::runtime::Runtime;
use tokio_postgres::NoTls;
pub use tokio_postgres::Row;
pub use tokio_postgres::types::ToSql;
use zeroize::Zeroizing;

/// Why a PostgreSQL operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL does not parse as a PostgreSQL connection string.
    #[error("invalid PostgreSQL URL: {0}")]
    Url(String),
    /// The URL carries a password: it belongs in the environment or a file.
    #[error(
        "the PostgreSQL URL carries a password; remove it from the URL and give it in \
         HOSO_DATABASE_PASSWORD or a file named by HOSO_DATABASE_PASSWORD_FILE"
    )]
    PasswordInUrl,
    /// The server or the connection failed.
    #[error("PostgreSQL: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The worker thread's runtime could not be built.
    #[error("PostgreSQL client thread: {0}")]
    Runtime(#[from] std::io::Error),
    /// The worker thread is gone (it panicked).
    #[error("the PostgreSQL client thread has stopped")]
    Gone,
}

impl Error {
    /// The SQLSTATE of a server error (`23505` is a unique violation).
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Postgres(e) => e.code().map(tokio_postgres::error::SqlState::code),
            _ => None,
        }
    }
}

/// The server's own message when there is one: `tokio_postgres::Error`'s
/// `Display` alone says only "db error".
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Where to connect: a URL without a password, and the password apart.
#[derive(Clone)]
pub struct Database {
    url: String,
    password: Option<Zeroizing<String>>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Database {
    /// `url` (`postgres://user@host:port/db`, or key=value form) and the password,
    /// if the server asks for one. A URL carrying a password is refused
    /// ([`Error::PasswordInUrl`]): it would end up in `hoso.toml` and in logs.
    pub fn new(url: &str, password: Option<String>) -> Result<Self, Error> {
        let config =
            tokio_postgres::Config::from_str(url).map_err(|e| Error::Url(e.to_string()))?;
        if config.get_password().is_some() {
            return Err(Error::PasswordInUrl);
        }
        Ok(Self {
            url: url.to_owned(),
            password: password.map(Zeroizing::new),
        })
    }

    /// The URL (no password in it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The password, if any.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref().map(String::as_str)
    }

    /// The connection settings, password included.
    pub fn config(&self) -> Result<tokio_postgres::Config, Error> {
        let mut config =
            tokio_postgres::Config::from_str(&self.url).map_err(|e| Error::Url(e.to_string()))?;
        if let Some(p) = self.password() {
            config.password(p);
        }
        Ok(config)
    }
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// A connection owned by its own thread; see the module doc.
pub struct Client {
    jobs: mpsc::Sender<Job>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Starts the thread and connects; the first connection's failure is the answer.
    pub fn connect(db: &Database) -> Result<Self, Error> {
        let config = db.config()?;
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, started) = mpsc::sync_channel::<Result<(), Error>>(1);
        std::thread::Builder::new()
            .name("hoso-postgres".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(e.into()));
                        return;
                    }
                };
                let client = match open(&rt, &config) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let mut conn = Conn { rt, client, config };
                // Ends when every sender (the `Client`) is dropped.
                while let Ok(job) = inbox.recv() {
                    if conn.client.is_closed() {
                        match open(&conn.rt, &conn.config) {
                            Ok(c) => conn.client = c,
                            Err(e) => {
                                tracing::warn!(error = %e, "PostgreSQL: could not reconnect");
                            }
                        }
                    }
                    job(&mut conn);
                }
            })?;
        started.recv().map_err(|_| Error::Gone)??;
        Ok(Self { jobs })
    }

    /// Runs `f` on the connection's thread and waits for its answer. Blocking:
    /// the calling thread waits (as on a SQLite connection's lock), no runtime is
    /// entered.
    pub fn run<T, E>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(f(conn));
        });
        self.jobs.send(job).map_err(|_| E::from(Error::Gone))?;
        answer.recv().map_err(|_| E::from(Error::Gone))?
    }
}

fn open(rt: &Runtime, config: &tokio_postgres::Config) -> Result<tokio_postgres::Client, Error> {
    let (client, connection) = rt.block_on(config.connect(NoTls))?;
    // Driven whenever the thread blocks on a query (a current-thread runtime).
    rt.spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %describe(&e), "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The connection as a job sees it: every call blocks the client's own thread.
pub struct Conn {
    rt: Runtime,
    client: tokio_postgres::Client,
    config: tokio_postgres::Config,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

impl Conn {
    /// Runs statements separated by `;`, without parameters.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        Ok(self.rt.block_on(self.client.batch_execute(sql))?)
    }

    /// Runs one statement; the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        Ok(self.rt.block_on(self.client.execute(sql, params))?)
    }

    /// The rows of a query.
    pub fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        Ok(self.rt.block_on(self.client.query(sql, params))?)
    }

    /// At most one row.
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        Ok(self.rt.block_on(self.client.query_opt(sql, params))?)
    }

    /// Exactly one row.
    pub fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        Ok(self.rt.block_on(self.client.query_one(sql, params))?)
    }

    /// Runs `f` in a transaction, committed when it answers `Ok` and rolled back
    /// otherwise.
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let Conn { rt, client, .. } = self;
        let tx = rt.block_on(client.transaction()).map_err(Error::from)?;
        let mut t = Tx { rt, tx };
        let out = f(&mut t)?;
        rt.block_on(t.tx.commit()).map_err(Error::from)?;
        Ok(out)
    }
}

/// A transaction of a [`Conn`]; dropped without commit, it rolls back.
pub struct Tx<'a> {
    rt: &'a Runtime,
    tx: tokio_postgres::Transaction<'a>,
}

impl fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl Tx<'_> {
    /// Runs statements separated by `;`, without parameters.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        Ok(self.rt.block_on(self.tx.batch_execute(sql))?)
    }

    /// Runs one statement; the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        Ok(self.rt.block_on(self.tx.execute(sql, params))?)
    }

    /// The rows of a query.
    pub fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        Ok(self.rt.block_on(self.tx.query(sql, params))?)
    }

    /// At most one row.
    pub fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        Ok(self.rt.block_on(self.tx.query_opt(sql, params))?)
    }

    /// Exactly one row.
    pub fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        Ok(self.rt.block_on(self.tx.query_one(sql, params))?)
    }

    /// Takes the transaction-scoped advisory lock `(class, key)`: two nodes
    /// creating the same tables, or the same account's uploads, wait for each other.
    pub fn advisory_lock(&mut self, class: i32, key: &str) -> Result<(), Error> {
        self.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&class, &key],
        )
        .map(|_| ())
    }
}

/// Advisory lock classes of the shared stores (the first key of
/// [`Tx::advisory_lock`]): one per store, so their locks never collide.
pub mod lock_class {
    /// Creating the tables of a store.
    pub const SCHEMA: i32 = 0x686f_0001;
    /// The data-key table: creating a dossier's key, re-wrapping all of them.
    pub const DATA_KEYS: i32 = 0x686f_0002;
    /// One account's uploads (its quota).
    pub const UPLOADS: i32 = 0x686f_0003;
}

/// Creates a store's tables once, whatever number of nodes start at once:
/// `CREATE TABLE IF NOT EXISTS` alone races on the catalogue.
pub fn create_schema(client: &Client, store: &'static str, ddl: &'static str) -> Result<(), Error> {
    client.run(move |c| {
        c.transaction(|tx| {
            tx.advisory_lock(lock_class::SCHEMA, store)?;
            tx.batch_execute(ddl)
        })
    })
}

/// Tests against a real server (feature `conformance`), for synchronous tests: the
/// rule and the names are [`super::testing`]'s.
#[cfg(feature = "conformance")]
pub mod testing {
    use super::{Client, Database};
    use crate::postgres::testing::{server_url, with_database};

    /// A fresh database `hoso_t_<random hex>` for `what`, or `None` after the skip
    /// note of [`server_url`] (a failure under `HOSO_CI_STANDALONE`).
    ///
    /// # Panics
    /// When the server cannot be reached or refuses: this is test support.
    pub fn scratch(what: &str) -> Option<Database> {
        let url = server_url(what)?;
        let name = format!("hoso_t_{}", hex::encode(rand::random::<[u8; 8]>()));
        let admin = Database::new(&url, None)
            .and_then(|db| Client::connect(&db))
            .unwrap_or_else(|e| panic!("HOSO_POSTGRES_URL: {e}"));
        let sql = format!("CREATE DATABASE {name}");
        admin
            .run(move |c| c.batch_execute(&sql))
            .unwrap_or_else(|e| panic!("scratch database for {what}: {e}"));
        Some(
            Database::new(&with_database(&url, &name), None)
                .unwrap_or_else(|e| panic!("scratch database for {what}: {e}")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_a_password_is_refused() {
        assert!(matches!(
            Database::new("postgres://hoso:secret@127.0.0.1/hoso", None),
            Err(Error::PasswordInUrl)
        ));
        let db = Database::new("postgres://hoso@127.0.0.1/hoso", Some("secret".into())).unwrap();
        assert_eq!(db.password(), Some("secret"));
        assert!(!format!("{db:?}").contains("secret"));
        assert!(matches!(
            Database::new("not a url at all", None),
            Err(Error::Url(_))
        ));
    }
}
