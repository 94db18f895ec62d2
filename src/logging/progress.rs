//! The progress line drawn on a terminal from progress events: per stream (of each pipeline,
//! named by the `pipeline` span its events happen in), the share of the time range covered,
//! events so far, the rate and the retries, redrawn in place.
//! Hand-drawn rather than on `indicatif`, which would add 4 crates to the build (indicatif,
//! console, portable-atomic, unit-prefix) for one line: the streams of every pipeline are
//! segments of that one line (joined by `|`), and the log writer (mod.rs) clears it before each
//! log line through one shared flag.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// What one progress event says.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Progress {
    /// The pipeline's name, when the run has several.
    pub pipeline: String,
    pub stream: String,
    pub covered_ms: u64,
    pub total_ms: u64,
    pub events: u64,
    pub per_second: u64,
    pub retries: u64,
}

impl Visit for Progress {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "covered_ms" => self.covered_ms = value,
            "total_ms" => self.total_ms = value,
            "events" => self.events = value,
            "per_second" => self.per_second = value,
            "retries" => self.retries = value,
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, value.max(0) as u64);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "stream" {
            self.stream = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "stream" {
            self.stream = format!("{value:?}").trim_matches('"').to_string();
        }
    }
}

impl Progress {
    /// `audit [##########----------]  50% 12,000 events 4,100/s 3 retries`.
    pub fn render(&self) -> String {
        const WIDTH: usize = 24;
        let share = if self.total_ms == 0 { 1.0 } else { (self.covered_ms as f64 / self.total_ms as f64).min(1.0) };
        let filled = (share * WIDTH as f64).round() as usize;
        let name =
            if self.pipeline.is_empty() { self.stream.clone() } else { format!("{}/{}", self.pipeline, self.stream) };
        let mut line = format!(
            "{name} [{}{}] {:>3.0}% {} events {}/s",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            share * 100.0,
            self.events,
            self.per_second
        );
        if self.retries > 0 {
            line.push_str(&format!(" {} retries", self.retries));
        }
        line
    }
}

/// The layer that draws the line.
pub struct ProgressLine {
    streams: Mutex<BTreeMap<(String, String), Progress>>,
    drawn: Arc<AtomicBool>,
}

impl ProgressLine {
    pub fn new(drawn: Arc<AtomicBool>) -> Self {
        ProgressLine { streams: Mutex::new(BTreeMap::new()), drawn }
    }
}

/// The span that names a pipeline: `pipeline` with a `pipeline` field.
pub const PIPELINE_SPAN: &str = "pipeline";

/// The name a `pipeline` span was given, kept in its extensions.
struct PipelineName(String);

impl Visit for PipelineName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "pipeline" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "pipeline" {
            self.0 = format!("{value:?}").trim_matches('"').to_string();
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for ProgressLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != PIPELINE_SPAN {
            return;
        }
        let mut name = PipelineName(String::new());
        attrs.record(&mut name);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(name);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut p = Progress::default();
        event.record(&mut p);
        if let Some(scope) = ctx.event_scope(event) {
            p.pipeline = scope
                .from_root()
                .find_map(|s| s.extensions().get::<PipelineName>().map(|n| n.0.clone()))
                .unwrap_or_default();
        }
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.insert((p.pipeline.clone(), p.stream.clone()), p);
        let line = streams.values().map(Progress::render).collect::<Vec<_>>().join("  |  ");
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_share_events_rate_and_retries() {
        let p = Progress {
            pipeline: String::new(),
            stream: "audit".into(),
            covered_ms: 50,
            total_ms: 100,
            events: 12_000,
            per_second: 4_100,
            retries: 3,
        };
        assert_eq!(p.render(), "audit [############------------]  50% 12000 events 4100/s 3 retries");
        let done = Progress { stream: "audit".into(), covered_ms: 7, total_ms: 0, ..Default::default() };
        assert_eq!(done.render(), "audit [########################] 100% 0 events 0/s");
        let named = Progress { pipeline: "t01".into(), ..done };
        assert_eq!(named.render(), "t01/audit [########################] 100% 0 events 0/s");
    }
}
