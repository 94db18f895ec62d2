//! Dedup by record id across the overlap: the ids of records at or after the resume point
//! minus one more overlap (by their latest sighting, so that an id reused later is still
//! known), and nothing older, so the state stays about as small as the overlap region.
//! What changed since the last commit is kept apart, for the journal (journal.rs) to append.
//!
//! An id is held as a 128-bit key (24 bytes with its time, where the id itself took about
//! 80): the 64-bit digest reconciliation keeps (digests/), then a second, independent 64-bit
//! hash. The ids themselves are kept only for a checkpoint that holds them (a fleet's, in the
//! coordination store); the journal has every id it needs as text.
//!
//! A window of a busy tenant holds hundreds of thousands of ids. With a scratch directory
//! ([`Dedup::spill_to`]) at most [`MEMORY_KEYS`] keys are in memory; past that they are
//! written out as sorted runs (runs.rs), so memory stays the same however many records a
//! window holds.

mod runs;

use runs::Runs;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};
use std::path::PathBuf;

/// Keys held in memory at most with a scratch directory (7/8 of 32,768 slots: 1.1 MiB, and
/// as much again while they are sorted to be written out).
pub const MEMORY_KEYS: usize = (1 << 15) - (1 << 12);

/// Reconciliation digests handed over at a time when a window passes (1 MiB).
const DRAIN_CHUNK: usize = 1 << 16;

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

#[derive(Debug, Default)]
pub struct Dedup {
    /// key → record time (Unix ms), for the keys in memory. A key also in a run is here only
    /// when sighted later than the run holds it, so a time here is the key's latest.
    seen: HashMap<Key, i64>,
    /// The keys written out past [`Dedup::memory_keys`].
    runs: Option<Runs>,
    memory_keys: usize,
    /// Keys held, wherever they are.
    len: usize,
    /// Ids remembered, or sighted later, since the last [`Dedup::take_changes`].
    changes: Vec<(String, i64)>,
    /// The ids themselves, when they are to be listed ([`Dedup::entries`]).
    ids: Option<HashMap<Key, String>>,
}

/// A scratch file that cannot be read or written.
fn scratch_error(e: std::io::Error) -> String {
    format!("the dedup set's scratch file: {e}")
}

/// Digests handed over a chunk at a time; the first error is kept for after.
struct Handover<'a> {
    chunk: Vec<(u64, i64)>,
    give: &'a mut dyn FnMut(Vec<(u64, i64)>) -> Result<(), String>,
    error: Option<String>,
    count: usize,
    /// At most this many are left to hand over (each chunk is sized once).
    left: usize,
}

impl Handover<'_> {
    fn push(&mut self, key: Key, t: i64) {
        self.count += 1;
        if self.chunk.capacity() == 0 {
            self.chunk.reserve_exact(self.left.min(DRAIN_CHUNK));
        }
        self.left = self.left.saturating_sub(1);
        self.chunk.push((digest_of(key), t));
        if self.chunk.len() >= DRAIN_CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.chunk.is_empty() && self.error.is_none() {
            let chunk = std::mem::take(&mut self.chunk);
            if let Err(e) = (self.give)(chunk) {
                self.error = Some(e);
            }
        }
    }

    fn finish(mut self) -> Result<usize, String> {
        self.flush();
        self.error.map_or(Ok(self.count), Err)
    }
}

impl Dedup {
    /// An empty set; `keep_ids` keeps the ids themselves, to list them.
    pub fn new(keep_ids: bool) -> Self {
        Dedup { ids: keep_ids.then(HashMap::new), memory_keys: usize::MAX, ..Dedup::default() }
    }

    /// A set of ids already stored, in memory (no scratch directory yet, so no look-up can
    /// fail); an id listed again with a later time keeps the latest.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, i64)>, keep_ids: bool) -> Self {
        let mut d = Dedup::new(keep_ids);
        for (id, t) in entries {
            let k = key(&id);
            let held = d.seen.get(&k).copied();
            d.load(k, id, t, held);
        }
        d
    }

    /// Keeps at most `memory_keys` keys in memory, the rest in scratch files in `dir`. A set
    /// that keeps its ids (to list them) keeps everything in memory.
    pub fn spill_to(&mut self, dir: PathBuf, memory_keys: usize) {
        if self.ids.is_none() {
            self.runs = Some(Runs::new(dir));
            self.memory_keys = memory_keys.max(1);
        }
    }

    /// Adds ids already stored (in a checkpoint or a journal): not changes; an id listed again
    /// with a later time keeps the latest.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = (String, i64)>) -> Result<(), String> {
        for (id, t) in entries {
            let k = key(&id);
            let held = self.lookup(k)?;
            if self.load(k, id, t, held) {
                self.spill_if_full()?;
            }
        }
        Ok(())
    }

    /// Holds a stored id at `t` in memory unless it is held (`held`, wherever) at `t` or
    /// later; true when it was taken.
    fn load(&mut self, k: Key, id: String, t: i64, held: Option<i64>) -> bool {
        if held.is_some_and(|h| h >= t) {
            return false;
        }
        self.len += usize::from(held.is_none());
        self.seen.insert(k, t);
        if let Some(ids) = &mut self.ids {
            ids.entry(k).or_insert(id);
        }
        true
    }

    /// The latest time `k` is held at.
    fn lookup(&self, k: Key) -> Result<Option<i64>, String> {
        if let Some(t) = self.seen.get(&k) {
            return Ok(Some(*t));
        }
        match &self.runs {
            Some(runs) if !runs.is_empty() => runs.latest(k).map_err(scratch_error),
            _ => Ok(None),
        }
    }

    /// Writes the keys in memory out as a run once they reach the bound.
    fn spill_if_full(&mut self) -> Result<(), String> {
        let Some(runs) = self.runs.as_mut().filter(|_| self.seen.len() >= self.memory_keys) else { return Ok(()) };
        let mut sorted: Vec<(Key, i64)> = self.seen.drain().collect();
        sorted.sort_unstable();
        runs.push(&sorted).map_err(scratch_error)
    }

    pub fn contains(&self, id: &str) -> Result<bool, String> {
        Ok(self.lookup(key(id))?.is_some())
    }

    /// The latest time `id` was sighted at, if it is held.
    pub fn latest(&self, id: &str) -> Result<Option<i64>, String> {
        self.lookup(key(id))
    }

    /// Is `id` held at `t` (its latest sighting)? A scratch file that cannot be read answers
    /// yes: the journal then keeps a line it could have dropped, which only repeats what is
    /// known.
    pub fn holds_at(&self, id: &str, t: i64) -> bool {
        self.latest(id).map_or(true, |held| held == Some(t))
    }

    /// Is `id` already delivered? A sighting at a later time (the same id again, perhaps with
    /// other content) keeps it remembered for as long as a read can return that sighting.
    pub fn sighted(&mut self, id: &str, time_ms: i64) -> Result<bool, String> {
        let k = key(id);
        match self.lookup(k)? {
            Some(t) => {
                if time_ms > t {
                    self.seen.insert(k, time_ms);
                    self.changes.push((id.to_string(), time_ms));
                    self.spill_if_full()?;
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Remembers `id`; false if it was already known.
    pub fn insert(&mut self, id: &str, time_ms: i64) -> Result<bool, String> {
        let k = key(id);
        if self.lookup(k)?.is_some() {
            return Ok(false);
        }
        self.seen.insert(k, time_ms);
        self.len += 1;
        if let Some(ids) = &mut self.ids {
            ids.insert(k, id.to_string());
        }
        self.changes.push((id.to_string(), time_ms));
        self.spill_if_full()?;
        Ok(true)
    }

    /// What was remembered since the last call (each id with its latest time, in order).
    pub fn take_changes(&mut self) -> Vec<(String, i64)> {
        std::mem::take(&mut self.changes)
    }

    /// Forgets ids of records before `from_ms`: no query will return them again.
    pub fn prune(&mut self, from_ms: i64) -> Result<(), String> {
        self.drain_before(from_ms, &mut |_| Ok(())).map(|_| ())
    }

    /// Forgets ids of records before `from_ms` and gives their reconciliation digests, with
    /// their times, to `give`, in chunks of at most 65,536 (a window of a busy tenant hands
    /// over hundreds of thousands). Returns how many were forgotten.
    pub fn drain_before(
        &mut self,
        from_ms: i64,
        give: &mut dyn FnMut(Vec<(u64, i64)>) -> Result<(), String>,
    ) -> Result<usize, String> {
        let mut hand = Handover { chunk: Vec::new(), give, error: None, count: 0, left: self.len };
        match self.runs.as_mut().filter(|r| !r.is_empty()) {
            None => {
                hand.left = self.seen.values().filter(|t| **t < from_ms).count();
                self.seen.retain(|k, t| {
                    let keep = *t >= from_ms;
                    if !keep {
                        hand.push(*k, *t);
                    }
                    keep
                });
                self.len = self.seen.len();
            }
            Some(runs) => {
                let mut memory: Vec<(Key, i64)> = self.seen.drain().collect();
                memory.sort_unstable();
                let kept = runs
                    .rewrite(&mut memory.into_iter(), |k, t| {
                        let keep = t >= from_ms;
                        if !keep {
                            hand.push(k, t);
                        }
                        keep
                    })
                    .map_err(scratch_error)?;
                self.len = kept;
                // What is left fits in memory again: back there, and no runs.
                if kept <= self.memory_keys / 2 {
                    let back = runs.merged(&mut std::iter::empty()).map_err(scratch_error)?;
                    runs.clear();
                    self.seen.extend(back);
                }
            }
        }
        if let Some(ids) = &mut self.ids {
            ids.retain(|k, _| self.seen.contains_key(k));
        }
        hand.finish()
    }

    /// Every key with its latest time, sorted by key.
    fn all(&self) -> Result<Vec<(Key, i64)>, String> {
        let mut memory: Vec<(Key, i64)> = self.seen.iter().map(|(k, t)| (*k, *t)).collect();
        memory.sort_unstable();
        match &self.runs {
            Some(runs) if !runs.is_empty() => runs.merged(&mut memory.into_iter()).map_err(scratch_error),
            _ => Ok(memory),
        }
    }

    /// The same ids at the same times (what was changed since the last commit aside).
    pub fn same_ids(&self, other: &Dedup) -> bool {
        matches!((self.all(), other.all()), (Ok(a), Ok(b)) if a == b)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
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
    fn drops_repeats_and_forgets_old_ids() -> Result<(), String> {
        let mut d = Dedup::new(true);
        assert!(d.insert("a", 10)?);
        assert!(d.insert("b", 20)?);
        assert!(!d.insert("a", 10)?);
        assert!(d.contains("b")?);
        d.prune(15)?;
        assert!(!d.contains("a")? && d.contains("b")?);
        assert_eq!(d.len(), 1);
        assert!(d.insert("a", 10)?, "an id older than the overlap is new again (it is never re-read)");
        // The same id seen again later stays known as long as that later sighting can be read.
        assert!(d.sighted("a", 30)? && !d.sighted("c", 30)?);
        d.prune(25)?;
        assert!(d.contains("a")?);
        d.insert("a", 10)?;
        let restored = Dedup::from_entries(d.entries(), true);
        assert!(restored.same_ids(&d));
        assert_eq!(d.entries(), vec![("a".to_string(), 30)]);
        // An id listed again with a later time (a journal) keeps the latest.
        let merged = Dedup::from_entries([("x".to_string(), 5), ("x".to_string(), 9), ("x".to_string(), 7)], true);
        assert_eq!(merged.entries(), vec![("x".to_string(), 9)]);
        Ok(())
    }

    #[test]
    fn changes_list_what_a_commit_must_append() -> Result<(), String> {
        let mut d = Dedup::from_entries([("old".to_string(), 1)], false);
        assert!(d.take_changes().is_empty(), "what was loaded is already stored");
        d.insert("a", 10)?;
        d.insert("a", 10)?;
        assert!(d.sighted("old", 20)? && d.sighted("old", 15)? && d.sighted("a", 10)?);
        assert_eq!(d.take_changes(), vec![("a".to_string(), 10), ("old".to_string(), 20)]);
        assert!(d.take_changes().is_empty());
        Ok(())
    }

    /// Every digest `drain_before` gives, sorted.
    fn drained(d: &mut Dedup, from: i64) -> Result<Vec<(u64, i64)>, String> {
        let mut all = Vec::new();
        let n = d.drain_before(from, &mut |chunk| {
            assert!(chunk.len() <= DRAIN_CHUNK);
            all.extend(chunk);
            Ok(())
        })?;
        assert_eq!(n, all.len());
        all.sort_unstable();
        Ok(all)
    }

    #[test]
    fn without_the_ids_kept_membership_and_times_are_the_same() -> Result<(), String> {
        let mut with = Dedup::new(true);
        let mut without = Dedup::new(false);
        for (id, t) in [("a", 10), ("b", 20), ("a", 30), ("c", 5), ("b", 15)] {
            assert_eq!(with.sighted(id, t)?, without.sighted(id, t)?);
            assert_eq!(with.insert(id, t)?, without.insert(id, t)?);
        }
        assert!(with.same_ids(&without));
        assert_eq!(without.latest("a")?, Some(30));
        assert_eq!(without.latest("zzz")?, None);
        assert_eq!(with.take_changes(), without.take_changes());
        let (old_with, old_without) = (drained(&mut with, 10)?, drained(&mut without, 10)?);
        assert_eq!(old_with, old_without);
        assert_eq!(old_with, vec![(super::super::digests::digest("c"), 5)]);
        assert_eq!(digest_of(key("c")), super::super::digests::digest("c"));
        assert!(without.entries().is_empty(), "the ids are not kept");
        assert_eq!(with.entries(), vec![("b".to_string(), 20), ("a".to_string(), 30)]);
        assert_ne!(key("a") as u64, key("b") as u64);
        Ok(())
    }

    /// A small deterministic generator (xorshift), so that a failure repeats.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn a_set_past_its_memory_bound_answers_as_one_held_in_memory() -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("ocsf-engine-dedup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for (seed, bound) in [(1u64, 1usize), (7, 5), (42, 64), (99, 300)] {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let mut memory = Dedup::new(false);
            let mut spilled = Dedup::new(false);
            spilled.spill_to(dir.clone(), bound);
            spilled.extend((0..150).map(|i| (format!("loaded-{i}"), i)))?;
            memory.extend((0..150).map(|i| (format!("loaded-{i}"), i)))?;
            let mut now = 200;
            for round in 0..40 {
                for _ in 0..rng.below(400) {
                    let id = format!("id-{}", rng.below(3000));
                    let t = now - rng.below(100) as i64;
                    let step = format!("seed {seed} bound {bound} round {round} {id}@{t}");
                    assert_eq!(spilled.sighted(&id, t)?, memory.sighted(&id, t)?, "{step}");
                    assert_eq!(spilled.insert(&id, t)?, memory.insert(&id, t)?, "{step}");
                    assert_eq!(spilled.len(), memory.len(), "{step}");
                }
                assert_eq!(spilled.take_changes(), memory.take_changes());
                for probe in 0..50 {
                    let id = format!("id-{}", rng.below(3000) + probe);
                    assert_eq!(spilled.latest(&id)?, memory.latest(&id)?, "seed {seed} round {round} {id}");
                }
                if rng.below(3) == 0 {
                    let from = now - 150;
                    assert_eq!(drained(&mut spilled, from)?, drained(&mut memory, from)?, "seed {seed} round {round}");
                    assert_eq!(spilled.len(), memory.len());
                }
                assert!(spilled.same_ids(&memory), "seed {seed} bound {bound} round {round}");
                assert!(spilled.seen.len() <= bound, "at most {bound} keys in memory, {}", spilled.seen.len());
                now += 37;
            }
            assert!(spilled.runs.as_ref().is_some_and(|r| r.count() <= runs::MAX_RUNS));
        }
        let left = std::fs::read_dir(&dir).map_err(|e| e.to_string())?.count();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(left, 0, "scratch files have no name");
        Ok(())
    }

    #[test]
    fn a_set_that_keeps_its_ids_keeps_them_in_memory() -> Result<(), String> {
        let mut d = Dedup::new(true);
        d.spill_to(std::env::temp_dir(), 1);
        for i in 0..10 {
            d.insert(&format!("id-{i}"), i)?;
        }
        assert!(d.runs.is_none() && d.seen.len() == 10);
        assert_eq!(d.entries().len(), 10);
        Ok(())
    }
}
