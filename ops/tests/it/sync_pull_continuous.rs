//! `hoso sync pull` against a continuous-mode province (HY 13.6), run as the
//! shipped binary against a province served in-process on a manual clock: the
//! server sealed July's approvals with the province connection key and the
//! director signed July's month statement on 3 August. With `--connection-key`
//! the consumer verifies the batch under that key and the month statement under
//! `--director-key`; a batch signed by another key than the one held is refused
//! with nothing written or acknowledged.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use crate::support::{arg, hoso_cmd, text};
use ed25519_dalek::Signer;
use hoso_api::routes::sync_continuous::seal_next;
use hoso_commands::testkit::d;
use hoso_commands::workflows::SignMonth;
use serde_json::Value;

use crate::support::node::Node;
use crate::sync_continuous::{July, july};

const PW: &str = "Cua-Toi#2026!y";

/// A continuous-mode province with July sealed and signed, served on a socket.
struct Fed {
    node: Node,
    token: String,
    director_key: String,
    connection_key: String,
    approved: Vec<String>,
}

impl std::ops::Deref for Fed {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.node
    }
}

async fn july_signed() -> Fed {
    let July {
        node,
        clock,
        director,
        connection,
        approved,
        ..
    } = july().await;
    let state = node.state.clone();
    seal_next(&state).await.unwrap().unwrap();
    clock.set(d(2026, 8, 3).and_hms_opt(3, 0, 0).unwrap().and_utc());
    let july = state.workflows.next_month_statement().await.unwrap();
    let digest = july.statement.digest().unwrap();
    state
        .workflows
        .sign_month(
            &director.actor,
            SignMonth {
                statement: july.statement,
                key_id: director.key_id.clone(),
                signature: director.key.sign(&digest).to_bytes().to_vec(),
            },
        )
        .await
        .unwrap();
    let token = node.token("csdlqg.dongbo", PW).await;
    Fed {
        node,
        token,
        director_key: hex::encode(director.key.verifying_key().to_bytes()),
        connection_key: connection.public_key_hex(),
        approved,
    }
}

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

async fn pull(f: &Fed, c: &Consumer, keys: &[&str]) -> Output {
    let mut args: Vec<String> = vec![
        "sync".into(),
        "pull".into(),
        "--url".into(),
        f.base.clone(),
        "--token-file".into(),
        arg(&c.token_file),
        "--out".into(),
        arg(&c.out),
    ];
    args.extend(keys.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || hoso_cmd().args(&args).output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hy_13_6_the_consumer_verifies_batches_under_the_connection_key_and_months_under_the_director_key()
 {
    let f = july_signed().await;
    let c = consumer(&f.token);
    let keys = [
        "--director-key",
        f.director_key.as_str(),
        "--connection-key",
        f.connection_key.as_str(),
    ];
    let o = pull(&f, &c, &keys).await;
    assert!(o.status.success(), "{}", text(&o));
    let batch = std::fs::read_to_string(c.out.join("batch-1.ndjson")).unwrap();
    let dossiers: Vec<String> = batch
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["dossier"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(dossiers, f.approved);
    let month: Value =
        serde_json::from_slice(&std::fs::read(c.out.join("month-2026-07.json")).unwrap()).unwrap();
    assert_eq!(month["statement"]["first_sequence"], 1);
    assert_eq!(month["statement"]["last_sequence"], 1);
    // Again: nothing new, the month as written is served byte for byte.
    let again = pull(&f, &c, &keys).await;
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("up to date"), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuous_batch_not_signed_by_the_connection_key_held_is_refused() {
    let f = july_signed().await;
    let other = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes(),
    );
    for keys in [
        // Another connection key than the province's.
        vec![
            "--director-key",
            f.director_key.as_str(),
            "--connection-key",
            other.as_str(),
        ],
        // The director's key alone: the director did not sign the batch.
        vec!["--director-key", f.director_key.as_str()],
    ] {
        let c = consumer(&f.token);
        let o = pull(&f, &c, &keys).await;
        assert!(!o.status.success(), "{}", text(&o));
        let said = text(&o);
        assert!(said.contains("batch 1 refused"), "{said}");
        assert!(said.contains("signature does not verify"), "{said}");
        assert!(!c.out.join("batch-1.ndjson").exists());
        assert!(!c.out.join("month-2026-07.json").exists());
    }
    // A month statement not signed by the director key held is refused.
    let c = consumer(&f.token);
    let o = pull(
        &f,
        &c,
        &[
            "--director-key",
            other.as_str(),
            "--connection-key",
            f.connection_key.as_str(),
        ],
    )
    .await;
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("month 2026-07"), "{}", text(&o));
    assert!(!c.out.join("month-2026-07.json").exists());
}
