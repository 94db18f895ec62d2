//! The metrics a run keeps, by name and labels, and their rendering in the Prometheus text
//! exposition format (version 0.0.4).
//!
//! Updates are a map lookup under a short lock per batch or request, not per record: the runner
//! adds its per-batch counts at once. Label values that come from the API (unknown event types)
//! are capped, so that a misbehaving source cannot grow the registry without bound.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Distinct label sets one metric keeps; later ones are counted under `other`.
const MAX_SERIES: usize = 200;

/// Upper bounds (seconds) of the API latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// One metric's definition.
struct Def {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    labels: &'static [&'static str],
}

const DEFS: &[Def] = &[
    Def { name: "records_fetched_total", help: "Records read from the API.", kind: Kind::Counter, labels: &["stream"] },
    Def {
        name: "events_mapped_total",
        help: "Records mapped to a valid OCSF event.",
        kind: Kind::Counter,
        labels: &["stream", "class"],
    },
    Def {
        name: "dead_letters_total",
        help: "Records written to the dead letters, by reason.",
        kind: Kind::Counter,
        labels: &["stream", "reason"],
    },
    Def {
        name: "events_shipped_total",
        help: "Events the sink acknowledged.",
        kind: Kind::Counter,
        labels: &["stream", "sink"],
    },
    Def {
        name: "events_refused_total",
        help: "Events the sink's destination refused (written to its refused file).",
        kind: Kind::Counter,
        labels: &["stream", "sink"],
    },
    Def {
        name: "unknown_event_types_total",
        help: "Events of types no mapping names (taken by a fallback mapping), by record type.",
        kind: Kind::Counter,
        labels: &["stream", "type"],
    },
    Def {
        name: "duplicates_dropped_total",
        help: "Records dropped because their id was already delivered.",
        kind: Kind::Counter,
        labels: &["stream"],
    },
    Def {
        name: "records_out_of_window_total",
        help: "Records the API returned outside the window asked for, dropped.",
        kind: Kind::Counter,
        labels: &["stream"],
    },
    Def {
        name: "paging_stalls_total",
        help: "Times paging a window made no progress (a repeated cursor, pages with nothing new).",
        kind: Kind::Counter,
        labels: &["stream"],
    },
    Def {
        name: "reconciled_records_total",
        help: "Records a reconciliation re-read found that had not been delivered.",
        kind: Kind::Counter,
        labels: &["stream"],
    },
    Def {
        name: "api_responses_total",
        help: "API responses by HTTP status (`error` when no response came).",
        kind: Kind::Counter,
        labels: &["stream", "status"],
    },
    Def { name: "api_retries_total", help: "API requests sent again.", kind: Kind::Counter, labels: &["stream"] },
    Def { name: "batches_total", help: "Batches the sink acknowledged.", kind: Kind::Counter, labels: &["stream"] },
    Def {
        name: "checkpoint_watermark_seconds",
        help: "The committed checkpoint's watermark (Unix seconds): everything before it was delivered.",
        kind: Kind::Gauge,
        labels: &["stream"],
    },
    Def {
        name: "checkpoint_lag_seconds",
        help: "How far the committed checkpoint is behind the clock.",
        kind: Kind::Gauge,
        labels: &["stream"],
    },
];

const PREFIX: &str = "ocsf_engine_";

/// A latency histogram.
#[derive(Debug, Clone, Default, PartialEq)]
struct Histogram {
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`].
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, n) in LATENCY_BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Label values are keyed with the pipeline's name first (empty for a run of one unnamed
/// pipeline, whose series have no `pipeline` label).
#[derive(Default)]
struct Series {
    /// By metric index, by label values.
    values: Vec<BTreeMap<Vec<String>, f64>>,
    /// By pipeline and stream.
    latency: BTreeMap<(String, String), Histogram>,
}

/// The registry. Cheap to share (`Arc<Metrics>`); every method takes `&self`. The handle of one
/// of several pipelines ([`Metrics::for_pipeline`]) writes into the same series with a
/// `pipeline` label.
pub struct Metrics {
    series: Arc<Mutex<Series>>,
    pipeline: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let series = Series { values: vec![BTreeMap::new(); DEFS.len()], latency: BTreeMap::new() };
        Metrics { series: Arc::new(Mutex::new(series)), pipeline: String::new() }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn index(name: &str) -> usize {
    DEFS.iter().position(|d| d.name == name).unwrap_or_else(|| panic!("no metric `{name}`"))
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the same registry whose series carry `pipeline="<name>"`.
    pub fn for_pipeline(&self, name: &str) -> Metrics {
        Metrics { series: Arc::clone(&self.series), pipeline: name.to_string() }
    }

    fn key(&self, labels: &[&str]) -> Vec<String> {
        std::iter::once(self.pipeline.as_str()).chain(labels.iter().copied()).map(str::to_string).collect()
    }

    fn update(&self, name: &str, labels: &[&str], f: impl FnOnce(&mut f64)) {
        let i = index(name);
        debug_assert_eq!(labels.len(), DEFS[i].labels.len(), "{name}");
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let map = &mut series.values[i];
        let mut key = self.key(labels);
        // The cap is per pipeline, so that one pipeline's source cannot crowd out the others.
        if !map.contains_key(&key)
            && map.keys().filter(|k| k[0] == self.pipeline).count() >= MAX_SERIES
            && let Some(last) = key.last_mut()
        {
            *last = "other".into();
        }
        f(map.entry(key).or_insert(0.0));
    }

    /// Adds `n` to a counter.
    pub fn add(&self, name: &str, labels: &[&str], n: u64) {
        if n > 0 {
            self.update(name, labels, |v| *v += n as f64);
        }
    }

    /// Sets a gauge.
    pub fn set(&self, name: &str, labels: &[&str], value: f64) {
        self.update(name, labels, |v| *v = value);
    }

    /// Records one API response (or `None` for no response) and how long it took.
    pub fn api_response(&self, stream: &str, status: Option<u16>, took: Duration) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.add("api_responses_total", &[stream, &status], 1);
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key = (self.pipeline.clone(), stream.to_string());
        series.latency.entry(key).or_default().observe(took.as_secs_f64());
    }

    /// A counter's or gauge's current value (0 when never set).
    pub fn value(&self, name: &str, labels: &[&str]) -> f64 {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series.values[index(name)].get(&self.key(labels)).copied().unwrap_or(0.0)
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (def, values) in DEFS.iter().zip(&series.values) {
            let kind = match def.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {PREFIX}{} {}", def.name, def.help);
            let _ = writeln!(out, "# TYPE {PREFIX}{} {kind}", def.name);
            for (labels, value) in values {
                let labels = label_text(def.labels, labels, None);
                let _ = writeln!(out, "{PREFIX}{}{labels} {}", def.name, number(*value));
            }
        }
        let name = "api_request_duration_seconds";
        let _ = writeln!(out, "# HELP {PREFIX}{name} Time from sending an API request to its answer.");
        let _ = writeln!(out, "# TYPE {PREFIX}{name} histogram");
        for ((pipeline, stream), h) in &series.latency {
            let labels = [pipeline.clone(), stream.clone()];
            for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
                let le = number(*bound);
                let _ = writeln!(out, "{PREFIX}{name}_bucket{} {n}", label_text(&["stream"], &labels, Some(&le)));
            }
            let _ =
                writeln!(out, "{PREFIX}{name}_bucket{} {}", label_text(&["stream"], &labels, Some("+Inf")), h.count);
            let _ = writeln!(out, "{PREFIX}{name}_sum{} {}", label_text(&["stream"], &labels, None), number(h.sum));
            let _ = writeln!(out, "{PREFIX}{name}_count{} {}", label_text(&["stream"], &labels, None), h.count);
        }
        out
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// `{pipeline="p",a="x",b="y"}` with the exposition format's escapes; `values` starts with the
/// pipeline's name, left out when empty.
fn label_text(names: &[&str], values: &[String], le: Option<&str>) -> String {
    let (pipeline, values) = values.split_first().map_or(("", values), |(p, rest)| (p.as_str(), rest));
    let named = (!pipeline.is_empty()).then_some(("pipeline", pipeline));
    let mut parts: Vec<String> = named
        .into_iter()
        .chain(names.iter().copied().zip(values.iter().map(String::as_str)))
        .map(|(n, v)| format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_by_labels_and_render_with_help_and_type() {
        let m = Metrics::new();
        m.add("dead_letters_total", &["audit", "no_mapping"], 2);
        m.add("dead_letters_total", &["audit", "no_mapping"], 3);
        m.add("dead_letters_total", &["audit", "invalid_ocsf"], 1);
        m.set("checkpoint_lag_seconds", &["audit"], 61.5);
        let text = m.render();
        assert!(text.contains("# TYPE ocsf_engine_dead_letters_total counter\n"));
        assert!(text.contains("ocsf_engine_dead_letters_total{stream=\"audit\",reason=\"no_mapping\"} 5\n"));
        assert!(text.contains("ocsf_engine_dead_letters_total{stream=\"audit\",reason=\"invalid_ocsf\"} 1\n"));
        assert!(text.contains("ocsf_engine_checkpoint_lag_seconds{stream=\"audit\"} 61.5\n"));
        assert_eq!(m.value("dead_letters_total", &["audit", "no_mapping"]), 5.0);
    }

    #[test]
    fn a_pipeline_s_handle_labels_its_series_and_shares_the_registry() {
        let m = Metrics::new();
        let (a, b) = (m.for_pipeline("t01"), m.for_pipeline("t02"));
        a.add("records_fetched_total", &["audit"], 3);
        b.add("records_fetched_total", &["audit"], 5);
        b.api_response("audit", Some(200), Duration::from_millis(20));
        let text = m.render();
        assert!(text.contains("ocsf_engine_records_fetched_total{pipeline=\"t01\",stream=\"audit\"} 3\n"), "{text}");
        assert!(text.contains("ocsf_engine_records_fetched_total{pipeline=\"t02\",stream=\"audit\"} 5\n"), "{text}");
        assert!(text.contains("ocsf_engine_api_responses_total{pipeline=\"t02\",stream=\"audit\",status=\"200\"} 1\n"));
        assert!(text.contains("ocsf_engine_api_request_duration_seconds_count{pipeline=\"t02\",stream=\"audit\"} 1\n"));
        assert_eq!(
            (a.value("records_fetched_total", &["audit"]), m.value("records_fetched_total", &["audit"])),
            (3.0, 0.0)
        );
        // Each pipeline has its own cap on series from the API.
        for i in 0..MAX_SERIES {
            a.add("unknown_event_types_total", &["audit", &format!("Type{i}")], 1);
        }
        b.add("unknown_event_types_total", &["audit", "Mine"], 1);
        assert_eq!(b.value("unknown_event_types_total", &["audit", "Mine"]), 1.0);
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.add("unknown_event_types_total", &["audit", "a\"b\\c\nd"], 1);
        assert!(m.render().contains(r#"type="a\"b\\c\nd"} 1"#));
    }

    #[test]
    fn series_from_the_api_are_capped() {
        let m = Metrics::new();
        for i in 0..(MAX_SERIES + 50) {
            m.add("unknown_event_types_total", &["audit", &format!("Type{i}")], 1);
        }
        assert_eq!(m.value("unknown_event_types_total", &["audit", "other"]), 50.0);
        let lines = m.render().lines().filter(|l| l.starts_with("ocsf_engine_unknown_event_types_total")).count();
        assert_eq!(lines, MAX_SERIES + 1);
    }

    #[test]
    fn the_latency_histogram_is_cumulative() {
        let m = Metrics::new();
        m.api_response("audit", Some(200), Duration::from_millis(30));
        m.api_response("audit", Some(429), Duration::from_millis(700));
        m.api_response("audit", None, Duration::from_secs(30));
        let text = m.render();
        let bucket =
            |le: &str| format!("ocsf_engine_api_request_duration_seconds_bucket{{stream=\"audit\",le=\"{le}\"}}");
        assert!(text.contains(&format!("{} 0\n", bucket("0.025"))));
        assert!(text.contains(&format!("{} 1\n", bucket("0.05"))));
        assert!(text.contains(&format!("{} 2\n", bucket("1"))));
        assert!(text.contains(&format!("{} 2\n", bucket("10"))));
        assert!(text.contains(&format!("{} 3\n", bucket("+Inf"))));
        assert!(text.contains("ocsf_engine_api_request_duration_seconds_count{stream=\"audit\"} 3\n"));
        assert!(text.contains("ocsf_engine_api_responses_total{stream=\"audit\",status=\"error\"} 1\n"));
        assert!(text.contains("ocsf_engine_api_responses_total{stream=\"audit\",status=\"429\"} 1\n"));
    }
}
