//! The request budget of one API host, shared by every stream and pipeline of the process that
//! talks to it: at most `limit` requests in flight, where the limit backs off on 429
//! (multiplicative decrease: halved) and recovers on calm answers (additive increase: one more
//! after `limit` answers in a row without a 429), never above the configured concurrency; and,
//! when the spec sets `requests_per_second`, a token bucket that spaces requests out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How an answer bears on the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The API asked to slow down (HTTP 429).
    Throttled,
    /// Any other answer (a failure too: only a 429 says "too many").
    Calm,
}

#[derive(Debug)]
struct State {
    /// The configured maximum (the largest concurrency any user of this host asked for).
    max: usize,
    /// The current limit, 1 ≤ limit ≤ max.
    limit: usize,
    in_flight: usize,
    /// Calm answers since the limit last changed.
    calm: usize,
    /// Token bucket: tokens per second and the tokens held (at most one second's worth).
    rate: Option<f64>,
    tokens: f64,
    refilled: Instant,
    /// The largest number of requests in flight at once (for tests and metrics).
    peak: usize,
    /// The lowest limit so far.
    lowest: usize,
    throttled: u64,
}

/// The budget of one host.
#[derive(Debug)]
pub struct Budget {
    host: String,
    state: Mutex<State>,
    freed: Notify,
}

/// A request slot; dropping it frees the slot without a verdict (a request abandoned).
#[derive(Debug)]
pub struct Permit {
    budget: Arc<Budget>,
    done: bool,
}

impl Permit {
    /// Frees the slot and tells the budget how the answer went.
    pub fn answered(mut self, answer: Answer) {
        self.done = true;
        self.budget.release(Some(answer));
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.budget.release(None);
        }
    }
}

impl Budget {
    /// A budget of at most `concurrency` requests in flight, and at most `rate` per second.
    pub fn new(host: &str, concurrency: usize, rate: Option<f64>) -> Arc<Budget> {
        let max = concurrency.max(1);
        Arc::new(Budget {
            host: host.to_string(),
            state: Mutex::new(State {
                max,
                limit: max,
                in_flight: 0,
                calm: 0,
                rate: rate.filter(|r| *r > 0.0),
                tokens: rate.unwrap_or(0.0).clamp(1.0, f64::MAX),
                refilled: Instant::now(),
                peak: 0,
                lowest: max,
                throttled: 0,
            }),
            freed: Notify::new(),
        })
    }

    /// The process-wide budget of `host`: one per host name, shared by whoever asks while it
    /// is in use. A second user asking for more concurrency raises the maximum; a rate given
    /// by any user applies (the slowest wins).
    pub fn for_host(host: &str, concurrency: usize, rate: Option<f64>) -> Arc<Budget> {
        static HOSTS: Mutex<Option<HashMap<String, Weak<Budget>>>> = Mutex::new(None);
        let mut hosts = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
        let map = hosts.get_or_insert_with(HashMap::new);
        map.retain(|_, b| b.strong_count() > 0);
        if let Some(b) = map.get(host).and_then(Weak::upgrade) {
            {
                let mut s = b.lock();
                if concurrency > s.max {
                    s.limit += concurrency - s.max;
                    s.max = concurrency;
                }
                if let Some(r) = rate.filter(|r| *r > 0.0) {
                    s.rate = Some(s.rate.map_or(r, |old| old.min(r)));
                }
            }
            return b;
        }
        let b = Budget::new(host, concurrency, rate);
        map.insert(host.to_string(), Arc::downgrade(&b));
        b
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot within the limit (and a token of the rate).
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.freed.notified();
            let wait = {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    match s.take_token() {
                        None => {
                            s.in_flight += 1;
                            s.peak = s.peak.max(s.in_flight);
                            return Permit { budget: Arc::clone(self), done: false };
                        }
                        Some(wait) => Some(wait),
                    }
                } else {
                    None
                }
            };
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => notified.await,
            }
        }
    }

    fn release(&self, answer: Option<Answer>) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        match answer {
            Some(Answer::Throttled) => {
                s.throttled += 1;
                let halved = (s.limit / 2).max(1);
                if halved < s.limit {
                    tracing::info!(
                        host = self.host.as_str(),
                        limit = halved,
                        "the API throttles: fewer requests at once"
                    );
                }
                s.limit = halved;
                s.lowest = s.lowest.min(halved);
                s.calm = 0;
            }
            Some(Answer::Calm) => {
                s.calm += 1;
                if s.calm >= s.limit && s.limit < s.max {
                    s.limit += 1;
                    s.calm = 0;
                }
            }
            None => {}
        }
        drop(s);
        self.freed.notify_waiters();
    }

    /// The current limit of requests in flight.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// The most requests in flight at once so far.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    /// The lowest the limit has been.
    pub fn lowest(&self) -> usize {
        self.lock().lowest
    }

    /// 429 answers seen.
    pub fn throttled(&self) -> u64 {
        self.lock().throttled
    }
}

impl State {
    /// Takes a token of the rate, or says how long until one is there.
    fn take_token(&mut self) -> Option<Duration> {
        let rate = self.rate?;
        let now = Instant::now();
        let burst = rate.max(1.0);
        self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * rate).min(burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_limit_halves_on_429_and_grows_back_by_one_per_calm_round() {
        let b = Budget::new("h", 8, None);
        let permits: Vec<Permit> = futures_join(&b, 8).await;
        assert_eq!(b.peak(), 8);
        let mut it = permits.into_iter();
        it.next().unwrap().answered(Answer::Throttled);
        assert_eq!(b.limit(), 4);
        it.next().unwrap().answered(Answer::Throttled);
        assert_eq!(b.limit(), 2);
        for p in it {
            p.answered(Answer::Throttled);
        }
        assert_eq!(b.limit(), 1, "never below one");
        // One calm answer at limit 1 makes it 2; two more make it 3; and so on up to 8.
        let mut answers = 0;
        while b.limit() < 8 {
            b.acquire().await.answered(Answer::Calm);
            answers += 1;
            assert!(answers < 100);
        }
        assert_eq!(answers, 1 + 2 + 3 + 4 + 5 + 6 + 7);
        b.acquire().await.answered(Answer::Calm);
        assert_eq!(b.limit(), 8, "never above the configured concurrency");
    }

    async fn futures_join(b: &Arc<Budget>, n: usize) -> Vec<Permit> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(b.acquire().await);
        }
        v
    }

    #[tokio::test]
    async fn a_full_budget_waits_until_a_slot_is_freed() {
        let b = Budget::new("h", 2, None);
        let one = b.acquire().await;
        let _two = b.acquire().await;
        let b2 = Arc::clone(&b);
        let third = tokio::spawn(async move { b2.acquire().await });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(one);
        let _p = third.await.unwrap();
        assert_eq!(b.peak(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_spaces_requests_out() {
        let b = Budget::new("h", 8, Some(4.0));
        let start = Instant::now();
        for _ in 0..12 {
            b.acquire().await.answered(Answer::Calm);
        }
        // Four tokens at once, then one every 250 ms: the 12th at 2 s.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(2000) && took < Duration::from_millis(2100), "{took:?}");
    }

    #[test]
    fn one_budget_per_host_shared_while_in_use() {
        let a = Budget::for_host("tenant-a.example", 2, None);
        let again = Budget::for_host("tenant-a.example", 4, Some(10.0));
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(a.limit(), 4, "the larger concurrency raises the shared maximum");
        let other = Budget::for_host("tenant-b.example", 2, None);
        assert!(!Arc::ptr_eq(&a, &other));
        drop((a, again));
        let fresh = Budget::for_host("tenant-a.example", 1, None);
        assert_eq!(fresh.limit(), 1, "a budget no one holds is forgotten");
    }
}
