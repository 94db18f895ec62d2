//! The scheduler: spreads units (pipelines) among the workers that share a store. Each round a
//! worker says it is alive (`workers/<worker>.json`, rewritten every round), renews the leases
//! it holds, counts the live workers (those whose presence changed within a lease duration by
//! its own clock), and then:
//!
//! - below its fair share (the units divided by the live workers, rounded up), it tries the
//!   units it does not hold in a jittered order and claims at most one (unowned, released, or
//!   expired: see `lease.rs`), so that workers started together interleave their claims;
//! - above it, it gives one back ([`Round::surplus`]: the caller stops that pipeline, then
//!   calls [`Scheduler::release`]), so that no worker keeps more than its share while another
//!   has less.
//!
//! One round costs a PUT for the presence, a PUT per held lease, a LIST and a GET per worker,
//! and, below the share, a GET per unit tried (plus the PUT that claims one).

use super::error::{CoordError, CoordErrorKind};
use super::lease::{Claim, Lease, Leases};
use super::store::{Cas, StoreError};
use crate::runner::retry::Jitter;
use crate::source::timefmt::iso_millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Where presence objects are.
pub const WORKER_PREFIX: &str = "workers/";

/// A worker's presence.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Presence {
    worker: String,
    written: String,
    write: String,
    #[serde(default)]
    leaving: bool,
}

/// What one round decided.
#[derive(Debug, Default)]
pub struct Round {
    /// Leases won: start these pipelines (fence their checkpoints first; see
    /// [`Lease::taken`] for whether the last owner may have left a write in flight).
    pub claimed: Vec<Arc<Lease>>,
    /// Leases lost (another worker took them, or they could not be renewed in time): stop
    /// these pipelines at once.
    pub lost: Vec<String>,
    /// A unit held beyond the fair share: stop its pipeline, then [`Scheduler::release`] it.
    pub surplus: Vec<String>,
    /// The live workers counted (this one included) and the fair share.
    pub workers: usize,
    pub share: usize,
    /// When to run the next round (at most a third of the lease, jittered).
    pub next_in: Duration,
}

/// One worker's scheduler over a fixed list of units.
#[derive(Debug)]
pub struct Scheduler {
    leases: Arc<Leases>,
    units: Vec<String>,
    held: BTreeMap<String, Arc<Lease>>,
    /// Units this worker finished (`--once`): not claimed again.
    finished: Vec<String>,
    jitter: Jitter,
    /// The tag of this worker's presence as last written.
    presence: Option<String>,
}

impl Scheduler {
    /// A scheduler for `units` (the pipeline names this process can run); `seed` jitters the
    /// order in which it tries them.
    pub fn new(leases: Arc<Leases>, units: Vec<String>, seed: u64) -> Self {
        Scheduler {
            leases,
            units,
            held: BTreeMap::new(),
            finished: Vec::new(),
            jitter: Jitter::new(seed),
            presence: None,
        }
    }

    /// The units held now.
    pub fn held(&self) -> Vec<String> {
        self.held.keys().cloned().collect()
    }

    /// The lease held on `unit`.
    pub fn lease(&self, unit: &str) -> Option<Arc<Lease>> {
        self.held.get(unit).cloned()
    }

    /// Units neither finished nor held: what is left to claim.
    pub fn unclaimed(&self) -> Vec<String> {
        self.units.iter().filter(|u| !self.held.contains_key(*u) && !self.finished.contains(u)).cloned().collect()
    }

    /// Whether every unit is finished (`--once`: the worker may exit).
    pub fn all_finished(&self) -> bool {
        self.units.iter().all(|u| self.finished.contains(u))
    }

    fn err(&self, key: &str, e: StoreError) -> CoordError {
        CoordError::new(self.leases.store().as_ref(), key, CoordErrorKind::Store(e))
    }

    async fn announce(&mut self, leaving: bool) -> Result<(), CoordError> {
        let store = Arc::clone(self.leases.store());
        let key = format!("{WORKER_PREFIX}{}.json", super::safe(self.leases.worker()));
        let body = serde_json::to_vec(&Presence {
            worker: self.leases.worker().to_string(),
            written: iso_millis(self.leases.clock().now_ms()),
            write: self.leases.nonce(),
            leaving,
        })
        .unwrap_or_default();
        let mut tag = self.presence.clone();
        for _ in 0..3 {
            let written = match &tag {
                Some(t) => store.put_if_match(&key, body.clone(), t).await,
                None => store.put_if_absent(&key, body.clone()).await,
            };
            match written {
                Ok(Cas::Written(t)) => {
                    self.presence = Some(t);
                    return Ok(());
                }
                // An earlier incarnation's object, or a lost answer: take the tag there and write again.
                Ok(Cas::Conflict) | Err(StoreError::Unknown(_)) => {
                    tag = store.get(&key).await.map_err(|e| self.err(&key, e))?.map(|v| v.etag);
                }
                Err(e) => return Err(self.err(&key, e)),
            }
        }
        Ok(())
    }

    /// Live workers: this one, and those whose presence changed within a lease duration.
    async fn live_workers(&self) -> Result<usize, CoordError> {
        let store = self.leases.store();
        let keys = store.list(WORKER_PREFIX).await.map_err(|e| self.err(WORKER_PREFIX, e))?;
        let me = format!("{WORKER_PREFIX}{}.json", super::safe(self.leases.worker()));
        let now = self.leases.clock().now_ms();
        let ttl = u64::try_from(self.leases.ttl().as_millis()).unwrap_or(u64::MAX);
        let mut live = 1;
        for key in keys.iter().filter(|k| **k != me) {
            let Some(v) = store.get(key).await.map_err(|e| self.err(key, e))? else { continue };
            let leaving = serde_json::from_slice::<Presence>(&v.body).map(|p| p.leaving).unwrap_or(true);
            if !leaving && self.leases.observer().unchanged_for(key, &v.etag, now) < ttl {
                live += 1;
            }
        }
        Ok(live)
    }

    /// One round (see the module doc). Run it again after [`Round::next_in`]; it renews the
    /// held leases, so a longer gap than a third of the lease risks losing them.
    pub async fn round(&mut self) -> Result<Round, CoordError> {
        let mut round = Round::default();
        self.announce(false).await?;
        for (unit, lease) in std::mem::take(&mut self.held) {
            match self.leases.renew(&lease).await {
                Ok(()) => {
                    self.held.insert(unit, lease);
                }
                Err(e) if e.is_lost() => round.lost.push(unit),
                Err(e) => {
                    if lease.check().is_err() {
                        lease.mark_lost(&e.to_string());
                        round.lost.push(unit);
                    } else {
                        self.held.insert(unit, lease);
                    }
                }
            }
        }
        round.workers = self.live_workers().await?;
        let open = self.units.len() - self.finished.iter().filter(|u| self.units.contains(u)).count();
        round.share = open.div_ceil(round.workers);
        if self.held.len() > round.share {
            round.surplus.extend(self.held.keys().next_back().cloned());
        } else if self.held.len() < round.share {
            let mut candidates = self.unclaimed();
            // A jittered order (Fisher–Yates), so that workers do not all try the same unit.
            for i in (1..candidates.len()).rev() {
                let j = (self.jitter.unit() * (i + 1) as f64) as usize;
                candidates.swap(i, j.min(i));
            }
            for unit in candidates {
                match self.leases.try_acquire(&unit).await {
                    Ok(Claim::Acquired(lease)) => {
                        self.held.insert(unit, Arc::clone(&lease));
                        round.claimed.push(lease);
                        break;
                    }
                    Ok(Claim::Busy { .. }) => {}
                    Err(e) if e.is_transient() => tracing::warn!("cannot claim `{unit}`: {e}"),
                    Err(e) => return Err(e),
                }
            }
        }
        let third = self.leases.ttl() / 3;
        round.next_in = third.mul_f64(0.5 + 0.5 * self.jitter.unit());
        Ok(round)
    }

    /// Gives `unit` back (its pipeline is stopped): another worker may take it at once.
    pub async fn release(&mut self, unit: &str) -> Result<(), CoordError> {
        match self.held.remove(unit) {
            Some(lease) => match self.leases.release(&lease).await {
                Err(e) if !e.is_lost() => Err(e),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// `unit`'s pipeline is done (`--once`: caught up): released, and not claimed again.
    pub async fn finish(&mut self, unit: &str) -> Result<(), CoordError> {
        self.finished.push(unit.to_string());
        self.release(unit).await
    }

    /// Lets every lease go and marks this worker as leaving (a drain).
    pub async fn leave(&mut self) -> Result<(), CoordError> {
        for unit in self.held() {
            self.release(&unit).await?;
        }
        self.announce(true).await
    }
}
