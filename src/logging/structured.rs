//! Lines written outside `tracing` that must still follow `--log-format`: configuration errors,
//! a command's final error line and the end-of-run summary. With `--log-format json` each is
//! one JSON object on standard error, shaped like the log lines (`timestamp`, `level`,
//! `target`, `message`, then fields), so that a log pipeline reads a whole run.

use crate::diagnostic::Diagnostic;
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static JSON: AtomicBool = AtomicBool::new(false);

/// Set once by [`super::init`].
pub(super) fn set_json(on: bool) {
    JSON.store(on, Relaxed);
}

/// Whether lines are written as JSON (`--log-format json`).
pub fn json() -> bool {
    JSON.load(Relaxed)
}

/// One JSON line: `timestamp`, `level`, `target`, `message`, then `fields`.
pub fn object(level: &str, target: &str, message: &str, fields: Map<String, Value>) -> Value {
    let mut line = Map::new();
    line.insert("timestamp".into(), json!(crate::source::timefmt::iso_millis(crate::source::timefmt::now_ms())));
    line.insert("level".into(), json!(level));
    line.insert("target".into(), json!(target));
    line.insert("message".into(), json!(message));
    line.extend(fields);
    Value::Object(line)
}

/// Writes `value` as one line on standard error.
pub fn emit(value: &Value) {
    crate::logging::console::err(format_args!("{value}\n"));
}

/// A diagnostic as JSON fields: `code`, `file`, `line`, `column`, `help`, `notes`.
pub fn diagnostic_fields(d: &Diagnostic) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("code".into(), json!(d.code()));
    if let Some(s) = &d.span {
        f.insert("file".into(), json!(s.file.path.display().to_string()));
        f.insert("line".into(), json!(s.line));
        f.insert("column".into(), json!(s.column));
    }
    if let Some(h) = &d.help {
        f.insert("help".into(), json!(h));
    }
    if !d.notes.is_empty() {
        let notes: Vec<Value> = d.notes.iter().map(|(s, text)| json!({ "at": s.location(), "note": text })).collect();
        f.insert("notes".into(), Value::Array(notes));
    }
    f
}

/// Every diagnostic as an `ERROR` line, then one that counts them (`3 errors found`).
pub fn diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        emit(&object("ERROR", "engine::config", &d.kind.to_string(), diagnostic_fields(d)));
    }
    let n = diags.len();
    let mut count = Map::new();
    count.insert("errors".into(), json!(n));
    emit(&object("ERROR", "engine::config", &format!("{n} error{} found", if n == 1 { "" } else { "s" }), count));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{ErrorKind, SourceFile, Span};

    #[test]
    fn a_diagnostic_keeps_its_code_place_and_help() {
        let file = SourceFile::new("sources/x.yaml", "a: 1\nhostname:\n");
        let d = Diagnostic::new(ErrorKind::NotRunnable { reason: "no".into() })
            .at(Span::new(&file, 2, 1, 8))
            .help("pass --set hostname=…");
        let line = object("ERROR", "engine::config", &d.kind.to_string(), diagnostic_fields(&d));
        assert_eq!(line["code"], d.code());
        assert_eq!(
            (line["file"].as_str(), line["line"].as_u64(), line["column"].as_u64()),
            (Some("sources/x.yaml"), Some(2), Some(1))
        );
        assert_eq!(line["help"], "pass --set hostname=…");
        assert_eq!(line["level"], "ERROR");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
