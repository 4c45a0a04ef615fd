//! The hoso JSON API over HTTP (`/api/v1`).
//!
//! A thin layer: every command goes to [`hoso_commands::workflows::Workflows`]
//! (which checks the rules and appends), every read to
//! [`hoso_projections::ReadModel`]. What this crate adds is what only an
//! HTTP boundary can do:
//!
//! - [`sessions`]: login with argon2id-checked passwords, opaque bearer
//!   tokens stored hashed, expiry and revocation, throttling and locking of
//!   repeated failures, and the record of every attempt;
//! - [`access`]: who may read which dossier (outside scope is 404, never
//!   403, so existence is not revealed), restriction levels per field from
//!   the profile, opening sealed fields for cleared readers, and
//!   `AccessLogged` events for reads of restricted data and every read of an
//!   inspector;
//! - [`attachments`]: uploaded documents, each encrypted under its dossier's
//!   data key, cited only from that dossier, with a quota per account on
//!   uncited uploads and a sweeper for those never cited;
//! - [`problem`]: RFC 9457 problems with one stable `type` per rule;
//! - [`routes`]: the handlers and the OpenAPI 3.1 document generated from
//!   them (`/api/v1/openapi.json`);
//! - [`metrics`]: Prometheus text at `/metrics`;
//! - [`sync_cache`]: the verified item digests of the last sealed sync
//!   batches served, so a batch served a page at a time is rendered whole
//!   once;
//! - [`edge`]: limits kept on the connection before hyper parses a request
//!   (an over-long request line answered with a 414 problem).
//!
//! Every string of every request passes `hoso_domain::input`'s rules in the
//! extractors of `extract.rs` (JSON bodies, query strings, path segments)
//! before any route reads it.
//!
//! Where to start reading: [`router`], then `routes/dossiers.rs`.

// `Problem` is every handler's error and is built once per refused request,
// where a few words of copying are nothing beside the round trip; boxing it
// would only make every handler noisier.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use hoso_commands::sealing::Keyring;
use hoso_commands::workflows::Workflows;
use hoso_domain::clock::Clock;
use hoso_projections::ReadModel;

pub mod access;
pub mod attachments;
pub mod edge;
mod extract;
pub mod metrics;
pub mod problem;
pub mod routes;
pub mod sessions;
pub mod sync_cache;
pub mod tls;
mod trust;

pub use attachments::{ATTACHMENTS_DIR, UPLOADS_FILE};

pub use problem::Problem;
pub use routes::ApiDoc;
pub use trust::{StorageHealth, WRITE_PROBE_FILE};

/// Tunables of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// How long a session token lives.
    pub session_ttl: Duration,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Longest wait for the read side to reach a position (`wait_for`).
    pub read_wait: Duration,
    /// Failed logins of one account before it is locked.
    pub lock_after_failures: u32,
    /// Failed logins from one client address before it is refused for the
    /// rest of the window.
    pub client_failures_allowed: u32,
    /// The window over which failures are counted.
    pub failure_window: Duration,
    /// Delay added to the answer of the first failed login; doubled for
    /// each further failure in the window.
    pub failure_delay: Duration,
    /// What `/readyz` requires besides a trusted, writable log.
    pub readiness: ReadinessLimits,
}

/// The bounds `/readyz` checks (see `trust.rs`), from `[health]` in `hoso.toml` or
/// `hoso serve`'s flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessLimits {
    /// Free space the data directory's file system must keep, in bytes ...
    pub min_free_bytes: u64,
    /// ... or in per cent of its size, whichever is smaller: a large disk is not
    /// called full with hundreds of GiB left, nor a small one only at its last bytes.
    pub min_free_percent: u8,
    /// Events the read model may lag behind the log before reads that wait for
    /// a recent write would time out.
    pub max_projection_lag: u64,
}

impl Default for ReadinessLimits {
    fn default() -> Self {
        Self {
            min_free_bytes: 1 << 30,
            min_free_percent: 5,
            max_projection_lag: 10_000,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(8 * 3600),
            body_limit: 256 * 1024,
            read_wait: Duration::from_secs(5),
            lock_after_failures: 5,
            client_failures_allowed: 20,
            failure_window: Duration::from_secs(15 * 60),
            failure_delay: Duration::from_millis(200),
            readiness: ReadinessLimits::default(),
        }
    }
}

/// Everything a handler needs.
pub struct AppState {
    /// The write side.
    pub workflows: Arc<Workflows>,
    /// The read side.
    pub read: Arc<ReadModel>,
    /// Field keys.
    pub keyring: Arc<Keyring>,
    /// Sessions and the record of attempts.
    pub sessions: sessions::SessionStore,
    /// Request metrics.
    pub metrics: metrics::Metrics,
    /// Attachments, encrypted per dossier outside the log.
    pub attachments: Arc<attachments::AttachmentStore>,
    /// Withheld lists per clearance.
    pub withheld: access::WithheldCache,
    /// The verified item digests of the last sealed batches served.
    pub sync_digests: sync_cache::DigestCache,
    /// Tunables.
    pub config: ApiConfig,
    /// The write side's clock: session issue, expiry and revocation, the
    /// time of recorded attempts and the "today" of undated queries.
    pub clock: Arc<dyn Clock>,
    /// The Merkle tree and signed tree heads over the log (`None` on a backend
    /// without dense positions): the ledger routes answer from it.
    pub sealer: Option<Arc<hoso_ledger::sealer::Sealer>>,
    /// The province's connection key (HY 13.6): published at `/sync/keys`,
    /// and the key continuous batches are sealed with.
    pub connection_key: Option<Arc<hoso_commands::connection_key::ConnectionKey>>,
    /// The data directory: `/readyz` measures its free space and probes it.
    pub data_dir: std::path::PathBuf,
    /// The last write that failed for want of storage, until one succeeds.
    pub storage: StorageHealth,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The sessions database.
    #[error("sessions database {path}: {source}")]
    Sessions {
        /// File (or the PostgreSQL URL).
        path: std::path::PathBuf,
        /// Cause.
        source: sessions::SessionError,
    },
    /// The attachment store.
    #[error("attachment store in {path}: {source}")]
    Attachments {
        /// The data directory.
        path: std::path::PathBuf,
        /// Cause.
        source: attachments::AttachmentError,
    },
}

impl AppState {
    /// The state of an API serving the data directory `data`.
    pub fn new(
        data: &Path,
        workflows: Arc<Workflows>,
        read: Arc<ReadModel>,
        keyring: Arc<Keyring>,
        config: ApiConfig,
    ) -> Result<Self, StartError> {
        Self::new_shared(data, workflows, read, keyring, config, None)
    }

    /// [`AppState::new`], with sessions, attempts, login failures, uploads and
    /// attachments in the PostgreSQL database `shared` when nodes share one
    /// (else in the data directory).
    pub fn new_shared(
        data: &Path,
        workflows: Arc<Workflows>,
        read: Arc<ReadModel>,
        keyring: Arc<Keyring>,
        config: ApiConfig,
        shared: Option<&hoso_ledger::postgres::blocking::Database>,
    ) -> Result<Self, StartError> {
        let clock = workflows.clock().clone();
        let sessions_path = match shared {
            Some(db) => std::path::PathBuf::from(db.url()),
            None => data.join(sessions::SESSIONS_FILE),
        };
        let sessions = match shared {
            Some(db) => sessions::SessionStore::open_postgres(db, clock.clone()),
            None => sessions::SessionStore::open(&sessions_path, clock.clone()),
        }
        .map_err(|source| StartError::Sessions {
            path: sessions_path.clone(),
            source,
        })?;
        let attachments = match shared {
            Some(db) => {
                attachments::AttachmentStore::open_postgres(db, keyring.clone(), clock.clone())
            }
            None => attachments::AttachmentStore::open(data, keyring.clone(), clock.clone()),
        }
        .map_err(|source| StartError::Attachments {
            path: data.to_path_buf(),
            source,
        })?;
        Ok(Self {
            workflows,
            read,
            keyring,
            sessions,
            metrics: metrics::Metrics::default(),
            attachments: Arc::new(attachments),
            withheld: access::WithheldCache::default(),
            sync_digests: sync_cache::DigestCache::default(),
            config,
            clock,
            sealer: None,
            connection_key: None,
            data_dir: data.to_path_buf(),
            storage: StorageHealth::default(),
        })
    }

    /// With the node's sealer, for the ledger routes.
    #[must_use]
    pub fn with_sealer(mut self, sealer: Arc<hoso_ledger::sealer::Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// With the province's connection key, for continuous sealing and `/sync/keys`.
    #[must_use]
    pub fn with_connection_key(
        mut self,
        key: Arc<hoso_commands::connection_key::ConnectionKey>,
    ) -> Self {
        self.connection_key = Some(key);
        self
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date in Vietnam, by the injected clock.
    pub fn today(&self) -> NaiveDate {
        hoso_domain::calendar::date_in_vietnam(self.now())
    }
}

impl From<tokio::net::TcpListener> for Listening {
    fn from(l: tokio::net::TcpListener) -> Self {
        Self::Plain(l)
    }
}

impl From<tls::TlsListener> for Listening {
    fn from(l: tls::TlsListener) -> Self {
        Self::Tls(l)
    }
}

/// The whole HTTP surface: `/api/v1/…`, `/healthz`, `/metrics`.
pub fn router(state: Arc<AppState>) -> Router {
    routes::router(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, keeping the
/// read model following the log meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    serve_app(listener, state, app, shutdown).await
}

/// Where [`serve_app`] takes connections from.
#[derive(Debug)]
pub enum Listening {
    /// Plain HTTP (on loopback, or behind a TLS-terminating proxy).
    Plain(tokio::net::TcpListener),
    /// TLS, terminated here.
    Tls(tls::TlsListener),
}

/// [`serve`], answering with `app`: [`router`] with more in front of it (the
/// web portal), which reaches the API only through it.
pub async fn serve_app(
    listener: impl Into<Listening>,
    state: Arc<AppState>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = tokio::spawn(follow(state.clone()));
    let restructurings = tokio::spawn(routes::org::fulfil_restructurings(state.clone()));
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    // `tap_io` with nothing to do is how axum gives a custom listener's
    // connections their `ConnectInfo<SocketAddr>`.
    let served = match listener.into() {
        Listening::Plain(l) => {
            let l = axum::serve::ListenerExt::tap_io(edge::GuardedListener(l), |_| {});
            axum::serve(l, app).with_graceful_shutdown(shutdown).await
        }
        Listening::Tls(l) => {
            let l = axum::serve::ListenerExt::tap_io(l, |_| {});
            axum::serve(l, app).with_graceful_shutdown(shutdown).await
        }
    };
    follower.abort();
    restructurings.abort();
    served
}

/// Keeps the read model following `$all`; a failure is logged and the
/// subscription restarted from the checkpoint after a pause, so a transient
/// error never leaves the API serving a frozen read side.
async fn follow(state: Arc<AppState>) {
    loop {
        let store = state.workflows.store().clone();
        if let Some(damage) = store.damage() {
            // Nothing is projected from a log that failed verification.
            tracing::error!(position = ?damage.position, "the ledger is untrusted: the read model stops following it");
            return;
        }
        match state.read.follow(store.as_ref()).await {
            Ok(()) => tracing::info!("the log subscription ended; resubscribing"),
            Err(e) => tracing::error!(error = %e, "projection follower failed; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
