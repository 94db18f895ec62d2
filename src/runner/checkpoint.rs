//! Checkpoints: a stream's position and dedup state in a small JSON file under the state
//! directory, replaced atomically (temporary file, fsync, rename, fsync of the directory),
//! mode 0600, holding no secrets. A file that cannot be read back is reported, never
//! silently replaced by a fresh start.
//!
//! Beside the position it holds what makes the output exactly-once across crashes: the
//! sink's committed state (a file's committed length), the dead-letter file's committed
//! length (and the archive's), and, between a sink's write-ahead intent and the commit of its
//! batch, that intent.
//!
//! The ids already delivered are in the dedup journal beside it (journal.rs), whose committed
//! length the checkpoint records; a checkpoint of format 1 (older versions) holds them itself.
//!
//! A fleet keeps the checkpoint elsewhere, behind [`Backend`] (the coordination store of
//! src/coord, where every save is a fenced compare-and-swap); the file is the default.

use super::dedup::Dedup;
use super::journal::JournalMark;
use super::window::Position;
use crate::sink::mark::FileMark;
use crate::source::timefmt::iso_millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Format 2 keeps the ids in the journal; format 1 (still read) and a coordination store's
/// checkpoint keep them in `seen`.
const FORMAT: u32 = 2;

/// What is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: u32,
    pub source: String,
    pub stream: String,
    pub watermark_ms: i64,
    pub resume_from_ms: i64,
    /// For people reading the file.
    pub watermark: String,
    /// Ids already delivered whose records (their latest sighting) are at or after
    /// `resume_from_ms` minus the overlap: `[id, time_ms]`, here or (with `journal`) in the
    /// journal.
    #[serde(default)]
    pub seen: Vec<(String, i64)>,
    /// The dedup journal and its committed length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalMark>,
    pub updated: String,
    /// The sink's committed state (see `Sink::committed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<Value>,
    /// The committed length of the dead-letter file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letters: Option<FileMark>,
    /// With `--archive`: the committed length of each archive day file that may hold bytes
    /// past this commit (src/archive/writer.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<Vec<FileMark>>,
    /// The sink's write-ahead intent for a batch sent but not yet committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Value>,
    /// With a reconciliation re-read: since when the digests of delivered ids are complete,
    /// and when the last re-read ended (by the run's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<ReconcileMark>,
}

/// Where a stream's reconciliation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileMark {
    pub since_ms: i64,
    pub done_at_ms: i64,
}

impl Checkpoint {
    /// A checkpoint at `pos` with the delivered ids `seen` held in it (none: they are in the
    /// journal, whose mark the caller sets).
    pub fn new(source: &str, stream: &str, pos: Position, seen: Vec<(String, i64)>, now_ms: i64) -> Self {
        Checkpoint {
            format: FORMAT,
            source: source.into(),
            stream: stream.into(),
            watermark_ms: pos.watermark_ms,
            resume_from_ms: pos.resume_from_ms,
            watermark: iso_millis(pos.watermark_ms),
            seen,
            journal: None,
            updated: iso_millis(now_ms),
            sink: None,
            dead_letters: None,
            archive: None,
            pending: None,
            reconcile: None,
        }
    }

    pub fn position(&self) -> Position {
        Position { watermark_ms: self.watermark_ms, resume_from_ms: self.resume_from_ms }
    }

    /// The ids it holds as a dedup set; `keep_ids` keeps the ids themselves too.
    pub fn dedup(&self, keep_ids: bool) -> Dedup {
        Dedup::from_entries(self.seen.iter().cloned(), keep_ids)
    }
}

/// Where a checkpoint is kept instead of the file (the coordination store).
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The stored checkpoint; `Ok(None)` when there is none yet.
    fn load(&self) -> Result<Option<Checkpoint>, String>;
    /// Replaces it; an error says why and what to do.
    fn save(&self, cp: &Checkpoint) -> Result<(), String>;
}

/// One stream's checkpoint file (or, with a [`Backend`], its checkpoint kept there).
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    path: PathBuf,
    /// The last save failed: what the file holds is older than the run's position.
    failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// With a backend: it, and the local file of reconciliation digests.
    backend: Option<(std::sync::Arc<dyn Backend>, PathBuf)>,
}

impl CheckpointStore {
    /// `<state_dir>/<source>/<stream>.checkpoint.json`.
    pub fn new(state_dir: &Path, source: &str, stream: &str) -> Self {
        CheckpointStore {
            path: state_dir.join(safe(source)).join(format!("{}.checkpoint.json", safe(stream))),
            failed: Default::default(),
            backend: None,
        }
    }

    /// A checkpoint kept by `backend`; `location` names it in messages (an `s3://` URL), and
    /// the reconciliation digests stay in the local file `digests`.
    pub fn with_backend(location: PathBuf, digests: PathBuf, backend: std::sync::Arc<dyn Backend>) -> Self {
        CheckpointStore { path: location, failed: Default::default(), backend: Some((backend, digests)) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the dedup journal's files go (`<stream>.seen.<generation>.jsonl` beside the
    /// checkpoint); `None` for a checkpoint in a coordination store, which holds its ids.
    pub fn journal_stem(&self) -> Option<PathBuf> {
        if self.backend.is_some() {
            return None;
        }
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("stream.checkpoint.json");
        Some(self.path.with_file_name(name.replace(".checkpoint.json", "")))
    }

    /// The file beside the checkpoint that holds digests of the ids delivered in a
    /// reconciliation span: `<stream>.delivered.bin`.
    pub fn digests_path(&self) -> PathBuf {
        if let Some((_, digests)) = &self.backend {
            return digests.clone();
        }
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("stream.checkpoint.json");
        self.path.with_file_name(name.replace(".checkpoint.json", ".delivered.bin"))
    }

    /// The stored checkpoint; `Ok(None)` when there is none yet.
    pub fn load(&self) -> Result<Option<Checkpoint>, String> {
        if let Some((backend, _)) = &self.backend {
            return backend.load()?.map(|cp| self.checked(cp)).transpose();
        }
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read checkpoint `{}`: {e}", self.path.display())),
        };
        let cp: Checkpoint = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "checkpoint `{}` is damaged ({e}); it is left as it is. Move it away to start over \
                 from the look-back, or restore it from a backup",
                self.path.display()
            )
        })?;
        self.checked(cp).map(Some)
    }

    /// `cp` if this version can resume from it.
    fn checked(&self, cp: Checkpoint) -> Result<Checkpoint, String> {
        if cp.format != FORMAT && cp.format != 1 {
            return Err(format!("checkpoint `{}` has format {}, expected {FORMAT}", self.path.display(), cp.format));
        }
        if cp.resume_from_ms > cp.watermark_ms {
            return Err(format!(
                "checkpoint `{}` is inconsistent: it resumes after its watermark",
                self.path.display()
            ));
        }
        Ok(cp)
    }

    /// Whether the last save failed (the file holds an older position than the run reached).
    pub fn last_save_failed(&self) -> bool {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replaces the checkpoint atomically; an error names the directory and what to do.
    pub fn save(&self, cp: &Checkpoint) -> Result<(), String> {
        let saved = match &self.backend {
            Some((backend, _)) => backend.save(cp),
            None => self.replace(cp),
        };
        self.failed.store(saved.is_err(), std::sync::atomic::Ordering::Relaxed);
        saved
    }

    fn replace(&self, cp: &Checkpoint) -> Result<(), String> {
        let body = serde_json::to_vec_pretty(cp).map_err(|e| format!("cannot encode checkpoint: {e}"))?;
        super::storage::replace_private(&self.path, &body, "checkpoint")
    }
}

/// A file-name-safe form of a source or stream name.
fn safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("checkpoint-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn sample() -> Checkpoint {
        let mut dedup = Dedup::new(true);
        dedup.insert("id-1", 1_000).unwrap();
        dedup.insert("id-2", 2_000).unwrap();
        Checkpoint::new("src", "audit", Position { watermark_ms: 2_000, resume_from_ms: 1_000 }, dedup.entries(), 5_000)
    }

    #[test]
    fn round_trip_atomic_and_private() {
        let d = dir("rt");
        let store = CheckpointStore::new(&d, "src", "audit");
        assert_eq!(store.load(), Ok(None));
        let cp = sample();
        store.save(&cp).unwrap();
        assert_eq!(store.load().unwrap().as_ref(), Some(&cp));
        assert_eq!(store.load().unwrap().unwrap().dedup(false).len(), 2);
        assert!(!store.path().with_extension("json.tmp").exists(), "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut later = cp.clone();
        later.watermark_ms = 3_000;
        store.save(&later).unwrap();
        assert_eq!(store.load().unwrap().unwrap().watermark_ms, 3_000);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_file_is_reported_and_kept() {
        let d = dir("torn");
        let store = CheckpointStore::new(&d, "src", "audit");
        store.save(&sample()).unwrap();
        let full = std::fs::read(store.path()).unwrap();
        std::fs::write(store.path(), &full[..full.len() / 2]).unwrap();
        let err = store.load().unwrap_err();
        assert!(err.contains("damaged"), "{err}");
        assert_eq!(std::fs::read(store.path()).unwrap().len(), full.len() / 2, "left untouched");
        std::fs::write(store.path(), b"").unwrap();
        assert!(store.load().is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn inconsistent_or_foreign_files_are_refused() {
        let d = dir("bad");
        let store = CheckpointStore::new(&d, "src", "audit");
        let mut cp = sample();
        cp.resume_from_ms = 9_000;
        store.save(&cp).unwrap();
        assert!(store.load().unwrap_err().contains("inconsistent"));
        cp = sample();
        cp.format = 99;
        store.save(&cp).unwrap();
        assert!(store.load().unwrap_err().contains("format"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
