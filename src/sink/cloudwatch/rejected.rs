//! The sink's own dead-letter file: events CloudWatch Logs cannot take or refused (too large,
//! too old, too new, expired), one JSON line each with a reason, synced before the batch is
//! acknowledged so that nothing is lost silently.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends refused events to a file created on first use.
#[derive(Debug)]
pub struct RejectedFile {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    truncate: bool,
    pending: bool,
}

impl RejectedFile {
    /// `truncate` empties an existing file when the first event is written.
    pub fn new(path: &Path, truncate: bool) -> Self {
        RejectedFile { path: path.to_path_buf(), writer: None, truncate, pending: false }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one refused event. `event` is the line that was to be sent (an OCSF event).
    pub fn write(&mut self, reason: &str, message: &str, log_group: &str, event: &str) -> Result<(), String> {
        let err = |e: std::io::Error| format!("cannot write refused events to `{}`: {e}", self.path.display());
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
        let event = serde_json::from_str::<serde_json::Value>(event).unwrap_or_else(|_| event.into());
        let line = serde_json::json!({
            "reason": reason,
            "message": message,
            "sink": "cloudwatch_logs",
            "log_group": log_group,
            "event": event,
        });
        let w = self.writer.as_mut().ok_or_else(|| "refused-events file not open".to_string())?;
        writeln!(w, "{line}").map_err(err)?;
        self.pending = true;
        Ok(())
    }

    /// Makes every line written so far durable.
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
