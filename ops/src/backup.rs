//! `hoso backup`: a consistent copy of a SQLite-backed data directory, taken while
//! `hoso serve` runs on it (HY 12.2, BT 10.1, KT 12.1, DL 11.4–11.5; a function of the
//! system, DL 7.13, HY 6.2a, DT 23.6), its manifest, and the pruning of old copies by
//! the profile's `[backup]` rule. `hoso keys export` (the secrets a backup leaves out)
//! lives here too, since it must refuse to write beside the backups.
//!
//! A backup is one directory `DEST/<UTC time>-<kind>` holding the log (`ledger.db`),
//! `credentials.db`, `data-keys.db`, `uploads.db`, `attachments/`, `hoso.toml`,
//! `tree-head.json` (and `sessions.db` with `--sessions`), and `manifest.json`: the
//! format, when, which kind, from where, the log's head position and chain head, the
//! latest signed tree head, and every file's size and SHA-256. It is written under
//! `DEST/.incomplete-…` and renamed when complete, so a crash never leaves something
//! that looks like a backup. Left out: the key files (secrets: `hoso keys export`) and
//! the files derived from the log (`ledger-index.db`, `ledger-tree.db`, `readmodel.db`),
//! which a restore rebuilds.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use hoso_domain::calendar::{WorkingCalendar, date_in_vietnam};
use hoso_domain::clock::{Clock, SystemClock};
use hoso_domain::profile::{BackupKind, Profile};
use hoso_ledger::SignedTreeHead;
use hoso_ledger::checkpoint::{CHECKPOINT_STREAM, HEAD_FILE, read_head_file};
use hoso_ledger::sqlite::DB_FILE;
use hoso_schemas::{DomainEvent, Registry};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data_dir::{Backend, DataDir, SETTINGS_FILE};
use crate::progress::Progress;

/// The manifest's format.
pub const MANIFEST_FORMAT: &str = "hoso-backup/1";
/// The manifest's file name inside a backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// A backup being written; never a backup.
pub const INCOMPLETE_PREFIX: &str = ".incomplete-";
/// Marks a directory as a backup destination, so that `keys export` refuses it.
pub const DEST_MARKER: &str = ".hoso-backups";
/// The format of the file `hoso keys export` writes.
pub const KEYS_FORMAT: &str = "hoso-keys/1";
/// SQLite pages copied per step of the online backup (progress between steps).
const PAGES_PER_STEP: std::ffi::c_int = 4_096;

/// The databases copied after the log. Each holds rows that exist before the event
/// that uses them (a data key is wrapped and stored before the first event sealed
/// under it, an upload before the declaration citing it, a credential before the
/// account event naming it): copied after the log, each copy holds everything the
/// log copy refers to, and at worst something it does not yet (harmless: unused).
const AFTER_LOG: [&str; 3] = [
    hoso_commands::credentials::CREDENTIALS_FILE,
    hoso_commands::sealing::DATA_KEYS_FILE,
    hoso_api::UPLOADS_FILE,
];

/// One file of a backup, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the backup, `/`-separated.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// The log as copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogHead {
    /// Events in the copy.
    pub events: u64,
    /// The last event's position (`None` for an empty log).
    pub head_position: Option<u64>,
    /// The last event's chain hash, lowercase hex.
    pub chain_head: Option<String>,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// When the backup was taken.
    pub created: DateTime<Utc>,
    /// `daily`, `monthly`, `quarterly` or `manual`.
    pub kind: String,
    /// The data directory copied.
    pub source: String,
    /// Its profile (whose `[backup]` rule prunes).
    pub profile: String,
    /// The log copied.
    pub log: LogHead,
    /// The latest signed tree head covered by the copy (the newer of `tree-head.json`
    /// and the log's last checkpoint), in `tree-head.json`'s form.
    pub tree_head: Option<SignedTreeHead>,
    /// Every file but this one.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Reads and parses `dir/manifest.json`.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "{} has no readable {MANIFEST_FILE}: not a complete backup",
                dir.display()
            )
        })?;
        let manifest: Self = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a backup manifest", path.display()))?;
        if manifest.format != MANIFEST_FORMAT {
            bail!(
                "{} is of format {:?}; this hoso reads {MANIFEST_FORMAT:?}",
                path.display(),
                manifest.format
            );
        }
        Ok(manifest)
    }
}

/// What `hoso backup` was asked.
pub struct BackupArgs<'a> {
    /// The data directory (`None`: prune only).
    pub data: Option<&'a Path>,
    /// The destination.
    pub to: &'a Path,
    /// The kind; `None`: what the profile's schedule says for today.
    pub kind: Option<BackupKind>,
    /// Copy `sessions.db` too.
    pub sessions: bool,
    /// Then delete what the profile no longer requires.
    pub prune: bool,
}

/// `hoso backup`.
pub async fn run(args: &BackupArgs<'_>) -> anyhow::Result<()> {
    let now = SystemClock.now();
    if let Some(data) = args.data {
        let profile = DataDir::new(data).profile()?;
        let kind = match args.kind {
            Some(k) => Some(k),
            None => {
                let today = date_in_vietnam(now);
                let due = profile
                    .backup()
                    .kind_due(today, &WorkingCalendar::official()?);
                if due.is_none() {
                    println!(
                        "no backup is due on {today} under profile {} ({}); `--kind manual` takes one anyway",
                        profile.name(),
                        profile.backup().citation
                    );
                }
                due
            }
        };
        if let Some(kind) = kind {
            let done = backup(data, args.to, kind, args.sessions, now)?;
            let m = Manifest::read(&done)?;
            println!(
                "backed up {} ({} events, head position {}) to {} ({kind})",
                data.display(),
                m.log.events,
                m.log
                    .head_position
                    .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                done.display()
            );
        }
    } else if !args.prune {
        bail!("give --data DIR to back up, or --prune to prune DEST");
    }
    if args.prune {
        prune(args.to, now, true)?;
    }
    Ok(())
}

/// Refuses a directory whose `hoso.toml` names a backend other than SQLite: its log is
/// in a server, backed up with that server's own tools.
fn refuse_other_backends(data: &Path) -> anyhow::Result<()> {
    let backend = DataDir::new(data).ledger_settings()?.backend;
    if backend != Backend::Sqlite {
        let name = backend.name();
        bail!(
            "{} keeps its log in {name}, not in SQLite: back it up with {name}'s own tools (e.g. pg_dump or pg_basebackup for PostgreSQL); `hoso backup` copies SQLite data directories only",
            data.display()
        );
    }
    Ok(())
}

/// Takes one backup of `data` into a new directory of `to`; answers its path.
pub fn backup(
    data: &Path,
    to: &Path,
    kind: BackupKind,
    sessions: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<PathBuf> {
    refuse_other_backends(data)?;
    let dir = DataDir::new(data);
    if !dir.has_ledger() {
        bail!("{} holds no ledger ({DB_FILE})", data.display());
    }
    let profile = dir.profile()?;
    std::fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    let marker = to.join(DEST_MARKER);
    if !marker.exists() {
        std::fs::write(
            &marker,
            "hoso backups: never keep the exported key file (`hoso keys export`) here.\n",
        )
        .with_context(|| format!("write {}", marker.display()))?;
    }
    let name = format!("{}-{kind}", now.format("%Y%m%dT%H%M%SZ"));
    let tmp = to.join(format!("{INCOMPLETE_PREFIX}{name}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("remove {}", tmp.display()))?;
    }
    std::fs::create_dir(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    let result = copy_into(data, &tmp, sessions);
    let log = match result {
        Ok(log) => log,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let files = list_files(&tmp)?;
    // The newest head the copy covers: the file (read before the log) or the log's
    // own last checkpoint, whichever is larger.
    let from_file = read_head_file(&tmp.join(HEAD_FILE)).ok().flatten();
    let tree_head = match (from_file, log.1) {
        (Some(f), Some(l)) if l.head.tree_size > f.head.tree_size => Some(l),
        (Some(f), _) => Some(f),
        (None, l) => l,
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_owned(),
        created: now,
        kind: kind.name().to_owned(),
        source: std::fs::canonicalize(data)
            .unwrap_or_else(|_| data.to_owned())
            .display()
            .to_string(),
        profile: profile.name().to_owned(),
        log: log.0,
        tree_head,
        files,
    };
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    write_synced(&tmp.join(MANIFEST_FILE), &text)?;
    sync_dir(&tmp)?;
    let mut done = to.join(&name);
    let mut n = 2;
    while done.exists() {
        done = to.join(format!("{name}-{n}"));
        n += 1;
    }
    std::fs::rename(&tmp, &done)
        .with_context(|| format!("rename {} to {}", tmp.display(), done.display()))?;
    sync_dir(to)?;
    Ok(done)
}

/// Copies the directory's files into `tmp`, in the order that keeps them consistent
/// with the log copy; answers the log's head and last checkpoint as copied.
fn copy_into(
    data: &Path,
    tmp: &Path,
    sessions: bool,
) -> anyhow::Result<(LogHead, Option<SignedTreeHead>)> {
    // The signed head before the log: the node appends a head to the log before it
    // writes the file, so a file read now is covered by the log copied next.
    for name in [SETTINGS_FILE, HEAD_FILE] {
        let from = data.join(name);
        if from.exists() {
            copy_file(&from, &tmp.join(name))?;
        }
    }
    let log = copy_database(&data.join(DB_FILE), &tmp.join(DB_FILE), true)?;
    for name in AFTER_LOG {
        let from = data.join(name);
        if from.exists() {
            copy_database(&from, &tmp.join(name), false)?;
        }
    }
    if sessions {
        let from = data.join(hoso_api::sessions::SESSIONS_FILE);
        if from.exists() {
            copy_database(&from, &tmp.join(hoso_api::sessions::SESSIONS_FILE), false)?;
        }
    }
    // Attachments after uploads.db: a document's file is written before its row.
    let attachments = data.join(hoso_api::ATTACHMENTS_DIR);
    if attachments.is_dir() {
        let to = tmp.join(hoso_api::ATTACHMENTS_DIR);
        std::fs::create_dir(&to).with_context(|| format!("create {}", to.display()))?;
        copy_tree(&attachments, &to)?;
    }
    let head = log.ok_or_else(|| anyhow::anyhow!("the log copy has no head"))?;
    Ok(head)
}

/// Copies one SQLite database with the online backup API, inside one read
/// transaction on the source: the copy is the database as of that transaction's
/// start, whatever a running node writes meanwhile (WAL readers do not block the
/// writer, and a held snapshot does not restart the copy). For the log, also answers
/// its head and last checkpoint read in that same snapshot.
#[allow(clippy::type_complexity)]
fn copy_database(
    from: &Path,
    to: &Path,
    is_log: bool,
) -> anyhow::Result<Option<(LogHead, Option<SignedTreeHead>)>> {
    let src = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("open {}", from.display()))?;
    src.busy_timeout(std::time::Duration::from_secs(30))?;
    src.pragma_update(None, "query_only", true)?;
    src.execute_batch("BEGIN")?;
    // A read transaction starts at its first read: take the snapshot now.
    let _: i64 = src.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let head = if is_log {
        Some(log_head(&src).with_context(|| format!("read the head of {}", from.display()))?)
    } else {
        None
    };
    {
        let mut dst = Connection::open(to).with_context(|| format!("create {}", to.display()))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        let what = format!(
            "copying {}",
            from.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        let mut progress: Option<Progress> = None;
        loop {
            let step = backup
                .step(PAGES_PER_STEP)
                .with_context(|| format!("copy {}", from.display()))?;
            let p = backup.progress();
            let total = u64::try_from(p.pagecount).unwrap_or(0);
            let bar = progress.get_or_insert_with(|| Progress::new(&what, total));
            bar.set(total.saturating_sub(u64::try_from(p.remaining).unwrap_or(0)));
            match step {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                // Only the destination (ours alone) can be busy or locked; wait a little.
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
        if let Some(p) = progress {
            p.finish();
        }
        drop(backup);
        // A self-contained file: its pages in the database, no WAL beside it.
        dst.pragma_update(None, "journal_mode", "DELETE")?;
    }
    src.execute_batch("COMMIT")?;
    let file = std::fs::File::open(to)?;
    file.sync_all()?;
    Ok(head)
}

/// The log's last position and chain hash and its last checkpoint, in the snapshot
/// `conn` holds (the ledger's file format: `events` keyed by position).
fn log_head(conn: &Connection) -> anyhow::Result<(LogHead, Option<SignedTreeHead>)> {
    let last: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let checkpoint: Option<(String, u32, Vec<u8>)> = conn
        .query_row(
            "SELECT event_type, schema_version, payload FROM events WHERE stream = ?1 ORDER BY position DESC LIMIT 1",
            [CHECKPOINT_STREAM],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let head = checkpoint.and_then(|(ty, v, payload)| {
        match Registry::standard().decode(&ty, v, &payload) {
            Ok(DomainEvent::TreeHeadSigned(m)) => SignedTreeHead::from_event(&m).ok(),
            _ => None,
        }
    });
    let (head_position, chain_head) = match last {
        Some((p, h)) => (Some(u64::try_from(p)?), Some(hex::encode(h))),
        None => (None, None),
    };
    Ok((
        LogHead {
            events: head_position.map_or(0, |p| p + 1),
            head_position,
            chain_head,
        },
        head,
    ))
}

/// Copies a plain file, synced.
fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    std::fs::File::open(to)?.sync_all()?;
    Ok(())
}

/// Copies a directory tree of plain files. A file that vanished meanwhile (an uncited
/// upload removed after its grace period) is skipped: no event refers to it.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("list {}", from.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            match std::fs::copy(entry.path(), &target) {
                Ok(_) => std::fs::File::open(&target)?.sync_all()?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("copy {}", entry.path().display()));
                }
            }
        }
    }
    sync_dir(to)
}

/// Every file under `root` but the manifest, sorted, with size and SHA-256.
pub fn list_files(root: &Path) -> anyhow::Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.retain(|f| f.path != MANIFEST_FILE);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<FileEntry>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("list {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &rel, out)?;
        } else if kind.is_file() {
            let (size, sha256) = digest(&entry.path())?;
            out.push(FileEntry {
                path: rel,
                size,
                sha256,
            });
        }
    }
    Ok(())
}

/// A file's size and SHA-256 (lowercase hex).
pub fn digest(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("read {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("sync {}", dir.display()))
}

// --- Pruning ------------------------------------------------------------------------

/// A complete backup found in a destination.
#[derive(Debug, Clone)]
struct Found {
    path: PathBuf,
    kind: BackupKind,
    created: DateTime<Utc>,
    profile: String,
}

/// What pruning decided for one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The backup's directory name.
    pub name: String,
    /// Kept or deleted.
    pub keep: bool,
    /// Why.
    pub why: String,
}

/// Deletes from `to` the backups the profile no longer requires and incomplete ones
/// older than a day; prints (when `print`) what it keeps and why. The profile is
/// the one the newest backup names.
pub fn prune(to: &Path, now: DateTime<Utc>, print: bool) -> anyhow::Result<Vec<Decision>> {
    let mut found = Vec::new();
    let mut incomplete = Vec::new();
    for entry in std::fs::read_dir(to).with_context(|| format!("list {}", to.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(INCOMPLETE_PREFIX) {
            incomplete.push(entry.path());
            continue;
        }
        // A directory without a readable manifest is not ours to judge (or delete).
        let Ok(m) = Manifest::read(&entry.path()) else {
            continue;
        };
        let Some(kind) = BackupKind::parse(&m.kind) else {
            continue;
        };
        found.push(Found {
            path: entry.path(),
            kind,
            created: m.created,
            profile: m.profile,
        });
    }
    found.sort_by_key(|f| f.created);
    let mut decisions = Vec::new();
    if let Some(newest) = found.last() {
        let profile = Profile::load(&newest.profile)?;
        let rule = profile.backup();
        let today = date_in_vietnam(now);
        let newest_path = newest.path.clone();
        for f in &found {
            let (keep, why) = if f.path == newest_path {
                (true, "the newest complete backup is always kept".to_owned())
            } else {
                rule.keeps(f.kind, date_in_vietnam(f.created), today)
            };
            let name = f
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            if print {
                println!("{} {name}: {why}", if keep { "keep  " } else { "delete" });
            }
            if !keep {
                std::fs::remove_dir_all(&f.path)
                    .with_context(|| format!("delete {}", f.path.display()))?;
            }
            decisions.push(Decision { name, keep, why });
        }
    }
    for path in incomplete {
        let old = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map(|t| DateTime::<Utc>::from(t) + chrono::Duration::days(1) < now)
            .unwrap_or(false);
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let why = if old {
            "incomplete (interrupted), older than a day".to_owned()
        } else {
            "incomplete, less than a day old (a backup may be running)".to_owned()
        };
        if print {
            println!("{} {name}: {why}", if old { "delete" } else { "keep  " });
        }
        if old {
            std::fs::remove_dir_all(&path).with_context(|| format!("delete {}", path.display()))?;
        }
        decisions.push(Decision {
            name,
            keep: !old,
            why,
        });
    }
    Ok(decisions)
}

// --- Keys export ----------------------------------------------------------------------

/// The file `hoso keys export` writes: each key file's text, by its name.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyExport {
    /// [`KEYS_FORMAT`].
    pub format: String,
    /// When.
    pub exported_at: DateTime<Utc>,
    /// The data directory.
    pub source: String,
    /// File name → its text.
    pub files: std::collections::BTreeMap<String, String>,
}

/// The key files of `data`: (name in a data directory, where it is now).
pub fn key_files(data: &Path) -> Vec<(&'static str, PathBuf)> {
    let dir = DataDir::new(data);
    let field = std::env::var_os(crate::data_dir::KEY_FILE_ENV).map_or_else(
        || data.join(hoso_commands::sealing::KEY_FILE),
        PathBuf::from,
    );
    vec![
        (hoso_commands::sealing::KEY_FILE, field),
        (
            hoso_ledger::ledger_keys::LEDGER_KEY_FILE,
            dir.ledger_key_file(),
        ),
        (
            hoso_commands::connection_key::CONNECTION_KEY_FILE,
            dir.connection_key_file(),
        ),
    ]
}

/// Refuses `file` inside the data directory or inside a backup destination (a
/// directory holding [`DEST_MARKER`] or a manifest): the keys decrypt every dossier,
/// and a copy beside the data or the backups defeats keeping them apart.
fn refuse_beside(data: &Path, file: &Path) -> anyhow::Result<()> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = std::fs::canonicalize(parent)
        .with_context(|| format!("{} does not exist", parent.display()))?;
    let data = std::fs::canonicalize(data).with_context(|| format!("open {}", data.display()))?;
    for dir in parent.ancestors() {
        if dir == data {
            bail!(
                "refusing to write the keys inside the data directory {} : they decrypt every dossier; keep them on separate media",
                data.display()
            );
        }
        if dir.join(DEST_MARKER).exists() || dir.join(MANIFEST_FILE).exists() {
            bail!(
                "refusing to write the keys inside the backup destination {} : a backup and its keys together decrypt every dossier; keep them apart",
                dir.display()
            );
        }
    }
    Ok(())
}

/// `hoso keys export`.
pub fn export_keys(data: &Path, to: &Path, now: DateTime<Utc>) -> anyhow::Result<()> {
    refuse_beside(data, to)?;
    let mut files = std::collections::BTreeMap::new();
    for (name, path) in key_files(data) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("read the key file {}", path.display()))?;
        files.insert(name.to_owned(), text);
    }
    let export = KeyExport {
        format: KEYS_FORMAT.to_owned(),
        exported_at: now,
        source: std::fs::canonicalize(data)
            .unwrap_or_else(|_| data.to_owned())
            .display()
            .to_string(),
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&export)?;
    bytes.push(b'\n');
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| {
            format!(
                "create {} (an existing file is never overwritten)",
                to.display()
            )
        })?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    eprintln!(
        "WARNING: {} now holds the field keys, the ledger key ring and the connection key of {}.\n\
         WARNING: with any backup it DECRYPTS EVERY DOSSIER and can sign tree heads as this province.\n\
         WARNING: keep it apart from the backups (other media, other custody), never beside them, and never in the data directory.",
        to.display(),
        data.display()
    );
    println!(
        "exported {} key files to {}",
        export.files.len(),
        to.display()
    );
    Ok(())
}

/// Reads a key export and writes its files into `dir` (mode 0600); answers their names.
pub fn import_keys(file: &Path, dir: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let export: KeyExport = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a `hoso keys export` file", file.display()))?;
    if export.format != KEYS_FORMAT {
        bail!(
            "{} is of format {:?}; this hoso reads {KEYS_FORMAT:?}",
            file.display(),
            export.format
        );
    }
    let known: Vec<&str> = key_files(dir).iter().map(|(n, _)| *n).collect();
    let mut written = Vec::new();
    for (name, body) in &export.files {
        if !known.contains(&name.as_str()) {
            bail!("{} names an unknown key file {name:?}", file.display());
        }
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        f.write_all(body.as_bytes())?;
        f.sync_all()?;
        written.push(name.clone());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn fake(to: &Path, created: &str, kind: &str, profile: &str) -> PathBuf {
        let created = at(created);
        let dir = to.join(format!("{}-{kind}", created.format("%Y%m%dT%H%M%SZ")));
        std::fs::create_dir_all(&dir).unwrap();
        let m = Manifest {
            format: MANIFEST_FORMAT.into(),
            created,
            kind: kind.into(),
            source: "/data".into(),
            profile: profile.into(),
            log: LogHead {
                events: 0,
                head_position: None,
                chain_head: None,
            },
            tree_head: None,
            files: vec![],
        };
        std::fs::write(dir.join(MANIFEST_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
        dir
    }

    #[test]
    fn prune_keeps_three_months_of_monthly_backups_and_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let to = tmp.path();
        // Hưng Yên: monthly on the last working day, kept 3 months (HY 12.2).
        let aug = fake(to, "2026-08-31T10:00:00Z", "monthly", "hung-yen");
        let sep = fake(to, "2026-09-30T10:00:00Z", "quarterly", "hung-yen");
        let oct = fake(to, "2026-10-30T10:00:00Z", "monthly", "hung-yen");
        let manual = fake(to, "2025-01-02T10:00:00Z", "manual", "hung-yen");
        let half = to.join(format!("{INCOMPLETE_PREFIX}20261205T000000Z-monthly"));
        std::fs::create_dir(&half).unwrap();
        let decisions = prune(to, at("2026-12-06T02:00:00Z"), false).unwrap();
        assert!(!aug.exists(), "August is more than three months old");
        assert!(sep.exists() && oct.exists() && manual.exists());
        // Less than a day old by its mtime: a backup may still be writing it.
        assert!(half.exists());
        assert_eq!(decisions.iter().filter(|d| !d.keep).count(), 1);
        // Far later, only the newest is left (and the manual one).
        prune(to, at("2027-06-01T02:00:00Z"), false).unwrap();
        assert!(!sep.exists() && oct.exists() && manual.exists());
        // Incomplete directories older than a day go.
        prune(to, at("2030-01-01T00:00:00Z"), false).unwrap();
        assert!(!half.exists());
    }

    #[test]
    fn prune_keeps_daily_backups_their_days_in_dak_lak() {
        let tmp = tempfile::tempdir().unwrap();
        let to = tmp.path();
        let old = fake(to, "2026-11-20T10:00:00Z", "daily", "dak-lak");
        let recent = fake(to, "2026-12-03T10:00:00Z", "daily", "dak-lak");
        let first = fake(to, "2026-11-01T10:00:00Z", "monthly", "dak-lak");
        let newest = fake(to, "2026-12-05T10:00:00Z", "daily", "dak-lak");
        prune(to, at("2026-12-06T02:00:00Z"), false).unwrap();
        assert!(!old.exists());
        assert!(recent.exists() && first.exists() && newest.exists());
    }

    #[test]
    fn a_postgres_backed_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(SETTINGS_FILE),
            "profile = \"hung-yen\"\n[ledger]\nbackend = \"postgres\"\n",
        )
        .unwrap();
        let err = refuse_other_backends(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("PostgreSQL") && err.contains("own tools"),
            "{err}"
        );
        std::fs::write(tmp.path().join(SETTINGS_FILE), "profile = \"hung-yen\"\n").unwrap();
        refuse_other_backends(tmp.path()).unwrap();
    }

    #[test]
    fn keys_are_never_exported_into_the_data_directory_or_a_destination() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        let err = refuse_beside(&data, &data.join("sub/keys.json")).unwrap_err();
        assert!(
            err.to_string().contains("inside the data directory"),
            "{err}"
        );
        let dest = tmp.path().join("backups");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join(DEST_MARKER), "").unwrap();
        let err = refuse_beside(&data, &dest.join("keys.json")).unwrap_err();
        assert!(err.to_string().contains("backup destination"), "{err}");
        refuse_beside(&data, &tmp.path().join("keys.json")).unwrap();
    }
}
