//! Writing state files, and what to tell an operator when the state directory (or an output
//! beside it) cannot be written: which directory, why, and what to do before running again.

use std::io::{ErrorKind, Write};
use std::path::Path;

/// Replaces the state file `path` (`what` names it in errors: `checkpoint`) with `body` and a
/// newline atomically: a temporary file, fsync, rename, fsync of the directory; mode 0600.
pub fn replace_private(path: &Path, body: &[u8], what: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let err = |verb: &str, e: std::io::Error| {
        let advice = advice(&e, dir);
        format!("cannot {verb} {what} `{}`: {e}; {advice}", path.display())
    };
    std::fs::create_dir_all(dir).map_err(|e| err("create the directory of", e))?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f =
            private_options().write(true).create(true).truncate(true).open(&tmp).map_err(|e| err("write", e))?;
        f.write_all(body).and_then(|()| f.write_all(b"\n")).map_err(|e| err("write", e))?;
        f.sync_all().map_err(|e| err("sync", e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err("replace", e))?;
    sync_dir(dir);
    Ok(())
}

/// A file read from `offset` on by positional reads, without moving the file's own position
/// (where its appends go), so that readers and writers may share it.
pub struct ReadAt<'a> {
    file: &'a std::fs::File,
    offset: u64,
}

impl<'a> ReadAt<'a> {
    pub fn new(file: &'a std::fs::File, offset: u64) -> Self {
        ReadAt { file, offset }
    }
}

impl std::io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Options that create a file with mode 0600 (state files hold what was delivered).
pub fn private_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Makes a rename or a new file in `dir` durable (best effort: not every file system allows
/// opening a directory).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The advice for an error writing in `dir`.
pub fn advice(e: &std::io::Error, dir: &Path) -> String {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let d = dir.display();
    match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            format!(
                "the file system holding `{d}` is full: free space there (or move the state to another disk with --state-dir), then run again"
            )
        }
        ErrorKind::ReadOnlyFilesystem => {
            format!("`{d}` is on a read-only file system: make it writable (or pass --state-dir DIR), then run again")
        }
        ErrorKind::PermissionDenied => {
            format!("this user may not write in `{d}`: fix its permissions (or pass --state-dir DIR), then run again")
        }
        _ => format!("check that `{d}` can be written (space, permissions), then run again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_directory_and_the_remedy() {
        let full = std::io::Error::from(ErrorKind::StorageFull);
        let a = advice(&full, Path::new("/var/lib/engine"));
        assert!(a.contains("`/var/lib/engine` is full") && a.contains("free space"), "{a}");
        let ro = advice(&std::io::Error::from(ErrorKind::ReadOnlyFilesystem), Path::new(""));
        assert!(ro.contains("`.` is on a read-only file system"), "{ro}");
        let denied = advice(&std::io::Error::from(ErrorKind::PermissionDenied), Path::new("s"));
        assert!(denied.contains("fix its permissions"), "{denied}");
    }
}
