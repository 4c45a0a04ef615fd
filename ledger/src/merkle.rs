//! The Merkle tree over `$all`, as pure math: RFC 9162 §2.1 hashing, inclusion and
//! consistency proofs, their verification, and a compact frontier. No I/O.
//!
//! Leaf `i` is the chain hash of the event at position `i` (positions are dense from
//! 0). Following RFC 9162 §2.1.1, a leaf hashes as `SHA-256(0x00 ‖ event_hash)`, an
//! interior node as `SHA-256(0x01 ‖ left ‖ right)`, the empty tree as `SHA-256("")`,
//! and a tree of `n > 1` leaves splits at the largest power of two below `n`. The
//! domain-separation bytes keep a leaf from ever passing for a node.
//!
//! Every subtree a proof names is either *perfect* (2^level leaves starting at a
//! multiple of 2^level) or runs to the right edge of the tree; a right-edge subtree
//! is the fold of the perfect subtrees that make up its size. So proofs are produced
//! here from one primitive, "the root of perfect subtree (level, index)"
//! ([`inclusion_path_with`], [`consistency_path_with`]): the persisted tree
//! (`crate::tree`) answers it from storage, [`inclusion_proof`] and
//! [`consistency_proof`] from a slice of leaves. Verification ([`verify_inclusion`],
//! [`verify_consistency`]) follows the iterative algorithms of RFC 9162 §2.1.3.2 and
//! §2.1.4.2 and needs nothing but the proof and the roots: it is what an inspector's
//! tool runs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::envelope::Hash;

/// Root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ event_hash)`: the hash of one leaf.
pub fn leaf_hash(event_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(event_hash);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (`n >= 2`): where a tree of `n`
/// leaves splits.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The root of a tree whose leaves are `event_hashes`, straight from the definition
/// (RFC 9162 §2.1.1). The reference the other computations are tested against.
pub fn root_of(event_hashes: &[Hash]) -> Hash {
    match event_hashes {
        [] => empty_root(),
        [one] => leaf_hash(one),
        _ => {
            let k = split_point(event_hashes.len() as u64) as usize;
            node_hash(&root_of(&event_hashes[..k]), &root_of(&event_hashes[k..]))
        }
    }
}

/// The root of a perfect subtree: `event_hashes` must hold a power of two of leaves
/// (so threads can hash aligned chunks of the log in parallel and hand the subtree
/// roots to a [`Frontier`] with [`Frontier::push_perfect`]).
pub fn perfect_root(event_hashes: &[Hash]) -> Result<Hash, RangeError> {
    let n = event_hashes.len();
    if !n.is_power_of_two() {
        return Err(RangeError::NotPerfect { leaves: n as u64 });
    }
    let mut level: Vec<Hash> = event_hashes.iter().map(leaf_hash).collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    Ok(level[0])
}

/// A request the caller made about a tree that the tree cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    LeafOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },
    /// A consistency proof asked from a larger tree to a smaller one.
    #[error("no consistency proof from a tree of {from} leaves to a smaller one of {to}")]
    FromAfterTo {
        /// The older size.
        from: u64,
        /// The newer size.
        to: u64,
    },
    /// A perfect subtree asked of a number of leaves that is not a power of two.
    #[error("{leaves} leaves do not form a perfect subtree (a power of two is needed)")]
    NotPerfect {
        /// Leaves given.
        leaves: u64,
    },
    /// A perfect subtree appended to a frontier whose size is not a multiple of it.
    #[error("a subtree of 2^{level} leaves cannot follow {size} leaves (not aligned)")]
    Misaligned {
        /// Level (log2 of the leaf count) of the subtree.
        level: u32,
        /// The frontier's size.
        size: u64,
    },
    /// Frontier roots that do not match the size they are said to cover.
    #[error("a frontier of {size} leaves has {expected} roots, not {found}")]
    FrontierShape {
        /// The size.
        size: u64,
        /// Roots such a size has (its number of 1 bits).
        expected: u32,
        /// Roots given.
        found: usize,
    },
    /// A size or level whose leaf count does not fit in 64 bits.
    #[error("tree size overflows 64 bits")]
    Overflow,
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof names a leaf at or beyond its tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// Leaf index in the proof.
        index: u64,
        /// Tree size in the proof.
        size: u64,
    },
    /// The proof goes from a larger tree to a smaller one.
    #[error("consistency proof from {from} leaves to fewer ({to})")]
    FromAfterTo {
        /// Older size in the proof.
        from: u64,
        /// Newer size in the proof.
        to: u64,
    },
    /// The path is longer or shorter than the sizes in the proof require.
    #[error("proof path has {found} hashes where {expected} are needed")]
    WrongPathLength {
        /// Hashes the sizes require.
        expected: usize,
        /// Hashes in the proof.
        found: usize,
    },
    /// The path leads to a different root than the one given.
    #[error("the proof leads to root {computed}, not to {expected}")]
    RootMismatch {
        /// The root given (lowercase hex).
        expected: String,
        /// The root the path leads to (lowercase hex).
        computed: String,
    },
    /// A consistency proof's path leads to a different old root than the one given.
    #[error("the proof leads to old root {computed}, not to {expected}")]
    OldRootMismatch {
        /// The old root given (lowercase hex).
        expected: String,
        /// The old root the path leads to (lowercase hex).
        computed: String,
    },
    /// Two trees of the same size (or an empty old tree) with roots that cannot be.
    #[error("a tree of {size} leaves has root {expected}, not {found}")]
    TrivialRootMismatch {
        /// The size both roots claim.
        size: u64,
        /// The root it must have (lowercase hex).
        expected: String,
        /// The root given (lowercase hex).
        found: String,
    },
}

/// Proof that one event is leaf `leaf_index` of the tree of `tree_size` leaves:
/// the sibling hashes from the leaf up to the root (RFC 9162 §2.1.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Position of the event in `$all`.
    pub leaf_index: u64,
    /// Size of the tree the proof is against.
    pub tree_size: u64,
    /// Sibling hashes, leaf level first, as lowercase hex in JSON.
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

/// Proof that the tree of `from_size` leaves is a prefix of the tree of `to_size`
/// leaves (RFC 9162 §2.1.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub from_size: u64,
    /// The newer tree size.
    pub to_size: u64,
    /// The proof's hashes, as lowercase hex in JSON.
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

/// Hashes as arrays of lowercase hex strings (they go into JSON responses and bundle
/// files that people read and other tools parse).
mod hex_hashes {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::envelope::Hash;

    pub fn serialize<S: Serializer>(path: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(path.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                // Lowercase only, so one proof has one spelling (it may be signed or
                // compared as text).
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(D::Error::custom("hash must be lowercase hex"));
                }
                let bytes = hex::decode(s).map_err(D::Error::custom)?;
                Hash::try_from(bytes.as_slice())
                    .map_err(|_| D::Error::custom("hash must be 32 bytes (64 hex digits)"))
            })
            .collect()
    }
}

/// Answers "the root of perfect subtree (level, index)", the one primitive proofs are
/// built from, remembering answers so a right-edge subtree's pieces are fetched once.
struct Roots<F> {
    perfect: F,
    seen: HashMap<(u32, u64), Hash>,
}

impl<F, E> Roots<F>
where
    F: FnMut(u32, u64) -> Result<Hash, E>,
{
    fn new(perfect: F) -> Self {
        Self {
            perfect,
            seen: HashMap::new(),
        }
    }

    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, E> {
        if let Some(h) = self.seen.get(&(level, index)) {
            return Ok(*h);
        }
        let h = (self.perfect)(level, index)?;
        self.seen.insert((level, index), h);
        Ok(h)
    }

    /// The root of leaves `start..end` (non-empty), where `start` is a multiple of a
    /// power of two at least `end - start`: the fold, from the right, of its
    /// perfect pieces, largest first.
    fn range(&mut self, start: u64, end: u64) -> Result<Hash, E> {
        let mut pieces = Vec::new();
        let mut at = start;
        while at < end {
            let fits = 63 - (end - at).leading_zeros();
            let aligned = if at == 0 { 63 } else { at.trailing_zeros() };
            let level = fits.min(aligned);
            pieces.push(self.perfect(level, at >> level)?);
            at += 1 << level;
        }
        let mut pieces = pieces.into_iter().rev();
        let mut root = pieces.next().unwrap_or_else(empty_root);
        for left in pieces {
            root = node_hash(&left, &root);
        }
        Ok(root)
    }

    /// RFC 9162 PATH(m, D[start:end]), appended to `out` leaf level first.
    fn path(&mut self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<(), E> {
        if end - start <= 1 {
            return Ok(());
        }
        let mid = start + split_point(end - start);
        if m < mid {
            self.path(m, start, mid, out)?;
            out.push(self.range(mid, end)?);
        } else {
            self.path(m, mid, end, out)?;
            out.push(self.range(start, mid)?);
        }
        Ok(())
    }

    /// RFC 9162 SUBPROOF(m, D[start:end], whole), appended to `out`.
    fn subproof(
        &mut self,
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), E> {
        if m == end {
            if !whole {
                out.push(self.range(start, end)?);
            }
            return Ok(());
        }
        let mid = start + split_point(end - start);
        if m <= mid {
            self.subproof(m, start, mid, whole, out)?;
            out.push(self.range(mid, end)?);
        } else {
            self.subproof(m, mid, end, false, out)?;
            out.push(self.range(start, mid)?);
        }
        Ok(())
    }
}

/// The root of the first `size` leaves, from the roots of perfect subtrees:
/// `perfect(level, index)` must return the root of leaves
/// `index·2^level .. (index+1)·2^level`. It is asked at most `size.count_ones()` times.
pub fn root_with<E>(
    size: u64,
    perfect: impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Hash, E> {
    if size == 0 {
        return Ok(empty_root());
    }
    Roots::new(perfect).range(0, size)
}

/// The inclusion proof of leaf `leaf_index` in the tree of `tree_size` leaves, from
/// the roots of perfect subtrees (see [`root_with`]); `perfect` is asked O(log n)
/// times, each (level, index) at most once, and only about leaves below `tree_size`.
pub fn inclusion_path_with<E: From<RangeError>>(
    leaf_index: u64,
    tree_size: u64,
    perfect: impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<InclusionProof, E> {
    if leaf_index >= tree_size {
        return Err(RangeError::LeafOutOfRange {
            index: leaf_index,
            size: tree_size,
        }
        .into());
    }
    let mut path = Vec::new();
    Roots::new(perfect).path(leaf_index, 0, tree_size, &mut path)?;
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        path,
    })
}

/// The consistency proof from the tree of `from_size` leaves to the tree of
/// `to_size`, from the roots of perfect subtrees (see [`inclusion_path_with`]).
/// From an empty tree, or to the same size, the path is empty.
pub fn consistency_path_with<E: From<RangeError>>(
    from_size: u64,
    to_size: u64,
    perfect: impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<ConsistencyProof, E> {
    if from_size > to_size {
        return Err(RangeError::FromAfterTo {
            from: from_size,
            to: to_size,
        }
        .into());
    }
    let mut path = Vec::new();
    if from_size > 0 && from_size < to_size {
        Roots::new(perfect).subproof(from_size, 0, to_size, true, &mut path)?;
    }
    Ok(ConsistencyProof {
        from_size,
        to_size,
        path,
    })
}

/// The root of perfect subtree (level, index) of `event_hashes`, or an error if the
/// slice does not hold it.
fn perfect_in(event_hashes: &[Hash], level: u32, index: u64) -> Result<Hash, RangeError> {
    let width = 1u64.checked_shl(level).ok_or(RangeError::Overflow)?;
    let start = index.checked_mul(width).ok_or(RangeError::Overflow)?;
    let end = start.checked_add(width).ok_or(RangeError::Overflow)?;
    let size = event_hashes.len() as u64;
    if end > size {
        return Err(RangeError::LeafOutOfRange {
            index: end - 1,
            size,
        });
    }
    perfect_root(&event_hashes[start as usize..end as usize])
}

/// The inclusion proof of leaf `leaf_index` among all of `event_hashes`.
pub fn inclusion_proof(
    event_hashes: &[Hash],
    leaf_index: u64,
) -> Result<InclusionProof, RangeError> {
    inclusion_path_with(leaf_index, event_hashes.len() as u64, |level, index| {
        perfect_in(event_hashes, level, index)
    })
}

/// The consistency proof from the first `from_size` of `event_hashes` to all of them.
pub fn consistency_proof(
    event_hashes: &[Hash],
    from_size: u64,
) -> Result<ConsistencyProof, RangeError> {
    consistency_path_with(from_size, event_hashes.len() as u64, |level, index| {
        perfect_in(event_hashes, level, index)
    })
}

/// The number of hashes an inclusion proof of `index` in `size` leaves holds
/// (`index < size`).
fn inclusion_path_len(index: u64, size: u64) -> usize {
    // The verifier's walk, without hashing: one hash per step until `s` reaches 0;
    // on the right edge, levels where the node has no sibling are skipped.
    let (mut f, mut s) = (index, size - 1);
    let mut n = 0;
    while s > 0 {
        if f == s && f & 1 == 0 {
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        }
        n += 1;
        f >>= 1;
        s >>= 1;
    }
    n
}

/// Checks that `event_hash` is leaf `proof.leaf_index` of the tree of
/// `proof.tree_size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    event_hash: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), ProofError> {
    let (index, size) = (proof.leaf_index, proof.tree_size);
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Counted first so a wrong length is named as such, not as a root mismatch.
    let expected = inclusion_path_len(index, size);
    if proof.path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            found: proof.path.len(),
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf_hash(event_hash);
    for p in &proof.path {
        if s == 0 {
            // Unreachable after the length check; kept as the RFC's step 4a.
            return Err(ProofError::WrongPathLength {
                expected,
                found: proof.path.len(),
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongPathLength {
            expected,
            found: proof.path.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch {
            expected: hex::encode(root),
            computed: hex::encode(r),
        });
    }
    Ok(())
}

/// Checks that the tree of `proof.from_size` leaves with root `old_root` is a prefix
/// of the tree of `proof.to_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// The RFC defines proofs for `0 < from < to`; the edge cases are settled here with
/// an empty path: from the empty tree (whose root must be [`empty_root`]) every tree
/// follows, and a tree is consistent with itself when the roots are equal.
pub fn verify_consistency(
    old_root: &Hash,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), ProofError> {
    let (from, to) = (proof.from_size, proof.to_size);
    if from > to {
        return Err(ProofError::FromAfterTo { from, to });
    }
    if from == 0 || from == to {
        if !proof.path.is_empty() {
            return Err(ProofError::WrongPathLength {
                expected: 0,
                found: proof.path.len(),
            });
        }
        let (size, must, given) = if from == 0 {
            (0, empty_root(), old_root)
        } else {
            (from, *old_root, new_root)
        };
        if must != *given {
            return Err(ProofError::TrivialRootMismatch {
                size,
                expected: hex::encode(must),
                found: hex::encode(given),
            });
        }
        return Ok(());
    }
    let expected = consistency_path_len(from, to);
    if proof.path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            found: proof.path.len(),
        });
    }
    // Step 2: when `from` is a power of two the old root is itself the first node.
    let mut path = proof.path.iter();
    let first = if from.is_power_of_two() {
        *old_root
    } else {
        match path.next() {
            Some(h) => *h,
            None => {
                return Err(ProofError::WrongPathLength { expected, found: 0 });
            }
        }
    };
    let (mut f, mut s) = (from - 1, to - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in path {
        if s == 0 {
            return Err(ProofError::WrongPathLength {
                expected,
                found: proof.path.len(),
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongPathLength {
            expected,
            found: proof.path.len(),
        });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            expected: hex::encode(old_root),
            computed: hex::encode(fr),
        });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch {
            expected: hex::encode(new_root),
            computed: hex::encode(sr),
        });
    }
    Ok(())
}

/// The number of hashes a consistency proof from `from` to `to` holds
/// (`0 < from < to`), by the verifier's walk without hashing.
fn consistency_path_len(from: u64, to: u64) -> usize {
    let (mut f, mut s) = (from - 1, to - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // The first element (the old tree's node at the start of the walk) is given
    // unless `from` is a power of two, where it is the old root itself.
    let mut n = usize::from(!from.is_power_of_two());
    while s > 0 {
        if f == s && f & 1 == 0 {
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        }
        n += 1;
        f >>= 1;
        s >>= 1;
    }
    n
}

/// The right edge of a tree: the roots of its perfect subtrees, largest (leftmost)
/// first, one per 1 bit of the size. O(log n) space; appending a leaf costs O(1)
/// hashes amortised and the root O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    roots: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frontier from the roots of a tree's perfect subtrees, largest first (one per
    /// 1 bit of `size`, e.g. read back from storage).
    pub fn from_roots(size: u64, roots: Vec<Hash>) -> Result<Self, RangeError> {
        if roots.len() != size.count_ones() as usize {
            return Err(RangeError::FrontierShape {
                size,
                expected: size.count_ones(),
                found: roots.len(),
            });
        }
        Ok(Self { size, roots })
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree roots, largest first.
    pub fn roots(&self) -> &[Hash] {
        &self.roots
    }

    /// Appends one leaf.
    pub fn push(&mut self, event_hash: &Hash) {
        self.push_observed(event_hash, |_, _, _| {});
    }

    /// Appends one leaf, telling `completed(level, index, root)` about every perfect
    /// subtree it completes: the leaf itself (level 0), then each merge above it.
    pub fn push_observed(&mut self, event_hash: &Hash, completed: impl FnMut(u32, u64, &Hash)) {
        let leaf = leaf_hash(event_hash);
        // Size 2^64 - 1 is beyond any log; saturating keeps this total.
        if self.size == u64::MAX {
            return;
        }
        self.merge_in(0, leaf, completed);
    }

    /// Appends a whole perfect subtree of 2^`level` leaves given by its root (hashed
    /// elsewhere, e.g. by [`perfect_root`] on another thread). The frontier's size
    /// must be a multiple of 2^`level`.
    pub fn push_perfect(&mut self, level: u32, root: Hash) -> Result<(), RangeError> {
        let width = 1u64.checked_shl(level).ok_or(RangeError::Overflow)?;
        if !self.size.is_multiple_of(width) {
            return Err(RangeError::Misaligned {
                level,
                size: self.size,
            });
        }
        self.size.checked_add(width).ok_or(RangeError::Overflow)?;
        self.merge_in(level, root, |_, _, _| {});
        Ok(())
    }

    /// Adds a perfect subtree at `level` (the size is a multiple of 2^level) and
    /// merges it with equal-sized neighbours on its left.
    fn merge_in(&mut self, level: u32, root: Hash, mut completed: impl FnMut(u32, u64, &Hash)) {
        let at = self.size;
        let width = 1u64 << level.min(63);
        let mut level = level;
        let mut h = root;
        completed(level, at >> level, &h);
        // A 1 bit of the size at this level is an equal-sized subtree on the left.
        while level < 63 && (at >> level) & 1 == 1 {
            let Some(left) = self.roots.pop() else { break };
            h = node_hash(&left, &h);
            level += 1;
            completed(level, at >> level, &h);
        }
        self.roots.push(h);
        self.size = at.saturating_add(width);
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut it = self.roots.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| Sha256::digest((i as u64).to_be_bytes()).into())
            .collect()
    }

    fn hx(s: &str) -> Hash {
        Hash::try_from(hex::decode(s).unwrap_or_default().as_slice()).unwrap_or([0xff; 32])
    }

    #[test]
    fn known_roots_for_small_trees() {
        // Computed outside Rust with `sha256sum` over the literal byte strings.
        assert_eq!(
            root_of(&[]),
            hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        let (a, b, c) = ([0u8; 32], [1u8; 32], [2u8; 32]);
        assert_eq!(
            root_of(&[a]),
            hx("7f9c9e31ac8256ca2f258583df262dbc7d6f68f2a03043d5c99a4ae5a7396ce9")
        );
        assert_eq!(
            root_of(&[a, b]),
            hx("28fb81e496897e0ce886f08602392e9239b65c659041e5202163e58ad898f444")
        );
        assert_eq!(
            root_of(&[a, b, c]),
            hx("ba8d94b7fbcecae7b81c4c80574fe24734a6917bf9c1ecd66ff3e0c34ead4620")
        );
    }

    #[test]
    fn seven_leaves_split_four_two_one() {
        let d = leaves(7);
        let l: Vec<Hash> = d.iter().map(leaf_hash).collect();
        let left = node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &l[3]));
        let right = node_hash(&node_hash(&l[4], &l[5]), &l[6]);
        assert_eq!(root_of(&d), node_hash(&left, &right));
        // The leaf and node prefixes keep one from passing for the other.
        assert_ne!(leaf_hash(&l[0]), node_hash(&l[0], &l[1]));
    }

    #[test]
    fn perfect_root_needs_a_power_of_two() {
        let d = leaves(8);
        assert_eq!(perfect_root(&d), Ok(root_of(&d)));
        assert_eq!(
            perfect_root(&d[..6]),
            Err(RangeError::NotPerfect { leaves: 6 })
        );
        assert_eq!(perfect_root(&[]), Err(RangeError::NotPerfect { leaves: 0 }));
    }

    #[test]
    fn known_proof_shapes() {
        // RFC 9162 §2.1.5's example tree of 7 leaves: the proof for d0 is [b, h, l]
        // (sibling leaf, the pair c-d, the right subtree of 3).
        let d = leaves(7);
        let l: Vec<Hash> = d.iter().map(leaf_hash).collect();
        let p = inclusion_proof(&d, 0).unwrap_or_else(|e| panic!("{e}"));
        let right = node_hash(&node_hash(&l[4], &l[5]), &l[6]);
        assert_eq!(p.path, vec![l[1], node_hash(&l[2], &l[3]), right]);
        // Its consistency example: from 3 to 7 is [c, d, g, l].
        let c = consistency_proof(&d, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.path,
            vec![l[2], l[3], node_hash(&l[0], &l[1]), right],
            "PROOF(3, D[7])"
        );
        // From 4 to 7 is [l] alone: the old root is the left subtree.
        let c = consistency_proof(&d, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.path, vec![right]);
    }

    #[test]
    fn proofs_serialise_as_lowercase_hex() {
        let d = leaves(3);
        let p = inclusion_proof(&d, 2).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["leaf_index"], 2);
        assert_eq!(json["tree_size"], 3);
        assert_eq!(json["path"][0], hex::encode(p.path[0]));
        let back: InclusionProof =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, p);
        let mut upper = json.clone();
        upper["path"][0] = serde_json::Value::String(hex::encode_upper(p.path[0]));
        assert!(serde_json::from_value::<InclusionProof>(upper).is_err());
        let mut short = json;
        short["path"][0] = serde_json::Value::String("abcd".into());
        assert!(serde_json::from_value::<InclusionProof>(short).is_err());
    }

    #[test]
    fn trivial_consistency_cases() {
        let d = leaves(5);
        let r = root_of(&d);
        let same = consistency_proof(&d, 5).unwrap_or_else(|e| panic!("{e}"));
        assert!(same.path.is_empty());
        assert_eq!(verify_consistency(&r, &r, &same), Ok(()));
        assert!(verify_consistency(&r, &root_of(&d[..4]), &same).is_err());
        let from_empty = consistency_proof(&d, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verify_consistency(&empty_root(), &r, &from_empty), Ok(()));
        assert!(matches!(
            verify_consistency(&r, &r, &from_empty),
            Err(ProofError::TrivialRootMismatch { .. })
        ));
        assert_eq!(
            consistency_proof(&d, 6),
            Err(RangeError::FromAfterTo { from: 6, to: 5 })
        );
        let backwards = ConsistencyProof {
            from_size: 6,
            to_size: 5,
            path: vec![],
        };
        assert_eq!(
            verify_consistency(&r, &r, &backwards),
            Err(ProofError::FromAfterTo { from: 6, to: 5 })
        );
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let d = leaves(4);
        assert_eq!(
            inclusion_proof(&d, 4),
            Err(RangeError::LeafOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            inclusion_proof(&[], 0),
            Err(RangeError::LeafOutOfRange { index: 0, size: 0 })
        );
        let p = InclusionProof {
            leaf_index: 4,
            tree_size: 4,
            path: vec![],
        };
        assert_eq!(
            verify_inclusion(&d[0], &p, &root_of(&d)),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
    }

    #[test]
    fn frontier_accepts_perfect_subtrees() {
        let d = leaves(13);
        let mut f = Frontier::new();
        f.push_perfect(3, root_of(&d[..8]))
            .unwrap_or_else(|e| panic!("{e}"));
        f.push_perfect(2, root_of(&d[8..12]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            f.push_perfect(3, root_of(&d[12..13])),
            Err(RangeError::Misaligned { level: 3, size: 12 })
        );
        f.push(&d[12]);
        assert_eq!(f.size(), 13);
        assert_eq!(f.root(), root_of(&d));
        let again = Frontier::from_roots(13, f.roots().to_vec()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, f);
        assert!(Frontier::from_roots(13, vec![]).is_err());
    }

    fn tamper(h: &mut Hash) {
        h[0] ^= 1;
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn every_inclusion_proof_verifies_and_tampering_fails(n in 1usize..=300) {
            // One leaf more than the tree, for the root of a tree one larger.
            let ext = leaves(n + 1);
            let d = &ext[..n];
            let root = root_of(d);
            for i in 0..n {
                let p = inclusion_proof(d, i as u64).unwrap_or_else(|e| panic!("{e}"));
                prop_assert_eq!(verify_inclusion(&d[i], &p, &root), Ok(()));
                let mut other = d[i];
                tamper(&mut other);
                prop_assert!(verify_inclusion(&other, &p, &root).is_err());
                for k in 0..p.path.len() {
                    let mut bad = p.clone();
                    tamper(&mut bad.path[k]);
                    prop_assert!(verify_inclusion(&d[i], &bad, &root).is_err());
                }
                let mut longer = p.clone();
                longer.path.push(root);
                let long = matches!(verify_inclusion(&d[i], &longer, &root), Err(ProofError::WrongPathLength { .. }));
                prop_assert!(long);
                if let Some(last) = p.path.len().checked_sub(1) {
                    let mut shorter = p.clone();
                    shorter.path.truncate(last);
                    let short = matches!(verify_inclusion(&d[i], &shorter, &root), Err(ProofError::WrongPathLength { .. }));
                    prop_assert!(short);
                }
                if n > 1 {
                    let moved = InclusionProof { leaf_index: (i as u64 + 1) % n as u64, ..p.clone() };
                    prop_assert!(verify_inclusion(&d[i], &moved, &root).is_err());
                }
                // The size is bound by the tree head the root comes from: the proof
                // relabelled to another size fails against that size's root.
                for size in [n + 1, n - 1] {
                    let resized = InclusionProof { tree_size: size as u64, ..p.clone() };
                    prop_assert!(verify_inclusion(&d[i], &resized, &root_of(&ext[..size])).is_err());
                }
            }
        }

        #[test]
        fn every_consistency_proof_verifies_and_tampering_fails(n in 1usize..=300) {
            let ext = leaves(n + 1);
            let d = &ext[..n];
            let new_root = root_of(d);
            let mut f = Frontier::new();
            for m in 0..=n {
                let old_root = root_of(&d[..m]);
                prop_assert_eq!(f.root(), old_root);
                prop_assert_eq!(f.size(), m as u64);
                if m < n {
                    f.push(&d[m]);
                }
                let p = consistency_proof(d, m as u64).unwrap_or_else(|e| panic!("{e}"));
                prop_assert_eq!(verify_consistency(&old_root, &new_root, &p), Ok(()));
                let mut bad_old = old_root;
                tamper(&mut bad_old);
                prop_assert!(verify_consistency(&bad_old, &new_root, &p).is_err());
                let mut bad_new = new_root;
                tamper(&mut bad_new);
                // From the empty tree there is nothing to check the new root against.
                prop_assert!(m == 0 || verify_consistency(&old_root, &bad_new, &p).is_err());
                for k in 0..p.path.len() {
                    let mut bad = p.clone();
                    tamper(&mut bad.path[k]);
                    prop_assert!(verify_consistency(&old_root, &new_root, &bad).is_err());
                }
                let mut longer = p.clone();
                longer.path.push(new_root);
                prop_assert!(verify_consistency(&old_root, &new_root, &longer).is_err());
                if let Some(last) = p.path.len().checked_sub(1) {
                    let mut shorter = p.clone();
                    shorter.path.truncate(last);
                    prop_assert!(verify_consistency(&old_root, &new_root, &shorter).is_err());
                }
                // Relabelled sizes fail against the roots of those sizes.
                let mut other_sizes = vec![(m + 1, n), (m, n + 1), (m + 1, n + 1)];
                if m > 0 {
                    other_sizes.push((m - 1, n));
                }
                for (from, to) in other_sizes {
                    // An empty path is the true proof from an empty tree or between
                    // equal sizes; relabelling into those proves nothing false.
                    if p.path.is_empty() && (from == 0 || from == to) {
                        continue;
                    }
                    let resized = ConsistencyProof { from_size: from as u64, to_size: to as u64, ..p.clone() };
                    let (a, b) = (root_of(&ext[..from.min(n + 1)]), root_of(&ext[..to]));
                    prop_assert!(verify_consistency(&a, &b, &resized).is_err(), "{} -> {} as {} -> {}", m, n, from, to);
                }
            }
        }

        #[test]
        fn root_with_perfect_pieces_matches_reference(n in 0usize..=300) {
            let d = leaves(n);
            let r = root_with::<RangeError>(n as u64, |level, index| perfect_in(&d, level, index));
            prop_assert_eq!(r, Ok(root_of(&d)));
        }
    }
}
