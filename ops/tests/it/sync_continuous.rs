//! Continuous delivery of the national sync feed over HTTP (HY 13.6): a
//! province whose profile says `mode = "continuous"` (the binh-thuan profile
//! with its `[sync]` changed, as the commands tests do); the server seals each
//! batch with the province's connection key (the round `hoso serve` runs every
//! `--sync-interval`, called here directly), publishes the key at `/sync/keys`,
//! refuses the director's seal, and the director signs July's month statement
//! on 3 August. The national database's side verifies with `hoso_sync`.
//!
//! The API runs in-process over the testkit's province on a manual clock, as
//! in `sync.rs`.

use std::sync::Arc;

use ed25519_dalek::Signer;
use hoso_api::routes::sync_continuous::{SealedNow, seal_next};
use hoso_commands::connection_key::ConnectionKey;
use hoso_commands::testkit::{Head, Province, d};
use hoso_domain::clock::Clock;
use hoso_domain::profile::Profile;
use hoso_ledger::merkle::InclusionProof;
use hoso_sync::month::{MonthStatement, month_root};
use hoso_sync::{BatchItem, BatchStatement};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::support::api::Answer;
use crate::support::node::Node;

const PID_A: &str = "033190001234";
const PID_C: &str = "033190005678";
const PW: &str = "Cua-Toi#2026!y";

/// July 2026 in a continuous-mode province: two dossiers approved, nothing
/// sealed yet (also the consumer's tests' province, `sync_pull_continuous`).
pub(crate) struct July {
    pub(crate) node: Node,
    pub(crate) clock: Arc<hoso_domain::clock::ManualClock>,
    pub(crate) director: Head,
    pub(crate) connection: Arc<ConnectionKey>,
    focal: String,
    pub(crate) approved: Vec<String>,
}

fn continuous() -> Profile {
    let text = Profile::source("binh-thuan").unwrap().replace(
        "mode = \"monthly\"",
        "mode = \"continuous\"\nlag = { amount = 1, unit = \"working_days\" }",
    );
    Profile::from_toml_str("binh-thuan", &text).unwrap()
}

pub(crate) async fn july() -> July {
    let p = Province::with_profile(continuous(), d(2026, 7, 1)).await;
    let director = p.director().await;
    p.national_sync().await;
    let (a, _) = p.approved_dossier(PID_A).await;
    let (c, _) = p.approved_dossier(PID_C).await;
    let connection = Arc::new(
        ConnectionKey::create(&p.dir.path().join("connection-key.json"), p.clock.now()).unwrap(),
    );
    let Province {
        dir,
        store,
        clock,
        wf,
        health_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start_with(&path, Arc::new(wf), &store, Some(dir), |s| {
        s.with_connection_key(connection.clone())
    })
    .await;
    July {
        node,
        clock,
        director,
        connection,
        focal: health_focal.account_id,
        approved: vec![a, c],
    }
}

/// A statement object as the canonical bytes `hoso_sync` parses.
fn canonical(v: &Value, fields: &[&str]) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "\"{f}\":{}",
            serde_json::to_string(&v[*f]).unwrap()
        ));
    }
    out.push('}');
    out.into_bytes()
}

fn statement_of(v: &Value) -> BatchStatement {
    BatchStatement::from_canonical(&canonical(
        v,
        &[
            "format",
            "province",
            "sequence",
            "month",
            "from_position",
            "to_position",
            "item_count",
            "merkle_root",
            "previous_digest",
        ],
    ))
    .unwrap()
}

fn month_of(v: &Value) -> MonthStatement {
    MonthStatement::from_canonical(&canonical(
        v,
        &[
            "format",
            "province",
            "month",
            "first_sequence",
            "last_sequence",
            "batch_count",
            "item_count",
            "merkle_root",
            "previous_digest",
        ],
    ))
    .unwrap()
}

#[derive(Deserialize)]
struct ServedItem {
    dossier: String,
    revision: u64,
    chain_hash: String,
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
    signer: String,
    items: Vec<ServedItem>,
}

fn problem_type(a: &Answer) -> &str {
    a.body["type"].as_str().unwrap_or_default()
}

async fn metrics(node: &Node) -> String {
    node.http
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hy_13_6_the_server_seals_continuous_batches_with_the_published_connection_key() {
    let j = july().await;
    let national = j.node.token("csdlqg.dongbo", PW).await;
    let director = j.node.token("snv.giamdoc", PW).await;
    let focal = j.node.session(&j.focal);

    // The connection key's public key, to the feed's readers only.
    let keys = j.node.get("/api/v1/sync/keys", &national).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.body);
    assert_eq!(keys.body["mode"], "continuous");
    assert_eq!(
        keys.body["connection"]["public_key"],
        j.connection.public_key_hex()
    );
    assert_eq!(
        keys.body["connection"]["key_id"],
        j.connection.key_id().to_string()
    );
    let refused = j.node.get("/api/v1/sync/keys", &focal).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        problem_type(&refused),
        "urn:hoso:problem:sync:not-national-sync"
    );

    // Two approvals wait: the metrics say so, within the lag.
    j.clock.advance(chrono::Duration::hours(2));
    let text = metrics(&j.node).await;
    assert!(
        text.contains("hoso_sync_oldest_unsealed_approval_seconds 7200"),
        "{text}"
    );
    assert!(text.contains("hoso_sync_lag_breached 0"), "{text}");

    // One round seals both, then there is nothing to seal.
    assert_eq!(
        seal_next(&j.node.state).await.unwrap(),
        Some(SealedNow {
            sequence: 1,
            items: 2
        })
    );
    assert_eq!(seal_next(&j.node.state).await.unwrap(), None);
    let text = metrics(&j.node).await;
    assert!(
        text.contains("hoso_sync_oldest_unsealed_approval_seconds 0"),
        "{text}"
    );

    // The national database verifies the batch against the connection key.
    let batch = j.node.get("/api/v1/sync/batches/1", &national).await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
    let b: ServedBatch = serde_json::from_slice(&batch.bytes).unwrap();
    let statement = statement_of(&b.statement);
    assert_eq!(b.statement_digest, hex::encode(statement.digest().unwrap()));
    assert_eq!(statement.month.to_string(), "2026-07");
    assert_eq!(b.signer, "province-connection");
    assert_eq!(b.key_id, j.connection.key_id().to_string());
    assert_eq!(
        b.public_key.as_deref(),
        Some(j.connection.public_key_hex().as_str())
    );
    let signature = hex::decode(&b.signature).unwrap();
    hoso_sync::verify_signature(&statement, j.connection.public_key().as_bytes(), &signature)
        .unwrap();
    assert!(
        hoso_sync::verify_signature(
            &statement,
            j.director.key.verifying_key().as_bytes(),
            &signature
        )
        .is_err()
    );
    let mut dossiers = Vec::new();
    for served in &b.items {
        let item = BatchItem {
            dossier: served.dossier.clone(),
            revision: served.revision,
            chain_hash: hex::decode(&served.chain_hash).unwrap().try_into().unwrap(),
            document_sha256: hoso_projections::exchange::digest(served.document.get().as_bytes()),
        };
        hoso_sync::verify_item(&statement, &item, &served.proof).unwrap();
        dossiers.push(item.dossier);
    }
    assert_eq!(dossiers, j.approved);

    // The director may not seal in continuous mode.
    let next = j.node.get("/api/v1/sync/batches/next", &director).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    let digest = statement_of(&next.body["statement"]).digest().unwrap();
    let sealed = j
        .node
        .post(
            "/api/v1/sync/batches",
            &director,
            json!({"statement": next.body["statement"], "key_id": j.director.key_id,
                   "signature": hex::encode(j.director.key.sign(&digest).to_bytes())}),
        )
        .await;
    assert_eq!(sealed.status, StatusCode::CONFLICT, "{}", sealed.body);
    assert_eq!(
        problem_type(&sealed),
        "urn:hoso:problem:sync:sealed-by-connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hy_13_6_the_director_signs_july_over_its_continuous_batches_once_july_is_over() {
    let j = july().await;
    let director = j.node.token("snv.giamdoc", PW).await;
    seal_next(&j.node.state).await.unwrap().unwrap();

    let next = j.node.get("/api/v1/sync/months/next", &director).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    assert_eq!(next.body["sign_from"], "2026-08-01");
    let statement = month_of(&next.body["statement"]);
    let digest = statement.digest().unwrap();
    assert_eq!(next.body["digest"], hex::encode(digest));
    let body = json!({"statement": next.body["statement"], "key_id": j.director.key_id,
                      "signature": hex::encode(j.director.key.sign(&digest).to_bytes())});
    let early = j
        .node
        .post("/api/v1/sync/months", &director, body.clone())
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.body
    );
    assert_eq!(problem_type(&early), "urn:hoso:problem:sync:month-not-over");

    j.clock.set(j.clock.now() + chrono::Duration::days(33));
    // Sessions do not last a month: log in again on 3 August.
    let national = j.node.token("csdlqg.dongbo", PW).await;
    let director = j.node.token("snv.giamdoc", PW).await;
    let by_national = j
        .node
        .post("/api/v1/sync/months", &national, body.clone())
        .await;
    assert_eq!(by_national.status, StatusCode::FORBIDDEN);
    let signed = j
        .node
        .post("/api/v1/sync/months", &director, body.clone())
        .await;
    assert_eq!(signed.status, StatusCode::CREATED, "{}", signed.body);
    assert_eq!(signed.body["id"], "2026-07");
    let again = j.node.post("/api/v1/sync/months", &director, body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(
        problem_type(&again),
        "urn:hoso:problem:sync:month-already-signed"
    );

    // The national database checks July's statement: the director's
    // signature and the root over the batches it pulled.
    let month = j.node.get("/api/v1/sync/months/2026-07", &national).await;
    assert_eq!(month.status, StatusCode::OK, "{}", month.body);
    let served = month_of(&month.body["statement"]);
    assert_eq!(served, statement);
    served
        .verify_signature(
            j.director.key.verifying_key().as_bytes(),
            &hex::decode(month.body["signature"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
    let batch = j.node.get("/api/v1/sync/batches/1", &national).await;
    let batch_digest: [u8; 32] = hex::decode(batch.body["statement_digest"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(served.merkle_root, month_root(&[batch_digest]));
    let list = j.node.get("/api/v1/sync/months", &national).await;
    assert_eq!(list.body["months"].as_array().unwrap().len(), 1);
    let none = j.node.get("/api/v1/sync/months/2026-06", &national).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(problem_type(&none), "urn:hoso:problem:sync:unknown-month");
    let gone = j.node.get("/api/v1/sync/months/next", &director).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        problem_type(&gone),
        "urn:hoso:problem:sync:no-month-to-sign"
    );
}
