//! Living with logrotate and with the file sink's own rotation: which file a mark is about
//! (device and inode, so that a file moved away and replaced by a new one at the same path is
//! told from one cut short), SIGHUP asking every output file to be reopened after the next
//! commit (logrotate's `postrotate`), finding a rotated file beside its path, and deleting the
//! oldest of the sink's own rotations beyond `--rotate-keep`.
//!
//! Exactly-once holds because the engine never writes into a file the checkpoint does not
//! name: a reopen is recorded (as the batch's intent, or in the commit itself) before the
//! first byte goes into the new file, so that a restart knows which bytes of which file are
//! committed. Bytes found in a file the checkpoint never named are someone else's and are left.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Which file: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileId { dev: meta.dev(), ino: meta.ino() })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// The file at `path` now, if any.
    pub fn at(path: &Path) -> Option<FileId> {
        std::fs::metadata(path).ok().as_ref().and_then(FileId::of)
    }
}

/// Requests to reopen: a count each file compares with the value it last acted on.
#[derive(Debug, Default)]
pub struct Reopens(AtomicU64);

/// The requests SIGHUP makes, which every output file follows.
pub static SIGHUP: Reopens = Reopens(AtomicU64::new(0));

impl Reopens {
    /// Asks every file following these requests to reopen its path after the next commit.
    pub fn request(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// Whether a reopen was asked for since `seen` (which is brought up to date).
    pub fn due(&self, seen: &mut u64) -> bool {
        let now = self.0.load(Relaxed);
        let due = now != *seen;
        *seen = now;
        due
    }

    /// The count now, for a file opened now.
    pub fn count(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// On each SIGHUP: asks for a reopen and says so. Call inside the run's runtime.
pub fn watch_sighup() {
    #[cfg(unix)]
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            SIGHUP.request();
            tracing::info!("SIGHUP: the output files are reopened after the next commit");
        }
    });
}

/// A file beside `path` whose name starts with `path`'s (`events.ndjson.1`,
/// `events.ndjson-20260301`) and which is the file `id`: where logrotate moved it.
pub fn find_moved(path: &Path, id: FileId) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&name) && e.path() != path)
        .find(|e| e.metadata().ok().as_ref().and_then(FileId::of) == Some(id))
        .map(|e| e.path())
}

/// The numbers of the sink's own rotations of `path` (`path.1`, `path.2`, …), ascending
/// (oldest first).
pub fn rotations(path: &Path) -> Vec<u32> {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Vec::new() };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut found: Vec<u32> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_string_lossy().strip_prefix(&format!("{name}."))?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    found.sort_unstable();
    found
}

/// Deletes the oldest rotations of `path` so that at most `keep` remain; returns those deleted.
pub fn prune(path: &Path, keep: u32) -> Vec<PathBuf> {
    let all = rotations(path);
    let excess = all.len().saturating_sub(keep as usize);
    let mut deleted = Vec::new();
    for n in &all[..excess] {
        let old = PathBuf::from(format!("{}.{n}", path.display()));
        match std::fs::remove_file(&old) {
            Ok(()) => deleted.push(old),
            Err(e) => tracing::warn!("cannot delete the old rotation `{}`: {e}", old.display()),
        }
    }
    deleted
}

/// `--rotate-size` and `--rotate-keep`.
#[derive(clap::Args, Debug, Clone)]
pub struct RotateArgs {
    /// With the file sink: rotate the output past this size (`256MiB`, `1GiB`, `500MB`) to
    /// `<output>.1`, `.2`, … (the highest number the newest).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_rotate_size)]
    pub rotate_size: u64,
    /// With the file sink: keep at most this many rotated files, deleting the oldest [default:
    /// keep them all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rotate_keep: Option<u32>,
}

/// A size such as `256MiB`, `1GiB`, `500MB` or bytes, at least 1 KiB.
fn parse_rotate_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let (number, mult) = if let Some(n) = lower.strip_suffix("gib").or(lower.strip_suffix('g')) {
        (n.to_string(), 1u64 << 30)
    } else if let Some(n) = lower.strip_suffix("gb") {
        (n.to_string(), 1_000_000_000)
    } else {
        let n =
            super::security_lake::config::parse_size(t).ok_or_else(|| format!("`{t}` is not a size such as 256MiB"))?;
        (n.to_string(), 1)
    };
    let n: u64 = number.trim().parse().map_err(|_| format!("`{t}` is not a size such as 256MiB"))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| format!("`{t}` is too large"))?;
    if bytes < 1024 {
        return Err(format!("`{t}` is less than 1KiB"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rotate-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn sizes_read_as_operators_write_them() {
        assert_eq!(parse_rotate_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_rotate_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_rotate_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_rotate_size("4096"), Ok(4096));
        assert!(parse_rotate_size("12").unwrap_err().contains("less than 1KiB"));
        assert!(parse_rotate_size("lots").unwrap_err().contains("not a size"));
    }

    #[test]
    fn a_moved_file_is_found_by_its_identity_and_old_rotations_pruned() {
        let d = dir("moved");
        let path = d.join("events.ndjson");
        std::fs::write(&path, "a\n").unwrap();
        let id = FileId::at(&path).unwrap();
        std::fs::rename(&path, d.join("events.ndjson-20260301")).unwrap();
        std::fs::write(&path, "").unwrap();
        assert_ne!(FileId::at(&path), Some(id));
        assert_eq!(find_moved(&path, id), Some(d.join("events.ndjson-20260301")));
        for n in [1, 2, 3, 10] {
            std::fs::write(d.join(format!("events.ndjson.{n}")), "").unwrap();
        }
        assert_eq!(rotations(&path), vec![1, 2, 3, 10]);
        assert_eq!(prune(&path, 2), vec![d.join("events.ndjson.1"), d.join("events.ndjson.2")]);
        assert_eq!(rotations(&path), vec![3, 10]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn each_file_sees_a_reopen_once() {
        let reopens = Reopens::default();
        let (mut a, mut b) = (reopens.count(), reopens.count());
        assert!(!reopens.due(&mut a));
        reopens.request();
        assert!(reopens.due(&mut a) && !reopens.due(&mut a));
        assert!(reopens.due(&mut b), "each file sees it");
    }
}
