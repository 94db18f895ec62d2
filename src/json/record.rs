//! One record parsed on its own: its grammar, depth and numbers checked by the scanner, then
//! parsed; a record that cannot be kept exactly is a [`Poison`] that carries its raw bytes,
//! so that it can be dead-lettered while the records around it go on.

use super::scan::{self, Shape};
use serde_json::Value;

/// Records nested deeper than this are refused (the parser accepts no more).
pub const MAX_DEPTH: usize = 127;

/// A record that cannot become a JSON value without losing something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    /// The record's bytes, as received.
    pub raw: Vec<u8>,
    /// Why it was refused.
    pub problem: String,
}

/// One element of a record list.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Record(Value),
    Poison(Poison),
}

/// Parses one record whose grammar the scanner has checked and measured (`shape`).
pub fn parse_scanned(raw: &[u8], shape: &Shape) -> Parsed {
    let poison = |problem: String| Parsed::Poison(Poison { raw: raw.to_vec(), problem });
    if shape.depth > MAX_DEPTH {
        return poison(format!("nested {} levels deep, more than {MAX_DEPTH}", shape.depth));
    }
    if let Some((a, b)) = shape.inexact {
        let number = String::from_utf8_lossy(raw.get(a..b).unwrap_or_default());
        let shown: String = number.chars().take(40).collect();
        let more = if shown.len() < number.len() { "…" } else { "" };
        return poison(format!("the number {shown}{more} cannot be kept exactly (out of range or too precise)"));
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(v) => Parsed::Record(v),
        Err(e) => poison(problem(&e)),
    }
}

/// Parses one record from its bytes (a line of NDJSON, a file).
pub fn parse(raw: &[u8]) -> Result<Parsed, scan::SyntaxError> {
    let shape = scan::whole(raw)?;
    Ok(parse_scanned(raw, &shape))
}

/// The parser's message without its position inside the record (`at line 1 column 40`).
fn problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!("{} (column {})", &text[..i], e.column()),
        None => text,
    }
}

/// The value at `path` (object keys) in a record's raw bytes, found without parsing the rest:
/// what can still be read of a poison record (its time, for instance).
pub fn member(raw: &[u8], path: &[String]) -> Option<Value> {
    let mut i = scan::ws(raw, 0);
    'level: for (level, name) in path.iter().enumerate() {
        if raw.get(i) != Some(&b'{') {
            return None;
        }
        let mut at = scan::ws(raw, i + 1);
        if raw.get(at) == Some(&b'}') {
            return None;
        }
        loop {
            let ((ka, kb), value) = scan::key(raw, at).ok()?;
            let start = scan::ws(raw, value);
            let (end, shape) = scan::skip_value(raw, start).ok()?;
            if key_is(&raw[ka..kb], name) {
                if level + 1 == path.len() {
                    return match parse_scanned(&raw[start..end], &shape) {
                        Parsed::Record(v) => Some(v),
                        Parsed::Poison(_) => None,
                    };
                }
                i = start;
                continue 'level;
            }
            at = scan::ws(raw, end);
            match raw.get(at) {
                Some(b',') => at += 1,
                _ => return None,
            }
        }
    }
    None
}

/// Whether a key (its quoted bytes) is `name`.
pub fn key_is(quoted: &[u8], name: &str) -> bool {
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains(&b'\\') {
        return inner == name.as_bytes();
    }
    serde_json::from_slice::<String>(quoted).is_ok_and(|k| k == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem_of(raw: &[u8]) -> String {
        match parse(raw).expect("grammar") {
            Parsed::Poison(p) => {
                assert_eq!(p.raw, raw);
                p.problem
            }
            Parsed::Record(v) => panic!("accepted: {v}"),
        }
    }

    #[test]
    fn a_good_record_is_its_value() {
        assert_eq!(
            parse(br#" {"id": "a", "n": [1, 2.5]} "#).unwrap(),
            Parsed::Record(json!({"id": "a", "n": [1, 2.5]}))
        );
    }

    #[test]
    fn every_kind_of_poison_is_named() {
        assert!(problem_of(b"{\"id\":\"a\",\"s\":\"\xff\"}").contains("invalid unicode code point"));
        let lone = problem_of(br#"{"id":"a","s":"\ud83d"}"#);
        assert!(lone.contains("escape"), "{lone}");
        assert!(problem_of(br#"{"id":"a","n":1e400}"#).contains("1e400 cannot be kept exactly"));
        assert!(problem_of(br#"{"n":123456789012345678901234567890}"#).contains("123456789012345678901234567890"));
        let deep = format!("{{\"id\":\"a\",\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(problem_of(deep.as_bytes()).contains("201 levels deep, more than 127"));
        let deeper = format!("{{\"id\":\"a\",\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(problem_of(deeper.as_bytes()).contains("100001 levels deep"));
        let just_deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(matches!(parse(just_deep.as_bytes()).unwrap(), Parsed::Record(_)), "the limit itself is fine");
    }

    #[test]
    fn members_of_a_poison_record_can_still_be_read() {
        let raw = br#"{"id": "a", "s": "\ud83d", "meta": {"eventTime": "2025-12-01T00:00:00Z"}, "n": 1e400}"#;
        let path = |p: &str| p.split('.').map(String::from).collect::<Vec<_>>();
        assert_eq!(member(raw, &path("meta.eventTime")), Some(json!("2025-12-01T00:00:00Z")));
        assert_eq!(member(raw, &path("id")), Some(json!("a")));
        assert_eq!(member(raw, &path("s")), None, "itself poison");
        assert_eq!(member(raw, &path("n")), None);
        assert_eq!(member(raw, &path("missing")), None);
        assert_eq!(member(br#"{"i\u0064": 5}"#, &path("id")), Some(json!(5)));
        assert_eq!(member(b"[1]", &path("id")), None);
    }
}
