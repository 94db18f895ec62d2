//! The on-disk table of digests: one file of `(digest, time)` entries sorted by digest, one a
//! digest, found by a binary search over an index of every block's first digest held in memory
//! (8 bytes for 256 entries) and one read of that block. It is never changed in place: a merge
//! writes a new one beside it and renames it over the old one.
//!
//! Layout: `ocsfdgt1`, the entry count (u64, little-endian), then the entries (digest u64, time
//! i64, little-endian).

use super::super::storage::{ReadAt, private_options, sync_dir};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ocsfdgt1";
const HEADER: u64 = 16;
const ENTRY: usize = 16;
/// Entries a block: one read of 4 KiB finds a digest.
const BLOCK: usize = 256;

/// An open table.
#[derive(Debug)]
pub struct Table {
    path: PathBuf,
    file: File,
    len: u64,
    /// The first digest of each block.
    fences: Vec<u64>,
}

impl Table {
    /// Opens the table at `path` (`None` when there is none), checking its header and size and
    /// reading its block index; a table that is not one is an error.
    pub fn open(path: &Path) -> Result<Option<Self>, String> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        };
        let damaged = |why: &str| format!("`{}` is not a digests table ({why})", path.display());
        let mut header = [0u8; HEADER as usize];
        file.read_exact_at(&mut header, 0).map_err(|_| damaged("too short for its header"))?;
        if &header[..8] != MAGIC {
            return Err(damaged("it does not begin with `ocsfdgt1`"));
        }
        let len = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
        let size = file.metadata().map_err(|e| format!("cannot read `{}`: {e}", path.display()))?.len();
        if len.checked_mul(ENTRY as u64).and_then(|b| b.checked_add(HEADER)) != Some(size) {
            return Err(damaged(&format!("{size} bytes for {len} entries")));
        }
        let mut fences = Vec::with_capacity(len.div_ceil(BLOCK as u64) as usize);
        let mut first = [0u8; 8];
        for block in 0..len.div_ceil(BLOCK as u64) {
            file.read_exact_at(&mut first, HEADER + block * (BLOCK * ENTRY) as u64)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let digest = u64::from_le_bytes(first);
            if fences.last().is_some_and(|&f| f >= digest) {
                return Err(damaged("its entries are not sorted"));
            }
            fences.push(digest);
        }
        Ok(Some(Table { path: path.to_path_buf(), file, len, fences }))
    }

    /// Entries in it.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The time stored with `digest`, if it is in the table.
    pub fn get(&self, digest: u64) -> Result<Option<i64>, String> {
        let Some(block) = self.fences.partition_point(|&f| f <= digest).checked_sub(1) else { return Ok(None) };
        let start = block * BLOCK;
        let n = BLOCK.min((self.len as usize).saturating_sub(start));
        let mut buf = [0u8; BLOCK * ENTRY];
        let bytes = &mut buf[..n * ENTRY];
        self.file
            .read_exact_at(bytes, HEADER + (start * ENTRY) as u64)
            .map_err(|e| format!("cannot read `{}`: {e}", self.path.display()))?;
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (h, t) = decode(&bytes[mid * ENTRY..(mid + 1) * ENTRY]);
            match h.cmp(&digest) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(t)),
            }
        }
        Ok(None)
    }

    /// Every entry, in order (streamed from the file by positional reads, so that any number
    /// of readers and look-ups may share it); a read that fails ends it early.
    pub fn entries(&self) -> impl Iterator<Item = (u64, i64)> + '_ {
        let mut reader = BufReader::with_capacity(64 * 1024, ReadAt::new(&self.file, HEADER));
        let mut left = self.len;
        std::iter::from_fn(move || {
            let mut e = [0u8; ENTRY];
            (left > 0 && reader.read_exact(&mut e).is_ok()).then(|| {
                left -= 1;
                decode(&e)
            })
        })
    }

    /// Writes `entries` (sorted by digest, one a digest) as the table at `path`, durably: a
    /// temporary file, fsync, rename, fsync of the directory; mode 0600. Returns it open.
    /// `whole` says, once `entries` is spent, whether they were all there (a source that could
    /// not be read to its end): if not, nothing replaces the table.
    pub fn write(
        path: &Path,
        entries: impl Iterator<Item = (u64, i64)>,
        whole: impl FnOnce() -> Result<(), String>,
    ) -> Result<Self, String> {
        let err = |e: std::io::Error| format!("cannot write `{}`: {e}", path.display());
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = path.with_extension("tbl.tmp");
        let file = private_options().read(true).write(true).create(true).truncate(true).open(&tmp).map_err(err)?;
        let mut out = BufWriter::with_capacity(64 * 1024, &file);
        out.write_all(&[0u8; HEADER as usize]).map_err(err)?;
        let mut len = 0u64;
        let mut last = None;
        for (digest, time) in entries {
            debug_assert!(last.is_none_or(|l| l < digest), "entries sorted, one a digest");
            last = Some(digest);
            out.write_all(&digest.to_le_bytes()).and_then(|()| out.write_all(&time.to_le_bytes())).map_err(err)?;
            len += 1;
        }
        out.flush().map_err(err)?;
        drop(out);
        if let Err(e) = whole() {
            drop(file);
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        file.write_all_at(&[&MAGIC[..], &len.to_le_bytes()].concat(), 0).map_err(err)?;
        file.sync_all().map_err(err)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(err)?;
        sync_dir(dir);
        Table::open(path)?.ok_or_else(|| format!("`{}` vanished as it was written", path.display()))
    }
}

fn decode(e: &[u8]) -> (u64, i64) {
    let h = u64::from_le_bytes(e[..8].try_into().unwrap_or_default());
    let t = i64::from_le_bytes(e[8..16].try_into().unwrap_or_default());
    (h, t)
}

/// Merges two sequences sorted by digest (one entry a digest in each) into one, the later
/// time of a digest in both kept.
pub fn merge(
    a: impl Iterator<Item = (u64, i64)>,
    b: impl Iterator<Item = (u64, i64)>,
) -> impl Iterator<Item = (u64, i64)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek().copied(), b.peek().copied()) {
        (Some(x), Some(y)) if x.0 == y.0 => {
            a.next();
            b.next();
            Some((x.0, x.1.max(y.1)))
        }
        (Some(x), Some(y)) => Some(if x.0 < y.0 { a.next()? } else { b.next()? }),
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("digests-table-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("audit.delivered.tbl")
    }

    #[test]
    fn every_entry_is_found_and_nothing_else_across_blocks() {
        let path = temp("find");
        // Seven blocks and part of an eighth, spread over the whole digest range.
        let entries: Vec<(u64, i64)> =
            (0..(BLOCK as u64 * 7 + 13)).map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, i as i64)).collect();
        let mut sorted = entries.clone();
        sorted.sort_unstable();
        let t = Table::write(&path, sorted.iter().copied(), || Ok(())).unwrap();
        assert_eq!(t.len(), sorted.len() as u64);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), HEADER + 16 * sorted.len() as u64);
        for (h, time) in &entries {
            assert_eq!(t.get(*h).unwrap(), Some(*time));
            assert_eq!(t.get(h ^ 1).unwrap(), None, "an even digest is never stored");
        }
        assert_eq!(t.get(0).unwrap(), None);
        assert_eq!(t.get(u64::MAX).unwrap(), None);
        assert_eq!(t.entries().collect::<Vec<_>>(), sorted);
        let again = Table::open(&path).unwrap().unwrap();
        assert_eq!(again.get(sorted[BLOCK].0).unwrap(), Some(sorted[BLOCK].1));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let empty = Table::write(&path, std::iter::empty(), || Ok(())).unwrap();
        assert_eq!((empty.len(), empty.get(5).unwrap()), (0, None));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_file_that_is_not_a_table_is_refused() {
        let path = temp("damaged");
        assert!(Table::open(&path).unwrap().is_none(), "no table yet");
        Table::write(&path, [(1, 10), (2, 20)].into_iter(), || Ok(())).unwrap();
        // A source found short once spent replaces nothing.
        let short = Table::write(&path, [(3, 30)].into_iter(), || Err("short".into()));
        assert_eq!(short.unwrap_err(), "short");
        assert_eq!(Table::open(&path).unwrap().unwrap().len(), 2);
        assert!(!path.with_extension("tbl.tmp").exists());
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        assert!(Table::open(&path).unwrap_err().contains("bytes for 2 entries"));
        std::fs::write(&path, b"something else entirely").unwrap();
        assert!(Table::open(&path).unwrap_err().contains("does not begin with"));
        let unsorted: Vec<u8> = [&MAGIC[..], &(2 * BLOCK as u64).to_le_bytes()]
            .concat()
            .into_iter()
            .chain((0..2 * BLOCK as u64).rev().flat_map(|i| [i.to_le_bytes(), 0i64.to_le_bytes()].concat()))
            .collect();
        std::fs::write(&path, unsorted).unwrap();
        assert!(Table::open(&path).unwrap_err().contains("not sorted"));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_merge_keeps_one_entry_a_digest_with_its_later_time() {
        let a = [(1, 10), (3, 30), (5, 50)];
        let b = [(2, 20), (3, 35), (6, 60)];
        let merged: Vec<_> = merge(a.into_iter(), b.into_iter()).collect();
        assert_eq!(merged, [(1, 10), (2, 20), (3, 35), (5, 50), (6, 60)]);
        assert_eq!(merge(b.into_iter(), std::iter::empty()).collect::<Vec<_>>(), b);
    }
}
