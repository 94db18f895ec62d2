//! Snapshot files in the format insta reads and writes (`.snap`): a YAML header between `---`
//! lines (`source`, `input_file`), then the value as insta's pretty JSON, so that `cargo insta`
//! and `engine test` read each other's files and an unchanged event rewrites nothing.

use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

/// A snapshot file as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// The header lines between the two `---` lines, as written.
    pub header: Vec<String>,
    /// The snapshot body, normalised as insta compares it (trailing whitespace trimmed, `\r\n`
    /// as `\n`).
    pub contents: String,
}

impl SnapFile {
    /// Reads a `.snap` file; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> std::io::Result<Option<SnapFile>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(SnapFile::parse(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Splits a snapshot's text into header and contents. A file without a header is all
    /// contents (insta's legacy format had one; nothing here writes it).
    pub fn parse(text: &str) -> SnapFile {
        let mut lines = text.split_inclusive('\n');
        let mut header = Vec::new();
        let mut rest_at = 0;
        if lines.next().is_some_and(|first| first.trim_end() == "---") {
            let mut offset = text.find('\n').map_or(text.len(), |i| i + 1);
            for line in lines {
                offset += line.len();
                if line.trim_end() == "---" {
                    rest_at = offset;
                    break;
                }
                header.push(line.trim_end().to_string());
            }
        }
        SnapFile { header, contents: normalise(&text[rest_at.min(text.len())..]) }
    }

    /// The value of a header key (`input_file`), unquoted.
    pub fn header_value(&self, key: &str) -> Option<String> {
        self.header.iter().find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(|v| unquote(v.trim())))
    }
}

/// The text of a new `.snap` file: `header` keys in order, then `contents`.
pub fn render(header: &[(&str, &str)], contents: &str) -> String {
    let mut out = String::from("---\n");
    for (key, value) in header {
        let _ = writeln!(out, "{key}: {}", yaml_scalar(value));
    }
    out.push_str("---\n");
    out.push_str(contents.trim_end());
    out.push('\n');
    out
}

/// The same header with `key` set to `value` (kept in place, or added last).
pub fn with_header(header: &[String], key: &str, value: &str) -> Vec<String> {
    let line = format!("{key}: {}", yaml_scalar(value));
    let mut out: Vec<String> = header.to_vec();
    match out.iter_mut().find(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':'))) {
        Some(existing) => *existing = line,
        None => out.push(line),
    }
    out
}

/// A whole `.snap` file from header lines as read and new contents.
pub fn render_lines(header: &[String], contents: &str) -> String {
    let mut out = String::from("---\n");
    for line in header {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("---\n");
    out.push_str(contents.trim_end());
    out.push('\n');
    out
}

/// How insta compares snapshot bodies: trailing whitespace does not count, nor `\r\n`.
pub fn normalise(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n")
}

/// A JSON value as insta's `assert_json_snapshot!` writes it: two-space indentation, `"key": `,
/// empty containers as `[]` and `{}`, only control characters, `"` and `\` escaped, and floats
/// always with a decimal point.
pub fn to_insta_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => {
                let _ = write!(out, "{u}");
            }
            (None, Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, None, Some(f)) if f.is_finite() => {
                let start = out.len();
                let _ = write!(out, "{f}");
                if !out[start..].contains('.') {
                    out.push_str(".0");
                }
            }
            _ => out.push_str("null"),
        },
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            if !items.is_empty() {
                out.push('\n');
                indent(out, depth);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_str(out, key);
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            if !map.is_empty() {
                out.push('\n');
                indent(out, depth);
            }
            out.push('}');
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A header value as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted.
fn yaml_scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "_./-+@".contains(c))
        && !value.starts_with(['-', '.', '@'])
        && value.parse::<f64>().is_err()
        && !matches!(value, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~");
    if plain { value.to_string() } else { serde_json::to_string(value).unwrap_or_default() }
}

fn unquote(v: &str) -> String {
    if v.starts_with('"') {
        serde_json::from_str(v).unwrap_or_else(|_| v.to_string())
    } else {
        v.trim_matches('\'').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_written_as_insta_writes_it() {
        let v = json!({"a": [], "b": {}, "c": [1, -2, 1.5, 2.0], "d": "q\"\\\n\u{1}é", "e": {"f": true, "g": null}});
        let expected = "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    -2,\n    1.5,\n    2.0\n  ],\n  \"d\": \"q\\\"\\\\\\n\\u0001é\",\n  \"e\": {\n    \"f\": true,\n    \"g\": null\n  }\n}";
        assert_eq!(to_insta_json(&v), expected);
    }

    #[test]
    fn a_rendered_file_parses_back_to_its_header_and_contents() {
        let text = render(&[("source", "sources/acme.yaml"), ("input_file", "tests/fixtures/a b/c.json")], "{}\n\n");
        assert_eq!(text, "---\nsource: sources/acme.yaml\ninput_file: \"tests/fixtures/a b/c.json\"\n---\n{}\n");
        let parsed = SnapFile::parse(&text);
        assert_eq!(parsed.contents, "{}");
        assert_eq!(parsed.header_value("input_file").as_deref(), Some("tests/fixtures/a b/c.json"));
        assert_eq!(render_lines(&parsed.header, &parsed.contents), text);
        let moved = with_header(&parsed.header, "input_file", "x.json");
        assert_eq!(moved, vec!["source: sources/acme.yaml".to_string(), "input_file: x.json".to_string()]);
    }

    #[test]
    fn bodies_compare_as_insta_compares_them() {
        assert_eq!(SnapFile::parse("---\nsource: x\n---\n{\r\n}\n\n").contents, "{\n}");
        assert_eq!(SnapFile::parse("no header\n").contents, "no header");
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("12"), "\"12\"");
    }
}
