//! What `engine run` checks of its output paths before it connects to anything: a path that
//! names a directory is a configuration error (exit 2) at start-up, not a failed write (exit 3)
//! after the login and the first window.

use std::path::Path;

/// `Err` with the sentence to print when `path` (given as `--flag`) is a directory.
pub fn not_a_directory(path: &Path, flag: &str) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{flag} `{}` is a directory; it names the file to write", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_refused_and_a_file_or_a_new_path_is_not() {
        let dir = std::env::temp_dir().join(format!("preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = not_a_directory(&dir, "--output").unwrap_err();
        assert!(err.starts_with("--output `") && err.ends_with("is a directory; it names the file to write"), "{err}");
        assert!(not_a_directory(&dir.join("events.ndjson"), "--output").is_ok());
        std::fs::write(dir.join("f"), "").unwrap();
        assert!(not_a_directory(&dir.join("f"), "--dead-letter").is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
