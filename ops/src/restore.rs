//! `hoso restore`: a backup made by `hoso backup` checked and put back as a data
//! directory. Nothing of the target changes unless every check passes: the files are
//! copied into a scratch directory beside it, checked there, and renamed into place
//! at the end.
//!
//! The checks, in order: the manifest (every file present, its size and SHA-256); every
//! hash chain of the log (the whole-log verification of `hoso verify`) and its head
//! against the manifest; the backup's signed tree head against the log (its root at its
//! size, its signature by a key the log registers in `ledger-keys`, not revoked for it);
//! then the rollback check. The target may be absent, empty, or an existing node: its
//! `tree-head.json` (and a `--published-head FILE` the operator gives, e.g. a head a
//! client or the national database holds) is what the node had published. A published
//! head larger than the backup's log, or whose root the backup's log does not
//! reproduce, is a rollback, refused unless `--accept-rollback REASON`; accepted, it is
//! recorded in the log as `ledger.RollbackAccepted` under a new signed head, so holders
//! of the newer head can see why the log no longer extends it. An existing node's
//! directory is kept, renamed `DIR.replaced-<time>`, never deleted.
//!
//! Keys: `--keys FILE` (from `hoso keys export`) puts the key files back; without it
//! the operator does (or `HOSO_FIELD_KEY_FILE` / `HOSO_LEDGER_KEY_FILE` already name
//! them). The read model is rebuilt when the field keys are at hand, else by the first
//! `hoso serve`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use hoso_api::access::KeyringSealer;
use hoso_domain::clock::{Clock, SystemClock};
use hoso_ledger::checkpoint::{CHECKPOINT_STREAM, HEAD_FILE, KEYS_STREAM, read_head_file};
use hoso_ledger::merkle::Frontier;
use hoso_ledger::sealer::{CheckpointPolicy, Sealer, SealerFiles, log_against_head};
use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::{
    EventStore, ExpectedRevision, Hash, KeyId, NewEvent, SignedTreeHead, SqliteStore, StoreError,
};
use hoso_projections::ReadModel;
use hoso_schemas::{DomainEvent, Registry};

use crate::backup::{Manifest, digest, import_keys, sync_dir};
use crate::data_dir::{DataDir, Keys};
use crate::progress::Progress;

/// The stream of `ledger.RollbackAccepted`.
pub const ROLLBACK_STREAM: &str = "ledger-rollbacks";

/// What `hoso restore` was asked.
pub struct RestoreArgs<'a> {
    /// The backup directory.
    pub from: &'a Path,
    /// The data directory to restore into.
    pub data: &'a Path,
    /// A `hoso keys export` file.
    pub keys: Option<&'a Path>,
    /// A signed tree head the node published (tree-head.json's form).
    pub published_head: Option<&'a Path>,
    /// The operator's reason for accepting a rollback.
    pub accept_rollback: Option<&'a str>,
}

/// A published head the restored log does not extend.
struct Rollback {
    head: SignedTreeHead,
    from: String,
    why: String,
}

/// What the verification pass collected.
#[derive(Default)]
struct Seen {
    frontier: Frontier,
    /// Roots at the sizes asked for.
    roots: std::collections::BTreeMap<u64, Hash>,
    keys: Vec<(KeyId, ed25519_dalek::VerifyingKey)>,
    revoked: Vec<(KeyId, u64)>,
    last_checkpoint: Option<SignedTreeHead>,
    undecodable: Option<String>,
    last_hash: Option<Hash>,
}

/// `hoso restore`.
pub async fn run(args: &RestoreArgs<'_>) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let manifest = check_manifest(args.from)?;
    if let Some(reason) = args.accept_rollback
        && reason.trim().is_empty()
    {
        bail!("--accept-rollback needs the reason, in words, recorded in the log");
    }
    // The published heads: the target's own and the operator's.
    let mut published = Vec::new();
    let target_exists = args.data.exists()
        && std::fs::read_dir(args.data)
            .with_context(|| format!("list {}", args.data.display()))?
            .next()
            .is_some();
    if target_exists {
        if !args.data.join(DB_FILE).exists() && !args.data.join(HEAD_FILE).exists() {
            bail!(
                "{} is neither empty nor a hoso data directory: restore into an empty or new directory",
                args.data.display()
            );
        }
        refuse_running(args.data)?;
        if let Some(h) = read_head_file(&args.data.join(HEAD_FILE))
            .with_context(|| format!("read {}", args.data.join(HEAD_FILE).display()))?
        {
            published.push((h, format!("{}", args.data.join(HEAD_FILE).display())));
        }
    }
    if let Some(file) = args.published_head {
        let h = read_head_file(file)
            .with_context(|| format!("read {}", file.display()))?
            .ok_or_else(|| anyhow::anyhow!("{} does not exist", file.display()))?;
        published.push((h, file.display().to_string()));
    }

    let scratch = scratch_beside(args.data, now)?;
    let outcome = restore_into(args, &manifest, &published, &scratch, now).await;
    if let Err(e) = outcome {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(e);
    }
    // Into place: an existing directory is kept aside, never deleted.
    if args.data.exists() {
        if target_exists {
            let aside = sibling(
                args.data,
                &format!("replaced-{}", now.format("%Y%m%dT%H%M%SZ")),
            );
            std::fs::rename(args.data, &aside).with_context(|| {
                format!("move {} aside to {}", args.data.display(), aside.display())
            })?;
            println!("the previous directory is kept as {}", aside.display());
        } else {
            std::fs::remove_dir(args.data)
                .with_context(|| format!("remove the empty {}", args.data.display()))?;
        }
    }
    std::fs::rename(&scratch, args.data)
        .with_context(|| format!("rename {} to {}", scratch.display(), args.data.display()))?;
    if let Some(parent) = args.data.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    println!(
        "restored {} into {}",
        args.from.display(),
        args.data.display()
    );
    Ok(())
}

/// Refuses a target a running node holds (its `ledger.lock` is taken).
fn refuse_running(data: &Path) -> anyhow::Result<()> {
    let lock = data.join(hoso_ledger::sqlite::LOCK_FILE);
    if !lock.exists() {
        return Ok(());
    }
    let file = std::fs::File::open(&lock).with_context(|| format!("open {}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "a hoso process holds {} (is `hoso serve` running on it?): stop it before restoring",
            data.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("lock {}", lock.display()))
        }
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "data".to_owned(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!("{name}.{suffix}"))
}

/// A new scratch directory beside `data` (same file system: the final rename is atomic).
fn scratch_beside(data: &Path, now: DateTime<Utc>) -> anyhow::Result<PathBuf> {
    let name = data
        .file_name()
        .map_or_else(|| "data".to_owned(), |n| n.to_string_lossy().into_owned());
    let parent = data
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    let scratch = parent.join(format!(
        ".{name}.restoring-{}",
        now.format("%Y%m%dT%H%M%S%.6fZ")
    ));
    std::fs::create_dir(&scratch).with_context(|| format!("create {}", scratch.display()))?;
    Ok(scratch)
}

/// The manifest, and every file it lists present with its size and SHA-256.
pub fn check_manifest(from: &Path) -> anyhow::Result<Manifest> {
    let manifest = Manifest::read(from)?;
    if !manifest.files.iter().any(|f| f.path == DB_FILE) {
        bail!("REFUSED: the backup {} lists no {DB_FILE}", from.display());
    }
    let total: u64 = manifest.files.iter().map(|f| f.size).sum();
    let progress = Progress::new("checking files", total);
    let mut done = 0;
    for f in &manifest.files {
        let path = from.join(&f.path);
        if f.path
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            bail!(
                "REFUSED: the manifest names a path outside the backup: {:?}",
                f.path
            );
        }
        if !path.is_file() {
            bail!(
                "REFUSED: the backup {} is incomplete: {} is missing",
                from.display(),
                f.path
            );
        }
        let (size, sha256) = digest(&path)?;
        if size != f.size {
            bail!(
                "REFUSED: {} in the backup has {size} bytes, the manifest says {}: the backup is damaged",
                f.path,
                f.size
            );
        }
        if sha256 != f.sha256 {
            bail!(
                "REFUSED: {} in the backup does not have the SHA-256 the manifest records: the backup is damaged",
                f.path
            );
        }
        done += size;
        progress.set(done);
    }
    progress.finish();
    Ok(manifest)
}

async fn restore_into(
    args: &RestoreArgs<'_>,
    manifest: &Manifest,
    published: &[(SignedTreeHead, String)],
    scratch: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for f in &manifest.files {
        let to = scratch.join(&f.path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(args.from.join(&f.path), &to).with_context(|| format!("copy {}", f.path))?;
    }
    let keys_from = match args.keys {
        Some(file) => {
            let names = import_keys(file, scratch)?;
            println!(
                "keys: restored {} from {}",
                names.join(", "),
                file.display()
            );
            true
        }
        None => false,
    };
    // With `--keys` the directory is self-contained; without, the environment may
    // name key files kept elsewhere.
    let dir = if keys_from {
        DataDir::self_contained(scratch)
    } else {
        DataDir::new(scratch)
    };

    // The whole log, verified; the roots the checks need computed on the way.
    let backup_head = manifest.tree_head.clone();
    let mut sizes: Vec<u64> = published.iter().map(|(h, _)| h.head.tree_size).collect();
    if let Some(h) = &backup_head {
        sizes.push(h.head.tree_size);
    }
    let seen = verify_log(scratch, &sizes).await?;
    let events = seen.frontier.size();
    let head_hash = seen.last_hash.map(hex::encode);
    if events != manifest.log.events || head_hash != manifest.log.chain_head {
        bail!(
            "REFUSED: the log in the backup ends at {} events (chain head {}), the manifest says {} ({}): the manifest does not describe this log",
            events,
            head_hash.as_deref().unwrap_or("-"),
            manifest.log.events,
            manifest.log.chain_head.as_deref().unwrap_or("-")
        );
    }
    println!("log: {events} events, every hash chain intact");

    // The backup's own head against its log.
    let latest = match (
        read_head_file(&scratch.join(HEAD_FILE)).ok().flatten(),
        seen.last_checkpoint.clone(),
    ) {
        (Some(f), Some(l)) if l.head.tree_size > f.head.tree_size => Some(l),
        (Some(f), _) => Some(f),
        (None, l) => l,
    };
    if latest != backup_head {
        bail!(
            "REFUSED: the manifest's signed tree head is not the latest the backup holds: the manifest does not describe this backup"
        );
    }
    if let Some(h) = &backup_head {
        if let Some(damage) =
            log_against_head(h, events, seen.roots.get(&h.head.tree_size).copied())
        {
            bail!(
                "REFUSED: the backup's log does not hold against its signed tree head: {}",
                damage.detail
            );
        }
        check_signature(h, &seen).map_err(|e| {
            anyhow::anyhow!(
                "REFUSED: the backup's signed tree head (size {}): {e}",
                h.head.tree_size
            )
        })?;
        println!(
            "tree head: size {} signed at {} by key {}, the log reproduces its root",
            h.head.tree_size, h.head.signed_at, h.head.key_id
        );
    }

    // Rollback: a published head the restored log does not extend.
    let rollbacks: Vec<Rollback> = published
        .iter()
        .filter_map(|(h, from)| {
            let why = if h.head.tree_size > events {
                format!(
                    "it covers {} events, the backup's log {events}: events {events}..{} would be lost",
                    h.head.tree_size,
                    h.head.tree_size - 1
                )
            } else if seen.roots.get(&h.head.tree_size) != Some(&h.head.root) {
                format!(
                    "the backup's first {} events do not hash to its root: the logs have diverged",
                    h.head.tree_size
                )
            } else {
                return None;
            };
            Some(Rollback {
                head: h.clone(),
                from: from.clone(),
                why,
            })
        })
        .collect();
    for r in &rollbacks {
        println!(
            "ROLLBACK: the head published in {} (size {}, signed {}): {}",
            r.from, r.head.head.tree_size, r.head.head.signed_at, r.why
        );
    }
    let newest = rollbacks.iter().max_by_key(|r| r.head.head.tree_size);
    if let Some(r) = newest {
        let Some(reason) = args.accept_rollback else {
            bail!(
                "REFUSED: restoring this backup rolls the log back below a head the node already published ({}); holders of that head will see the log no longer extends it. Give --accept-rollback \"REASON\" to restore anyway (recorded in the log)",
                r.why
            );
        };
        record_rollback(&dir, r, events, &seen, reason, now).await?;
    }

    // The read model: rebuilt now if the field keys are at hand.
    match dir.keyring(Keys::Open) {
        Ok(keyring) => {
            let store = dir.on(Arc::new(SystemClock)).open_store()?;
            let total = store.head_position().await?.map_or(0, |h| h + 1);
            let progress = Progress::new("rebuilding", total);
            let sealer = Arc::new(KeyringSealer(Arc::new(keyring)));
            let (_model, report) =
                ReadModel::rebuild(scratch, &store, Arc::new(SystemClock), sealer, &|n| {
                    progress.set(n)
                })
                .await
                .context("rebuilding the read model")?;
            progress.finish();
            println!("read model rebuilt from {} events", report.events);
        }
        Err(e) => {
            tracing::info!(error = %e, "no field keys: read model left to `hoso serve`");
            println!(
                "keys: not restored (no --keys); put field-keys.json, ledger-keys.json and connection-key.json back into {} (or name them with HOSO_FIELD_KEY_FILE / HOSO_LEDGER_KEY_FILE) before `hoso serve`, which then rebuilds the read model",
                args.data.display()
            );
        }
    }
    Ok(())
}

/// Verifies every chain of the log in `dir` (read-only), collecting the Merkle roots at
/// `sizes`, the keys `ledger-keys` registers and revokes, and the last checkpoint.
async fn verify_log(dir: &Path, sizes: &[u64]) -> anyhow::Result<Seen> {
    let store = SqliteStore::open_read_only(dir)
        .map_err(|e| anyhow::anyhow!("REFUSED: the backup's log cannot be opened: {e}"))?;
    let total = store.head_position().await?.map_or(0, |p| p + 1);
    let progress = Progress::new("verifying", total);
    let registry = Registry::standard();
    let seen = Mutex::new(Seen::default());
    let wanted: std::collections::BTreeSet<u64> = sizes.iter().copied().collect();
    let result = store
        .verify_all(&|page| {
            if let Some(last) = page.last() {
                progress.set(last.position + 1);
            }
            let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
            for e in page {
                if wanted.contains(&s.frontier.size()) {
                    let (size, root) = (s.frontier.size(), s.frontier.root());
                    s.roots.insert(size, root);
                }
                s.frontier.push(&e.hash);
                s.last_hash = Some(e.hash);
                if e.stream != KEYS_STREAM && e.stream != CHECKPOINT_STREAM {
                    continue;
                }
                match hoso_ledger::typed::decode(&registry, e) {
                    Ok(DomainEvent::LedgerKeyRegistered(k)) => {
                        if let (Ok(id), Ok(bytes)) = (
                            KeyId::from_slice(&k.key_id),
                            <[u8; 32]>::try_from(k.public_key.as_slice()),
                        ) && let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                        {
                            s.keys.push((id, key));
                        }
                    }
                    Ok(DomainEvent::LedgerKeyRevoked(k)) => {
                        if let Ok(id) = KeyId::from_slice(&k.key_id) {
                            s.revoked.push((id, k.valid_through_tree_size));
                        }
                    }
                    Ok(DomainEvent::TreeHeadSigned(m)) => {
                        s.last_checkpoint = SignedTreeHead::from_event(&m).ok();
                    }
                    Ok(_) => {}
                    Err(err) => {
                        if s.undecodable.is_none() {
                            s.undecodable = Some(err.to_string());
                        }
                    }
                }
            }
        })
        .await;
    progress.finish();
    match result {
        Ok(_) => {}
        Err(e @ (StoreError::Chain(_) | StoreError::Corrupt { .. })) => {
            bail!("REFUSED: the backup's log is damaged: {e}")
        }
        Err(e) => return Err(e.into()),
    }
    let mut seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = seen.undecodable.take() {
        bail!("REFUSED: the backup's log holds an event that does not decode: {e}");
    }
    if wanted.contains(&seen.frontier.size()) {
        let (size, root) = (seen.frontier.size(), seen.frontier.root());
        seen.roots.insert(size, root);
    }
    Ok(seen)
}

/// The head's signature by a key the log registers, not revoked for its size.
fn check_signature(head: &SignedTreeHead, seen: &Seen) -> Result<(), String> {
    let id = head.head.key_id;
    let Some((_, key)) = seen.keys.iter().find(|(k, _)| *k == id) else {
        return Err(format!(
            "its key {id} is not registered in the log's ledger-keys"
        ));
    };
    if let Some((_, through)) = seen.revoked.iter().find(|(k, _)| *k == id)
        && head.head.tree_size > *through
    {
        return Err(format!(
            "its key {id} is revoked for heads beyond size {through}"
        ));
    }
    head.verify(key)
        .map_err(|e| format!("the signature does not verify under key {id}: {e}"))
}

/// Appends `ledger.RollbackAccepted` under a signed head: the sealer opens (verifying,
/// signing an opening head), the event is appended, and a shutdown head covers it, so
/// the first `hoso serve` finds the log as a clean stop leaves it.
async fn record_rollback(
    dir: &DataDir,
    rollback: &Rollback,
    events: u64,
    seen: &Seen,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ring = dir.ledger_keys(Keys::Open, now).context(
        "accepting a rollback signs a tree head over its record: give --keys (the `hoso keys export` file) or put ledger-keys.json back first",
    )?;
    let store = dir.on(clock.clone()).open_store()?;
    let profile = dir.profile()?;
    let rule = profile.ledger();
    let files = SealerFiles {
        tree: dir.path().join(hoso_ledger::tree::TREE_FILE),
        head: dir.head_file(),
    };
    let (sealer, report) = Sealer::open(
        Arc::new(store.clone()),
        files,
        ring,
        hoso_commands::ledger_time(clock),
        CheckpointPolicy {
            every_events: rule.checkpoint_every_events,
            every: std::time::Duration::from_secs(rule.checkpoint_every_seconds),
        },
        false,
        &|_| (),
    )
    .await?;
    if let Some(damage) = report.damage {
        bail!("REFUSED: the restored log does not open: {}", damage.detail);
    }
    let restored_root = seen.frontier.root();
    let event = hoso_schemas::pb::ledger::RollbackAccepted {
        newer_tree_size: rollback.head.head.tree_size,
        newer_root: rollback.head.head.root.to_vec(),
        restored_tree_size: events,
        restored_root: restored_root.to_vec(),
        reason: reason.to_owned(),
        accepted_at_micros: now.timestamp_micros(),
    };
    let event = DomainEvent::RollbackAccepted(event);
    let mut new = NewEvent::new(
        event.type_name(),
        event.schema_version(),
        event.encode_payload(),
    );
    new.actor = "operator".to_owned();
    store
        .append(ROLLBACK_STREAM, ExpectedRevision::Any, vec![new])
        .await?;
    let head = sealer.shutdown().await?;
    println!(
        "ROLLBACK ACCEPTED: recorded in the log ({ROLLBACK_STREAM}: newer head size {}, restored size {events}, reason {reason:?}){}",
        rollback.head.head.tree_size,
        head.map_or_else(String::new, |h| format!(
            "; new tree head of size {} signed",
            h.head.tree_size
        ))
    );
    Ok(())
}
