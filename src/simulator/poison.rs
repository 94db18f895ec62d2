//! The `poison-records` fault: some records of the tenant are served as bytes a strict JSON
//! parser refuses or that have no usable id, every time a page holds them (so re-reads meet
//! them again): a string with an invalid UTF-8 byte, a lone surrogate `\ud83d`, the numbers
//! `1e400` and a 30-digit integer, nesting 200 and 100,000 deep, a list or a string instead
//! of an object, and an id that is missing, null, empty, an object or a list. Each variant's
//! bytes name the record, so no two poison records are alike.

use std::collections::BTreeMap;

use super::record::StoredEvent;
use super::rng::Rng;

const STREAM_POISON: u64 = 0x9015_0000_0000_0001;

/// The variants, in the order they are given out.
pub const VARIANTS: [&str; 13] = [
    "invalid-utf8",
    "lone-surrogate",
    "number-1e400",
    "integer-30-digits",
    "nesting-200",
    "nesting-100000",
    "a-list",
    "a-string",
    "id-missing",
    "id-null",
    "id-empty",
    "id-object",
    "id-list",
];

/// The records served as poison: their ids, and the bytes served in their place.
#[derive(Debug, Default)]
pub struct PoisonSet {
    bytes: BTreeMap<String, Vec<u8>>,
}

impl PoisonSet {
    /// Picks `rate` of `records` (at least one of each variant while records last), served
    /// as the variants named in `only` (all when empty).
    pub fn choose(records: &[StoredEvent], seed: u64, rate: f64, only: &[String]) -> Self {
        let variants = chosen_variants(only);
        if variants.is_empty() {
            return PoisonSet::default();
        }
        let wanted = Self::count(records.len(), rate, only);
        let mut order: Vec<usize> = (0..records.len()).collect();
        Rng::derive(seed, STREAM_POISON).shuffle(&mut order);
        let bytes = order
            .into_iter()
            .take(wanted)
            .enumerate()
            .filter_map(|(n, i)| {
                let event = &records[i].event;
                let clean = serde_json::to_vec(event).ok()?;
                let v = variants[n % variants.len()];
                Some((event.id.clone(), variant(v, &event.id, &event.event_time, &clean)))
            })
            .collect();
        PoisonSet { bytes }
    }

    /// How many of `len` records [`PoisonSet::choose`] picks, without picking them.
    pub fn count(len: usize, rate: f64, only: &[String]) -> usize {
        let variants = chosen_variants(only).len();
        if variants == 0 {
            return 0;
        }
        ((len as f64 * rate.clamp(0.0, 1.0)).ceil() as usize).max(variants).min(len)
    }

    /// The bytes served for the record `id`, when it is poison.
    pub fn get(&self, id: &str) -> Option<&[u8]> {
        self.bytes.get(id).map(Vec::as_slice)
    }

    pub fn ids(&self) -> Vec<String> {
        self.bytes.keys().cloned().collect()
    }
}

/// The indices into [`VARIANTS`] of the variants named in `only` (all when empty).
fn chosen_variants(only: &[String]) -> Vec<usize> {
    (0..VARIANTS.len()).filter(|&n| only.is_empty() || only.iter().any(|o| o == VARIANTS[n])).collect()
}

/// Variant `n` of a record whose clean JSON is `clean` (an object starting `{"id":"…",`).
fn variant(n: usize, id: &str, time: &str, clean: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(clean).into_owned();
    let body = &text[..text.len() - 1];
    let with = |member: &[u8]| [body.as_bytes(), b",", member, b"}"].concat();
    let nested = |depth: usize| format!("\"nested\":{}\"{id}\"{}", "[".repeat(depth), "]".repeat(depth));
    let id_member = format!("\"id\":\"{id}\",");
    let rest = text.replacen(&id_member, "", 1);
    let rest = &rest[1..];
    let with_id = |value: &str| format!("{{\"id\":{value},{rest}");
    match VARIANTS[n] {
        "invalid-utf8" => with(b"\"note\":\"caf\xe9 \xff\""),
        "lone-surrogate" => with(br#""note":"\ud83d""#),
        "number-1e400" => with(br#""riskScore":1e400"#),
        "integer-30-digits" => with(br#""riskScore":123456789012345678901234567890"#),
        "nesting-200" => with(nested(200).as_bytes()),
        "nesting-100000" => with(nested(100_000).as_bytes()),
        "a-list" => format!("[\"{id}\",\"{time}\"]").into_bytes(),
        "a-string" => format!("\"{id} at {time}\"").into_bytes(),
        "id-missing" => format!("{{\"note\":\"{id}\",{rest}").into_bytes(),
        "id-null" => with_id(&format!("null,\"note\":\"{id}\"")).into_bytes(),
        "id-empty" => with_id(&format!("\"\",\"note\":\"{id}\"")).into_bytes(),
        "id-object" => with_id(&format!("{{\"value\":\"{id}\"}}")).into_bytes(),
        _ => with_id(&format!("[\"{id}\"]")).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_refused_or_rounded_by_a_strict_parser_or_has_no_usable_id() {
        let clean = br#"{"id":"r1","eventTime":"2025-12-01T00:00:00Z","message":"m"}"#;
        for (n, name) in VARIANTS.iter().enumerate() {
            let bytes = variant(n, "r1", "2025-12-01T00:00:00Z", clean);
            let parsed = serde_json::from_slice::<serde_json::Value>(&bytes);
            let usable_id = parsed.as_ref().ok().and_then(|v| v.get("id")).is_some_and(|id| id.as_str() == Some("r1"));
            // A 30-digit integer is accepted, and silently rounded to a double.
            let rounded = parsed.as_ref().is_ok_and(|v| v.get("riskScore").is_some_and(serde_json::Value::is_f64));
            assert!(!usable_id || rounded, "{name}: {}", String::from_utf8_lossy(&bytes));
            if name.starts_with("id-") {
                let v = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(v["eventTime"], "2025-12-01T00:00:00Z", "{name}: the rest is kept");
            }
            assert!(String::from_utf8_lossy(&bytes).contains("r1"), "{name}: names its record");
        }
    }
}
