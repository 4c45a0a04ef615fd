//! `hoso init`: an empty ledger, its key rings, the settings file naming its
//! profile and backend, and the Sở Nội vụ's first administrator — made all or
//! nothing as far as a later command can tell.
//!
//! A run writes [`INIT_MARKER`] before anything else and removes it only
//! after the administrator exists. Every other command refuses a directory
//! that bears it, and running `hoso init` again on such a directory starts
//! over: the databases the interrupted run wrote are removed (nothing was ever
//! served from them), and the key files it finished (each is written whole,
//! by rename) are kept and reused.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use hoso_commands::credentials::CREDENTIALS_FILE;
use hoso_commands::sealing::DATA_KEYS_FILE;
use hoso_domain::clock::{Clock, SystemClock};
use hoso_domain::profile::Profile;
use hoso_ledger::sqlite::{DB_FILE, INDEX_FILE, LOCK_FILE};
use hoso_projections::READ_MODEL_FILE;

use crate::data_dir::{self, DataDir, INIT_MARKER, Keys, LedgerSettings, SETTINGS_FILE};

/// The first administrator `hoso init` makes, unless told to make none.
pub struct Admin<'a> {
    pub username: &'a str,
    pub unit: &'a str,
}

/// Runs `hoso init` on `data`.
pub async fn run(
    data: &Path,
    profile: &str,
    ledger: &LedgerSettings,
    admin: Option<Admin<'_>>,
) -> anyhow::Result<()> {
    // Check the profile and the URL first, so that a typo leaves nothing behind.
    let profile = Profile::load(profile)?;
    if ledger.backend != data_dir::Backend::Sqlite {
        ledger.checked_url()?;
    }
    let dir = DataDir::new(data).initialising();
    let resumed = dir.init_marker().exists();
    if resumed {
        println!(
            "{}: an earlier `hoso init` was interrupted before it finished; starting it over",
            data.display()
        );
        clear_interrupted(data)?;
    } else {
        anyhow::ensure!(
            !dir.settings_file().exists(),
            "{} already exists: this directory was made already",
            dir.settings_file().display()
        );
        anyhow::ensure!(
            !dir.has_ledger(),
            "{} already exists: this directory holds a ledger already",
            dir.ledger_file().display()
        );
    }
    mark(data)?;
    // Key files an interrupted run finished are reused; the others are made.
    let keys = if resumed {
        Keys::OpenOrCreate
    } else {
        Keys::Create
    };
    make(&dir, &profile, ledger, keys).await?;
    if let Some(admin) = admin {
        crate::serve::bootstrap(&dir, admin.username, admin.unit, keys).await?;
    }
    unmark(data)
}

/// The ledger, its key rings and the settings file.
async fn make(
    dir: &DataDir,
    profile: &Profile,
    ledger: &LedgerSettings,
    keys: Keys,
) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let where_ = if ledger.backend == data_dir::Backend::Sqlite {
        let store = dir.on(clock.clone()).create_store()?;
        store.path().display().to_string()
    } else {
        let url = ledger.checked_url()?.to_owned();
        dir.write_settings_with(profile, "hoso init", ledger)?;
        let (store, _, _) = dir.on(clock.clone()).connect_ledger().await?;
        if store.head_position().await?.is_some() {
            // Undo the settings: this directory is not a node of that ledger yet.
            let _ = std::fs::remove_file(dir.settings_file());
            anyhow::bail!(
                "{url} already holds a ledger: another node is made by copying hoso.toml, field-keys.json, ledger-keys.json and connection-key.json of an existing node into a new directory (docs/deployment.md), not by `hoso init` (an interrupted `hoso init` of this node that had already written to it leaves the same: give it a new database)"
            );
        }
        format!("{url} ({})", ledger.backend.name())
    };
    let ring = dir.ledger_keys(keys, clock.now())?;
    let connection = dir.connection_key(keys, clock.now())?;
    dir.write_settings_with(profile, "hoso init", ledger)?;
    println!(
        "created an empty ledger at {} for {} (profile {})",
        where_,
        profile.province(),
        profile.name()
    );
    println!(
        "ledger key {} in {} signs tree heads; publish its public key for inspectors: {}",
        ring.active().key_id,
        ring.path().display(),
        hex::encode(ring.active().public_key.as_bytes())
    );
    println!(
        "province connection key {} in {} signs continuous sync batches (HY 13.6); give its public key to the national database: {}",
        connection.key_id(),
        connection.path().display(),
        connection.public_key_hex()
    );
    Ok(())
}

/// The files an interrupted run may have written that are not whole by
/// construction: every database (with its journal, WAL and shared-memory
/// files), the ledger's side file and lock, and the settings. The key files
/// (`ledger-keys.json`, `field-keys.json`, `connection-key.json`) are written by
/// rename, so they are whole if present, and are kept: the field keys' data
/// keys (`data-keys.db`) go with the databases, since nothing sealed under
/// them survives.
fn clear_interrupted(data: &Path) -> anyhow::Result<()> {
    let databases = [
        DB_FILE,
        INDEX_FILE,
        READ_MODEL_FILE,
        CREDENTIALS_FILE,
        DATA_KEYS_FILE,
        hoso_api::sessions::SESSIONS_FILE,
        hoso_api::UPLOADS_FILE,
    ];
    let mut doomed: Vec<String> = databases
        .iter()
        .flat_map(|db| {
            ["", "-wal", "-shm", "-journal"]
                .into_iter()
                .map(move |tail| format!("{db}{tail}"))
        })
        .collect();
    doomed.extend(
        [
            "ledger.db.creating",
            "ledger.db.creating-journal",
            LOCK_FILE,
            SETTINGS_FILE,
            hoso_ledger::checkpoint::HEAD_FILE,
        ]
        .map(str::to_owned),
    );
    for name in doomed {
        let path = data.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed what the interrupted init wrote")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("remove {}", path.display())),
        }
    }
    Ok(())
}

/// Writes the marker (and the directory) durably before anything else.
fn mark(data: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("create {}", data.display()))?;
    let marker = data.join(INIT_MARKER);
    std::fs::write(
        &marker,
        "hoso init has not finished here; run it again to start over\n",
    )
    .and_then(|()| std::fs::File::open(&marker)?.sync_all())
    .with_context(|| format!("write {}", marker.display()))?;
    sync_dir(data)
}

/// Removes the marker durably: from here on the directory is a node.
fn unmark(data: &Path) -> anyhow::Result<()> {
    let marker = data.join(INIT_MARKER);
    std::fs::remove_file(&marker).with_context(|| format!("remove {}", marker.display()))?;
    sync_dir(data)
}

fn sync_dir(data: &Path) -> anyhow::Result<()> {
    std::fs::File::open(data)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("sync {}", data.display()))
}
