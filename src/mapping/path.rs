//! Paths into source records: plain dotted paths, looked up key by key, and JSONPath
//! (RFC 9535) for the rare rules that need filters or wildcards, compiled once at load.

use crate::json::access::Json;
use crate::json::key::Key;
use jsonpath_rust::parser::model::JpQuery;
use serde_json::Value;
use std::borrow::Cow;

/// Concrete locations of the record that rules turned into OCSF (for `unmapped`).
pub type Consumed<'m> = Vec<Cow<'m, [Seg]>>;

/// One step of a concrete location in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(Key),
    Index(usize),
}

/// A compiled path into a source record.
#[derive(Debug, Clone)]
pub enum SourcePath {
    /// `a.b.c`: each segment a key, or an index when the value there is a list.
    Dotted(Vec<Seg>),
    /// `$…`: a JSONPath query; every match is a value.
    Json(Box<JpQuery>),
}

impl SourcePath {
    /// Compiles `text`: JSONPath when it starts with `$`, a dotted path otherwise.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with('$') {
            let query =
                jsonpath_rust::parser::parse_json_path(text).map_err(|e| describe_parse_error(&e.to_string()))?;
            return Ok(SourcePath::Json(Box::new(query)));
        }
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        for part in text.split('.') {
            if part.is_empty() {
                return Err("empty segment (two dots, or a dot at an end)".into());
            }
            if part.contains(['[', ']', '*', '?', ' ']) {
                return Err(format!(
                    "`{part}` is not a plain key: write a JSONPath starting with `$` for indexes, wildcards or filters"
                ));
            }
        }
        Ok(SourcePath::Dotted(dotted_segs(text)))
    }

    /// The path as a mapping writes it (`a.b`), or `$…` for a JSONPath.
    pub fn describe(&self) -> String {
        match self {
            SourcePath::Dotted(segs) => segs
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => k.to_string(),
                    Seg::Index(i) => i.to_string(),
                })
                .collect::<Vec<_>>()
                .join("."),
            SourcePath::Json(_) => "$…".to_string(),
        }
    }

    /// Looks the path up. A JSONPath gives its single match as is, several matches as a list.
    /// Missing, `null` and empty-string values count as absent. `consumed` receives the concrete
    /// locations of the values returned.
    pub fn get<'m>(&'m self, record: &Value, consumed: &mut Consumed<'m>) -> Option<Value> {
        match self {
            SourcePath::Dotted(segs) => {
                let v = lookup(record, segs).filter(|v| is_present(*v))?;
                consumed.push(Cow::Borrowed(segs));
                Some(v.clone())
            }
            SourcePath::Json(query) => {
                let found = jsonpath_rust::query::js_path_process(query, record).ok()?;
                let mut values = Vec::new();
                for hit in found {
                    if is_present(hit.val) {
                        values.push(hit.val.clone());
                        if let Some(segs) = parse_normalized(&hit.path) {
                            consumed.push(Cow::Owned(segs));
                        }
                    }
                }
                match values.len() {
                    0 => None,
                    1 => values.pop(),
                    _ => Some(Value::Array(values)),
                }
            }
        }
    }
}

/// Splits a plain dotted path into segments (numeric parts become indexes).
pub fn dotted_segs(path: &str) -> Vec<Seg> {
    path.split('.')
        .map(|part| match part.parse::<usize>() {
            Ok(i) => Seg::Index(i),
            Err(_) => Seg::Key(part.into()),
        })
        .collect()
}

/// Follows `segs` from `value`. A numeric segment indexes a list, or names a key of an object.
pub fn lookup<'v, J: Json<'v>>(mut value: J, segs: &[Seg]) -> Option<J> {
    for seg in segs {
        value = match seg {
            Seg::Key(k) => value.get_key(k)?,
            Seg::Index(i) if value.is_array() => value.index(*i)?,
            Seg::Index(i) => value.get(&i.to_string())?,
        };
    }
    Some(value)
}

/// Values that carry information: not `null`, not an empty string.
pub fn is_present<'v, J: Json<'v>>(v: J) -> bool {
    !(v.is_null() || v.as_str() == Some(""))
}

/// Parses an RFC 9535 normalized path such as `$['a'][0]['b']`.
pub fn parse_normalized(path: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    let mut chars = path.strip_prefix('$')?.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '[' {
            return None;
        }
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut key = String::new();
            loop {
                match chars.next()? {
                    '\'' => break,
                    '\\' => match chars.next()? {
                        'b' => key.push('\u{8}'),
                        'f' => key.push('\u{c}'),
                        'n' => key.push('\n'),
                        'r' => key.push('\r'),
                        't' => key.push('\t'),
                        'u' => {
                            let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                            key.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        other => key.push(other),
                    },
                    other => key.push(other),
                }
            }
            segs.push(Seg::Key(key.into()));
            if chars.next()? != ']' {
                return None;
            }
        } else {
            let digits: String = std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
            segs.push(Seg::Index(digits.parse().ok()?));
            if chars.next()? != ']' {
                return None;
            }
        }
    }
    Some(segs)
}

/// Condenses a JSONPath parser message (`… --> 1:16 … = expected comparable`) to one line.
fn describe_parse_error(s: &str) -> String {
    let column =
        s.split("-->").nth(1).and_then(|rest| rest.split_whitespace().next()).and_then(|pos| pos.split(':').nth(1));
    let expected = s.lines().rev().find_map(|l| l.trim().strip_prefix("= ").map(str::to_string));
    match (column, expected) {
        (Some(col), Some(exp)) => format!("{exp} at character {col}"),
        _ => s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, record: &Value) -> (Option<Value>, Vec<Vec<Seg>>) {
        let path = SourcePath::parse(path).unwrap();
        let mut consumed = Vec::new();
        let v = path.get(record, &mut consumed);
        (v, consumed.into_iter().map(|c| c.into_owned()).collect())
    }

    #[test]
    fn dotted_paths_follow_keys_and_indexes() {
        let rec = json!({"a": {"b": [{"c": 1}, {"c": 2}]}});
        assert_eq!(get("a.b.1.c", &rec).0, Some(json!(2)));
        assert_eq!(get("a.x", &rec).0, None);
    }

    #[test]
    fn null_and_empty_strings_are_absent() {
        let rec = json!({"a": null, "b": "", "c": "x"});
        assert_eq!(get("a", &rec), (None, vec![]));
        assert_eq!(get("b", &rec), (None, vec![]));
        assert_eq!(get("c", &rec), (Some(json!("x")), vec![vec![Seg::Key("c".into())]]));
    }

    #[test]
    fn jsonpath_filters_report_what_they_consumed() {
        let rec = json!({"attrs": [{"name": "mobile", "value": "1"}, {"name": "email", "value": "e"}]});
        let (v, consumed) = get("$.attrs[?@.name == 'email'].value", &rec);
        assert_eq!(v, Some(json!("e")));
        assert_eq!(consumed, vec![vec![Seg::Key("attrs".into()), Seg::Index(1), Seg::Key("value".into())]]);
        assert_eq!(get("$.attrs[*].name", &rec).0, Some(json!(["mobile", "email"])));
    }

    #[test]
    fn bad_paths_are_rejected() {
        assert!(SourcePath::parse("a..b").is_err());
        assert!(SourcePath::parse("a[0]").unwrap_err().contains("JSONPath"));
        assert_eq!(SourcePath::parse("$.a[?@.x ==]").unwrap_err(), "expected comparable at character 12");
        assert!(SourcePath::parse("").is_err());
    }

    #[test]
    fn normalized_paths_parse_with_escapes() {
        assert_eq!(parse_normalized("$['a\\'b'][3]"), Some(vec![Seg::Key("a'b".into()), Seg::Index(3)]));
        assert_eq!(parse_normalized("nope"), None);
    }
}
