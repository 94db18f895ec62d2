//! The heartbeat: renews a held lease every third of its duration for as long as the
//! pipeline runs, and says so at once when it is lost (another worker took it, or renewals
//! failed until it ran out), so that the pipeline stops.

use super::lease::{Lease, Leases};
use std::sync::Arc;

/// A running heartbeat; dropping it stops it.
#[derive(Debug)]
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts renewing `lease`; `on_lost` is called once with the reason if it is lost.
pub fn start(leases: Arc<Leases>, lease: Arc<Lease>, on_lost: impl FnOnce(String) + Send + 'static) -> Heartbeat {
    let task = tokio::spawn(async move {
        let every = lease.ttl() / 3;
        loop {
            tokio::time::sleep(every).await;
            match leases.renew(&lease).await {
                Ok(()) => {}
                Err(e) if e.is_lost() => return on_lost(e.to_string()),
                Err(e) => {
                    tracing::warn!("cannot renew the lease on `{}`: {e}", lease.unit);
                    if let Err(why) = lease.check() {
                        lease.mark_lost(&why);
                        return on_lost(format!("the lease on `{}` was lost: {why} (last error: {e})", lease.unit));
                    }
                }
            }
        }
    });
    Heartbeat { task }
}
