//! Exclusive run locks: a state directory, an output file and a dead-letter file each belong to
//! one `engine run` at a time. Each lock is an advisory lock (`flock`) on a small file that
//! holds the owner's process id; the operating system releases it when the run ends, however it
//! ends (a SIGKILL included), so a stale lock never blocks the next run. Lock files are left in
//! place: removing one while another run opens it would let two runs hold "the" lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Why a lock could not be taken: the lock file, and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct LockError {
    pub path: PathBuf,
    pub kind: LockErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum LockErrorKind {
    /// Another run holds it.
    #[error(
        "{what} is in use by another run ({holder}, lock file `{path}`); wait for that run to end, \
         or give this one {instead}"
    )]
    Held { what: String, holder: String, path: String, instead: String },
    /// The lock file cannot be created or locked.
    #[error("cannot lock {what} (lock file `{path}`): {source}; {advice}")]
    Io { what: String, path: String, source: std::io::Error, advice: String },
}

/// The lock file of a state directory.
pub fn state_dir_lock_path(state_dir: &Path) -> PathBuf {
    state_dir.join("engine.lock")
}

/// The lock file of an output file: `<file>.lock` beside it.
pub fn file_lock_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    file.with_file_name(name)
}

/// Takes the lock at `path` without waiting. `what` names the locked thing in messages ("state
/// directory `.engine-state`"), `instead` what the operator can pass to run beside the holder.
pub fn acquire(path: &Path, what: &str, instead: &str) -> Result<Lock, LockError> {
    let io = |source: std::io::Error| {
        let advice = crate::runner::storage::advice(&source, path.parent().unwrap_or(Path::new(".")));
        LockError {
            path: path.to_path_buf(),
            kind: LockErrorKind::Io { what: what.into(), path: path.display().to_string(), source, advice },
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError {
                path: path.to_path_buf(),
                kind: LockErrorKind::Held {
                    what: what.into(),
                    holder: holder(&mut file),
                    path: path.display().to_string(),
                    instead: instead.into(),
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Ours now: say who holds it.
    file.set_len(0).map_err(io)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(Lock { _file: file, path: path.to_path_buf() })
}

/// "pid N" from a lock file, as its holder wrote it.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    match text.trim().parse::<u32>() {
        Ok(pid) => format!("pid {pid}"),
        Err(_) => "pid not yet written".into(),
    }
}

/// The pid written in a lock file, if any (for tests and tools that wait on a run).
pub fn holder_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("engine-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = state_dir_lock_path(&dir);
        let held = acquire(&path, "state directory `x`", "another --state-dir").unwrap();
        assert_eq!(holder_pid(&path), Some(std::process::id()));
        let err = acquire(&path, "state directory `x`", "another --state-dir").unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("engine.lock") && text.contains("another --state-dir"), "{text}");
        drop(held);
        let again = acquire(&path, "state directory `x`", "another --state-dir").unwrap();
        assert_eq!(again.path(), path);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lock_files_sit_beside_what_they_lock() {
        assert_eq!(file_lock_path(Path::new("out/events.ndjson")), Path::new("out/events.ndjson.lock"));
        assert_eq!(state_dir_lock_path(Path::new("state")), Path::new("state/engine.lock"));
    }
}
