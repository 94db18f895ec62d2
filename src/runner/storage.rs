//! What to tell an operator when the state directory (or an output beside it) cannot be
//! written: which directory, why, and what to do before running again.

use std::io::ErrorKind;
use std::path::Path;

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
