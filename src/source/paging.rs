//! Paging strategies of a stream, a closed set: `cursor` (the request field that carries the
//! cursor ← the response path that gives the next one), `offset` (the request field that
//! carries how many records were read before the page) and `page` (the field that carries the
//! page number). Without `paging`, a window is one request. `link_header` is not supported yet.

use super::auth::dotted;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
use crate::yaml::{MapReader, Node};
use serde_json::{Map, Value};

pub(crate) const STRATEGIES: &[&str] = &["cursor", "offset", "page", "link_header"];
pub(crate) const CURSOR_KEYS: &[&str] = &["request", "response"];
pub(crate) const COUNTER_KEYS: &[&str] = &["request", "start"];
pub(crate) const LINK_KEYS: &[&str] = &["rel"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagingSpec {
    /// One request per window.
    Single,
    /// `request` (a dotted field of the body, or a query parameter for GET) ← `response`.
    Cursor { request: Vec<String>, response: Vec<String> },
    /// `request` carries the number of records read before the page, from `start`.
    Offset { request: Vec<String>, start: u64 },
    /// `request` carries the page number, from `start`.
    Page { request: Vec<String>, start: u64 },
    /// The next page is the URL of the `Link` header's target of relation `rel` (GET only).
    LinkHeader { rel: String },
}

impl PagingSpec {
    /// Where a response gives the next cursor (cursor paging only).
    pub fn response_path(&self) -> Option<&[String]> {
        match self {
            PagingSpec::Cursor { response, .. } => Some(response),
            _ => None,
        }
    }

    /// The request field that carries the cursor, the offset or the page number.
    fn request_path(&self) -> Option<&[String]> {
        match self {
            PagingSpec::Single | PagingSpec::LinkHeader { .. } => None,
            PagingSpec::Cursor { request, .. }
            | PagingSpec::Offset { request, .. }
            | PagingSpec::Page { request, .. } => Some(request),
        }
    }

    /// What the first request of a window carries: the start of a counter (an offset or a page
    /// number), nothing for a cursor.
    pub fn first(&self) -> Option<String> {
        match self {
            PagingSpec::Offset { start, .. } | PagingSpec::Page { start, .. } => Some(start.to_string()),
            _ => None,
        }
    }

    /// The next page's cursor of a counting strategy, from the request's (`None`: the start)
    /// and the number of records its answer held; `None` at the end, a page without records
    /// (a short page is not taken as the end: servers cap the page size they are asked for).
    /// `None` for the other strategies, whose next cursor comes from the response.
    pub fn count_on(&self, sent: Option<&str>, records: usize) -> Option<String> {
        let (start, step) = match self {
            PagingSpec::Offset { start, .. } => (*start, records as u64),
            PagingSpec::Page { start, .. } => (*start, 1),
            _ => return None,
        };
        if records == 0 {
            return None;
        }
        let at = sent.and_then(|c| c.parse::<u64>().ok()).unwrap_or(start);
        Some(at.saturating_add(step).to_string())
    }

    /// Whether the next page is counted (`offset`, `page`) rather than read from a response.
    pub fn counts(&self) -> bool {
        matches!(self, PagingSpec::Offset { .. } | PagingSpec::Page { .. })
    }

    /// Puts `cursor` into a request body: a counter as a number, a cursor as a string.
    pub fn apply_to_body(&self, body: &mut Value, cursor: &str) {
        let Some(request) = self.request_path() else { return };
        let value = match cursor.parse::<u64>() {
            Ok(n) if self.counts() => Value::from(n),
            _ => Value::String(cursor.to_string()),
        };
        if !body.is_object() {
            *body = Value::Object(Map::new());
        }
        let mut at = body;
        for (i, key) in request.iter().enumerate() {
            let Value::Object(map) = at else { return };
            if i + 1 == request.len() {
                map.insert(key.clone(), value);
                return;
            }
            at = map.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        }
    }

    /// The query parameter that carries the cursor (GET streams).
    pub fn query_name(&self) -> Option<String> {
        self.request_path().map(|r| r.join("."))
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
    for (strategy, start) in [("offset", 0), ("page", 1)] {
        if let Some(n) = r.node(strategy) {
            let context = format!("`paging.{strategy}`");
            let c = MapReader::new(n, &context, COUNTER_KEYS, diags)?;
            let request = c.str("request", diags);
            if !c.has("request") {
                diags.push(c.missing("request").help(format!("e.g. `{strategy}: {{ request: {strategy} }}`")));
            }
            let start = match c.node("start") {
                Some(n) => match n.value {
                    crate::yaml::NodeValue::Int(v) if v >= 0 => v as u64,
                    _ => {
                        diags.push(
                            Diagnostic::new(ErrorKind::InvalidValue {
                                key: "start".into(),
                                reason: "not a whole number of 0 or more".into(),
                            })
                            .at(n.span.clone())
                            .help(format!("e.g. `start: {start}`")),
                        );
                        start
                    }
                },
                None => start,
            };
            let request = dotted(&request?.0);
            return Some(if strategy == "offset" {
                PagingSpec::Offset { request, start }
            } else {
                PagingSpec::Page { request, start }
            });
        }
    }
    if let Some(n) = r.node("link_header") {
        let rel = match &n.value {
            crate::yaml::NodeValue::Null => None,
            _ => MapReader::new(n, "`paging.link_header`", LINK_KEYS, diags)?.str("rel", diags).map(|(r, _)| r),
        };
        return Some(PagingSpec::LinkHeader { rel: rel.unwrap_or_else(|| "next".into()) });
    }
    if !r.had_unknown_keys() {
        diags.push(r.missing("cursor"));
    }
    None
}

/// The target of the first link of relation `rel` in `Link` header values (RFC 8288:
/// `<uri>; rel="next", <uri>; rel="prev last"`), as written (it may be relative).
pub fn link_target(header: &str, rel: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        // The link's parameters run up to the next link's `<` (a `<` cannot stand in them
        // unquoted; quoted ones are split at it too, which at worst misses that link).
        let end = after.find('<').unwrap_or(after.len());
        let params = after[..end].trim_end().trim_end_matches(',');
        let rels = params.split(';').filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim().eq_ignore_ascii_case("rel").then(|| value.trim().trim_matches('"').to_string())
        });
        if rels.into_iter().any(|v| v.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case(rel))) {
            return Some(target.trim().to_string());
        }
        rest = &after[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursor_in_and_out() {
        let p = PagingSpec::Cursor { request: dotted("cursor"), response: dotted("paging.nextCursor") };
        assert_eq!(p.response_path(), Some(&dotted("paging.nextCursor")[..]));
        assert_eq!(p.first(), None);
        assert_eq!(p.count_on(Some("abc"), 10), None);
        let mut body = json!({"limit": 100});
        p.apply_to_body(&mut body, "abc");
        assert_eq!(body, json!({"limit": 100, "cursor": "abc"}));
        // A cursor that looks like a number stays a string.
        p.apply_to_body(&mut body, "17");
        assert_eq!(body, json!({"limit": 100, "cursor": "17"}));
        let nested = PagingSpec::Cursor { request: dotted("page.after"), response: dotted("next") };
        let mut body = Value::Null;
        nested.apply_to_body(&mut body, "x");
        assert_eq!(body, json!({"page": {"after": "x"}}));
        assert_eq!(PagingSpec::Single.response_path(), None);
        assert_eq!(PagingSpec::Single.query_name(), None);
    }

    #[test]
    fn counters_count_records_or_pages_and_end_on_an_empty_page() {
        let offset = PagingSpec::Offset { request: dotted("offset"), start: 0 };
        assert_eq!(offset.first().as_deref(), Some("0"));
        assert_eq!(offset.count_on(None, 100).as_deref(), Some("100"));
        assert_eq!(offset.count_on(Some("100"), 37).as_deref(), Some("137"));
        // A short page is not the end (the server may cap the page size): an empty one is.
        assert_eq!(offset.count_on(Some("137"), 0), None);
        assert_eq!(offset.response_path(), None);
        let page = PagingSpec::Page { request: dotted("paging.page"), start: 1 };
        assert_eq!(page.first().as_deref(), Some("1"));
        assert_eq!(page.count_on(Some("1"), 3).as_deref(), Some("2"));
        assert_eq!(page.count_on(Some("2"), 0), None);
        let mut body = json!({"size": 50});
        page.apply_to_body(&mut body, "2");
        assert_eq!(body, json!({"size": 50, "paging": {"page": 2}}));
        assert_eq!(page.query_name().as_deref(), Some("paging.page"));
    }

    fn decoded(yaml: &str) -> (Option<PagingSpec>, Vec<String>) {
        let file = crate::diagnostic::SourceFile::new("s.yaml", yaml);
        let node = crate::yaml::parse(&file).unwrap();
        let mut diags = Diagnostics::default();
        let p = decode(&node, &mut diags);
        (p, diags.0.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn decodes_every_strategy_and_says_what_is_wrong() {
        assert_eq!(
            decoded("offset: { request: skip }").0,
            Some(PagingSpec::Offset { request: dotted("skip"), start: 0 })
        );
        assert_eq!(
            decoded("page: { request: p, start: 0 }").0,
            Some(PagingSpec::Page { request: dotted("p"), start: 0 })
        );
        assert_eq!(decoded("page: { request: p }").0, Some(PagingSpec::Page { request: dotted("p"), start: 1 }));
        let (p, errors) = decoded("page: { request: p, start: -1 }");
        assert_eq!(p, Some(PagingSpec::Page { request: dotted("p"), start: 1 }));
        assert!(errors.iter().any(|e| e.contains("start")), "{errors:?}");
        let (p, errors) = decoded("offset: {}");
        assert_eq!(p, None);
        assert!(errors.iter().any(|e| e.contains("request")), "{errors:?}");
    }

    #[test]
    fn link_headers_give_the_target_of_their_relation() {
        let h = r#"<https://api.test/v1/logs?after=abc&limit=2>; rel="next", <https://api.test/v1/logs?before=x>; rel="prev""#;
        assert_eq!(link_target(h, "next").as_deref(), Some("https://api.test/v1/logs?after=abc&limit=2"));
        assert_eq!(link_target(h, "prev").as_deref(), Some("https://api.test/v1/logs?before=x"));
        let first = r#"</a?p=2>; rel="next" , </a?p=1>; rel=first"#;
        assert_eq!(link_target(first, "next").as_deref(), Some("/a?p=2"));
        assert_eq!(link_target(first, "first").as_deref(), Some("/a?p=1"));
        assert_eq!(link_target(h, "last"), None);
        // Several relations in one, unquoted, other parameters, a relative target.
        assert_eq!(link_target("</p?page=3>; title=\"x\"; rel=\"last next\"", "next").as_deref(), Some("/p?page=3"));
        assert_eq!(link_target("</p?page=3>;rel=NEXT", "next").as_deref(), Some("/p?page=3"));
        assert_eq!(link_target("", "next"), None);
        assert_eq!(link_target("<unclosed; rel=next", "next"), None);
        assert_eq!(decoded("link_header: {}").0, Some(PagingSpec::LinkHeader { rel: "next".into() }));
        assert_eq!(decoded("link_header:").0, Some(PagingSpec::LinkHeader { rel: "next".into() }));
        assert_eq!(decoded("link_header: { rel: older }").0, Some(PagingSpec::LinkHeader { rel: "older".into() }));
    }
}
