//! The persisted Merkle tree against the pure reference: roots, leaves and proofs at
//! every size, before and after flushes, across chunk boundaries, after reopening, and
//! while another thread appends.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hoso_ledger::Hash;
use hoso_ledger::merkle::{
    RangeError, consistency_proof, inclusion_proof, root_of, verify_consistency, verify_inclusion,
};
use hoso_ledger::tree::{MerkleTree, TREE_FILE, TreeError};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn leaves(from: u64, n: u64) -> Vec<Hash> {
    (from..from + n)
        .map(|i| Sha256::digest(i.to_be_bytes()).into())
        .collect()
}

fn open(path: &Path) -> MerkleTree {
    MerkleTree::open_or_create(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// The roots at boundary and sampled sizes, and the proofs at `samples` (index, size)
/// and (from, to) pairs, equal the reference over `d`.
fn matches_reference(tree: &MerkleTree, d: &[Hash], samples: &[(u64, u64)]) {
    let len = d.len() as u64;
    assert_eq!(tree.len(), len);
    assert_eq!(tree.current_root(), root_of(d));
    // Every size around a chunk boundary, the ends, and the sampled sizes.
    let mut sizes: Vec<u64> = [0, 1, 2, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025]
        .into_iter()
        .chain(
            samples
                .iter()
                .flat_map(|&(a, b)| [a, b])
                .map(|x| x % (len + 1)),
        )
        .chain([len.saturating_sub(1), len])
        .filter(|&s| s <= len)
        .collect();
    sizes.dedup();
    for size in sizes {
        assert_eq!(
            tree.root(size)
                .unwrap_or_else(|e| panic!("root({size}): {e}")),
            root_of(&d[..size as usize]),
            "root of {size}"
        );
    }
    for &(a, b) in samples {
        let (lo, hi) = (a.min(b) % (len + 1), a.max(b) % (len + 1));
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        if hi > 0 {
            let index = lo.min(hi - 1);
            let p = tree
                .inclusion_proof(index, hi)
                .unwrap_or_else(|e| panic!("inclusion({index}, {hi}): {e}"));
            assert_eq!(Ok(&p), inclusion_proof(&d[..hi as usize], index).as_ref());
            assert_eq!(
                verify_inclusion(&d[index as usize], &p, &root_of(&d[..hi as usize])),
                Ok(())
            );
            assert_eq!(
                tree.leaf(index).unwrap_or_else(|e| panic!("{e}")),
                d[index as usize]
            );
        }
        let c = tree
            .consistency_proof(lo, hi)
            .unwrap_or_else(|e| panic!("consistency({lo}, {hi}): {e}"));
        assert_eq!(Ok(&c), consistency_proof(&d[..hi as usize], lo).as_ref());
        assert_eq!(
            verify_consistency(&root_of(&d[..lo as usize]), &root_of(&d[..hi as usize]), &c),
            Ok(())
        );
    }
}

#[test]
fn proofs_match_the_reference_across_flushes_chunks_and_reopens() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(TREE_FILE);
    let mut d = Vec::new();
    let samples: Vec<(u64, u64)> = (0..40u64).map(|i| (i * 37 + 5, i * 101 + 3)).collect();
    // Batch sizes chosen so flushes land on, just before and just after chunk
    // boundaries (64, 128, 1024 leaves are whole chunks and whole stored nodes).
    for (batch, flush) in [
        (1, true),
        (62, false),
        (1, true),
        (1, true),
        (61, true),
        (64, true),
        (127, false),
        (2, false),
        (896, true),
        (5, true),
    ] {
        let tree = open(&path);
        assert_eq!(tree.len(), d.len() as u64);
        let more = leaves(d.len() as u64, batch);
        tree.append(&more);
        d.extend(more);
        matches_reference(&tree, &d, &samples);
        if flush {
            tree.flush().unwrap_or_else(|e| panic!("{e}"));
            matches_reference(&tree, &d, &samples);
        } else {
            // Dropped without a flush: a crash. Only flushed leaves come back.
            d.truncate(tree.flushed_len() as usize);
        }
    }
    let tree = open(&path);
    matches_reference(&tree, &d, &samples);
}

#[test]
fn out_of_range_requests_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tree = open(&dir.path().join(TREE_FILE));
    tree.append(&leaves(0, 10));
    assert!(matches!(
        tree.root(11),
        Err(TreeError::SizeBeyondTree { size: 11, len: 10 })
    ));
    assert!(matches!(
        tree.inclusion_proof(10, 10),
        Err(TreeError::Range(RangeError::LeafOutOfRange {
            index: 10,
            size: 10
        }))
    ));
    assert!(matches!(
        tree.inclusion_proof(0, u64::MAX),
        Err(TreeError::SizeBeyondTree { .. })
    ));
    assert!(matches!(
        tree.inclusion_proof(u64::MAX, 5),
        Err(TreeError::Range(RangeError::LeafOutOfRange { .. }))
    ));
    assert!(matches!(
        tree.consistency_proof(6, 5),
        Err(TreeError::Range(RangeError::FromAfterTo { from: 6, to: 5 }))
    ));
    assert!(matches!(
        tree.consistency_proof(5, 11),
        Err(TreeError::SizeBeyondTree { .. })
    ));
    assert!(matches!(
        tree.leaf(10),
        Err(TreeError::Range(RangeError::LeafOutOfRange { .. }))
    ));
}

#[test]
fn reset_empties_the_tree_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(TREE_FILE);
    let tree = open(&path);
    tree.append(&leaves(0, 200));
    tree.flush().unwrap_or_else(|e| panic!("{e}"));
    tree.append(&leaves(200, 10));
    tree.reset().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((tree.len(), tree.flushed_len()), (0, 0));
    let d = leaves(1000, 150);
    tree.append(&d);
    tree.flush().unwrap_or_else(|e| panic!("{e}"));
    drop(tree);
    let tree = open(&path);
    matches_reference(&tree, &d, &[(3, 149), (64, 128), (0, 150)]);
}

#[test]
fn the_store_id_is_kept() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(TREE_FILE);
    let tree = open(&path);
    assert_eq!(tree.store_id().unwrap_or_else(|e| panic!("{e}")), None);
    tree.set_store_id("store-1")
        .unwrap_or_else(|e| panic!("{e}"));
    drop(tree);
    let tree = open(&path);
    assert_eq!(
        tree.store_id().unwrap_or_else(|e| panic!("{e}")).as_deref(),
        Some("store-1")
    );
}

#[test]
fn readers_get_proofs_while_the_owner_appends_and_flushes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tree = Arc::new(open(&dir.path().join(TREE_FILE)));
    let all = leaves(0, 3000);
    let total = all.len() as u64;
    tree.append(&all[..1]);
    // Proofs checked by the reader so far: the owner waits on it now and then, so
    // reads and appends interleave however the threads are scheduled.
    let checked = Arc::new(AtomicU64::new(0));
    let reader = {
        let (tree, all, checked) = (tree.clone(), all.clone(), checked.clone());
        std::thread::spawn(move || {
            let mut k = 0u64;
            loop {
                let size = tree.len();
                k = (k * 7919 + 13) % size;
                let root = tree.root(size).unwrap_or_else(|e| panic!("{e}"));
                let p = tree
                    .inclusion_proof(k, size)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(verify_inclusion(&all[k as usize], &p, &root), Ok(()));
                let c = tree
                    .consistency_proof(k, size)
                    .unwrap_or_else(|e| panic!("{e}"));
                let old = tree.root(k).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(verify_consistency(&old, &root, &c), Ok(()));
                checked.fetch_add(1, Ordering::SeqCst);
                if size == total {
                    break;
                }
            }
        })
    };
    for (i, batch) in all[1..].chunks(37).enumerate() {
        if i % 8 == 0 {
            let seen = checked.load(Ordering::SeqCst);
            while checked.load(Ordering::SeqCst) == seen && !reader.is_finished() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        tree.append(batch);
        if i % 3 == 0 {
            tree.flush().unwrap_or_else(|e| panic!("{e}"));
        }
    }
    reader.join().unwrap_or_else(|_| panic!("reader panicked"));
    // The owner waited for a fresh check every 8 batches.
    assert!(checked.load(Ordering::SeqCst) >= all[1..].chunks(37).len() as u64 / 8);
    assert_eq!(tree.root(total).ok(), Some(root_of(&all)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any sequence of appends, flushes and crashes leaves a tree equal to the
    /// reference over the leaves that were flushed or are still in memory.
    #[test]
    fn any_history_matches_the_reference(
        steps in prop::collection::vec((0u64..150, any::<bool>(), any::<bool>()), 1..6),
        samples in prop::collection::vec((any::<u64>(), any::<u64>()), 8),
    ) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(TREE_FILE);
        let mut d: Vec<Hash> = Vec::new();
        let mut tree = open(&path);
        for (batch, flush, crash) in steps {
            let more = leaves(d.len() as u64 * 1000 + batch, batch);
            tree.append(&more);
            d.extend(more);
            if flush {
                tree.flush().unwrap_or_else(|e| panic!("{e}"));
            }
            if crash {
                d.truncate(tree.flushed_len() as usize);
                drop(tree);
                tree = open(&path);
            }
            matches_reference(&tree, &d, &samples);
        }
    }
}
