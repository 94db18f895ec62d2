//! The `stdout` sink: one event per line on standard output.

use super::{Ack, Batch, BoxFuture, Sink, SinkError};
use std::io::Write;

#[derive(Debug, Default)]
pub struct StdoutSink;

impl Sink for StdoutSink {
    fn describe(&self) -> String {
        "standard output".into()
    }

    fn kind(&self) -> &'static str {
        "stdout"
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for e in &batch.events {
                out.write_all(e.line.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|e| SinkError::Fatal(format!("cannot write to standard output: {e}")))?;
            }
            out.flush().map_err(|e| SinkError::Fatal(format!("cannot write to standard output: {e}")))?;
            Ok(Ack { accepted: batch.len(), rejected: 0 })
        })
    }
}
