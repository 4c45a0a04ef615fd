//! Properties of the month statement of continuous mode: a flipped byte of its
//! canonical bytes fails the director's signature, and its root commits to the
//! month's batches and their order.

use ed25519_dalek::{Signer, SigningKey};
use hoso_sync::Month;
use hoso_sync::month::{MONTH_FORMAT, MonthStatement, month_root};
use proptest::prelude::*;

fn statement(digests: &[[u8; 32]], first: u64, previous: [u8; 32]) -> MonthStatement {
    MonthStatement {
        format: MONTH_FORMAT.to_owned(),
        province: "hung-yen".to_owned(),
        month: Month::new(2026, 7).unwrap(),
        first_sequence: first,
        last_sequence: first + digests.len() as u64 - 1,
        batch_count: digests.len() as u64,
        item_count: 3 * digests.len() as u64,
        merkle_root: month_root(digests),
        previous_digest: previous,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A flipped byte either no longer parses or changes the digest, so the
    /// director's signature no longer verifies.
    #[test]
    fn a_flipped_month_statement_byte_fails(
        digests in prop::collection::vec(any::<[u8; 32]>(), 1..12),
        first in 1u64..1_000,
        previous in any::<[u8; 32]>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let s = statement(&digests, first, previous);
        let key = SigningKey::from_bytes(&[3; 32]);
        let signature = key.sign(&s.digest().unwrap()).to_bytes();
        let mut bytes = s.canonical_bytes().unwrap();
        let j = at.index(bytes.len());
        bytes[j] ^= 1 << bit;
        if let Ok(changed) = MonthStatement::from_canonical(&bytes) {
            prop_assert_ne!(&changed, &s);
            prop_assert!(changed
                .verify_signature(key.verifying_key().as_bytes(), &signature)
                .is_err());
        }
    }

    /// Leaving a batch out, or swapping two, changes the root.
    #[test]
    fn the_root_commits_to_every_batch_in_order(
        digests in prop::collection::hash_set(any::<[u8; 32]>(), 2..12),
        drop in any::<prop::sample::Index>(),
    ) {
        let digests: Vec<[u8; 32]> = digests.into_iter().collect();
        let root = month_root(&digests);
        let mut fewer = digests.clone();
        fewer.remove(drop.index(digests.len()));
        prop_assert_ne!(month_root(&fewer), root);
        let mut swapped = digests.clone();
        swapped.swap(0, 1);
        prop_assert_ne!(month_root(&swapped), root);
    }
}
