//! What an operator sees of `engine run`: the dry run (one window previewed, nothing written),
//! the Prometheus endpoint, structured and quiet logging, and progress reports off a terminal.
//! Each runs the `engine` binary against a simulated tenant over loopback HTTP.

mod common;

use common::pipeline::{engine_run, signal, temp_dir, wait_at_most};
use ocsf_engine::simulator::{SimConfig, SimHandle, start};
use std::io::{BufRead, BufReader};
use std::time::{Duration, SystemTime};

async fn tenant(events: usize, seed: u64) -> SimHandle {
    start(SimConfig {
        events,
        seed,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(2 * 3600),
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

fn stdout_and_stderr(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_previews_one_window_and_writes_nothing() {
    let sim = tenant(400, 3).await;
    let dir = temp_dir("engine-operator", "dry-run");
    let out = engine_run(&dir, sim.addr(), &["--dry-run", "--set", "range=PT3H"]).output().unwrap();
    let (stdout, stderr) = stdout_and_stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let batches: Vec<&str> = stdout.lines().filter(|l| l.starts_with("# batch ")).collect();
    assert!(!batches.is_empty(), "{stdout}");
    let events: Vec<serde_json::Value> =
        stdout.lines().filter(|l| !l.starts_with('#')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!events.is_empty());
    for e in &events {
        assert!(ocsf_engine::ocsf::validate(e).is_ok(), "{e}");
    }
    // One window only: every event lies within one window (an hour) of the first.
    let times: Vec<i64> = events.iter().map(|e| e["time"].as_i64().unwrap()).collect();
    let (first, last) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    assert!(last - first <= 3_600_000, "{first}..{last}");
    assert!(events.len() < sim.record_ids().len(), "one window, not the whole tenant");
    let total = stdout.lines().last().unwrap();
    assert!(total.starts_with(&format!("# {} events in {} batches", events.len(), batches.len())), "{total}");
    // Nothing written: no output, no dead letters, no checkpoint.
    assert!(!dir.join("out").exists() || std::fs::read_dir(dir.join("out")).unwrap().next().is_none());
    assert!(!dir.join("state").exists() || std::fs::read_dir(dir.join("state")).unwrap().next().is_none());

    // After a real run, a dry run leaves the checkpoint byte for byte as it was.
    let real = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
    assert_eq!(real.status.code(), Some(0), "{}", stdout_and_stderr(&real).1);
    let checkpoint = dir.join("state/entrust_idaas/audit.checkpoint.json");
    let before = std::fs::read(&checkpoint).unwrap();
    let events_before = std::fs::read(dir.join("out/events.ndjson")).unwrap();
    let again = engine_run(&dir, sim.addr(), &["--dry-run"]).output().unwrap();
    let (stdout, stderr) = stdout_and_stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("# position:     resume from "), "{stdout}");
    assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
    assert_eq!(std::fs::read(dir.join("out/events.ndjson")).unwrap(), events_before);
    sim.shutdown().await;
}

/// Reads one metric's value from a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_counts_what_the_run_did() {
    let sim = tenant(300, 5).await;
    let dir = temp_dir("engine-operator", "metrics");
    let mut child =
        engine_run(&dir, sim.addr(), &["--metrics-addr", "127.0.0.1:0", "--set", "range=PT3H"]).spawn().unwrap();
    // The address is logged first; then wait until the run has caught up.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the run logs the metrics address").unwrap();
        if let Some(rest) = line.split("metrics at http://").nth(1) {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/metrics");
    let mut text = String::new();
    for _ in 0..100 {
        text = client.get(&url).send().await.unwrap().text().await.unwrap();
        if sample(&text, "ocsf_engine_checkpoint_lag_seconds{stream=\"audit\"}").is_some_and(|lag| lag < 600.0)
            && sample(&text, "ocsf_engine_events_shipped_total{stream=\"audit\",sink=\"file\"}").is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&child, "TERM");
    assert!(wait_at_most(&mut child, Duration::from_secs(10)).is_some());
    let delivered = std::fs::read_to_string(dir.join("out/events.ndjson")).unwrap().lines().count() as f64;
    let shipped = sample(&text, "ocsf_engine_events_shipped_total{stream=\"audit\",sink=\"file\"}").unwrap();
    assert_eq!(shipped, delivered, "{text}");
    let mapped: f64 = ["Authentication", "Entity Management"]
        .iter()
        .filter_map(|c| sample(&text, &format!("ocsf_engine_events_mapped_total{{stream=\"audit\",class=\"{c}\"}}")))
        .sum();
    assert_eq!(mapped, delivered);
    let fetched = sample(&text, "ocsf_engine_records_fetched_total{stream=\"audit\"}").unwrap();
    let duplicates = sample(&text, "ocsf_engine_duplicates_dropped_total{stream=\"audit\"}").unwrap_or(0.0);
    assert_eq!(fetched, delivered + duplicates, "every record fetched is delivered or a duplicate");
    assert_eq!(sim.record_ids().len() as f64, delivered);
    assert!(sample(&text, "ocsf_engine_api_responses_total{stream=\"audit\",status=\"200\"}").unwrap() >= 2.0);
    assert!(text.contains("# TYPE ocsf_engine_api_request_duration_seconds histogram"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_lines_with_each_request_at_v_and_silent_with_q() {
    let sim = tenant(200, 9).await;
    let dir = temp_dir("engine-operator", "logs");
    let out = engine_run(&dir, sim.addr(), &["--once", "-v", "--log-format", "json", "--progress-interval", "0"])
        .output()
        .unwrap();
    let (_, stderr) = stdout_and_stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let logs: Vec<serde_json::Value> =
        stderr.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let requests: Vec<&serde_json::Value> = logs.iter().filter(|l| l["message"] == "API request").collect();
    assert!(requests.len() >= 2, "{stderr}");
    assert!(requests.iter().all(|r| r["level"] == "DEBUG" && r["status"] == 200 && r["path"].is_string()));
    let progress: Vec<&serde_json::Value> = logs.iter().filter(|l| l["target"] == "engine::progress").collect();
    assert!(!progress.is_empty(), "progress off a terminal is a log line: {stderr}");
    let last = progress.last().unwrap();
    assert!(
        last["total_ms"].as_u64().unwrap() > 0
            && last["covered_ms"].as_u64().unwrap() <= last["total_ms"].as_u64().unwrap()
    );

    let dir = temp_dir("engine-operator", "quiet");
    let out = engine_run(&dir, sim.addr(), &["--once", "-q"]).output().unwrap();
    let (stdout, stderr) = stdout_and_stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""), "-q prints nothing when all is well");
    assert!(std::fs::read_to_string(dir.join("out/events.ndjson")).unwrap().lines().count() > 0);
    sim.shutdown().await;
}
