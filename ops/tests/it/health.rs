//! Health and readiness on the real server (issue 17): `/readyz` says 503, naming
//! each failed check, when the data directory lacks free space or storage refuses
//! writes; a write the storage refuses is `503 storage:unavailable` with
//! `Retry-After`, never a 500, and writes resume once space returns; a damaged
//! `readmodel.db` is moved aside and rebuilt from the log at start, never served.

use crate::support;
use crate::support::api::{Client, HEALTH};

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";
const NOT_READY: &str = "urn:hoso:problem:health:not-ready";
const STORAGE: &str = "urn:hoso:problem:storage:unavailable";

/// Appends `text` to the directory's `hoso.toml`.
fn settings(data: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("hoso.toml"))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Stops the server as SIGTERM does; what it printed.
fn stop(served: support::Served) -> String {
    served.stop("TERM").join("\n")
}

/// The names of the checks a 503 from `/readyz` says failed.
fn failed_checks(body: &Value) -> Vec<String> {
    assert_eq!(body["type"], NOT_READY, "{body}");
    body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_free_space_threshold_the_node_is_not_ready_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ISSUED);
    // More than any disk here has free: the file system's whole size.
    settings(
        &data,
        "\n[health]\nmin_free_bytes = 4611686018427387904\nmin_free_percent = 100\n",
    );
    let served = support::serve(&data);
    let api = Client::conforming(served.base.clone())
        .await
        .allowing_server_errors();
    let anonymous = api.call("GET", "/readyz", None, None).await;
    assert_eq!(anonymous.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(failed_checks(&anonymous.body), ["disk-space"]);
    assert!(
        anonymous.body["checks"][0].get("detail").is_none(),
        "anonymous callers learn the names only: {}",
        anonymous.body
    );
    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    let operator = api.get("/readyz", &admin).await;
    assert_eq!(operator.status, StatusCode::SERVICE_UNAVAILABLE);
    let detail = operator.body["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("bytes free"), "{detail}");
    // Liveness is another matter: the process answers.
    let live = api.call("GET", "/healthz", None, None).await;
    assert_eq!(live.status, StatusCode::OK);
    stop(served);

    // The flags override the file: a bound of 0 is always met.
    let mut child = support::hoso_cmd()
        .args([
            "serve",
            "--data",
            &support::arg(&data),
            "--listen",
            "127.0.0.1:0",
            "--min-free-bytes",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let base = loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0);
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            break url.trim_end_matches("/api/v1").to_owned();
        }
    };
    let served = support::Served {
        child,
        base,
        lines: Default::default(),
    };
    let api = Client::conforming(served.base.clone()).await;
    let ready = api.call("GET", "/readyz", None, None).await;
    assert_eq!(
        (ready.status, ready.body),
        (StatusCode::OK, json!({"status": "ready"}))
    );
}

/// A dossier in the Health department, by a specialist the administrator issues.
async fn a_dossier(api: &Client, admin: &str) -> String {
    api.health_department(admin).await;
    let (_, focal) = api
        .staff(admin, "specialist", "yte.tochuc", HEALTH, "update", CHOSEN)
        .await;
    api.open_dossier(&focal, "001090001234", "Nguyễn Văn An")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_read_model_is_moved_aside_and_rebuilt_never_served() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ISSUED);
    let served = support::serve(&data);
    let api = Client::conforming(served.base.clone()).await;
    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    let id = a_dossier(&api, &admin).await;
    stop(served);

    let model = data.join("readmodel.db");
    let damages: [(&str, &dyn Fn()); 3] = [
        ("truncated", &|| {
            let len = std::fs::metadata(&model).unwrap().len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&model)
                .unwrap();
            f.set_len(len / 2).unwrap();
        }),
        ("garbage", &|| {
            std::fs::write(&model, vec![0xa5u8; 64 * 1024]).unwrap();
        }),
        ("a table missing", &|| {
            let c = rusqlite::Connection::open(&model).unwrap();
            c.execute_batch("DROP TABLE history").unwrap();
        }),
    ];
    for (how, damage) in damages {
        // What a clean stop leaves: the file alone.
        for companion in ["readmodel.db-wal", "readmodel.db-shm"] {
            let _ = std::fs::remove_file(data.join(companion));
        }
        damage();
        let served = support::serve(&data);
        let said = served.lines.lock().unwrap().join("\n");
        assert!(
            said.contains("the read model was damaged") && said.contains("moved it aside"),
            "{how}: {said}"
        );
        let api = Client::conforming(served.base.clone()).await;
        let admin = api.token("snv.admin", CHOSEN).await;
        for path in [
            "/api/v1/org-units".to_owned(),
            format!("/api/v1/org-units/{HEALTH}/headcount?by=category"),
            format!("/api/v1/dossiers?unit={HEALTH}"),
            format!("/api/v1/dossiers/{id}"),
            format!("/api/v1/dossiers/{id}/history"),
            format!("/api/v1/dossiers/{id}/audit"),
            format!("/api/v1/reports/annual?org={HEALTH}&year=2026"),
            "/api/v1/accounts/me".to_owned(),
        ] {
            let a = api.get(&path, &admin).await;
            assert!(
                a.status.is_success(),
                "{how}: GET {path}: {} {}",
                a.status,
                a.body
            );
        }
        let found = api.get_ok(&format!("/api/v1/dossiers/{id}"), &admin).await;
        assert_eq!(found["id"], json!(id), "{how}: {found}");
        let ready = api.call("GET", "/readyz", None, None).await;
        assert_eq!(ready.status, StatusCode::OK, "{how}: {}", ready.body);
        stop(served);
    }
    let aside = std::fs::read_dir(&data)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(hoso_projections::DAMAGED_PREFIX)
        })
        .count();
    assert!(aside >= 3, "each damaged file is kept aside: {aside}");
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Mounted(PathBuf);

impl Mounted {
    /// `None` (with a note) where mounting is not allowed.
    fn tmpfs(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match o {
            Ok(o) if o.status.success() => Some(Self(at.to_owned())),
            Ok(o) => {
                eprintln!(
                    "NOTE: cannot mount a tmpfs ({}): the full-disk test is skipped",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("NOTE: cannot run mount ({e}): the full-disk test is skipped");
                None
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` with `dir/filler` until it has no room.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096, 512] {
        let block = vec![0u8; chunk];
        while f.write_all(&block).is_ok() {}
    }
    let _ = f.sync_all();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_storage_unavailable_and_writes_resume_when_space_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mounted) = Mounted::tmpfs(&tmp.path().join("small"), "48m") else {
        return;
    };
    let data = mounted.0.join("d");
    support::init(&data, ISSUED);
    let served = support::serve(&data);
    let api = Client::conforming(served.base.clone())
        .await
        .allowing_server_errors();
    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    api.health_department(&admin).await;
    let ready = api.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    let filler = fill(&mounted.0);
    let ready = api.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        failed_checks(&ready.body).contains(&"disk-space".to_owned()),
        "{}",
        ready.body
    );

    // Writes go on until the storage refuses one (SQLite reuses room it already
    // has); that one is a 503 storage problem with Retry-After, never a 500.
    let mut refused = None;
    for i in 0..2_000 {
        let resp = api
            .http
            .post(format!("{}/api/v1/accounts", api.base))
            .bearer_auth(&admin)
            .json(
                &json!({"kind": "specialist", "username": format!("day.{i}"),
                          "org_code": HEALTH, "display_name": format!("Đầy {i}")}),
            )
            .send()
            .await
            .unwrap();
        let retry_after = resp.headers().get("retry-after").cloned();
        let a = api.answer("POST", "/api/v1/accounts", resp).await;
        if a.status.is_success() {
            continue;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
        assert_eq!(a.body["type"], STORAGE, "{}", a.body);
        assert!(retry_after.is_some(), "Retry-After");
        refused = Some(i);
        break;
    }
    assert!(refused.is_some(), "no write was refused on a full disk");
    let ready = api.get("/readyz", &admin).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let failed = failed_checks(&ready.body);
    assert!(
        failed.contains(&"ledger-writable".to_owned()),
        "{}",
        ready.body
    );

    // Space returns: ready again without any write first, and writes resume.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = api.call("GET", "/readyz", None, None).await;
        if ready.status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready again: {}",
            ready.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a = api
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"kind": "specialist", "username": "lai.duoc", "org_code": HEALTH,
                   "display_name": "Lại Được"}),
        )
        .await;
    assert!(a.status.is_success(), "{} {}", a.status, a.body);
    let out = stop(served);
    assert!(out.contains("signed the shutdown tree head"), "{out}");
}
