//! Dedup by record id across the overlap: the ids of records at or after the resume point
//! minus one more overlap (by their latest sighting, so that an id reused later is still
//! known), and nothing older, so the state stays about as small as the overlap region.
//! What changed since the last commit is kept apart, for the journal (journal.rs) to append.
//!
//! An id is held as a 128-bit key (24 bytes with its time, where the id itself took about
//! 80): the 64-bit digest reconciliation keeps (digests/), then a second, independent 64-bit
//! hash. The ids themselves are kept only for a checkpoint that holds them (a fleet's, in the
//! coordination store); the journal has every id it needs as text.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};

/// An id's key: its digest (the reconciliation digests' own) and a second hash of it.
pub type Key = u128;

/// The key of `id`.
pub fn key(id: &str) -> Key {
    let mut second = DefaultHasher::new();
    second.write(id.as_bytes());
    (u128::from(super::digests::digest(id)) << 64) | u128::from(second.finish())
}

/// The reconciliation digest within a key.
pub fn digest_of(key: Key) -> u64 {
    (key >> 64) as u64
}

#[derive(Debug, Default, Clone)]
pub struct Dedup {
    /// key → record time (Unix ms).
    seen: HashMap<Key, i64>,
    /// Ids remembered, or sighted later, since the last [`Dedup::take_changes`].
    changes: Vec<(String, i64)>,
    /// The ids themselves, when they are to be listed ([`Dedup::entries`]).
    ids: Option<HashMap<Key, String>>,
}

impl Dedup {
    /// An empty set; `keep_ids` keeps the ids themselves, to list them.
    pub fn new(keep_ids: bool) -> Self {
        Dedup { ids: keep_ids.then(HashMap::new), ..Dedup::default() }
    }

    pub fn from_entries(entries: impl IntoIterator<Item = (String, i64)>, keep_ids: bool) -> Self {
        let mut d = Dedup::new(keep_ids);
        d.extend(entries);
        d
    }

    /// Adds ids already stored (in a checkpoint or a journal): not changes; an id listed again
    /// with a later time keeps the latest.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = (String, i64)>) {
        for (id, t) in entries {
            self.load(id, t);
        }
    }

    /// Adds one id already stored.
    pub fn load(&mut self, id: String, t: i64) {
        let k = key(&id);
        let e = self.seen.entry(k).or_insert(t);
        *e = (*e).max(t);
        if let Some(ids) = &mut self.ids {
            ids.entry(k).or_insert(id);
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains_key(&key(id))
    }

    /// The latest time `id` was sighted at, if it is held.
    pub fn latest(&self, id: &str) -> Option<i64> {
        self.seen.get(&key(id)).copied()
    }

    /// Is `id` already delivered? A sighting at a later time (the same id again, perhaps with
    /// other content) keeps it remembered for as long as a read can return that sighting.
    pub fn sighted(&mut self, id: &str, time_ms: i64) -> bool {
        match self.seen.get_mut(&key(id)) {
            Some(t) => {
                if time_ms > *t {
                    *t = time_ms;
                    self.changes.push((id.to_string(), time_ms));
                }
                true
            }
            None => false,
        }
    }

    /// Remembers `id`; false if it was already known.
    pub fn insert(&mut self, id: &str, time_ms: i64) -> bool {
        let k = key(id);
        if self.seen.contains_key(&k) {
            return false;
        }
        self.seen.insert(k, time_ms);
        if let Some(ids) = &mut self.ids {
            ids.insert(k, id.to_string());
        }
        self.changes.push((id.to_string(), time_ms));
        true
    }

    /// What was remembered since the last call (each id with its latest time, in order).
    pub fn take_changes(&mut self) -> Vec<(String, i64)> {
        std::mem::take(&mut self.changes)
    }

    /// Forgets ids of records before `from_ms`: no query will return them again.
    pub fn prune(&mut self, from_ms: i64) {
        self.drain_before(from_ms);
    }

    /// Forgets ids of records before `from_ms` and returns their reconciliation digests, with
    /// their times (16 bytes each, in a list sized once: a window of a busy tenant hands over
    /// hundreds of thousands).
    pub fn drain_before(&mut self, from_ms: i64) -> Vec<(u64, i64)> {
        let mut old = Vec::with_capacity(self.seen.values().filter(|t| **t < from_ms).count());
        self.seen.retain(|k, t| {
            let keep = *t >= from_ms;
            if !keep {
                old.push((digest_of(*k), *t));
            }
            keep
        });
        if let Some(ids) = &mut self.ids {
            ids.retain(|k, _| self.seen.contains_key(k));
        }
        old
    }

    /// The same ids at the same times (what was changed since the last commit aside).
    pub fn same_ids(&self, other: &Dedup) -> bool {
        self.seen == other.seen
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Entries sorted by time then id (stable state files); empty unless the ids are kept.
    pub fn entries(&self) -> Vec<(String, i64)> {
        let Some(ids) = &self.ids else { return Vec::new() };
        let mut v: Vec<(String, i64)> =
            ids.iter().filter_map(|(k, id)| Some((id.clone(), *self.seen.get(k)?))).collect();
        v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_repeats_and_forgets_old_ids() {
        let mut d = Dedup::new(true);
        assert!(d.insert("a", 10));
        assert!(d.insert("b", 20));
        assert!(!d.insert("a", 10));
        assert!(d.contains("b"));
        d.prune(15);
        assert!(!d.contains("a") && d.contains("b"));
        assert_eq!(d.len(), 1);
        assert!(d.insert("a", 10), "an id older than the overlap is new again (it is never re-read)");
        // The same id seen again later stays known as long as that later sighting can be read.
        assert!(d.sighted("a", 30) && !d.sighted("c", 30));
        d.prune(25);
        assert!(d.contains("a"));
        d.insert("a", 10);
        let restored = Dedup::from_entries(d.entries(), true);
        assert!(restored.same_ids(&d));
        assert_eq!(d.entries(), vec![("a".to_string(), 30)]);
        // An id listed again with a later time (a journal) keeps the latest.
        let merged = Dedup::from_entries([("x".to_string(), 5), ("x".to_string(), 9), ("x".to_string(), 7)], true);
        assert_eq!(merged.entries(), vec![("x".to_string(), 9)]);
    }

    #[test]
    fn changes_list_what_a_commit_must_append() {
        let mut d = Dedup::from_entries([("old".to_string(), 1)], false);
        assert!(d.take_changes().is_empty(), "what was loaded is already stored");
        d.insert("a", 10);
        d.insert("a", 10);
        assert!(d.sighted("old", 20) && d.sighted("old", 15) && d.sighted("a", 10));
        assert_eq!(d.take_changes(), vec![("a".to_string(), 10), ("old".to_string(), 20)]);
        assert!(d.take_changes().is_empty());
    }

    #[test]
    fn without_the_ids_kept_membership_and_times_are_the_same() {
        let mut with = Dedup::new(true);
        let mut without = Dedup::new(false);
        for (id, t) in [("a", 10), ("b", 20), ("a", 30), ("c", 5), ("b", 15)] {
            assert_eq!(with.sighted(id, t), without.sighted(id, t));
            assert_eq!(with.insert(id, t), without.insert(id, t));
        }
        assert!(with.same_ids(&without));
        assert_eq!(without.latest("a"), Some(30));
        assert_eq!(without.latest("zzz"), None);
        assert_eq!(with.take_changes(), without.take_changes());
        let (mut old_with, mut old_without) = (with.drain_before(10), without.drain_before(10));
        old_with.sort_unstable();
        old_without.sort_unstable();
        assert_eq!(old_with, old_without);
        assert_eq!(old_with, vec![(super::super::digests::digest("c"), 5)]);
        assert_eq!(old_with.capacity(), 1);
        assert_eq!(digest_of(key("c")), super::super::digests::digest("c"));
        assert!(without.entries().is_empty(), "the ids are not kept");
        assert_eq!(with.entries(), vec![("b".to_string(), 20), ("a".to_string(), 30)]);
        assert_ne!(key("a") as u64, key("b") as u64);
    }
}
