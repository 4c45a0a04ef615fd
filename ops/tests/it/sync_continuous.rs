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
use std::time::Duration;

use ed25519_dalek::Signer;
use hoso_api::routes::sync_continuous::{SealedNow, seal_next};
use hoso_api::{ApiConfig, AppState};
use hoso_commands::connection_key::ConnectionKey;
use hoso_commands::testkit::{Head, Province, d};
use hoso_commands::workflows::Workflows;
use hoso_domain::clock::Clock;
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;
use hoso_ledger::SqliteStore;
use hoso_ledger::merkle::InclusionProof;
use hoso_projections::ReadModel;
use hoso_sync::month::{MonthStatement, month_root};
use hoso_sync::{BatchItem, BatchStatement};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

const PID_A: &str = "033190001234";
const PID_C: &str = "033190005678";
const PW: &str = "Cua-Toi#2026!y";

/// One API node over the province's log.
struct Node {
    base: String,
    http: reqwest::Client,
    state: Arc<AppState>,
    /// The OpenAPI document the node serves.
    doc: Value,
    _dir: Option<tempfile::TempDir>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Answer {
    status: StatusCode,
    bytes: Vec<u8>,
    body: Value,
}

impl Node {
    /// Serves `wf` from the data directory `data`, with a read model caught
    /// up from the log there.
    async fn start(
        data: &std::path::Path,
        wf: Arc<Workflows>,
        store: &Arc<SqliteStore>,
        dir: Option<tempfile::TempDir>,
        connection: Arc<ConnectionKey>,
    ) -> Self {
        let keyring = wf.keyring().clone();
        let sealer = Arc::new(hoso_api::access::KeyringSealer(keyring.clone()));
        let (read, _) = ReadModel::open(data, wf.clock().clone(), sealer).unwrap();
        read.catch_up(store.as_ref() as &dyn EventStore)
            .await
            .unwrap();
        let state = Arc::new(
            AppState::new(data, wf, Arc::new(read), keyring, ApiConfig::default())
                .unwrap()
                .with_connection_key(connection),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = state.clone();
        let server = tokio::spawn(async move {
            let _ = hoso_api::serve(listener, served, std::future::pending()).await;
        });
        let http = reqwest::Client::new();
        let doc = http
            .get(format!("{base}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            base,
            http,
            state,
            doc,
            _dir: dir,
            server,
        }
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
        let mut rq = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let resp = rq.send().await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = resp.bytes().await.unwrap().to_vec();
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(ctype, "application/problem+json", "{method} {path}");
        }
        let body = if ctype.contains("json") {
            serde_json::from_slice(&bytes).unwrap()
        } else {
            Value::Null
        };
        if !body.is_null() {
            self.conforms(method, path, status, &body);
        }
        Answer {
            status,
            bytes,
            body,
        }
    }

    /// Checks a JSON answer against the schema the served OpenAPI document
    /// gives for its route and status.
    fn conforms(&self, method: &str, path: &str, status: StatusCode, body: &Value) {
        let path = path.split('?').next().unwrap();
        let doc = &self.doc;
        let paths = doc["paths"].as_object().unwrap();
        // A fixed route (`/sync/batches/next`) before a templated one.
        let route = paths.get(path).or_else(|| {
            paths
                .iter()
                .find(|(template, _)| {
                    let t: Vec<&str> = template.split('/').collect();
                    let p: Vec<&str> = path.split('/').collect();
                    t.len() == p.len()
                        && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
                })
                .map(|(_, v)| v)
        });
        let route = route.unwrap_or_else(|| panic!("{path} is not in the document"));
        let op = &route[method.to_lowercase()];
        let code = status.as_u16().to_string();
        let Some(resp) = op["responses"].get(&code) else {
            assert!(
                status.as_u16() >= 400,
                "{method} {path}: {code} is undocumented"
            );
            return;
        };
        let content = &resp["content"];
        let schema = content["application/json"]["schema"]
            .as_object()
            .or_else(|| content["application/problem+json"]["schema"].as_object());
        let Some(schema) = schema else {
            return;
        };
        let mut root = Value::Object(schema.clone());
        root["components"] = doc["components"].clone();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema of {method} {path} {code}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {code} does not match the document: {errors:?}\n{body}"
        );
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call("POST", path, token, Some(body)).await
    }

    async fn login(&self, user: &str, pw: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({"username": user, "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let v: Value = resp.json().await.unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    /// A session for `account` without a login (a node whose credentials
    /// live elsewhere).
    fn session(&self, account: &str) -> String {
        self.state
            .sessions
            .create(account, Duration::from_secs(3600), self.state.now())
            .unwrap()
            .0
    }
}

/// July 2026 in a continuous-mode province: two dossiers approved, nothing
/// sealed yet.
struct July {
    node: Node,
    clock: Arc<hoso_domain::clock::ManualClock>,
    director: Head,
    connection: Arc<ConnectionKey>,
    focal: String,
    approved: Vec<String>,
}

fn continuous() -> Profile {
    let text = Profile::source("binh-thuan").unwrap().replace(
        "mode = \"monthly\"",
        "mode = \"continuous\"\nlag = { amount = 1, unit = \"working_days\" }",
    );
    Profile::from_toml_str("binh-thuan", &text).unwrap()
}

async fn july() -> July {
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
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir), connection.clone()).await;
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
    let national = j.node.login("csdlqg.dongbo", PW).await;
    let director = j.node.login("snv.giamdoc", PW).await;
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
    let director = j.node.login("snv.giamdoc", PW).await;
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
    let national = j.node.login("csdlqg.dongbo", PW).await;
    let director = j.node.login("snv.giamdoc", PW).await;
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
