//! `hoso bundle export` and `hoso verify-bundle` as an inspector uses them, on a demo
//! province whose node kept its Merkle tree and signed its tree heads.

use std::path::Path;

use crate::support::{arg, hoso, published_ledger_key, text};

use hoso_ledger::checkpoint::HEAD_FILE;
use hoso_ledger::{EventStore, SqliteStore};

/// A dossier of the demo with a signed approval.
async fn approved_dossier(data: &Path) -> String {
    let store = SqliteStore::open_read_only(data).unwrap();
    let all = store.read_all(0, usize::MAX).await.unwrap();
    all.iter()
        .find(|e| e.event_type == "dossier.ApprovalSigned")
        .expect("the demo signs approvals")
        .stream
        .clone()
}

#[tokio::test]
async fn export_then_verify_offline_with_and_without_the_ledger_key() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let o = hoso(&["demo", "--data", &arg(&data), "--people", "20"]);
    assert!(o.status.success(), "{}", text(&o));

    // The demo's node signed its heads; without the head file the export refuses
    // and says why.
    let file = tmp.path().join("dossier.bundle");
    let dossier = approved_dossier(&data).await;
    let id = dossier.strip_prefix("dossier-").unwrap();
    let export = [
        "bundle",
        "export",
        "--data",
        &arg(&data),
        "--dossier",
        id,
        "--out",
        &arg(&file),
    ];
    let head = data.join(HEAD_FILE);
    let aside = tmp.path().join("head-aside.json");
    std::fs::rename(&head, &aside).unwrap();
    let o = hoso(&export);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no signed tree head"), "{}", text(&o));
    std::fs::rename(&aside, &head).unwrap();
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
    assert!(text(&o).contains("not found"), "{}", text(&o));
    let o = hoso(&export);
    assert!(o.status.success(), "{}", text(&o));
    let key_hex = published_ledger_key(&data);

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
