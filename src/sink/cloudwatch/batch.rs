//! Request planning for PutLogEvents: every rule of the API is enforced here, because local
//! test endpoints do not enforce them.
//!
//! One runner batch becomes zero or more PutLogEvents requests, each with at most
//! [`MAX_EVENTS`] events and [`MAX_REQUEST_BYTES`] bytes (message bytes plus
//! [`EVENT_OVERHEAD`] per event), in chronological order, spanning less than 24 hours. An
//! event that cannot fit any request on its own (over [`MAX_EVENT_BYTES`]) is set aside for
//! the dead-letter output.
//!
//! Timestamps: CloudWatch Logs refuses events older than 14 days (or than the log group's
//! retention) and more than 2 hours in the future. The CloudWatch timestamp of each event is
//! therefore its own time clamped into the window the service accepts, computed at send time
//! ([`Stamp`]); the event's true time stays in the OCSF `time` field of the message. Clamping is
//! monotonic, so the order of events in the log stream is still the order of their true times.

use crate::sink::EncodedEvent;

/// At most this many events per request.
pub const MAX_EVENTS: usize = 10_000;
/// At most this many bytes per request, counting [`EVENT_OVERHEAD`] per event.
pub const MAX_REQUEST_BYTES: usize = 1_048_576;
/// Bytes CloudWatch Logs adds to each event's message length.
pub const EVENT_OVERHEAD: usize = 26;
/// The largest event: message plus overhead.
pub const MAX_EVENT_BYTES: usize = 1_048_576;
/// A request spans less than this (first to last timestamp).
pub const MAX_SPAN_MS: i64 = 24 * 3_600_000;
/// The service refuses events older than this.
pub const MAX_AGE_MS: i64 = 14 * 24 * 3_600_000;
/// The service refuses events further ahead than this.
pub const MAX_AHEAD_MS: i64 = 2 * 3_600_000;
/// Kept from both edges, for clock skew and time spent in flight and in retries.
pub const SAFETY_MS: i64 = 3_600_000;

/// The range of CloudWatch timestamps the service will accept, fixed at send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub floor_ms: i64,
    pub ceil_ms: i64,
}

impl Stamp {
    /// The accepted range at `now_ms` for a group that keeps events `retention_days` (none:
    /// forever). A retention shorter than 14 days moves the floor up.
    pub fn at(now_ms: i64, retention_days: Option<i32>) -> Stamp {
        let retention_ms = retention_days.filter(|d| *d > 0).map(|d| i64::from(d) * 24 * 3_600_000);
        let age = retention_ms.map_or(MAX_AGE_MS, |r| r.min(MAX_AGE_MS));
        // Keep a safety margin, but never more than half the accepted age.
        let floor_ms = now_ms - age + SAFETY_MS.min(age / 2);
        Stamp { floor_ms, ceil_ms: now_ms + MAX_AHEAD_MS - SAFETY_MS }
    }

    /// The CloudWatch timestamp for an event whose true time is `time_ms`.
    pub fn apply(&self, time_ms: i64) -> i64 {
        time_ms.clamp(self.floor_ms, self.ceil_ms)
    }
}

/// One event of a request: where it sits in the runner's batch, its CloudWatch timestamp and
/// its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned<'a> {
    pub index: usize,
    pub timestamp_ms: i64,
    pub message: &'a str,
}

/// What to send for one runner batch.
#[derive(Debug, Default)]
pub struct Plan<'a> {
    /// Requests, in the order they must be sent.
    pub requests: Vec<Vec<Planned<'a>>>,
    /// Indexes of events too large for any request.
    pub oversize: Vec<usize>,
}

/// The bytes an event counts for.
pub fn event_bytes(message: &str) -> usize {
    message.len() + EVENT_OVERHEAD
}

/// Splits `events` into requests that respect every PutLogEvents rule.
pub fn plan(events: &[EncodedEvent], stamp: Stamp) -> Plan<'_> {
    let mut out = Plan::default();
    let mut stamped: Vec<Planned<'_>> = Vec::with_capacity(events.len());
    for (index, e) in events.iter().enumerate() {
        if event_bytes(&e.line) > MAX_EVENT_BYTES || e.line.is_empty() {
            out.oversize.push(index);
        } else {
            stamped.push(Planned { index, timestamp_ms: stamp.apply(e.time_ms), message: &e.line });
        }
    }
    // Stable: events with the same timestamp keep their order.
    stamped.sort_by_key(|p| p.timestamp_ms);
    let mut current: Vec<Planned<'_>> = Vec::new();
    let mut bytes = 0;
    for p in stamped {
        let size = event_bytes(p.message);
        let full = current.len() >= MAX_EVENTS
            || bytes + size > MAX_REQUEST_BYTES
            || current.first().is_some_and(|f| p.timestamp_ms - f.timestamp_ms >= MAX_SPAN_MS);
        if full && !current.is_empty() {
            out.requests.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(p);
    }
    if !current.is_empty() {
        out.requests.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn ev(len: usize, time_ms: i64) -> EncodedEvent {
        EncodedEvent { line: "x".repeat(len), time_ms }
    }

    fn open() -> Stamp {
        Stamp { floor_ms: i64::MIN, ceil_ms: i64::MAX }
    }

    fn request_bytes(r: &[Planned<'_>]) -> usize {
        r.iter().map(|p| event_bytes(p.message)).sum()
    }

    #[test]
    fn at_most_10000_events_per_request() {
        let events: Vec<_> = (0..25_001).map(|i| ev(10, NOW + i)).collect();
        let p = plan(&events, open());
        let sizes: Vec<usize> = p.requests.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_001]);
        let exact: Vec<_> = (0..10_000).map(|i| ev(1, NOW + i)).collect();
        assert_eq!(plan(&exact, open()).requests.len(), 1);
    }

    #[test]
    fn at_most_1048576_bytes_counting_26_per_event() {
        // 1,000-byte messages count 1,026 each: 1,022 fit (1,048,572), the 1,023rd does not.
        let events: Vec<_> = (0..2_000).map(|i| ev(1_000, NOW + i)).collect();
        let p = plan(&events, open());
        assert_eq!(p.requests[0].len(), 1_022);
        assert!(p.requests.iter().all(|r| request_bytes(r) <= MAX_REQUEST_BYTES));
        assert_eq!(p.requests.iter().map(Vec::len).sum::<usize>(), 2_000);
        // Exactly the limit fits in one request; one byte more does not.
        let exact = [ev(MAX_REQUEST_BYTES / 2 - EVENT_OVERHEAD, NOW), ev(MAX_REQUEST_BYTES / 2 - EVENT_OVERHEAD, NOW)];
        assert_eq!(plan(&exact, open()).requests.len(), 1);
        let over =
            [ev(MAX_REQUEST_BYTES / 2 - EVENT_OVERHEAD, NOW), ev(MAX_REQUEST_BYTES / 2 - EVENT_OVERHEAD + 1, NOW)];
        assert_eq!(plan(&over, open()).requests.len(), 2);
    }

    #[test]
    fn without_the_26_bytes_the_requests_would_be_too_large() {
        // 10,000 events of 100 bytes: 1,000,000 message bytes, 1,260,000 counted.
        let events: Vec<_> = (0..10_000).map(|i| ev(100, NOW + i)).collect();
        let p = plan(&events, open());
        assert_eq!(p.requests.len(), 2);
        assert!(p.requests.iter().all(|r| request_bytes(r) <= MAX_REQUEST_BYTES));
    }

    #[test]
    fn events_are_sent_in_chronological_order_stably() {
        let events = vec![ev(1, NOW + 5), ev(2, NOW + 1), ev(3, NOW + 5), ev(4, NOW)];
        let p = plan(&events, open());
        let order: Vec<usize> = p.requests.concat().iter().map(|e| e.index).collect();
        assert_eq!(order, [3, 1, 0, 2]);
        let ts: Vec<i64> = p.requests.concat().iter().map(|e| e.timestamp_ms).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_request_spans_less_than_24_hours() {
        let h = 3_600_000;
        let events =
            vec![ev(1, NOW), ev(1, NOW + 23 * h), ev(1, NOW + 24 * h - 1), ev(1, NOW + 24 * h), ev(1, NOW + 50 * h)];
        let p = plan(&events, open());
        let sizes: Vec<usize> = p.requests.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 1, 1]);
        for r in &p.requests {
            let span = r.last().map_or(0, |l| l.timestamp_ms) - r[0].timestamp_ms;
            assert!(span < MAX_SPAN_MS);
        }
    }

    #[test]
    fn oversize_events_are_set_aside_not_dropped() {
        let big = MAX_EVENT_BYTES - EVENT_OVERHEAD;
        let events = vec![ev(10, NOW), ev(big + 1, NOW + 1), ev(big, NOW + 2), ev(0, NOW + 3)];
        let p = plan(&events, open());
        assert_eq!(p.oversize, [1, 3]);
        let sent: Vec<usize> = p.requests.concat().iter().map(|e| e.index).collect();
        assert_eq!(sent, [0, 2]);
        // The largest allowed event goes alone.
        assert_eq!(p.requests.len(), 2);
    }

    #[test]
    fn stamps_clamp_into_the_accepted_window_monotonically() {
        let s = Stamp::at(NOW, None);
        assert_eq!(s.floor_ms, NOW - MAX_AGE_MS + SAFETY_MS);
        assert_eq!(s.ceil_ms, NOW + MAX_AHEAD_MS - SAFETY_MS);
        let day = 24 * 3_600_000;
        // A 30-day-old event lands at the floor; a recent one keeps its time; a future one is capped.
        assert_eq!(s.apply(NOW - 30 * day), s.floor_ms);
        assert_eq!(s.apply(NOW - day), NOW - day);
        assert_eq!(s.apply(NOW + 5 * 3_600_000), s.ceil_ms);
        assert_eq!(s.apply(0), s.floor_ms);
        // Order is kept: a backfill from 40 to 1 days ago is still non-decreasing.
        let times: Vec<i64> = (1..=40).rev().map(|d| s.apply(NOW - d * day)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        // A short retention moves the floor up.
        let r = Stamp::at(NOW, Some(1));
        assert!(r.floor_ms > NOW - day && r.floor_ms < NOW);
        assert_eq!(Stamp::at(NOW, Some(400)), s);
    }

    #[test]
    fn a_backfill_older_than_14_days_is_planned_whole() {
        let day = 24 * 3_600_000;
        let events: Vec<_> = (0..100).map(|i| ev(50, NOW - 60 * day + i * day / 2)).collect();
        let p = plan(&events, Stamp::at(NOW, None));
        assert_eq!(p.requests.iter().map(Vec::len).sum::<usize>(), 100);
        assert!(p.oversize.is_empty());
        let order: Vec<usize> = p.requests.concat().iter().map(|e| e.index).collect();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn empty_batch_plans_nothing() {
        let p = plan(&[], open());
        assert!(p.requests.is_empty() && p.oversize.is_empty());
    }
}
