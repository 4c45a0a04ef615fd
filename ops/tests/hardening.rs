//! What the server tells whom (issue 14's oracle and leak findings, as they are
//! closed): caching and sniffing headers on every answer, and nothing of an account
//! to a session that still holds an issued password (BT 4.4).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use serde_json::json;

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";

/// `hoso init` in `parent/d`, the administrator's password issued as [`ISSUED`].
fn init(parent: &std::path::Path) -> std::path::PathBuf {
    let data = parent.join("d");
    let o = support::hoso_cmd()
        .args(["init", "--data", &support::arg(&data)])
        .env("HOSO_ADMIN_PASSWORD", ISSUED)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", support::text(&o));
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_never_cached_or_sniffed_and_an_issued_password_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let served = support::serve(&data);
    let mut child = served.child;
    let base = served.base;
    let http = reqwest::Client::new();

    // Anonymous: not sniffed; nothing private, so cacheable is not our concern.
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().get("cache-control").is_none());
    // Liveness tells an anonymous caller up or down, nothing else.
    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    // The login answer carries the token: never stored.
    let r = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": "snv.admin", "password": ISSUED}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // With the issued password unchanged, not even the account itself is shown.
    let r = http
        .get(format!("{base}/api/v1/accounts/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["type"],
        "urn:hoso:problem:access:password-change-required"
    );

    let r = http
        .post(format!("{base}/api/v1/accounts/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current": ISSUED, "new": CHOSEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(format!("{base}/api/v1/accounts/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let unit = r.json::<serde_json::Value>().await.unwrap()["org_code"]
        .as_str()
        .unwrap()
        .to_owned();

    // Usernames the rules refuse are 4xx problems, never a 500, and claim nothing.
    for username in ["an\u{0}nv".to_owned(), "a".repeat(100_000)] {
        let r = http
            .post(format!("{base}/api/v1/accounts"))
            .bearer_auth(&token)
            .json(&json!({"kind": "specialist", "username": username, "org_code": unit, "display_name": "X"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:hoso:problem:"),
            "{body}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Modes of the directory and of everything in it (one level, and `attachments/`).
fn loose_modes(data: &std::path::Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = Vec::new();
    let mut check = |p: &std::path::Path| {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            loose.push(format!("{} {mode:o}", p.display()));
        }
    };
    check(data);
    for dir in [data.to_owned(), data.join("attachments")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            check(&e.unwrap().path());
        }
    }
    loose
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    assert_eq!(loose_modes(&data), Vec::<String>::new(), "after init");

    // A directory written before: loosened by hand, tightened at the next start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("ledger.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let served = support::serve(&data);
    let mut child = served.child;
    // A login writes sessions.db; the databases' WAL files exist while serving.
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", served.base))
        .json(&json!({"username": "snv.admin", "password": ISSUED}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(data.join("ledger.db-wal").exists());
    assert_eq!(loose_modes(&data), Vec::<String>::new(), "while serving");
    let _ = child.kill();
    let _ = child.wait();
}
