//! The `file` sink: NDJSON appended to a file, synced before a batch is acknowledged, and
//! rotated by size (`events.ndjson` → `events.ndjson.1`, `.2`, …; nothing is deleted).

use super::{Ack, Batch, BoxFuture, Sink, SinkError};
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
}

impl FileSink {
    /// Opens `path` for appending (creating it and its directory). `truncate` empties it first.
    pub fn open(path: &Path, rotate_bytes: u64, truncate: bool) -> Result<Self, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        }
        let file = open_append(path, truncate)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileSink { path: path.to_path_buf(), file: Some(file), size, rotate_bytes: rotate_bytes.max(1) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn rotate(&mut self) -> Result<(), String> {
        self.file = None;
        let mut n = 1u32;
        let target = loop {
            let candidate = PathBuf::from(format!("{}.{n}", self.path.display()));
            if !candidate.exists() {
                break candidate;
            }
            n += 1;
        };
        std::fs::rename(&self.path, &target)
            .map_err(|e| format!("cannot rotate `{}` to `{}`: {e}", self.path.display(), target.display()))?;
        self.file = Some(open_append(&self.path, false)?);
        self.size = 0;
        Ok(())
    }

    fn write(&mut self, batch: &Batch) -> Result<(), String> {
        if self.size >= self.rotate_bytes && self.size > 0 {
            self.rotate()?;
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

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            self.write(batch).map_err(SinkError::Fatal)?;
            Ok(Ack { accepted: batch.len(), rejected: 0 })
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
}
