//! The replay state: how far each input of `engine replay` (a dead-letter file, an archive day
//! file) was replayed, as a byte offset into its text and a SHA-256 of the text before it, and,
//! as a run's checkpoint holds them, the sink's committed state, the new dead-letter file's
//! committed length and a sink's write-ahead intent. One JSON file per source stream beside
//! its checkpoint (`<stream>.replay.json`), replaced atomically after each acknowledged batch.

use crate::runner::checkpoint::CheckpointStore;
use crate::sink::mark::FileMark;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;

/// How far one input was replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// Bytes of the input's text (decompressed, for a day file) replayed: every line before
    /// this offset reached the sink or the new dead-letter file.
    pub offset: u64,
    /// SHA-256 (hex) of those bytes: a file changed since is recognised.
    pub sha256: String,
}

/// What is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayState {
    pub format: u32,
    /// By input file (an absolute path).
    pub inputs: BTreeMap<PathBuf, Done>,
    /// While a replay runs (or after one was killed): the sink's committed state, the new
    /// dead-letter file's mark and a write-ahead intent; cleared when a replay ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letters: Option<FileMark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Value>,
    pub updated: String,
}

/// The replay state file of a stream.
#[derive(Debug, Clone)]
pub struct ReplayStore {
    path: PathBuf,
}

impl ReplayStore {
    /// Beside the stream's checkpoint: `<state_dir>/<source>/<stream>.replay.json`.
    pub fn beside(checkpoints: &CheckpointStore) -> Self {
        let name = checkpoints.path().file_name().and_then(|n| n.to_str()).unwrap_or("stream.checkpoint.json");
        ReplayStore { path: checkpoints.path().with_file_name(name.replace(".checkpoint.json", ".replay.json")) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored state; an empty one when there is none yet.
    pub fn load(&self) -> Result<ReplayState, String> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ReplayState { format: FORMAT, ..ReplayState::default() });
            }
            Err(e) => return Err(format!("cannot read the replay state `{}`: {e}", self.path.display())),
        };
        let state: ReplayState = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "the replay state `{}` is damaged ({e}); it is left as it is. Restore it from a backup, or move \
                 it away to replay every input from its start",
                self.path.display()
            )
        })?;
        if state.format != FORMAT {
            return Err(format!(
                "the replay state `{}` has format {}, expected {FORMAT}",
                self.path.display(),
                state.format
            ));
        }
        Ok(state)
    }

    /// Replaces the state atomically.
    pub fn save(&self, state: &ReplayState) -> Result<(), String> {
        let body = serde_json::to_vec_pretty(state).map_err(|e| format!("cannot encode the replay state: {e}"))?;
        crate::runner::storage::replace_private(&self.path, &body, "replay state")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_beside_the_checkpoint_and_damage_reported() {
        let d = std::env::temp_dir().join(format!("replay-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let store = ReplayStore::beside(&CheckpointStore::new(&d, "src", "audit"));
        assert!(store.path().ends_with("src/audit.replay.json"), "{}", store.path().display());
        let mut state = store.load().unwrap();
        assert!(state.inputs.is_empty());
        state.inputs.insert("/x/dead.ndjson".into(), Done { offset: 10, sha256: "ab".into() });
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), state);
        std::fs::write(store.path(), b"{").unwrap();
        assert!(store.load().unwrap_err().contains("is damaged"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
