//! `hoso serve` and the parts of `hoso init` that the API needs: opening a
//! data directory for serving (log, profile, credentials, field keys, read
//! model) and creating the Sở Nội vụ administrator with a one-time
//! password.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hoso_api::{ApiConfig, AppState};
use hoso_commands::credentials::{CREDENTIALS_FILE, CredentialStore};
use hoso_commands::sealing::Keyring;
use hoso_commands::workflows::Workflows;
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::SystemClock;
use hoso_domain::profile::Profile;
use hoso_ledger::{EventStore, SqliteStore, StoreOptions};
use hoso_projections::ReadModel;
use rand::Rng;

use crate::SETTINGS_FILE;

/// Environment variable naming the field-key file when it is kept outside
/// the data directory (production: a separate volume or secret mount).
pub const KEY_FILE_ENV: &str = "HOSO_FIELD_KEY_FILE";
/// Environment variable giving the first administrator password (automation).
pub const ADMIN_PASSWORD_ENV: &str = "HOSO_ADMIN_PASSWORD";

/// The key file named by the environment, if any.
pub fn field_key_file() -> Option<PathBuf> {
    std::env::var_os(KEY_FILE_ENV).map(PathBuf::from)
}

#[derive(serde::Deserialize)]
struct Settings {
    profile: Option<String>,
}

/// The profile the data directory was initialised with.
pub fn profile_of(data: &Path) -> anyhow::Result<Profile> {
    let path = data.join(SETTINGS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("read {} (is this a `hoso init` directory?)", path.display()))?;
    let s: Settings = toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    Ok(Profile::load(s.profile.as_deref().unwrap_or("national"))?)
}

/// A data directory opened for commands and reads.
pub struct Opened {
    /// The write side.
    pub workflows: Arc<Workflows>,
    /// The read side, caught up.
    pub read: Arc<ReadModel>,
    /// Field keys.
    pub keyring: Arc<Keyring>,
}

/// Opens everything in `data`; the field-key file must exist (a missing one
/// is the documented "cannot decrypt: key file missing" failure).
pub async fn open(data: &Path) -> anyhow::Result<Opened> {
    let profile = profile_of(data)?;
    let store = SqliteStore::open(data, StoreOptions::default())
        .with_context(|| format!("opening the ledger in {}", data.display()))?;
    let keyring = Arc::new(Keyring::open(data, field_key_file().as_deref())?);
    let credentials = CredentialStore::open(&data.join(CREDENTIALS_FILE))?;
    let store: Arc<dyn EventStore> = Arc::new(store);
    let workflows = Arc::new(Workflows::new(
        store.clone(),
        profile,
        WorkingCalendar::official()?,
        Arc::new(SystemClock),
        credentials,
        keyring.clone(),
    ));
    let (read, found) = ReadModel::open(data, workflows.clock().clone())?;
    if let hoso_projections::Found::Stale { version } = found {
        println!(
            "the read model was written by projection version {version}; rebuilding it as version {}",
            hoso_projections::PROJECTION_VERSION
        );
    }
    let applied = read.catch_up(store.as_ref()).await?;
    if applied > 0 {
        println!("read model caught up by {applied} events");
    }
    Ok(Opened {
        workflows,
        read: Arc::new(read),
        keyring,
    })
}

/// `hoso serve`.
pub async fn run(data: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let o = open(data).await?;
    let state = Arc::new(AppState::new(
        data,
        o.workflows,
        o.read,
        o.keyring,
        ApiConfig::default(),
    )?);
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
    println!("stopped");
    Ok(())
}

/// `hoso keys rotate`: a new key-encryption key; every data key re-wrapped
/// in one transaction; the old key dropped from the key file afterwards.
pub fn rotate(data: &Path) -> anyhow::Result<()> {
    let keyring = Keyring::open(data, field_key_file().as_deref())?;
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
pub async fn bootstrap(
    data: &Path,
    profile: Profile,
    admin: &str,
    unit: &str,
) -> anyhow::Result<()> {
    Keyring::create(data, field_key_file().as_deref())?;
    let o = open(data).await?;
    drop(profile);
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
