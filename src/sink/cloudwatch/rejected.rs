//! The sink's own dead-letter file: events CloudWatch Logs cannot take or refused (too large,
//! too old, too new, expired), one JSON line each with a reason, synced before the batch is
//! acknowledged so that nothing is lost silently.

use crate::sink::jsonl::JsonLinesFile;
use crate::sink::mark::{FileMark, MarkError};
use std::path::Path;

/// Appends refused events to a file created on first use.
#[derive(Debug)]
pub struct RejectedFile {
    file: JsonLinesFile,
    /// The sink's kind and the name of the field that says where the event was to go.
    sink: &'static str,
    place: &'static str,
}

impl RejectedFile {
    /// `truncate` empties an existing file when the first event is written.
    pub fn new(path: &Path, truncate: bool) -> Self {
        Self::of_sink(path, truncate, "cloudwatch_logs", "log_group")
    }

    /// The refused-events file of another sink: `sink` is its kind, `place` the field naming
    /// where the event was to go (`source_name`).
    pub fn of_sink(path: &Path, truncate: bool, sink: &'static str, place: &'static str) -> Self {
        RejectedFile { file: JsonLinesFile::new(path, truncate, "refused events"), sink, place }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Writes one refused event. `event` is the line that was to be sent (an OCSF event).
    pub fn write(&mut self, reason: &str, message: &str, log_group: &str, event: &str) -> Result<(), String> {
        let event = serde_json::from_str::<serde_json::Value>(event).unwrap_or_else(|_| event.into());
        let mut line = serde_json::json!({
            "reason": reason,
            "message": message,
            "sink": self.sink,
        });
        line[self.place] = log_group.into();
        line["event"] = event;
        self.file.write_line(&line.to_string())
    }

    /// Where the file ends once synced: what a checkpoint records.
    pub fn mark(&self) -> FileMark {
        self.file.mark()
    }

    /// Before anything is written: cuts the file back to its committed length (a restart).
    pub fn restore(&mut self, mark: &FileMark) -> Result<(), MarkError> {
        self.file.restore(mark)
    }

    /// Makes every line written so far durable.
    pub fn sync(&mut self) -> Result<(), String> {
        self.file.sync()
    }
}
