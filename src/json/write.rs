//! Compact JSON text of a [`Value`], byte for byte what `serde_json::to_writer` writes, with a
//! fast path for strings that need no escaping (most of an event's): their bytes are checked
//! eight at a time and copied whole. A string with something to escape, and every number, is
//! written by `serde_json` itself.

use serde_json::Value;

/// Appends the compact JSON text of `v` to `out`.
pub fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json::to_writer(&mut *out, n).expect("a number serializes"),
        Value::String(s) => string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, k);
                out.push(b':');
                value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Appends `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        serde_json::to_writer(&mut *out, s).expect("a string serializes");
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether any byte is a control character (below 0x20), `"` or `\`: what JSON escapes.
/// Eight bytes at a time; the last eight overlap the word before them.
fn needs_escape(bytes: &[u8]) -> bool {
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    };
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let mut at = 0;
    while at < last {
        if escapes(word(at)) {
            return true;
        }
        at += 8;
    }
    escapes(word(last))
}

/// Whether a byte of `x` is below 0x20, `"` or `\`.
fn escapes(x: u64) -> bool {
    special(x) != 0
}

/// The high bit of every byte of `x` that is below 0x20, `"` or `\`, or after one: exact up to
/// the first such byte, so with `x` read little-endian, `trailing_zeros() / 8` is its index.
pub(crate) fn special(x: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    below(x, 0x20) | below(quote, 1) | below(backslash, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same(v: &Value) {
        let mut ours = Vec::new();
        value(&mut ours, v);
        assert_eq!(String::from_utf8_lossy(&ours), serde_json::to_string(v).unwrap());
    }

    #[test]
    fn every_kind_of_value_is_written_as_serde_json_writes_it() {
        same(&json!(null));
        same(&json!([true, false, 0, -0.0, 1.5, -7, u64::MAX, i64::MIN, 1e300, 5e-324, 0.1]));
        same(&json!({"a": {"b": [], "c": {}}, "": "", "é\"": "ü\u{1F600}"}));
        same(&serde_json::from_str::<Value>("-0").unwrap());
    }

    #[test]
    fn every_byte_that_needs_escaping_is_found_wherever_it_stands() {
        for b in 0u8..0x80 {
            for at in 0..20 {
                let mut s = "abcdefghijklmnopqrst".to_string();
                s.replace_range(at..=at, &char::from(b).to_string());
                assert_eq!(needs_escape(s.as_bytes()), b < 0x20 || b == b'"' || b == b'\\', "{b} at {at}");
                same(&Value::String(s));
            }
        }
        for s in ["", "\u{7f}", "\u{80}\u{ff}", "ÿÿÿÿÿÿÿÿÿÿ", "\u{2028}\u{2029}", "\u{1F600}\u{1F600}\u{1F600}"]
        {
            assert!(!needs_escape(s.as_bytes()), "{s}");
            same(&json!(s));
        }
    }
}
