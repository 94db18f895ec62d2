//! The dedup set's keys past its memory bound: sorted runs of `(key, time)` in a scratch file,
//! each with a Bloom filter (a key not in a run is told apart without reading it) and an index
//! of its blocks' first keys (a key that may be in it costs one read of 3 KiB).
//!
//! Nothing here outlives the run: the journal holds every id the set holds, and a restart
//! builds the set again from it. The scratch file is made without a name where the file
//! system allows it (`O_TMPFILE`), or named and removed at once; it is replaced whole when the
//! runs are merged, so its size stays that of the keys it holds.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One entry: the key (u128), then the time (i64), little-endian.
const ENTRY: usize = 24;
/// Entries a block: one read finds a key.
const BLOCK: usize = 128;
/// Entries read at a time while merging.
const CHUNK: usize = 2048;
/// Bloom filter bits an entry (about 1 % false positives with [`PROBES`]).
const BITS_AN_ENTRY: usize = 10;
const PROBES: u64 = 4;

/// At most this many runs: past it they are merged into one.
pub const MAX_RUNS: usize = 8;

/// Sorted runs of keys with their latest times.
#[derive(Debug)]
pub struct Runs {
    dir: PathBuf,
    file: Option<File>,
    /// Where the next run is written in `file`.
    end: u64,
    runs: Vec<Run>,
}

#[derive(Debug)]
struct Run {
    offset: u64,
    len: usize,
    /// The first key of each block.
    fences: Vec<u128>,
    bloom: Bloom,
}

impl Runs {
    /// No runs yet; scratch files go in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Runs { dir, file: None, end: 0, runs: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.runs.len()
    }

    /// Drops every run (and the scratch file).
    pub fn clear(&mut self) {
        self.runs.clear();
        self.file = None;
        self.end = 0;
    }

    /// The latest time `key` is held at in any run.
    pub fn latest(&self, key: u128) -> io::Result<Option<i64>> {
        let mut latest = None;
        for run in &self.runs {
            if let Some(t) = self.find(run, key)? {
                latest = latest.max(Some(t));
            }
        }
        Ok(latest)
    }

    fn find(&self, run: &Run, key: u128) -> io::Result<Option<i64>> {
        if !run.bloom.may_hold(key) {
            return Ok(None);
        }
        let Some(block) = run.fences.partition_point(|f| *f <= key).checked_sub(1) else { return Ok(None) };
        let first = block * BLOCK;
        let n = BLOCK.min(run.len - first);
        let mut buf = [0u8; BLOCK * ENTRY];
        self.read(run.offset + (first * ENTRY) as u64, &mut buf[..n * ENTRY])?;
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (k, t) = decode(&buf[mid * ENTRY..(mid + 1) * ENTRY]);
            match k.cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(t)),
            }
        }
        Ok(None)
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match &self.file {
            Some(f) => f.read_exact_at(buf, offset),
            None => Err(io::Error::other("no scratch file")),
        }
    }

    /// Writes `sorted` (sorted by key, one entry a key) as a new run; past [`MAX_RUNS`] all
    /// runs are merged into one.
    pub fn push(&mut self, sorted: &[(u128, i64)]) -> io::Result<()> {
        if sorted.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            self.file = Some(scratch(&self.dir)?);
            self.end = 0;
        }
        let mut writer = RunWriter::new(self.end, sorted.len());
        let mut bytes = Vec::with_capacity(CHUNK * ENTRY);
        for part in sorted.chunks(CHUNK) {
            bytes.clear();
            for &(k, t) in part {
                writer.add(k);
                encode(k, t, &mut bytes);
            }
            if let Some(f) = &self.file {
                f.write_all_at(&bytes, self.end)?;
            }
            self.end += bytes.len() as u64;
        }
        self.runs.push(writer.finish());
        if self.runs.len() > MAX_RUNS {
            let mut none = std::iter::empty();
            self.rewrite(&mut none, |_, _| true)?;
        }
        Ok(())
    }

    /// Merges every run with `more` (sorted by key, one entry a key) into one run in a new
    /// scratch file, an entry a key at its latest time, keeping those `keep` accepts (the
    /// others are given to it and dropped). Returns how many entries are kept.
    pub fn rewrite(
        &mut self,
        more: &mut dyn Iterator<Item = (u128, i64)>,
        mut keep: impl FnMut(u128, i64) -> bool,
    ) -> io::Result<usize> {
        let file = scratch(&self.dir)?;
        let total: usize = self.runs.iter().map(|r| r.len).sum();
        let mut writer = RunWriter::new(0, total + more.size_hint().0);
        let mut bytes = Vec::with_capacity(CHUNK * ENTRY);
        let mut end = 0u64;
        let mut kept = 0;
        {
            let mut merge = Merge::new(self, more)?;
            while let Some((k, t)) = merge.next_entry()? {
                if !keep(k, t) {
                    continue;
                }
                writer.add(k);
                encode(k, t, &mut bytes);
                kept += 1;
                if bytes.len() >= CHUNK * ENTRY {
                    file.write_all_at(&bytes, end)?;
                    end += bytes.len() as u64;
                    bytes.clear();
                }
            }
        }
        file.write_all_at(&bytes, end)?;
        end += bytes.len() as u64;
        self.runs.clear();
        if kept > 0 {
            self.runs.push(writer.finish());
            self.file = Some(file);
            self.end = end;
        } else {
            self.file = None;
            self.end = 0;
        }
        Ok(kept)
    }

    /// Every entry of every run merged with `more`, sorted by key, one a key at its latest.
    pub fn merged(&self, more: &mut dyn Iterator<Item = (u128, i64)>) -> io::Result<Vec<(u128, i64)>> {
        let mut merge = Merge::new(self, more)?;
        let mut all = Vec::new();
        while let Some(e) = merge.next_entry()? {
            all.push(e);
        }
        Ok(all)
    }
}

fn encode(k: u128, t: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&k.to_le_bytes());
    out.extend_from_slice(&t.to_le_bytes());
}

fn decode(e: &[u8]) -> (u128, i64) {
    let k = u128::from_le_bytes(e[..16].try_into().unwrap_or_default());
    let t = i64::from_le_bytes(e[16..ENTRY].try_into().unwrap_or_default());
    (k, t)
}

/// A scratch file in `dir` that no other process can open and that goes when it is closed.
fn scratch(dir: &Path) -> io::Result<File> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let unnamed =
            std::fs::OpenOptions::new().read(true).write(true).mode(0o600).custom_flags(libc::O_TMPFILE).open(dir);
        if let Ok(f) = unnamed {
            return Ok(f);
        }
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!(".dedup-{}-{n}.scratch", std::process::id()));
    let f = super::super::storage::private_options().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

/// Builds a run's index and filter while its entries are written.
struct RunWriter {
    offset: u64,
    len: usize,
    fences: Vec<u128>,
    bloom: Bloom,
}

impl RunWriter {
    fn new(offset: u64, expected: usize) -> Self {
        RunWriter { offset, len: 0, fences: Vec::with_capacity(expected.div_ceil(BLOCK)), bloom: Bloom::new(expected) }
    }

    fn add(&mut self, key: u128) {
        if self.len.is_multiple_of(BLOCK) {
            self.fences.push(key);
        }
        self.bloom.insert(key);
        self.len += 1;
    }

    fn finish(mut self) -> Run {
        self.fences.shrink_to_fit();
        Run { offset: self.offset, len: self.len, fences: self.fences, bloom: self.bloom }
    }
}

/// A Bloom filter over keys, probed with bits of the key's second hash (already uniform).
#[derive(Debug)]
struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    fn new(expected: usize) -> Self {
        let bits = (expected.max(1) * BITS_AN_ENTRY).next_power_of_two().max(64);
        Bloom { words: vec![0; bits / 64] }
    }

    fn insert(&mut self, key: u128) {
        for bit in probes(self.words.len(), key) {
            self.words[bit / 64] |= 1 << (bit % 64);
        }
    }

    fn may_hold(&self, key: u128) -> bool {
        probes(self.words.len(), key).all(|bit| self.words[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

/// The bits a key sets in a filter of `words` words (double hashing of its low 64 bits).
fn probes(words: usize, key: u128) -> impl Iterator<Item = usize> {
    let mask = (words * 64 - 1) as u64;
    let h1 = key as u64 & 0xffff_ffff;
    let h2 = (key as u64 >> 32) | 1;
    (0..PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) & mask) as usize)
}

/// A merge of the runs, read a chunk at a time, and one more sorted source.
struct Merge<'a> {
    runs: &'a Runs,
    cursors: Vec<Cursor>,
    more: &'a mut dyn Iterator<Item = (u128, i64)>,
    more_head: Option<(u128, i64)>,
}

struct Cursor {
    run: usize,
    /// Entries of the run not read yet.
    next: usize,
    buf: std::collections::VecDeque<(u128, i64)>,
}

impl<'a> Merge<'a> {
    fn new(runs: &'a Runs, more: &'a mut dyn Iterator<Item = (u128, i64)>) -> io::Result<Self> {
        let more_head = more.next();
        let cursors = (0..runs.runs.len()).map(|run| Cursor { run, next: 0, buf: Default::default() }).collect();
        let mut m = Merge { runs, cursors, more, more_head };
        for i in 0..m.cursors.len() {
            m.fill(i)?;
        }
        Ok(m)
    }

    fn fill(&mut self, i: usize) -> io::Result<()> {
        let c = &mut self.cursors[i];
        let run = &self.runs.runs[c.run];
        if !c.buf.is_empty() || c.next >= run.len {
            return Ok(());
        }
        let n = CHUNK.min(run.len - c.next);
        let mut bytes = vec![0u8; n * ENTRY];
        self.runs.read(run.offset + (c.next * ENTRY) as u64, &mut bytes)?;
        c.buf.extend(bytes.chunks_exact(ENTRY).map(decode));
        c.next += n;
        Ok(())
    }

    /// The smallest key left, at the latest time any source holds it.
    fn next_entry(&mut self) -> io::Result<Option<(u128, i64)>> {
        let heads = self.cursors.iter().filter_map(|c| c.buf.front().map(|e| e.0));
        let Some(key) = heads.chain(self.more_head.map(|e| e.0)).min() else { return Ok(None) };
        let mut latest = i64::MIN;
        for i in 0..self.cursors.len() {
            while let Some(&(_, t)) = self.cursors[i].buf.front().filter(|e| e.0 == key) {
                latest = latest.max(t);
                self.cursors[i].buf.pop_front();
                self.fill(i)?;
            }
        }
        while let Some((_, t)) = self.more_head.filter(|e| e.0 == key) {
            latest = latest.max(t);
            self.more_head = self.more.next();
        }
        Ok(Some((key, latest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempdir::Dir {
        tempdir::Dir::new()
    }

    /// A directory of its own for each test, removed after.
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p = std::env::temp_dir().join(format!("ocsf-engine-runs-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn sorted(keys: impl IntoIterator<Item = (u128, i64)>) -> Vec<(u128, i64)> {
        let mut v: Vec<_> = keys.into_iter().collect();
        v.sort_unstable();
        v.dedup_by_key(|e| e.0);
        v
    }

    #[test]
    fn finds_every_key_written_and_the_latest_time_across_runs() {
        let d = dir();
        let mut runs = Runs::new(d.0.clone());
        let first =
            sorted((0..1000u128).map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834), i as i64)));
        runs.push(&first).unwrap();
        let later = sorted(first.iter().step_by(7).map(|&(k, t)| (k, t + 5000)));
        runs.push(&later).unwrap();
        for (i, &(k, t)) in first.iter().enumerate() {
            let want = if i % 7 == 0 { t + 5000 } else { t };
            assert_eq!(runs.latest(k).unwrap(), Some(want));
        }
        let absent = (0..1000u128).filter(|k| runs.latest(k ^ (1 << 100)).unwrap().is_some()).count();
        assert_eq!(absent, 0);
        assert_eq!(runs.count(), 2);
        // Merged: one entry a key, at its latest.
        let all = runs.merged(&mut std::iter::empty()).unwrap();
        assert_eq!(all.len(), 1000);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        // Nothing named is left in the directory.
        assert_eq!(std::fs::read_dir(&d.0).unwrap().count(), 0);
    }

    #[test]
    fn past_max_runs_they_are_merged_into_one() {
        let d = dir();
        let mut runs = Runs::new(d.0.clone());
        for r in 0..=MAX_RUNS as u128 {
            let keys = sorted((0..300u128).map(|i| ((i << 64) | (r * 1000 + i), r as i64)));
            runs.push(&keys).unwrap();
        }
        assert_eq!(runs.count(), 1);
        assert_eq!(runs.merged(&mut std::iter::empty()).unwrap().len(), 300 * (MAX_RUNS + 1));
        assert_eq!(runs.latest((5u128 << 64) | 3005).unwrap(), Some(3));
    }

    #[test]
    fn a_rewrite_keeps_what_it_is_told_and_gives_the_rest() {
        let d = dir();
        let mut runs = Runs::new(d.0.clone());
        runs.push(&sorted((0..500u128).map(|i| (i * 3, i as i64)))).unwrap();
        let mut more = sorted((0..500u128).map(|i| (i * 3 + 1, 1000 + i as i64))).into_iter();
        let mut dropped = Vec::new();
        let kept = runs
            .rewrite(&mut more, |k, t| {
                let keep = t >= 250;
                if !keep {
                    dropped.push(k);
                }
                keep
            })
            .unwrap();
        assert_eq!(kept, 750);
        assert_eq!(dropped.len(), 250);
        assert!(dropped.windows(2).all(|w| w[0] < w[1]), "given in key order");
        assert_eq!(runs.latest(3).unwrap(), None);
        assert_eq!(runs.latest(251 * 3).unwrap(), Some(251));
        assert_eq!(runs.latest(4).unwrap(), Some(1001));
        let none = runs.rewrite(&mut std::iter::empty(), |_, _| false).unwrap();
        assert_eq!((none, runs.is_empty()), (0, true));
        assert_eq!(runs.latest(4).unwrap(), None);
    }
}
