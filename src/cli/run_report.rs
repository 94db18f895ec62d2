//! What `engine run` says when it ends: the summary as a table, or as one JSON object (with
//! `--log-format json` or `--summary json`), written to `--summary-file` too when asked for,
//! and its error lines (`engine run: error: …`, or JSON `ERROR` lines).

use crate::logging::structured;
use crate::runner::summary::Summary;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How the end-of-run summary is written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryFormat {
    /// A table (the default with `--log-format text`).
    Text,
    /// One JSON object (the default with `--log-format json`).
    Json,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct SummaryArgs {
    /// How the summary at the end of the run is written on standard error [default: text, or
    /// json with --log-format json].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub summary: Option<SummaryFormat>,
    /// Also write the summary, as JSON, to this file at the end of every run, failed or not
    /// (replaced atomically; written with -q too): for cron jobs and scripts.
    #[arg(long, value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
}

/// An error line of `engine run`: `engine run: {text}`, or a JSON `ERROR` line whose message
/// is `text` without a leading `error: `.
pub fn error_line(text: &str) {
    error_line_as("engine run", text);
}

/// The same for one pipeline of several: `engine run [NAME]: {text}` (`who`).
pub fn error_line_as(who: &str, text: &str) {
    line_as(who, "ERROR", text, Map::new());
}

/// An informational line of `engine run` that is not a log event (the simulator's address).
pub fn info_line(text: &str) {
    line("INFO", text, Map::new());
}

fn line(level: &str, text: &str, fields: Map<String, Value>) {
    line_as("engine run", level, text, fields);
}

fn line_as(who: &str, level: &str, text: &str, fields: Map<String, Value>) {
    if structured::json() {
        let message = text.strip_prefix("error: ").unwrap_or(text);
        structured::emit(&structured::object(level, "engine::run", message, fields));
    } else {
        eprintln!("{who}: {text}");
    }
}

/// Where the run's outputs and state are, for the summary.
pub struct Report<'a> {
    pub args: &'a SummaryArgs,
    /// The prefix of its lines (`engine run`, or `engine run [NAME]` for one of several
    /// pipelines) and the heading of its summary (empty, or `pipeline NAME:`).
    pub who: String,
    pub heading: String,
    /// Where the events went (a file, standard output, a log group, a bucket).
    pub events_to: String,
    pub dead_letter_path: &'a Path,
    /// The refused-events file, for the sinks that have one.
    pub refused_path: Option<&'a Path>,
    /// Where the next run resumes (or that no state was kept).
    pub state: String,
    /// With `--simulate --simulate-faults`: the faults injected, by name, and their line.
    pub faults: Option<(Map<String, Value>, String)>,
}

/// The summary's fields as JSON.
pub fn summary_fields(s: &Summary) -> Map<String, Value> {
    let by_type: Vec<Value> =
        s.events.iter().map(|((class, ty), n)| json!({ "class": class, "type": ty, "events": n })).collect();
    let mut f = Map::new();
    f.insert("events".into(), json!({ "total": s.total_events(), "by_type": by_type }));
    f.insert("dead_letters".into(), json!({ "total": s.total_dead_letters(), "by_reason": s.dead_letters }));
    f.insert("unknown_types".into(), json!(s.unknown_types));
    for (key, n) in [
        ("duplicates", s.duplicates),
        ("pages", s.pages),
        ("windows", s.windows),
        ("batches", s.batches),
        ("requests", s.requests),
        ("retries", s.retries),
        ("logins", s.logins),
        ("answered_401", s.unauthorized),
        ("cursors_refused", s.cursor_restarts),
        ("out_of_window", s.out_of_window),
        ("paging_stalls", s.paging_stalls),
        ("reconciliations", s.reconciliations),
        ("reconciled", s.reconciled),
        ("refused_by_sink", s.sink_rejected),
        ("pages_read_ahead", s.read_ahead),
        ("pages_read_ahead_unused", s.read_ahead_unused),
    ] {
        f.insert(key.into(), json!(n));
    }
    f.insert("caught_up_to".into(), json!(s.watermark));
    f.insert("elapsed_s".into(), json!((s.elapsed.as_secs_f64() * 1000.0).round() / 1000.0));
    f.insert("interrupted".into(), json!(s.interrupted));
    f
}

impl Report<'_> {
    fn format(&self) -> SummaryFormat {
        self.args.summary.unwrap_or(if structured::json() { SummaryFormat::Json } else { SummaryFormat::Text })
    }

    /// The whole summary object: what was done, where things are, how it ended.
    fn object(&self, s: &Summary, exit: u8, error: Option<&str>) -> Value {
        let mut f = Map::new();
        let outcome = match (error, exit) {
            (Some(_), _) => "failed",
            (None, 0) => "done",
            (None, _) => "dead_letters_or_refused",
        };
        f.insert("outcome".into(), json!(outcome));
        f.insert("exit_code".into(), json!(exit));
        f.extend(summary_fields(s));
        f.insert("events_to".into(), json!(self.events_to));
        if s.total_dead_letters() > 0 {
            f.insert("dead_letters_in".into(), json!(self.dead_letter_path.display().to_string()));
        }
        if let Some(p) = self.refused_path.filter(|_| s.sink_rejected > 0) {
            f.insert("refused_in".into(), json!(p.display().to_string()));
        }
        f.insert("state".into(), json!(self.state));
        if let Some((faults, _)) = &self.faults {
            f.insert("simulated_faults".into(), Value::Object(faults.clone()));
        }
        if let Some(e) = error {
            f.insert("error".into(), json!(e));
        }
        let message = if error.is_some() { "run failed" } else { "run finished" };
        structured::object(if error.is_some() { "ERROR" } else { "INFO" }, "engine::summary", message, f)
    }

    /// Writes `--summary-file`, if asked for; a failure to write it is an error line, not a
    /// change of the exit code.
    fn write_file(&self, object: &Value) {
        let Some(path) = &self.args.summary_file else { return };
        let tmp = path.with_extension("tmp");
        let text = format!("{}\n", serde_json::to_string_pretty(object).unwrap_or_default());
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
            error_line(&format!("error: cannot write the summary file `{}`: {e}", path.display()));
        }
    }

    /// The end of a run that finished (exit 0, or 1 with dead letters or refused events).
    pub fn finished(&self, s: &Summary) -> ExitCode {
        let exit = u8::from(s.total_dead_letters() > 0 || s.sink_rejected > 0);
        let object = self.object(s, exit, None);
        self.write_file(&object);
        if tracing::enabled!(tracing::Level::INFO) {
            match self.format() {
                SummaryFormat::Json => structured::emit(&object),
                SummaryFormat::Text => {
                    // One write, so that the summaries of several pipelines do not interleave.
                    let mut text = format!("\n{}{}", self.heading, s.table());
                    text.push_str(&format!("events:             {}\n", self.events_to));
                    if s.total_dead_letters() > 0 {
                        text.push_str(&format!("dead letters in:    {}\n", self.dead_letter_path.display()));
                    }
                    if let Some(p) = self.refused_path.filter(|_| s.sink_rejected > 0) {
                        text.push_str(&format!("refused events in:  {}\n", p.display()));
                    }
                    text.push_str(&format!("state:              {}\n", self.state));
                    if let Some((_, line)) = &self.faults {
                        text.push_str(&format!("{line}\n"));
                    }
                    eprint!("{text}");
                }
            }
        }
        ExitCode::from(exit)
    }

    /// The end of a run that failed (exit 3): the summary of what it did, the error, and what
    /// that means for its state (`after`).
    pub fn failed(&self, s: &Summary, message: &str, after: &str) -> ExitCode {
        let exit = super::load::EXIT_RUNTIME;
        let object = self.object(s, exit, Some(message));
        self.write_file(&object);
        match self.format() {
            SummaryFormat::Json if structured::json() => {
                structured::emit(&object);
                let mut f = Map::new();
                f.insert("state".into(), json!(after));
                line("ERROR", message, f);
            }
            SummaryFormat::Json => {
                structured::emit(&object);
                eprint!("{who}: error: {message}\n{who}: {after}\n", who = self.who);
            }
            SummaryFormat::Text => {
                eprint!("\n{}{}{who}: error: {message}\n{who}: {after}\n", self.heading, s.table(), who = self.who);
            }
        }
        ExitCode::from(exit)
    }
}
