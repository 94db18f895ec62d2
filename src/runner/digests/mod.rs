//! Digests of delivered ids for a reconciliation span: a 64-bit digest of each id delivered
//! before the resume point, with its record time, so that a record read again (a
//! reconciliation, or an id the API repeats) is known without keeping its id.
//!
//! Two tiers, so that memory stays bounded however many records a span holds:
//! - the newest, in memory: one sorted array (16 bytes an id, no hash-table slack) that each
//!   window passed is merged into in place, searched by one binary search and expiring in
//!   place; on disk they are appended to
//!   `<stream>.delivered.bin` beside the checkpoint (16 bytes a record: digest, then time,
//!   little-endian), synced before the checkpoint that moves the resume point past those ids,
//!   rewritten whole only when expired entries outnumber live ones; a tail torn by a crash
//!   mid-append is cut off (those ids are still in the journal of the checkpoint in force, and
//!   are appended again when the position passes them);
//! - once they pass [`MEMORY_ENTRIES`], the older ones: merged with the expired dropped into
//!   the sorted table `<stream>.delivered.tbl` (table.rs), which a look-up reads one 4 KiB
//!   block of; the append file is then emptied. A crash between the two leaves entries in both,
//!   which only repeats what is known.
//!
//! A table entry at or after the resume point it was loaded with may be of an id the checkpoint
//! in force has not committed (the table was merged after a window passed, before its
//! checkpoint was saved): such entries count as unknown, and the next merge drops them.

mod table;

use super::storage::{private_options, sync_dir};
use std::cell::Cell;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use table::Table;

/// Digests held in memory at most (2 MiB) before the older ones move to the table.
pub const MEMORY_ENTRIES: usize = 1 << 17;

/// FNV-1a, 64 bits: stable across versions and platforms (the digests are stored).
pub fn digest(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Digests of delivered ids older than the resume point, with their record times.
#[derive(Debug, Default)]
pub struct Digests {
    path: PathBuf,
    /// The digests in memory, sorted by digest, one entry a digest (its latest time): what was
    /// loaded and every window passed since, merged.
    memory: Segment,
    /// Entries the append file holds (live, expired or superseded).
    in_file: usize,
    /// The older digests, on disk.
    table: Option<Table>,
    /// Table entries at or after this are not trusted (see the module's note).
    table_valid_before_ms: i64,
    /// Entries before this are past the span, wherever they are.
    horizon_ms: i64,
    /// Entries held in memory at most ([`MEMORY_ENTRIES`]).
    memory_entries: usize,
}

#[derive(Debug)]
struct Segment {
    entries: Vec<(u64, i64)>,
    /// The oldest time in it: a segment newer than the horizon is kept whole.
    oldest_ms: i64,
}

impl Default for Segment {
    fn default() -> Self {
        Segment { entries: Vec::new(), oldest_ms: i64::MAX }
    }
}

impl Segment {
    fn new(mut entries: Vec<(u64, i64)>) -> Self {
        let oldest_ms = normalise(&mut entries);
        Segment { entries, oldest_ms }
    }

    /// Drops the entries before `horizon_ms` (none to drop: no pass over them).
    fn expire(&mut self, horizon_ms: i64) {
        if self.oldest_ms < horizon_ms {
            self.entries.retain(|e| e.1 >= horizon_ms);
            self.entries.shrink_to_fit();
            self.oldest_ms = oldest(&self.entries);
        }
    }

    /// Merges `other` (normalised) in, in place: the array grows by `other`'s length at most
    /// (no second copy of what it holds), is filled from its end, and keeps one entry a digest.
    fn absorb(&mut self, other: &Segment) {
        let (old, new) = (self.entries.len(), other.entries.len());
        self.entries.resize(old + new, (0, 0));
        let (mut i, mut j, mut w) = (old, new, old + new);
        while j > 0 {
            w -= 1;
            if i > 0 && self.entries[i - 1] > other.entries[j - 1] {
                self.entries[w] = self.entries[i - 1];
                i -= 1;
            } else {
                self.entries[w] = other.entries[j - 1];
                j -= 1;
            }
        }
        self.oldest_ms = keep_latest(&mut self.entries);
    }
}

fn oldest(entries: &[(u64, i64)]) -> i64 {
    entries.iter().map(|e| e.1).min().unwrap_or(i64::MAX)
}

/// Sorts `entries` by digest and keeps one a digest, the latest; gives the oldest time kept.
fn normalise(entries: &mut Vec<(u64, i64)>) -> i64 {
    entries.sort_unstable();
    keep_latest(entries)
}

/// Of each run of one digest in `entries` (sorted by digest, then time), keeps the last: the
/// latest. Gives the oldest time kept (`i64::MAX` for none).
fn keep_latest(entries: &mut Vec<(u64, i64)>) -> i64 {
    let (mut kept, mut oldest) = (0, i64::MAX);
    for r in 0..entries.len() {
        if entries.get(r + 1).is_some_and(|next| next.0 == entries[r].0) {
            continue;
        }
        oldest = oldest.min(entries[r].1);
        entries[kept] = entries[r];
        kept += 1;
    }
    entries.truncate(kept);
    oldest
}

impl Digests {
    /// Reads the digests (none yet: empty), keeping those before `resume_from_ms`.
    pub fn load(path: PathBuf, resume_from_ms: i64) -> Result<Self, String> {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        };
        let whole = bytes.len() / 16 * 16;
        if whole < bytes.len() {
            tracing::warn!(
                file = %path.display(),
                "the digests file ends in a partly written entry (a run stopped while appending); it is cut off"
            );
            let cut = OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(whole as u64));
            cut.map_err(|e| format!("cannot cut `{}` back to whole entries: {e}", path.display()))?;
        }
        let mut known = Vec::with_capacity(whole / 16);
        for entry in bytes[..whole].chunks_exact(16) {
            let h = u64::from_le_bytes(entry[..8].try_into().unwrap_or_default());
            let t = i64::from_le_bytes(entry[8..].try_into().unwrap_or_default());
            if t < resume_from_ms {
                known.push((h, t));
            }
        }
        drop(bytes);
        let table = Table::open(&table_path(&path)).map_err(|e| {
            format!(
                "{e}: it holds the digests of records delivered in the reconciliation span; \
                 remove it only if those records may be delivered again"
            )
        })?;
        let memory = Segment::new(known);
        Ok(Digests {
            path,
            memory,
            in_file: whole / 16,
            table,
            table_valid_before_ms: resume_from_ms,
            horizon_ms: i64::MIN,
            memory_entries: MEMORY_ENTRIES,
        })
    }

    /// The same, holding at most `n` entries in memory.
    pub fn holding(mut self, n: usize) -> Self {
        self.memory_entries = n;
        self
    }

    /// Was `id` delivered (before the resume point, within the span)?
    pub fn contains(&self, id: &str) -> Result<bool, String> {
        let h = digest(id);
        if self.memory.entries.binary_search_by_key(&h, |e| e.0).is_ok() {
            return Ok(true);
        }
        let Some(table) = &self.table else { return Ok(false) };
        let found = table.get(h)?;
        Ok(found.is_some_and(|t| t >= self.horizon_ms && t < self.table_valid_before_ms))
    }

    /// Digests held in memory (one entry a digest).
    pub fn len(&self) -> usize {
        self.memory.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.table.as_ref().is_none_or(|t| t.len() == 0)
    }

    /// Takes the digests of ids the dedup set no longer holds, with their times (a window's:
    /// one sorted segment, with no copy of what is held already) and forgets those before
    /// `horizon_ms`; the append file is
    /// appended to (rewritten when mostly stale), durably. Past the entries memory may hold
    /// ([`MEMORY_ENTRIES`]), what is in memory moves to the table.
    pub fn store(&mut self, digests: Vec<(u64, i64)>, horizon_ms: i64) -> Result<(), String> {
        self.horizon_ms = self.horizon_ms.max(horizon_ms);
        let mut new = Segment::new(digests);
        self.memory.expire(horizon_ms);
        new.expire(horizon_ms);
        let added = new.entries.len();
        self.memory.absorb(&new);
        let live = self.len();
        if live > self.memory_entries {
            return self.move_to_table();
        }
        if self.in_file + added > 2 * live.max(1024) {
            write_atomically(&self.path, &encode(&self.memory.entries))?;
            self.in_file = live;
        } else if added > 0 {
            // The window's own entries, as they were before the merge.
            append(&self.path, &encode(&new.entries))?;
            self.in_file += added;
        }
        Ok(())
    }

    /// Merges what is in memory into the table (the expired and the untrusted dropped), then
    /// empties memory and the append file.
    fn move_to_table(&mut self) -> Result<(), String> {
        // Sorted, one entry a digest.
        let young = std::mem::take(&mut self.memory).entries.into_iter();
        let (horizon, valid_before) = (self.horizon_ms, self.table_valid_before_ms);
        let path = table_path(&self.path);
        // The old table read to its end, or no new one.
        let (read, expected) = (Cell::new(0u64), self.table.as_ref().map_or(0, Table::len));
        let old: Box<dyn Iterator<Item = (u64, i64)>> = match &self.table {
            Some(t) => Box::new(t.entries().inspect(|_| read.set(read.get() + 1)).filter(move |e| e.1 < valid_before)),
            None => Box::new(std::iter::empty()),
        };
        let merged = table::merge(old, young).filter(|e| e.1 >= horizon);
        let whole = || match read.get() {
            n if n == expected => Ok(()),
            n => Err(format!("cannot read `{}`: {n} of its {expected} entries read", path.display())),
        };
        let written = Table::write(&path, merged, whole)?;
        tracing::debug!(entries = written.len(), "reconciliation digests merged into their table");
        self.table = Some(written);
        self.table_valid_before_ms = i64::MAX;
        write_atomically(&self.path, &[])?;
        self.in_file = 0;
        Ok(())
    }

    /// Every digest held with its latest time, sorted (for tests and checks).
    pub fn entries(&self) -> Vec<(u64, i64)> {
        let mut all = self.memory.entries.clone();
        if let Some(t) = &self.table {
            all.extend(t.entries().filter(|e| e.1 >= self.horizon_ms && e.1 < self.table_valid_before_ms));
        }
        normalise(&mut all);
        all
    }
}

/// The table beside the append file `path`: `<stream>.delivered.tbl`.
fn table_path(path: &Path) -> PathBuf {
    path.with_extension("tbl")
}

fn encode(entries: &[(u64, i64)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(entries.len() * 16);
    for (h, t) in entries {
        body.extend_from_slice(&h.to_le_bytes());
        body.extend_from_slice(&t.to_le_bytes());
    }
    body
}

fn append(path: &Path, body: &[u8]) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write `{}`: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut f = private_options().append(true).create(true).open(path).map_err(err)?;
    f.write_all(body).and_then(|()| f.sync_data()).map_err(err)
}

fn write_atomically(path: &Path, body: &[u8]) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write `{}`: {e}", path.display());
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = path.with_extension("bin.tmp");
    {
        let mut f = private_options().write(true).create(true).truncate(true).open(&tmp).map_err(err)?;
        f.write_all(body).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    sync_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[(&str, i64)]) -> Vec<(u64, i64)> {
        v.iter().map(|(i, t)| (digest(i), *t)).collect()
    }

    #[test]
    fn digests_survive_a_restart_but_never_past_the_resume_point() {
        let dir = std::env::temp_dir().join(format!("digests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.delivered.bin");
        let mut d = Digests::load(path.clone(), 0).unwrap();
        assert!(d.is_empty());
        d.store(ids(&[("a", 100), ("b", 200), ("old", 5)]), 50).unwrap();
        assert!(d.contains("a").unwrap() && d.contains("b").unwrap() && !d.contains("old").unwrap());
        let again = Digests::load(path.clone(), 150).unwrap();
        assert!(again.contains("a").unwrap() && !again.contains("b").unwrap(), "b is the checkpoint's to know");
        assert_eq!(digest("a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a, stable");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn appends_merge_expire_and_compact() {
        let dir = std::env::temp_dir().join(format!("digests-append-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.delivered.bin");
        let mut d = Digests::load(path.clone(), i64::MAX).unwrap();
        // An id seen again later keeps its latest time, in memory and once loaded.
        d.store(ids(&[("a", 10), ("b", 20), ("a", 15)]), 0).unwrap();
        d.store(ids(&[("b", 30), ("c", 40)]), 0).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            4 * 16,
            "appended (one entry an id a window), not rewritten"
        );
        let loaded = Digests::load(path.clone(), i64::MAX).unwrap();
        assert_eq!(loaded.entries(), d.entries());
        assert_eq!(d.entries().len(), 3);
        // Past the horizon, b (30) and c stay; a goes.
        d.store(Vec::new(), 25).unwrap();
        assert!(!d.contains("a").unwrap() && d.contains("b").unwrap() && d.contains("c").unwrap());
        // Many stale entries: the file is rewritten with the live ones only.
        let many: Vec<(String, i64)> = (0..3000).map(|i| (format!("id-{i}"), 1_000 + i)).collect();
        d.store(many.iter().map(|(id, t)| (digest(id), *t)).collect(), 0).unwrap();
        d.store(Vec::new(), 3_990).unwrap();
        assert_eq!(d.len(), 10);
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(size, 10 * 16, "compacted to the live entries");
        let mut loaded = Digests::load(path.clone(), i64::MAX).unwrap();
        assert_eq!(loaded.entries(), d.entries());
        // Every stored id is found, none other, against a plain set.
        let more: Vec<(String, i64)> = (0..500).map(|i| (format!("x{i}"), 5_000)).collect();
        loaded.store(more.iter().map(|(id, t)| (digest(id), *t)).collect(), 0).unwrap();
        assert!(more.iter().all(|(id, _)| loaded.contains(id).unwrap()));
        assert!((500..1000).all(|i| !loaded.contains(&format!("x{i}")).unwrap()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_tail_is_cut_off() {
        let dir = std::env::temp_dir().join(format!("digests-torn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.delivered.bin");
        let mut d = Digests::load(path.clone(), i64::MAX).unwrap();
        d.store(ids(&[("a", 10), ("b", 20)]), 0).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&[7u8; 9]).unwrap();
        let loaded = Digests::load(path.clone(), i64::MAX).unwrap();
        assert_eq!(loaded.entries(), d.entries());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A pseudo-random sequence (no dependency on a random crate for a unit test).
    fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    #[test]
    fn a_merge_in_place_is_the_normalised_union() {
        let mut state = 7;
        for round in 0..200 {
            // Few distinct digests, so that runs of one digest meet across and within both.
            let mut draw = |n: u64| -> Vec<(u64, i64)> {
                (0..n).map(|_| (lcg(&mut state) % 40, (lcg(&mut state) % 9) as i64)).collect()
            };
            let (a, b) = (draw(round % 50), draw(round % 13));
            let mut merged = Segment::new(a.clone());
            merged.absorb(&Segment::new(b.clone()));
            let mut union = [a, b].concat();
            normalise(&mut union);
            assert_eq!(merged.entries, union, "round {round}");
            assert_eq!(merged.oldest_ms, oldest(&union), "round {round}");
        }
    }

    #[test]
    fn past_the_memory_bound_digests_move_to_the_table_and_answer_as_a_plain_map_would() {
        let dir = std::env::temp_dir().join(format!("digests-tiers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.delivered.bin");
        let mut d = Digests::load(path.clone(), i64::MAX).unwrap().holding(100);
        // The model: each id's latest stored time; an id is known while that is within the span.
        let mut model: std::collections::BTreeMap<String, i64> = Default::default();
        let (mut seed, mut now, mut horizon) = (7u64, 0i64, i64::MIN);
        let mut merges = 0;
        for round in 0..40 {
            let batch: Vec<(String, i64)> = (0..lcg(&mut seed) % 60)
                .map(|_| {
                    now += (lcg(&mut seed) % 5) as i64;
                    (format!("id-{}", lcg(&mut seed) % 700), now)
                })
                .collect();
            for (id, t) in &batch {
                let latest = model.entry(id.clone()).or_insert(*t);
                *latest = (*latest).max(*t);
            }
            horizon = horizon.max(now - 600);
            let had_table = std::fs::metadata(dir.join("audit.delivered.tbl")).map(|m| m.modified().unwrap()).ok();
            d.store(batch.iter().map(|(id, t)| (digest(id), *t)).collect(), horizon).unwrap();
            let has_table = std::fs::metadata(dir.join("audit.delivered.tbl")).map(|m| m.modified().unwrap()).ok();
            merges += usize::from(has_table.is_some() && has_table != had_table);
            assert!(d.len() <= 100 + 60, "round {round}: {} in memory", d.len());
            if round == 25 {
                // A restart on a checkpoint that trusts everything stored.
                d = Digests::load(path.clone(), i64::MAX).unwrap().holding(100);
                d.store(Vec::new(), horizon).unwrap();
            }
            for i in 0..700 {
                let id = format!("id-{i}");
                let known = model.get(&id).is_some_and(|&t| t >= horizon);
                assert_eq!(d.contains(&id).unwrap(), known, "round {round}, {id}");
            }
            let expected: Vec<(u64, i64)> = {
                let mut e: Vec<_> =
                    model.iter().filter(|(_, t)| **t >= horizon).map(|(id, t)| (digest(id), *t)).collect();
                e.sort_unstable();
                e
            };
            assert_eq!(d.entries(), expected, "round {round}");
        }
        assert!(merges >= 5, "{merges} merges into the table");
        // The table holds no expired entry after a merge: bounded by the span, not the run.
        let table = Table::open(&dir.join("audit.delivered.tbl")).unwrap().unwrap();
        assert!(table.len() <= 700, "{}", table.len());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn table_entries_from_the_resume_point_on_are_unknown_until_merged_away() {
        let dir = std::env::temp_dir().join(format!("digests-untrusted-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.delivered.bin");
        let mut d = Digests::load(path.clone(), i64::MAX).unwrap().holding(10);
        let ids_at = |from: i64| (0..20).map(|i| (digest(&format!("id-{}", from + i)), from + i)).collect::<Vec<_>>();
        d.store(ids_at(100), 0).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "moved to the table, the append file emptied");
        assert!(d.contains("id-119").unwrap());
        // A crash before the checkpoint that passed 110: it resumes from 110.
        let mut again = Digests::load(path.clone(), 110).unwrap().holding(10);
        assert!(again.contains("id-109").unwrap() && !again.contains("id-110").unwrap());
        again.store(ids_at(200), 0).unwrap();
        let stored: Vec<i64> = Table::open(&dir.join("audit.delivered.tbl"))
            .unwrap()
            .unwrap()
            .entries()
            .map(|e| e.1)
            .filter(|t| *t < 200)
            .collect();
        assert_eq!(stored.len(), 10, "the untrusted entries are dropped by the merge: {stored:?}");
        assert!(stored.iter().all(|t| *t < 110));
        assert!(again.contains("id-205").unwrap() && !again.contains("id-115").unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_table_is_refused_saying_what_it_holds() {
        let dir = std::env::temp_dir().join(format!("digests-damaged-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("audit.delivered.tbl"), b"ocsfdgt1\x05").unwrap();
        let e = Digests::load(dir.join("audit.delivered.bin"), 0).unwrap_err();
        assert!(e.contains("audit.delivered.tbl") && e.contains("remove it only if"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
