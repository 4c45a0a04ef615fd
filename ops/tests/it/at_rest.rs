//! Personal data at rest (issue 14): a data directory that `hoso serve` wrote
//! holds no identification number in clear, nor the unkeyed digest the
//! number could be recovered from, in any file — log, stream index, read
//! model, key stores, WAL and shared-memory files included — while the
//! readers allowed to see a number still see it and a search by number still
//! finds its dossier; and that the server refuses to start without the
//! identifier key those hashes were made with.
//!
//! On the real server: what is on disk is what `hoso init` and `hoso serve`
//! write, and the server is killed, not stopped, so that the WAL files are
//! left as a crash would leave them, never checkpointed away.

use crate::support;

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";
const ROOT: &str = "000.00.00.H33";
const HEALTH: &str = "000.02.00.H33";

/// The numbers written: a dossier with a personal account, a dossier a
/// consent names, a dossier only.
const OWN: &str = "001090001234";
const CONSENTED: &str = "001190004321";
const OTHER: &str = "001090000077";

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let mut rq = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let r = rq.send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        self.call("GET", path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        self.call("POST", path, token, Some(body)).await
    }

    /// Logs in with an issued password and changes it; returns the token.
    async fn first_login(&self, user: &str, issued: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({"username": user, "password": issued}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        self.post(
            "/api/v1/accounts/me/password",
            &token,
            json!({"current": issued, "new": CHOSEN}),
        )
        .await;
        token
    }

    /// A staff account of `unit` holding `right` there; returns its token.
    async fn staff(&self, admin: &str, user: &str, right: &str) -> String {
        let r = self
            .post(
                "/api/v1/accounts",
                admin,
                json!({"kind": "specialist", "username": user, "org_code": HEALTH,
                       "display_name": format!("Cán bộ {user}")}),
            )
            .await;
        let id = r["id"].as_str().unwrap().to_owned();
        self.post(
            &format!("/api/v1/accounts/{id}/changes"),
            admin,
            json!({"action": "grant", "org_code": HEALTH, "right": right, "reason": "phân công"}),
        )
        .await;
        self.post(
            &format!("/api/v1/accounts/{id}/password"),
            admin,
            json!({"password": "Cap-Moi#2026!x"}),
        )
        .await;
        self.first_login(user, "Cap-Moi#2026!x").await
    }
}

fn doc(number: &str) -> Value {
    json!({"number": number, "date": "2026-01-05", "issuer": "UBND tỉnh"})
}

/// Every file under `dir`, depth first.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// What must not be found on disk for `number`: the number, the full
/// SHA-256 of it in hex, and the digest stream names carried before
/// identifiers were keyed (its first 16 bytes, domain-separated).
fn forbidden(number: &str) -> Vec<String> {
    let full = hex::encode(Sha256::digest(number.as_bytes()));
    let mut h = Sha256::new();
    h.update(b"hoso-person-id\0");
    h.update(number.as_bytes());
    let old_stream_digest = hex::encode(&h.finalize()[..16]);
    vec![number.to_owned(), full, old_stream_digest]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identification_number_is_on_disk_in_clear_or_as_an_unkeyed_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let o = support::hoso_cmd()
        .args(["init", "--data", &support::arg(&data)])
        .env("HOSO_ADMIN_PASSWORD", ISSUED)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", support::text(&o));
    let served = support::serve(&data);
    let mut child = served.child;
    let api = Api {
        base: served.base,
        http: reqwest::Client::new(),
    };

    let admin = api.first_login("snv.admin", ISSUED).await;
    for (code, name, kind, parent) in [
        (ROOT, "UBND tỉnh", "peoples_committee_province", None),
        (HEALTH, "Sở Y tế", "provincial_department", Some(ROOT)),
    ] {
        api.post(
            "/api/v1/org-units",
            &admin,
            json!({"code": code, "decision": doc("1/QĐ-UBND"),
                   "change": {"action": "establish", "name": name, "kind": kind,
                              "parent": parent, "effective": "2026-01-05"}}),
        )
        .await;
    }
    let focal = api.staff(&admin, "yte.tochuc", "update").await;
    let clerk = api.staff(&admin, "yte.vanthu", "access").await;

    let mut dossiers = Vec::new();
    for (number, name) in [
        (OWN, "Nguyễn Văn An"),
        (CONSENTED, "Lê Thị Hoa"),
        (OTHER, "Phạm Văn Cường"),
    ] {
        let r = api
            .post(
                "/api/v1/dossiers",
                &focal,
                json!({"person_id": number, "full_name": name, "birth_date": "1990-05-17",
                       "category": "cong_chuc", "managing_unit": HEALTH, "employing_unit": HEALTH,
                       "recruited_on": "2026-01-05", "decision": doc("15/QĐ-SYT")}),
            )
            .await;
        dossiers.push(r["id"].as_str().unwrap().to_owned());
    }
    api.post(
        "/api/v1/accounts",
        &focal,
        json!({"kind": "personal", "username": "an.nv", "org_code": HEALTH, "person_id": OWN,
               "display_name": "Nguyễn Văn An", "birth_date": "1990-05-17"}),
    )
    .await;
    let clerk_id = api.get("/api/v1/accounts/me", &clerk).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let consent = api
        .post(
            &format!("/api/v1/accounts/{clerk_id}/changes"),
            &admin,
            json!({"action": "grant_consent", "subject_person_id": CONSENTED,
                   "document": doc("7/GĐY-SYT"), "expires": "2099-12-31",
                   "sections": ["recruitment"]}),
        )
        .await;
    let wait = consent["position"].as_u64().unwrap();

    // A search by number finds the dossier (the caller holds the number).
    let found = api
        .get(
            &format!("/api/v1/dossiers?person_id={OWN}&wait_for={wait}"),
            &focal,
        )
        .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["id"], dossiers[0]);
    assert_eq!(items[0]["person_id"], OWN);
    // A search by name does not list numbers.
    let by_name = api.get("/api/v1/dossiers?name=an", &focal).await;
    assert!(
        by_name["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["person_id"] == ""),
        "{by_name}"
    );

    // A reader cleared for restricted data sees the number, opened; one
    // holding only access right (general clearance) does not.
    let path = format!("/api/v1/dossiers/{}", dossiers[0]);
    assert_eq!(api.get(&path, &focal).await["person_id"], OWN);
    let below = api.get(&path, &clerk).await;
    assert_eq!(below["person_id"], Value::Null, "{below}");
    let history = format!("{path}/history");
    let seen = api.get(&history, &focal).await.to_string();
    assert!(seen.contains(OWN), "{seen}");
    assert!(!seen.contains("person_id_sealed"), "{seen}");
    let withheld = api.get(&history, &clerk).await.to_string();
    assert!(!withheld.contains(OWN), "{withheld}");
    assert!(withheld.contains("(withheld)"), "{withheld}");

    // Killed, not stopped: the WAL files stay as they are.
    child.kill().unwrap();
    child.wait().unwrap();
    let mut all = Vec::new();
    files(&data, &mut all);
    assert!(
        all.iter()
            .any(|p| p.to_string_lossy().ends_with("ledger.db-wal")),
        "{all:?}"
    );
    for number in [OWN, CONSENTED, OTHER] {
        for needle in forbidden(number) {
            for path in &all {
                let bytes = std::fs::read(path).unwrap();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{} holds {needle} (of {number})",
                    path.display()
                );
            }
        }
    }

    // The keyed hashes in the log are worth nothing without their key: the
    // server refuses to start without it, or with another.
    let key_file = data.join("field-keys.json");
    let original: Value = serde_json::from_slice(&std::fs::read(&key_file).unwrap()).unwrap();
    let serve_with = |keys: &Value| {
        std::fs::write(&key_file, serde_json::to_vec(keys).unwrap()).unwrap();
        support::hoso(&[
            "serve",
            "--data",
            &support::arg(&data),
            "--listen",
            "127.0.0.1:0",
        ])
    };
    let mut without = original.clone();
    without.as_object_mut().unwrap().remove("identifier_key");
    let o = serve_with(&without);
    assert!(!o.status.success());
    assert!(
        support::text(&o).contains("key file has no identifier key"),
        "{}",
        support::text(&o)
    );
    let mut another = original.clone();
    another["identifier_key"] = json!("ab".repeat(32));
    let o = serve_with(&another);
    assert!(!o.status.success());
    assert!(
        support::text(&o).contains("is not the one this data directory was created with"),
        "{}",
        support::text(&o)
    );
}

/// A data directory made before identifier keys: its key file holds none and
/// `data-keys.db` records none. The next start gives it one (in the same key
/// file, still 0600), once: the start after keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_key_file_is_given_an_identifier_key_once_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let o = support::hoso_cmd()
        .args(["init", "--data", &support::arg(&data)])
        .env("HOSO_ADMIN_PASSWORD", ISSUED)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", support::text(&o));
    let key_file = data.join("field-keys.json");
    let read_keys = || serde_json::from_slice::<Value>(&std::fs::read(&key_file).unwrap()).unwrap();
    let mut keys = read_keys();
    keys.as_object_mut().unwrap().remove("identifier_key");
    std::fs::write(&key_file, serde_json::to_vec(&keys).unwrap()).unwrap();
    rusqlite::Connection::open(data.join("data-keys.db"))
        .unwrap()
        .execute_batch("DROP TABLE meta")
        .unwrap();

    let mut first = support::serve(&data).child;
    first.kill().unwrap();
    first.wait().unwrap();
    let upgraded = read_keys();
    let identifier = upgraded["identifier_key"].as_str().unwrap().to_owned();
    assert_eq!(identifier.len(), 64);
    assert_eq!(upgraded["keys"], keys["keys"], "the KEKs are untouched");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let mut second = support::serve(&data).child;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(read_keys(), upgraded);
}
