//! Expiry judged by the observer's own clock: an object (a lease, a worker's presence) is stale
//! once its entity tag has not changed for a whole lease duration since this process first saw
//! it. No worker trusts another's clock, so clocks set apart (skew) do not matter; only their
//! rates must roughly agree, which the holder's safety margin absorbs (see `lease.rs`).

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone)]
struct Seen {
    etag: String,
    since_ms: i64,
}

/// When each key's current tag was first seen.
#[derive(Debug, Default)]
pub struct Observer {
    seen: Mutex<HashMap<String, Seen>>,
}

impl Observer {
    /// How long `key` has shown `etag` by this observer's clock (`now_ms`): 0 when it is new or
    /// changed since the last look.
    pub fn unchanged_for(&self, key: &str, etag: &str, now_ms: i64) -> u64 {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(key) {
            Some(s) if s.etag == etag => u64::try_from(now_ms - s.since_ms).unwrap_or(0),
            _ => {
                seen.insert(key.to_string(), Seen { etag: etag.to_string(), since_ms: now_ms });
                0
            }
        }
    }

    /// Forgets what was seen of `key` (it was just written, by this worker or another).
    pub fn forget(&self, key: &str) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_ages_only_while_it_stays_the_same() {
        let o = Observer::default();
        assert_eq!(o.unchanged_for("k", "a", 1_000), 0);
        assert_eq!(o.unchanged_for("k", "a", 4_000), 3_000);
        assert_eq!(o.unchanged_for("k", "b", 5_000), 0, "a new tag starts again");
        assert_eq!(o.unchanged_for("k", "b", 5_500), 500);
        o.forget("k");
        assert_eq!(o.unchanged_for("k", "b", 9_000), 0);
        assert_eq!(o.unchanged_for("k", "b", 8_000), 0, "a clock moved back counts nothing");
    }
}
