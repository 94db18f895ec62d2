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
    /// Two of the files a run writes are one file (by name, link or path).
    #[error("{first} and {second} are one file, `{path}`; give {instead}")]
    SameFile { first: String, second: String, path: String, instead: String },
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

/// The locks of a file a run writes, whatever name it is reached by: `<file>.lock` beside the
/// file the name resolves to (symbolic links followed, so `link.ndjson` and its target share
/// one lock), and, when the file exists, a lock on the file itself, which every hard link to
/// it shares.
pub fn acquire_file(file: &Path, what: &str, instead: &str) -> Result<Vec<Lock>, LockError> {
    let real = resolve(file);
    let mut held = vec![acquire(&file_lock_path(&real), what, instead)?];
    if let Ok(f) = File::open(&real) {
        match f.try_lock() {
            Ok(()) => held.push(Lock { _file: f, path: real }),
            Err(TryLockError::WouldBlock) => {
                return Err(LockError {
                    path: real.clone(),
                    kind: LockErrorKind::Held {
                        what: what.into(),
                        holder: "through another name, a hard link to it".into(),
                        path: real.display().to_string(),
                        instead: instead.into(),
                    },
                });
            }
            // A file system without locks: the lock file beside it is the lock.
            Err(TryLockError::Error(_)) => {}
        }
    }
    Ok(held)
}

/// `path` with its symbolic links followed (also one to a file not yet created) and made
/// absolute, so that every name of one file gives one lock file.
pub fn resolve(path: &Path) -> PathBuf {
    let mut path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for _ in 0..40 {
        if let Ok(real) = path.canonicalize() {
            return real;
        }
        match std::fs::read_link(&path) {
            // A link to a file not yet created: follow it by hand.
            Ok(target) => path = path.parent().unwrap_or(Path::new("/")).join(target),
            Err(_) => break,
        }
    }
    // Not there yet: the directory it will be created in, resolved, and its name.
    match (path.parent().and_then(|d| d.canonicalize().ok()), path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path,
    }
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
    fn every_name_of_a_file_gives_one_lock() {
        let dir = std::env::temp_dir().join(format!("engine-lock-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("out")).unwrap();
        let file = dir.join("out/events.ndjson");
        std::os::unix::fs::symlink(&file, dir.join("link.ndjson")).unwrap();
        // Before the file exists, a link to it and a roundabout path name its lock.
        let first = acquire_file(&file, "the output file", "another --output").unwrap();
        assert!(acquire_file(&dir.join("link.ndjson"), "the output file", "another --output").is_err());
        assert!(acquire_file(&dir.join("out/../out/./events.ndjson"), "the output file", "x").is_err());
        drop(first);
        std::fs::write(&file, "{}\n").unwrap();
        std::fs::hard_link(&file, dir.join("hard.ndjson")).unwrap();
        let first = acquire_file(&file, "the output file", "another --output").unwrap();
        let err = acquire_file(&dir.join("hard.ndjson"), "the output file", "another --output").unwrap_err();
        assert!(err.to_string().contains("hard link"), "{err}");
        drop(first);
        assert_eq!(acquire_file(&dir.join("hard.ndjson"), "the output file", "x").unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lock_files_sit_beside_what_they_lock() {
        assert_eq!(file_lock_path(Path::new("out/events.ndjson")), Path::new("out/events.ndjson.lock"));
        assert_eq!(state_dir_lock_path(Path::new("state")), Path::new("state/engine.lock"));
    }
}
