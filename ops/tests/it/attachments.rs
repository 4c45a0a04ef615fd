//! Attachments over real HTTP against `hoso serve` (issue 14): encrypted at rest
//! under their dossier's key, with no trace of a restricted document's content or
//! digest anywhere in the data directory; cited only from the dossier they were
//! uploaded to; a quota per account on uploads not yet cited; and the plaintext
//! files of an older data directory encrypted at the next start.
//!
//! On the real server because what is tested is the files `hoso serve` leaves in
//! its data directory (WAL included) and its start-up migration.

use crate::support;
use crate::support::api::{Body, Client, HEALTH, decision};

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Cua-Toi#2026!y";
const ISSUED: &str = "Cap-Moi#2026!x";

fn init(parent: &Path) -> PathBuf {
    let data = parent.join("d");
    let o = support::hoso_cmd()
        .args(["init", "--data", &support::arg(&data)])
        .env("HOSO_ADMIN_PASSWORD", ADMIN_OTP)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", support::text(&o));
    data
}

/// The served binary and a client of it.
struct Api {
    client: Client,
    _served: support::Served,
}

impl Api {
    fn start(data: &Path) -> Self {
        let served = support::serve(data);
        Self {
            client: Client::new(served.base.clone()),
            _served: served,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map_or(Body::None, Body::Json);
        self.client.request(method, path, token, body).await
    }

    async fn ok(&self, method: &str, path: &str, token: &str, body: Value) -> Value {
        self.client.ok(method, path, token, body).await
    }

    async fn upload(&self, dossier: &str, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.client.upload(dossier, token, bytes).await.pair()
    }
}

struct Province {
    admin: String,
    focal: String,
    head: String,
}

/// The province, the health department, its focal point (update right) and its
/// head (access right only: general clearance).
async fn province(api: &Api) -> Province {
    let admin = api.client.first_login("snv.admin", ADMIN_OTP, PW).await;
    api.client.health_department(&admin).await;
    let mut tokens = Vec::new();
    for (user, kind, right) in [
        ("yte.tochuc", "specialist", "update"),
        ("yte.giamdoc", "agency_head", "access"),
    ] {
        let (_, token) = api
            .client
            .staff(&admin, kind, user, HEALTH, right, PW)
            .await;
        tokens.push(token);
    }
    let head = tokens.pop().unwrap();
    let focal = tokens.pop().unwrap();
    Province { admin, focal, head }
}

/// A dossier in the health department, with `decision` as its recruitment decision.
async fn open(api: &Api, p: &Province, person_id: &str, name: &str, decision: Value) -> String {
    let r = api
        .ok(
            "POST",
            "/api/v1/dossiers",
            &p.focal,
            json!({"person_id": person_id, "full_name": name, "birth_date": "1990-05-17",
                   "category": "cong_chuc", "managing_unit": HEALTH, "employing_unit": HEALTH,
                   "recruited_on": "2026-01-05", "decision": decision}),
        )
        .await;
    r["id"].as_str().unwrap().to_owned()
}

/// The person's own account, logged in.
async fn personal(api: &Api, p: &Province, person_id: &str, user: &str) -> String {
    let r = api
        .ok(
            "POST",
            "/api/v1/accounts",
            &p.focal,
            json!({"kind": "personal", "username": user, "org_code": HEALTH, "person_id": person_id,
                   "display_name": user, "birth_date": "1990-05-17"}),
        )
        .await;
    let id = r["id"].as_str().unwrap().to_owned();
    api.ok(
        "POST",
        &format!("/api/v1/accounts/{id}/password"),
        &p.focal,
        json!({"password": ISSUED}),
    )
    .await;
    api.client.first_login(user, ISSUED, PW).await
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn holds(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn family(sha: &str) -> Value {
    json!({"section": "family", "attachments": [sha], "occurred_on": "2026-01-05",
           "fields": [{"field": "30.c1", "row": 1, "value": "Vợ"},
                      {"field": "30.c2", "row": 1, "value": "Trần Thị Bình"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_encrypted_and_cited_only_from_their_own_dossier() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let api = Api::start(&data);
    let p = province(&api).await;
    let (pid_an, pid_binh) = ("001090001234", "001090005678");
    let an_dossier = open(&api, &p, pid_an, "Nguyễn Văn An", decision("15/QĐ-SYT")).await;
    let binh_dossier = open(&api, &p, pid_binh, "Lê Văn Bình", decision("16/QĐ-SYT")).await;
    let an = personal(&api, &p, pid_an, "an.nv").await;
    let binh = personal(&api, &p, pid_binh, "binh.lv").await;

    // Bình uploads his marriage certificate to his own dossier and cites it as
    // the proof of his family section (restricted).
    let marker = "GIAY-CHUNG-NHAN-KET-HON-7f3a91";
    let certificate = format!("{marker}: Lê Văn Bình và Trần Thị Bình").into_bytes();
    let (status, up) = api.upload(&binh_dossier, &binh, certificate.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let sha = up["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, hex::encode(Sha256::digest(&certificate)));
    let r = api
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{binh_dossier}/declarations"),
            &binh,
            family(&sha),
        )
        .await;
    let wait = r["position"].as_u64().unwrap();

    // An, a colleague who learnt the digest, cites it in his own declaration:
    // refused, and nothing is appended.
    let before = api.client.log_position(&p.admin).await;
    let (status, v) = api
        .call(
            "POST",
            &format!("/api/v1/dossiers/{an_dossier}/declarations"),
            &an,
            Some(family(&sha)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["type"], "urn:hoso:problem:attachment:not-uploaded");
    assert_eq!(api.client.log_position(&p.admin).await, before);
    // Nor can he read it, through his dossier or Bình's.
    for dossier in [&an_dossier, &binh_dossier] {
        let (status, v) = api
            .call(
                "GET",
                &format!("/api/v1/dossiers/{dossier}/attachments/{sha}"),
                &an,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    }
    // An's own upload to his own dossier is fine, and citable there.
    let (status, own) = api
        .upload(&an_dossier, &an, b"giay khai sinh cua An".to_vec())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own_sha = own["sha256"].as_str().unwrap();
    api.ok(
        "POST",
        &format!("/api/v1/dossiers/{an_dossier}/declarations"),
        &an,
        family(own_sha),
    )
    .await;

    // Cleared readers still read Bình's proof (opened from its sealed citation);
    // the head, of general clearance, does not see that it exists.
    for (reader, expected) in [
        (&binh, StatusCode::OK),
        (&p.focal, StatusCode::OK),
        (&p.head, StatusCode::NOT_FOUND),
    ] {
        let (status, v) = api
            .call(
                "GET",
                &format!("/api/v1/dossiers/{binh_dossier}/attachments/{sha}?wait_for={wait}"),
                reader,
                None,
            )
            .await;
        assert_eq!(status, expected, "{v}");
        if status == StatusCode::OK {
            assert_eq!(
                v,
                Value::String(String::from_utf8(certificate.clone()).unwrap())
            );
        }
    }
    let (_, history) = api
        .call(
            "GET",
            &format!("/api/v1/dossiers/{binh_dossier}/history"),
            &p.focal,
            None,
        )
        .await;
    assert!(history.to_string().contains(&sha), "{history}");

    // Nothing in the data directory, WAL files included, holds the document's
    // content or its digest (in hex or in bytes).
    let digest = Sha256::digest(&certificate);
    for (path, bytes) in files(&data) {
        assert!(
            !holds(&bytes, marker.as_bytes()),
            "{} holds the content",
            path.display()
        );
        assert!(
            !holds(&bytes, sha.as_bytes()),
            "{} holds the digest",
            path.display()
        );
        assert!(
            !holds(&bytes, &digest),
            "{} holds the raw digest",
            path.display()
        );
        assert!(!path.to_string_lossy().contains(&sha), "{}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_holds_at_most_its_quota_in_uncited_uploads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let quota = 1024 * 1024;
    let settings = data.join("hoso.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "\n[uploads]\npending_quota_bytes = {quota}\nunreferenced_grace_days = 7\n"
    ));
    std::fs::write(&settings, text).unwrap();
    let api = Api::start(&data);
    let p = province(&api).await;
    let dossier = open(
        &api,
        &p,
        "001090001234",
        "Nguyễn Văn An",
        decision("15/QĐ-SYT"),
    )
    .await;

    let mut stored = 0;
    for i in 0..20u8 {
        let (status, v) = api.upload(&dossier, &p.focal, vec![i; 200 * 1024]).await;
        if status == StatusCode::CREATED {
            stored += 1;
        } else {
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
            assert_eq!(v["type"], "urn:hoso:problem:attachment:quota-exceeded");
            assert!(
                v["detail"].as_str().unwrap().contains(&quota.to_string()),
                "{v}"
            );
        }
    }
    assert_eq!(stored, quota / (200 * 1024));
    let kept = std::fs::read_dir(data.join("attachments")).unwrap().count();
    assert_eq!(kept, stored, "a refused upload stores nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_attachments_of_an_older_directory_are_encrypted_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let marker = "QUYET-DINH-TUYEN-DUNG-5b2e";
    let scan = format!("{marker} số 15/QĐ-SYT").into_bytes();
    let sha = hex::encode(Sha256::digest(&scan));
    let id = {
        let api = Api::start(&data);
        let p = province(&api).await;
        let mut decision = decision("15/QĐ-SYT");
        decision["attachment_sha256"] = json!(sha);
        open(&api, &p, "001090001234", "Nguyễn Văn An", decision).await
    };
    // As an older server kept it: in the clear, named by its digest.
    let legacy = data.join("attachments").join(&sha);
    std::fs::write(&legacy, &scan).unwrap();
    std::fs::write(
        data.join("attachments").join(format!(".{sha}.tmp")),
        b"half",
    )
    .unwrap();

    let api = Api::start(&data);
    assert!(!legacy.exists(), "the plaintext is removed once encrypted");
    for (path, bytes) in files(&data) {
        assert!(
            !holds(&bytes, marker.as_bytes()),
            "{} holds the content",
            path.display()
        );
    }
    let focal = api.client.token("yte.tochuc", PW).await;
    let (status, v) = api
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/attachments/{sha}"),
            &focal,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v, Value::String(String::from_utf8(scan).unwrap()));
    drop(api);

    // A second start finds nothing left to migrate and still serves it.
    let api = Api::start(&data);
    let (status, _) = api
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/attachments/{sha}"),
            &focal,
            None,
        )
        .await;
    // The session of the first run lives on in sessions.db.
    assert_eq!(status, StatusCode::OK);
}
