//! Leases: which worker runs a unit (a pipeline) now. A lease object
//! (`leases/<unit>.json`) names its owner and an epoch that grows by one with every change of
//! owner; the epoch is the fencing token every checkpoint commit carries (see `fenced.rs`).
//!
//! - **Acquire**: a unit with no lease object is created with `If-None-Match: *` (epoch 1); a
//!   released lease, or one whose object has not changed for its whole duration by this
//!   worker's clock ([`Observer`]), is taken over with `If-Match` on the tag seen (epoch + 1).
//!   Of two workers racing, the store lets one write win; the other sees a conflict.
//! - **Renew** (the heartbeat, every third of the duration): a compare-and-swap on the tag of the
//!   holder's last write. The holder counts itself the owner only until four fifths of the
//!   duration after it *sent* its last successful renewal, by its own clock, so it stops before
//!   any other worker can judge the lease expired (which takes a whole duration of seeing no
//!   change, measured from a moment after that write).
//! - **Lost answers**: every write carries a new nonce; when an answer is lost, the object is
//!   read again and the write counts as done exactly when the nonce stored is the writer's.
//! - **Release**: the owner marks the lease released at the end of a clean run, so that the
//!   next worker takes it at once instead of waiting it out. Lease objects are never deleted:
//!   the epoch must keep growing.

use super::error::{CoordError, CoordErrorKind};
use super::observe::Observer;
use super::store::{Cas, Store, StoreError, Versioned};
use crate::runner::clock::Clock;
use crate::source::timefmt::iso_millis;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where lease objects are.
pub const LEASE_PREFIX: &str = "leases/";

/// The key of a unit's lease.
pub fn lease_key(unit: &str) -> String {
    format!("{LEASE_PREFIX}{}.json", super::safe(unit))
}

/// A lease object as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub unit: String,
    pub owner: String,
    /// The fencing token: one more with every change of owner.
    pub epoch: u64,
    /// How long the lease lasts without a renewal.
    pub ttl_ms: u64,
    /// When its owner wrote it, by the owner's clock (for people; no worker relies on it).
    pub written: String,
    /// The owner let it go.
    #[serde(default)]
    pub released: bool,
    /// New with every write (see the module doc).
    pub write: String,
}

/// How a lease was had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// No worker had held it.
    New,
    /// Its last owner released it after a clean end.
    Released { from: String },
    /// Its last owner stopped renewing it (died, hung, cut off): it may have left a write in
    /// flight, which the new owner must wait out before it reads the destination back.
    Expired { from: String },
}

#[derive(Debug)]
struct State {
    etag: String,
    /// By the owner's clock.
    valid_until_ms: i64,
    lost: Option<String>,
}

/// A lease this worker holds.
#[derive(Debug)]
pub struct Lease {
    pub unit: String,
    pub key: String,
    pub owner: String,
    pub epoch: u64,
    pub taken: Taken,
    ttl: Duration,
    clock: Clock,
    state: Mutex<State>,
    /// Orders this lease's writes (a renewal and a release).
    writing: tokio::sync::Mutex<()>,
}

impl Lease {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Ok` while this worker may act as the owner; `Err` says why not any more.
    pub fn check(&self) -> Result<(), String> {
        let s = self.state();
        if let Some(why) = &s.lost {
            return Err(why.clone());
        }
        let now = self.clock.now_ms();
        if now >= s.valid_until_ms {
            return Err(format!(
                "it could not be renewed within {} ms, so another worker may take it over",
                ms(self.ttl) * 4 / 5
            ));
        }
        Ok(())
    }

    /// How long the lease lasts without renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Until when (this worker's clock) it counts itself the owner.
    pub fn valid_until_ms(&self) -> i64 {
        self.state().valid_until_ms
    }

    /// Marks the lease lost: every later check and commit fails.
    pub fn mark_lost(&self, why: &str) {
        let mut s = self.state();
        if s.lost.is_none() {
            s.lost = Some(why.to_string());
        }
    }

    fn etag(&self) -> String {
        self.state().etag.clone()
    }

    fn renewed(&self, etag: String, sent_ms: i64) {
        let mut s = self.state();
        s.etag = etag;
        s.valid_until_ms = s.valid_until_ms.max(sent_ms + valid_ms(self.ttl));
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How long after sending a renewal the holder counts itself the owner: four fifths of the
/// duration.
fn valid_ms(ttl: Duration) -> i64 {
    i64::try_from(ms(ttl) / 5 * 4).unwrap_or(i64::MAX)
}

/// What an attempt to acquire gave.
#[derive(Debug)]
pub enum Claim {
    Acquired(Arc<Lease>),
    /// Another worker holds it (`owner` empty when it could not be read back); try again after
    /// `retry_in` at the earliest.
    Busy {
        owner: String,
        epoch: u64,
        retry_in: Duration,
    },
}

/// One worker's view of the leases in a store.
#[derive(Debug)]
pub struct Leases {
    store: Arc<dyn Store>,
    worker: String,
    ttl: Duration,
    clock: Clock,
    observer: Observer,
    nonce_seed: u64,
    nonces: AtomicU64,
}

impl Leases {
    /// `worker` names this worker in the store; `ttl` is the lease duration it writes; `clock`
    /// is its own.
    pub fn new(store: Arc<dyn Store>, worker: &str, ttl: Duration, clock: Clock) -> Self {
        let nonce_seed = (crate::runner::retry::Jitter::from_clock().unit() * (1u64 << 52) as f64) as u64;
        Leases {
            store,
            worker: worker.to_string(),
            ttl,
            clock,
            observer: Observer::default(),
            nonce_seed,
            nonces: AtomicU64::new(0),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(super) fn observer(&self) -> &Observer {
        &self.observer
    }

    /// A value no other write of this worker's carries.
    pub fn nonce(&self) -> String {
        let n = self.nonces.fetch_add(1, Ordering::Relaxed);
        format!("{}/{:x}-{n}", self.worker, self.nonce_seed)
    }

    fn err(&self, key: &str, kind: CoordErrorKind) -> CoordError {
        CoordError::new(self.store.as_ref(), key, kind)
    }

    fn store_err(&self, key: &str, e: StoreError) -> CoordError {
        self.err(key, CoordErrorKind::Store(e))
    }

    /// The lease record of `v`.
    pub fn parse(&self, key: &str, v: &Versioned) -> Result<LeaseRecord, CoordError> {
        serde_json::from_slice(&v.body).map_err(|e| self.err(key, CoordErrorKind::Damaged(e.to_string())))
    }

    fn record(&self, unit: &str, epoch: u64, released: bool, now_ms: i64) -> LeaseRecord {
        LeaseRecord {
            unit: unit.to_string(),
            owner: self.worker.clone(),
            epoch,
            ttl_ms: ms(self.ttl),
            written: iso_millis(now_ms),
            released,
            write: self.nonce(),
        }
    }

    /// After a lost answer: the tag of `key` when the write with `nonce` is the one stored.
    async fn landed(&self, key: &str, nonce: &str) -> Result<Option<String>, CoordError> {
        match self.store.get(key).await.map_err(|e| self.store_err(key, e))? {
            Some(v) if self.parse(key, &v)?.write == nonce => Ok(Some(v.etag)),
            _ => Ok(None),
        }
    }

    /// One attempt to take `unit`: see the module doc.
    pub async fn try_acquire(&self, unit: &str) -> Result<Claim, CoordError> {
        let key = lease_key(unit);
        let now = self.clock.now_ms();
        let current = self.store.get(&key).await.map_err(|e| self.store_err(&key, e))?;
        let (rec, taken, written) = match &current {
            None => {
                let rec = self.record(unit, 1, false, now);
                let body = serde_json::to_vec(&rec).unwrap_or_default();
                (rec, Taken::New, self.store.put_if_absent(&key, body).await)
            }
            Some(v) => {
                let old = self.parse(&key, v)?;
                let unchanged = self.observer.unchanged_for(&key, &v.etag, now);
                if !old.released && unchanged < old.ttl_ms {
                    let retry_in = Duration::from_millis(old.ttl_ms - unchanged);
                    return Ok(Claim::Busy { owner: old.owner, epoch: old.epoch, retry_in });
                }
                let rec = self.record(unit, old.epoch + 1, false, now);
                let body = serde_json::to_vec(&rec).unwrap_or_default();
                let taken = if old.released {
                    Taken::Released { from: old.owner.clone() }
                } else {
                    Taken::Expired { from: old.owner.clone() }
                };
                (rec, taken, self.store.put_if_match(&key, body, &v.etag).await)
            }
        };
        let etag = match written {
            Ok(Cas::Written(etag)) => Some(etag),
            Ok(Cas::Conflict) => None,
            Err(StoreError::Unknown(_)) => self.landed(&key, &rec.write).await?,
            Err(e) => return Err(self.store_err(&key, e)),
        };
        self.observer.forget(&key);
        let Some(etag) = etag else {
            // Another worker's write won; whose, the next look tells.
            return Ok(Claim::Busy { owner: String::new(), epoch: rec.epoch, retry_in: self.ttl / 3 });
        };
        let state = State { etag, valid_until_ms: now + valid_ms(self.ttl), lost: None };
        Ok(Claim::Acquired(Arc::new(Lease {
            unit: unit.to_string(),
            key,
            owner: self.worker.clone(),
            epoch: rec.epoch,
            taken,
            ttl: self.ttl,
            clock: self.clock.clone(),
            state: Mutex::new(state),
            writing: tokio::sync::Mutex::new(()),
        })))
    }

    /// Writes `lease` again (renewed, or released); a conflict means another worker took it.
    async fn rewrite(&self, lease: &Lease, released: bool) -> Result<(), CoordError> {
        let _order = lease.writing.lock().await;
        if let Some(why) = lease.state().lost.clone() {
            return Err(self.err(&lease.key, CoordErrorKind::LeaseLost(why)));
        }
        let sent = self.clock.now_ms();
        let rec = self.record(&lease.unit, lease.epoch, released, sent);
        let body = serde_json::to_vec(&rec).unwrap_or_default();
        let before = lease.etag();
        let etag = match self.store.put_if_match(&lease.key, body, &before).await {
            Ok(Cas::Written(etag)) => Some(etag),
            Ok(Cas::Conflict) => None,
            Err(StoreError::Unknown(m)) => match self.store.get(&lease.key).await {
                Ok(Some(v)) if v.etag == before => return Err(self.store_err(&lease.key, StoreError::Unknown(m))),
                Ok(Some(v)) => (self.parse(&lease.key, &v)?.write == rec.write).then_some(v.etag),
                Ok(None) => None,
                Err(e) => return Err(self.store_err(&lease.key, e)),
            },
            Err(e) => return Err(self.store_err(&lease.key, e)),
        };
        match etag {
            Some(etag) => {
                lease.renewed(etag, sent);
                if released {
                    lease.mark_lost("it was released");
                }
                Ok(())
            }
            None => {
                let who = match self.store.get(&lease.key).await {
                    Ok(Some(v)) => self
                        .parse(&lease.key, &v)
                        .map(|r| format!("worker `{}` holds it now (epoch {})", r.owner, r.epoch))
                        .unwrap_or_else(|_| "its object was replaced".into()),
                    Ok(None) => "its object was removed".into(),
                    Err(_) => "another worker wrote it".into(),
                };
                let why = format!("{who}; this worker held epoch {}", lease.epoch);
                lease.mark_lost(&why);
                Err(self.err(&lease.key, CoordErrorKind::LeaseLost(why)))
            }
        }
    }

    /// Renews `lease` (the heartbeat). `LeaseLost` when another worker took it; a store error
    /// leaves it held until its validity runs out.
    pub async fn renew(&self, lease: &Lease) -> Result<(), CoordError> {
        self.rewrite(lease, false).await
    }

    /// Lets `lease` go at the end of a clean run: the next worker takes it at once.
    pub async fn release(&self, lease: &Lease) -> Result<(), CoordError> {
        self.rewrite(lease, true).await
    }

    /// Every lease object in the store, with its tag.
    pub async fn records(&self) -> Result<Vec<(LeaseRecord, String)>, CoordError> {
        let keys = self.store.list(LEASE_PREFIX).await.map_err(|e| self.store_err(LEASE_PREFIX, e))?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(v) = self.store.get(&key).await.map_err(|e| self.store_err(&key, e))? {
                out.push((self.parse(&key, &v)?, v.etag));
            }
        }
        Ok(out)
    }
}
