//! A JSON-lines file opened on first use, appended to (or emptied on first use), and made
//! durable on demand: the shape of every file of records set aside (dead letters, refused events).
//! After a SIGHUP the file is closed once synced, so that the commit that follows names the
//! file now at the path (logrotate's new one) and the next line goes there.

use super::mark::{FileMark, MarkError, current_len};
use super::rotate::FileId;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct JsonLinesFile {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    truncate: bool,
    pending: bool,
    /// What the lines are, for error messages ("dead letters").
    what: &'static str,
    /// Reopen requests (SIGHUP) already acted on.
    reopens_seen: u64,
}

impl JsonLinesFile {
    /// The file is created on the first line only. `truncate` empties an existing one then.
    pub fn new(path: &Path, truncate: bool, what: &'static str) -> Self {
        let reopens_seen = super::rotate::SIGHUP.count();
        JsonLinesFile { path: path.to_path_buf(), writer: None, truncate, pending: false, what, reopens_seen }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (`line` holds no newline).
    pub fn write_line(&mut self, line: &str) -> Result<(), String> {
        let err = |e: std::io::Error| format!("cannot write {} to `{}`: {e}", self.what, self.path.display());
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            let mut o = OpenOptions::new();
            if self.truncate {
                o.write(true).create(true).truncate(true);
            } else {
                o.append(true).create(true);
            }
            self.writer = Some(BufWriter::new(o.open(&self.path).map_err(err)?));
            // Emptied once; a reopen later (SIGHUP) appends.
            self.truncate = false;
        }
        let w = self.writer.as_mut().ok_or_else(|| format!("the file of {} is not open", self.what))?;
        writeln!(w, "{line}").map_err(err)?;
        self.pending = true;
        Ok(())
    }

    /// The committed length: where the file ends once every line written so far is durable
    /// (call after [`JsonLinesFile::sync`]). A file still to be emptied on first use counts as
    /// empty.
    pub fn mark(&self) -> FileMark {
        if self.writer.is_none() && self.truncate {
            return FileMark::new(&self.path, 0);
        }
        // The open file, which logrotate may have moved from its path; else the path's.
        let meta = match &self.writer {
            Some(w) => w.get_ref().metadata().ok(),
            None => std::fs::metadata(&self.path).ok(),
        };
        let len = meta.as_ref().map_or_else(|| current_len(&self.path), |m| m.len());
        FileMark::new(&self.path, len).with_id(meta.as_ref().and_then(FileId::of))
    }

    /// Before anything is written: cuts the file back to what `mark` committed (a restart).
    /// A mark about another file (the path changed between runs) leaves this one alone.
    pub fn restore(&mut self, mark: &FileMark) -> Result<(), MarkError> {
        if !mark.is_for(&self.path) {
            return Ok(());
        }
        self.writer = None;
        self.truncate = false;
        self.pending = false;
        mark.restore()
    }

    /// Makes every line written so far durable.
    pub fn sync(&mut self) -> Result<(), String> {
        let reopen = super::rotate::SIGHUP.due(&mut self.reopens_seen);
        if !self.pending {
            if reopen && !self.truncate {
                self.writer = None;
            }
            return Ok(());
        }
        let path = self.path.display().to_string();
        if let Some(w) = &mut self.writer {
            w.flush().map_err(|e| format!("cannot write `{path}`: {e}"))?;
            w.get_ref().sync_data().map_err(|e| format!("cannot write `{path}`: {e}"))?;
        }
        self.pending = false;
        if reopen && !self.truncate {
            self.writer = None;
        }
        Ok(())
    }
}
