//! Reading raw records for `engine map`: NDJSON, a JSON array, one JSON object, or an API page
//! `{paging, results}`; files in order, or standard input.

use serde_json::Value;
use std::io::Read;

/// One input record, or a line that was not JSON (kept as text for the dead letter).
#[derive(Debug)]
pub enum Input {
    Record(Value),
    NotJson { line: usize, text: String, error: String },
}

/// Splits the text of one input into records.
pub fn records(text: &str) -> Vec<Input> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if let Ok(whole) = serde_json::from_str::<Value>(text) {
        return match whole {
            Value::Array(items) => items.into_iter().map(Input::Record).collect(),
            Value::Object(mut map) if map.get("results").is_some_and(Value::is_array) => match map.remove("results") {
                Some(Value::Array(items)) => items.into_iter().map(Input::Record).collect(),
                _ => Vec::new(),
            },
            other => vec![Input::Record(other)],
        };
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| match serde_json::from_str::<Value>(l) {
            Ok(v) => Input::Record(v),
            Err(e) => Input::NotJson { line: i + 1, text: l.to_string(), error: e.to_string() },
        })
        .collect()
}

/// Reads standard input whole.
pub fn read_stdin() -> std::io::Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<String> {
        records(text)
            .into_iter()
            .map(|r| match r {
                Input::Record(v) => v.to_string(),
                Input::NotJson { line, .. } => format!("bad line {line}"),
            })
            .collect()
    }

    #[test]
    fn every_input_shape() {
        assert_eq!(values("{\"a\":1}\n{\"a\":2}\n"), ["{\"a\":1}", "{\"a\":2}"]);
        assert_eq!(values("[{\"a\":1},{\"a\":2}]"), ["{\"a\":1}", "{\"a\":2}"]);
        assert_eq!(values("{\n \"a\": 1\n}"), ["{\"a\":1}"]);
        assert_eq!(values("{\"paging\":{\"limit\":2},\"results\":[{\"a\":1}]}"), ["{\"a\":1}"]);
        assert_eq!(values("{\"a\":1}\nnot json\n\n{\"a\":2}"), ["{\"a\":1}", "bad line 2", "{\"a\":2}"]);
        assert!(values("  \n").is_empty());
    }
}
