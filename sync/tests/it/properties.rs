//! Properties of the batch format: a changed byte anywhere in an item or a
//! statement fails verification, the root depends on the items' order, and
//! statements chain by digest.

use ed25519_dalek::{Signer, SigningKey};
use hoso_sync::{
    BatchItem, BatchStatement, Month, STATEMENT_FORMAT, SyncError, inclusion_proof, item_digests,
    merkle_root, verify_follows, verify_item, verify_signature,
};
use proptest::prelude::*;

fn arb_item() -> impl Strategy<Value = BatchItem> {
    (
        "[0-9a-f]{8}-[0-9a-f]{4}",
        0u64..1_000_000,
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(dossier, revision, chain_hash, document_sha256)| BatchItem {
                dossier,
                revision,
                chain_hash,
                document_sha256,
            },
        )
}

fn statement_over(items: &[BatchItem], sequence: u64, previous: [u8; 32]) -> BatchStatement {
    BatchStatement {
        format: STATEMENT_FORMAT.to_owned(),
        province: "binh-thuan".to_owned(),
        sequence,
        month: Month::new(2026, 10).unwrap(),
        from_position: 10,
        to_position: 10 + 2 * items.len() as u64 + 5,
        item_count: items.len() as u64,
        merkle_root: merkle_root(items).unwrap(),
        previous_digest: previous,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A flipped byte of an item's canonical bytes either no longer parses or
    /// parses to an item that fails its proof.
    #[test]
    fn a_flipped_item_byte_fails(
        items in prop::collection::vec(arb_item(), 1..20),
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let statement = statement_over(&items, 1, [0; 32]);
        let digests = item_digests(&items).unwrap();
        let i = pick.index(items.len());
        let proof = inclusion_proof(&digests, i as u64).unwrap();
        let mut bytes = items[i].canonical_bytes().unwrap();
        let j = at.index(bytes.len());
        bytes[j] ^= 1 << bit;
        match BatchItem::from_canonical(&bytes) {
            Err(_) => {}
            Ok(changed) => {
                prop_assert_ne!(&changed, &items[i]);
                let refused = matches!(
                    verify_item(&statement, &changed, &proof),
                    Err(SyncError::ItemNotIncluded { .. })
                );
                prop_assert!(refused);
            }
        }
    }

    /// A flipped byte of a statement either no longer parses or changes its
    /// digest, so the director's signature no longer verifies.
    #[test]
    fn a_flipped_statement_byte_fails(
        items in prop::collection::vec(arb_item(), 0..10),
        seed in any::<[u8; 32]>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = SigningKey::from_bytes(&seed);
        let statement = statement_over(&items, 1, [0; 32]);
        let signature = key.sign(&statement.digest().unwrap()).to_bytes();
        let public = key.verifying_key().to_bytes();
        verify_signature(&statement, &public, &signature).unwrap();
        let mut bytes = statement.canonical_bytes().unwrap();
        let j = at.index(bytes.len());
        bytes[j] ^= 1 << bit;
        if let Ok(changed) = BatchStatement::from_canonical(&bytes) {
            prop_assert_ne!(&changed, &statement);
            prop_assert!(matches!(
                verify_signature(&changed, &public, &signature),
                Err(SyncError::Signature(_))
            ));
        }
    }

    /// Two different orders of the same distinct items give different roots.
    #[test]
    fn the_root_depends_on_the_order(
        items in prop::collection::vec(arb_item(), 2..12),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (a, b) = (a.index(items.len()), b.index(items.len()));
        prop_assume!(items[a] != items[b]);
        let mut swapped = items.clone();
        swapped.swap(a, b);
        prop_assert_ne!(merkle_root(&items).unwrap(), merkle_root(&swapped).unwrap());
    }

    /// Each statement names the digest of the one before; changing any earlier
    /// statement breaks the link after it.
    #[test]
    fn statements_chain_by_digest(
        batches in prop::collection::vec(prop::collection::vec(arb_item(), 0..4), 2..6),
        tamper in any::<prop::sample::Index>(),
    ) {
        let mut chain: Vec<BatchStatement> = Vec::new();
        for (n, items) in batches.iter().enumerate() {
            let mut s = statement_over(items, n as u64 + 1, [0; 32]);
            if let Some(prev) = chain.last() {
                s.previous_digest = prev.digest().unwrap();
                s.month = prev.month.next().unwrap();
                s.from_position = prev.to_position;
                s.to_position = s.from_position + 2 * items.len() as u64 + 5;
            }
            chain.push(s);
        }
        for pair in chain.windows(2) {
            verify_follows(&pair[0], &pair[1]).unwrap();
        }
        let t = tamper.index(chain.len() - 1);
        let mut changed = chain[t].clone();
        changed.item_count = changed.item_count.saturating_add(1);
        changed.to_position += 1;
        let broken = matches!(
            verify_follows(&changed, &chain[t + 1]),
            Err(SyncError::BrokenChain { .. } | SyncError::RangeGap { .. })
        );
        prop_assert!(broken);
    }
}
