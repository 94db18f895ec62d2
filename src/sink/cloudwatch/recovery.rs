//! Exactly-once delivery to a service that cannot take anything back: before a batch is sent,
//! the checkpoint records its write-ahead [`Intent`] (the log stream, the range of CloudWatch
//! timestamps and the identity of every event). A run killed between the send and the commit
//! leaves that intent behind; the next run reads the stream back over that range, one batch's
//! worth, and the events it finds are [`Present`]: not sent again when the runner fetches and
//! batches them anew.
//!
//! An event's identity is its OCSF `metadata.uid` (the source record's id), or a hash of the
//! line for an event without one.

use super::service::LogEvent;
use crate::sink::EncodedEvent;
use crate::sink::mark::FileMark;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};

/// The write-ahead record of a batch about to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub log_stream: String,
    /// The earliest and latest CloudWatch timestamps of the batch.
    pub from_ms: i64,
    pub to_ms: i64,
    /// The identity of every event of the batch.
    pub uids: Vec<String>,
}

/// Events known to be in the stream although the runner has not committed them: identity →
/// CloudWatch timestamp. Bounded by one batch.
pub type Present = BTreeMap<String, i64>;

/// What the checkpoint keeps of the sink.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// The committed length of the refused-events file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<FileMark>,
    /// Events found in the stream after a crash and not yet met again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub present: Present,
}

#[derive(Deserialize)]
struct Metadata {
    uid: Option<String>,
}

#[derive(Deserialize)]
struct UidOnly {
    metadata: Option<Metadata>,
}

/// The identity of an event line.
pub fn identity(line: &str) -> String {
    if let Ok(UidOnly { metadata: Some(Metadata { uid: Some(uid) }) }) = serde_json::from_str::<UidOnly>(line) {
        return uid;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    line.hash(&mut h);
    format!("#{:016x}", h.finish())
}

impl Intent {
    /// The intent of `events` stamped by `stamp` (their CloudWatch timestamps); `None` for an
    /// empty batch.
    pub fn of(log_stream: &str, events: &[EncodedEvent], stamp: impl Fn(i64) -> i64) -> Option<Intent> {
        let stamps = events.iter().map(|e| stamp(e.time_ms));
        let from_ms = stamps.clone().min()?;
        let to_ms = stamps.max()?;
        let uids = events.iter().map(|e| identity(&e.line)).collect();
        Some(Intent { log_stream: log_stream.to_string(), from_ms, to_ms, uids })
    }

    /// Which of the intent's events are among `stored` (read back from its stream and range).
    pub fn found(&self, stored: &[LogEvent]) -> Present {
        let wanted: HashSet<&str> = self.uids.iter().map(String::as_str).collect();
        stored
            .iter()
            .filter_map(|e| {
                let id = identity(&e.message);
                wanted.contains(id.as_str()).then_some((id, e.timestamp_ms))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(uid: &str, t: i64) -> EncodedEvent {
        EncodedEvent {
            line: format!("{{\"metadata\":{{\"uid\":\"{uid}\",\"version\":\"1.5.0\"}},\"time\":{t}}}"),
            time_ms: t,
        }
    }

    #[test]
    fn identity_is_the_uid_or_a_hash() {
        assert_eq!(identity(&ev("abc", 1).line), "abc");
        let a = identity("{\"x\":1}");
        assert!(a.starts_with('#') && a.len() == 17);
        assert_eq!(a, identity("{\"x\":1}"));
        assert_ne!(a, identity("{\"x\":2}"));
        assert!(identity("not json").starts_with('#'));
    }

    #[test]
    fn an_intent_spans_its_stamps_and_recognises_its_events() {
        let events = [ev("a", 30), ev("b", 10), ev("c", 20)];
        let i = Intent::of("s", &events, |t| t + 1).unwrap();
        assert_eq!((i.from_ms, i.to_ms), (11, 31));
        assert_eq!(i.uids, ["a", "b", "c"]);
        assert!(Intent::of("s", &[], |t| t).is_none());
        let stored = [(11, &events[1].line), (15, &ev("other", 15).line), (31, &events[0].line)]
            .map(|(t, m)| LogEvent { timestamp_ms: t, message: m.clone() });
        let found = i.found(&stored);
        assert_eq!(found, Present::from([("a".to_string(), 31), ("b".to_string(), 11)]));
        let back: Intent = serde_json::from_value(serde_json::to_value(&i).unwrap()).unwrap();
        assert_eq!(back, i);
    }
}
