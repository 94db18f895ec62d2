//! A sink that sends only under a held lease: before every send it checks the lease, and a
//! send may last at most `longest_send`, so that a worker that lost its lease writes nothing
//! more, and what one may still have in flight is over before the next owner, which waits
//! out the lease plus that bound, reads the destination back.

use super::lease::Lease;
use crate::sink::{Ack, Batch, BoxFuture, Sink, SinkError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub struct FencedSink {
    inner: Box<dyn Sink>,
    lease: Arc<Lease>,
    longest_send: Duration,
}

impl FencedSink {
    pub fn new(inner: Box<dyn Sink>, lease: Arc<Lease>, longest_send: Duration) -> Self {
        FencedSink { inner, lease, longest_send }
    }
}

impl Sink for FencedSink {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            self.lease.check().map_err(|why| {
                SinkError::Fatal(format!("not sent: the lease on `{}` was lost: {why}", self.lease.unit))
            })?;
            match tokio::time::timeout(self.longest_send, self.inner.send(batch)).await {
                Ok(sent) => sent,
                Err(_) => Err(SinkError::Fatal(format!(
                    "a send took longer than {} s, the longest the lease allows; the batch's intent is \
                     checkpointed and its next owner reads back what of it arrived",
                    self.longest_send.as_secs_f64()
                ))),
            }
        })
    }

    fn committed(&self) -> Option<Value> {
        self.inner.committed()
    }

    fn due(&self) -> bool {
        self.inner.due()
    }

    fn intent(&mut self, batch: &Batch) -> Result<Option<Value>, SinkError> {
        self.inner.intent(batch)
    }

    fn resume<'a>(
        &'a mut self,
        committed: Option<&'a Value>,
        pending: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        self.inner.resume(committed, pending)
    }
}
