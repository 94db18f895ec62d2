//! Writing the archive: the lines of a batch gathered per day file in memory, then, before the
//! batch is sent, each day's lines appended to its file as one gzip member and synced. The
//! checkpoint keeps the committed length of every day file that can hold bytes past a commit
//! (a file about to be written that the checkpoint does not name yet is named first,
//! write-ahead), so that a restart cuts what a killed run wrote past its commit; the cut falls
//! on a member boundary, which leaves a valid gzip file.

use crate::sink::mark::{FileMark, absolute, current_len, restore};
use crate::source::timefmt::iso_millis;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The archive of one run.
#[derive(Debug)]
pub struct Archive {
    dir: PathBuf,
    /// Lines gathered since the last write, by day file.
    pending: BTreeMap<PathBuf, Vec<u8>>,
}

/// The day file of an instant: `DIR/YYYY-MM-DD.ndjson.gz` (UTC).
pub fn day_file(dir: &Path, time_ms: i64) -> PathBuf {
    let day = iso_millis(time_ms);
    dir.join(format!("{}.ndjson.gz", &day[..day.find('T').unwrap_or(day.len())]))
}

impl Archive {
    /// An archive in `dir` (created on the first write).
    pub fn new(dir: &Path) -> Self {
        Archive { dir: absolute(dir), pending: BTreeMap::new() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps one record's bytes (`line`, newlines inside it turned into spaces: JSON
    /// whitespace) for the day of `time_ms`.
    pub fn add(&mut self, line: &[u8], time_ms: i64) {
        let buf = self.pending.entry(day_file(&self.dir, time_ms)).or_default();
        buf.extend(line.iter().map(|b| if matches!(b, b'\n' | b'\r') { b' ' } else { *b }));
        buf.push(b'\n');
    }

    /// The day files the next write appends to that `committed` does not name, at their
    /// current length: what the checkpoint must name before the write.
    pub fn unmarked(&self, committed: &[FileMark]) -> Vec<FileMark> {
        self.pending
            .keys()
            .filter(|f| !committed.iter().any(|m| m.is_for(f)))
            .map(|f| FileMark::new(f, current_len(f)))
            .collect()
    }

    /// Appends the lines gathered, one gzip member per day file, and syncs each file;
    /// returns the length of every file written (what the commit records).
    pub fn write(&mut self) -> Result<Vec<FileMark>, String> {
        let mut written = Vec::new();
        for (file, lines) in std::mem::take(&mut self.pending) {
            let err = |e: std::io::Error| format!("cannot write the archive file `{}`: {e}", file.display());
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| format!("cannot create the archive directory `{}`: {e}", self.dir.display()))?;
            let mut gz = GzEncoder::new(Vec::with_capacity(lines.len() / 4), Compression::default());
            gz.write_all(&lines).map_err(err)?;
            let member = gz.finish().map_err(err)?;
            let mut f = std::fs::OpenOptions::new().append(true).create(true).open(&file).map_err(err)?;
            f.write_all(&member).map_err(err)?;
            f.sync_data().map_err(err)?;
            let len = f.metadata().map_err(err)?.len();
            written.push(FileMark::new(&file, len));
        }
        if !written.is_empty()
            && let Ok(d) = std::fs::File::open(&self.dir)
        {
            // A new day file's name is durable too.
            let _ = d.sync_all();
        }
        Ok(written)
    }

    /// Before anything is written (a restart): cuts each day file back to its committed
    /// length. A file that is gone was removed by the operator (retention) and stays gone.
    pub fn restore(marks: &[FileMark]) -> Result<(), String> {
        for m in marks {
            if !m.file.exists() {
                continue;
            }
            restore(&m.file, m.offset).map_err(|e| format!("archive: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("archive-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn read(file: &Path) -> String {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap()).read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn one_member_per_write_and_a_cut_at_a_mark_stays_valid() {
        let d = dir("cut");
        let mut a = Archive::new(&d);
        let day = 1_764_547_200_000; // 2025-12-01T00:00:00Z
        a.add(b"{\"id\":\"1\"}", day);
        a.add(b"{\"id\":\n\"2\"}", day + 1);
        a.add(b"{\"id\":\"0\"}", day - 1);
        assert_eq!(a.unmarked(&[]).len(), 2, "two day files");
        let first = a.write().unwrap();
        let today = d.join("2025-12-01.ndjson.gz");
        assert_eq!(read(&today), "{\"id\":\"1\"}\n{\"id\": \"2\"}\n");
        assert_eq!(read(&d.join("2025-11-30.ndjson.gz")), "{\"id\":\"0\"}\n");
        a.add(b"{\"id\":\"3\"}", day + 2);
        assert!(a.unmarked(&first).is_empty(), "both files are named by the commit");
        a.write().unwrap();
        assert_eq!(read(&today), "{\"id\":\"1\"}\n{\"id\": \"2\"}\n{\"id\":\"3\"}\n");
        // A restart cuts the second member off: the first stays readable.
        Archive::restore(&first).unwrap();
        assert_eq!(read(&today), "{\"id\":\"1\"}\n{\"id\": \"2\"}\n");
        // A day file the operator removed stays removed.
        std::fs::remove_file(&today).unwrap();
        Archive::restore(&first).unwrap();
        assert!(!today.exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
