//! Configuration errors: a location in a source file plus a kind with a stable code.
//!
//! Every problem found while loading source specs and mapping files becomes a [`Diagnostic`].
//! Loading never stops at the first one: all diagnostics of all files are collected and
//! rendered together, rustc-style, by [`render`].

mod kind;
mod render;
mod suggest;

pub use kind::ErrorKind;
pub use render::{render, render_all};
pub use suggest::did_you_mean;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest configuration file (spec or mapping) the engine reads: 1 MiB.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A file that diagnostics can point into.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as it should be shown to the user.
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(Self { path: path.into(), text: text.into() })
    }

    /// Reads a file, turning an I/O failure into a diagnostic.
    /// Reads a configuration file of at most [`MAX_FILE_BYTES`].
    pub fn read(path: &Path) -> Result<Arc<Self>, Diagnostic> {
        let io = |reason: String| Diagnostic::new(ErrorKind::Io { path: path.display().to_string(), reason });
        let len = std::fs::metadata(path).map_err(|e| io(e.to_string()))?.len();
        if len > MAX_FILE_BYTES {
            return Err(io(format!("the file is {len} bytes; configuration files may have at most {MAX_FILE_BYTES}")));
        }
        std::fs::read_to_string(path).map(|text| Self::new(path, text)).map_err(|e| io(e.to_string()))
    }
}

/// A place in a source file: 1-based line and column (in characters), and a length in characters.
#[derive(Debug, Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Span {
    pub fn new(file: &Arc<SourceFile>, line: u32, column: u32, len: u32) -> Self {
        Self { file: Arc::clone(file), line, column, len: len.max(1) }
    }

    /// `path:line:column`, as editors and terminals understand it.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file.path.display(), self.line, self.column)
    }
}

/// Whether a diagnostic stops the configuration from being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Error,
    /// Something that may be wrong, where the files alone cannot tell (`engine check` reports
    /// it and still exits 0).
    Warning,
}

/// One configuration error (or warning).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub kind: ErrorKind,
    pub severity: Severity,
    pub span: Option<Span>,
    /// A hint shown as `help:`, such as the closest valid name.
    pub help: Option<String>,
    /// Other places that explain the error (e.g. the other of two overlapping matchers).
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, severity: Severity::Error, span: None, help: None, notes: Vec::new() }
    }

    /// The same, as a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `error` or `warning`, as rendered.
    pub fn label(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    /// The stable code, e.g. `E103`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// A key used to sort and de-duplicate diagnostics: file, line, column, message.
    fn sort_key(&self) -> (String, u32, u32, String) {
        match &self.span {
            Some(s) => (s.file.path.display().to_string(), s.line, s.column, self.kind.to_string()),
            None => (String::new(), 0, 0, self.kind.to_string()),
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{}: {}[{}]: {}", span.location(), self.label(), self.code(), self.kind),
            None => write!(f, "{}[{}]: {}", self.label(), self.code(), self.kind),
        }
    }
}

/// Sorts diagnostics by file and position and drops exact repeats (a base file's error is
/// found once for every mapping that extends it).
pub fn sort_and_dedup(diags: &mut Vec<Diagnostic>) {
    diags.sort_by_key(|a| a.sort_key());
    diags.dedup_by(|a, b| a.sort_key() == b.sort_key());
}

/// Collects diagnostics while loading.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    /// Finishes loading: `Ok(value)` if nothing went wrong, else every diagnostic, sorted.
    pub fn finish<T>(mut self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            sort_and_dedup(&mut self.0);
            Err(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_files_are_refused_with_a_clear_error() {
        let path = std::env::temp_dir().join(format!("ocsf-engine-big-{}.yaml", std::process::id()));
        std::fs::write(&path, "# x\n".repeat((MAX_FILE_BYTES as usize) / 4 + 1)).unwrap();
        let err = SourceFile::read(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(err.code(), "E006");
        assert!(err.kind.to_string().contains("configuration files may have at most 1048576"), "{}", err.kind);
    }
}
