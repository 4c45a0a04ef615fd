//! The national sync feed over HTTP: a small province whose March holds two
//! dossiers approved by the health head and one change left unapproved; on
//! 2 April the Sở Nội vụ director signs March's statement, the national
//! database's sync account pulls the batch, verifies every item against the
//! statement's root and the signature against the director's key with
//! `hoso_sync`'s functions, and acknowledges it (BT 7.2, BT 12.3–12.4, HY 8.4,
//! DT 19.2).
//!
//! The API runs in-process on a socket (`hoso_api::serve`) over the
//! testkit's province, unlike `http.rs`, which runs the shipped binary: the
//! batch of a month can be sealed only once that month is over, and `hoso
//! serve` runs on the system clock, so the province lives on a manual clock
//! moved into April. Each test is named after the rule it checks.

use std::sync::Arc;

use ed25519_dalek::Signer;
use hoso_commands::credentials::CredentialStore;
use hoso_commands::testkit::{HOSPITAL, Head, Province, d};
use hoso_commands::workflows::{Review, Workflows};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::ManualClock;
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;
use hoso_ledger::SqliteStore;
use hoso_ledger::merkle::InclusionProof;
use hoso_sync::{BatchItem, BatchStatement};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::support::api::Answer;
use crate::support::node::Node;

const PROFILE: &str = "binh-thuan";
const PID_A: &str = "033190001234";
const PID_C: &str = "033190005678";
const PID_PENDING: &str = "033090004321";
const PW: &str = "Cua-Toi#2026!y";

/// March 2026 in the province, then the clock on 2 April.
struct March {
    node: Node,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    director: Head,
    national: String,
    focal: String,
    admin: String,
    approved: Vec<String>,
    pending: String,
}

async fn march() -> March {
    let p = Province::new(PROFILE, d(2026, 3, 2)).await;
    let director = p.director().await;
    let national = p.national_sync().await;
    let (a, _) = p.approved_dossier(PID_A).await;
    let (c, _) = p.approved_dossier(PID_C).await;
    // Declared and verified in March, never approved: not a batch item.
    let pending = p.open(PID_PENDING, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &pending, PID_PENDING)
        .await;
    p.wf.review(&p.health_focal, Review::verify(&pending, "khớp hồ sơ gốc"))
        .await
        .unwrap();
    p.set_today(d(2026, 4, 2));
    let Province {
        dir,
        store,
        clock,
        wf,
        admin,
        health_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    March {
        node,
        store,
        clock,
        director,
        national: national.account_id,
        focal: health_focal.account_id,
        admin: admin.account_id,
        approved: vec![a, c],
        pending,
    }
}

/// The statement object as its canonical bytes (its members come in
/// canonical order and `serde_json` keeps them so for a struct; here we
/// re-encode through `hoso_sync`, which refuses any other spelling).
fn statement_of(v: &Value) -> BatchStatement {
    #[derive(Deserialize)]
    struct Wire {
        format: String,
        province: String,
        sequence: u64,
        month: String,
        from_position: u64,
        to_position: u64,
        item_count: u64,
        merkle_root: String,
        previous_digest: String,
    }
    let w: Wire = serde_json::from_value(v.clone()).unwrap();
    let bytes = format!(
        concat!(
            r#"{{"format":"{}","province":"{}","sequence":{},"month":"{}","#,
            r#""from_position":{},"to_position":{},"item_count":{},"#,
            r#""merkle_root":"{}","previous_digest":"{}"}}"#
        ),
        w.format,
        w.province,
        w.sequence,
        w.month,
        w.from_position,
        w.to_position,
        w.item_count,
        w.merkle_root,
        w.previous_digest
    );
    BatchStatement::from_canonical(bytes.as_bytes()).unwrap()
}

/// The director fetches the next statement, checks its digest, signs and
/// seals it; returns the seal's answer and the statement.
async fn seal(m: &March, token: &str) -> (Answer, Value) {
    let next = m.node.get("/api/v1/sync/batches/next", token).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    let statement = statement_of(&next.body["statement"]);
    let digest = statement.digest().unwrap();
    assert_eq!(next.body["digest"], hex::encode(digest));
    let signature = m.director.key.sign(&digest);
    let sealed = m
        .node
        .post(
            "/api/v1/sync/batches",
            token,
            json!({"statement": next.body["statement"], "key_id": m.director.key_id,
                   "signature": hex::encode(signature.to_bytes())}),
        )
        .await;
    (sealed, next.body)
}

#[derive(Deserialize)]
struct ServedItem {
    dossier: String,
    revision: u64,
    chain_hash: String,
    document_sha256: String,
    document: Box<RawValue>,
    proof: InclusionProof,
}

#[derive(Deserialize)]
struct ServedBatch {
    statement: Value,
    statement_digest: String,
    signature: String,
    key_id: String,
    public_key: Option<String>,
    items: Vec<ServedItem>,
}

/// What the national database's consumer checks: the statement's
/// canonical form and digest, the director's signature, and each item's
/// document digest and inclusion proof. Answers the verified items.
fn verify(bytes: &[u8], director_key: &[u8; 32]) -> (BatchStatement, Vec<BatchItem>) {
    let b: ServedBatch = serde_json::from_slice(bytes).unwrap();
    let statement = statement_of(&b.statement);
    assert_eq!(b.statement_digest, hex::encode(statement.digest().unwrap()));
    let signature = hex::decode(&b.signature).unwrap();
    hoso_sync::verify_signature(&statement, director_key, &signature).unwrap();
    assert_eq!(
        b.public_key.as_deref(),
        Some(hex::encode(director_key).as_str())
    );
    assert!(!b.key_id.is_empty());
    assert_eq!(b.items.len() as u64, statement.item_count);
    let mut items = Vec::new();
    for (i, served) in b.items.iter().enumerate() {
        let document = served.document.get().as_bytes();
        let item = BatchItem {
            dossier: served.dossier.clone(),
            revision: served.revision,
            chain_hash: hex::decode(&served.chain_hash).unwrap().try_into().unwrap(),
            document_sha256: hoso_projections::exchange::digest(document),
        };
        assert_eq!(served.document_sha256, hex::encode(item.document_sha256));
        assert_eq!(served.proof.leaf_index, i as u64);
        hoso_sync::verify_item(&statement, &item, &served.proof).unwrap();
        let doc: Value = serde_json::from_slice(document).unwrap();
        assert_eq!(doc["format"], "hoso-national/1");
        assert_eq!(doc["dossier_id"], item.dossier.as_str());
        items.push(item);
    }
    assert_eq!(
        hoso_sync::merkle_root(&items).unwrap(),
        statement.merkle_root
    );
    (statement, items)
}

fn problem_type(a: &Answer) -> &str {
    a.body["type"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_the_director_seals_march_and_the_national_database_pulls_verifies_and_acknowledges()
 {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    let national = m.node.token("csdlqg.dongbo", PW).await;

    let (sealed, next) = seal(&m, &director).await;
    assert_eq!(sealed.status, StatusCode::CREATED, "{}", sealed.body);
    assert_eq!(sealed.body["id"], "1");
    assert_eq!(sealed.body["stream"], "sync-1");
    assert_eq!(next["statement"]["month"], "2026-03");
    assert_eq!(next["seal_from"], "2026-04-01");

    // The feed lists it.
    let feed = m.node.get("/api/v1/sync/batches", &national).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    assert_eq!(feed.body["batches"][0]["sequence"], 1);
    assert_eq!(feed.body["batches"][0]["delivery"]["state"], "sealed");
    assert_eq!(feed.body["next"], Value::Null);

    // Pull, verify with hoso_sync against the director's own key.
    let batch = m.node.get("/api/v1/sync/batches/1", &national).await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
    let key = m.director.key.verifying_key().to_bytes();
    let (statement, items) = verify(&batch.bytes, &key);
    assert_eq!(statement.month.to_string(), "2026-03");
    let dossiers: Vec<&str> = items.iter().map(|i| i.dossier.as_str()).collect();
    assert_eq!(
        dossiers,
        m.approved.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // The unapproved change stays out.
    assert!(!dossiers.contains(&m.pending.as_str()));
    // The documents follow `national_receives` (restricted): the number is sent.
    let served: ServedBatch = serde_json::from_slice(&batch.bytes).unwrap();
    let doc: Value = serde_json::from_str(served.items[0].document.get()).unwrap();
    assert_eq!(doc["identification_number"], PID_A);

    // Acknowledge; again with the same receipt changes nothing.
    let ack = json!({"receipt": "CSDLQG-2026-04-000123"});
    let first = m
        .node
        .post("/api/v1/sync/batches/1/ack", &national, ack.clone())
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let head = m.store.head_position().await.unwrap();
    let again = m
        .node
        .post("/api/v1/sync/batches/1/ack", &national, ack)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["position"], first.body["position"]);
    assert_eq!(m.store.head_position().await.unwrap(), head);
    let other = m
        .node
        .post(
            "/api/v1/sync/batches/1/ack",
            &national,
            json!({"receipt": "another"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(
        problem_type(&other),
        "urn:hoso:problem:sync:already-acknowledged"
    );

    // Delivery state in the feed, the report and the metrics.
    let feed = m.node.get("/api/v1/sync/batches", &national).await;
    assert_eq!(feed.body["batches"][0]["delivery"]["state"], "acknowledged");
    assert_eq!(
        feed.body["batches"][0]["delivery"]["acknowledgement"]["receipt"],
        "CSDLQG-2026-04-000123"
    );
    let report = m.node.get("/api/v1/reports/sync", &director).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(report.body["counts"]["acknowledged"], 1);
    assert_eq!(
        report.body["batches"][0]["delivery"]["acknowledgement_due"],
        "2026-04-09"
    );
    let metrics = m
        .node
        .http
        .get(format!("{}/metrics", m.node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hoso_sync_batches{state=\"acknowledged\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("hoso_sync_batches{state=\"sealed\"} 0"));
    assert!(metrics.contains("hoso_sync_last_sealed_sequence 1"));

    // April's batch starts where March's ended and names its digest.
    let next = m.node.get("/api/v1/sync/batches/next", &director).await;
    let april = statement_of(&next.body["statement"]);
    assert_eq!(april.sequence, 2);
    hoso_sync::verify_follows(&statement, &april).unwrap();

    // In May, April's batch (no approval: no item) is sealed too, and the
    // feed pages by sequence.
    m.clock
        .set(d(2026, 5, 4).and_hms_opt(3, 0, 0).unwrap().and_utc());
    // The sessions of April have expired.
    let director = m.node.token("snv.giamdoc", PW).await;
    let national = m.node.token("csdlqg.dongbo", PW).await;
    let (sealed, next) = seal(&m, &director).await;
    assert_eq!(sealed.status, StatusCode::CREATED, "{}", sealed.body);
    assert_eq!(next["statement"]["item_count"], 0);
    let page = m.node.get("/api/v1/sync/batches?limit=1", &national).await;
    assert_eq!(page.body["batches"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["next"], 1);
    let page = m
        .node
        .get("/api/v1/sync/batches?after=1&limit=1", &national)
        .await;
    assert_eq!(page.body["batches"][0]["sequence"], 2);
    assert_eq!(page.body["next"], Value::Null);
    let empty = m.node.get("/api/v1/sync/batches/2", &national).await;
    let (april, items) = verify(&empty.bytes, &key);
    assert!(items.is_empty());
    hoso_sync::verify_follows(&statement, &april).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_a_batch_is_sealed_once() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    let (sealed, next) = seal(&m, &director).await;
    assert_eq!(sealed.status, StatusCode::CREATED, "{}", sealed.body);
    let digest = statement_of(&next["statement"]).digest().unwrap();
    let again = m
        .node
        .post(
            "/api/v1/sync/batches",
            &director,
            json!({"statement": next["statement"], "key_id": m.director.key_id,
                   "signature": hex::encode(m.director.key.sign(&digest).to_bytes())}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(problem_type(&again), "urn:hoso:problem:sync:already-sealed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_is_idempotent_the_same_batch_serves_the_same_bytes_after_a_rebuild() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    let national = m.node.token("csdlqg.dongbo", PW).await;
    let first = m.node.get("/api/v1/sync/batches/1", &national).await;
    let second = m.node.get("/api/v1/sync/batches/1", &national).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(first.etag, second.etag);

    // A second node over the same log, its read model built from nothing.
    let wf = m.node.state.workflows.clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let rebuilt = Node::start(&path, wf, &m.store, Some(dir)).await;
    let token = rebuilt.session(&m.national);
    let third = rebuilt.get("/api/v1/sync/batches/1", &token).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    assert_eq!(first.bytes, third.bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_answers_304_to_its_etag_until_it_changes() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    let national = m.node.token("csdlqg.dongbo", PW).await;
    let page = m
        .node
        .get("/api/v1/sync/batches?after=0&limit=10", &national)
        .await;
    let tag = page.etag.clone().unwrap();
    let same = m
        .node
        .get_if(
            "/api/v1/sync/batches?after=0&limit=10",
            &national,
            Some(&tag),
        )
        .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert!(same.bytes.is_empty());
    let batch = m.node.get("/api/v1/sync/batches/1", &national).await;
    let same = m
        .node
        .get_if("/api/v1/sync/batches/1", &national, batch.etag.as_deref())
        .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    // After the page's last batch there is nothing.
    let after = m.node.get("/api/v1/sync/batches?after=1", &national).await;
    assert_eq!(after.body["batches"], json!([]));
    // The acknowledgement changes the page: the old tag no longer matches.
    m.node
        .post(
            "/api/v1/sync/batches/1/ack",
            &national,
            json!({"receipt": "R-1"}),
        )
        .await;
    let changed = m
        .node
        .get_if(
            "/api/v1/sync/batches?after=0&limit=10",
            &national,
            Some(&tag),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.etag.as_deref(), Some(tag.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_7_2_only_the_director_seals_and_only_the_feed_readers_pull() {
    let m = march().await;
    let focal = m.node.session(&m.focal);
    let national = m.node.token("csdlqg.dongbo", PW).await;
    let director = m.node.token("snv.giamdoc", PW).await;
    let admin = m.node.session(&m.admin);

    // Not the director: no statement to sign, no seal.
    for token in [&focal, &national] {
        let a = m.node.get("/api/v1/sync/batches/next", token).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert_eq!(problem_type(&a), "urn:hoso:problem:sync:not-director");
    }
    // The system administrator may look at what is about to be signed.
    let a = m.node.get("/api/v1/sync/batches/next", &admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let next = m.node.get("/api/v1/sync/batches/next", &director).await;
    let digest = statement_of(&next.body["statement"]).digest().unwrap();
    let body = json!({"statement": next.body["statement"], "key_id": m.director.key_id,
                      "signature": hex::encode(m.director.key.sign(&digest).to_bytes())});
    let by_focal = m
        .node
        .post("/api/v1/sync/batches", &focal, body.clone())
        .await;
    assert_eq!(by_focal.status, StatusCode::FORBIDDEN, "{}", by_focal.body);
    assert_eq!(
        problem_type(&by_focal),
        "urn:hoso:problem:sync:not-director"
    );
    let by_national = m.node.post("/api/v1/sync/batches", &national, body).await;
    assert_eq!(by_national.status, StatusCode::FORBIDDEN);

    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    // Not a reader of the feed.
    for path in [
        "/api/v1/sync/batches",
        "/api/v1/sync/batches/1",
        "/api/v1/reports/sync",
    ] {
        let a = m.node.get(path, &focal).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
        assert_eq!(problem_type(&a), "urn:hoso:problem:sync:not-national-sync");
    }
    // The director and the administrator read it; only the national
    // database acknowledges.
    for token in [&director, &admin] {
        assert_eq!(
            m.node.get("/api/v1/sync/batches/1", token).await.status,
            StatusCode::OK
        );
        let ack = m
            .node
            .post(
                "/api/v1/sync/batches/1/ack",
                token,
                json!({"receipt": "R-1"}),
            )
            .await;
        assert_eq!(ack.status, StatusCode::FORBIDDEN);
        assert_eq!(
            problem_type(&ack),
            "urn:hoso:problem:sync:not-national-sync"
        );
    }
    // No such batch.
    let missing = m.node.get("/api/v1/sync/batches/7", &national).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        problem_type(&missing),
        "urn:hoso:problem:sync:unknown-batch"
    );
    let missing = m
        .node
        .post(
            "/api/v1/sync/batches/7/ack",
            &national,
            json!({"receipt": "R-1"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = m.node.get("/api/v1/sync/batches/x1", &national).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_a_month_is_sealed_only_once_it_is_over() {
    let m = march().await;
    m.clock
        .set(d(2026, 3, 31).and_hms_opt(9, 0, 0).unwrap().and_utc());
    let director = m.node.token("snv.giamdoc", PW).await;
    let (sealed, next) = seal(&m, &director).await;
    assert_eq!(next["seal_from"], "2026-04-01");
    assert_eq!(
        sealed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        sealed.body
    );
    assert_eq!(problem_type(&sealed), "urn:hoso:problem:sync:too-early");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_batch_whose_documents_no_longer_hash_to_its_root_is_refused_naming_its_items() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    // The same log served under a profile whose national database no
    // longer receives restricted facts: the identification numbers leave
    // the documents, so their digests change.
    let text = Profile::source(PROFILE).unwrap().replace(
        "[sync]\nmode = \"monthly\"\n",
        "[sync]\nmode = \"monthly\"\nnational_receives = \"general\"\n",
    );
    let profile = Profile::from_toml_str(PROFILE, &text).unwrap();
    assert_eq!(
        profile.sync().national_receives,
        hoso_domain::restriction::Restriction::General
    );
    let old = &m.node.state.workflows;
    let wf = Workflows::new(
        m.store.clone(),
        profile,
        WorkingCalendar::official().unwrap(),
        m.clock.clone(),
        CredentialStore::in_memory().unwrap(),
        old.keyring().clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let changed = Node::start(&path, Arc::new(wf), &m.store, Some(dir)).await;
    let token = changed.session(&m.national);
    // A page's tag is known without rendering: a client holding the page
    // from before the change is answered 304 without a document rendered.
    let national = m.node.session(&m.national);
    let held = m.node.get("/api/v1/sync/batches/1", &national).await;
    let tag = held.etag.clone().unwrap();
    let not_modified = changed
        .get_if("/api/v1/sync/batches/1", &token, Some(&tag))
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    let a = changed.get("/api/v1/sync/batches/1", &token).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    assert_eq!(problem_type(&a), "urn:hoso:problem:sync:unverifiable-batch");
    let detail = a.body["detail"].as_str().unwrap();
    for id in &m.approved {
        assert!(detail.contains(id.as_str()), "{detail}");
    }
    assert_eq!(a.body["stream"], "sync-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_a_statement_whose_root_is_not_the_documents_is_refused() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    let next = m.node.get("/api/v1/sync/batches/next", &director).await;
    let mut statement = next.body["statement"].clone();
    statement["merkle_root"] = json!("ab".repeat(32));
    let digest = statement_of(&statement).digest().unwrap();
    let refused = m
        .node
        .post(
            "/api/v1/sync/batches",
            &director,
            json!({"statement": statement, "key_id": m.director.key_id,
                   "signature": hex::encode(m.director.key.sign(&digest).to_bytes())}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(
        problem_type(&refused),
        "urn:hoso:problem:sync:statement-mismatch"
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("merkle_root")
    );
    let national = m.node.session(&m.national);
    let none = m.node.get("/api/v1/sync/batches/1", &national).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    // The statement as given out still seals.
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_a_batch_is_served_a_page_at_a_time_and_delivered_once_its_last_page_is() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    let national = m.node.token("csdlqg.dongbo", PW).await;
    let state = |n: usize| {
        let node = &m.node;
        let token = national.clone();
        async move {
            node.get("/api/v1/sync/batches", &token).await.body["batches"][n - 1]["delivery"]
                .clone()
        }
    };
    // The director and the administrator reading the whole batch deliver
    // nothing.
    let admin = m.node.session(&m.admin);
    for token in [&director, &admin] {
        let whole = m.node.get("/api/v1/sync/batches/1", token).await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.body);
        assert_eq!(whole.body["next_items_after"], Value::Null);
    }
    assert_eq!(state(1).await["state"], "sealed");
    let head = m.store.head_position().await.unwrap();

    // The first page: one item of two, proved under the whole batch's root.
    let first = m
        .node
        .get("/api/v1/sync/batches/1?items_limit=1", &national)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["item_count"], 2);
    assert_eq!(first.body["items_after"], Value::Null);
    assert_eq!(first.body["items_limit"], 1);
    assert_eq!(first.body["next_items_after"], 0);
    assert!(first.body.get("delivery").is_none(), "{}", first.body);
    let served: ServedBatch = serde_json::from_slice(&first.bytes).unwrap();
    let statement = statement_of(&served.statement);
    let check = |served: &ServedBatch, index: u64| {
        assert_eq!(served.items.len(), 1);
        let s = &served.items[0];
        assert_eq!(s.dossier, m.approved[index as usize]);
        assert_eq!((s.proof.leaf_index, s.proof.tree_size), (index, 2));
        let item = BatchItem {
            dossier: s.dossier.clone(),
            revision: s.revision,
            chain_hash: hex::decode(&s.chain_hash).unwrap().try_into().unwrap(),
            document_sha256: hoso_projections::exchange::digest(s.document.get().as_bytes()),
        };
        assert_eq!(s.document_sha256, hex::encode(item.document_sha256));
        hoso_sync::verify_item(&statement, &item, &s.proof).unwrap();
    };
    check(&served, 0);
    // Not the last page: not delivered.
    assert_eq!(state(1).await["state"], "sealed");
    assert_eq!(m.store.head_position().await.unwrap(), head);

    // Its tag answers 304; the next page has its own.
    let tag = first.etag.clone().unwrap();
    let same = m
        .node
        .get_if(
            "/api/v1/sync/batches/1?items_limit=1",
            &national,
            Some(&tag),
        )
        .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    let last = m
        .node
        .get(
            "/api/v1/sync/batches/1?items_after=0&items_limit=1",
            &national,
        )
        .await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.body);
    assert_ne!(last.etag.as_deref(), Some(tag.as_str()));
    assert_eq!(last.body["items_after"], 0);
    assert_eq!(last.body["next_items_after"], Value::Null);
    check(&serde_json::from_slice(&last.bytes).unwrap(), 1);

    // The last page served to the national database delivers the batch,
    // once.
    let delivery = state(1).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(delivery["delivered_on"], "2026-04-02");
    let again = m
        .node
        .get(
            "/api/v1/sync/batches/1?items_after=0&items_limit=1",
            &national,
        )
        .await;
    assert_eq!(again.bytes, last.bytes);
    let whole = m.node.get("/api/v1/sync/batches/1", &national).await;
    assert_eq!(whole.status, StatusCode::OK);
    let events = m
        .store
        .read_stream(
            "sync-1",
            hoso_ledger::StreamFrom::Start,
            hoso_ledger::Direction::Forwards,
            100,
        )
        .await
        .unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["sync.MonthlyBatchSealed", "sync.BatchDelivered"]);
    // The same page has the same bytes after the delivery as before.
    let first_again = m
        .node
        .get("/api/v1/sync/batches/1?items_limit=1", &national)
        .await;
    assert_eq!(first_again.bytes, first.bytes);
    assert_eq!(first_again.etag, first.etag);

    // The report and the metrics count it.
    let report = m.node.get("/api/v1/reports/sync", &director).await;
    assert_eq!(report.body["counts"]["delivered"], 1);
    assert_eq!(report.body["counts"]["sealed"], 0);
    let metrics = m
        .node
        .http
        .get(format!("{}/metrics", m.node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hoso_sync_batches{state=\"delivered\"} 1"),
        "{metrics}"
    );
    // Acknowledged, it is no longer merely delivered.
    m.node
        .post(
            "/api/v1/sync/batches/1/ack",
            &national,
            json!({"receipt": "R-1"}),
        )
        .await;
    assert_eq!(state(1).await["state"], "acknowledged");

    // Pages outside the batch, or of no size, are refused.
    for query in [
        "items_after=1",
        "items_after=7",
        "items_limit=0",
        "items_limit=5001",
        "items_before=1",
    ] {
        let a = m
            .node
            .get(&format!("/api/v1/sync/batches/1?{query}"), &national)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}: {}", a.body);
        assert_eq!(problem_type(&a), "urn:hoso:problem:request:invalid-query");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_item_no_longer_hashes_to_the_digest_verified_is_refused_naming_it() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    let national = m.node.session(&m.national);
    // The director's reading fills the node's cache and delivers nothing.
    let whole = m.node.get("/api/v1/sync/batches/1", &director).await;
    let key = m.director.key.verifying_key().to_bytes();
    let (statement, items) = verify(&whole.bytes, &key);
    // The node verified and kept the digests when it first served the
    // batch. Stand in for a change after that (a profile edited under a
    // running node): the digest kept for item 1 is another one now, as if
    // item 1 rendered differently from what was verified.
    let mut kept = hoso_sync::item_digests(&items).unwrap();
    kept[1][0] ^= 0x01;
    let positions = m
        .node
        .state
        .read
        .approvals_between(None, statement.to_position - 1)
        .unwrap()
        .iter()
        .map(|a| a.position)
        .filter(|p| *p >= statement.from_position)
        .collect();
    let as_kept = BatchStatement {
        merkle_root: hoso_sync::root_of_digests(&kept),
        ..statement.clone()
    };
    let verified = hoso_api::sync_cache::VerifiedBatch::verify(
        &as_kept,
        statement.digest().unwrap(),
        positions,
        kept,
    )
    .unwrap();
    m.node.state.sync_digests.insert(Arc::new(verified));
    let refused = m
        .node
        .get("/api/v1/sync/batches/1?items_after=0", &national)
        .await;
    assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        problem_type(&refused),
        "urn:hoso:problem:sync:unverifiable-batch"
    );
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("item 1 (dossier {}", m.approved[1])),
        "{detail}"
    );
    // Item 0 is still what was verified.
    let first = m
        .node
        .get("/api/v1/sync/batches/1?items_limit=1", &national)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    // Refused, the last page delivered nothing.
    let feed = m.node.get("/api/v1/sync/batches", &national).await;
    assert_eq!(feed.body["batches"][0]["delivery"]["state"], "sealed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_a_batch_served_whole_to_two_requests_at_once_is_delivered_once() {
    let m = march().await;
    let director = m.node.token("snv.giamdoc", PW).await;
    assert_eq!(seal(&m, &director).await.0.status, StatusCode::CREATED);
    let national = m.node.session(&m.national);
    let (a, b) = tokio::join!(
        m.node.get("/api/v1/sync/batches/1", &national),
        m.node.get("/api/v1/sync/batches/1", &national)
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.bytes, b.bytes);
    let types: Vec<String> = m
        .store
        .read_stream(
            "sync-1",
            hoso_ledger::StreamFrom::Start,
            hoso_ledger::Direction::Forwards,
            100,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["sync.MonthlyBatchSealed", "sync.BatchDelivered"]);
}
