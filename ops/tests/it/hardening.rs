//! What the server tells whom (issue 14's oracle and leak findings, as they are
//! closed): caching and sniffing headers on every answer, and nothing of an account
//! to a session that still holds an issued password (BT 4.4).

use crate::support;

use reqwest::StatusCode;
use serde_json::json;

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";

/// `hoso init` in `parent/d`, the administrator's password issued as [`ISSUED`].
fn init(parent: &std::path::Path) -> std::path::PathBuf {
    let data = parent.join("d");
    support::init(&data, ISSUED);
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_never_cached_or_sniffed_and_an_issued_password_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let served = support::serve(&data);
    let base = served.base.clone();
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
    drop(served);
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
    drop(served);
}

/// Logs `user` in with `password` and changes it to [`CHOSEN`]; the token.
async fn first_login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{user}");
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .post(format!("{base}/api/v1/accounts/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current": password, "new": CHOSEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{user}");
    token
}

/// Status and problem type of an answer, and its body for messages.
async fn shape(r: reqwest::Response) -> (StatusCode, String, serde_json::Value) {
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    (status, body["type"].as_str().unwrap_or("").to_owned(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_tells_an_existing_account_from_a_made_up_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let served = support::serve(&data);
    let base = served.base.clone();
    let http = reqwest::Client::new();
    let admin = first_login(&http, &base, "snv.admin", ISSUED).await;
    let post = |path: String, token: Option<String>, body: serde_json::Value| {
        let mut rq = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        rq.send()
    };
    // Two departments; a specialist with rights over one of them only.
    for (code, name) in [
        ("000.00.00.H33", "UBND tỉnh"),
        ("000.02.00.H33", "Sở Y tế"),
        ("000.03.00.H33", "Sở Giáo dục"),
    ] {
        let parent = (code != "000.00.00.H33").then_some("000.00.00.H33");
        let kind = if parent.is_some() {
            "provincial_department"
        } else {
            "peoples_committee_province"
        };
        let (status, _, body) = shape(
            post("/api/v1/org-units".into(), Some(admin.clone()), json!({
                "code": code,
                "decision": {"number": "1/QĐ-UBND", "date": "2026-01-05", "issuer": "UBND tỉnh"},
                "change": {"action": "establish", "name": name, "kind": kind, "parent": parent,
                           "effective": "2026-01-05"}
            }))
            .await
            .unwrap(),
        )
        .await;
        assert!(status.is_success(), "{body}");
    }
    let mut ids = Vec::new();
    for (user, unit) in [
        ("yte.tochuc", "000.02.00.H33"),
        ("gd.tochuc", "000.03.00.H33"),
    ] {
        let (status, _, body) = shape(
            post(
                "/api/v1/accounts".into(),
                Some(admin.clone()),
                json!({
                    "kind": "specialist", "username": user, "org_code": unit, "display_name": user
                }),
            )
            .await
            .unwrap(),
        )
        .await;
        assert!(status.is_success(), "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        for change in
            [json!({"action": "grant", "org_code": unit, "right": "update", "reason": "phân công"})]
        {
            let r = post(
                format!("/api/v1/accounts/{id}/changes"),
                Some(admin.clone()),
                change,
            )
            .await
            .unwrap();
            assert!(r.status().is_success());
        }
        let r = post(
            format!("/api/v1/accounts/{id}/password"),
            Some(admin.clone()),
            json!({"password": "Cap-Moi#2026!x"}),
        )
        .await
        .unwrap();
        assert!(r.status().is_success());
        ids.push(id);
    }
    let health = first_login(&http, &base, "yte.tochuc", "Cap-Moi#2026!x").await;

    // A change to an account out of reach and to a made-up one, and a password
    // issued to either: the same answer, naming no stream or revision.
    for (route, body) in [
        ("changes", json!({"action": "lock", "note": "thử"})),
        ("password", json!({"password": "Khac-Han#2026!q"})),
    ] {
        let mut answers = Vec::new();
        for target in [ids[1].clone(), uuid::Uuid::now_v7().to_string()] {
            let r = post(
                format!("/api/v1/accounts/{target}/{route}"),
                Some(health.clone()),
                body.clone(),
            )
            .await
            .unwrap();
            answers.push(shape(r).await);
        }
        let (existing, made_up) = (&answers[0], &answers[1]);
        assert_eq!(
            (existing.0, &existing.1),
            (made_up.0, &made_up.1),
            "{route}: {} vs {}",
            existing.2,
            made_up.2
        );
        assert_eq!(existing.0, StatusCode::NOT_FOUND, "{}", existing.2);
        for key in ["stream", "revision"] {
            assert!(
                existing.2.get(key).is_none_or(|v| v.is_null()),
                "{route}: {key} named: {}",
                existing.2
            );
        }
    }

    // Sixteen wrong passwords at once, for a real name and for a made-up one:
    // every answer to the one is an answer the other also gets.
    // Each from its own loopback address, so that the address's allowance
    // (20 failures) is the same for both and not what tells them apart.
    let burst = |user: &'static str, from: [u8; 4]| {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(from))
            .build()
            .unwrap();
        let url = format!("{base}/api/v1/sessions");
        let attempts = (0..16).map(move |_| {
            client
                .post(&url)
                .json(&json!({"username": user, "password": "Sai-Mat#Khau1"}))
                .send()
        });
        futures::future::join_all(attempts.collect::<Vec<_>>())
    };
    let mut seen = std::collections::BTreeMap::new();
    for (user, from) in [
        ("gd.tochuc", [127, 0, 0, 2]),
        ("khong.co.ai", [127, 0, 0, 3]),
    ] {
        for r in burst(user, from).await {
            let (status, kind, body) = shape(r.unwrap()).await;
            assert!(
                body.get("account_id").is_none() && !body.to_string().contains(&ids[1]),
                "{body}"
            );
            seen.entry(user)
                .or_insert_with(std::collections::BTreeSet::new)
                .insert((status, kind));
        }
    }
    assert_eq!(seen["gd.tochuc"], seen["khong.co.ai"], "{seen:?}");
}
