//! Where a source's fixtures and snapshots live, by the repository layout: one mapping has the
//! same relative path in the mapping directory, in `tests/fixtures/<name>/` and in
//! `snapshots/<name>/`, where `<name>` is the mapping directory's name (or, for a directory
//! called `mappings`, the name of the directory holding it) and the root is the nearest
//! directory above the mappings that holds either tree.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The fixture and snapshot trees of one source.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The name of the trees (`entrust`).
    pub name: String,
    /// The repository root the trees and `input_file` paths are relative to.
    pub root: PathBuf,
    pub fixtures: PathBuf,
    pub snapshots: PathBuf,
    /// How the fixture directory was chosen, for messages when it holds nothing.
    pub found_by: FoundBy,
}

/// How [`Layout::discover`] chose the fixture directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// `tests/fixtures/<name>` or `snapshots/<name>` exists under the root.
    Found,
    /// Neither exists anywhere above the mappings; the current directory is the root.
    NotFound,
    /// Given on the command line.
    Given,
}

impl Layout {
    /// The layout of the source whose mappings are in `mappings`, searched from the mapping
    /// directory upwards; `fixtures` and `snapshots` override the trees.
    pub fn discover(mappings: &Path, fixtures: Option<&Path>, snapshots: Option<&Path>) -> Layout {
        let mappings = absolute(mappings);
        let name = tree_name(&mappings);
        let found = mappings
            .ancestors()
            .skip(1)
            .find(|dir| dir.join("tests/fixtures").join(&name).is_dir() || dir.join("snapshots").join(&name).is_dir());
        let cwd = std::env::current_dir().unwrap_or_default();
        let (root, mut found_by) = match found {
            Some(dir) => (dir.to_path_buf(), FoundBy::Found),
            None => (cwd.clone(), FoundBy::NotFound),
        };
        if fixtures.is_some() {
            found_by = FoundBy::Given;
        }
        let fixtures = fixtures.map(absolute).unwrap_or_else(|| root.join("tests/fixtures").join(&name));
        let snapshots = snapshots.map(absolute).unwrap_or_else(|| root.join("snapshots").join(&name));
        Layout { name, root: relative_to(&root, &cwd), fixtures, snapshots, found_by }
    }

    /// `path` as it is shown: relative to the current directory when below it.
    pub fn show(&self, path: &Path) -> String {
        let cwd = std::env::current_dir().unwrap_or_default();
        slashes(&relative_to(&absolute(path), &cwd))
    }

    /// `path` relative to the root (the `input_file` of a snapshot).
    pub fn from_root(&self, path: &Path) -> String {
        slashes(&relative_to(&absolute(path), &absolute(&self.root)))
    }

    /// Why the fixture tree holds nothing, for a message: where it was looked for.
    pub fn why_empty(&self) -> String {
        let dir = self.show(&self.fixtures);
        match self.found_by {
            FoundBy::Found | FoundBy::Given => format!("`{dir}` holds no `.json` fixture"),
            FoundBy::NotFound => format!(
                "no `tests/fixtures/{0}/` or `snapshots/{0}/` in any directory above the mappings, and `{dir}` (below the current directory) does not exist",
                self.name
            ),
        }
    }
}

/// The name of the fixture and snapshot trees of a mapping directory.
pub fn tree_name(mappings: &Path) -> String {
    let last = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let own = last(mappings);
    if own == "mappings"
        && let Some(parent) = mappings.parent()
    {
        let up = last(parent);
        if !up.is_empty() {
            return up;
        }
    }
    own
}

/// Files with extension `ext` below `dir`, as `/`-separated paths relative to `dir` without
/// the extension, sorted.
pub fn files(dir: &Path, ext: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext)
                && let Ok(rel) = p.strip_prefix(dir)
            {
                out.insert(slashes(&rel.with_extension("")));
            }
        }
    }
    out
}

/// The directory part of a case (`authentication/X` of `authentication/X/success`).
pub fn dir_of(case: &str) -> &str {
    case.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Directories whose last name starts with `_` hold records that must be dead-lettered.
pub fn is_dead_letter_dir(dir: &str) -> bool {
    dir.rsplit('/').next().is_some_and(|last| last.starts_with('_'))
}

fn absolute(path: &Path) -> PathBuf {
    let joined =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn relative_to(path: &Path, base: &Path) -> PathBuf {
    match path.strip_prefix(base) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

fn slashes(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_named_after_the_mapping_directory() {
        assert_eq!(tree_name(Path::new("/r/mappings/entrust")), "entrust");
        assert_eq!(tree_name(Path::new("/r/tests/language/mappings")), "language");
        assert_eq!(tree_name(Path::new("/r/mappings")), "r");
    }

    #[test]
    fn cases_are_split_into_directory_and_kind() {
        assert_eq!(dir_of("authentication/X/success"), "authentication/X");
        assert!(is_dead_letter_dir("_dead_letter"));
        assert!(is_dead_letter_dir("authentication/_bad"));
        assert!(!is_dead_letter_dir("authentication/X"));
    }
}
