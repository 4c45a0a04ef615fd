//! `hoso bundle export` and `hoso verify-bundle` as an inspector uses them, on a demo
//! province whose log gets a Merkle tree and a signed tree head written beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use hoso_domain::clock::{Clock, SystemClock};
use hoso_ledger::checkpoint::{HEAD_FILE, write_head_file};
use hoso_ledger::tree::{MerkleTree, TREE_FILE};
use hoso_ledger::{EventStore, HeadReason, LedgerKeyRing, SignedTreeHead, SqliteStore, TreeHead};

fn hoso(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoso"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// Builds the tree over the whole log and signs a head, as the node's sealer does;
/// answers the key ring and a dossier stream with an approval.
async fn seal(data: &Path, keys: &Path) -> (LedgerKeyRing, String) {
    let store = SqliteStore::open_read_only(data).unwrap();
    let all = store.read_all(0, usize::MAX).await.unwrap();
    let tree = MerkleTree::open_or_create(&data.join(TREE_FILE)).unwrap();
    tree.append(&all.iter().map(|e| e.hash).collect::<Vec<_>>());
    tree.flush().unwrap();
    let ring = LedgerKeyRing::create(&keys.join("ledger-keys.json"), SystemClock.now()).unwrap();
    let (key_id, key) = ring.signer();
    let head = SignedTreeHead::sign(
        TreeHead::new(
            tree.len(),
            tree.current_root(),
            SystemClock.now(),
            key_id,
            HeadReason::Interval,
        ),
        key,
    );
    write_head_file(&data.join(HEAD_FILE), &head).unwrap();
    let approved = all
        .iter()
        .find(|e| e.event_type == "dossier.ApprovalSigned")
        .expect("the demo signs approvals")
        .stream
        .clone();
    (ring, approved)
}

#[tokio::test]
async fn export_then_verify_offline_with_and_without_the_ledger_key() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let o = hoso(&["demo", "--data", &arg(&data), "--people", "20"]);
    assert!(o.status.success(), "{}", text(&o));

    // No signed head yet: the export refuses and says why.
    let file = tmp.path().join("dossier.bundle");
    let o = hoso(&[
        "bundle",
        "export",
        "--data",
        &arg(&data),
        "--dossier",
        "x",
        "--out",
        &arg(&file),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no signed tree head"), "{}", text(&o));

    let (ring, dossier) = seal(&data, tmp.path()).await;
    let id = dossier.strip_prefix("dossier-").unwrap();
    let o = hoso(&[
        "bundle",
        "export",
        "--data",
        &arg(&data),
        "--dossier",
        id,
        "--out",
        &arg(&file),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let key_hex = hex::encode(ring.signer().1.verifying_key().as_bytes());

    let o = hoso(&[
        "verify-bundle",
        &arg(&file),
        "--ledger-key",
        &key_hex,
        "--show",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("verified and authenticated"), "{out}");
    assert!(out.contains("signature ✓"), "{out}");
    assert!(out.contains("r0 "), "{out}");

    // The key from a file, among other words.
    let key_file = tmp.path().join("ledger.pub");
    std::fs::write(
        &key_file,
        format!("key_id 0011223344556677\npublic_key {key_hex}\n"),
    )
    .unwrap();
    let o = hoso(&[
        "verify-bundle",
        &arg(&file),
        "--ledger-key",
        &arg(&key_file),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = hoso(&["verify-bundle", &arg(&file)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("self-consistent, not authenticated"),
        "{}",
        text(&o)
    );

    // Another key, and a flipped byte, fail with exit 1 and a reason.
    let other = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32])
            .verifying_key()
            .as_bytes(),
    );
    let o = hoso(&["verify-bundle", &arg(&file), "--ledger-key", &other]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAILED"), "{}", text(&o));
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let o = hoso(&["verify-bundle", &arg(&file), "--ledger-key", &key_hex]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAILED: "), "{}", text(&o));
}
