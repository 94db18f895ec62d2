//! Paging strategies of a stream, a closed set: `cursor` (the request field that carries the
//! cursor ← the response path that gives the next one). Without `paging`, a window is one
//! request. `offset` and `link_header` are not supported yet.

use super::auth::{dotted, lookup};
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
use crate::yaml::{MapReader, Node};
use serde_json::{Map, Value};

pub(crate) const STRATEGIES: &[&str] = &["cursor", "offset", "link_header"];
pub(crate) const CURSOR_KEYS: &[&str] = &["request", "response"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagingSpec {
    /// One request per window.
    Single,
    /// `request` (a dotted field of the body, or a query parameter for GET) ← `response`.
    Cursor { request: Vec<String>, response: Vec<String> },
}

impl PagingSpec {
    /// The next cursor of a response page; `None` at the end (absent, null or empty).
    pub fn next_cursor(&self, page: &Value) -> Option<String> {
        cursor_of(lookup(page, self.response_path()?)?)
    }

    /// Where a response gives the next cursor.
    pub fn response_path(&self) -> Option<&[String]> {
        match self {
            PagingSpec::Single => None,
            PagingSpec::Cursor { response, .. } => Some(response),
        }
    }

    /// Puts `cursor` into a request body.
    pub fn apply_to_body(&self, body: &mut Value, cursor: &str) {
        let PagingSpec::Cursor { request, .. } = self else { return };
        if !body.is_object() {
            *body = Value::Object(Map::new());
        }
        let mut at = body;
        for (i, key) in request.iter().enumerate() {
            let Value::Object(map) = at else { return };
            if i + 1 == request.len() {
                map.insert(key.clone(), Value::String(cursor.to_string()));
                return;
            }
            at = map.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        }
    }

    /// The query parameter that carries the cursor (GET streams).
    pub fn query_name(&self) -> Option<String> {
        match self {
            PagingSpec::Cursor { request, .. } => Some(request.join(".")),
            PagingSpec::Single => None,
        }
    }
}

/// The cursor a response's value at the cursor path gives; `None` (the end) for null, empty
/// or another kind of value.
pub fn cursor_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn decode(node: &Node, diags: &mut Diagnostics) -> Option<PagingSpec> {
    let r = MapReader::new(node, "`paging`", STRATEGIES, diags)?;
    if let Some(n) = r.node("cursor") {
        let c = MapReader::new(n, "`paging.cursor`", CURSOR_KEYS, diags)?;
        let request = c.str("request", diags);
        let response = c.str("response", diags);
        for key in ["request", "response"] {
            if !c.has(key) {
                diags.push(c.missing(key).help("e.g. `cursor: { request: cursor, response: paging.nextCursor }`"));
            }
        }
        return Some(PagingSpec::Cursor { request: dotted(&request?.0), response: dotted(&response?.0) });
    }
    for other in ["offset", "link_header"] {
        if let Some((k, _)) = r.entry(other) {
            diags.push(
                Diagnostic::new(ErrorKind::InvalidValue {
                    key: other.into(),
                    reason: "this paging strategy is not supported yet".into(),
                })
                .at(k.span.clone())
                .help("use `cursor`"),
            );
            return None;
        }
    }
    if !r.had_unknown_keys() {
        diags.push(r.missing("cursor"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursor_in_and_out() {
        let p = PagingSpec::Cursor { request: dotted("cursor"), response: dotted("paging.nextCursor") };
        assert_eq!(p.next_cursor(&json!({"paging": {"nextCursor": "abc"}})).as_deref(), Some("abc"));
        assert_eq!(p.next_cursor(&json!({"paging": {"nextCursor": null}})), None);
        assert_eq!(p.next_cursor(&json!({"paging": {"nextCursor": ""}})), None);
        assert_eq!(p.next_cursor(&json!({"results": []})), None);
        let mut body = json!({"limit": 100});
        p.apply_to_body(&mut body, "abc");
        assert_eq!(body, json!({"limit": 100, "cursor": "abc"}));
        let nested = PagingSpec::Cursor { request: dotted("page.after"), response: dotted("next") };
        let mut body = Value::Null;
        nested.apply_to_body(&mut body, "x");
        assert_eq!(body, json!({"page": {"after": "x"}}));
        assert_eq!(PagingSpec::Single.next_cursor(&json!({"next": "x"})), None);
    }
}
