//! The located YAML tree: [`Node`], [`Key`] and [`parse`].

use crate::diagnostic::{Diagnostic, ErrorKind, SourceFile, Span};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::sync::Arc;

/// A YAML value with the place it was written.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: NodeValue,
    pub span: Span,
}

/// A mapping key with the place it was written.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// A short description of the node's type, for "found ..." in error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts the node to plain JSON (locations dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
        }
    }

    /// Finds the first node (this one or a descendant) that is, or holds, a JSON `null`.
    pub fn find_null(&self) -> Option<&Node> {
        match &self.value {
            NodeValue::Null => Some(self),
            NodeValue::Seq(items) => items.iter().find_map(Node::find_null),
            NodeValue::Map(entries) => entries.iter().find_map(|(_, v)| v.find_null()),
            _ => None,
        }
    }
}

/// Parses a whole file into a located tree.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    let options = serde_saphyr::options! { strict_booleans: true };
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(&file.text, options) {
        Ok(root) => Ok(convert(file, root)),
        Err(err) => {
            let plain = err.without_snippet().to_string();
            let message = strip_location_prefix(&plain);
            let (message, help) = if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
                let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
                (format!("duplicate key `{key}`"), Some("a key may appear only once in a mapping".to_string()))
            } else if let Some(rest) = message.strip_prefix("budget breached: ") {
                let what = rest.split(" at line ").next().unwrap_or(rest);
                (
                    format!("the document is too large once its aliases are expanded ({what})"),
                    Some(
                        "aliases (`*name`) that repeat large parts of a file are limited; write the content out".into(),
                    ),
                )
            } else {
                (message.to_string(), None)
            };
            let span = err.location().map(|loc| span_of(file, &loc));
            let diag = Diagnostic::new(ErrorKind::YamlSyntax { message }).help_opt(help);
            Err(match span {
                Some(s) if s.line > 0 => diag.at(s),
                _ => diag,
            })
        }
    }
}

/// serde-saphyr's plain messages start with "line L column C: "; the location is shown
/// separately, so drop it.
fn strip_location_prefix(message: &str) -> &str {
    let first_line = message.lines().next().unwrap_or(message);
    if let Some(rest) = first_line.strip_prefix("line ")
        && let Some(pos) = rest.find(": ")
        && rest[..pos].contains(" column ")
    {
        return &rest[pos + 2..];
    }
    match first_line.rfind(" at line ") {
        Some(pos) if first_line[pos..].contains(", column ") => &first_line[..pos],
        _ => first_line,
    }
}

fn span_of(file: &Arc<SourceFile>, loc: &Location) -> Span {
    Span::new(file, loc.line() as u32, loc.column() as u32, loc.span().len() as u32)
}

fn convert(file: &Arc<SourceFile>, raw: Spanned<Raw>) -> Node {
    let span = span_of(file, &raw.referenced);
    let value = match raw.value {
        Raw::Null => NodeValue::Null,
        Raw::Bool(b) => NodeValue::Bool(b),
        Raw::Int(i) => NodeValue::Int(i),
        Raw::Float(f) => NodeValue::Float(f),
        Raw::Str(s) => NodeValue::Str(s),
        Raw::Seq(items) => NodeValue::Seq(items.into_iter().map(|n| convert(file, n)).collect()),
        Raw::Map(entries) => NodeValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key { name: k.value, span: span_of(file, &k.referenced) }, convert(file, v)))
                .collect(),
        ),
    };
    Node { value, span }
}

/// The shape serde-saphyr fills; converted to [`Node`] right after parsing.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Raw, E> {
                i64::try_from(v).map(Raw::Int).map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = a.next_entry()? {
                    entries.push(entry);
                }
                Ok(Raw::Map(entries))
            }
        }
        d.deserialize_any(RawVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, Diagnostic> {
        parse(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn keys_and_values_carry_locations() {
        let node = parse_str("class: Authentication\nfields:\n  time: { from: eventTime }\n").unwrap();
        let NodeValue::Map(entries) = &node.value else { panic!("not a map") };
        assert_eq!(entries[0].0.name, "class");
        assert_eq!((entries[0].1.span.line, entries[0].1.span.column, entries[0].1.span.len), (1, 8, 14));
        let NodeValue::Map(fields) = &entries[1].1.value else { panic!("fields not a map") };
        assert_eq!((fields[0].0.span.line, fields[0].0.span.column), (3, 3));
    }

    #[test]
    fn strict_booleans_keep_country_codes_as_strings() {
        let node = parse_str("a: NO\nb: yes\nc: true\n").unwrap();
        let json = node.to_json();
        assert_eq!(json, serde_json::json!({"a": "NO", "b": "yes", "c": true}));
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse_str("a: 1\nb: \"unterminated\nc: 3\n").unwrap_err();
        assert_eq!(err.code(), "E001");
        let span = err.span.expect("located");
        assert_eq!((span.line, span.column), (2, 4));
        assert!(!err.kind.to_string().contains("line 2"), "{}", err.kind);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_str("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.span.map(|s| s.line), Some(2));
        assert!(err.kind.to_string().contains("duplicate"), "{}", err.kind);
    }
}
