//! The runner's checkpoint kept in the coordination store: a [`Backend`] over a
//! [`FencedCheckpoint`]. The runner saves synchronously between batches; each save here is
//! the fenced compare-and-swap, run to its end on the runtime's thread pool.
//!
//! Files the checkpoint marks (the dead letters, the refused events) are local to the machine
//! that wrote them. When the last writer was another machine, those marks say nothing about the
//! files here and are left out, and a reconciliation's digests (also local) count as complete
//! only from the resume point on, so that a re-read never takes for new what the other machine
//! delivered.

use super::fenced::{Envelope, FencedCheckpoint};
use crate::runner::checkpoint::{Backend, Checkpoint, ReconcileMark};
use std::sync::Arc;

/// The checkpoint of one stream in the store.
#[derive(Debug)]
pub struct StoredCheckpoint {
    fenced: Arc<FencedCheckpoint>,
    /// The machine of the last write before this worker fenced it.
    from_elsewhere: bool,
}

impl StoredCheckpoint {
    /// `before` is what [`FencedCheckpoint::fence`] found; `machine` this machine's name.
    pub fn new(fenced: Arc<FencedCheckpoint>, before: Option<&Envelope>, machine: &str) -> Self {
        let from_elsewhere = before.is_some_and(|b| b.checkpoint.is_some() && b.machine != machine);
        StoredCheckpoint { fenced, from_elsewhere }
    }
}

/// `cp` as read on another machine than the one that wrote it (see the module doc).
pub fn without_local_marks(mut cp: Checkpoint) -> Checkpoint {
    cp.dead_letters = None;
    cp.archive = None;
    if let Some(serde_json::Value::Object(sink)) = &mut cp.sink {
        sink.remove("refused");
    }
    cp.reconcile =
        cp.reconcile.map(|m| ReconcileMark { since_ms: m.since_ms.max(cp.resume_from_ms), done_at_ms: m.done_at_ms });
    cp
}

/// Runs `f` to its end from synchronous code inside the multi-threaded runtime.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    let handle = tokio::runtime::Handle::try_current().map_err(|e| format!("no runtime for the store: {e}"))?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err("the coordination store needs the multi-threaded runtime".into());
    }
    Ok(tokio::task::block_in_place(|| handle.block_on(f)))
}

impl Backend for StoredCheckpoint {
    fn load(&self) -> Result<Option<Checkpoint>, String> {
        let Some(value) = self.fenced.current() else { return Ok(None) };
        let cp: Checkpoint = serde_json::from_value(value)
            .map_err(|e| format!("the checkpoint `{}` is damaged ({e}); it is left as it is", self.fenced.key()))?;
        Ok(Some(if self.from_elsewhere { without_local_marks(cp) } else { cp }))
    }

    fn save(&self, cp: &Checkpoint) -> Result<(), String> {
        let value = serde_json::to_value(cp).map_err(|e| format!("cannot encode checkpoint: {e}"))?;
        block_on(self.fenced.commit(value))?.map_err(|e| e.to_string())
    }
}
