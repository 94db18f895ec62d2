//! What `engine run` owns while it runs and what it says about its state: the locks on the
//! state directory and on the files it writes (one run at a time on each), and the sentences
//! that tell where the next run resumes, true in every mode (a kept state directory, a
//! temporary one, a checkpoint that could not be written).

use super::run::SinkKind;
use crate::lock::{Lock, LockError, LockErrorKind, acquire, acquire_file, state_dir_lock_path};
use crate::runner::checkpoint::CheckpointStore;
use std::path::Path;

/// The locks a run holds until it ends.
#[derive(Debug)]
pub struct RunLocks {
    _held: Vec<Lock>,
}

/// Locks the state directory, then the output file (with the `file` sink) and the dead-letter
/// file, so that no second run shares any of them.
pub fn take(state_dir: &Path, sink: SinkKind, output: &Path, dead_letter: &Path) -> Result<RunLocks, LockError> {
    let mut held = vec![acquire(
        &state_dir_lock_path(state_dir),
        &format!("the state directory `{}`", state_dir.display()),
        "another --state-dir",
    )?];
    if sink == SinkKind::File {
        held.extend(acquire_file(output, &format!("the output file `{}`", output.display()), "another --output")?);
    }
    let real = crate::lock::resolve(dead_letter);
    if sink == SinkKind::File && real == crate::lock::resolve(output) {
        return Err(LockError {
            path: real.clone(),
            kind: LockErrorKind::SameFile {
                first: format!("the output file `{}`", output.display()),
                second: format!("the dead-letter file `{}`", dead_letter.display()),
                path: real.display().to_string(),
                instead: "--dead-letter another file".into(),
            },
        });
    }
    held.extend(acquire_file(
        dead_letter,
        &format!("the dead-letter file `{}`", dead_letter.display()),
        "another --dead-letter",
    )?);
    Ok(RunLocks { _held: held })
}

/// Locks an archive directory (`--archive`), so that no second run appends to its day files.
pub fn take_archive(dir: &Path) -> Result<Lock, LockError> {
    acquire(&state_dir_lock_path(dir), &format!("the archive `{}`", dir.display()), "another --archive")
}

/// Where the next run starts.
pub fn resume_note(temporary: bool, checkpoint: &Path) -> String {
    if temporary {
        "none kept (a temporary directory, removed at the end: --simulate starts afresh each run; \
         pass --state-dir DIR to keep it)"
            .to_string()
    } else {
        format!("the next run resumes from the checkpoint `{}`", checkpoint.display())
    }
}

/// What a failed run tells about its state.
pub fn after_failure(store: &CheckpointStore, temporary: bool) -> String {
    if store.last_save_failed() {
        format!(
            "the checkpoint could not be written (see the error above), so `{}` still holds an \
             earlier position; once that is fixed, run again: it resumes from there, cuts off what \
             was written after it and fetches it again",
            store.path().display()
        )
    } else if temporary {
        "no state was kept (--simulate without --state-dir); a new run starts afresh".to_string()
    } else {
        format!(
            "everything acknowledged before the error is checkpointed in `{}`; rerun to resume",
            store.path().display()
        )
    }
}
