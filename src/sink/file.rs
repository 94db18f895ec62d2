//! The `file` sink: NDJSON appended to a file, synced before a batch is acknowledged, and
//! rotated by size (`events.ndjson` → `events.ndjson.1`, `.2`, …, the highest the newest; with
//! `--rotate-keep N` the oldest beyond N are deleted). On SIGHUP (logrotate's `postrotate`) the
//! path is opened again before the next batch, which the checkpoint records first as the
//! batch's intent (rotate.rs).
//!
//! Crash safety: the checkpoint records the file and its committed length; a restart cuts off
//! whatever lies past it (a batch written but never committed, a line torn mid-write) before
//! writing again. A rotation happens only at a batch boundary and is announced in the
//! checkpoint before the rename (the intent names the new name of the full file), so that a
//! restart knows which file holds the committed bytes.

use super::mark::{FileMark, absolute, restore};
use super::rotate::{FileId, Reopens, SIGHUP};
use super::{Ack, Batch, BoxFuture, Sink, SinkError};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rotate once the file holds this many bytes (by default).
pub const DEFAULT_ROTATE_BYTES: u64 = 256 << 20;

#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    rotate_bytes: u64,
    /// The name the full file gets at the next write, announced by [`Sink::intent`].
    rotate_to: Option<PathBuf>,
    /// The open file's identity (it may have been moved from its path since).
    id: Option<FileId>,
    /// Rotated files kept (`--rotate-keep`); all when `None`.
    keep: Option<u32>,
    /// Reopen requests (SIGHUP), and the count already acted on.
    reopens: &'static Reopens,
    reopens_seen: u64,
}

impl FileSink {
    /// Opens `path` for appending (creating it and its directory). `truncate` empties it first.
    pub fn open(path: &Path, rotate_bytes: u64, truncate: bool) -> Result<Self, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        }
        let file = open_append(path, truncate)?;
        let meta = file.metadata().ok();
        Ok(FileSink {
            path: path.to_path_buf(),
            file: Some(file),
            size: meta.as_ref().map_or(0, |m| m.len()),
            rotate_bytes: rotate_bytes.max(1),
            rotate_to: None,
            id: meta.as_ref().and_then(FileId::of),
            keep: None,
            reopens: &SIGHUP,
            reopens_seen: SIGHUP.count(),
        })
    }

    /// Follows `reopens` instead of SIGHUP's (tests).
    pub fn with_reopens(mut self, reopens: &'static Reopens) -> Self {
        self.reopens = reopens;
        self.reopens_seen = reopens.count();
        self
    }

    /// Keeps at most `keep` rotated files, deleting the oldest after each rotation.
    pub fn with_keep(mut self, keep: Option<u32>) -> Self {
        self.keep = keep;
        self
    }

    /// Opens the path again (a new file where logrotate moved the old one away).
    fn reopen(&mut self) -> Result<(), String> {
        let file = open_append(&self.path, false)?;
        let meta = file.metadata().map_err(|e| format!("cannot read `{}`: {e}", self.path.display()))?;
        self.size = meta.len();
        self.id = FileId::of(&meta);
        self.file = Some(file);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn needs_rotation(&self) -> bool {
        self.size >= self.rotate_bytes && self.size > 0
    }

    /// The name after the highest of `events.ndjson.1`, `.2`, … (so that deleting the oldest
    /// never brings a number back).
    fn next_rotation(&self) -> PathBuf {
        let n = super::rotate::rotations(&self.path).last().map_or(1, |n| n + 1);
        PathBuf::from(format!("{}.{n}", self.path.display()))
    }

    fn rotate(&mut self, target: PathBuf) -> Result<(), String> {
        self.file = None;
        std::fs::rename(&self.path, &target)
            .map_err(|e| format!("cannot rotate `{}` to `{}`: {e}", self.path.display(), target.display()))?;
        self.reopen()?;
        if let Some(keep) = self.keep {
            super::rotate::prune(&self.path, keep);
        }
        Ok(())
    }

    fn write(&mut self, batch: &Batch) -> Result<(), String> {
        if let Some(target) = self.rotate_to.take() {
            self.rotate(target)?;
        } else if self.needs_rotation() {
            let target = self.next_rotation();
            self.rotate(target)?;
        }
        let mut buf = Vec::with_capacity(batch.bytes + batch.len());
        for e in &batch.events {
            buf.extend_from_slice(e.line.as_bytes());
            buf.push(b'\n');
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(open_append(&self.path, false)?),
        };
        let err = |e: std::io::Error| format!("cannot write `{}`: {e}", self.path.display());
        file.write_all(&buf).map_err(err)?;
        file.sync_data().map_err(err)?;
        self.size += buf.len() as u64;
        Ok(())
    }
}

fn open_append(path: &Path, truncate: bool) -> Result<File, String> {
    let mut o = OpenOptions::new();
    if truncate {
        o.write(true).create(true).truncate(true);
    } else {
        o.append(true).create(true);
    }
    o.open(path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))
}

impl Sink for FileSink {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            self.write(batch).map_err(SinkError::Fatal)?;
            Ok(Ack { accepted: batch.len(), rejected: 0 })
        })
    }

    fn committed(&self) -> Option<Value> {
        serde_json::to_value(FileMark::new(&self.path, self.size).with_id(self.id)).ok()
    }

    fn intent(&mut self, _batch: &Batch) -> Result<Option<Value>, SinkError> {
        // After a SIGHUP: the batch goes into the file now at the path, named here first.
        if self.reopens.due(&mut self.reopens_seen) {
            self.reopen().map_err(SinkError::Fatal)?;
            let opened = FileMark::new(&self.path, self.size).with_id(self.id);
            return Ok(Some(serde_json::json!({ "reopened": opened })));
        }
        if !self.needs_rotation() {
            return Ok(None);
        }
        let target = self.next_rotation();
        let intent = serde_json::json!({ "rotate_to": absolute(&target) });
        self.rotate_to = Some(target);
        Ok(Some(intent))
    }

    fn resume<'a>(
        &'a mut self,
        committed: Option<&'a Value>,
        pending: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            // Without a committed state (a first run), the file's current end is the start.
            let Some(committed) = committed else { return Ok(()) };
            let mark: FileMark = serde_json::from_value(committed.clone()).map_err(|e| {
                SinkError::Fatal(format!("the checkpoint's state of the file sink is not readable: {e}"))
            })?;
            // A different --output than last time: a new file, appended to from its end.
            if !mark.is_for(&self.path) {
                return Ok(());
            }
            let rotated = pending.and_then(|p| p.get("rotate_to")).and_then(Value::as_str).map(PathBuf::from);
            let reopened: Option<FileMark> =
                pending.and_then(|p| p.get("reopened")).and_then(|m| serde_json::from_value(m.clone()).ok());
            let fatal = |e: super::mark::MarkError| SinkError::Fatal(e.to_string());
            match rotated {
                // Reopened after a SIGHUP: the old file (moved away) holds the committed bytes,
                // the new one what the uncommitted batch wrote past its length then.
                _ if reopened.as_ref().is_some_and(|r| r.id.is_some() && r.id == FileId::at(&self.path)) => {
                    mark.restore().map_err(fatal)?;
                    reopened.unwrap_or_else(|| unreachable!("checked")).restore().map_err(fatal)?;
                }
                // The rotation happened: the renamed file holds the committed bytes, the new
                // file none.
                Some(target) if target.exists() => {
                    restore(&target, mark.offset).map_err(fatal)?;
                    restore(&self.path, 0).map_err(fatal)?;
                }
                _ => mark.restore().map_err(fatal)?,
            }
            self.rotate_to = None;
            self.reopen().map_err(SinkError::Fatal)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EncodedEvent;

    fn batch(lines: &[&str]) -> Batch {
        let events: Vec<EncodedEvent> =
            lines.iter().map(|l| EncodedEvent { line: l.to_string(), time_ms: 0 }).collect();
        let bytes = events.iter().map(|e| e.line.len() + 1).sum();
        Batch { events, bytes }
    }

    #[tokio::test]
    async fn appends_and_rotates_by_size() {
        let dir = std::env::temp_dir().join(format!("file-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("out/events.ndjson");
        let mut sink = FileSink::open(&path, 8, false).unwrap();
        assert_eq!(sink.send(&batch(&["{\"a\":1}", "{\"a\":2}"])).await.unwrap().accepted, 2);
        sink.send(&batch(&["{\"a\":3}"])).await.unwrap();
        sink.send(&batch(&["{\"a\":4}"])).await.unwrap();
        let first = std::fs::read_to_string(format!("{}.1", path.display())).unwrap();
        assert_eq!(first, "{\"a\":1}\n{\"a\":2}\n");
        let second = std::fs::read_to_string(format!("{}.2", path.display())).unwrap();
        assert_eq!(second, "{\"a\":3}\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":4}\n");
        // Reopening appends.
        let mut again = FileSink::open(&path, 1 << 20, false).unwrap();
        again.send(&batch(&["{\"a\":5}"])).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":4}\n{\"a\":5}\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("file-sink-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[tokio::test]
    async fn a_restart_cuts_what_was_written_after_the_last_commit() {
        let d = dir("resume");
        let path = d.join("events.ndjson");
        let mut sink = FileSink::open(&path, 1 << 20, false).unwrap();
        sink.send(&batch(&["{\"a\":1}"])).await.unwrap();
        let committed = sink.committed();
        // Written but never committed, then a line torn by the kill.
        sink.send(&batch(&["{\"a\":2}"])).await.unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"a\":").unwrap();
        drop(sink);
        let mut again = FileSink::open(&path, 1 << 20, false).unwrap();
        again.resume(committed.as_ref(), None).await.unwrap();
        again.send(&batch(&["{\"a\":2}"])).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"a\":2}\n");
        // A file shorter than its committed offset is refused, naming it, and left alone.
        let committed = again.committed();
        std::fs::write(&path, "{}").unwrap();
        let mut third = FileSink::open(&path, 1 << 20, false).unwrap();
        match third.resume(committed.as_ref(), None).await {
            Err(SinkError::Fatal(m)) => assert!(m.contains("events.ndjson") && m.contains("were committed"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_reopen_after_logrotate_is_announced_and_a_restart_cuts_each_file_back() {
        let reopens: &'static Reopens = Box::leak(Box::default());
        let d = dir("reopen");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("events.ndjson");
        let moved = d.join("events.ndjson-1");
        let mut sink = FileSink::open(&path, 1 << 20, false).unwrap().with_reopens(reopens);
        sink.send(&batch(&["{\"a\":1}"])).await.unwrap();
        let committed = sink.committed();
        // logrotate `create`, then SIGHUP: the next batch goes into the new file, named first.
        std::fs::rename(&path, &moved).unwrap();
        std::fs::write(&path, "").unwrap();
        reopens.request();
        let intent = sink.intent(&batch(&["{\"a\":2}"])).unwrap().expect("the reopen is announced");
        assert_eq!(intent["reopened"]["offset"], 0);
        sink.send(&batch(&["{\"a\":2}"])).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":2}\n");
        // Killed before the commit, with a stray byte in the moved file too.
        std::fs::OpenOptions::new().append(true).open(&moved).unwrap().write_all(b"{").unwrap();
        drop(sink);
        let mut again = FileSink::open(&path, 1 << 20, false).unwrap().with_reopens(reopens);
        again.resume(committed.as_ref(), Some(&intent)).await.unwrap();
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), "{\"a\":1}\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        assert_eq!(again.intent(&batch(&["{\"a\":2}"])).unwrap(), None, "the reopen was acted on");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_rotation_is_announced_and_a_restart_finds_the_committed_bytes() {
        for renamed in [true, false] {
            let d = dir(if renamed { "rot-done" } else { "rot-not" });
            let path = d.join("events.ndjson");
            let mut sink = FileSink::open(&path, 8, false).unwrap();
            assert_eq!(sink.intent(&batch(&["{\"a\":1}"])).unwrap(), None, "no rotation of an empty file");
            sink.send(&batch(&["{\"a\":1}"])).await.unwrap();
            let committed = sink.committed();
            let intent = sink.intent(&batch(&["{\"a\":2}"])).unwrap().expect("a rotation is announced");
            let rotated = d.join("events.ndjson.1");
            assert_eq!(intent["rotate_to"].as_str(), Some(absolute(&rotated).to_str().unwrap()));
            if renamed {
                // Killed after the rename and a partial write of the next batch.
                sink.send(&batch(&["{\"a\":2}"])).await.unwrap();
                assert!(rotated.exists());
            } else {
                // Killed before the rename, after a stray write.
                std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"a\"").unwrap();
            }
            drop(sink);
            let mut again = FileSink::open(&path, 8, false).unwrap();
            again.resume(committed.as_ref(), Some(&intent)).await.unwrap();
            if again.intent(&batch(&["{\"a\":2}"])).unwrap().is_some() {
                assert!(!renamed);
            }
            again.send(&batch(&["{\"a\":2}"])).await.unwrap();
            assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "{\"a\":1}\n", "renamed: {renamed}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":2}\n", "renamed: {renamed}");
            let _ = std::fs::remove_dir_all(&d);
        }
    }
}
