//! The dead-letter file: one JSON line per record that could not become valid OCSF
//! (`{reason, message, details, mapping, record}`), synced before a checkpoint is committed.

use super::jsonl::JsonLinesFile;
use super::mark::{FileMark, MarkError};
use crate::deadletter::DeadLetter;
use std::path::Path;

#[derive(Debug)]
pub struct DeadLetterFile(JsonLinesFile);

impl DeadLetterFile {
    /// The file is created on the first dead letter only. `truncate` empties an existing one then.
    pub fn new(path: &Path, truncate: bool) -> Self {
        DeadLetterFile(JsonLinesFile::new(path, truncate, "dead letters"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn write(&mut self, dl: &DeadLetter) -> Result<(), String> {
        self.0.write_line(&dl.to_json_line())
    }

    /// Where the file ends once synced: what a checkpoint records.
    pub fn mark(&self) -> FileMark {
        self.0.mark()
    }

    /// Before anything is written: cuts the file back to its committed length (a restart).
    pub fn restore(&mut self, mark: &FileMark) -> Result<(), MarkError> {
        self.0.restore(mark)
    }

    /// Makes every dead letter written so far durable.
    pub fn sync(&mut self) -> Result<(), String> {
        self.0.sync()
    }
}
