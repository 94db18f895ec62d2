//! Digests of delivered ids for a reconciliation span: a 64-bit digest of each id delivered
//! before the resume point, with its record time, in `<stream>.delivered.bin` beside the
//! checkpoint (16 bytes a record: digest, then time, little-endian).
//!
//! In memory they are sorted arrays (16 bytes an id, no hash-table slack), one a window
//! passed, searched by binary search: a window's digests are sorted once and never copied
//! again, and expire in place (a whole array at once when all of it is past the span). On disk
//! the file is appended to, synced before the checkpoint that moves the resume point past
//! those ids, and rewritten whole only when expired or superseded entries outnumber the live
//! ones; a tail torn by a crash mid-append is cut off (those ids are still in the journal of
//! the checkpoint in force, and are appended again when the position passes them).

use super::storage::{private_options, sync_dir};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// Sorted runs, one a window passed (and one for what was loaded): each sorted by digest,
    /// one entry a digest; a digest sighted again later may stand in several.
    segments: Vec<Segment>,
    /// Entries the file holds (live, expired or superseded).
    in_file: usize,
}

#[derive(Debug, Default)]
struct Segment {
    entries: Vec<(u64, i64)>,
    /// The oldest time in it: a segment newer than the horizon is kept whole.
    oldest_ms: i64,
}

impl Segment {
    fn new(mut entries: Vec<(u64, i64)>) -> Self {
        normalise(&mut entries);
        let oldest_ms = entries.iter().map(|e| e.1).min().unwrap_or(i64::MAX);
        Segment { entries, oldest_ms }
    }
}

/// Sorts `entries` by digest and keeps one a digest, the latest.
fn normalise(entries: &mut Vec<(u64, i64)>) {
    entries.sort_unstable();
    // Sorted by (digest, time): the last of each run of one digest is the latest.
    entries.reverse();
    entries.dedup_by_key(|e| e.0);
    entries.reverse();
}

impl Digests {
    /// Reads the digests file (none yet: empty), keeping digests before `resume_from_ms`.
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
        let segments = if known.is_empty() { Vec::new() } else { vec![Segment::new(known)] };
        Ok(Digests { path, segments, in_file: whole / 16 })
    }

    pub fn contains(&self, id: &str) -> bool {
        let h = digest(id);
        self.segments.iter().any(|s| s.entries.binary_search_by_key(&h, |e| e.0).is_ok())
    }

    /// Digests held (one a digest and a window it was stored in).
    pub fn len(&self) -> usize {
        self.segments.iter().map(|s| s.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes ids the dedup set no longer holds (a window's: one sorted segment, with no copy
    /// of what is held already) and forgets those before `horizon_ms`; the file is appended
    /// to (rewritten when mostly stale), durably.
    pub fn store(&mut self, ids: Vec<(String, i64)>, horizon_ms: i64) -> Result<(), String> {
        let new = Segment::new(ids.iter().map(|(id, t)| (digest(id), *t)).collect());
        drop(ids);
        let appended = encode(&new.entries);
        let added = new.entries.len();
        if added > 0 {
            self.segments.push(new);
        }
        for s in &mut self.segments {
            if s.oldest_ms < horizon_ms {
                s.entries.retain(|e| e.1 >= horizon_ms);
                s.entries.shrink_to_fit();
                s.oldest_ms = s.entries.iter().map(|e| e.1).min().unwrap_or(i64::MAX);
            }
        }
        self.segments.retain(|s| !s.entries.is_empty());
        let live = self.len();
        if self.in_file + added > 2 * live.max(1024) {
            let all: Vec<(u64, i64)> = self.segments.iter().flat_map(|s| s.entries.iter().copied()).collect();
            write_atomically(&self.path, &encode(&all))?;
            self.in_file = all.len();
        } else if added > 0 {
            append(&self.path, &appended)?;
            self.in_file += added;
        }
        Ok(())
    }

    /// Every digest held with its latest time, sorted (for tests and checks).
    pub fn entries(&self) -> Vec<(u64, i64)> {
        let mut all: Vec<(u64, i64)> = self.segments.iter().flat_map(|s| s.entries.iter().copied()).collect();
        normalise(&mut all);
        all
    }
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

    fn ids(v: &[(&str, i64)]) -> Vec<(String, i64)> {
        v.iter().map(|(i, t)| (i.to_string(), *t)).collect()
    }

    #[test]
    fn digests_survive_a_restart_but_never_past_the_resume_point() {
        let dir = std::env::temp_dir().join(format!("digests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.delivered.bin");
        let mut d = Digests::load(path.clone(), 0).unwrap();
        assert!(d.is_empty());
        d.store(ids(&[("a", 100), ("b", 200), ("old", 5)]), 50).unwrap();
        assert!(d.contains("a") && d.contains("b") && !d.contains("old"));
        let again = Digests::load(path.clone(), 150).unwrap();
        assert!(again.contains("a") && !again.contains("b"), "b is the checkpoint's to know");
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
        assert!(!d.contains("a") && d.contains("b") && d.contains("c"));
        // Many stale entries: the file is rewritten with the live ones only.
        let many: Vec<(String, i64)> = (0..3000).map(|i| (format!("id-{i}"), 1_000 + i)).collect();
        d.store(many, 0).unwrap();
        d.store(Vec::new(), 3_990).unwrap();
        assert_eq!(d.len(), 10);
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(size, 10 * 16, "compacted to the live entries");
        let mut loaded = Digests::load(path.clone(), i64::MAX).unwrap();
        assert_eq!(loaded.entries(), d.entries());
        // Every stored id is found, none other, against a plain set.
        let more: Vec<(String, i64)> = (0..500).map(|i| (format!("x{i}"), 5_000)).collect();
        loaded.store(more.clone(), 0).unwrap();
        assert!(more.iter().all(|(id, _)| loaded.contains(id)));
        assert!((500..1000).all(|i| !loaded.contains(&format!("x{i}"))));
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
}
