//! The runner's clock: where "now" comes from when windows are planned and checkpoints are
//! stamped. Runs use the system clock; tests give a fixed or hand-moved one, so that what a
//! run reads never depends on the wall clock or on how fast the machine is.

use crate::source::timefmt::now_ms;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time in Unix milliseconds.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that shows `ms` until it is moved with [`Clock::set`].
    pub fn fixed(ms: i64) -> Self {
        Clock(Some(Arc::new(AtomicI64::new(ms))))
    }

    /// Moves a fixed clock (and every copy of it) to `ms`; the system clock ignores it.
    pub fn set(&self, ms: i64) {
        if let Some(t) = &self.0 {
            t.store(ms, Ordering::SeqCst);
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            None => now_ms(),
            Some(t) => t.load(Ordering::SeqCst),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(t) => write!(f, "Clock::fixed({})", t.load(Ordering::SeqCst)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_set_and_copies_follow() {
        let c = Clock::fixed(1_000);
        let copy = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        c.set(5_000);
        assert_eq!(copy.now_ms(), 5_000);
        assert!(Clock::system().now_ms() > 1_700_000_000_000);
    }
}
