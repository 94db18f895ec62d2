//! The metrics exposition as an operator's scraper reads it: a scripted sequence of updates is
//! scraped over HTTP and parsed into (name, labels, value) samples, compared in full with what
//! the sequence means, and docs/operations.md's list of metric names is checked against it. The
//! comparison is of samples, not of text, so that it holds for the Prometheus text format and
//! for OpenMetrics alike (`# EOF`, `# UNIT`, counter families named without `_total`).

use ocsf_engine::metrics::{Metrics, serve};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// One sample line: its name, its labels by name, its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A line's label set `{a="x",b="y"}` from just after the `{`: the labels and the rest of the line.
fn labels(mut rest: &str, line: &str) -> (BTreeMap<String, String>, String) {
    let mut out = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return (out, after.to_string());
        }
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("a label without a value: {line}"));
        let mut value = String::new();
        let mut chars = after.chars();
        loop {
            match chars.next().unwrap_or_else(|| panic!("an unterminated label value: {line}")) {
                '"' => break,
                '\\' => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("an unknown escape {other:?}: {line}"),
                },
                c => value.push(c),
            }
        }
        assert!(out.insert(name.to_string(), value).is_none(), "a label twice: {line}");
        rest = chars.as_str();
    }
}

/// The samples of an exposition, and each family's type from its `# TYPE` line. Bucket bounds
/// (`le`) are compared as numbers (`1` and `1.0` are one bound).
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let (mut samples, mut types) = (Vec::new(), BTreeMap::new());
    for line in text.lines() {
        if let Some(meta) = line.strip_prefix("# TYPE ") {
            let (family, kind) = meta.split_once(' ').unwrap();
            types.insert(family.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, mut labels, rest) = match line.split_once('{') {
            Some((name, rest)) if !name.contains(' ') => {
                let (labels, rest) = labels(rest, line);
                (name, labels, rest)
            }
            _ => {
                let (name, rest) = line.split_once(' ').unwrap_or_else(|| panic!("a sample without a value: {line}"));
                (name, BTreeMap::new(), format!(" {rest}"))
            }
        };
        // OpenMetrics may add a counter's creation time; it is no count.
        if name.ends_with("_created") {
            continue;
        }
        let value = rest.split_whitespace().next().unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|e| panic!("not a number ({e}): {line}"));
        if let Some(le) = labels.get_mut("le") {
            *le = le.parse::<f64>().unwrap_or_else(|e| panic!("a bound that is no number ({e}): {line}")).to_string();
        }
        samples.push((name.to_string(), labels, value));
    }
    samples.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    (samples, types)
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    (format!("ocsf_engine_{name}"), labels, value)
}

/// The histogram's samples for one label set, from the observations in seconds.
fn histogram(labels: &[(&str, &str)], observed: &[f64]) -> Vec<Sample> {
    const BOUNDS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
    let name = "api_request_duration_seconds";
    let with_le = |le: f64| {
        let le = le.to_string();
        labels.iter().copied().chain([("le", le.as_str())]).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let mut out: Vec<Sample> = BOUNDS
        .iter()
        .chain([f64::INFINITY].iter())
        .map(|&le| {
            let n = observed.iter().filter(|&&s| s <= le).count();
            (format!("ocsf_engine_{name}_bucket"), with_le(le), n as f64)
        })
        .collect();
    out.push(sample(&format!("{name}_sum"), labels, observed.iter().sum()));
    out.push(sample(&format!("{name}_count"), labels, observed.len() as f64));
    out
}

/// Updates that touch every metric: counters added to more than once, a counter added 0 (no
/// series), a gauge set twice, a label value needing escapes, a second pipeline's handle.
fn scripted() -> Arc<Metrics> {
    let m = Arc::new(Metrics::new());
    m.add("records_fetched_total", &["audit"], 7);
    m.add("records_fetched_total", &["audit"], 5);
    m.add("records_fetched_total", &["signin"], 0);
    m.add("events_mapped_total", &["audit", "Authentication"], 9);
    m.add("events_mapped_total", &["audit", "Entity Management"], 2);
    m.add("dead_letters_total", &["audit", "no_mapping"], 1);
    m.add("events_shipped_total", &["audit", "file"], 11);
    m.add("events_refused_total", &["audit", "cloudwatch_logs"], 4);
    m.add("unknown_event_types_total", &["audit", "a\"b\\c\nd"], 1);
    m.add("duplicates_dropped_total", &["audit"], 3);
    m.add("records_out_of_window_total", &["audit"], 2);
    m.add("paging_stalls_total", &["audit"], 1);
    m.add("reconciled_records_total", &["audit"], 6);
    m.add("api_retries_total", &["audit"], 2);
    m.add("batches_total", &["audit"], 2);
    m.set("checkpoint_watermark_seconds", &["audit"], 1_733_140_800.0);
    m.set("checkpoint_lag_seconds", &["audit"], 61.5);
    m.set("checkpoint_lag_seconds", &["audit"], 12.25);
    m.api_response("audit", Some(200), Duration::from_millis(30));
    m.api_response("audit", Some(429), Duration::from_millis(700));
    m.api_response("audit", None, Duration::from_secs(30));
    let t01 = m.for_pipeline("t01");
    t01.add("records_fetched_total", &["audit"], 3);
    t01.api_response("audit", Some(200), Duration::from_millis(5));
    m
}

fn expected() -> Vec<Sample> {
    let audit = [("stream", "audit")];
    let mut out = vec![
        sample("records_fetched_total", &audit, 12.0),
        sample("records_fetched_total", &[("pipeline", "t01"), ("stream", "audit")], 3.0),
        sample("events_mapped_total", &[("stream", "audit"), ("class", "Authentication")], 9.0),
        sample("events_mapped_total", &[("stream", "audit"), ("class", "Entity Management")], 2.0),
        sample("dead_letters_total", &[("stream", "audit"), ("reason", "no_mapping")], 1.0),
        sample("events_shipped_total", &[("stream", "audit"), ("sink", "file")], 11.0),
        sample("events_refused_total", &[("stream", "audit"), ("sink", "cloudwatch_logs")], 4.0),
        sample("unknown_event_types_total", &[("stream", "audit"), ("type", "a\"b\\c\nd")], 1.0),
        sample("duplicates_dropped_total", &audit, 3.0),
        sample("records_out_of_window_total", &audit, 2.0),
        sample("paging_stalls_total", &audit, 1.0),
        sample("reconciled_records_total", &audit, 6.0),
        sample("api_responses_total", &[("stream", "audit"), ("status", "200")], 1.0),
        sample("api_responses_total", &[("stream", "audit"), ("status", "429")], 1.0),
        sample("api_responses_total", &[("stream", "audit"), ("status", "error")], 1.0),
        sample("api_responses_total", &[("pipeline", "t01"), ("stream", "audit"), ("status", "200")], 1.0),
        sample("api_retries_total", &audit, 2.0),
        sample("batches_total", &audit, 2.0),
        sample("checkpoint_watermark_seconds", &audit, 1_733_140_800.0),
        sample("checkpoint_lag_seconds", &audit, 12.25),
    ];
    out.extend(histogram(&audit, &[0.03, 0.7, 30.0]));
    out.extend(histogram(&[("pipeline", "t01"), ("stream", "audit")], &[0.005]));
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

/// The exposition over HTTP, and its content type.
async fn scrape(metrics: Arc<Metrics>) -> (String, String) {
    let server = serve("127.0.0.1:0".parse().unwrap(), metrics).await.unwrap();
    let r = reqwest::get(format!("http://{}/metrics", server.addr)).await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_string();
    (content_type, r.text().await.unwrap())
}

#[tokio::test]
async fn the_exposition_holds_every_update_by_name_labels_and_value_as_openmetrics() {
    let (content_type, text) = scrape(scripted()).await;
    assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert!(text.ends_with("\n# EOF\n"), "an OpenMetrics text ends with `# EOF`: {text}");
    let (samples, types) = parse(&text);
    let expected = expected();
    let names = |s: &[Sample]| s.iter().map(|(n, l, _)| (n.clone(), l.clone())).collect::<Vec<_>>();
    assert_eq!(names(&samples), names(&expected), "{text}");
    for ((name, labels, value), (_, _, want)) in samples.iter().zip(&expected) {
        assert!((value - want).abs() < 1e-9, "{name}{labels:?} is {value}, not {want}\n{text}");
    }
    // Each sample belongs to a family of the type its name says.
    for (name, _, _) in &samples {
        let (family, kind) = if let Some(f) = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)) {
            (f, "histogram")
        } else if name.ends_with("_total") {
            (name.as_str(), "counter")
        } else {
            (name.as_str(), "gauge")
        };
        let typed = types.get(family).or_else(|| types.get(family.strip_suffix("_total").unwrap_or(family)));
        assert_eq!(typed.map(String::as_str), Some(kind), "{name}\n{text}");
    }
}

#[tokio::test]
async fn a_fresh_registry_exposes_no_series() {
    let (_, text) = scrape(Arc::new(Metrics::new())).await;
    assert_eq!(parse(&text).0, Vec::new(), "{text}");
}

/// The metric names docs/operations.md lists, each with the labels it names in braces.
fn documented() -> Vec<(String, Vec<String>)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
    let from = doc.find("serves Prometheus metrics at").expect("operations.md lists the metrics");
    let list = &doc[from..from + doc[from..].find("each labelled by").expect("the list ends with the labels")];
    list.split('`')
        .skip(1)
        .step_by(2)
        .filter(|item| item.starts_with("ocsf_engine_") || item.starts_with('_'))
        .map(|item| {
            let (name, labels) = item.split_once('{').unwrap_or((item, ""));
            let name = if name.starts_with('_') { format!("ocsf_engine{name}") } else { name.to_string() };
            (name, labels.trim_end_matches('}').split(',').filter(|l| !l.is_empty()).map(str::to_string).collect())
        })
        .collect()
}

#[tokio::test]
async fn every_metric_operations_md_lists_is_exposed_with_its_labels_and_nothing_unlisted() {
    let documented = documented();
    assert_eq!(documented.len(), 16, "{documented:?}");
    let (_, text) = scrape(scripted()).await;
    let (samples, _) = parse(&text);
    let listed: BTreeSet<String> = documented.iter().map(|(n, _)| n.clone()).collect();
    // A histogram's samples are named after it with a suffix.
    let family = |name: &str| -> String {
        let histogram = ["_bucket", "_sum", "_count"].iter().filter_map(|s| name.strip_suffix(s));
        histogram.map(str::to_string).find(|f| listed.contains(f)).unwrap_or_else(|| name.to_string())
    };
    for (name, labels) in &documented {
        let series: Vec<&Sample> = samples.iter().filter(|(n, _, _)| family(n) == *name).collect();
        assert!(!series.is_empty(), "{name} is documented but not exposed\n{text}");
        for (n, l, _) in series {
            for label in labels.iter().chain(["stream".to_string()].iter()) {
                assert!(l.contains_key(label), "{n} has no `{label}` label: {l:?}");
            }
        }
    }
    for (name, _, _) in &samples {
        assert!(listed.contains(&family(name)), "{name} is exposed but operations.md does not list it");
    }
}
