//! `hoso serve`, `hoso keys rotate`, and the part of `hoso init` that the API
//! needs: the Sở Nội vụ administrator with a one-time password.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use hoso_api::{ApiConfig, ReadinessLimits};
use hoso_domain::clock::SystemClock;
use rand::Rng;

use crate::data_dir::{DataDir, Keys};
use crate::trust::{self, Verify};

/// Environment variable giving the first administrator password (automation).
pub const ADMIN_PASSWORD_ENV: &str = "HOSO_ADMIN_PASSWORD";

/// How often the whole log is re-verified in the background while serving.
const SCRUB_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// How often uploads no event cites are looked for (the grace period itself is
/// the profile's, in days).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// `hoso serve`'s readiness bounds; each one given overrides `[health]` in
/// `hoso.toml`, which overrides the defaults ([`hoso_api::ReadinessLimits`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReadinessFlags {
    /// `/readyz` fails below this many bytes free in the data directory's file
    /// system, or below `--min-free-percent` of it, whichever is smaller
    /// (default 1 GiB).
    #[arg(long)]
    pub min_free_bytes: Option<u64>,
    /// See `--min-free-bytes` (0–100; default 5).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_free_percent: Option<u8>,
    /// `/readyz` fails while the read model is more than this many events behind
    /// the log (default 10000).
    #[arg(long)]
    pub max_projection_lag: Option<u64>,
}

/// How browsers reach the node: TLS here, behind a TLS proxy, or plain HTTP
/// (loopback, a trial). Over TLS either way the portal's cookies are `Secure`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WebFlags {
    /// PEM certificate chain (leaf first): serve HTTPS with it and `--tls-key`.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,
    /// A TLS-terminating proxy is in front of this node: browsers use HTTPS,
    /// so the portal marks its cookies `Secure`.
    #[arg(long, conflicts_with = "tls_cert")]
    pub behind_tls_proxy: bool,
}

/// The readiness bounds: the flags', else `hoso.toml`'s `[health]`, else the defaults.
fn readiness(dir: &DataDir, flags: &ReadinessFlags) -> anyhow::Result<ReadinessLimits> {
    let file = dir
        .read_settings()?
        .and_then(|s| s.health)
        .unwrap_or_default();
    let d = ReadinessLimits::default();
    let min_free_percent = flags
        .min_free_percent
        .or(file.min_free_percent)
        .unwrap_or(d.min_free_percent);
    anyhow::ensure!(
        min_free_percent <= 100,
        "{}: [health] min_free_percent must be 0 to 100, not {min_free_percent}",
        dir.settings_file().display()
    );
    Ok(ReadinessLimits {
        min_free_bytes: flags
            .min_free_bytes
            .or(file.min_free_bytes)
            .unwrap_or(d.min_free_bytes),
        min_free_percent,
        max_projection_lag: flags
            .max_projection_lag
            .or(file.max_projection_lag)
            .unwrap_or(d.max_projection_lag),
    })
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM (what `systemctl stop`,
/// `docker stop` and Kubernetes send), saying which: both stop gracefully. The
/// handlers are installed when this is called, not when the future is first polled,
/// so a signal that comes before serving starts is not lost to the default action
/// (ending the process mid-request).
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("handle SIGTERM")?;
    Ok(async move {
        let which = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = which, "stopping");
        println!("stopping ({which}): finishing the requests in flight");
    })
}

/// `hoso serve`: verifies the log (see [`crate::trust`]), catches the read model up,
/// serves until SIGINT (Ctrl-C) or SIGTERM, lets the requests in flight finish, signs
/// a shutdown tree head and checkpoints the read model's write-ahead log.
pub async fn run(
    data: &Path,
    listen: SocketAddr,
    verify: Verify,
    sync_interval: std::time::Duration,
    flags: ReadinessFlags,
    web: WebFlags,
) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let limits = readiness(&dir, &flags)?;
    let node = dir
        .on(Arc::new(SystemClock))
        .open_served(Keys::Open)
        .await?;
    let sealer = trust::open(&node, verify, Keys::OpenOrCreate).await?;
    let connection = Arc::new(
        node.dir
            .connection_key(Keys::OpenOrCreate, node.workflows.clock().now())?,
    );
    let read = node.caught_up_read_model().await?;
    let state = Arc::new(
        node.api(
            read.clone(),
            ApiConfig {
                readiness: limits,
                ..ApiConfig::default()
            },
        )?
        .with_sealer(sealer.clone())
        .with_connection_key(connection),
    );
    // Plaintext attachments of an older directory are encrypted before anyone
    // is served, from what the log says cites them. A failure (a damaged log
    // cannot say) leaves them as they were for the next start: the node still
    // starts, as it does on a damaged log, to say what is wrong.
    if let Err(e) = hoso_api::attachments::migrate(&state).await {
        tracing::error!(error = %e, "the attachments of an older data directory could not be encrypted; they stay as they were until the next start");
        println!("warning: plaintext attachments could not be encrypted: {e}");
    }
    let sweeper = hoso_api::attachments::spawn_sweeper(state.clone(), SWEEP_EVERY);
    let sealing = tokio::spawn(sealer.clone().run());
    let continuous = crate::sync_continuous::describe(state.workflows.profile(), sync_interval)
        .map(|said| {
            println!("{said}");
            crate::sync_continuous::spawn(state.clone(), sync_interval)
        });
    let scrub = (verify == Verify::Incremental)
        .then(|| trust::spawn_scrub(state.workflows.store().clone(), SCRUB_EVERY));
    let stop = stop_signal()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listen on {listen}"))?;
    let local = listener.local_addr()?;
    let (listening, scheme) = match (&web.tls_cert, &web.tls_key) {
        (Some(cert), Some(key)) => {
            let config = hoso_api::tls::server_config(cert, key)?;
            let l = hoso_api::tls::TlsListener::new(listener, config)?;
            (hoso_api::Listening::Tls(l), "https")
        }
        _ => (hoso_api::Listening::Plain(listener), "http"),
    };
    println!(
        "hoso serving {} at {scheme}://{local}/api/v1 (OpenAPI: {scheme}://{local}/api/v1/openapi.json)",
        data.display()
    );
    println!("the portal (web pages, Vietnamese): {scheme}://{local}/");
    let secure = scheme == "https" || web.behind_tls_proxy;
    let app = hoso_portal::mount(
        state.clone(),
        hoso_api::router(state.clone()),
        hoso_portal::PortalConfig { secure },
    );
    hoso_api::serve_app(listening, state, app, stop).await?;
    if let Some(scrub) = scrub {
        scrub.abort();
    }
    sweeper.abort();
    if let Some(continuous) = continuous {
        continuous.abort();
    }
    match sealer.shutdown().await {
        Ok(Some(head)) => println!(
            "stopped; signed the shutdown tree head: size {}, root {}",
            head.head.tree_size,
            hex::encode(head.head.root)
        ),
        Ok(None) => println!("stopped; the ledger is untrusted, so no tree head was signed"),
        Err(e) => {
            tracing::error!(error = %e, "could not sign the shutdown tree head");
            println!("stopped; the shutdown tree head could not be signed: {e}");
        }
    }
    match sealing.await {
        Ok(Err(e)) => tracing::error!(error = %e, "the sealer stopped with an error"),
        Err(e) => tracing::error!(error = %e, "the sealer task failed"),
        Ok(Ok(())) => {}
    }
    // Last: the read model's file alone then holds all it applied, and the next
    // start opens no write-ahead log to replay.
    match tokio::task::spawn_blocking(move || read.checkpoint()).await {
        Ok(Ok(())) => println!("checkpointed the read model"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not checkpoint the read model");
            println!(
                "the read model could not be checkpointed (it is replayed at the next start): {e}"
            );
        }
        Err(e) => tracing::error!(error = %e, "the read model checkpoint failed"),
    }
    Ok(())
}

/// `hoso keys rotate`: a new key-encryption key; every data key re-wrapped
/// in one transaction; the old key dropped from the key file afterwards.
pub fn rotate(data: &Path) -> anyhow::Result<()> {
    let keyring = DataDir::new(data).keyring(Keys::Open)?;
    let r = keyring.rotate()?;
    println!(
        "rotated the key-encryption key of {} from version {} to {}: {} data keys re-wrapped; the log is unchanged",
        keyring.key_file().display(),
        r.from_version,
        r.to_version,
        r.rewrapped
    );
    Ok(())
}

/// A random password meeting DT 10 (upper, lower, digit, special; long).
pub fn one_time_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SPECIAL: &[u8] = b"!@#$%^&*-_=+";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
    let mut p: Vec<char> = Vec::new();
    for _ in 0..4 {
        p.push(pick(UPPER));
        p.push(pick(LOWER));
        p.push(pick(DIGIT));
        p.push(pick(SPECIAL));
    }
    p.iter().collect()
}

/// Creates the key file and the administrator of a fresh `hoso init`.
pub async fn bootstrap(dir: &DataDir, admin: &str, unit: &str, keys: Keys) -> anyhow::Result<()> {
    let o = dir.on(Arc::new(SystemClock)).open_served(keys).await?;
    // Opened as `hoso serve` would, so the directory holds what a served one does.
    o.caught_up_read_model().await?;
    let (password, from_env) = match std::env::var(ADMIN_PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => (p, true),
        _ => (one_time_password(), false),
    };
    let (id, _) = o
        .workflows
        .bootstrap_system_admin(admin, "Quản trị Sở Nội vụ", unit, &password)
        .await
        .context("create the Sở Nội vụ system administrator")?;
    println!(
        "field keys: {} (back it up separately from the log: without it restricted fields cannot be decrypted)",
        o.keyring.key_file().display()
    );
    println!("system administrator {admin} (account {id}) of unit {unit}");
    if from_env {
        println!(
            "its one-time password was taken from {ADMIN_PASSWORD_ENV}; it must be changed at first login (BT 4.4)"
        );
    } else {
        println!(
            "one-time password (shown once; must be changed at first login, BT 4.4): {password}"
        );
    }
    Ok(())
}
