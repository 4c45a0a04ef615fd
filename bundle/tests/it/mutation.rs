//! Property: no single-byte change of any value, anywhere in a bundle, verifies.
//! (`bundle.rs` flips every byte with two fixed masks; this tries arbitrary values.)

use std::sync::OnceLock;

use ed25519_dalek::VerifyingKey;
use hoso_bundle::{export, verify};
use hoso_commands::testkit::{Province, d};
use hoso_domain::clock::Clock;
use hoso_ledger::tree::MerkleTree;
use hoso_ledger::{EventStore, HeadReason, LedgerKeyRing, SignedTreeHead, TreeHead};
use proptest::prelude::*;

/// One approved dossier's bundle and the ledger key that signed its head.
fn sample() -> &'static (Vec<u8>, VerifyingKey) {
    static SAMPLE: OnceLock<(Vec<u8>, VerifyingKey)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let p = Province::new("national", d(2026, 3, 2)).await;
                let (id, _) = p.approved_dossier("033190001234").await;
                let tree = MerkleTree::open_or_create(&p.dir.path().join("tree.db")).unwrap();
                let all = p.store.read_all(0, usize::MAX).await.unwrap();
                tree.append(&all.iter().map(|e| e.hash).collect::<Vec<_>>());
                let keys = tempfile::tempdir().unwrap();
                let ring =
                    LedgerKeyRing::create(&keys.path().join("k.json"), p.clock.now()).unwrap();
                let (key_id, key) = ring.signer();
                let head = SignedTreeHead::sign(
                    TreeHead::new(
                        tree.len(),
                        tree.current_root(),
                        p.clock.now(),
                        key_id,
                        HeadReason::Shutdown,
                    ),
                    key,
                );
                let stream = hoso_domain::dossier::stream_id(&id);
                let bundle = export(p.store.as_ref(), &tree, &head, &stream)
                    .await
                    .unwrap();
                (bundle.to_bytes().unwrap(), key.verifying_key())
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_single_byte_change_fails(at in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let (bytes, key) = sample();
        prop_assert!(verify(bytes, Some(key)).is_ok());
        let mut changed = bytes.clone();
        let i = at.index(changed.len());
        changed[i] = changed[i].wrapping_add(delta);
        prop_assert!(
            verify(&changed, Some(key)).is_err(),
            "byte {} changed from {:#04x} to {:#04x} still verifies",
            i,
            bytes[i],
            changed[i]
        );
    }
}
