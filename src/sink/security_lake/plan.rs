//! A batch to Security Lake objects: each event's 1.3.0 profile, checked against its class's
//! schema, grouped by class (one source each) and UTC day, sorted by `time`, cut at the
//! object size, encoded, and named from the batch's sequence number.

use super::config::SecurityLakeOptions;
use super::encode;
use super::keys::{event_day, object_key, partition};
use super::schema::class_schema;
use crate::ocsf::profile_1_3::{VERSION, to_1_3};
use crate::sink::Batch;
use crate::sink::cloudwatch::recovery::identity;
use arrow_schema::SchemaRef;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

/// An event that cannot go, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: String,
    pub message: String,
    pub source: String,
    pub line: String,
}

/// One object to write.
#[derive(Debug, Clone)]
pub struct Object {
    pub key: String,
    pub source: String,
    /// The fingerprint of its rows (SHA-256 of the 1.3.0 lines in row order).
    pub content: String,
    pub ids: Vec<String>,
    pub body: Vec<u8>,
}

/// A batch made ready, and how far its sending got.
#[derive(Debug, Clone)]
pub struct Planned {
    pub fingerprint: u64,
    pub seq: u64,
    pub objects: Vec<Object>,
    pub refusals: Vec<Refusal>,
    /// Events already in objects a killed run wrote.
    pub already: Vec<String>,
    pub written: usize,
    pub refusals_written: bool,
}

/// The schema of each class, built once.
static SCHEMAS: LazyLock<BTreeMap<i64, SchemaRef>> = LazyLock::new(|| {
    super::config::CLASSES
        .iter()
        .map(|&uid| {
            let name = if uid == 3002 { "authentication" } else { "entity_management" };
            (uid, Arc::new(class_schema(VERSION, name).expect("bundled classes have schemas")))
        })
        .collect()
});

/// The fixed schema of a class the sink writes.
pub fn schema_of(class_uid: i64) -> Option<&'static SchemaRef> {
    SCHEMAS.get(&class_uid)
}

/// A hash of a batch's events, to recognise the same batch when the runner sends it again.
pub fn fingerprint(batch: &Batch) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    batch.events.len().hash(&mut h);
    for e in &batch.events {
        e.line.hash(&mut h);
    }
    h.finish()
}

pub struct Plan<'a> {
    opts: &'a SecurityLakeOptions,
    seq: u64,
    present: &'a BTreeSet<String>,
}

/// One row on its way: time, identity, the 1.3.0 event and its line.
struct Row {
    time: i64,
    id: String,
    event: Value,
    bytes: usize,
}

impl<'a> Plan<'a> {
    pub fn new(opts: &'a SecurityLakeOptions, seq: u64, present: &'a BTreeSet<String>) -> Self {
        Plan { opts, seq, present }
    }

    pub fn make(&self, batch: &Batch) -> Result<Planned, String> {
        let mut refusals = Vec::new();
        let mut already = Vec::new();
        let mut groups: BTreeMap<(i64, String), Vec<Row>> = BTreeMap::new();
        for e in &batch.events {
            let id = identity(&e.line);
            if self.present.contains(&id) {
                already.push(id);
                continue;
            }
            let refuse = |reason: &str, message: String, source: &str| Refusal {
                reason: reason.into(),
                message,
                source: source.into(),
                line: e.line.clone(),
            };
            let event: Value = match serde_json::from_str(&e.line) {
                Ok(v) => v,
                Err(err) => {
                    refusals.push(refuse("not_json", format!("the event is not JSON: {err}"), ""));
                    continue;
                }
            };
            let class_uid = event.get("class_uid").and_then(Value::as_i64).unwrap_or(0);
            let (Some(source), Some(schema)) = (self.opts.sources.get(&class_uid), schema_of(class_uid)) else {
                let message = format!("class_uid {class_uid} has no Security Lake source here");
                refusals.push(refuse("no_source", message, ""));
                continue;
            };
            let profiled = match to_1_3(&event) {
                Ok(p) => p,
                Err(err) => {
                    refusals.push(refuse("not_ocsf_1_3", format!("no OCSF 1.3.0 profile: {err}"), source));
                    continue;
                }
            };
            if let Err(err) = encode::check(schema.fields(), &profiled.event) {
                refusals.push(refuse("no_column", err, source));
                continue;
            }
            let time = profiled.event.get("time").and_then(Value::as_i64).unwrap_or(e.time_ms);
            let row = Row { time, id, event: profiled.event, bytes: e.line.len() };
            groups.entry((class_uid, event_day(time))).or_default().push(row);
        }
        let mut objects = Vec::new();
        for ((class_uid, day), mut rows) in groups {
            rows.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
            let source = &self.opts.sources[&class_uid];
            let schema = schema_of(class_uid).expect("grouped by known classes");
            let prefix = partition(source, &self.opts.region, &self.opts.account_id, &day);
            for part in cut(&rows, self.opts.max_object_bytes) {
                let values: Vec<&Value> = part.iter().map(|r| &r.event).collect();
                let mut sha = Sha256::new();
                for v in &values {
                    sha.update(serde_json::to_string(v).map_err(|e| e.to_string())?.as_bytes());
                    sha.update(b"\n");
                }
                let content = sha.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>();
                let body = encode::parquet(schema, &values)?;
                let key = object_key(&prefix, &self.opts.stream, part[0].time, self.seq, objects.len());
                objects.push(Object {
                    key,
                    source: source.clone(),
                    content,
                    ids: part.iter().map(|r| r.id.clone()).collect(),
                    body,
                });
            }
        }
        Ok(Planned {
            fingerprint: fingerprint(batch),
            seq: self.seq,
            objects,
            refusals,
            already,
            written: 0,
            refusals_written: false,
        })
    }
}

/// Consecutive runs of rows of at most `max_bytes` (a row larger than that goes alone).
fn cut(rows: &[Row], max_bytes: usize) -> Vec<&[Row]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, r) in rows.iter().enumerate() {
        if i > start && size + r.bytes > max_bytes {
            out.push(&rows[start..i]);
            (start, size) = (i, 0);
        }
        size += r.bytes;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}
