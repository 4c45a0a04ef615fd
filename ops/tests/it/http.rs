//! The API over real HTTP against `hoso serve` on a temporary data
//! directory: a dossier's whole life, scope escapes, field encryption at
//! rest, login throttling, and a corpus of malformed requests — every
//! response checked against the OpenAPI document the server publishes.
//!
//! These stay on a socket, unlike `api/tests/time.rs`: what they test is the
//! `hoso` binary as shipped — `hoso init` then `hoso serve` wiring the data
//! directory (settings, profile, key file, credentials, system clock, the
//! read-model follower) — and `ops` has no library through which a test
//! could build that state in-process. Each test says what else needs the
//! real server.

use std::path::Path;

use crate::support;
use crate::support::api::Client;
use crate::support::hoso_cmd as hoso;

use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Cua-Toi#2026!y";

/// `hoso init` and `hoso serve` of a new data directory, and a client that
/// holds every answer to the served OpenAPI document.
struct Server {
    api: Client,
    _served: support::Served,
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.api
    }
}

async fn start(data: &Path) -> Server {
    support::init(data, ADMIN_OTP);
    let served = support::serve(data);
    Server {
        api: Client::conforming(served.base.clone()).await,
        _served: served,
    }
}

/// The head signs the approval digest with ed25519; returns the position
/// to wait for.
async fn sign(s: &Server, approvals: &str, head: &str, key: &SigningKey) -> u64 {
    let rq = s.call("GET", approvals, Some(head), None).await.body;
    let sig = key.sign(&hex::decode(rq["digest"].as_str().unwrap()).unwrap());
    let r = s
        .ok(
            "POST",
            approvals,
            head,
            json!({"revision": rq["revision"], "stream_hash": rq["stream_hash"],
                   "key_id": "gd-2026", "signature": hex::encode(sig.to_bytes())}),
        )
        .await;
    r["position"].as_u64().unwrap()
}

/// A decision with its scan uploaded to the dossier's attachments.
async fn scanned(s: &Server, dossier: &str, token: &str, number: &str) -> Value {
    let up = s
        .http
        .post(format!("{}/api/v1/dossiers/{dossier}/attachments", s.base))
        .bearer_auth(token)
        .body(format!("scan of decision {number}").into_bytes())
        .send()
        .await
        .unwrap();
    let up = s
        .answer("POST", "/api/v1/dossiers/{id}/attachments", up)
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let mut d = doc(number);
    d["attachment_sha256"] = up.body["sha256"].clone();
    d
}

fn doc(number: &str) -> Value {
    json!({"number": number, "date": "2026-01-05", "issuer": "UBND tỉnh"})
}

const ROOT: &str = "000.00.00.H33";
const HEALTH: &str = "000.02.00.H33";
const EDUCATION: &str = "000.03.00.H33";

struct Province {
    admin: String,
    health_focal: String,
    edu_focal: String,
    health_head: (String, String, SigningKey),
}

async fn province(s: &Server) -> Province {
    let admin = s.first_login("snv.admin", ADMIN_OTP, PW).await;
    for (code, name, kind, parent) in [
        (ROOT, "UBND tỉnh", "peoples_committee_province", None),
        (HEALTH, "Sở Y tế", "provincial_department", Some(ROOT)),
        (
            EDUCATION,
            "Sở Giáo dục và Đào tạo",
            "provincial_department",
            Some(ROOT),
        ),
    ] {
        s.ok(
            "POST",
            "/api/v1/org-units",
            &admin,
            json!({
                "code": code, "decision": doc("1/QĐ-UBND"),
                "change": {"action": "establish", "name": name, "kind": kind, "parent": parent,
                           "effective": "2026-01-05"}
            }),
        )
        .await;
    }
    let staff = |user: &'static str,
                 unit: &'static str,
                 kind: &'static str,
                 right: &'static str| {
        let admin = admin.clone();
        async move {
            let r = s.ok("POST", "/api/v1/accounts", &admin, json!({
                "kind": kind, "username": user, "org_code": unit, "display_name": format!("Cán bộ {user}")
            })).await;
            let id = r["id"].as_str().unwrap().to_owned();
            s.ok(
                "POST",
                &format!("/api/v1/accounts/{id}/changes"),
                &admin,
                json!({
                    "action": "grant", "org_code": unit, "right": right, "reason": "phân công"
                }),
            )
            .await;
            s.ok(
                "POST",
                &format!("/api/v1/accounts/{id}/password"),
                &admin,
                json!({"password": "Cap-Moi#2026!x"}),
            )
            .await;
            (id, s.first_login(user, "Cap-Moi#2026!x", PW).await)
        }
    };
    let (_, health_focal) = staff("yte.tochuc", HEALTH, "specialist", "update").await;
    let (_, edu_focal) = staff("gd.tochuc", EDUCATION, "specialist", "update").await;
    let (head_id, head_token) = staff("yte.giamdoc", HEALTH, "agency_head", "access").await;
    let key = SigningKey::from_bytes(&[7u8; 32]);
    s.ok("POST", &format!("/api/v1/accounts/{head_id}/changes"), &admin, json!({
        "action": "register_key", "key_id": "gd-2026", "public_key": hex::encode(key.verifying_key().to_bytes()),
        "valid_from": "2026-01-05"
    })).await;
    Province {
        admin,
        health_focal,
        edu_focal,
        health_head: (head_id, head_token, key),
    }
}

async fn open_dossier(s: &Server, focal: &str, person_id: &str, name: &str, unit: &str) -> String {
    // Every test person was born in 1990, as their numbers say.
    let r = s.ok("POST", "/api/v1/dossiers", focal, json!({
        "person_id": person_id, "full_name": name, "birth_date": "1990-05-17", "category": "cong_chuc",
        "managing_unit": unit, "employing_unit": unit, "recruited_on": "2026-01-05",
        "decision": doc("15/QĐ-SYT")
    })).await;
    r["id"].as_str().unwrap().to_owned()
}

fn identity(person_id: &str) -> Value {
    json!({"section": "identity", "fields": [
        {"field": "1", "value": "NGUYỄN VĂN AN"}, {"field": "3a", "value": "17/05/1990"},
        {"field": "3b", "value": "Nam"}, {"field": "25a", "value": person_id},
        {"field": "7", "value": "Phật giáo Hòa Hảo"}
    ]})
}

// On the real server: it reads the files `hoso serve` wrote (no plaintext
// of sealed fields in the log, its WAL or the read model), reads `/metrics`
// fed by the served process's follower, and runs `hoso verify` on the same
// directory afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_lives_its_whole_life_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let s = start(&data).await;
    let p = province(&s).await;
    let pid = "001090001234";
    let id = open_dossier(&s, &p.health_focal, pid, "Nguyễn Văn An", HEALTH).await;

    // The person's own account; the person declares.
    let r = s
        .ok(
            "POST",
            "/api/v1/accounts",
            &p.health_focal,
            json!({
                "kind": "personal", "username": "an.nv", "org_code": HEALTH, "person_id": pid,
                "display_name": "Nguyễn Văn An", "birth_date": "1990-05-17"
            }),
        )
        .await;
    let person_account = r["id"].as_str().unwrap().to_owned();
    s.ok(
        "POST",
        &format!("/api/v1/accounts/{person_account}/password"),
        &p.health_focal,
        json!({"password": "Cap-Moi#2026!x"}),
    )
    .await;
    let person = s.first_login("an.nv", "Cap-Moi#2026!x", PW).await;
    // The person's account names their own dossier; a staff account none.
    let me = s.get_ok("/api/v1/accounts/me", &person).await;
    assert_eq!(me["dossier"], id.as_str(), "{me}");
    assert_eq!(me["kind"], "personal");
    let staff_me = s.get_ok("/api/v1/accounts/me", &p.health_focal).await;
    assert!(staff_me.get("dossier").is_none(), "{staff_me}");
    // One spelling per value: the category and status read back as they are
    // written, discipline is a list even when withheld.
    let read = s.get_ok(&format!("/api/v1/dossiers/{id}"), &person).await;
    assert_eq!(read["category"], "cong_chuc", "{read}");
    assert_eq!(read["status"], "active", "{read}");
    assert!(read["discipline"].is_array(), "{read}");
    let hits = s
        .get_ok(
            &format!("/api/v1/dossiers?unit={HEALTH}&category=cong_chuc&status=active"),
            &p.health_focal,
        )
        .await;
    let hit = &hits["items"][0];
    assert_eq!(hit["id"], id.as_str(), "{hits}");
    assert_eq!(
        (&hit["category"], &hit["status"]),
        (&json!("cong_chuc"), &json!("active"))
    );
    assert!(
        hit.get("person_id").is_none(),
        "no number unless searched by it: {hit}"
    );
    let by_number = s
        .get_ok(
            &format!("/api/v1/dossiers?person_id={pid}"),
            &p.health_focal,
        )
        .await;
    assert_eq!(by_number["items"][0]["person_id"], pid);
    let unknown = s
        .get(
            &format!("/api/v1/dossiers?unit={HEALTH}&category=CONG_CHUC"),
            &p.health_focal,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = unknown.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("valid values: can_bo, cong_chuc, vien_chuc, nguoi_lao_dong"),
        "{detail}"
    );
    let decl = format!("/api/v1/dossiers/{id}/declarations");
    s.ok("POST", &decl, &person, identity(pid)).await;
    s.ok(
        "POST",
        &decl,
        &person,
        json!({"section": "recruitment", "fields": [
        {"field": "11a", "value": "05/01/2026"}, {"field": "11b", "value": "Sở Y tế"}]}),
    )
    .await;

    // Returned with a reason, declared again, verified and locked.
    let review = format!("/api/v1/dossiers/{id}/review");
    s.ok(
        "POST",
        &review,
        &p.health_focal,
        json!({"action": "return", "sections": ["identity"],
         "reasons": ["thiếu tôn giáo theo giấy khai sinh"]}),
    )
    .await;
    let r = s.ok("POST", &decl, &person, identity(pid)).await;
    let wait = r["position"].as_u64().unwrap();
    // Optimistic concurrency: a stale If-Match is refused with 412.
    let dossier = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}?wait_for={wait}"),
            Some(&p.health_focal),
            None,
        )
        .await;
    let etag = dossier.etag.clone().unwrap();
    assert_eq!(etag, format!("\"{}\"", dossier.body["revision"]));
    let stale = s
        .http
        .post(format!("{}{review}", s.base))
        .bearer_auth(&p.health_focal)
        .header("if-match", "\"1\"")
        .json(&json!({"action": "verify"}))
        .send()
        .await
        .unwrap();
    let stale = s.answer("POST", &review, stale).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let fresh = s
        .http
        .post(format!("{}{review}", s.base))
        .bearer_auth(&p.health_focal)
        .header("if-match", etag)
        .json(&json!({"action": "verify", "note": "khớp bản gốc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.answer("POST", &review, fresh).await.status,
        StatusCode::OK
    );
    s.ok("POST", &review, &p.health_focal, json!({"action": "lock"}))
        .await;

    // The head approves with a real ed25519 signature over the digest.
    let approvals = format!("/api/v1/dossiers/{id}/approvals");
    let (_, head, key) = &p.health_head;
    let wait = sign(&s, &approvals, head, key).await;
    let v = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}?wait_for={wait}"),
            Some(&p.health_focal),
            None,
        )
        .await
        .body;
    assert_eq!(v["workflow"], "approved");
    assert_eq!(v["approvals"].as_array().unwrap().len(), 1);
    // Who signed and who acted (the focal point, the servant, the head), by
    // name as well as by account id.
    assert_eq!(v["approvals"][0]["signer"], p.health_head.0.as_str());
    assert_eq!(v["approvals"][0]["signer_name"], "Cán bộ yte.giamdoc");
    let history = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/history"),
            Some(&p.health_focal),
            None,
        )
        .await
        .body;
    let actors: std::collections::BTreeSet<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor_name"].as_str())
        .collect();
    assert_eq!(
        actors,
        ["Cán bộ yte.giamdoc", "Cán bộ yte.tochuc", "Nguyễn Văn An"].into(),
        "{history}"
    );
    // The focal point (update right: restricted clearance) sees the
    // identification number and religion, opened from their sealed form.
    let fields = v["sections"]["identity"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["field"] == "7"
        && f["value"] == "Phật giáo Hòa Hảo"
        && f["level"] == "restricted"));
    assert_eq!(v["person_id"], pid);

    // A change after approval needs its proof (BT 6.3): upload, declare, approve.
    let up = s
        .http
        .post(format!("{}/api/v1/dossiers/{id}/attachments", s.base))
        .bearer_auth(&person)
        .body(b"scan of the marriage certificate".to_vec())
        .send()
        .await
        .unwrap();
    let up = s
        .answer("POST", "/api/v1/dossiers/{id}/attachments", up)
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let sha = up.body["sha256"].as_str().unwrap().to_owned();
    let refused = s.call("POST", &decl, Some(&person), Some(json!({"section": "family", "fields": [
        {"field": "30.c1", "row": 1, "value": "Vợ"}, {"field": "30.c2", "row": 1, "value": "Trần Thị Bình"}]}))).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body["citation"]
            .as_str()
            .unwrap()
            .contains("BT 6.3"),
        "{}",
        refused.body
    );
    s.ok("POST", &decl, &person, json!({"section": "family", "attachments": [sha], "occurred_on": "2026-01-05",
        "fields": [{"field": "30.c1", "row": 1, "value": "Vợ"}, {"field": "30.c2", "row": 1, "value": "Trần Thị Bình"}]})).await;
    s.ok(
        "POST",
        &review,
        &p.health_focal,
        json!({"action": "verify"}),
    )
    .await;
    s.ok("POST", &review, &p.health_focal, json!({"action": "lock"}))
        .await;
    let wait = sign(&s, &approvals, head, key).await;

    // The head holds only access right: general clearance. Restricted
    // fields are withheld and said to be.
    let v = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}?wait_for={wait}"),
            Some(head),
            None,
        )
        .await
        .body;
    assert_eq!(v["person_id"], Value::Null);
    assert!(
        v["access"]["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "identity/25a"),
        "{v}"
    );
    assert!(v["sections"]["family"].is_null(), "{v}");
    // The person sees everything of their own, including the family.
    let v = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}"),
            Some(&person),
            None,
        )
        .await
        .body;
    assert_eq!(v["sections"]["family"][1]["value"], "Trần Thị Bình", "{v}");
    assert_eq!(v["access"]["basis"], "own-data");
    // The attachment the dossier cites can be read back.
    let a = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/attachments/{sha}"),
            Some(&p.health_focal),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);

    // Encryption at rest: no restricted plaintext in any file of the data
    // directory, WAL files included — not the religion, the family member,
    // the identification number, nor the digest of the family section's proof.
    let mut files = vec![data.clone()];
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).unwrap();
        for secret in ["Phật giáo Hòa Hảo", "Trần Thị Bình", pid, sha.as_str()] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                path.display()
            );
        }
    }
    assert!(seen >= 8, "{seen} files");

    // Reads of restricted data are in the dossier's audit trail.
    let head = s.call("GET", "/healthz", Some(&p.admin), None).await.body["log_position"]
        .as_u64()
        .unwrap();
    assert!(head > wait, "the reads above appended AccessLogged events");
    let audit = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/audit?wait_for={}", head - 1),
            Some(&p.admin),
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let reads: Vec<&Value> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "dossier.AccessLogged")
        .collect();
    assert!(
        reads.iter().any(|e| e["detail"]["basis"] == "right:update"),
        "{reads:?}"
    );
    assert!(
        reads.iter().any(|e| e["detail"]["basis"] == "own-data"),
        "{reads:?}"
    );

    // A transfer to another agency: sent, accepted; the old unit loses sight.
    let r = s
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{id}/transfers"),
            &p.health_focal,
            json!({
        "action": "initiate", "kind": "transfer", "to": EDUCATION, "effective": "2026-01-05",
        "document": scanned(&s, &id, &p.health_focal, "40/QĐ-UBND").await}),
        )
        .await;
    let transfer = r["id"].as_str().unwrap().to_owned();
    let r = s
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{id}/transfers"),
            &p.edu_focal,
            json!({
        "action": "accept", "transfer_id": transfer}),
        )
        .await;
    let wait = r["position"].as_u64().unwrap();
    let v = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}?wait_for={wait}"),
            Some(&p.edu_focal),
            None,
        )
        .await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(v.body["managing_unit"], EDUCATION);
    let gone = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}"),
            Some(&p.health_focal),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // Retirement: the dossier goes to the archive, the personal account is locked.
    let r = s
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{id}/status"),
            &p.edu_focal,
            json!({
        "status": "retired", "effective": "2026-01-05", "document": scanned(&s, &id, &p.edu_focal, "99/QĐ-SGD").await}),
        )
        .await;
    let wait = r["position"].as_u64().unwrap();
    let v = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}?wait_for={wait}"),
            Some(&p.edu_focal),
            None,
        )
        .await
        .body;
    assert_eq!(v["archived"], true);
    let locked = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}"),
            Some(&person),
            None,
        )
        .await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    let found = s
        .call(
            "GET",
            &format!("/api/v1/dossiers?archived=true&name=nguyen%20van%20an&wait_for={wait}"),
            Some(&p.edu_focal),
            None,
        )
        .await
        .body;
    assert_eq!(found["items"][0]["id"], id.as_str());

    // The metrics name routes by template, with the read side's position.
    let m = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("hoso_http_requests_total{method=\"GET\",route=\"/api/v1/dossiers/{id}\",status=\"200\"}"), "{m}");
    assert!(
        m.contains("hoso_projection_lag_events")
            && m.contains("hoso_command_duration_seconds_count"),
        "{m}"
    );
    assert!(!m.contains(&id), "no dossier id leaks into the metrics");

    // The log still verifies, offline, with no keys.
    let o = hoso()
        .args(["verify", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

// On the real server only because of the module's reason (the state
// `hoso init` and `hoso serve` build); the failures it counts are charged
// to the connection's peer address, which an in-process call lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_escape_from_scope_fails_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(&tmp.path().join("d")).await;
    let p = province(&s).await;
    let health = open_dossier(&s, &p.health_focal, "001090001234", "Nguyễn Văn An", HEALTH).await;
    let edu = open_dossier(&s, &p.edu_focal, "001190004321", "Lê Thị Hoa", EDUCATION).await;
    s.ok(
        "POST",
        &format!("/api/v1/dossiers/{edu}/declarations"),
        &p.edu_focal,
        identity("001190004321"),
    )
    .await;
    let attempts = [
        format!("/api/v1/dossiers/{edu}"),
        format!("/api/v1/dossiers/{edu}/history"),
        format!("/api/v1/dossiers/{edu}/attachments/{}", "ab".repeat(32)),
        format!("/api/v1/dossiers?unit={EDUCATION}"),
        format!("/api/v1/reports/annual?org={EDUCATION}&year=2026"),
        format!("/api/v1/org-units/{EDUCATION}/headcount?by=category"),
    ];
    for path in &attempts {
        let a = s.call("GET", path, Some(&p.health_focal), None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.body);
        assert_eq!(a.body["type"], "urn:hoso:problem:request:not-found");
    }
    // Not found looks the same as never existed.
    let nobody = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{}", uuid::Uuid::now_v7()),
            Some(&p.health_focal),
            None,
        )
        .await;
    assert_eq!(
        nobody.body["detail"],
        s.call("GET", &attempts[0], Some(&p.health_focal), None)
            .await
            .body["detail"]
    );
    // Writing outside scope is the same 404.
    let w = s
        .call(
            "POST",
            &format!("/api/v1/dossiers/{edu}/declarations"),
            Some(&p.health_focal),
            Some(identity("001190004321")),
        )
        .await;
    assert_eq!(w.status, StatusCode::NOT_FOUND);
    // Search within scope does not find the other agency's dossier.
    let found = s
        .call(
            "GET",
            "/api/v1/dossiers?name=hoa",
            Some(&p.health_focal),
            None,
        )
        .await
        .body;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");

    // A personal account reading a colleague.
    let r = s
        .ok(
            "POST",
            "/api/v1/accounts",
            &p.health_focal,
            json!({
        "kind": "personal", "username": "an.nv", "org_code": HEALTH, "person_id": "001090001234",
        "display_name": "Nguyễn Văn An", "birth_date": "1990-05-17"}),
        )
        .await;
    let person_id = r["id"].as_str().unwrap().to_owned();
    s.ok(
        "POST",
        &format!("/api/v1/accounts/{person_id}/password"),
        &p.health_focal,
        json!({"password": "Cap-Moi#2026!x"}),
    )
    .await;
    let person = s.first_login("an.nv", "Cap-Moi#2026!x", PW).await;
    // A person holds no search scope: refused, and on record like the 404s.
    let searched = s.call("GET", "/api/v1/dossiers", Some(&person), None).await;
    assert_eq!(searched.status, StatusCode::FORBIDDEN, "{}", searched.body);
    let colleague = open_dossier(
        &s,
        &p.health_focal,
        "001090000077",
        "Phạm Văn Cường",
        HEALTH,
    )
    .await;
    assert_eq!(
        s.call(
            "GET",
            &format!("/api/v1/dossiers/{colleague}"),
            Some(&person),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.call(
            "GET",
            &format!("/api/v1/dossiers/{health}"),
            Some(&person),
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    // A written consent opens one dossier, for its sections only.
    let consent = s.ok("POST", &format!("/api/v1/accounts/{}/changes", me(&s, &p.health_focal).await), &p.admin, json!({
        "action": "grant_consent", "subject_person_id": "001190004321", "document": doc("7/GĐY-SGD"),
        "expires": "2099-12-31", "sections": ["recruitment"]})).await;
    let wait = consent["position"].as_u64().unwrap();
    let v = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{edu}?wait_for={wait}"),
            Some(&p.health_focal),
            None,
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert!(
        v.body["access"]["basis"]
            .as_str()
            .unwrap()
            .starts_with("consent:")
    );
    assert!(
        v.body["pending"]["identity"].is_null(),
        "identity is outside the consent: {}",
        v.body
    );

    // Rights revoked: the unit's own focal point no longer sees its dossier.
    let edu_focal_id = me(&s, &p.edu_focal).await;
    let r = s
        .ok(
            "POST",
            &format!("/api/v1/accounts/{edu_focal_id}/changes"),
            &p.admin,
            json!({"action": "revoke", "org_code": EDUCATION, "reason": "thôi phụ trách"}),
        )
        .await;
    assert!(r["position"].as_u64().is_some());
    let a = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{edu}"),
            Some(&p.edu_focal),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

    // A revoked session, a locked account.
    let out = s
        .call("DELETE", "/api/v1/sessions", Some(&person), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{health}"),
            Some(&person),
            None,
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.body["type"], "urn:hoso:problem:session:invalid-token");
    let person = s.login("an.nv", PW).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok(
        "POST",
        &format!("/api/v1/accounts/{person_id}/changes"),
        &p.admin,
        json!({"action": "lock", "note": "nghi ngờ lộ mật khẩu"}),
    )
    .await;
    let after = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{health}"),
            Some(&person),
            None,
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);

    // Repeated failures lock the account (HY 5.1); then even the right password fails.
    for _ in 0..5 {
        assert_eq!(
            s.login("yte.tochuc", "Sai-Mat#Khau1").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let a = s.login("yte.tochuc", PW).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    // The same answer as a wrong guess: a locked account confirms nothing.
    assert_eq!(a.body["type"], "urn:hoso:problem:session:bad-credentials");

    // Every refusal is on record for Sở Nội vụ.
    let rec = s
        .call(
            "GET",
            "/api/v1/security/attempts?limit=1000",
            Some(&p.admin),
            None,
        )
        .await
        .body;
    let kinds: Vec<&str> = rec
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    let refused = kinds.iter().filter(|k| **k == "scope-refused").count();
    assert!(refused >= attempts.len() + 3, "{kinds:?}");
    assert!(
        rec.as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "scope-refused"
                && a["account_id"] == json!(person_id)
                && a["target"] == "GET /dossiers"),
        "the person's search is on record: {rec}"
    );
    assert!(
        kinds.contains(&"account-locked")
            && kinds.contains(&"token-refused")
            && kinds.contains(&"login-failed")
    );
}

async fn me(s: &Server, token: &str) -> String {
    s.call("GET", "/api/v1/accounts/me", Some(token), None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// No request, however malformed, gets a 500 or a partial write.
// On the real server: oversized bodies are refused while the client is
// still sending and the connection closed, which only a socket shows, and
// the corpus must meet the HTTP parser the binary serves with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_malformed_request_gets_a_500() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let s = start(&data).await;
    let p = province(&s).await;
    let id = open_dossier(&s, &p.health_focal, "001090001234", "Nguyễn Văn An", HEALTH).await;
    let head = s.call("GET", "/healthz", Some(&p.admin), None).await.body["log_position"]
        .as_u64()
        .unwrap();
    // Read after the write: wait for the read side to reach it.
    let dossier = format!("/api/v1/dossiers/{id}?wait_for={}", head - 1);
    let revision_before = s
        .call("GET", &dossier, Some(&p.health_focal), None)
        .await
        .etag;
    assert!(revision_before.is_some());
    let tree_before = s
        .call("GET", "/api/v1/org-units", Some(&p.admin), None)
        .await
        .body;
    let bodies: Vec<reqwest::Body> = vec![
        "{".into(),
        "[]".into(),
        "null".into(),
        "\"x\"".into(),
        "{\"unknown\": 1}".into(),
        "{\"person_id\": 5, \"section\": [], \"action\": 7}".into(),
        "{\"action\": \"establish\", \"code\": {}}".into(),
        "{\"date\": \"2026-02-30\", \"effective\": \"yesterday\"}".into(),
        vec![0xffu8, 0xfe, 0x00].into(),
        "x".repeat(400_000).into(),
    ];
    let paths: Vec<String> = s.document()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut sent = 0;
    for template in &paths {
        for idv in [
            id.as_str(),
            "not-a-uuid",
            "00000000-0000-0000-0000-000000000000",
            // Not UTF-8 once decoded.
            "%FF%FE",
        ] {
            let path = template
                .replace("{id}", idv)
                .replace("{code}", "../x")
                .replace("{sha256}", "zz");
            for method in ["GET", "POST", "DELETE", "PUT"] {
                if method == "DELETE" && template == "/api/v1/sessions" {
                    continue;
                }
                for q in [
                    "",
                    "?as_of=2026-13-01",
                    "?wait_for=-1",
                    "?limit=abc&unknown=1",
                    "?known_at=&org=%00",
                ] {
                    let url = format!("{}{path}{q}", s.base);
                    let rq = s
                        .http
                        .request(method.parse().unwrap(), &url)
                        .bearer_auth(&p.health_focal);
                    let resp = rq.send().await.unwrap();
                    assert!(
                        resp.status().as_u16() < 500,
                        "{method} {path}{q} -> {}",
                        resp.status()
                    );
                    if resp.status().is_client_error() {
                        assert_eq!(
                            resp.headers()["content-type"],
                            "application/problem+json",
                            "{method} {path}{q}"
                        );
                    }
                    sent += 1;
                }
                if method == "POST" {
                    let takes_post = !s.document()["paths"][template]["post"].is_null();
                    for b in &bodies {
                        let body = b.as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
                        // A route that refuses POST answers before reading a
                        // body; a large one is then cut off mid-send.
                        if body.len() > 1_000 && !takes_post {
                            continue;
                        }
                        let oversized = body.len() > 256 * 1024;
                        // No pooled connection: one the server closed after
                        // refusing an oversized body must not be reused.
                        let once = reqwest::Client::builder()
                            .pool_max_idle_per_host(0)
                            .build()
                            .unwrap();
                        let sent_rq = once
                            .post(format!("{}{path}", s.base))
                            .bearer_auth(&p.health_focal)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        let resp = match sent_rq {
                            Ok(r) => r,
                            // The server may answer 413 and close before the
                            // client has finished sending.
                            Err(e) if oversized && e.is_request() => {
                                sent += 1;
                                continue;
                            }
                            Err(e) => panic!("POST {path}: {e}"),
                        };
                        // (A path that does not decode is refused first; the
                        // bulk import takes files up to its own, larger limit.)
                        if oversized
                            && !idv.starts_with('%')
                            && template != "/api/v1/dossiers/imports/bulk"
                        {
                            assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "POST {path}");
                        }
                        let status = resp.status();
                        if status.is_client_error() {
                            assert_eq!(
                                resp.headers()["content-type"],
                                "application/problem+json",
                                "POST {path}"
                            );
                        }
                        let text = resp.text().await.unwrap();
                        assert!(
                            status.as_u16() < 500 && status.as_u16() >= 400
                                || path.ends_with("/attachments"),
                            "POST {path} -> {status}: {text}"
                        );
                        sent += 1;
                    }
                }
            }
        }
    }
    assert!(sent > 500, "{sent}");
    let last = s.call("GET", &dossier, Some(&p.health_focal), None).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.body);
    // Only attachment uploads may have stored anything (outside the log);
    // no refused request changed a dossier or the organisation.
    assert_eq!(
        s.call("GET", &dossier, Some(&p.health_focal), None)
            .await
            .etag,
        revision_before
    );
    assert_eq!(
        s.call("GET", "/api/v1/org-units", Some(&p.admin), None)
            .await
            .body,
        tree_before
    );
}

/// Key rotation re-wraps the data keys without touching the log; losing the
/// key file is a clear refusal to start, never silent plaintext or garbage.
// On the real server: it stops and restarts `hoso serve` around
// `hoso keys rotate`, and a lost key file must stop the process from
// starting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_without_touching_the_log_and_a_lost_key_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let pid = "001090001234";
    let (id, person) = {
        let s = start(&data).await;
        let p = province(&s).await;
        let id = open_dossier(&s, &p.health_focal, pid, "Nguyễn Văn An", HEALTH).await;
        s.ok(
            "POST",
            &format!("/api/v1/dossiers/{id}/declarations"),
            &p.health_focal,
            identity(pid),
        )
        .await;
        (id, p.health_focal)
    };
    let log_before = std::fs::read(data.join("ledger.db")).unwrap();
    let o = hoso()
        .args(["keys", "rotate", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("from version 1 to 2: 1 data keys re-wrapped"),
        "{out}"
    );
    let keys: Value =
        serde_json::from_slice(&std::fs::read(data.join("field-keys.json")).unwrap()).unwrap();
    assert_eq!(keys["current"], 2);
    assert_eq!(
        keys["keys"].as_object().unwrap().len(),
        1,
        "the old key is gone"
    );
    assert_eq!(std::fs::read(data.join("ledger.db")).unwrap(), log_before);

    // The sealed fields still open after the rotation (sessions survive a restart).
    {
        let served = support::serve(&data);
        let v: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/dossiers/{id}", served.base))
            .bearer_auth(&person)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        drop(served);
        let fields = v["pending"]["identity"].as_array().unwrap();
        assert!(
            fields
                .iter()
                .any(|f| f["field"] == "7" && f["value"] == "Phật giáo Hòa Hảo"),
            "{v}"
        );
    }

    // Without the key file the server refuses to start and says why.
    std::fs::remove_file(data.join("field-keys.json")).unwrap();
    let o = hoso()
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot decrypt: key file missing"), "{err}");
    // The log itself still verifies: hashes cover the ciphertext.
    let o = hoso()
        .args(["verify", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
}

// On the real server: the inspector's reads go through the served
// process's handlers and follower, so the audit trail read back over HTTP
// is the one `hoso serve` projected from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspector_reads_in_scope_is_logged_and_refused_every_write() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(&tmp.path().join("d")).await;
    let p = province(&s).await;
    let pid = "033090001234";
    let id = open_dossier(&s, &p.health_focal, pid, "Nguyễn Văn An", HEALTH).await;
    let decl = format!("/api/v1/dossiers/{id}/declarations");
    s.ok("POST", &decl, &p.health_focal, identity(pid)).await;
    let edu = open_dossier(&s, &p.edu_focal, "033090004321", "Trần Văn Bình", EDUCATION).await;

    // Sở Nội vụ issues the inspector with its inspection of the health
    // sector. The server runs on the system clock, so the term reaches far
    // enough ahead to hold whenever the test runs.
    let inspection = json!({"org_codes": [HEALTH], "valid_from": "2026-01-05",
        "valid_until": "2099-12-31", "decision": doc("42/QĐ-TTr")});
    let refused = s
        .call(
            "POST",
            "/api/v1/accounts",
            Some(&p.health_focal),
            Some(
                json!({"kind": "inspector", "username": "thanhtra.x", "org_code": HEALTH,
                "display_name": "Thanh tra", "inspection": inspection}),
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        refused.body["type"],
        "urn:hoso:problem:access:system-admin-only"
    );
    let r = s
        .ok(
            "POST",
            "/api/v1/accounts",
            &p.admin,
            json!({"kind": "inspector", "username": "thanhtra.cuong", "org_code": ROOT,
                "display_name": "Thanh tra viên Lê Văn Cường", "inspection": inspection}),
        )
        .await;
    let inspector_id = r["id"].as_str().unwrap().to_owned();
    s.ok(
        "POST",
        &format!("/api/v1/accounts/{inspector_id}/password"),
        &p.admin,
        json!({"password": "Cap-Moi#2026!x"}),
    )
    .await;
    let t = s.first_login("thanhtra.cuong", "Cap-Moi#2026!x", PW).await;
    let me = s.call("GET", "/api/v1/accounts/me", Some(&t), None).await;
    assert_eq!(me.body["kind"], "inspector");
    let inspections = me.body["inspections"].as_object().unwrap();
    assert_eq!(inspections.len(), 1);
    let (inspection_id, term) = inspections.iter().next().unwrap();
    assert_eq!(term["clearance"], "general");

    // A dossier in scope: read, with the restricted fields withheld.
    let a = s
        .call("GET", &format!("/api/v1/dossiers/{id}"), Some(&t), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["access"]["basis"],
        format!("inspection:{inspection_id}")
    );
    assert_eq!(a.body["access"]["clearance"], "general");
    assert!(
        a.body["access"]["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "identity/25a"),
        "{}",
        a.body
    );
    let identity_fields = a.body["pending"]["identity"].as_array().unwrap();
    assert!(identity_fields.iter().any(|f| f["field"] == "1"));
    assert!(!identity_fields.iter().any(|f| f["field"] == "25a"));
    assert_eq!(a.body["person_id"], Value::Null);
    let h = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/history"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    let ap = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/approvals"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(ap.status, StatusCode::OK, "{}", ap.body);

    // Outside scope: as missing as a dossier that does not exist.
    let out = s
        .call("GET", &format!("/api/v1/dossiers/{edu}"), Some(&t), None)
        .await;
    assert_eq!(out.status, StatusCode::NOT_FOUND, "{}", out.body);

    // A search of its scope answers, and is logged.
    let found = s
        .call("GET", "/api/v1/dossiers?name=an", Some(&t), None)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);

    // Every write is refused with the inspector's own problem type.
    let w = s.call("POST", &decl, Some(&t), Some(identity(pid))).await;
    assert_eq!(w.status, StatusCode::FORBIDDEN, "{}", w.body);
    assert_eq!(
        w.body["type"],
        "urn:hoso:problem:access:inspector-read-only"
    );
    let grant = s
        .call(
            "POST",
            &format!("/api/v1/accounts/{inspector_id}/changes"),
            Some(&t),
            Some(
                json!({"action": "grant", "org_code": HEALTH, "right": "admin",
                "reason": "tự cấp"}),
            ),
        )
        .await;
    assert_eq!(grant.status, StatusCode::FORBIDDEN, "{}", grant.body);
    assert_eq!(
        grant.body["type"],
        "urn:hoso:problem:access:inspector-read-only"
    );

    // The reads are in the dossier's audit trail, on the inspection's ground.
    let head = s.call("GET", "/healthz", Some(&p.admin), None).await.body["log_position"]
        .as_u64()
        .unwrap();
    let audit = s
        .call(
            "GET",
            &format!("/api/v1/dossiers/{id}/audit?wait_for={}", head - 1),
            Some(&p.admin),
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let reads: Vec<&Value> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "dossier.AccessLogged" && e["actor"] == inspector_id)
        .collect();
    assert_eq!(
        reads.len(),
        3,
        "the read, the history and the approval request: {reads:?}"
    );
    assert!(
        reads
            .iter()
            .all(|e| e["detail"]["basis"] == format!("inspection:{inspection_id}")),
        "{reads:?}"
    );
}
