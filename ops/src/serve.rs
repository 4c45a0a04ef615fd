//! `hoso serve`, `hoso keys rotate`, and the part of `hoso init` that the API
//! needs: the Sở Nội vụ administrator with a one-time password.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use hoso_api::ApiConfig;
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

/// `hoso serve`: verifies the log (see [`crate::trust`]), catches the read model up,
/// serves until Ctrl-C, then signs a shutdown tree head.
pub async fn run(
    data: &Path,
    listen: SocketAddr,
    verify: Verify,
    sync_interval: std::time::Duration,
) -> anyhow::Result<()> {
    let node = DataDir::new(data)
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
        node.api(read, ApiConfig::default())?
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
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listen on {listen}"))?;
    let local = listener.local_addr()?;
    println!(
        "hoso serving {} at http://{local}/api/v1 (OpenAPI: http://{local}/api/v1/openapi.json)",
        data.display()
    );
    hoso_api::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
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
pub async fn bootstrap(data: &Path, admin: &str, unit: &str) -> anyhow::Result<()> {
    let o = DataDir::new(data)
        .on(Arc::new(SystemClock))
        .open_served(Keys::Create)
        .await?;
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
