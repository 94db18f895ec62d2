//! An in-process [`Store`] with linearizable compare-and-swap (one lock around a map), entity
//! tags derived from the content as S3's are (the same bytes give the same tag), and scripted
//! faults: an answer lost after the write was applied, a 409 conflict, an unavailable store.
//! The protocol tests drive workers against it step by step; nothing in it sleeps.

use super::store::{Cas, Store, StoreError, Versioned, content_etag as etag};
use crate::sink::BoxFuture;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// A store call, for scripting faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Get,
    PutIfAbsent,
    PutIfMatch,
    DeleteIfMatch,
    List,
}

/// What a scripted fault does to the next matching call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call takes effect, but its answer is lost ([`StoreError::Unknown`]).
    LoseAnswer,
    /// HTTP 409 `ConditionalRequestConflict`: nothing is done ([`StoreError::Retryable`]).
    Conflict409,
    /// HTTP 503: nothing is done ([`StoreError::Retryable`]).
    Unavailable,
}

#[derive(Debug, Default)]
struct Inner {
    objects: BTreeMap<String, Versioned>,
    /// Faults still to happen: the call, a part of the key it must contain, the fault.
    faults: VecDeque<(Op, String, Fault)>,
    /// Every call that reached the store, in order (`put_if_match leases/a.json`).
    calls: Vec<String>,
}

/// The in-process store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The next call `op` on a key containing `key_part` gets `fault`.
    pub fn inject(&self, op: Op, key_part: &str, fault: Fault) {
        self.lock().faults.push_back((op, key_part.to_string(), fault));
    }

    /// The object at `key` as stored, bypassing faults (for assertions).
    pub fn peek(&self, key: &str) -> Option<Versioned> {
        self.lock().objects.get(key).cloned()
    }

    /// Replaces an object behind every worker's back (for tests of damaged state).
    pub fn overwrite(&self, key: &str, body: Vec<u8>) {
        let tag = etag(&body);
        self.lock().objects.insert(key.to_string(), Versioned { body, etag: tag });
    }

    /// Every call made so far.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one call atomically: the fault scripted for it, if any, decides what the caller hears.
    fn call<T>(
        &self,
        op: Op,
        key: &str,
        apply: impl FnOnce(&mut BTreeMap<String, Versioned>) -> T,
    ) -> Result<T, StoreError> {
        let mut inner = self.lock();
        inner.calls.push(format!("{op:?} {key}"));
        let at = inner.faults.iter().position(|(o, part, _)| *o == op && key.contains(part.as_str()));
        let fault = at.and_then(|i| inner.faults.remove(i)).map(|(_, _, f)| f);
        match fault {
            Some(Fault::Conflict409) => {
                Err(StoreError::Retryable(format!("{op:?} {key}: ConditionalRequestConflict (HTTP 409)")))
            }
            Some(Fault::Unavailable) => {
                Err(StoreError::Retryable(format!("{op:?} {key}: ServiceUnavailable (HTTP 503)")))
            }
            Some(Fault::LoseAnswer) => {
                let _ = apply(&mut inner.objects);
                Err(StoreError::Unknown(format!("{op:?} {key}: connection reset")))
            }
            None => Ok(apply(&mut inner.objects)),
        }
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "an in-process store".into()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async move { self.call(Op::Get, key, |m| m.get(key).cloned()) })
    }

    fn put_if_absent<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            self.call(Op::PutIfAbsent, key, |m| {
                if m.contains_key(key) {
                    return Cas::Conflict;
                }
                let tag = etag(&body);
                m.insert(key.to_string(), Versioned { body, etag: tag.clone() });
                Cas::Written(tag)
            })
        })
    }

    fn put_if_match<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        expected: &'a str,
    ) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            self.call(Op::PutIfMatch, key, |m| match m.get(key) {
                Some(v) if v.etag == expected => {
                    let tag = etag(&body);
                    m.insert(key.to_string(), Versioned { body, etag: tag.clone() });
                    Cas::Written(tag)
                }
                _ => Cas::Conflict,
            })
        })
    }

    fn delete_if_match<'a>(&'a self, key: &'a str, expected: &'a str) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            self.call(Op::DeleteIfMatch, key, |m| match m.get(key) {
                Some(v) if v.etag == expected => {
                    m.remove(key);
                    Cas::Written(String::new())
                }
                _ => Cas::Conflict,
            })
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            self.call(Op::List, prefix, |m| m.keys().filter(|k| k.starts_with(prefix)).cloned().collect())
        })
    }
}
