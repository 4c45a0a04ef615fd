//! The attacks of an intruder who can write a stopped node's data directory, each
//! found by the server itself — at open, or by its background verification — and
//! answered the same way: `/readyz` 503 naming the failed checks (what was found and
//! the first bad position for an operator only), every read and write refused with `urn:hoso:problem:ledger:untrusted`,
//! the `hoso_ledger_trusted` metric at 0. And a read model ahead of its log is rebuilt,
//! never served.
//!
//! The data directory is a real one made by `hoso demo` and stopped cleanly, so it
//! ends with a signed shutdown head; each test tampers with its own copy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::hoso_cmd as hoso;

use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, SqliteStore, StoreOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

const UNTRUSTED: &str = "urn:hoso:problem:ledger:untrusted";

/// The demo's data directory, made once, and its administrator's login.
struct Base {
    _dir: tempfile::TempDir,
    data: PathBuf,
    admin: (String, String),
}

static BASE: std::sync::OnceLock<Base> = std::sync::OnceLock::new();

fn base() -> &'static Base {
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("demo");
        let o = hoso()
            .args(["demo", "--people", "10", "--data", data.to_str().unwrap()])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let admin = out
            .lines()
            .skip_while(|l| !l.starts_with("demo logins"))
            .find(|l| l.ends_with("system administrator"))
            .map(|l| {
                let mut w = l.split_whitespace();
                (w.next().unwrap().to_owned(), w.next().unwrap().to_owned())
            })
            .expect("the demo prints its administrator's login");
        Base {
            _dir: dir,
            data,
            admin,
        }
    })
}

/// A copy of the demo's directory to tamper with.
fn copy_of_base() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let ok = Command::new("cp")
        .args(["-a", base().data.to_str().unwrap(), data.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    (dir, data)
}

fn tamper(data: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(data.join("ledger.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_append_only_update;
         DROP TRIGGER IF EXISTS events_append_only_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

fn query_u64(data: &Path, sql: &str) -> u64 {
    let conn = rusqlite::Connection::open(data.join("ledger.db")).unwrap();
    let v: i64 = conn.query_row(sql, [], |r| r.get(0)).unwrap();
    u64::try_from(v).unwrap()
}

struct Server {
    served: support::Served,
    http: reqwest::Client,
}

fn serve(data: &Path) -> Server {
    let served = support::serve(data);
    Server {
        served,
        http: reqwest::Client::new(),
    }
}

impl Server {
    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut rq = self.http.get(format!("{}{path}", self.served.base));
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        let resp = rq.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut rq = self
            .http
            .post(format!("{}{path}", self.served.base))
            .json(&body);
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        let resp = rq.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn admin_token(&self) -> String {
        let (user, pw) = &base().admin;
        let (status, body) = self
            .post(
                "/api/v1/sessions",
                None,
                json!({"username": user, "password": pw}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// The unit of the administrator's account.
    async fn admin_unit(&self, token: &str) -> String {
        let (status, me) = self.get("/api/v1/accounts/me", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        me["org_code"].as_str().unwrap().to_owned()
    }

    /// The administrator issues a specialist account in its own unit (a write).
    async fn issue_specialist(&self, username: &str) {
        let token = self.admin_token().await;
        let unit = self.admin_unit(&token).await;
        let (status, body) = self
            .post(
                "/api/v1/accounts",
                Some(&token),
                json!({"kind": "specialist", "username": username, "org_code": unit, "display_name": username}),
            )
            .await;
        assert!(status.is_success(), "{body}");
    }

    /// Stops the server as Ctrl-C does, so it signs its shutdown head.
    fn stop(self) -> Vec<String> {
        self.served.stop("INT")
    }

    /// Waits (a bounded time) until the node says it is untrusted, then checks that it
    /// says so everywhere, naming `position` to an operator only.
    async fn assert_untrusted(&self, position: impl Fn(u64) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.get("/readyz", None).await;
            if status == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(body["type"], "urn:hoso:problem:health:not-ready", "{body}");
                let checks = body["checks"].as_array().unwrap();
                for name in ["ledger-trusted", "ledger-writable"] {
                    assert!(
                        checks.contains(&json!({"check": name})),
                        "anonymous: the failed checks' names only: {body}"
                    );
                }
                assert!(body.get("position").is_none(), "{body}");
                break;
            }
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(Instant::now() < deadline, "the node never found the damage");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let token = self.admin_token().await;
        let (status, body) = self.get("/readyz", Some(&token)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let at = body["position"].as_u64().expect("operators see where");
        assert!(position(at), "first bad position {at}: {body}");
        assert!(
            body["checks"][0]["detail"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{body}"
        );

        // Reads and writes alike are refused, naming the position.
        let (status, body) = self.get("/api/v1/org-units", Some(&token)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["type"], UNTRUSTED);
        assert_eq!(body["position"], json!(at));
        let (status, body) = self
            .post(
                "/api/v1/accounts",
                Some(&token),
                json!({"kind": "specialist", "username": "x.y", "org_code": "000.00.00.SNV", "display_name": "X"}),
            )
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["type"], UNTRUSTED);
        let (_, metrics) = self.get("/metrics", None).await;
        assert!(
            metrics.as_str().unwrap().contains("hoso_ledger_trusted 0"),
            "{metrics}"
        );
    }
}

/// A dossier event from the middle of the log.
fn middle_dossier_event(data: &Path) -> u64 {
    let count = query_u64(
        data,
        "SELECT count(*) FROM events WHERE stream LIKE 'dossier-%'",
    );
    query_u64(
        data,
        &format!(
            "SELECT position FROM events WHERE stream LIKE 'dossier-%' ORDER BY position LIMIT 1 OFFSET {}",
            count / 2
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untampered_directory_is_ready_and_serves() {
    let (_dir, data) = copy_of_base();
    let s = serve(&data);
    let (status, body) = s.get("/readyz", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));
    let token = s.admin_token().await;
    let (status, _) = s.get("/api/v1/org-units", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, head) = s.get("/api/v1/ledger/checkpoints/latest", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(head["reason"], "opened");
    let out = s.stop();
    assert!(
        out.iter()
            .any(|l| l.contains("signed the shutdown tree head")),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_flipped_payload_byte_is_found() {
    let (_dir, data) = copy_of_base();
    let p = middle_dossier_event(&data);
    let conn = rusqlite::Connection::open(data.join("ledger.db")).unwrap();
    let mut payload: Vec<u8> = conn
        .query_row(
            &format!("SELECT payload FROM events WHERE position = {p}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    payload[2] ^= 0x01;
    tamper(&data, "");
    rusqlite::Connection::open(data.join("ledger.db"))
        .unwrap()
        .execute(
            "UPDATE events SET payload = ?1 WHERE position = ?2",
            rusqlite::params![payload, i64::try_from(p).unwrap()],
        )
        .unwrap();
    serve(&data).assert_untrusted(|at| at == p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_swapped_events_are_found() {
    let (_dir, data) = copy_of_base();
    let p = middle_dossier_event(&data);
    let q = p + 1;
    tamper(
        &data,
        &format!(
            "UPDATE events SET position = -1 WHERE position = {p};
             UPDATE events SET position = {p} WHERE position = {q};
             UPDATE events SET position = {q} WHERE position = -1;"
        ),
    );
    // Found by whichever comes first: the background verification (at `p`) or a read
    // through the stream index (at either).
    serve(&data).assert_untrusted(|at| at == p || at == q).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_tail_is_found_at_open_and_names_the_missing_range() {
    let (_dir, data) = copy_of_base();
    let len = query_u64(&data, "SELECT max(position) + 1 FROM events");
    tamper(
        &data,
        &format!("DELETE FROM events WHERE position >= {}", len - 3),
    );
    let s = serve(&data);
    // Found before serving: not ready from the first answer.
    let (status, _) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    s.assert_untrusted(|at| at == len - 3).await;
    let out = s.served.lines.lock().unwrap().join("\n");
    assert!(out.contains("missing"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_event_in_the_middle_is_found() {
    let (_dir, data) = copy_of_base();
    let p = middle_dossier_event(&data);
    tamper(&data, &format!("DELETE FROM events WHERE position = {p}"));
    serve(&data)
        .assert_untrusted(|at| at == p || at == p + 1)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_event_with_a_valid_chain_is_found_at_open() {
    let (_dir, data) = copy_of_base();
    let len = query_u64(&data, "SELECT max(position) + 1 FROM events");
    let stream: String = rusqlite::Connection::open(data.join("ledger.db"))
        .unwrap()
        .query_row(
            &format!(
                "SELECT stream FROM events WHERE position = {}",
                middle_dossier_event(&data)
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    {
        // Through the ledger's own code: hashes and links are right.
        let store = SqliteStore::open(&data, StoreOptions::default()).unwrap();
        store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![NewEvent::new("dossier.StatusChanged", 1, vec![8, 6]).with_actor("mallory")],
            )
            .await
            .unwrap();
    }
    let s = serve(&data);
    let (status, _) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    s.assert_untrusted(|at| at == len).await;
    let out = s.served.lines.lock().unwrap().join("\n");
    assert!(out.contains("stopped"), "{out}");
    // Nothing of it reached the read model.
    let token = s.admin_token().await;
    let (_, health) = s.get("/healthz", Some(&token)).await;
    assert_eq!(health["projection_position"], json!(len), "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_ahead_of_its_log_is_rebuilt_not_served() {
    let (_older, older) = copy_of_base();
    let (_newer, newer) = copy_of_base();
    // The newer directory goes on: one more account, a clean stop.
    let s = serve(&newer);
    s.issue_specialist("moi.chuyenvien").await;
    s.stop();
    // Its read model beside the older log: ahead of it.
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("readmodel.db{suffix}");
        let _ = std::fs::remove_file(older.join(&name));
        if newer.join(&name).exists() {
            std::fs::copy(newer.join(&name), older.join(&name)).unwrap();
        }
    }
    let s = serve(&older);
    let out = s.served.lines.lock().unwrap().join("\n");
    assert!(out.contains("does not match the log"), "{out}");
    let token = s.admin_token().await;
    let (status, health) = s.get("/healthz", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        health["projection_position"], health["log_position"],
        "{health}"
    );
    let (status, _) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    // The next acknowledged change is read back.
    s.issue_specialist("sau.khoiphuc").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, h) = s.get("/healthz", Some(&token)).await;
        if h["projection_position"] == h["log_position"] {
            break;
        }
        assert!(Instant::now() < deadline, "{h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `hoso` with `args`; its exit code and standard output.
fn run(args: &[&str]) -> (i32, String) {
    let o = hoso().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

async fn save(s: &Server, path: &str, token: &str, file: &Path) -> Value {
    let (status, body) = s.get(path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    std::fs::write(file, serde_json::to_vec(&body).unwrap()).unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_and_bundles_served_by_the_node_verify_offline() {
    let (dir, data) = copy_of_base();
    let key = crate::support::published_ledger_key(&data);
    let file = |name: &str| dir.path().join(name);
    let f = |name: &str| file(name).to_str().unwrap().to_owned();

    // First run: the opening head, an inclusion proof against it.
    let s = serve(&data);
    let token = s.admin_token().await;
    let old = save(
        &s,
        "/api/v1/ledger/checkpoints/latest",
        &token,
        &file("old.json"),
    )
    .await;
    let size = old["tree_size"].as_u64().unwrap();
    save(
        &s,
        &format!("/api/v1/ledger/proofs/inclusion?position=7&tree_size={size}"),
        &token,
        &file("inclusion.json"),
    )
    .await;
    let (status, body) = s
        .get(
            &format!("/api/v1/ledger/proofs/inclusion?position={size}&tree_size={size}"),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["type"], "urn:hoso:problem:ledger:outside-tree");

    // A dossier's bundle.
    let (status, page) = s.get("/api/v1/dossiers?limit=1", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let resp = s
        .http
        .get(format!("{}/api/v1/dossiers/{id}/bundle", s.served.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    std::fs::write(file("bundle.json"), resp.bytes().await.unwrap()).unwrap();
    s.stop();

    // Second run: a newer opening head; the log grew by the shutdown and opening heads.
    let s = serve(&data);
    let token = s.admin_token().await;
    let new = save(
        &s,
        "/api/v1/ledger/checkpoints/latest",
        &token,
        &file("new.json"),
    )
    .await;
    let to = new["tree_size"].as_u64().unwrap();
    assert!(to > size);
    save(
        &s,
        &format!("/api/v1/ledger/proofs/consistency?from={size}&to={to}"),
        &token,
        &file("consistency.json"),
    )
    .await;
    drop(s);

    let inclusion = [
        "verify-proof",
        "inclusion",
        "--proof",
        &f("inclusion.json"),
        "--head",
        &f("old.json"),
    ];
    assert_eq!(
        run(&[&inclusion[..], &["--ledger-key", &key]].concat()).0,
        0
    );
    assert_eq!(
        run(&inclusion).0,
        2,
        "without the key: holds, not authenticated"
    );
    let consistency = [
        "verify-proof",
        "consistency",
        "--proof",
        &f("consistency.json"),
        "--old",
        &f("old.json"),
        "--new",
        &f("new.json"),
        "--ledger-key",
        &key,
    ];
    let (code, out) = run(&consistency);
    assert_eq!(code, 0, "{out}");
    // The heads swapped: the proof does not hold.
    let swapped = [
        "verify-proof",
        "consistency",
        "--proof",
        &f("consistency.json"),
        "--old",
        &f("new.json"),
        "--new",
        &f("old.json"),
        "--ledger-key",
        &key,
    ];
    assert_eq!(run(&swapped).0, 1);
    // One path hash altered: the inclusion proof fails.
    let mut p: Value =
        serde_json::from_slice(&std::fs::read(file("inclusion.json")).unwrap()).unwrap();
    p["path"][0] = json!("00".repeat(32));
    std::fs::write(file("inclusion.json"), serde_json::to_vec(&p).unwrap()).unwrap();
    let (code, out) = run(&[&inclusion[..], &["--ledger-key", &key]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED"), "{out}");

    let (code, out) = run(&["verify-bundle", &f("bundle.json"), "--ledger-key", &key]);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_from_before_signed_heads_gets_its_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("old");
    let o = hoso()
        .args(["init", "--data", data.to_str().unwrap()])
        .env("HOSO_ADMIN_PASSWORD", "Mot-Lan#2026!Kh")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(data.join("ledger-keys.json")).unwrap();
    let s = serve(&data);
    let out = s.served.lines.lock().unwrap().join("\n");
    assert!(out.contains("created the ledger signing key"), "{out}");
    let (status, _) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_or_replaced_key_file_leaves_the_signed_heads_unverifiable() {
    let (_dir, data) = copy_of_base();
    std::fs::remove_file(data.join("ledger-keys.json")).unwrap();
    let s = serve(&data);
    let (status, body) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let out = s.served.lines.lock().unwrap().join("\n");
    assert!(out.contains("does not verify"), "{out}");
}
