//! The coordination [`Store`] in a local directory (under the state directory): one file per
//! key, replaced atomically (temporary file, fsync, rename) with mode 0600, its entity tag a
//! digest of its content. Compare-and-swap holds because one process at a time owns a state
//! directory (its exclusive lock, src/lock.rs) and, within it, one lock orders every call.

use super::store::{Cas, Store, StoreError, Versioned, content_etag as etag};
use crate::sink::BoxFuture;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// A directory of coordination objects.
#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    order: Mutex<()>,
}

impl LocalStore {
    /// Objects under `dir` (created on the first write).
    pub fn new(dir: &Path) -> Self {
        LocalStore { dir: dir.to_path_buf(), order: Mutex::new(()) }
    }

    /// The file of `key`; a key that would leave the directory is refused.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let rel = Path::new(key);
        if key.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(StoreError::Fatal(format!("`{key}` is not a key of the coordination store")));
        }
        Ok(self.dir.join(rel))
    }

    fn io(&self, what: &str, path: &Path, e: std::io::Error) -> StoreError {
        let advice = crate::runner::storage::advice(&e, path.parent().unwrap_or(&self.dir));
        StoreError::Fatal(format!("cannot {what} `{}`: {e}; {advice}", path.display()))
    }

    fn read(&self, path: &Path) -> Result<Option<Versioned>, StoreError> {
        match std::fs::read(path) {
            Ok(body) => Ok(Some(Versioned { etag: etag(&body), body })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read", path, e)),
        }
    }

    fn write(&self, path: &Path, body: &[u8]) -> Result<String, StoreError> {
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir).map_err(|e| self.io("create the directory of", path, e))?;
        let tmp = path.with_extension("tmp");
        {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut f = o.open(&tmp).map_err(|e| self.io("write", path, e))?;
            f.write_all(body).and_then(|()| f.sync_all()).map_err(|e| self.io("write", path, e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| self.io("replace", path, e))?;
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(etag(body))
    }

    fn locked<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        let _order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        f()
    }

    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                Self::walk(&path, base, out)?;
            } else if path.extension().is_none_or(|x| x != "tmp")
                && let Ok(rel) = path.strip_prefix(base)
            {
                out.push(rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"));
            }
        }
        Ok(())
    }
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        format!("the directory `{}`", self.dir.display())
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async move { self.locked(|| self.read(&self.path(key)?)) })
    }

    fn put_if_absent<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            self.locked(|| {
                let path = self.path(key)?;
                if self.read(&path)?.is_some() {
                    return Ok(Cas::Conflict);
                }
                self.write(&path, &body).map(Cas::Written)
            })
        })
    }

    fn put_if_match<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        expected: &'a str,
    ) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            self.locked(|| {
                let path = self.path(key)?;
                match self.read(&path)? {
                    Some(v) if v.etag == expected => self.write(&path, &body).map(Cas::Written),
                    _ => Ok(Cas::Conflict),
                }
            })
        })
    }

    fn delete_if_match<'a>(&'a self, key: &'a str, expected: &'a str) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            self.locked(|| {
                let path = self.path(key)?;
                match self.read(&path)? {
                    Some(v) if v.etag == expected => {
                        std::fs::remove_file(&path).map_err(|e| self.io("remove", &path, e))?;
                        Ok(Cas::Written(String::new()))
                    }
                    _ => Ok(Cas::Conflict),
                }
            })
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            self.locked(|| {
                let mut keys = Vec::new();
                Self::walk(&self.dir, &self.dir, &mut keys).map_err(|e| self.io("list", &self.dir, e))?;
                keys.retain(|k| k.starts_with(prefix));
                keys.sort();
                Ok(keys)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn compare_and_swap_on_files() {
        let dir = std::env::temp_dir().join(format!("coord-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = LocalStore::new(&dir);
        assert_eq!(s.get("leases/a.json").await, Ok(None));
        let Cas::Written(t1) = s.put_if_absent("leases/a.json", b"one".to_vec()).await.unwrap() else { panic!() };
        assert_eq!(s.put_if_absent("leases/a.json", b"two".to_vec()).await, Ok(Cas::Conflict));
        assert_eq!(s.put_if_match("leases/a.json", b"two".to_vec(), "\"stale\"").await, Ok(Cas::Conflict));
        let Cas::Written(t2) = s.put_if_match("leases/a.json", b"two".to_vec(), &t1).await.unwrap() else { panic!() };
        assert_eq!(s.get("leases/a.json").await.unwrap(), Some(Versioned { body: b"two".to_vec(), etag: t2.clone() }));
        assert_eq!(s.put_if_match("leases/a.json", b"three".to_vec(), &t1).await, Ok(Cas::Conflict));
        s.put_if_absent("state/p/x.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(s.list("leases/").await.unwrap(), ["leases/a.json"]);
        assert_eq!(s.list("").await.unwrap(), ["leases/a.json", "state/p/x.json"]);
        assert!(s.get("../escape").await.is_err());
        assert_eq!(s.delete_if_match("leases/a.json", &t1).await, Ok(Cas::Conflict));
        assert!(matches!(s.delete_if_match("leases/a.json", &t2).await, Ok(Cas::Written(_))));
        assert_eq!(s.get("leases/a.json").await, Ok(None));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("state/p/x.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
