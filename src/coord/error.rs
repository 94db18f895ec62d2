//! Why a coordination step failed: where (the store and the key) and what went wrong.

use super::store::StoreError;

/// A failed coordination step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (`{key}` in {store})")]
pub struct CoordError {
    /// The store, as [`super::Store::describe`] says it.
    pub store: String,
    pub key: String,
    pub kind: CoordErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordErrorKind {
    /// Another worker holds the lease now (or this one could not renew it in time): the
    /// pipeline must stop at once; its next owner goes on from the last commit.
    #[error(
        "the lease was lost: {0}; this worker stops the pipeline and its new owner goes on from the last checkpoint"
    )]
    LeaseLost(String),
    /// The store refused or failed the call.
    #[error("{0}")]
    Store(StoreError),
    /// An object is not what the protocol wrote.
    #[error("the object is damaged ({0}); it is left as it is: move it away to start that pipeline over")]
    Damaged(String),
}

impl CoordError {
    pub fn new(store: &dyn super::Store, key: &str, kind: CoordErrorKind) -> Self {
        CoordError { store: store.describe(), key: key.to_string(), kind }
    }

    /// Whether the lease is gone (the pipeline must stop).
    pub fn is_lost(&self) -> bool {
        matches!(self.kind, CoordErrorKind::LeaseLost(_))
    }

    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        matches!(&self.kind, CoordErrorKind::Store(e) if e.is_transient())
    }
}
