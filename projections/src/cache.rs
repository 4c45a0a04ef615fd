//! A bounded cache of folded state for the projector, so that what a rebuild
//! (or a live read model) holds in memory is set by a byte budget, not by the
//! size of the province.
//!
//! Everything cached here is also in the read model's tables (a dossier's
//! summary in `dossiers`, a stream's chain head in `chain_heads`): a miss
//! costs one indexed read, never a wrong answer, so the cache may forget
//! anything at any time.
//!
//! Two generations stand in for a full LRU list: entries go into the young
//! map; when it has used half the budget the old map is dropped and the
//! young one becomes old; a hit in the old map moves the entry back to the
//! young one. Whatever was used within the last half budget's worth of
//! insertions stays, at a constant cost per operation and no per-entry links.

use std::collections::HashMap;

/// What an entry costs in memory, roughly: the value's heap parts included.
pub(crate) trait Weigh {
    /// Bytes held by the value (its inline size and what it owns on the heap).
    fn weight(&self) -> usize;
}

/// Bytes a map entry costs beyond its key's text, its value and a spare
/// slot: the allocator's rounding of the key's text, the control byte.
const ENTRY_OVERHEAD: usize = 64;

/// A map from stream or dossier identifiers to folded state, bounded by bytes.
#[derive(Debug)]
pub(crate) struct Bounded<V> {
    young: HashMap<String, V>,
    old: HashMap<String, V>,
    young_bytes: usize,
    /// Bytes the young generation may use before it becomes the old one
    /// (half the budget: the two together stay within it).
    generation: usize,
}

impl<V: Weigh> Bounded<V> {
    /// An empty cache within `budget` bytes (at least one entry is always kept).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            young: HashMap::new(),
            old: HashMap::new(),
            young_bytes: 0,
            generation: (budget / 2).max(1),
        }
    }

    fn cost(key: &str, value: &V) -> usize {
        // The slot itself once more: a table is kept between half and seven
        // eighths full, so about one spare slot stands beside each entry.
        key.len() + value.weight() + std::mem::size_of::<(String, V)>() + ENTRY_OVERHEAD
    }

    /// The cached value of `key`, if remembered; a hit keeps it young.
    pub(crate) fn get(&mut self, key: &str) -> Option<&V> {
        if !self.young.contains_key(key) {
            let (k, v) = self.old.remove_entry(key)?;
            self.put(k, v);
        }
        self.young.get(key)
    }

    /// Remembers `value` for `key`, forgetting the least recently used entries
    /// if the budget needs it.
    pub(crate) fn insert(&mut self, key: String, value: V) {
        self.old.remove(&key);
        self.put(key, value);
    }

    fn put(&mut self, key: String, value: V) {
        let cost = Self::cost(&key, &value);
        if let Some(before) = self.young.remove(&key) {
            self.young_bytes = self.young_bytes.saturating_sub(Self::cost(&key, &before));
        }
        if self.young_bytes + cost > self.generation && !self.young.is_empty() {
            // The old generation is forgotten; its map's memory goes with it.
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        self.young_bytes += cost;
        self.young.insert(key, value);
    }

    /// Entries held (both generations).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Bytes held by the entries (both generations), as weighed.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.young
            .iter()
            .chain(self.old.iter())
            .map(|(k, v)| Self::cost(k, v))
            .sum()
    }
}

impl Weigh for (u64, hoso_ledger::Hash) {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for u64 {
        fn weight(&self) -> usize {
            8
        }
    }

    #[test]
    fn stays_within_its_budget_however_many_keys_pass() {
        let mut c = Bounded::<u64>::new(10_000);
        for i in 0..100_000u64 {
            c.insert(format!("dossier-{i:08}"), i);
            assert!(c.bytes() <= 10_000, "{} bytes after {i}", c.bytes());
        }
        // A full generation (half the budget) is always kept, about 40 entries here.
        assert!(c.len() >= 40, "keeps a useful number: {}", c.len());
    }

    #[test]
    fn a_recently_used_entry_survives_a_turn_of_generations() {
        let mut c = Bounded::<u64>::new(2_000);
        c.insert("kept".into(), 1);
        for i in 0..1_000u64 {
            c.insert(format!("k{i}"), i);
            // Used as often as a dossier being folded: it never ages out.
            assert_eq!(c.get("kept"), Some(&1), "after {i}");
        }
        assert_eq!(c.get("k0"), None, "an entry not used since is forgotten");
    }

    #[test]
    fn a_replaced_value_is_the_one_read() {
        let mut c = Bounded::<u64>::new(1_000);
        c.insert("a".into(), 1);
        c.insert("a".into(), 2);
        assert_eq!(c.get("a"), Some(&2));
        for i in 0..6u64 {
            c.insert(format!("k{i}"), i);
        }
        c.insert("a".into(), 3);
        assert_eq!(c.get("a"), Some(&3));
        assert_eq!(c.len(), c.young.len() + c.old.len());
    }
}
