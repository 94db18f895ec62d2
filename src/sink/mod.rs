//! Sinks: where events go. A sink ships bytes and acknowledges; it knows nothing of mappings.
//!
//! The runner hands a sink one [`Batch`] at a time and commits its checkpoint only after the
//! sink answered `Ok(Ack)`: an acknowledged batch is durable (written and synced for files,
//! accepted by the service for remote sinks). A sink that cannot take a batch answers
//! [`SinkError::Retryable`] (the runner backs off and sends the same batch again) or
//! [`SinkError::Fatal`]; events a remote service refused one by one are counted in
//! [`Ack::rejected`].
//!
//! Exactly-once across crashes: the checkpoint carries what each sink reports as
//! [`Sink::committed`] (a file's committed length, say) and, written ahead of a send, its
//! [`Sink::intent`] for the batch (a file rotation about to happen, the events about to go to a
//! service that cannot take anything back). A restart hands both to [`Sink::resume`] before
//! anything is sent, so that the sink can undo or recognise what the crashed run left behind.

pub mod batch;
pub mod cloudwatch;
pub mod deadletter;
pub mod file;
pub mod jsonl;
pub mod mark;
pub mod preview;
pub mod rotate;
pub mod security_lake;
pub mod stdout;

pub use batch::{Batch, Batcher, EncodedEvent};
pub use deadletter::DeadLetterFile;
pub use file::FileSink;
pub use stdout::StdoutSink;

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so that sinks can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a sink says about a batch it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ack {
    /// Events stored.
    pub accepted: usize,
    /// Events the destination refused (e.g. too old for it); they are not retried.
    pub rejected: usize,
}

/// Why a sink did not take a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Worth sending the same batch again after a pause (throttling, a network error).
    #[error("{0}")]
    Retryable(String),
    /// Sending again will not help (no permission, a missing destination, a full disk).
    #[error("{0}")]
    Fatal(String),
}

/// A sink's own part of the checkpoint (its committed state or a write-ahead intent), read
/// back; `sink` names it in the error (`CloudWatch Logs`).
pub fn checkpoint_state<T: serde::de::DeserializeOwned>(v: &serde_json::Value, sink: &str) -> Result<T, SinkError> {
    T::deserialize(v).map_err(|e| SinkError::Fatal(format!("the checkpoint's {sink} state is not readable: {e}")))
}

/// A destination for events.
pub trait Sink: Send {
    /// A short description for messages (`file ocsf-events.ndjson`).
    fn describe(&self) -> String;

    /// The sink's kind as `--sink` names it (a metrics label).
    fn kind(&self) -> &'static str {
        "other"
    }

    /// Stores `batch`, in order; `Ok` only once it is durable.
    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>>;

    /// What the checkpoint must keep of the destination after an acknowledged batch (e.g. the
    /// committed length of a file); `None` for a sink with nothing to keep.
    fn committed(&self) -> Option<serde_json::Value> {
        None
    }

    /// Whether the events gathered so far should be sent at the end of a window. A sink that
    /// writes few, large objects (Security Lake) answers `false` until its interval has passed;
    /// the runner then keeps gathering, without committing, and still sends a full batch and
    /// everything at the end of the run.
    fn due(&self) -> bool {
        true
    }

    /// Called before `batch` is sent: what the checkpoint must record first (write-ahead) so
    /// that a run killed during the send can be recovered; `None` when nothing is needed.
    fn intent(&mut self, batch: &Batch) -> Result<Option<serde_json::Value>, SinkError> {
        let _ = batch;
        Ok(None)
    }

    /// Called once before the first send of a run with the checkpoint's committed state and,
    /// when the last run stopped between an intent and its commit, that intent: the sink
    /// brings the destination back to the committed state, or learns what of the intent is
    /// already there so that it is not sent twice.
    fn resume<'a>(
        &'a mut self,
        committed: Option<&'a serde_json::Value>,
        pending: Option<&'a serde_json::Value>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        let _ = (committed, pending);
        Box::pin(async { Ok(()) })
    }
}
