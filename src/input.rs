//! Reading raw records for `engine map`: NDJSON (streamed line by line), a JSON array, one
//! JSON object, or an API page `{paging, results}` (alone or one per NDJSON line); from files
//! in order, or standard input.

use serde_json::Value;
use std::io::BufRead;

/// One input record, or a line that was not JSON (kept as text for the dead letter).
#[derive(Debug)]
pub enum Input {
    Record(Value),
    NotJson { line: usize, text: String, error: String },
}

/// Records of one input, streamed: NDJSON is read a line at a time, so memory stays bounded
/// by a line whatever the size of the file. A document that is not NDJSON (a pretty-printed
/// object, a JSON array) is read whole.
pub struct Records<R: BufRead> {
    reader: R,
    line: usize,
    pending: std::vec::IntoIter<Input>,
    started: bool,
    whole: bool,
}

impl<R: BufRead> Records<R> {
    pub fn new(reader: R) -> Self {
        Self { reader, line: 0, pending: Vec::new().into_iter(), started: false, whole: false }
    }

    fn read_line(&mut self) -> Option<String> {
        let mut buf = String::new();
        match self.reader.read_line(&mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                self.line += 1;
                Some(buf)
            }
        }
    }

    /// Decides between NDJSON and a whole document from the first non-empty line.
    fn start(&mut self) {
        self.started = true;
        let mut first = String::new();
        while let Some(line) = self.read_line() {
            if !line.trim().is_empty() {
                first = line;
                break;
            }
        }
        if first.trim().is_empty() {
            return;
        }
        let is_array = first.trim_start().starts_with('[');
        if !is_array && let Ok(v) = serde_json::from_str::<Value>(&first) {
            self.pending = expand(v).into_iter();
            return;
        }
        // Not one JSON value per line: the whole input is one document.
        self.whole = true;
        let mut rest = first;
        let _ = self.reader.read_to_string(&mut rest);
        self.pending = match serde_json::from_str::<Value>(&rest) {
            Ok(v) => expand(v).into_iter(),
            Err(e) => vec![Input::NotJson { line: e.line(), text: truncate(&rest), error: e.to_string() }].into_iter(),
        };
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        if !self.started {
            self.start();
        }
        loop {
            if let Some(item) = self.pending.next() {
                return Some(item);
            }
            if self.whole {
                return None;
            }
            let line = self.read_line()?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => self.pending = expand(v).into_iter(),
                Err(e) => {
                    return Some(Input::NotJson {
                        line: self.line,
                        text: line.trim_end().to_string(),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
}

/// A JSON array or an API page becomes its records; anything else is one record.
fn expand(v: Value) -> Vec<Input> {
    match v {
        Value::Array(items) => items.into_iter().map(Input::Record).collect(),
        Value::Object(mut map) if map.get("results").is_some_and(Value::is_array) => match map.remove("results") {
            Some(Value::Array(items)) => items.into_iter().map(Input::Record).collect(),
            _ => Vec::new(),
        },
        other => vec![Input::Record(other)],
    }
}

/// The start of an unreadable document, for the dead letter.
fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<String> {
        Records::new(text.as_bytes())
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
        assert_eq!(values("[\n  {\"a\": 1}\n]\n"), ["{\"a\":1}"]);
        assert_eq!(values("{\n \"a\": 1\n}"), ["{\"a\":1}"]);
        assert_eq!(values("{\"paging\":{\"limit\":2},\"results\":[{\"a\":1}]}"), ["{\"a\":1}"]);
        assert_eq!(
            values("{\"results\":[{\"a\":1}]}\n{\"results\":[{\"a\":2},{\"a\":3}]}"),
            ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]
        );
        assert_eq!(values("{\"a\":1}\nnot json\n\n{\"a\":2}"), ["{\"a\":1}", "bad line 2", "{\"a\":2}"]);
        assert!(values("  \n").is_empty());
    }

    #[test]
    fn nesting_deeper_than_the_parser_allows_is_a_bad_line_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let out = values(&format!("{{\"a\":1}}\n{deep}\n{{\"a\":2}}\n"));
        assert_eq!(out, ["{\"a\":1}", "bad line 2", "{\"a\":2}"]);
    }

    #[test]
    fn a_broken_document_is_one_bad_input() {
        assert_eq!(values("{\n \"a\": \n"), ["bad line 3"]);
    }
}
