//! The dead-letter file: one JSON line per record that could not become valid OCSF
//! (`{reason, message, details, mapping, record}`), synced before a checkpoint is committed.

use crate::deadletter::DeadLetter;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct DeadLetterFile {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    truncate: bool,
    pending: bool,
}

impl DeadLetterFile {
    /// The file is created on the first dead letter only. `truncate` empties an existing one then.
    pub fn new(path: &Path, truncate: bool) -> Self {
        DeadLetterFile { path: path.to_path_buf(), writer: None, truncate, pending: false }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, dl: &DeadLetter) -> Result<(), String> {
        let err = |e: std::io::Error| format!("cannot write dead letters to `{}`: {e}", self.path.display());
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
        }
        let w = self.writer.as_mut().ok_or_else(|| "dead-letter file not open".to_string())?;
        writeln!(w, "{}", dl.to_json_line()).map_err(err)?;
        self.pending = true;
        Ok(())
    }

    /// Makes every dead letter written so far durable.
    pub fn sync(&mut self) -> Result<(), String> {
        if !self.pending {
            return Ok(());
        }
        let path = self.path.display().to_string();
        if let Some(w) = &mut self.writer {
            w.flush().map_err(|e| format!("cannot write `{path}`: {e}"))?;
            w.get_ref().sync_data().map_err(|e| format!("cannot write `{path}`: {e}"))?;
        }
        self.pending = false;
        Ok(())
    }
}
