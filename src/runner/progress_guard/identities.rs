//! The identities (64-bit hashes of record ids) one query has returned, in about 8 bytes each:
//! a sorted array searched by binary search, and a small hash set of the newest that is merged
//! into it, in place, each time it fills.

use std::collections::HashSet;

/// Hashes held in the hash set before they are merged into the sorted array. A merge moves
/// the array's tail once, so `n` hashes cost about `n² / (2 × RECENT)` moves in all: at a
/// million, 30 million, against the 18 MiB (and twice that while it grew) a `HashSet<u64>`
/// of them took.
const RECENT: usize = 1 << 14;

#[derive(Debug, Default)]
pub struct Identities {
    /// Sorted, no hash twice, none of them in `recent`.
    sorted: Vec<u64>,
    recent: HashSet<u64>,
}

impl Identities {
    /// Hashes held.
    pub fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    /// Adds a hash; true when it was not held yet.
    pub fn insert(&mut self, hash: u64) -> bool {
        if self.sorted.binary_search(&hash).is_ok() || !self.recent.insert(hash) {
            return false;
        }
        if self.recent.len() >= RECENT {
            self.merge();
        }
        true
    }

    pub fn clear(&mut self) {
        self.sorted = Vec::new();
        self.recent = HashSet::new();
    }

    /// Moves the hash set into the array: its hashes sorted, then both merged from the back
    /// into the array grown by exactly their number.
    fn merge(&mut self) {
        let mut add: Vec<u64> = self.recent.drain().collect();
        add.sort_unstable();
        let old = self.sorted.len();
        self.sorted.reserve_exact(add.len());
        self.sorted.resize(old + add.len(), 0);
        let (mut i, mut k) = (old, self.sorted.len());
        while let Some(&a) = add.last() {
            k -= 1;
            if i > 0 && self.sorted[i - 1] > a {
                self.sorted[k] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[k] = a;
                add.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain `HashSet` over several merges, with repeats old and new.
    #[test]
    fn holds_what_a_hash_set_holds_across_merges() {
        let mut ours = Identities::default();
        let mut plain = HashSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in 0..(5 * RECENT + 77) {
            // A small range, so that a hash comes again both before and after its merge.
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let h = if n % 3 == 0 { (x >> 33) % (3 * RECENT as u64) } else { x };
            assert_eq!(ours.insert(h), plain.insert(h), "insert #{n} of {h}");
            assert_eq!(ours.len(), plain.len());
        }
        assert!(ours.sorted.len() >= 3 * RECENT, "merged {} times", ours.sorted.len() / RECENT);
        assert!(ours.sorted.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(ours.recent.iter().all(|h| ours.sorted.binary_search(h).is_err()));
        ours.clear();
        assert_eq!(ours.len(), 0);
        assert!(ours.insert(1) && !ours.insert(1));
    }
}
