//! Fenced checkpoints: a stream's checkpoint in the coordination store
//! (`state/<unit>/<source>/<stream>.checkpoint.json`), wrapped with the owner and the lease
//! epoch of its last writer. Every commit is a compare-and-swap on the tag of this worker's own
//! last write, so it fails as soon as anyone else wrote the object.
//!
//! A new owner first **fences** the checkpoint: it writes it back unchanged under its own epoch
//! (a compare-and-swap too). From then on the old owner's next commit, a write-ahead intent
//! included, fails, and that worker stops its pipeline; the intent it may have saved just
//! before is in the checkpoint the new owner reads, which recovers it before reading on.
//! A checkpoint fenced by a later epoch than this worker's lease means this worker lost.

use super::error::{CoordError, CoordErrorKind};
use super::lease::{Lease, Leases};
use super::store::{Cas, StoreError, Versioned};
use crate::source::timefmt::iso_millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The key of a stream's checkpoint.
pub fn checkpoint_key(unit: &str, source: &str, stream: &str) -> String {
    format!("state/{}/{}/{}.checkpoint.json", super::safe(unit), super::safe(source), super::safe(stream))
}

/// A checkpoint object as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The worker of the last write, its lease epoch and its machine (local files such as the
    /// dead letters are that machine's).
    pub owner: String,
    pub epoch: u64,
    pub machine: String,
    pub written: String,
    /// New with every write.
    pub write: String,
    /// The runner's checkpoint (`None` until the first commit).
    pub checkpoint: Option<Value>,
}

/// A stream's checkpoint, written under a held lease.
#[derive(Debug)]
pub struct FencedCheckpoint {
    leases: Arc<Leases>,
    lease: Arc<Lease>,
    key: String,
    machine: String,
    /// The tag of this worker's last write and what it held.
    last: Mutex<(String, Envelope)>,
}

/// How many times a commit is tried again after a transient store error, while the lease holds.
const ATTEMPTS: u32 = 6;

impl FencedCheckpoint {
    /// Fences the checkpoint at `key` for `lease` (see the module doc) and returns it with the
    /// envelope as it was before (`None`: there was no object yet).
    pub async fn fence(
        leases: Arc<Leases>,
        lease: Arc<Lease>,
        key: &str,
        machine: &str,
    ) -> Result<(FencedCheckpoint, Option<Envelope>), CoordError> {
        let store = Arc::clone(leases.store());
        let err = |kind| CoordError::new(store.as_ref(), key, kind);
        let mut failures = 0;
        loop {
            lease.check().map_err(|why| err(CoordErrorKind::LeaseLost(why)))?;
            let current = store.get(key).await.map_err(|e| err(CoordErrorKind::Store(e)));
            let current = match current {
                Ok(c) => c,
                Err(e) if e.is_transient() && failures < ATTEMPTS => {
                    failures += 1;
                    pause(failures).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let before = match &current {
                Some(v) => Some(parse(v).map_err(|m| err(CoordErrorKind::Damaged(m)))?),
                None => None,
            };
            if let Some(b) = &before
                && (b.epoch > lease.epoch || (b.epoch == lease.epoch && b.owner != lease.owner))
            {
                let why = format!("the checkpoint is fenced by worker `{}` at epoch {}", b.owner, b.epoch);
                lease.mark_lost(&why);
                return Err(err(CoordErrorKind::LeaseLost(why)));
            }
            let env = Envelope {
                owner: lease.owner.clone(),
                epoch: lease.epoch,
                machine: machine.to_string(),
                written: iso_millis(leases.clock().now_ms()),
                write: leases.nonce(),
                checkpoint: before.as_ref().and_then(|b| b.checkpoint.clone()),
            };
            let body = serde_json::to_vec_pretty(&env).unwrap_or_default();
            let written = match &current {
                None => store.put_if_absent(key, body).await,
                Some(v) => store.put_if_match(key, body, &v.etag).await,
            };
            match written {
                Ok(Cas::Written(etag)) => {
                    let fenced = FencedCheckpoint {
                        leases,
                        lease,
                        key: key.to_string(),
                        machine: machine.to_string(),
                        last: Mutex::new((etag, env)),
                    };
                    return Ok((fenced, before));
                }
                // The old owner committed meanwhile, or the answer was lost: look again (a
                // write of ours that landed shows as this epoch and owner, and is fenced again).
                Ok(Cas::Conflict) | Err(StoreError::Unknown(_)) => {}
                Err(e) if e.is_transient() && failures < ATTEMPTS => {
                    failures += 1;
                    pause(failures).await;
                }
                Err(e) => return Err(err(CoordErrorKind::Store(e))),
            }
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn lease(&self) -> &Arc<Lease> {
        &self.lease
    }

    /// The checkpoint this worker last wrote.
    pub fn current(&self) -> Option<Value> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).1.checkpoint.clone()
    }

    fn err(&self, kind: CoordErrorKind) -> CoordError {
        CoordError::new(self.leases.store().as_ref(), &self.key, kind)
    }

    fn lost(&self, why: String) -> CoordError {
        self.lease.mark_lost(&why);
        self.err(CoordErrorKind::LeaseLost(why))
    }

    /// Replaces the checkpoint with `checkpoint`, only if nobody wrote it since this worker's
    /// last write and the lease still holds.
    pub async fn commit(&self, checkpoint: Value) -> Result<(), CoordError> {
        let store = self.leases.store();
        let mut failures = 0;
        loop {
            self.lease.check().map_err(|why| self.err(CoordErrorKind::LeaseLost(why)))?;
            let before = self.last.lock().unwrap_or_else(|e| e.into_inner()).0.clone();
            let env = Envelope {
                owner: self.lease.owner.clone(),
                epoch: self.lease.epoch,
                machine: self.machine.clone(),
                written: iso_millis(self.leases.clock().now_ms()),
                write: self.leases.nonce(),
                checkpoint: Some(checkpoint.clone()),
            };
            let body = serde_json::to_vec_pretty(&env).unwrap_or_default();
            let outcome = match store.put_if_match(&self.key, body, &before).await {
                Ok(Cas::Written(etag)) => Ok(Some(etag)),
                Ok(Cas::Conflict) => Ok(None),
                // Did it land? Ours if the nonce is; not done if the object is unchanged.
                Err(StoreError::Unknown(m)) => match store.get(&self.key).await {
                    Ok(Some(v)) if v.etag == before => Err(StoreError::Unknown(m)),
                    Ok(Some(v)) => match parse(&v) {
                        Ok(e) if e.write == env.write => Ok(Some(v.etag)),
                        _ => Ok(None),
                    },
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(Some(etag)) => {
                    *self.last.lock().unwrap_or_else(|e| e.into_inner()) = (etag, env);
                    return Ok(());
                }
                Ok(None) => {
                    let who = match store.get(&self.key).await {
                        Ok(Some(v)) => match parse(&v) {
                            Ok(e) => format!("worker `{}` wrote the checkpoint at epoch {}", e.owner, e.epoch),
                            Err(_) => "the checkpoint was replaced".into(),
                        },
                        Ok(None) => "the checkpoint was removed".into(),
                        Err(_) => "another worker wrote the checkpoint".into(),
                    };
                    return Err(self.lost(format!("{who}; this worker holds epoch {}", self.lease.epoch)));
                }
                Err(e) if e.is_transient() && failures < ATTEMPTS => {
                    failures += 1;
                    pause(failures).await;
                }
                Err(e) => return Err(self.err(CoordErrorKind::Store(e))),
            }
        }
    }
}

/// The envelope in an object.
pub fn parse(v: &Versioned) -> Result<Envelope, String> {
    serde_json::from_slice(&v.body).map_err(|e| e.to_string())
}

/// A short pause before trying a store call again: 50 ms, doubling.
async fn pause(failures: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(50u64 << failures.min(6))).await;
}
