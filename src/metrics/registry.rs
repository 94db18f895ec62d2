//! The metrics a run keeps, by name and labels, on a `prometheus-client` registry rendered in
//! the OpenMetrics text format (a counter's family is named without `_total`, its samples with
//! it; the seconds metrics carry a `# UNIT`; the text ends with `# EOF`).
//!
//! Updates are a family lookup per batch or request, not per record: the runner adds its
//! per-batch counts at once. Label values that come from the API (unknown event types) are
//! capped, so that a misbehaving source cannot grow the registry without bound.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Distinct label sets one metric keeps per pipeline; later ones are counted under `other`.
const MAX_SERIES: usize = 200;

/// Upper bounds (seconds) of the API latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// One metric's definition; `name` is the sample's name without the prefix.
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

const PREFIX: &str = "ocsf_engine";

/// A series' labels: `pipeline` first when the handle names one, then the metric's own.
type Labels = Vec<(&'static str, String)>;

type Gauge64 = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// One metric's series.
enum Series {
    Counter(Family<Labels, Counter>),
    Gauge(Family<Labels, Gauge64>),
}

struct Inner {
    registry: Registry,
    /// By index in [`DEFS`].
    series: Vec<Series>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    /// Series made so far, by metric index and pipeline, for the cap.
    made: Mutex<HashMap<(usize, String), usize>>,
}

/// The registry. Cheap to share (`Arc<Metrics>`); every method takes `&self`. The handle of one
/// of several pipelines ([`Metrics::for_pipeline`]) writes into the same series with a
/// `pipeline` label (none for a run of one unnamed pipeline).
pub struct Metrics {
    inner: Arc<Inner>,
    pipeline: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        // The library ends every help with a full stop.
        let help = |def: &Def| def.help.strip_suffix('.').unwrap_or(def.help);
        let series = DEFS
            .iter()
            .map(|def| match def.kind {
                Kind::Counter => {
                    let family = Family::default();
                    let name = def.name.strip_suffix("_total").expect("a counter's name ends with _total");
                    registry.register(name, help(def), family.clone());
                    Series::Counter(family)
                }
                Kind::Gauge => {
                    let family = Family::default();
                    let name = def.name.strip_suffix("_seconds").expect("a gauge's name ends with its unit");
                    registry.register_with_unit(name, help(def), Unit::Seconds, family.clone());
                    Series::Gauge(family)
                }
            })
            .collect();
        let latency: Family<Labels, Histogram, fn() -> Histogram> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "api_request_duration",
            "Time from sending an API request to its answer",
            Unit::Seconds,
            latency.clone(),
        );
        let inner = Inner { registry, series, latency, made: Mutex::new(HashMap::new()) };
        Metrics { inner: Arc::new(inner), pipeline: String::new() }
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
        Metrics { inner: Arc::clone(&self.inner), pipeline: name.to_string() }
    }

    fn labels(&self, names: &[&'static str], values: &[&str]) -> Labels {
        debug_assert_eq!(names.len(), values.len(), "{names:?}");
        let pipeline = (!self.pipeline.is_empty()).then(|| ("pipeline", self.pipeline.clone()));
        pipeline.into_iter().chain(names.iter().copied().zip(values.iter().map(|v| v.to_string()))).collect()
    }

    /// The series of metric `i` in `family` that an update of `values` goes to, made if new:
    /// `values`, or with the last one `other` once the pipeline has [`MAX_SERIES`] series of the
    /// metric. The cap is per pipeline, so that one pipeline's source cannot crowd out the others.
    fn series<'f, M, C: MetricConstructor<M>>(
        &self,
        i: usize,
        family: &'f Family<Labels, M, C>,
        values: &[&str],
    ) -> impl Deref<Target = M> + 'f {
        let mut labels = self.labels(DEFS[i].labels, values);
        if let Some(series) = family.get(&labels) {
            return series;
        }
        // Counted and made under the lock, so that a series made twice at once counts once.
        let mut made = self.inner.made.lock().unwrap_or_else(|e| e.into_inner());
        let count = made.entry((i, self.pipeline.clone())).or_insert(0);
        if *count >= MAX_SERIES
            && let Some((_, last)) = labels.last_mut()
        {
            *last = "other".into();
        }
        if family.get(&labels).is_none() {
            *count += 1;
        }
        family.get_or_create(&labels)
    }

    /// Adds `n` to a counter.
    pub fn add(&self, name: &str, labels: &[&str], n: u64) {
        let i = index(name);
        let Series::Counter(family) = &self.inner.series[i] else { panic!("`{name}` is a gauge: set it") };
        if n > 0 {
            self.series(i, family, labels).inc_by(n);
        }
    }

    /// Sets a gauge.
    pub fn set(&self, name: &str, labels: &[&str], value: f64) {
        let i = index(name);
        let Series::Gauge(family) = &self.inner.series[i] else { panic!("`{name}` is a counter: add to it") };
        self.series(i, family, labels).set(value);
    }

    /// Records one API response (or `None` for no response) and how long it took.
    pub fn api_response(&self, stream: &str, status: Option<u16>, took: Duration) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.add("api_responses_total", &[stream, &status], 1);
        self.inner.latency.get_or_create(&self.labels(&["stream"], &[stream])).observe(took.as_secs_f64());
    }

    /// A counter's or gauge's current value (0 when never set).
    pub fn value(&self, name: &str, labels: &[&str]) -> f64 {
        let i = index(name);
        let labels = self.labels(DEFS[i].labels, labels);
        match &self.inner.series[i] {
            Series::Counter(family) => family.get(&labels).map_or(0.0, |c| c.get() as f64),
            Series::Gauge(family) => family.get(&labels).map_or(0.0, |g| g.get()),
        }
    }

    /// Everything, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.inner.registry).expect("writing to a String does not fail");
        out
    }
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
        assert!(text.contains("# TYPE ocsf_engine_dead_letters counter\n"), "{text}");
        assert!(text.contains("# UNIT ocsf_engine_checkpoint_lag_seconds seconds\n") && text.ends_with("\n# EOF\n"));
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
            |le: &str| format!("ocsf_engine_api_request_duration_seconds_bucket{{le=\"{le}\",stream=\"audit\"}}");
        assert!(text.contains(&format!("{} 0\n", bucket("0.025"))), "{text}");
        assert!(text.contains(&format!("{} 1\n", bucket("0.05"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", bucket("1.0"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", bucket("10.0"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", bucket("+Inf"))), "{text}");
        assert!(text.contains("ocsf_engine_api_request_duration_seconds_count{stream=\"audit\"} 3\n"));
        assert!(text.contains("ocsf_engine_api_responses_total{stream=\"audit\",status=\"error\"} 1\n"));
        assert!(text.contains("ocsf_engine_api_responses_total{stream=\"audit\",status=\"429\"} 1\n"));
    }
}
