//! An API node served in-process over a province's log, for the tests that
//! need the served routes on a clock of their own (the testkit's manual
//! clock: sealing waits for a month to end, `hoso serve` runs on the
//! system's). The node answers over real HTTP on a free port, through a
//! conforming [`Client`] that lets 5xx answers through for the tests that
//! expect them.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hoso_api::{ApiConfig, AppState};
use hoso_commands::workflows::Workflows;
use hoso_ledger::{EventStore, SqliteStore};
use hoso_projections::ReadModel;

use super::api::Client;

/// A served node; the server task stops when it is dropped.
pub struct Node {
    pub api: Client,
    pub state: Arc<AppState>,
    _dir: Option<tempfile::TempDir>,
    server: tokio::task::JoinHandle<()>,
}

impl Deref for Node {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.api
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Node {
    /// Serves `wf` from the data directory `data` (kept alive with `dir`),
    /// with a read model caught up from the log in `store`.
    pub async fn start(
        data: &Path,
        wf: Arc<Workflows>,
        store: &Arc<SqliteStore>,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        Self::start_with(data, wf, store, dir, |s| s).await
    }

    /// As [`Node::start`], with the state adjusted before serving (a
    /// connection key, say).
    pub async fn start_with(
        data: &Path,
        wf: Arc<Workflows>,
        store: &Arc<SqliteStore>,
        dir: Option<tempfile::TempDir>,
        adjust: impl FnOnce(AppState) -> AppState,
    ) -> Self {
        let keyring = wf.keyring().clone();
        let sealer = Arc::new(hoso_api::access::KeyringSealer(keyring.clone()));
        let (read, _) = ReadModel::open(data, wf.clock().clone(), sealer).unwrap();
        read.catch_up(store.as_ref() as &dyn EventStore)
            .await
            .unwrap();
        let state = AppState::new(data, wf, Arc::new(read), keyring, ApiConfig::default()).unwrap();
        let state = Arc::new(adjust(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = state.clone();
        let server = tokio::spawn(async move {
            let _ = hoso_api::serve(listener, served, std::future::pending()).await;
        });
        Self {
            api: Client::conforming(base).await.allowing_server_errors(),
            state,
            _dir: dir,
            server,
        }
    }

    /// A session for `account` without a login (a node whose credentials
    /// live elsewhere).
    pub fn session(&self, account: &str) -> String {
        self.state
            .sessions
            .create(account, Duration::from_secs(3600), self.state.now())
            .unwrap()
            .0
    }
}
