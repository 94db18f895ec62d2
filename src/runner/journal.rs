//! The dedup journal: the ids a stream delivered since its resume point, kept beside the
//! checkpoint as an append-only file (`<stream>.seen.<generation>.jsonl`, one `["id", time_ms]`
//! a line) instead of inside it, so that a commit appends the ids of its batch rather than
//! rewriting every id of the window.
//!
//! The checkpoint records the journal's generation and committed length ([`JournalMark`]);
//! bytes past that length were appended by a run that died before its commit and are cut off
//! when the journal is opened, exactly like the sink's own files. When the position passes a
//! window, the ids still needed (the overlap) start a new generation, written whole once; the
//! checkpoint that names it retires the old file. A checkpoint kept in a coordination store
//! (a fleet) holds its ids itself, as before.

use super::storage::{ReadAt, private_options, sync_dir};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// An id delivered and its record's time (Unix ms).
pub type Entry = (String, i64);

/// What a checkpoint records of its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalMark {
    pub generation: u64,
    /// Bytes committed.
    pub len: u64,
}

/// One stream's journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    /// `<state>/<source>/<stream>`: the files are `<stem>.seen.<generation>.jsonl`.
    stem: PathBuf,
    generation: u64,
    file: File,
    len: u64,
    /// A generation replaced by a newer one, removed once a checkpoint names the newer.
    retired: Option<u64>,
}

impl Journal {
    /// The file of `generation`.
    pub fn path(stem: &Path, generation: u64) -> PathBuf {
        let name = stem.file_name().and_then(|n| n.to_str()).unwrap_or("stream");
        stem.with_file_name(format!("{name}.seen.{generation}.jsonl"))
    }

    /// Opens the journal a checkpoint names (`None`: a stream without one yet, which starts
    /// generation 1), cutting off bytes past its committed length, and returns the ids it holds
    /// (an id appended again, with a later time, keeps the latest). Files of other generations
    /// are left-overs of a run that died mid-change and are removed.
    pub fn open(stem: &Path, mark: Option<JournalMark>) -> Result<(Journal, Vec<(String, i64)>), String> {
        let dir = stem.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}; {}", dir.display(), super::storage::advice(&e, dir)))?;
        let mark = mark.unwrap_or(JournalMark { generation: 1, len: 0 });
        let path = Self::path(stem, mark.generation);
        let opened = private_options().read(true).write(true).create(mark.len == 0).open(&path);
        let (file, len, entries) = Self::committed_entries(&path, opened, mark)?;
        let mut file = file;
        if len > mark.len {
            file.set_len(mark.len).map_err(|e| format!("cannot cut `{}` back to its commit: {e}", path.display()))?;
        }
        file.seek(SeekFrom::Start(mark.len)).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut journal =
            Journal { stem: stem.to_path_buf(), generation: mark.generation, file, len: mark.len, retired: None };
        journal.remove_others();
        Ok((journal, entries))
    }

    /// The ids of the journal a checkpoint names, read without changing anything (a dry run).
    pub fn read_committed(stem: &Path, mark: JournalMark) -> Result<Vec<(String, i64)>, String> {
        if mark.len == 0 {
            return Ok(Vec::new());
        }
        let path = Self::path(stem, mark.generation);
        let opened = File::open(&path);
        Self::committed_entries(&path, opened, mark).map(|(_, _, entries)| entries)
    }

    /// The file at `path` (as `opened`), its length, and the entries of its committed part.
    fn committed_entries(
        path: &Path,
        opened: std::io::Result<File>,
        mark: JournalMark,
    ) -> Result<(File, u64, Vec<Entry>), String> {
        let damaged = |why: String| {
            format!(
                "the dedup journal `{}` {why}: resuming would repeat records. Restore it, or move the \
                 checkpoint away to start over from the look-back",
                path.display()
            )
        };
        let mut entries = Vec::new();
        let file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(damaged(format!("is missing ({} bytes were committed)", mark.len)));
            }
            Err(e) => return Err(format!("cannot open `{}`: {e}", path.display())),
        };
        let len = file.metadata().map_err(|e| format!("cannot read `{}`: {e}", path.display()))?.len();
        if len < mark.len {
            return Err(damaged(format!("holds {len} bytes but {} were committed", mark.len)));
        }
        each_entry(&file, mark.len, path, |e| entries.push(e)).map_err(|e| match e {
            Unread::Io(e) => e,
            Unread::Damaged(why) => damaged(why),
        })?;
        Ok((file, len, entries))
    }

    /// Removes the files of every generation but this one.
    fn remove_others(&mut self) {
        let Some(dir) = self.stem.parent() else { return };
        let Some(name) = self.stem.file_name().and_then(|n| n.to_str()) else { return };
        let prefix = format!("{name}.seen.");
        let Ok(list) = std::fs::read_dir(dir) else { return };
        for entry in list.flatten() {
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let generation = file.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".jsonl"));
            if generation.and_then(|g| g.parse::<u64>().ok()).is_some_and(|g| g != self.generation) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        self.retired = None;
    }

    /// Appends `entries` and makes them durable; the mark to commit.
    pub fn append(&mut self, entries: &[(String, i64)]) -> Result<JournalMark, String> {
        if !entries.is_empty() {
            let body = encode(entries);
            let written = self.file.write_all(&body).and_then(|()| self.file.sync_data());
            written.map_err(|e| self.error(e))?;
            self.len += body.len() as u64;
        }
        Ok(self.mark())
    }

    /// Starts the next generation with the ids still needed, durable; the mark to commit.
    /// They are the entries `keep` accepts (an id and the time it is held at) of the current
    /// generation's committed part, then of `also` (what is not in it yet: uncommitted
    /// changes, ids carried over from a checkpoint that held them), each id once; read and
    /// written a line at a time. The current file stays until [`Journal::committed`] is told
    /// the checkpoint names the new one.
    pub fn restart(&mut self, keep: impl Fn(&str, i64) -> bool, also: &[Entry]) -> Result<JournalMark, String> {
        let generation = self.generation + 1;
        let path = Self::path(&self.stem, generation);
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| self.error(e))?;
        let mut out = std::io::BufWriter::new(&file);
        let mut written: HashSet<String> = HashSet::new();
        let mut len = 0u64;
        let mut failed = None;
        let mut line = Vec::new();
        let mut put = |(id, t): Entry| {
            if failed.is_some() || !keep(&id, t) || written.contains(&id) {
                return;
            }
            line.clear();
            encode_into(&mut line, &id, t);
            match out.write_all(&line) {
                Ok(()) => len += line.len() as u64,
                Err(e) => failed = Some(e),
            }
            written.insert(id);
        };
        let current = Self::path(&self.stem, self.generation);
        each_entry(&self.file, self.len, &current, &mut put).map_err(|e| match e {
            Unread::Io(e) => e,
            Unread::Damaged(why) => format!("the dedup journal `{}` {why}", current.display()),
        })?;
        for entry in also {
            put(entry.clone());
        }
        if let Some(e) = failed {
            return Err(self.error(e));
        }
        out.flush().map_err(|e| self.error(e))?;
        drop(out);
        file.sync_all().map_err(|e| self.error(e))?;
        sync_dir(path.parent().unwrap_or(Path::new(".")));
        self.retired = Some(self.generation);
        self.generation = generation;
        self.file = file;
        self.len = len;
        Ok(self.mark())
    }

    /// A checkpoint naming the current generation was saved: the one it replaced goes.
    pub fn committed(&mut self) {
        if let Some(old) = self.retired.take() {
            let _ = std::fs::remove_file(Self::path(&self.stem, old));
        }
    }

    pub fn mark(&self) -> JournalMark {
        JournalMark { generation: self.generation, len: self.len }
    }

    fn error(&self, e: std::io::Error) -> String {
        let path = Self::path(&self.stem, self.generation);
        let dir = path.parent().unwrap_or(Path::new("."));
        format!("cannot write the dedup journal `{}`: {e}; {}", path.display(), super::storage::advice(&e, dir))
    }
}

/// `["id",time]` lines.
fn encode(entries: &[(String, i64)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(entries.len() * 56);
    for (id, t) in entries {
        encode_into(&mut body, id, *t);
    }
    body
}

/// One `["id",time]` line.
fn encode_into(body: &mut Vec<u8>, id: &str, t: i64) {
    serde_json::to_writer(&mut *body, &(id, t)).expect("a string and an integer encode");
    body.push(b'\n');
}

/// Why entries could not be read.
enum Unread {
    Io(String),
    /// What is wrong with the file (for an operator's message).
    Damaged(String),
}

/// Calls `f` with each entry of the first `limit` bytes of `file` (at `path`), read by
/// positional reads (the file's own position, where appends go, is left alone).
fn each_entry(file: &File, limit: u64, path: &Path, mut f: impl FnMut(Entry)) -> Result<(), Unread> {
    let mut reader = BufReader::new(ReadAt::new(file, 0).take(limit));
    let mut line = Vec::new();
    let mut at = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Unread::Io(format!("cannot read `{}`: {e}", path.display())))?;
        if n == 0 {
            return Ok(());
        }
        let entry: Entry =
            serde_json::from_slice(&line).map_err(|e| Unread::Damaged(format!("is damaged at byte {at} ({e})")))?;
        f(entry);
        at += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("journal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join("audit")
    }

    fn ids(v: &[(&str, i64)]) -> Vec<(String, i64)> {
        v.iter().map(|(i, t)| (i.to_string(), *t)).collect()
    }

    #[test]
    fn appends_are_read_back_up_to_the_committed_length_only() {
        let s = stem("append");
        let (mut j, held) = Journal::open(&s, None).unwrap();
        assert!(held.is_empty());
        let m1 = j.append(&ids(&[("a", 1), ("b\"\n", 2)])).unwrap();
        assert_eq!(m1.generation, 1);
        // Appended after the last commit, by a run that then died: not delivered.
        let _uncommitted = j.append(&ids(&[("c", 3)])).unwrap();
        drop(j);
        let (mut j, held) = Journal::open(&s, Some(m1)).unwrap();
        assert_eq!(held, ids(&[("a", 1), ("b\"\n", 2)]));
        assert_eq!(std::fs::metadata(Journal::path(&s, 1)).unwrap().len(), m1.len, "the tail is cut off");
        let m2 = j.append(&ids(&[("d", 4)])).unwrap();
        let (_, held) = Journal::open(&s, Some(m2)).unwrap();
        assert_eq!(held, ids(&[("a", 1), ("b\"\n", 2), ("d", 4)]));
        let _ = std::fs::remove_dir_all(s.parent().unwrap());
    }

    #[test]
    fn a_new_generation_replaces_the_old_once_committed() {
        let s = stem("restart");
        let (mut j, _) = Journal::open(&s, None).unwrap();
        let m1 = j.append(&ids(&[("a", 1), ("b", 2)])).unwrap();
        let m2 = j.restart(|id, t| (id, t) == ("b", 2), &[]).unwrap();
        assert_eq!(m2.generation, 2);
        // A crash before the checkpoint names generation 2: the old one is still there.
        assert!(Journal::path(&s, 1).exists());
        let (_, held) = Journal::open(&s, Some(m1)).unwrap();
        assert_eq!(held, ids(&[("a", 1), ("b", 2)]));
        assert!(!Journal::path(&s, 2).exists(), "the unnamed generation is removed");
        let (mut j, _) = Journal::open(&s, Some(m1)).unwrap();
        let m2 = j.restart(|id, t| (id, t) == ("b", 2), &[]).unwrap();
        j.committed();
        assert!(!Journal::path(&s, 1).exists());
        let (_, held) = Journal::open(&s, Some(m2)).unwrap();
        assert_eq!(held, ids(&[("b", 2)]));
        let _ = std::fs::remove_dir_all(s.parent().unwrap());
    }

    #[test]
    fn a_missing_short_or_damaged_journal_is_refused() {
        let s = stem("damaged");
        let (mut j, _) = Journal::open(&s, None).unwrap();
        let m = j.append(&ids(&[("a", 1), ("b", 2)])).unwrap();
        drop(j);
        let path = Journal::path(&s, 1);
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let e = Journal::open(&s, Some(m)).unwrap_err();
        assert!(e.contains("holds") && e.contains("move the checkpoint away"), "{e}");
        let mut bad = full.clone();
        bad[0] = b'{';
        std::fs::write(&path, &bad).unwrap();
        assert!(Journal::open(&s, Some(m)).unwrap_err().contains("damaged at byte 0"));
        std::fs::remove_file(&path).unwrap();
        assert!(Journal::open(&s, Some(m)).unwrap_err().contains("missing"));
        assert!(!path.exists(), "a missing journal is not created empty");
        let _ = std::fs::remove_dir_all(s.parent().unwrap());
    }

    #[test]
    fn a_new_generation_holds_what_the_set_still_holds_each_id_once() {
        let s = stem("restart-filter");
        let (mut j, _) = Journal::open(&s, None).unwrap();
        // "a" sighted again later (two lines), "b" drained since, "c" held.
        j.append(&ids(&[("a", 1), ("b", 2), ("c", 3), ("a", 5)])).unwrap();
        let held = |id: &str| match id {
            "a" => Some(5),
            "c" => Some(3),
            "d" => Some(7),
            "e" => Some(8),
            _ => None,
        };
        // Not yet in the journal: a change since the commit ("d"), one drained already ("f"),
        // and "c" again from a checkpoint that carried it.
        let also = ids(&[("d", 7), ("f", 9), ("c", 3), ("e", 8)]);
        let m = j.restart(|id, t| held(id) == Some(t), &also).unwrap();
        assert_eq!(m.generation, 2);
        assert_eq!(m.len, std::fs::metadata(Journal::path(&s, 2)).unwrap().len());
        j.committed();
        // Appends go on after what was written.
        let m = j.append(&ids(&[("g", 10)])).unwrap();
        let (_, read) = Journal::open(&s, Some(m)).unwrap();
        assert_eq!(read, ids(&[("c", 3), ("a", 5), ("d", 7), ("e", 8), ("g", 10)]));
        let _ = std::fs::remove_dir_all(s.parent().unwrap());
    }
}
