//! The envelope of an API page: the record list and the next cursor found by their paths,
//! each record kept as its own bytes, every other member checked and skipped without being
//! parsed. The whole body is checked against the JSON grammar, so a body that is not JSON is
//! refused as a whole; what is wrong inside one record spoils only that record.

use super::record::{Parsed, key_is, parse_scanned};
use super::scan::{self, SyntaxError};
use serde_json::Value;

/// What was found at the record path.
#[derive(Debug, PartialEq)]
pub enum Records {
    /// No such member, or `null`.
    Missing,
    /// A list: its records, each parsed on its own.
    List(Vec<Parsed>),
    /// Something else (named for the message).
    NotAList(&'static str),
}

/// A page's envelope.
#[derive(Debug, PartialEq)]
pub struct Envelope {
    pub records: Records,
    /// The value at the cursor path, when there is one; `Err` when it is not usable JSON.
    pub cursor: Option<Result<Value, String>>,
    /// Top-level `errorCode` and `errorMessage` strings, as an error answer carries them.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Walks `body`, a JSON object, for the member at `records` (a list) and at `cursor`.
pub fn parse(body: &[u8], records: &[String], cursor: Option<&[String]>) -> Result<Envelope, SyntaxError> {
    let body = scan::strip_bom(body);
    let start = scan::ws(body, 0);
    if body.get(start) != Some(&b'{') {
        // Not an object: checked as JSON all the same, to tell "not JSON" from "no list".
        scan::whole(body)?;
        return Err(SyntaxError { at: start, what: "the response is not a JSON object" });
    }
    let mut walk = Walk {
        body,
        records,
        cursor: cursor.unwrap_or(&[]),
        found: Envelope { records: Records::Missing, cursor: None, error_code: None, error_message: None },
    };
    let end = walk.object(start, 0, !records.is_empty(), cursor.is_some_and(|c| !c.is_empty()))?;
    let end = scan::ws(body, end);
    if end != body.len() {
        return Err(SyntaxError { at: end, what: "text after the value" });
    }
    Ok(walk.found)
}

struct Walk<'a> {
    body: &'a [u8],
    records: &'a [String],
    cursor: &'a [String],
    found: Envelope,
}

impl Walk<'_> {
    /// The object at `i` (its `{`), at `level` of the paths; `on_records` and `on_cursor`
    /// say whether it lies on either path. Returns the index past its `}`. Recursion only
    /// follows the paths, so its depth is bounded by their length.
    fn object(&mut self, i: usize, level: usize, on_records: bool, on_cursor: bool) -> Result<usize, SyntaxError> {
        let b = self.body;
        let mut at = scan::ws(b, i + 1);
        if b.get(at) == Some(&b'}') {
            return Ok(at + 1);
        }
        loop {
            let ((ka, kb), value) = scan::key(b, at)?;
            let key = &b[ka..kb];
            let start = scan::ws(b, value);
            let r = on_records && key_is(key, &self.records[level]);
            let c = on_cursor && key_is(key, &self.cursor[level]);
            let end = if r && level + 1 == self.records.len() {
                self.record_list(start)?
            } else if c && level + 1 == self.cursor.len() {
                let (end, shape) = scan::skip_value(b, start)?;
                self.found.cursor = Some(match parse_scanned(&b[start..end], &shape) {
                    Parsed::Record(v) => Ok(v),
                    Parsed::Poison(p) => Err(p.problem),
                });
                end
            } else if (r || c) && b.get(start) == Some(&b'{') {
                self.object(start, level + 1, r, c)?
            } else {
                let (end, shape) = scan::skip_value(b, start)?;
                if level == 0 && b[start] == b'"' {
                    self.top_level_string(key, &b[start..end], &shape);
                }
                end
            };
            at = scan::ws(b, end);
            match b.get(at) {
                Some(b',') => at += 1,
                Some(b'}') => return Ok(at + 1),
                None => return Err(SyntaxError { at, what: "unexpected end" }),
                _ => return Err(SyntaxError { at, what: "expected `,` or `}`" }),
            }
        }
    }

    /// The value at the record path, starting at `i`.
    fn record_list(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let b = self.body;
        if b.get(i) != Some(&b'[') {
            let (end, _) = scan::skip_value(b, i)?;
            self.found.records = match b[i] {
                b'n' => Records::Missing,
                b'{' => Records::NotAList("an object"),
                b'"' => Records::NotAList("a string"),
                b't' | b'f' => Records::NotAList("a boolean"),
                _ => Records::NotAList("a number"),
            };
            return Ok(end);
        }
        let mut list = Vec::new();
        let mut at = scan::ws(b, i + 1);
        if b.get(at) == Some(&b']') {
            self.found.records = Records::List(list);
            return Ok(at + 1);
        }
        loop {
            let start = scan::ws(b, at);
            let (end, shape) = scan::skip_value(b, start)?;
            list.push(parse_scanned(&b[start..end], &shape));
            at = scan::ws(b, end);
            match b.get(at) {
                Some(b',') => at += 1,
                Some(b']') => break,
                None => return Err(SyntaxError { at, what: "unexpected end" }),
                _ => return Err(SyntaxError { at, what: "expected `,` or `]`" }),
            }
        }
        self.found.records = Records::List(list);
        Ok(at + 1)
    }

    fn top_level_string(&mut self, key: &[u8], raw: &[u8], shape: &scan::Shape) {
        let slot = if key_is(key, "errorCode") {
            &mut self.found.error_code
        } else if key_is(key, "errorMessage") {
            &mut self.found.error_message
        } else {
            return;
        };
        if let Parsed::Record(Value::String(s)) = parse_scanned(raw, shape) {
            *slot = Some(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    fn page(body: &[u8]) -> Result<Envelope, SyntaxError> {
        parse(body, &path("results"), Some(&path("paging.nextCursor")))
    }

    fn records(e: &Envelope) -> Vec<String> {
        match &e.records {
            Records::List(l) => l
                .iter()
                .map(|p| match p {
                    Parsed::Record(v) => v.to_string(),
                    Parsed::Poison(p) => format!("poison {}", String::from_utf8_lossy(&p.raw)),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_the_records_and_the_cursor_wherever_they_are() {
        let e = page(br#"{"results": [{"id": "a"}, 7], "paging": {"limit": 2, "nextCursor": "n1"}}"#).unwrap();
        assert_eq!(records(&e), ["{\"id\":\"a\"}", "7"]);
        assert_eq!(e.cursor, Some(Ok(json!("n1"))));
        let e = page(br#" { "paging" : { "nextCursor" : null } , "results" : [ ] } "#).unwrap();
        assert!(records(&e).is_empty());
        assert_eq!(e.cursor, Some(Ok(Value::Null)));
        let nested = parse(br#"{"data": {"items": [1]}, "items": [2]}"#, &path("data.items"), None).unwrap();
        assert_eq!(records(&nested), ["1"]);
    }

    #[test]
    fn one_poison_record_spoils_only_itself() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!(r#"{{"results": [{{"id": "a"}}, {deep}, {{"n": 1e400}}, {{"id": "b"}}], "paging": {{}}}}"#);
        let e = page(body.as_bytes()).unwrap();
        let got = records(&e);
        assert_eq!(got.len(), 4);
        assert_eq!((got[0].as_str(), got[3].as_str()), ("{\"id\":\"a\"}", "{\"id\":\"b\"}"));
        assert!(got[1].starts_with("poison [[[") && got[2] == "poison {\"n\": 1e400}");
    }

    #[test]
    fn a_deep_member_of_the_envelope_is_skipped_safely() {
        let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)).replace("\"a\":}", "\"a\":1}");
        let body = format!(r#"{{"meta": {deep}, "results": [1], "paging": {{"nextCursor": "c"}}}}"#);
        let e = page(body.as_bytes()).unwrap();
        assert_eq!(records(&e), ["1"]);
        assert_eq!(e.cursor, Some(Ok(json!("c"))));
    }

    #[test]
    fn missing_null_and_shapeless_lists() {
        assert_eq!(page(br#"{"paging": {"nextCursor": null}}"#).unwrap().records, Records::Missing);
        assert_eq!(page(br#"{"results": null}"#).unwrap().records, Records::Missing);
        assert_eq!(page(br#"{"results": {"a": 1}}"#).unwrap().records, Records::NotAList("an object"));
        let e = page(br#"{"errorCode": "invalid_limit", "errorMessage": "no"}"#).unwrap();
        assert_eq!((e.error_code.as_deref(), e.error_message.as_deref()), (Some("invalid_limit"), Some("no")));
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_whole() {
        for body in [
            &b"<html>busy</html>"[..],
            b"[{\"id\": 1}]",
            b"{\"results\": [{\"id\": 1}",
            b"{\"results\": [{\"id\": 1},]}",
            b"{\"results\": [1]} trailing",
            b"",
        ] {
            assert!(page(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
