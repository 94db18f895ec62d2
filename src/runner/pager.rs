//! The pager: the request of one page of a window (body or query from the stream's
//! templates, the cursor put in by the paging strategy) and the records and next cursor of
//! a response.

use super::window::Window;
use crate::source::auth::lookup;
use crate::source::stream::StreamSpec;
use serde_json::Value;

/// One page of records.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Value>,
    pub next: Option<String>,
}

/// A page request: query parameters and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

pub struct Pager<'a> {
    stream: &'a StreamSpec,
    params: minijinja::Value,
}

impl<'a> Pager<'a> {
    pub fn new(stream: &'a StreamSpec, params: minijinja::Value) -> Self {
        Pager { stream, params }
    }

    pub fn request(&self, w: Window, cursor: Option<&str>) -> Result<PageRequest, String> {
        let s = self.stream;
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
        if let Some(c) = cursor {
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
        Ok(PageRequest { query, body })
    }

    /// Records and next cursor of a response; an error when the response has no record list.
    pub fn parse(&self, response: Value) -> Result<Page, String> {
        let next = self.stream.paging.next_cursor(&response);
        let mut response = response;
        let records = take(&mut response, &self.stream.records);
        match records {
            Some(Value::Array(records)) => Ok(Page { records, next }),
            Some(Value::Null) | None => {
                Err(format!("the response has no record list at `{}`", self.stream.records.join(".")))
            }
            Some(_) => Err(format!("`{}` in the response is not a list", self.stream.records.join("."))),
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

fn take(value: &mut Value, path: &[String]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut at = value;
    for key in parents {
        at = at.get_mut(key)?;
    }
    at.as_object_mut()?.remove(last)
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
        let page = p.parse(json!({"paging": {"nextCursor": "n"}, "results": [{"id": "a"}, {"id": 7}]})).unwrap();
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.next.as_deref(), Some("n"));
        assert_eq!(record_id(&page.records[1], &["id".to_string()]).as_deref(), Some("7"));
        let last = p.parse(json!({"paging": {"nextCursor": null}, "results": []})).unwrap();
        assert!(last.records.is_empty() && last.next.is_none());
        assert!(p.parse(json!({"paging": {}})).is_err());
        assert!(p.parse(json!({"results": {"a": 1}})).is_err());
        assert!(p.parse(json!([1])).is_err());
    }
}
