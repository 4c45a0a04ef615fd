//! Backup and restore (issue 17; HY 12.2, BT 10.1, KT 12.1, DL 11.4–11.5): the drill —
//! serve a node, back it up while a client keeps writing, stop it, wipe its directory,
//! restore (keys from `hoso keys export`), serve again and compare the API's answers
//! byte for byte — and the refusals: a damaged or incomplete backup, a rollback below a
//! published head (then accepted and recorded), keys exported into the data directory.
//!
//! Exactness: the writes under load are accounts of the province's root unit, which
//! the compared answers (dossiers, search, the department's tree, headcount, annual
//! report) do not look at, and the answers are
//! taken on the original after the backup and checked equal to those taken before the
//! load: whatever position in the load the backup caught, these answers are the ones
//! the original gives at that position.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::support::api::{Client, HEALTH, ROOT};
use crate::support::{self, arg, hoso, text};

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";

/// The one backup directory under `dest`.
fn only_backup(dest: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// `hoso backup` of `data` into `dest`, a manual backup, with `more` arguments.
fn back_up(data: &Path, dest: &Path, more: &[&str]) -> Output {
    let (data, dest) = (arg(data), arg(dest));
    let args = ["backup", "--data", data.as_str(), "--to", dest.as_str()];
    hoso(&[&args[..], &["--kind", "manual"], more].concat())
}

/// `hoso restore` of `from` into `data`, with the keys `hoso keys export` wrote
/// to `keys` if given, and `more` arguments.
fn restore(from: &Path, data: &Path, keys: Option<&Path>, more: &[&str]) -> Output {
    let (from, data, keys) = (arg(from), arg(data), keys.map(arg));
    let mut args = vec!["restore", "--from", from.as_str(), "--data", data.as_str()];
    if let Some(keys) = &keys {
        args.extend(["--keys", keys.as_str()]);
    }
    args.extend(more);
    hoso(&args)
}

/// `hoso keys export` of `data`'s keys to `to`.
fn export_keys(data: &Path, to: &Path) -> Output {
    hoso(&["keys", "export", "--data", &arg(data), "--to", &arg(to)])
}

fn manifest(backup: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap()
}

/// The answers compared, as raw bytes.
async fn answers(api: &Client, token: &str, dossiers: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<String> = dossiers
        .iter()
        .map(|id| format!("/api/v1/dossiers/{id}"))
        .collect();
    paths.extend([
        "/api/v1/dossiers?name=nguyen".to_owned(),
        format!("/api/v1/dossiers?unit={HEALTH}"),
        format!("/api/v1/org-units/{HEALTH}/tree"),
        format!("/api/v1/org-units/{HEALTH}/headcount?by=category"),
        format!("/api/v1/reports/annual?org={HEALTH}&year=2026"),
    ]);
    let mut out = Vec::new();
    for path in paths {
        let a = api.get(&path, token).await;
        assert!(a.status.is_success(), "{path}: {} {}", a.status, a.body);
        out.push((path, a.bytes));
    }
    out
}

/// A served node with a department, a focal point and three dossiers (one with a
/// document); answers the admin's and the focal point's tokens and the dossiers.
async fn province(api: &Client) -> (String, String, Vec<String>) {
    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    api.health_department(&admin).await;
    let (_, focal) = api
        .staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", CHOSEN)
        .await;
    let mut dossiers = Vec::new();
    for (number, name) in [
        ("001090001234", "Nguyễn Văn An"),
        ("001190004321", "Lê Thị Hoa"),
        ("001090000077", "Nguyễn Thị Cúc"),
    ] {
        dossiers.push(api.open_dossier(&focal, number, name).await);
    }
    let up = api
        .upload(&dossiers[0], &focal, b"%PDF-1.4 scan of 15/QD-SYT".to_vec())
        .await;
    assert!(up.status.is_success(), "{}", up.body);
    (admin, focal, dossiers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_backup_under_load_wipe_restore_and_the_answers_are_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dest = tmp.path().join("backups");
    let keys = tmp.path().join("keys.json");
    support::init(&data, ISSUED);
    let served = support::serve(&data);
    let api = Client::new(served.base.clone());
    let (admin, focal, dossiers) = province(&api).await;
    let position = api.log_position(&admin).await;
    let _ = api
        .get(
            &format!("/api/v1/dossiers?unit={HEALTH}&wait_for={position}"),
            &focal,
        )
        .await;
    let before = answers(&api, &focal, &dossiers).await;

    // A client keeps writing (accounts of the root unit) while the backup runs.
    let stop_writing = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let api = Client::new(served.base.clone());
        let (stop_writing, written, admin) = (stop_writing.clone(), written.clone(), admin.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop_writing.load(Ordering::SeqCst) {
                let a = api
                    .post(
                        "/api/v1/accounts",
                        &admin,
                        json!({"kind": "specialist", "username": format!("snv.tai{n}"),
                               "org_code": ROOT, "display_name": format!("Tải {n}")}),
                    )
                    .await;
                if !a.status.is_success() {
                    return format!("write {n}: {} {}", a.status, a.body);
                }
                n += 1;
                written.store(n, Ordering::SeqCst);
            }
            String::new()
        })
    };
    while written.load(Ordering::SeqCst) < 3 {
        assert!(!writer.is_finished(), "the writer stopped");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (d, t) = (data.clone(), dest.clone());
    let o = tokio::task::spawn_blocking(move || back_up(&d, &t, &[]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let during = written.load(Ordering::SeqCst);
    while written.load(Ordering::SeqCst) < during + 3 && !writer.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop_writing.store(true, Ordering::SeqCst);
    let failure = writer.await.unwrap();
    assert!(failure.is_empty(), "{failure}");
    let backup = only_backup(&dest);
    assert!(
        backup
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-manual")
    );
    let m = manifest(&backup);
    let events = m["log"]["events"].as_u64().unwrap();
    let files: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for name in [
        "ledger.db",
        "credentials.db",
        "data-keys.db",
        "uploads.db",
        "hoso.toml",
    ] {
        assert!(files.contains(&name), "{name} not in {files:?}");
    }
    assert!(
        files.iter().any(|f| f.starts_with("attachments/")),
        "{files:?}"
    );
    for secret in [
        "field-keys.json",
        "ledger-keys.json",
        "connection-key.json",
        "readmodel.db",
    ] {
        assert!(!files.contains(&secret), "{secret} is in the backup");
        assert!(!backup.join(secret).exists());
    }
    assert!(
        events > position && events < api.log_position(&admin).await,
        "the backup caught the log under load: {events} events, {position} before the load"
    );

    // The load did not touch the compared answers: these are the answers at any
    // position of it, the backup's included.
    assert_eq!(answers(&api, &focal, &dossiers).await, before);

    // The keys, apart from data and backups.
    let o = export_keys(&data, &keys);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("DECRYPTS EVERY DOSSIER"), "{}", text(&o));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o600
    );

    served.stop("INT");
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    let o = restore(&backup, &data, Some(&keys), &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("every hash chain intact"), "{}", text(&o));
    assert!(
        data.join("readmodel.db").exists(),
        "the read model was rebuilt"
    );

    let served = support::serve(&data);
    let api = Client::new(served.base.clone());
    let focal = api.token("yte.tochuc", CHOSEN).await;
    let admin = api.token("snv.admin", CHOSEN).await;
    assert_eq!(answers(&api, &focal, &dossiers).await, before);
    // The restored log is the backup's, then what the node signed on opening.
    assert!(api.log_position(&admin).await >= events);
    served.stop("INT");
    let o = hoso(&["verify", "--data", &arg(&data)]);
    assert!(o.status.success(), "{}", text(&o));
}

/// A backup of a fresh node (the administrator's events), and the node's directory.
fn small_backup(tmp: &Path) -> (PathBuf, PathBuf) {
    let data = tmp.join("data");
    let dest = tmp.join("backups");
    support::init(&data, ISSUED);
    let o = back_up(&data, &dest, &[]);
    assert!(o.status.success(), "{}", text(&o));
    (data, only_backup(&dest))
}

/// Rewrites one manifest entry to the file's present size and digest.
fn reseal(backup: &Path, name: &str) {
    let mut m = manifest(backup);
    let bytes = std::fs::read(backup.join(name)).unwrap();
    use sha2::Digest;
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == name {
            f["size"] = json!(bytes.len());
            f["sha256"] = json!(hex::encode(sha2::Sha256::digest(&bytes)));
        }
    }
    std::fs::write(
        backup.join("manifest.json"),
        serde_json::to_vec(&m).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_damaged_or_incomplete_backup_is_refused_and_the_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, backup) = small_backup(tmp.path());
    let target = tmp.path().join("restored");

    // A flipped byte in the log.
    let flipped = tmp.path().join("flipped");
    support::copy_dir(&backup, &flipped);
    let log = flipped.join("ledger.db");
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&log, bytes).unwrap();
    let o = restore(&flipped, &target, None, &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("ledger.db in the backup does not have the SHA-256"),
        "{}",
        text(&o)
    );

    // An event altered, the manifest made to match: the chains catch it.
    let altered = tmp.path().join("altered");
    support::copy_dir(&backup, &altered);
    {
        let conn = rusqlite::Connection::open(altered.join("ledger.db")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER events_append_only_update;
             UPDATE events SET actor = actor || 'x' WHERE position = 1;",
        )
        .unwrap();
    }
    reseal(&altered, "ledger.db");
    let o = restore(&altered, &target, None, &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("the backup's log is damaged") && text(&o).contains("position 1"),
        "{}",
        text(&o)
    );

    // A missing file.
    let missing = tmp.path().join("missing");
    support::copy_dir(&backup, &missing);
    std::fs::remove_file(missing.join("credentials.db")).unwrap();
    let o = restore(&missing, &target, None, &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("incomplete: credentials.db is missing"),
        "{}",
        text(&o)
    );

    // Nothing was left behind, and the good backup restores.
    assert!(!target.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("restoring"))
            .count(),
        0
    );
    let o = restore(&backup, &target, None, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("keys: not restored"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_is_refused_then_accepted_and_recorded_in_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, backup) = small_backup(tmp.path());
    let keys = tmp.path().join("keys.json");
    let o = export_keys(&data, &keys);
    assert!(o.status.success(), "{}", text(&o));
    // The node goes on after the backup and publishes a larger head.
    let served = support::serve(&data);
    let api = Client::new(served.base.clone());
    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    api.health_department(&admin).await;
    served.stop("INT");
    let published = std::fs::read(data.join("tree-head.json")).unwrap();

    let o = restore(&backup, &data, Some(&keys), &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("ROLLBACK") && text(&o).contains("--accept-rollback"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(data.join("tree-head.json")).unwrap(),
        published,
        "untouched"
    );

    let o = restore(
        &backup,
        &data,
        Some(&keys),
        &["--accept-rollback", "ổ đĩa hỏng; khôi phục bản sao lưu"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ROLLBACK ACCEPTED"), "{}", text(&o));
    let kept: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("data.replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "the old directory is kept aside");
    {
        let conn = rusqlite::Connection::open(data.join("ledger.db")).unwrap();
        let reason: String = conn
            .query_row(
                "SELECT stream FROM events WHERE event_type = 'ledger.RollbackAccepted'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(reason, "ledger-rollbacks");
    }
    // The restored node verifies and serves (the sealer accepts the log after it).
    let o = hoso(&["verify", "--data", &arg(&data)]);
    assert!(o.status.success(), "{}", text(&o));
    let served = support::serve(&data);
    let api = Client::new(served.base.clone());
    let ready = api
        .http
        .get(format!("{}/readyz", api.base))
        .send()
        .await
        .unwrap();
    assert!(ready.status().is_success(), "{:?}", ready.text().await);
    served.stop("INT");
}

#[test]
fn keys_are_not_exported_into_the_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, backup) = small_backup(tmp.path());
    for inside in [data.join("keys.json"), backup.join("keys.json")] {
        let o = export_keys(&data, &inside);
        assert!(!o.status.success());
        assert!(
            text(&o).contains("refusing to write the keys inside"),
            "{}",
            text(&o)
        );
        assert!(!inside.exists());
    }
}

#[test]
fn prune_keeps_what_the_profile_requires() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, backup) = small_backup(tmp.path());
    let dest = backup.parent().unwrap().to_owned();
    let o = back_up(&data, &dest, &["--prune"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("the newest complete backup is always kept"),
        "{out}"
    );
    assert!(out.contains("a manual backup is never pruned"), "{out}");
    assert_eq!(
        std::fs::read_dir(&dest)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count(),
        2
    );
}
