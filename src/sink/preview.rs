//! The preview sink of `engine run --dry-run`: prints each batch it would send (a header with
//! its size and time span, then its events) to standard output, and stores nothing.

use super::{Ack, Batch, BoxFuture, Sink, SinkError};
use crate::source::timefmt::iso_millis;
use std::io::Write;

/// Prints batches; counts them for the headers.
#[derive(Debug, Default)]
pub struct PreviewSink {
    batches: usize,
    /// What the real run would ship to (`file ocsf-events.ndjson`).
    pub target: String,
}

impl PreviewSink {
    pub fn new(target: String) -> Self {
        PreviewSink { batches: 0, target }
    }
}

impl Sink for PreviewSink {
    fn describe(&self) -> String {
        format!("a preview of {}", self.target)
    }

    fn kind(&self) -> &'static str {
        "preview"
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            self.batches += 1;
            let (first, last) = match (batch.events.first(), batch.events.last()) {
                (Some(f), Some(l)) => (iso_millis(f.time_ms), iso_millis(l.time_ms)),
                _ => (String::new(), String::new()),
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let fail = |e: std::io::Error| SinkError::Fatal(format!("cannot write to standard output: {e}"));
            writeln!(
                out,
                "# batch {} for {}: {} events, {} bytes, {first} .. {last}",
                self.batches,
                self.target,
                batch.len(),
                batch.bytes
            )
            .map_err(fail)?;
            for e in &batch.events {
                writeln!(out, "{}", e.line).map_err(fail)?;
            }
            out.flush().map_err(fail)?;
            Ok(Ack { accepted: batch.len(), rejected: 0 })
        })
    }
}
