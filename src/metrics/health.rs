//! Health of a run for probes: alive while the endpoint answers (`/healthz`), ready (`/readyz`)
//! once it is logged in (when the spec logs in) and its last poll succeeded within two poll
//! intervals. A poll succeeds when every window it was due to read was read (a window passed
//! counts, so that a long catch-up stays ready while it makes progress).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// What the runner reports and the probes read.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    poll_interval: Duration,
    /// Milliseconds since `started` of the last success, plus one; 0 before the first.
    last_ok: AtomicU64,
    logged_in: AtomicBool,
}

impl Health {
    pub fn new(poll_interval: Duration) -> Self {
        Health { started: Instant::now(), poll_interval, last_ok: AtomicU64::new(0), logged_in: AtomicBool::new(false) }
    }

    /// A poll (or a window of it) succeeded now; `logged_in` says whether the run holds a
    /// session (always true for a spec that does not log in).
    pub fn polled(&self, logged_in: bool) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_ok.store(ms + 1, Relaxed);
        self.logged_in.store(logged_in, Relaxed);
    }

    /// `Ok` when ready, else why not.
    pub fn readiness(&self) -> Result<(), String> {
        self.readiness_at(self.started.elapsed())
    }

    fn readiness_at(&self, now: Duration) -> Result<(), String> {
        let last = self.last_ok.load(Relaxed);
        if last == 0 {
            return Err("no poll has succeeded yet".into());
        }
        if !self.logged_in.load(Relaxed) {
            return Err("not logged in".into());
        }
        let ago = now.saturating_sub(Duration::from_millis(last - 1));
        let limit = self.poll_interval * 2;
        if ago > limit {
            return Err(format!(
                "the last successful poll was {:.0} s ago, more than two poll intervals ({:.0} s)",
                ago.as_secs_f64(),
                limit.as_secs_f64()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_logged_in_and_polled_and_until_two_intervals_pass() {
        let h = Health::new(Duration::from_secs(60));
        assert_eq!(h.readiness_at(Duration::ZERO).unwrap_err(), "no poll has succeeded yet");
        h.polled(false);
        assert_eq!(h.readiness_at(Duration::from_secs(1)).unwrap_err(), "not logged in");
        h.polled(true);
        let at = h.started.elapsed();
        assert!(h.readiness_at(at + Duration::from_secs(119)).is_ok());
        let stale = h.readiness_at(at + Duration::from_secs(121)).unwrap_err();
        assert!(stale.contains("121 s ago") && stale.contains("(120 s)"), "{stale}");
    }
}
