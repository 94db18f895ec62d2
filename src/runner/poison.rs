//! Records that cannot be told apart by their id: records the parser refuses (poison) and
//! records without a usable id. Each is dead-lettered once: a key made from a hash of its
//! bytes stands in for the id in the dedup state, so that a re-read (an overlap, a repeated
//! page) recognises it. Two id-less records with the same bytes are one record.

use super::Run;
use super::window::Window;
use crate::deadletter::{DeadLetter, Reason};
use crate::json::{Parsed, Poison, record::member};
use crate::source::auth::lookup;
use crate::source::timefmt::parse_instant;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The dedup key of a record known by its bytes: `bytes:` and 128 bits of their SHA-256.
pub fn bytes_key(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("bytes:{hex}")
}

/// Why a record has no usable id at `path` (dotted).
fn no_id(record: &Value, path: &str) -> String {
    if !record.is_object() {
        return format!("the record is not a JSON object ({}), so it has no id at `{path}`", kind(record));
    }
    match lookup(record, &path.split('.').map(String::from).collect::<Vec<_>>()) {
        None => format!("the record has no id at `{path}`"),
        Some(Value::String(_)) => format!("the record's id at `{path}` is empty"),
        Some(v) => format!("the record's id at `{path}` is {}, not a string or a number", kind(v)),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Run<'_> {
    /// The time of one element of a page's record list, read from its raw bytes for a record
    /// the parser refused.
    pub(super) fn time_of(&self, item: &Parsed) -> Option<i64> {
        match item {
            Parsed::Record(record) => lookup(record, &self.stream.event_time).and_then(parse_instant),
            Parsed::Poison(p) => member(&p.raw, &self.stream.event_time).as_ref().and_then(parse_instant),
        }
    }

    /// A hash naming one element of a page's record list within a query, for telling a page
    /// of records not met before in it from the same records served again: a record's id (its
    /// whole text when it has none), a refused record's raw bytes.
    pub(super) fn identity_of(&self, item: &Parsed) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        match item {
            Parsed::Record(record) => match super::pager::record_id(record, &self.stream.record_id) {
                Some(id) => (0u8, id).hash(&mut h),
                None => (1u8, record.to_string()).hash(&mut h),
            },
            Parsed::Poison(p) => (2u8, &p.raw).hash(&mut h),
        }
        h.finish()
    }

    /// One element of a page's record list.
    pub(super) async fn take(&mut self, item: Parsed, w: Window) -> Result<(), String> {
        match item {
            Parsed::Record(record) => self.record(record, w).await,
            Parsed::Poison(p) => self.poison(p, w),
        }
    }

    /// A record the parser refused: dead-lettered with its raw text, once.
    fn poison(&mut self, p: Poison, w: Window) -> Result<(), String> {
        let time = member(&p.raw, &self.stream.event_time).as_ref().and_then(parse_instant);
        let message = format!("the record cannot be read as JSON without loss: {}", p.problem);
        let dl = DeadLetter::raw(Reason::InvalidRecord, message, &p.raw);
        self.dead_letter_once(bytes_key(&p.raw), time, w, &dl, &p.raw)
    }

    /// A record without a usable id: dead-lettered once.
    pub(super) fn without_id(&mut self, record: Value, w: Window) -> Result<(), String> {
        let time = lookup(&record, &self.stream.event_time).and_then(parse_instant);
        // Keys in a fixed order, no whitespace: the same record gives the same key however
        // the API spaced it.
        let text = record.to_string();
        let key = bytes_key(text.as_bytes());
        let message = no_id(&record, &self.stream.record_id.join("."));
        self.dead_letter_once(key, time, w, &DeadLetter::new(Reason::InvalidRecord, message, record), text.as_bytes())
    }

    /// `raw`: the record's bytes, for the archive.
    fn dead_letter_once(
        &mut self,
        key: String,
        time: Option<i64>,
        w: Window,
        dl: &DeadLetter,
        raw: &[u8],
    ) -> Result<(), String> {
        if self.dedup.contains(&key)? || self.delivered_long_ago(&key)? {
            self.summary.duplicates += 1;
            self.metric("duplicates_dropped_total", 1);
            return Ok(());
        }
        self.archive_record(self.archive.is_some().then(|| raw.to_vec()), time);
        self.dead_letter(dl)?;
        self.seen(key, time, w)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_reasons() {
        assert_eq!(bytes_key(b"x"), bytes_key(b"x"));
        assert_ne!(bytes_key(b"x"), bytes_key(b"y"));
        assert_eq!(bytes_key(b"x").len(), "bytes:".len() + 32);
        assert_eq!(no_id(&json!({"a": 1}), "id"), "the record has no id at `id`");
        assert_eq!(no_id(&json!({"id": ""}), "id"), "the record's id at `id` is empty");
        assert_eq!(no_id(&json!({"id": null}), "id"), "the record's id at `id` is null, not a string or a number");
        assert_eq!(no_id(&json!({"id": [1]}), "id"), "the record's id at `id` is a list, not a string or a number");
        assert_eq!(no_id(&json!("x"), "id"), "the record is not a JSON object (a string), so it has no id at `id`");
    }
}
