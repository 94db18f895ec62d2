//! Retry policy: exponential backoff with jitter, `Retry-After` honoured, bounded attempts.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt before giving up.
    pub max_retries: u32,
    pub base: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is cut to it.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1-based). `retry_after` (from the server) wins
    /// when given; otherwise `base · 2^(retry-1)`, capped, with "equal jitter" (half fixed,
    /// half random) so that clients do not retry in lockstep.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: &mut Jitter) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let exp = self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(20)).min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(jitter.unit())
    }
}

/// A small xorshift generator for jitter; seeded from the clock.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    pub fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9);
        Jitter::new(nanos ^ u64::from(std::process::id()).rotate_left(32))
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date (`Wed, 21 Oct 2015 07:28:00
/// GMT`) relative to `now_ms`. A date in the past means "now".
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some(Duration::from_millis(u64::try_from(at - now_ms).unwrap_or(0)))
}

/// IMF-fixdate, the form HTTP requires senders to use.
fn parse_http_date(s: &str) -> Option<i64> {
    let (_, rest) = s.split_once(", ")?;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = MONTHS.iter().position(|x| x == month)? + 1;
    let text = format!("{year}-{m:02}-{:0>2}T{time}Z", day);
    crate::mapping::parse_datetime(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3", 0), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        let now = 1_445_412_470_000; // 2015-10-21T07:27:50Z
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now + 60_000), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("Wed, 21 Foo 2015 07:28:00 GMT", now), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(5),
        };
        let mut j = Jitter::new(42);
        for (retry, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (30, 1000)] {
            for _ in 0..50 {
                let d = p.delay(retry, None, &mut j).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "retry {retry}: {d}");
            }
        }
        let spread: std::collections::BTreeSet<u128> = (0..20).map(|_| p.delay(3, None, &mut j).as_millis()).collect();
        assert!(spread.len() > 5, "jitter varies: {spread:?}");
        assert_eq!(p.delay(1, Some(Duration::from_secs(2)), &mut j), Duration::from_secs(2));
        assert_eq!(p.delay(1, Some(Duration::from_secs(999)), &mut j), Duration::from_secs(5));
    }
}
