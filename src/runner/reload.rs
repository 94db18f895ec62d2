//! `engine run --watch`: mapping files edited while a run is going are loaded again between
//! batches. A change is noticed by a fingerprint of every file's path, size and modification
//! time below the mapping directory; an edit that does not load is reported and the mappings
//! in force stay.

use crate::mapping::MappingSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Loads the mappings anew; `Err` holds the rendered errors.
#[derive(Clone)]
pub struct Reload(pub Arc<dyn Fn() -> Result<MappingSet, String> + Send + Sync>);

impl std::fmt::Debug for Reload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reload")
    }
}

/// How often the directory is looked at, at most.
const EVERY: Duration = Duration::from_secs(1);

/// Every file below `dir` with its size and modification time, sorted.
pub fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => out.push((path, m.len(), m.modified().ok())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// Watches one mapping directory.
pub struct Watcher {
    dir: PathBuf,
    reload: Reload,
    seen: Vec<(PathBuf, u64, Option<SystemTime>)>,
    looked: Instant,
}

/// What a look found.
pub enum Change {
    None,
    Reloaded(Box<MappingSet>),
    /// The edit does not load: the rendered errors.
    Rejected(String),
}

impl Watcher {
    pub fn new(dir: &Path, reload: Reload) -> Self {
        Watcher { dir: dir.to_path_buf(), reload, seen: fingerprint(dir), looked: Instant::now() }
    }

    /// Loads the mappings again if a file changed since the last look (at most once a second).
    pub fn check(&mut self) -> Change {
        if self.looked.elapsed() < EVERY {
            return Change::None;
        }
        self.looked = Instant::now();
        let now = fingerprint(&self.dir);
        if now == self.seen {
            return Change::None;
        }
        self.seen = now;
        match (self.reload.0)() {
            Ok(set) => Change::Reloaded(Box::new(set)),
            Err(rendered) => Change::Rejected(rendered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_changes_with_a_file_and_not_without() {
        let dir = std::env::temp_dir().join(format!("engine-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.yaml"), "x: 1\n").unwrap();
        let first = fingerprint(&dir);
        assert_eq!(first, fingerprint(&dir));
        std::fs::write(dir.join("sub/a.yaml"), "x: 12\n").unwrap();
        assert_ne!(first, fingerprint(&dir));
        let second = fingerprint(&dir);
        std::fs::write(dir.join("b.yaml"), "").unwrap();
        assert_ne!(second, fingerprint(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
