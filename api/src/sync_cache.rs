//! The verified item digests of the last few sealed batches served, so that
//! a batch served a page at a time is rendered whole once, not once per page
//! (issue 15; `docs/sync-format.md` §7).
//!
//! A [`VerifiedBatch`] is built only from digests whose Merkle root is the
//! sealed statement's `merkle_root` ([`VerifiedBatch::verify`]); it keeps
//! each item's log position (so a page's approvals are read by their own
//! range), its digest, and every level of the RFC 9162 tree over them, so
//! that any item's inclusion proof under the whole batch's root costs
//! `O(log n)` lookups and no hashing. A page rendered later must hash to the
//! digests verified here ([`VerifiedBatch::check_page`]): a profile changed
//! after the batch was cached is refused as it would have been before.
//!
//! Memory is about 100 bytes per item (position, digest and the tree's
//! ~2 nodes per leaf): 10 MB for a 100,000-item month, 40 MB for the
//! [`CAPACITY`] batches kept. Documents are never kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use hoso_ledger::merkle::{self, InclusionProof, RangeError};
use hoso_sync::{BatchStatement, Hash};

/// Batches kept per API node: the consumer pulls the newest one or two;
/// a few more cover a catch-up after an outage.
pub const CAPACITY: usize = 4;

/// Why digests are not a sealed batch's, or a page not the batch verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    /// Another number of items than the statement's.
    #[error("batch {sequence} sealed {sealed} items; the log now gives {found}")]
    Count {
        /// Batch sequence.
        sequence: u64,
        /// The statement's `item_count`.
        sealed: u64,
        /// Items given.
        found: u64,
    },
    /// The digests do not give the sealed root.
    #[error("batch {sequence}: the items' digests do not give the sealed Merkle root")]
    Root {
        /// Batch sequence.
        sequence: u64,
    },
    /// An item rendered for a page is not the one verified.
    #[error(
        "batch {sequence}: item {index} no longer hashes to the digest verified against the sealed root"
    )]
    Item {
        /// Batch sequence.
        sequence: u64,
        /// The item's index in the batch.
        index: u64,
    },
    /// A page reaching past the batch's last item.
    #[error("batch {sequence} has {count} items; no item {index}")]
    OutOfRange {
        /// Batch sequence.
        sequence: u64,
        /// Its item count.
        count: u64,
        /// The first index past it asked for.
        index: u64,
    },
}

/// A sealed batch's items, verified against its sealed root.
#[derive(Debug)]
pub struct VerifiedBatch {
    sequence: u64,
    statement_digest: Hash,
    positions: Vec<u64>,
    digests: Vec<Hash>,
    /// `levels[0]` holds the leaf hashes; `levels[k][j]` the root of the
    /// perfect subtree over leaves `j·2^k .. (j+1)·2^k`, for the complete
    /// ones only.
    levels: Vec<Vec<Hash>>,
}

impl VerifiedBatch {
    /// The items of the batch sealed with `statement` (whose digest is
    /// `statement_digest`): their log positions and digests, in batch order.
    /// Refused unless there are `item_count` of them and their root is the
    /// sealed `merkle_root`.
    pub fn verify(
        statement: &BatchStatement,
        statement_digest: Hash,
        positions: Vec<u64>,
        digests: Vec<Hash>,
    ) -> Result<Self, Unverified> {
        let sequence = statement.sequence;
        if digests.len() as u64 != statement.item_count || positions.len() != digests.len() {
            return Err(Unverified::Count {
                sequence,
                sealed: statement.item_count,
                found: digests.len().min(positions.len()) as u64,
            });
        }
        let mut levels = vec![digests.iter().map(merkle::leaf_hash).collect::<Vec<_>>()];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let up = below
                .chunks_exact(2)
                .map(|pair| merkle::node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(up);
        }
        let batch = Self {
            sequence,
            statement_digest,
            positions,
            digests,
            levels,
        };
        let size = batch.item_count();
        let root = merkle::root_with(size, |level, index| batch.perfect(level, index));
        if root.ok() != Some(statement.merkle_root) {
            return Err(Unverified::Root { sequence });
        }
        Ok(batch)
    }

    /// The batch's sequence.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The digest of the statement verified against.
    pub fn statement_digest(&self) -> &Hash {
        &self.statement_digest
    }

    /// Number of items.
    pub fn item_count(&self) -> u64 {
        self.digests.len() as u64
    }

    /// Log position of item `index`'s approval.
    pub fn position(&self, index: u64) -> Option<u64> {
        self.positions.get(usize::try_from(index).ok()?).copied()
    }

    /// The inclusion proof of item `index` under the batch's root.
    pub fn proof(&self, index: u64) -> Result<InclusionProof, Unverified> {
        merkle::inclusion_path_with(index, self.item_count(), |level, i| self.perfect(level, i))
            .map_err(|_| self.out_of_range(index))
    }

    /// Checks that `digests`, freshly computed for the items from `first`
    /// on, are the digests verified: the first that is not is named.
    pub fn check_page(&self, first: u64, digests: &[Hash]) -> Result<(), Unverified> {
        let start = usize::try_from(first).map_err(|_| self.out_of_range(first))?;
        let end = start.saturating_add(digests.len());
        let verified = self
            .digests
            .get(start..end)
            .ok_or_else(|| self.out_of_range(end as u64))?;
        match verified.iter().zip(digests).position(|(v, d)| v != d) {
            None => Ok(()),
            Some(i) => Err(Unverified::Item {
                sequence: self.sequence,
                index: first + i as u64,
            }),
        }
    }

    fn out_of_range(&self, index: u64) -> Unverified {
        Unverified::OutOfRange {
            sequence: self.sequence,
            count: self.item_count(),
            index,
        }
    }

    fn perfect(&self, level: u32, index: u64) -> Result<Hash, RangeError> {
        usize::try_from(level)
            .ok()
            .and_then(|l| self.levels.get(l))
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(RangeError::LeafOutOfRange {
                index,
                size: self.item_count(),
            })
    }
}

/// The last [`CAPACITY`] batches verified, most recently used last.
#[derive(Debug)]
pub struct DigestCache {
    capacity: usize,
    batches: Mutex<VecDeque<Arc<VerifiedBatch>>>,
    /// Held while a batch is rendered whole to fill the cache, so that
    /// requests arriving together render it once, not once each.
    filling: tokio::sync::Mutex<()>,
}

impl Default for DigestCache {
    fn default() -> Self {
        Self::new(CAPACITY)
    }
}

impl DigestCache {
    /// A cache keeping `capacity` batches (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            batches: Mutex::new(VecDeque::new()),
            filling: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits for any filling under way; hold the guard while filling, and
    /// look in the cache again once it is held.
    pub async fn filling(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.filling.lock().await
    }

    /// Batch `sequence` as verified against the statement whose digest is
    /// `statement_digest`, if kept.
    pub fn get(&self, sequence: u64, statement_digest: &Hash) -> Option<Arc<VerifiedBatch>> {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        let at = batches
            .iter()
            .position(|b| b.sequence == sequence && &b.statement_digest == statement_digest)?;
        let b = batches.remove(at)?;
        batches.push_back(b.clone());
        Some(b)
    }

    /// Keeps `batch`, in place of the same batch kept before, dropping the
    /// least recently used one beyond the capacity.
    pub fn insert(&self, batch: Arc<VerifiedBatch>) {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batches.retain(|b| b.sequence != batch.sequence);
        batches.push_back(batch);
        while batches.len() > self.capacity {
            batches.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use hoso_sync::Month;

    fn digests(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&(i as u64).to_be_bytes());
                h[31] = 0x5a;
                h
            })
            .collect()
    }

    fn statement(sequence: u64, digests: &[Hash]) -> BatchStatement {
        BatchStatement {
            format: hoso_sync::STATEMENT_FORMAT.to_owned(),
            province: "binh-thuan".to_owned(),
            sequence,
            month: Month::new(2026, 3).unwrap(),
            from_position: 0,
            to_position: 1_000,
            item_count: digests.len() as u64,
            merkle_root: hoso_sync::root_of_digests(digests),
            previous_digest: [0; 32],
        }
    }

    fn verified(sequence: u64, n: usize) -> VerifiedBatch {
        let d = digests(n);
        let positions = (0..n as u64).map(|i| 10 + 3 * i).collect();
        VerifiedBatch::verify(&statement(sequence, &d), [sequence as u8; 32], positions, d).unwrap()
    }

    #[test]
    fn every_proof_is_the_one_computed_from_all_the_digests() {
        // Every tree shape up to 70 leaves: each size's own mix of perfect
        // and ragged subtrees.
        for n in 0usize..70 {
            let b = verified(1, n);
            let d = digests(n);
            for i in 0..n as u64 {
                assert_eq!(
                    Some(b.proof(i).unwrap()),
                    hoso_sync::inclusion_proof(&d, i),
                    "{i} of {n}"
                );
            }
            assert!(matches!(
                b.proof(n as u64),
                Err(Unverified::OutOfRange { .. })
            ));
        }
    }

    #[test]
    fn digests_that_do_not_give_the_sealed_root_or_count_are_refused() {
        let d = digests(5);
        let st = statement(2, &d);
        let mut other = d.clone();
        other[3][0] ^= 1;
        assert_eq!(
            VerifiedBatch::verify(&st, [0; 32], vec![1; 5], other).unwrap_err(),
            Unverified::Root { sequence: 2 }
        );
        assert_eq!(
            VerifiedBatch::verify(&st, [0; 32], vec![1; 4], d[..4].to_vec()).unwrap_err(),
            Unverified::Count {
                sequence: 2,
                sealed: 5,
                found: 4
            }
        );
        let empty = statement(3, &[]);
        let b = VerifiedBatch::verify(&empty, [0; 32], Vec::new(), Vec::new()).unwrap();
        assert_eq!(b.item_count(), 0);
        assert_eq!(b.position(0), None);
    }

    #[test]
    fn a_page_that_no_longer_hashes_to_the_verified_digests_names_its_item() {
        let b = verified(4, 9);
        let d = digests(9);
        assert_eq!(b.check_page(3, &d[3..7]), Ok(()));
        assert_eq!(b.position(3), Some(19));
        let mut changed = d[3..7].to_vec();
        changed[2][5] ^= 0x80;
        assert_eq!(
            b.check_page(3, &changed),
            Err(Unverified::Item {
                sequence: 4,
                index: 5
            })
        );
        assert!(matches!(
            b.check_page(7, &d[..3]),
            Err(Unverified::OutOfRange { .. })
        ));
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used_batches_by_statement() {
        let cache = DigestCache::new(2);
        for n in 1..=3u64 {
            cache.insert(Arc::new(verified(n, n as usize)));
            // Batch 1 is used again after each insertion but the first.
            if n > 1 {
                assert!(cache.get(1, &[1; 32]).is_some());
            }
        }
        assert!(cache.get(2, &[2; 32]).is_none(), "least recently used");
        assert!(cache.get(3, &[3; 32]).is_some());
        assert!(cache.get(1, &[1; 32]).is_some());
        // Another statement under the same sequence is not this batch.
        assert!(cache.get(1, &[9; 32]).is_none());
        cache.insert(Arc::new(verified(1, 4)));
        assert_eq!(cache.get(1, &[1; 32]).unwrap().item_count(), 4);
        assert!(cache.get(3, &[3; 32]).is_some());
    }
}
