//! The identities one query has returned, in about 4 bytes each: each record id's hash folded
//! to 32 bits, in a sorted array searched by binary search and a small hash set of the newest
//! that is merged into it, in place, each time it fills.
//!
//! 32 bits are enough for what they tell (whether a page brought records the query had not
//! returned): a new record is taken for one met before only when its hash matches one of the
//! query's, about 1 in 10,000 at 420,000 (a window of 10,000,000 records a day), and a page
//! is progress when any one of its records is new. Dedup itself uses 128-bit keys (dedup/).

use std::collections::HashSet;

/// Hashes held in the hash set before they are merged into the sorted array. A merge moves
/// the array's tail once, so `n` hashes cost about `n² / (2 × RECENT)` moves in all: at a
/// million, 30 million, against the 18 MiB (and twice that while it grew) a `HashSet<u64>`
/// of them took.
const RECENT: usize = 1 << 14;

/// A 64-bit hash folded to 32 bits (both halves count).
fn fold(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

#[derive(Debug, Default)]
pub struct Identities {
    /// Sorted, no hash twice, none of them in `recent`.
    sorted: Vec<u32>,
    recent: HashSet<u32>,
}

impl Identities {
    /// Hashes held.
    pub fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    /// Adds a record id's 64-bit hash (folded to 32 bits); true when it was not held yet.
    pub fn insert(&mut self, hash: u64) -> bool {
        let hash = fold(hash);
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
        let mut add: Vec<u32> = self.recent.drain().collect();
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

    /// Against a plain `HashSet` of the folded hashes over several merges, with repeats old
    /// and new.
    #[test]
    fn holds_what_a_hash_set_holds_across_merges() {
        let mut ours = Identities::default();
        let mut plain = HashSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in 0..(5 * RECENT + 77) {
            // A small range, so that a hash comes again both before and after its merge.
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let h = if n % 3 == 0 { (x >> 33) % (3 * RECENT as u64) } else { x };
            assert_eq!(ours.insert(h), plain.insert(fold(h)), "insert #{n} of {h}");
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
