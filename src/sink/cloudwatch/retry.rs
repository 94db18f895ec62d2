//! Retries with exponential backoff and jitter for CloudWatch Logs calls, and the failure kinds
//! that decide whether a call is worth repeating.

use std::future::Future;
use std::time::Duration;

/// Why a CloudWatch Logs call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Throttling, a service error (5xx) or a network error: worth repeating.
    Transient(String),
    /// The log stream does not exist.
    StreamMissing,
    /// The log group does not exist.
    GroupMissing,
    /// Repeating will not help (permissions, bad parameters, no credentials).
    Fatal(String),
}

impl Failure {
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Transient(_))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transient(m) | Failure::Fatal(m) => f.write_str(m),
            Failure::StreamMissing => f.write_str("the log stream does not exist"),
            Failure::GroupMissing => f.write_str("the log group does not exist"),
        }
    }
}

/// How often and how patiently to repeat a transient failure.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Retries after the first attempt.
    pub retries: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { retries: 8, base: Duration::from_millis(200), max: Duration::from_secs(20) }
    }
}

impl Backoff {
    /// The pause before retry `n` (1-based): `base · 2^(n−1)`, capped, with "equal jitter"
    /// (between half and all of it).
    pub fn delay(&self, n: u32, entropy: u64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << n.saturating_sub(1).min(20));
        let full = exp.min(self.max);
        let half = full / 2;
        let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_millis(entropy % spread)
    }
}

fn entropy() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// Runs `op` until it succeeds, fails for good, or `backoff.retries` retries of transient
/// failures are used up. Returns the last failure and how many retries were made.
pub async fn with_retries<T, F, Fut>(backoff: &Backoff, mut op: F) -> (Result<T, Failure>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut retries = 0;
    loop {
        match op().await {
            Err(f) if f.is_transient() && retries < backoff.retries => {
                retries += 1;
                tokio::time::sleep(backoff.delay(retries, entropy())).await;
            }
            other => return (other, retries),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick(retries: u32) -> Backoff {
        Backoff { retries, base: Duration::from_millis(1), max: Duration::from_millis(2) }
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let b = Backoff { retries: 10, base: Duration::from_millis(100), max: Duration::from_secs(1) };
        assert_eq!(b.delay(1, 0), Duration::from_millis(50));
        assert_eq!(b.delay(2, 0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0), Duration::from_millis(200));
        assert_eq!(b.delay(9, 0), Duration::from_millis(500));
        assert!(b.delay(9, u64::MAX) < Duration::from_secs(1));
        assert!(b.delay(60, 7) <= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn throttling_is_retried_until_it_passes() {
        let calls = AtomicU32::new(0);
        let (r, retries) = with_retries(&quick(5), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(Failure::Transient("ThrottlingException: Rate exceeded".into()))
            } else {
                Ok(42)
            }
        })
        .await;
        assert_eq!((r, retries), (Ok(42), 3));
    }

    #[tokio::test]
    async fn transient_failures_give_up_after_the_budget() {
        let calls = AtomicU32::new(0);
        let (r, retries) = with_retries(&quick(2), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Failure::Transient("ServiceUnavailableException".into()))
        })
        .await;
        assert_eq!(r, Err(Failure::Transient("ServiceUnavailableException".into())));
        assert_eq!((retries, calls.load(Ordering::SeqCst)), (2, 3));
    }

    #[tokio::test]
    async fn fatal_and_missing_are_not_retried() {
        for f in [Failure::Fatal("AccessDeniedException".into()), Failure::StreamMissing, Failure::GroupMissing] {
            let calls = AtomicU32::new(0);
            let (r, retries) = with_retries(&quick(5), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(f.clone())
            })
            .await;
            assert_eq!((r, retries, calls.load(Ordering::SeqCst)), (Err(f), 0, 1));
        }
    }
}
