//! Sinks: where events go. A sink ships bytes and acknowledges; it knows nothing of mappings.
//!
//! The runner hands a sink one [`Batch`] at a time and commits its checkpoint only after the
//! sink answered `Ok(Ack)`: an acknowledged batch is durable (written and synced for files,
//! accepted by the service for remote sinks). A sink that cannot take a batch answers
//! [`SinkError::Retryable`] (the runner backs off and sends the same batch again) or
//! [`SinkError::Fatal`]; events a remote service refused one by one are counted in
//! [`Ack::rejected`].

pub mod batch;
pub mod cloudwatch;
pub mod deadletter;
pub mod file;
pub mod jsonl;
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

/// A destination for events.
pub trait Sink: Send {
    /// A short description for messages (`file ocsf-events.ndjson`).
    fn describe(&self) -> String;

    /// Stores `batch`, in order; `Ok` only once it is durable.
    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>>;
}
