//! Dedup by record id across the overlap: the ids of records at or after the resume point
//! minus one more overlap (by their latest sighting, so that an id reused later is still
//! known), and nothing older, so the state stays about as small as the overlap region.
//! What changed since the last commit is kept apart, for the journal (journal.rs) to append.

use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Dedup {
    /// id → record time (Unix ms).
    seen: HashMap<String, i64>,
    /// Ids remembered, or sighted later, since the last [`Dedup::take_changes`].
    changes: Vec<(String, i64)>,
}

impl Dedup {
    pub fn from_entries(entries: impl IntoIterator<Item = (String, i64)>) -> Self {
        let mut seen: HashMap<String, i64> = HashMap::new();
        for (id, t) in entries {
            let e = seen.entry(id).or_insert(t);
            *e = (*e).max(t);
        }
        Dedup { seen, changes: Vec::new() }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains_key(id)
    }

    /// Is `id` already delivered? A sighting at a later time (the same id again, perhaps with
    /// other content) keeps it remembered for as long as a read can return that sighting.
    pub fn sighted(&mut self, id: &str, time_ms: i64) -> bool {
        match self.seen.get_mut(id) {
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
        if self.seen.contains_key(id) {
            return false;
        }
        self.seen.insert(id.to_string(), time_ms);
        self.changes.push((id.to_string(), time_ms));
        true
    }

    /// What was remembered since the last call (each id with its latest time, in order).
    pub fn take_changes(&mut self) -> Vec<(String, i64)> {
        std::mem::take(&mut self.changes)
    }

    /// Forgets ids of records before `from_ms`: no query will return them again.
    pub fn prune(&mut self, from_ms: i64) {
        self.seen.retain(|_, t| *t >= from_ms);
    }

    /// Forgets ids of records before `from_ms` and returns them.
    pub fn drain_before(&mut self, from_ms: i64) -> Vec<(String, i64)> {
        let old: Vec<String> = self.seen.iter().filter(|(_, t)| **t < from_ms).map(|(k, _)| k.clone()).collect();
        old.into_iter().filter_map(|k| self.seen.remove_entry(&k)).collect()
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

    /// Entries sorted by time then id (stable state files).
    pub fn entries(&self) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = self.seen.iter().map(|(k, t)| (k.clone(), *t)).collect();
        v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_repeats_and_forgets_old_ids() {
        let mut d = Dedup::default();
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
        let restored = Dedup::from_entries(d.entries());
        assert!(restored.same_ids(&d));
        assert_eq!(d.entries(), vec![("a".to_string(), 30)]);
        // An id listed again with a later time (a journal) keeps the latest.
        let merged = Dedup::from_entries([("x".to_string(), 5), ("x".to_string(), 9), ("x".to_string(), 7)]);
        assert_eq!(merged.entries(), vec![("x".to_string(), 9)]);
    }

    #[test]
    fn changes_list_what_a_commit_must_append() {
        let mut d = Dedup::from_entries([("old".to_string(), 1)]);
        assert!(d.take_changes().is_empty(), "what was loaded is already stored");
        d.insert("a", 10);
        d.insert("a", 10);
        assert!(d.sighted("old", 20) && d.sighted("old", 15) && d.sighted("a", 10));
        assert_eq!(d.take_changes(), vec![("a".to_string(), 10), ("old".to_string(), 20)]);
        assert!(d.take_changes().is_empty());
    }
}
