//! The coordination store: a small key-value store of JSON objects with compare-and-swap on an
//! entity tag, the one trait that leases, fenced checkpoints and the scheduler are written
//! against. S3 with conditional writes (`If-None-Match: *`, `If-Match`) is one implementation,
//! the local state directory another, an in-process map the one the protocol tests script.
//!
//! Every write either happened or did not, and the caller is told which, with one exception
//! it must plan for: [`StoreError::Unknown`], an answer lost on the way back (a timeout, a
//! reset connection), after which the write may or may not have happened. The protocol
//! resolves that by reading the object again and looking for its own write nonce.

use crate::sink::BoxFuture;

/// An object and its entity tag (S3's `ETag`; a new tag for every write of new content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub body: Vec<u8>,
    pub etag: String,
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cas {
    /// Written; the object's new entity tag.
    Written(String),
    /// The condition did not hold (HTTP 412, or the object is gone for `If-Match`): nothing
    /// was written.
    Conflict,
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Nothing was done; worth trying again after a pause (throttling, 5xx, HTTP 409
    /// `ConditionalRequestConflict`: another conditional write to the key was in flight).
    #[error("{0}")]
    Retryable(String),
    /// The request may or may not have taken effect (its answer was lost).
    #[error("{0} (the answer was lost; the write may have happened)")]
    Unknown(String),
    /// Trying again will not help (no permission, no bucket).
    #[error("{0}")]
    Fatal(String),
}

impl StoreError {
    /// Whether trying again may help.
    pub fn is_transient(&self) -> bool {
        !matches!(self, StoreError::Fatal(_))
    }
}

/// A store of small objects with compare-and-swap. Keys are `/`-separated paths relative to the
/// store's own prefix.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where the store is, for messages (`s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// The object at `key` and its entity tag; `None` when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>>;

    /// Creates `key` only if it does not exist (`If-None-Match: *`).
    fn put_if_absent<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<Cas, StoreError>>;

    /// Replaces `key` only if its entity tag is still `etag` (`If-Match`).
    fn put_if_match<'a>(&'a self, key: &'a str, body: Vec<u8>, etag: &'a str)
    -> BoxFuture<'a, Result<Cas, StoreError>>;

    /// Removes `key` only if its entity tag is still `etag`; `Conflict` when it changed or is gone.
    fn delete_if_match<'a>(&'a self, key: &'a str, etag: &'a str) -> BoxFuture<'a, Result<Cas, StoreError>>;

    /// The keys that start with `prefix`, sorted.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
}

/// An entity tag derived from the content, as S3's is for a single-part PUT: the same bytes
/// give the same tag (which is why every protocol write carries a new nonce).
pub fn content_etag(body: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(body);
    format!("\"{}\"", d.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
}
