//! Committed lengths of append-only files: what a checkpoint records of every file a run
//! appends to (events, dead letters, refused events), and how a restart brings each file back
//! to it. Bytes past the mark were written but never committed; the restart fetches and writes
//! them again, so cutting them off is what makes the output exactly-once (a line torn by a
//! crash mid-write is cut off the same way).
//!
//! A mark also names the file by its device and inode: when another file stands at the path
//! (logrotate moved ours away and created a new one), the restart continues into the new file
//! with a warning, cutting the moved one (found beside the path) back to the mark; a file of
//! the same identity that is shorter than the mark was damaged, and is refused.

use super::rotate::{FileId, find_moved};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

/// A file and how many of its bytes are committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// The file, as an absolute path.
    pub file: PathBuf,
    /// Bytes committed: everything before this offset was acknowledged and checkpointed.
    pub offset: u64,
    /// Which file that was (absent in checkpoints of older versions, and before the file
    /// existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FileId>,
}

/// Why a file cannot be brought back to its mark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkError {
    #[error(
        "`{file}` holds {len} bytes but {offset} were committed: it was truncated, replaced or removed \
         since the last run, so resuming would lose or repeat events; restore the file, or move the \
         checkpoint away to start over"
    )]
    Shorter { file: String, len: u64, offset: u64 },
    #[error(
        "`{file}` holds {len} bytes but {offset} were committed: it was truncated in place (logrotate's \
         `copytruncate` does this), so resuming would lose or repeat events; rotate with `create` and a \
         `postrotate` SIGHUP instead (docs/operations.md), restore the file, or move the checkpoint away to \
         start over"
    )]
    TruncatedInPlace { file: String, len: u64, offset: u64 },
    #[error("cannot bring `{file}` back to its committed length: {reason}")]
    Io { file: String, reason: String },
}

/// `path` as an absolute path (relative to the working directory), for comparing marks.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl FileMark {
    pub fn new(file: &Path, offset: u64) -> Self {
        FileMark { file: absolute(file), offset, id: None }
    }

    /// The mark of the file `id` (from its open handle, which may no longer be at its path).
    pub fn with_id(mut self, id: Option<FileId>) -> Self {
        self.id = id;
        self
    }

    /// Whether another file than the marked one stands at the path (or none, where bytes were
    /// committed): the marked one was moved away.
    pub fn rotated_away(&self) -> bool {
        match (self.id, FileId::at(&self.file)) {
            (Some(marked), Some(here)) => marked != here,
            (Some(_), None) => self.offset > 0,
            (None, _) => false,
        }
    }

    /// Whether this mark is about `path`.
    pub fn is_for(&self, path: &Path) -> bool {
        self.file == absolute(path)
    }

    /// Cuts the file back to the mark. A file shorter than the mark (or missing while the mark
    /// is past 0) is an error: someone changed it, and guessing would lose or repeat events.
    ///
    /// When the marked file was moved away, the file at the path is not touched (its bytes are
    /// not this run's: nothing is written into a file before a checkpoint names it), the
    /// moved file is cut back to the mark when it is found beside the path, and a warning says
    /// so.
    pub fn restore(&self) -> Result<(), MarkError> {
        if let Some(id) = self.id.filter(|_| self.rotated_away()) {
            let file = self.file.display();
            match find_moved(&self.file, id) {
                Some(moved) if current_len(&moved) >= self.offset => {
                    restore(&moved, self.offset)?;
                    tracing::warn!(
                        "`{file}` is a new file (the one the checkpoint names was rotated to `{}`): continuing into it",
                        moved.display()
                    );
                }
                _ => tracing::warn!(
                    "`{file}` is a new file (the one the checkpoint names was rotated away and is not beside it): \
                     continuing into it; a batch written but not committed before the rotation, if any, is in the \
                     rotated file and is written again"
                ),
            }
            return Ok(());
        }
        restore(&self.file, self.offset).map_err(|e| match e {
            MarkError::Shorter { file, len, offset } if self.id.is_some() => {
                MarkError::TruncatedInPlace { file, len, offset }
            }
            other => other,
        })
    }
}

/// Cuts `path` back to `offset` bytes and makes that durable.
pub fn restore(path: &Path, offset: u64) -> Result<(), MarkError> {
    let file = path.display().to_string();
    let io = |e: std::io::Error| MarkError::Io { file: file.clone(), reason: e.to_string() };
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(e)),
    };
    if len < offset {
        return Err(MarkError::Shorter { file, len, offset });
    }
    if len == offset {
        return Ok(());
    }
    let f = OpenOptions::new().write(true).open(path).map_err(io)?;
    f.set_len(offset).map_err(io)?;
    f.sync_all().map_err(io)
}

/// The length of `path` now (0 when it does not exist).
pub fn current_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mark-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn cuts_uncommitted_bytes_and_a_torn_line() {
        let d = dir("cut");
        let f = d.join("out.ndjson");
        std::fs::write(&f, "{\"a\":1}\n{\"a\":2}\n{\"a\"").unwrap();
        let mark = FileMark::new(&f, 8);
        assert!(mark.is_for(&f) && mark.file.is_absolute());
        mark.restore().unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "{\"a\":1}\n");
        mark.restore().unwrap();
        assert_eq!(current_len(&f), 8);
        // A missing file is fine at 0 and stays missing.
        restore(&d.join("none"), 0).unwrap();
        assert!(!d.join("none").exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_file_shorter_than_its_mark_is_refused_and_left_alone() {
        let d = dir("short");
        let f = d.join("out.ndjson");
        std::fs::write(&f, "abc").unwrap();
        let err = restore(&f, 10).unwrap_err();
        assert!(matches!(err, MarkError::Shorter { len: 3, offset: 10, .. }), "{err}");
        assert!(err.to_string().contains("out.ndjson"), "{err}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "abc");
        assert!(matches!(restore(&d.join("gone"), 1), Err(MarkError::Shorter { len: 0, .. })));
        let _ = std::fs::remove_dir_all(&d);
    }
}
