//! The pager: the request of one page of a window (body or query from the stream's
//! templates, the cursor put in by the paging strategy) and the records and next cursor of
//! a response.

use super::http::Reply;
use super::window::Window;
use crate::json::{Parsed, Records, envelope};
use crate::source::auth::lookup;
use crate::source::paging::{PagingSpec, cursor_of, link_target};
use crate::source::stream::StreamSpec;
use reqwest::Url;
use serde_json::Value;

/// One page of records, each parsed on its own.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Parsed>,
    pub next: Option<String>,
}

/// A page request: query parameters and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// The cursor the request carries (an offset or page number for counting strategies, the
    /// next page's URL for `link_header`).
    pub cursor: Option<String>,
    /// The path asked for instead of the stream's (a `Link` header's target, under the base).
    pub path: Option<String>,
}

/// The pager of one stream; it owns what it needs, so that read-ahead tasks can hold it.
pub struct Pager {
    stream: std::sync::Arc<StreamSpec>,
    params: minijinja::Value,
    /// The API's base URL: where `Link` targets are resolved and must lead.
    base: Option<Url>,
}

impl Pager {
    pub fn new(stream: &StreamSpec, params: minijinja::Value) -> Self {
        Pager { stream: std::sync::Arc::new(stream.clone()), params, base: None }
    }

    /// The pager of an API at `base`.
    pub fn at(mut self, base: &Url) -> Self {
        self.base = Some(base.clone());
        self
    }

    /// The request of a `Link` target: its path under the base and its query, refused when it
    /// leads off the API's origin or out of the base's path (credentials go nowhere else).
    fn link_request(&self, target: &str) -> Result<PageRequest, String> {
        let base = self.base.as_ref().ok_or("a `Link` header cannot be followed without the API's base URL")?;
        let url = base.join(target).map_err(|e| format!("the API's next link `{target}` is not a URL: {e}"))?;
        let same_origin =
            url.host_str() == base.host_str() && url.port_or_known_default() == base.port_or_known_default();
        let prefix = base.path().trim_end_matches('/');
        let path = url.path().strip_prefix(prefix).filter(|p| p.starts_with('/') || p.is_empty());
        let Some(path) = path.filter(|_| same_origin) else {
            return Err(format!(
                "the API's next link leads to {}{}, outside the API at {base}: it is not followed (the token would go with it)",
                url.origin().ascii_serialization(),
                url.path()
            ));
        };
        let query = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        Ok(PageRequest { query, body: None, cursor: Some(url.to_string()), path: Some(path.to_string()) })
    }

    pub fn request(&self, w: Window, cursor: Option<&str>) -> Result<PageRequest, String> {
        let s = &*self.stream;
        if let (PagingSpec::LinkHeader { .. }, Some(target)) = (&s.paging, cursor) {
            return self.link_request(target);
        }
        let ctx = minijinja::context! {
            params => self.params.clone(),
            window => minijinja::context! {
                start => bound(s.time_format.format(w.start_ms)),
                end => bound(s.time_format.format(w.end_ms)),
            },
            page_size => s.page_size,
            cursor => cursor,
        };
        let mut query = Vec::new();
        for (name, t) in &s.query {
            let v = t.render_string(&ctx).map_err(|e| format!("stream `{}` query `{name}`: {e}", s.name))?;
            query.push((name.clone(), v));
        }
        let mut body = match &s.body {
            Some(t) => Some(t.render(&ctx).map_err(|e| format!("stream `{}` body: {e}", s.name))?),
            None => None,
        };
        let cursor = cursor.map(str::to_string).or_else(|| s.paging.first());
        if let Some(c) = cursor.as_deref() {
            if s.method == "GET" {
                if let Some(name) = s.paging.query_name() {
                    query.retain(|(k, _)| k != &name);
                    query.push((name, c.to_string()));
                }
            } else {
                let b = body.get_or_insert(Value::Null);
                s.paging.apply_to_body(b, c);
            }
        }
        Ok(PageRequest { query, body, cursor, path: None })
    }

    /// Records and next cursor of a response body; an error (the page is fetched again) when
    /// the body is not JSON or its record list is not a list. Each record is parsed on its
    /// own: one the parser refuses is a [`Parsed::Poison`] among the others. A page without
    /// a record list is empty, with a warning, unless it is an error answer. `sent` is the
    /// cursor the request carried: counting strategies (`offset`, `page`) take the next one
    /// from it and the number of records.
    pub fn parse(&self, reply: &Reply, sent: Option<&str>) -> Result<Page, String> {
        let body = reply.body.as_slice();
        let path = &self.stream.records;
        let env = envelope::parse(body, path, self.stream.paging.response_path())
            .map_err(|e| format!("the body is not JSON ({e})"))?;
        let next = match &env.cursor {
            Some(Ok(v)) => match v {
                // No next page: a cursor that is null or empty.
                Value::Null => None,
                Value::String(s) if s.is_empty() => None,
                Value::String(_) | Value::Number(_) => cursor_of(v),
                // Records may follow that no request could ask for: not an end of paging.
                other => {
                    let kind = match other {
                        Value::Bool(_) => "a boolean",
                        Value::Array(_) => "a list",
                        _ => "an object",
                    };
                    return Err(format!(
                        "the next cursor is {kind}, not a string or a number: further pages cannot be asked for"
                    ));
                }
            },
            Some(Err(problem)) => return Err(format!("the next cursor cannot be read: {problem}")),
            None => None,
        };
        let at = path.join(".");
        let counted = |records: &[Parsed]| match &self.stream.paging {
            p if p.counts() => p.count_on(sent, records.len()),
            PagingSpec::LinkHeader { rel } => reply.link.as_deref().and_then(|h| link_target(h, rel)),
            _ => next.clone(),
        };
        match env.records {
            Records::List(records) => Ok(Page { next: counted(&records), records }),
            Records::NotAList(kind) => Err(format!("`{at}` in the response is {kind}, not a list")),
            Records::Missing if env.error_code.is_some() || env.error_message.is_some() => Err(format!(
                "the API answered an error: {}: {}",
                env.error_code.as_deref().unwrap_or("-"),
                env.error_message.as_deref().unwrap_or("-")
            )),
            Records::Missing => {
                tracing::warn!(
                    stream = self.stream.name.as_str(),
                    "the response has no record list at `{at}`: read as a page without records"
                );
                Ok(Page { next: counted(&[]), records: Vec::new() })
            }
        }
    }
}

fn bound(v: Value) -> minijinja::Value {
    match v {
        Value::String(s) => minijinja::Value::from(s),
        Value::Number(n) => minijinja::Value::from(n.as_i64().unwrap_or_default()),
        _ => minijinja::Value::from(()),
    }
}

/// The id of a record as a string (numbers are accepted).
pub fn record_id(record: &Value, path: &[String]) -> Option<String> {
    match lookup(record, path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::diagnostic::Diagnostics;
    use serde_json::json;

    fn reply(body: &[u8]) -> Reply {
        Reply { body: body.to_vec(), link: None }
    }

    fn stream(yaml: &str) -> StreamSpec {
        let file = crate::diagnostic::SourceFile::new("s.yaml", yaml);
        let node = crate::yaml::parse(&file).unwrap();
        let mut diags = Diagnostics::default();
        let span = node.span.clone();
        let s = crate::source::stream::decode("audit", span, &node, &mut diags);
        assert!(diags.is_empty(), "{:?}", diags.0);
        s.unwrap()
    }

    const SIEM: &str = r#"
path: /siem
body:
  limit: "{{ page_size }}"
  searchByAttributes:
    - { name: startTime, operator: GREATER_THAN_OR_EQUAL, value: "{{ window.start }}" }
    - { name: endTime, operator: LESS_THAN_OR_EQUAL, value: "{{ window.end }}" }
paging: { cursor: { request: cursor, response: paging.nextCursor } }
records: results
record_id: id
event_time: eventTime
page_size: 50
"#;

    #[test]
    fn builds_window_and_cursor_requests() {
        let s = stream(SIEM);
        let p = Pager::new(&s, minijinja::Value::from(()));
        let w = Window { start_ms: 1_764_547_200_000, end_ms: 1_764_550_800_000 };
        let first = p.request(w, None).unwrap();
        assert_eq!(
            first.body.unwrap(),
            json!({"limit": 50, "searchByAttributes": [
                {"name": "startTime", "operator": "GREATER_THAN_OR_EQUAL", "value": "2025-12-01T00:00:00Z"},
                {"name": "endTime", "operator": "LESS_THAN_OR_EQUAL", "value": "2025-12-01T01:00:00Z"}]})
        );
        let next = p.request(w, Some("c1")).unwrap();
        assert_eq!(next.body.unwrap()["cursor"], json!("c1"));
    }

    #[test]
    fn parses_pages_and_refuses_shapeless_ones() {
        let s = stream(SIEM);
        let p = Pager::new(&s, minijinja::Value::from(()));
        let parse = |v: serde_json::Value| p.parse(&reply(v.to_string().as_bytes()), None);
        let page = parse(json!({"paging": {"nextCursor": "n"}, "results": [{"id": "a"}, {"id": 7}]})).unwrap();
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.next.as_deref(), Some("n"));
        let Parsed::Record(seven) = &page.records[1] else { panic!("{:?}", page.records[1]) };
        assert_eq!(record_id(seven, &["id".to_string()]).as_deref(), Some("7"));
        let last = parse(json!({"paging": {"nextCursor": null}, "results": []})).unwrap();
        assert!(last.records.is_empty() && last.next.is_none());
        assert!(parse(json!({"results": {"a": 1}})).unwrap_err().contains("is an object, not a list"));
        assert!(parse(json!([1])).is_err());
        assert!(p.parse(&reply(b"{\"results\": ["), None).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn a_page_without_a_record_list_is_empty_unless_it_is_an_error() {
        let s = stream(SIEM);
        let p = Pager::new(&s, minijinja::Value::from(()));
        let page = p.parse(&reply(br#"{"paging": {"limit": 50, "nextCursor": null}}"#), None).unwrap();
        assert!(page.records.is_empty() && page.next.is_none());
        assert!(p.parse(&reply(br#"{"results": null, "paging": {"nextCursor": "c"}}"#), None).unwrap().next.is_some());
        let e = p.parse(&reply(br#"{"errorCode": "internal_error", "errorMessage": "try later"}"#), None).unwrap_err();
        assert_eq!(e, "the API answered an error: internal_error: try later");
    }

    #[test]
    fn a_poison_record_is_set_aside_and_the_others_parsed() {
        let s = stream(SIEM);
        let p = Pager::new(&s, minijinja::Value::from(()));
        let page = p
            .parse(&reply(b"{\"results\": [{\"id\": \"a\"}, {\"id\": \"b\", \"s\": \"\xff\"}, {\"id\": \"c\"}]}"), None)
            .unwrap();
        let kinds: Vec<bool> = page.records.iter().map(|r| matches!(r, Parsed::Poison(_))).collect();
        assert_eq!(kinds, [false, true, false]);
    }

    const LINKED: &str = r#"
method: GET
path: /v1/logs
query: { since: "{{ window.start }}", limit: "{{ page_size }}" }
paging: { link_header: {} }
records: data
record_id: id
event_time: at
"#;

    #[test]
    fn link_targets_are_followed_on_the_apis_origin_and_under_its_path_only() {
        let s = stream(LINKED);
        let base = Url::parse("https://api.test/tenant-1").unwrap();
        let p = Pager::new(&s, minijinja::Value::from(())).at(&base);
        let w = Window { start_ms: 0, end_ms: 1000 };
        let linked = |link: &str| Reply { body: br#"{"data": [{"id": "a"}]}"#.to_vec(), link: Some(link.into()) };
        let page = p.parse(&linked(r#"</tenant-1/v1/logs?after=x>; rel="next""#), None).unwrap();
        assert_eq!(page.next.as_deref(), Some("/tenant-1/v1/logs?after=x"));
        let req = p.request(w, page.next.as_deref()).unwrap();
        assert_eq!(req.path.as_deref(), Some("/v1/logs"));
        assert_eq!(req.query, vec![("after".to_string(), "x".to_string())]);
        assert_eq!(req.body, None);
        // Without a link of relation `next`, the window ends.
        assert_eq!(p.parse(&linked(r#"</tenant-1/v1/logs?p=1>; rel="first""#), None).unwrap().next, None);
        assert_eq!(p.parse(&reply(br#"{"data": []}"#), None).unwrap().next, None);
        for elsewhere in [
            "https://evil.test/tenant-1/v1/logs",
            "http://api.test:8080/tenant-1/v1/logs",
            "/tenant-2/v1/logs",
            "/tenant-10/x",
        ] {
            let e = p.request(w, Some(elsewhere)).unwrap_err();
            assert!(e.contains("is not followed"), "{elsewhere}: {e}");
        }
        // The first page is the stream's own query.
        assert_eq!(p.request(w, None).unwrap().path, None);
    }
}
