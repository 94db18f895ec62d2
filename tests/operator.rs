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
    let state_files = |dir: &std::path::Path| {
        let mut files: Vec<(std::ffi::OsString, Vec<u8>)> = std::fs::read_dir(dir.join("state/entrust_idaas"))
            .unwrap()
            .flatten()
            .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
            .collect();
        files.sort();
        files
    };
    let state_before = state_files(&dir);
    assert!(state_before.iter().any(|(name, _)| name.to_string_lossy().contains(".seen.")), "a dedup journal");
    let events_before = std::fs::read(dir.join("out/events.ndjson")).unwrap();
    let again = engine_run(&dir, sim.addr(), &["--dry-run"]).output().unwrap();
    let (stdout, stderr) = stdout_and_stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("# position:     resume from "), "{stdout}");
    assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
    assert!(state_files(&dir) == state_before, "the checkpoint and its journal stay as they were");
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
    // Pages fetched ahead of the runner are requests like the others, marked as such.
    assert!(requests.iter().any(|r| r["read_ahead"] == true && r["outcome"] == "ok"), "{stderr}");
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

/// Copies `src` to `dst` recursively.
fn copy_tree(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

/// Waits until `done` holds, reading nothing; panics after `limit`.
async fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let began = std::time::Instant::now();
    while !done() {
        assert!(began.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_mappings_are_loaded_again_between_batches_and_a_broken_edit_is_refused() {
    let root = common::pipeline::root();
    let dir = temp_dir("engine-operator", "watch");
    // A copy of the source whose stream polls every second and reads up to a second ago.
    copy_tree(&root.join("mappings/entrust"), &dir.join("mappings/entrust"));
    std::fs::copy(root.join("mappings/_mapping.schema.json"), dir.join("mappings/_mapping.schema.json")).unwrap();
    std::fs::create_dir_all(dir.join("sources")).unwrap();
    let spec = std::fs::read_to_string(root.join("sources/entrust.yaml"))
        .unwrap()
        .replace("settle_delay: PT1M", "settle_delay: PT1S")
        .replace("poll_interval: PT1M", "poll_interval: PT1S");
    std::fs::write(dir.join("sources/entrust.yaml"), spec).unwrap();
    let base = dir.join("mappings/entrust/_base.yaml");
    let original = std::fs::read_to_string(&base).unwrap();

    let sim = tenant(150, 11).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .args(["run", "sources/entrust.yaml", "--watch", "--simulate-at", &sim.addr().to_string()])
        .args(["--state-dir", "state", "--output", "events.ndjson", "--set", "range=PT3H"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = common::pipeline::gather_lines(BufReader::new(child.stderr.take().unwrap()).lines());
    let events = || common::pipeline::json_lines(&dir.join("events.ndjson"));
    let logged = |text: &str| log.lock().unwrap().contains(text);
    let count = sim.record_ids().len();
    until(Duration::from_secs(30), "the first catch-up", || events().len() >= count).await;

    // A broken edit: reported with its place, and the mappings in force stay.
    std::fs::write(&base, format!("{original}\nbogus_key: true\n")).unwrap();
    until(Duration::from_secs(20), "the refusal", || logged("do not load")).await;
    assert!(logged("bogus_key") && logged("_base.yaml:"), "{}", log.lock().unwrap());
    let during = sim.append_events(5);
    until(Duration::from_secs(20), "records read under the old mappings", || events().len() >= count + 5).await;

    // A good edit: the next batches use it.
    std::fs::write(
        &base,
        original.replace("fields:\n", "fields:\n  metadata.labels: { list: [{ value: watched }] }\n"),
    )
    .unwrap();
    until(Duration::from_secs(20), "the reload", || logged("loaded again")).await;
    let after = sim.append_events(5);
    until(Duration::from_secs(20), "records read under the new mappings", || events().len() >= count + 10).await;
    signal(&child, "TERM");
    assert!(wait_at_most(&mut child, Duration::from_secs(10)).is_some());

    let all = events();
    let by_id = |id: &String| all.iter().find(|e| e["metadata"]["uid"] == id.as_str()).unwrap();
    for id in &during {
        assert!(by_id(id)["metadata"].get("labels").is_none(), "{id} was mapped while the edit was broken");
    }
    for id in &after {
        assert_eq!(by_id(id)["metadata"]["labels"], serde_json::json!(["watched"]), "{id}");
    }
    let hash = |id: &String| by_id(id)["metadata"]["transformation_info_list"][0]["uid"].clone();
    assert_ne!(hash(&during[0]), hash(&after[0]), "the content hash names the new rules");
    // Nothing lost or repeated across the reloads.
    let mut ids: Vec<String> = all.iter().map(|e| e["metadata"]["uid"].as_str().unwrap().to_string()).collect();
    ids.sort();
    let mut truth = sim.record_ids();
    truth.sort();
    assert_eq!(ids, truth);
    sim.shutdown().await;
}
