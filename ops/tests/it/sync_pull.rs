//! `hoso sync pull`, the reference national consumer, run as the shipped
//! binary against a province served in-process on a manual clock (the same
//! province as `sync.rs`: March holds two approved dossiers; the director
//! seals March on 2 April and April, with no approval, on 4 May). It pulls,
//! verifies, writes NDJSON, acknowledges and moves its cursor; killed before
//! the ack it acknowledges the same batch on the rerun; a flipped byte or a
//! wrong director key is refused with nothing acknowledged (BT 12.1–12.4,
//! DT 19.2).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::support::{arg, hoso_cmd, text};
use ed25519_dalek::Signer;
use hoso_commands::testkit::{Province, d};
use hoso_ledger::{EventStore, SqliteStore};
use hoso_sync::BatchStatement;
use serde_json::{Value, json};

use crate::support::proxy::{Tamper, tampering_proxy};

use crate::support::node::Node;

const PROFILE: &str = "binh-thuan";
const PID_A: &str = "033190001234";
const PID_C: &str = "033190005678";
const PW: &str = "Cua-Toi#2026!y";

/// A province with two sealed batches, served on a socket.
struct Fed {
    node: Node,
    store: Arc<SqliteStore>,
    /// The director's public key (hex), as the national side holds it.
    director_key: String,
    /// A session of the national sync account.
    token: String,
    /// The approved dossiers, in batch 1's order.
    approved: Vec<String>,
}

impl std::ops::Deref for Fed {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.node
    }
}

impl Fed {
    async fn get(&self, path: &str, token: &str) -> Value {
        self.node.get_ok(path, token).await
    }

    async fn login(&self, user: &str) -> String {
        self.node.token(user, PW).await
    }

    /// The director signs and seals the next batch.
    async fn seal(&self, key: &ed25519_dalek::SigningKey, key_id: &str) {
        let director = self.login("snv.giamdoc").await;
        // The statement as served, members in canonical order (a `Value`
        // would sort them).
        #[derive(serde::Deserialize)]
        struct Next {
            statement: Box<serde_json::value::RawValue>,
        }
        let raw = self
            .http
            .get(format!("{}/api/v1/sync/batches/next", self.base))
            .bearer_auth(&director)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let next: Next = serde_json::from_slice(&raw).unwrap();
        let bytes = next.statement.get().as_bytes();
        let digest = BatchStatement::from_canonical(bytes)
            .unwrap()
            .digest()
            .unwrap();
        let r = self
            .http
            .post(format!("{}/api/v1/sync/batches", self.base))
            .bearer_auth(&director)
            .json(&json!({"statement": serde_json::from_slice::<Value>(bytes).unwrap(), "key_id": key_id,
                          "signature": hex::encode(key.sign(&digest).to_bytes())}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    }

    /// Batch `n`'s delivery state in the feed.
    async fn delivery(&self, n: usize) -> Value {
        let feed = self.get("/api/v1/sync/batches", &self.token).await;
        feed["batches"][n - 1]["delivery"].clone()
    }

    /// The event types of batch `n`'s stream.
    async fn sync_events(&self, n: u64) -> Vec<String> {
        self.store
            .read_stream(
                &hoso_sync::stream_name(n),
                hoso_ledger::StreamFrom::Start,
                hoso_ledger::Direction::Forwards,
                100,
            )
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    async fn head(&self) -> Option<u64> {
        self.store.head_position().await.unwrap()
    }
}

async fn two_batches() -> Fed {
    let p = Province::new(PROFILE, d(2026, 3, 2)).await;
    let director = p.director().await;
    p.national_sync().await;
    let (a, _) = p.approved_dossier(PID_A).await;
    let (c, _) = p.approved_dossier(PID_C).await;
    p.set_today(d(2026, 4, 2));
    let Province {
        dir,
        store,
        clock,
        wf,
        ..
    } = p;
    let data = dir.path().to_path_buf();
    let node = Node::start(&data, Arc::new(wf), &store, Some(dir)).await;
    let mut fed = Fed {
        node,
        store,
        director_key: hex::encode(director.key.verifying_key().to_bytes()),
        token: String::new(),
        approved: vec![a, c],
    };
    fed.seal(&director.key, &director.key_id).await;
    clock.set(d(2026, 5, 4).and_hms_opt(3, 0, 0).unwrap().and_utc());
    fed.seal(&director.key, &director.key_id).await;
    fed.token = fed.login("csdlqg.dongbo").await;
    fed
}

/// The consumer's directory and its token file (mode 600).
struct Consumer {
    _tmp: tempfile::TempDir,
    token_file: PathBuf,
    out: PathBuf,
}

fn consumer(token: &str) -> Consumer {
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = tmp.path().join("national");
    Consumer {
        _tmp: tmp,
        token_file,
        out,
    }
}

/// Runs `hoso sync pull` to the end (off the runtime's threads).
async fn pull(url: &str, c: &Consumer, key: &str, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec![
        "sync".into(),
        "pull".into(),
        "--url".into(),
        url.into(),
        "--token-file".into(),
        arg(&c.token_file),
        "--out".into(),
        arg(&c.out),
        "--director-key".into(),
        key.into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || hoso_cmd().args(&args).output().unwrap())
        .await
        .unwrap()
}

fn cursor(out: &Path) -> Option<Value> {
    let bytes = std::fs::read(out.join("cursor.json")).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_the_consumer_pulls_verifies_writes_acknowledges_and_moves_its_cursor() {
    let f = two_batches().await;
    let c = consumer(&f.token);
    let o = pull(&f.base, &c, &f.director_key, &[]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(&f.token), "the token was printed");
    let mode = std::fs::metadata(&c.out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);

    let cur = cursor(&c.out).unwrap();
    assert_eq!(cur["sequence"], 2);
    // Batch 1: the statement line, then one line per approved dossier with
    // its document verbatim (its SHA-256 is the item's).
    let one = std::fs::read_to_string(c.out.join("batch-1.ndjson")).unwrap();
    let lines: Vec<Value> = one
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["statement"]["sequence"], 1);
    for (i, raw) in one.lines().skip(1).enumerate() {
        assert_eq!(lines[i + 1]["dossier"], f.approved[i].as_str());
        let doc = raw.split(r#","document":"#).nth(1).unwrap();
        let doc = &doc[..doc.len() - 1];
        assert_eq!(
            lines[i + 1]["document_sha256"],
            hex::encode(hoso_projections::exchange::digest(doc.as_bytes()))
        );
    }
    let two = std::fs::read_to_string(c.out.join("batch-2.ndjson")).unwrap();
    assert_eq!(two.lines().count(), 1);
    let digest2: Value = serde_json::from_str(two.lines().next().unwrap()).unwrap();
    assert_eq!(cur["statement_digest"], digest2["statement_digest"]);

    // Both acknowledged, with the receipt derived from the batch.
    for n in [1, 2] {
        let delivery = f.delivery(n).await;
        assert_eq!(delivery["state"], "acknowledged", "{delivery}");
        let receipt = delivery["acknowledgement"]["receipt"].as_str().unwrap();
        assert!(
            receipt.starts_with(&format!("hoso-sync-pull-{n}-")),
            "{receipt}"
        );
    }

    // Nothing new: nothing pulled, nothing appended.
    let head = f.head().await;
    let again = pull(&f.base, &c, &f.director_key, &[]).await;
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("up to date"), "{}", text(&again));
    assert_eq!(f.head().await, head);
    assert_eq!(
        std::fs::read_to_string(c.out.join("batch-1.ndjson")).unwrap(),
        one
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_the_ack_the_rerun_acknowledges_the_same_batch_once() {
    let f = two_batches().await;
    let c = consumer(&f.token);
    let o = pull(&f.base, &c, &f.director_key, &["--abort-before-ack"]).await;
    assert!(!o.status.success(), "{}", text(&o));
    // The batch is on disk, neither acknowledged nor followed.
    let written = std::fs::read(c.out.join("batch-1.ndjson")).unwrap();
    assert!(cursor(&c.out).is_none());
    // Not acknowledged (batch 1 is overdue by May).
    assert!(f.delivery(1).await["acknowledgement"].is_null());

    let o = pull(&f.base, &c, &f.director_key, &[]).await;
    assert!(o.status.success(), "{}", text(&o));
    // The same batch, the same bytes, the same digest.
    assert_eq!(
        std::fs::read(c.out.join("batch-1.ndjson")).unwrap(),
        written
    );
    let first: Value =
        serde_json::from_slice(written.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let feed = f.get("/api/v1/sync/batches", &f.token).await;
    assert_eq!(
        feed["batches"][0]["statement_digest"],
        first["statement_digest"]
    );
    assert_eq!(f.delivery(1).await["state"], "acknowledged");
    assert_eq!(cursor(&c.out).unwrap()["sequence"], 2);
    // Delivered and acknowledged once: the stream holds its seal, one
    // delivery (served twice) and one acknowledgement.
    assert_eq!(
        f.sync_events(1).await,
        [
            "sync.MonthlyBatchSealed",
            "sync.BatchDelivered",
            "sync.BatchAcknowledged"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_larger_than_a_page_is_pulled_whole_a_page_at_a_time() {
    let f = two_batches().await;
    // Pages of one item: batch 1 (two items) comes in two pages.
    let paged = consumer(&f.token);
    let o = pull(&f.base, &paged, &f.director_key, &["--items-limit", "1"]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(cursor(&paged.out).unwrap()["sequence"], 2);
    let one = std::fs::read(paged.out.join("batch-1.ndjson")).unwrap();
    assert_eq!(
        one.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(),
        3
    );
    // The same bytes as pulled in one page.
    let whole = consumer(&f.token);
    let o = pull(&f.base, &whole, &f.director_key, &[]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(whole.out.join("batch-1.ndjson")).unwrap(),
        one
    );
    assert_eq!(f.delivery(1).await["state"], "acknowledged");
    assert_eq!(
        f.sync_events(1).await,
        [
            "sync.MonthlyBatchSealed",
            "sync.BatchDelivered",
            "sync.BatchAcknowledged"
        ]
    );

    // Killed before the ack after a paged pull, the rerun in one page finds
    // the same bytes on disk and acknowledges.
    let crashed = consumer(&f.token);
    let o = pull(
        &f.base,
        &crashed,
        &f.director_key,
        &["--items-limit", "1", "--abort-before-ack"],
    )
    .await;
    assert!(!o.status.success(), "{}", text(&o));
    let o = pull(&f.base, &crashed, &f.director_key, &[]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(crashed.out.join("batch-1.ndjson")).unwrap(),
        one
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_a_document_is_refused_with_the_item_named() {
    let f = two_batches().await;
    let (proxy, acks) = tampering_proxy(f.base.clone(), |bytes| {
        // 033190001234 → 033190001235: one byte, still valid JSON.
        let at = find(bytes, PID_A, 0);
        bytes[at + PID_A.len() - 1] ^= 0x01;
    })
    .await;
    let c = consumer(&f.token);
    let head = f.head().await;
    let o = pull(&proxy, &c, &f.director_key, &[]).await;
    assert!(!o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(said.contains("batch 1 refused"), "{said}");
    assert!(
        said.contains(&format!("item 0 (dossier {})", f.approved[0])),
        "{said}"
    );
    assert!(said.contains("document_sha256"), "{said}");
    assert_eq!(acks.load(Ordering::SeqCst), 0);
    assert!(cursor(&c.out).is_none());
    assert!(!c.out.join("batch-1.ndjson").exists());
    // Not acknowledged (batch 1 is overdue by May). The node served the
    // batch whole, so it recorded it delivered and nothing else: what
    // happened to the bytes on the way is what the missing receipt says.
    assert!(f.delivery(1).await["acknowledgement"].is_null());
    assert_eq!(f.head().await, head.map(|h| h + 1));
    assert_eq!(
        f.sync_events(1).await,
        ["sync.MonthlyBatchSealed", "sync.BatchDelivered"]
    );

    // Straight from the node, the same consumer pulls it.
    let o = pull(&f.base, &c, &f.director_key, &[]).await;
    assert!(o.status.success(), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_not_signed_by_the_director_key_held_is_refused() {
    let f = two_batches().await;
    let c = consumer(&f.token);
    let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let key_file = c.out.with_file_name("director.pub");
    std::fs::write(
        &key_file,
        hex::encode(other.verifying_key().to_bytes()) + "\n",
    )
    .unwrap();
    let o = pull(&f.base, &c, &arg(&key_file), &[]).await;
    assert!(!o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(said.contains("batch 1 refused"), "{said}");
    assert!(said.contains("signature does not verify"), "{said}");
    assert!(cursor(&c.out).is_none());
    assert!(!c.out.join("batch-1.ndjson").exists());
    // Not acknowledged (batch 1 is overdue by May).
    assert!(f.delivery(1).await["acknowledgement"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_others_can_read_is_refused_without_printing_it() {
    let f = two_batches().await;
    let c = consumer(&f.token);
    std::fs::set_permissions(&c.token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = pull(&f.base, &c, &f.director_key, &[]).await;
    assert!(!o.status.success());
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
    assert!(!text(&o).contains(&f.token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_does_not_follow_the_last_acknowledged_one_is_refused() {
    let f = two_batches().await;
    let c = consumer(&f.token);
    // Left batch 1 on disk without acknowledging it.
    let o = pull(&f.base, &c, &f.director_key, &["--abort-before-ack"]).await;
    assert!(!o.status.success());
    // A cursor on another batch 1: the same statement with another root.
    #[derive(serde::Deserialize)]
    struct Line {
        statement: Box<serde_json::value::RawValue>,
    }
    let file = std::fs::read_to_string(c.out.join("batch-1.ndjson")).unwrap();
    let line: Line = serde_json::from_str(file.lines().next().unwrap()).unwrap();
    let real = BatchStatement::from_canonical(line.statement.get().as_bytes()).unwrap();
    let mut other = real.clone();
    other.merkle_root = [0xab; 32];
    let cursor_json = json!({
        "sequence": 1,
        "statement_digest": hex::encode(other.digest().unwrap()),
        "statement": String::from_utf8(other.canonical_bytes().unwrap()).unwrap(),
    });
    std::fs::write(
        c.out.join("cursor.json"),
        serde_json::to_vec(&cursor_json).unwrap(),
    )
    .unwrap();
    let o = pull(&f.base, &c, &f.director_key, &[]).await;
    assert!(!o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(said.contains("batch 2 refused"), "{said}");
    assert!(said.contains("does not follow"), "{said}");
    assert!(!c.out.join("batch-2.ndjson").exists());
    assert_eq!(cursor(&c.out).unwrap(), cursor_json);
    assert!(f.delivery(2).await["acknowledgement"].is_null());
}

/// The `nth` (from 0) occurrence of `what` in `bytes`: the offset just after
/// it when it opens a value (ends in `"` or `[`), else its start.
fn find(bytes: &[u8], what: &str, nth: usize) -> usize {
    let at = bytes
        .windows(what.len())
        .enumerate()
        .filter(|(_, w)| *w == what.as_bytes())
        .nth(nth)
        .unwrap()
        .0;
    if what.ends_with('"') || what.ends_with('[') {
        at + what.len()
    } else {
        at
    }
}

/// One hex digit changed into another: still well-formed, another value.
fn flip_hex(bytes: &mut [u8], at: usize) {
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_in_the_statement_an_item_or_a_proof_is_refused_with_the_item_named() {
    let f = two_batches().await;
    let cases: [(Tamper, Vec<String>); 3] = [
        (
            |b| flip_hex(b, find(b, r#""merkle_root":""#, 0)),
            vec!["statement_digest".into()],
        ),
        (
            |b| flip_hex(b, find(b, r#""chain_hash":""#, 1)),
            vec![
                format!("item 1 (dossier {})", f.approved[1]),
                "not included".into(),
            ],
        ),
        (
            |b| flip_hex(b, find(b, r#""path":[""#, 0)),
            vec![
                format!("item 0 (dossier {})", f.approved[0]),
                "not included".into(),
            ],
        ),
    ];
    for (tamper, expected) in cases {
        let (proxy, acks) = tampering_proxy(f.base.clone(), tamper).await;
        let c = consumer(&f.token);
        let o = pull(&proxy, &c, &f.director_key, &[]).await;
        assert!(!o.status.success(), "{}", text(&o));
        let said = text(&o);
        assert!(said.contains("batch 1 refused"), "{said}");
        for e in &expected {
            assert!(said.contains(e.as_str()), "{e}: {said}");
        }
        assert_eq!(acks.load(Ordering::SeqCst), 0);
        assert!(cursor(&c.out).is_none());
        assert!(!c.out.join("batch-1.ndjson").exists());
    }
    assert!(f.delivery(1).await["acknowledgement"].is_null());
}
