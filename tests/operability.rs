//! Small things an operator meets with `engine run`, each over the real binary: the README's
//! `--simulate-faults all` demo meets every fault it names, an `--output` that is a directory
//! is refused before anything connects, and a progress report's text and fields agree.

mod common;

use common::pipeline::{engine_run, event_uids, once_each, root, temp_dir};
use ocsf_engine::simulator::{Fault, SimConfig, start};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// A simulated tenant of `events` records over the `hours` before two minutes ago.
async fn tenant(events: usize, seed: u64, hours: u64) -> ocsf_engine::simulator::SimHandle {
    start(SimConfig {
        events,
        seed,
        end_time: Some(SystemTime::now() - Duration::from_secs(120)),
        span: Duration::from_secs(hours * 3600),
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

#[test]
fn the_simulate_faults_all_demo_meets_every_fault_it_names() {
    let dir = temp_dir("engine-operability", "demo");
    // The README's command, as written (the default 1,000 events).
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .args(["run", root().join("sources/entrust.yaml").to_str().unwrap()])
        .args(["--simulate", "--once", "--simulate-faults", "all"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report = stderr.lines().find_map(|l| l.strip_prefix("simulated faults:")).expect("the faults are reported");
    let counts: Vec<(&str, u64)> = report
        .split(',')
        .map(|item| {
            let (name, n) = item.trim().split_once(" \u{d7}").unwrap_or_else(|| panic!("{item}"));
            (name, n.parse().unwrap())
        })
        .collect();
    let names: Vec<&str> = counts.iter().map(|(n, _)| *n).collect();
    let mut all: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
    all.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, all, "the report names every fault of `all`");
    let never: Vec<&str> = counts.iter().filter(|(_, n)| *n == 0).map(|(name, _)| *name).collect();
    assert!(never.is_empty(), "faults the demo never injected: {never:?}\n{stderr}");
    // The README's words: throttling, server errors, expired tokens, slow and cut-off
    // responses, repeated and late records; and the run rode them out.
    assert!(stderr.contains("HTTP 429") && stderr.contains("HTTP 500") && stderr.contains("retry 1 of 8"), "{stderr}");
    let uids = event_uids(&dir.join("ocsf-events.simulated.ndjson"));
    assert!(uids.len() >= 1000, "{}", uids.len());
    once_each("events", &uids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_that_is_a_directory_is_refused_before_anything_connects() {
    // A listener that would see any connection the run made.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = temp_dir("engine-operability", "output-dir");
    for (flag, path) in [("--output", "out/events.ndjson"), ("--dead-letter", "out/dead.ndjson")] {
        std::fs::create_dir_all(dir.join(path)).unwrap();
        let out = engine_run(&dir, addr, &["--once"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{flag} `{path}` is a directory")), "{stderr}");
        assert!(!stderr.contains("simulated Entrust IDaaS tenant"), "{stderr}");
        std::fs::remove_dir_all(dir.join(path)).unwrap();
    }
    assert!(listener.accept().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock), "nothing connected");
    assert!(!dir.join("state").exists(), "no state was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progress_report_says_in_its_text_what_its_fields_say() {
    let sim = tenant(600, 21, 3).await;
    let dir = temp_dir("engine-operability", "progress");
    let args = ["--once", "--log-format", "json", "--progress-interval", "0", "--batch-max-events", "7"];
    let out = engine_run(&dir, sim.addr(), &[&args[..], &["--set", "range=PT4H"]].concat()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let reports: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["target"] == "engine::progress")
        .collect();
    assert!(reports.len() >= 3, "{stderr}");
    // Batches of 7 leave events pending at most reports: the text counts them as the field does.
    for r in &reports {
        let text = r["message"].as_str().unwrap();
        let expected = format!("engine run: {} events, {} dead letters,", r["events"], r["dead_letters"]);
        assert!(text.starts_with(&expected), "{text} vs {r}");
    }
    sim.shutdown().await;
}

/// A copy of the Entrust spec in `dir` that polls every second and reads up to a second ago,
/// with the repository's mappings.
fn quick_spec(dir: &std::path::Path) -> std::path::PathBuf {
    let spec = std::fs::read_to_string(root().join("sources/entrust.yaml"))
        .unwrap()
        .replace("mappings: ../mappings/entrust", &format!("mappings: {}", root().join("mappings/entrust").display()))
        .replace("settle_delay: PT1M", "settle_delay: PT1S")
        .replace("poll_interval: PT1M", "poll_interval: PT1S");
    let path = dir.join("entrust.yaml");
    std::fs::write(&path, spec).unwrap();
    path
}

/// Polls `done` every 50 ms until it holds; panics after `limit`.
async fn until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let began = std::time::Instant::now();
    while !done().await {
        assert!(began.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_probes_follow_the_login_and_the_polls_and_an_idle_poll_says_so() {
    use std::io::BufRead;
    let sim = tenant(120, 23, 2).await;
    let dir = temp_dir("engine-operability", "health");
    let spec = quick_spec(&dir);
    // Nothing is answered until released: the run cannot log in yet.
    sim.hold_requests();
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .args(["run", spec.to_str().unwrap(), "--simulate-at", &sim.addr().to_string()])
        .args(["--state-dir", "state", "--output", "events.ndjson", "--set", "range=PT3H"])
        .args(["--metrics-addr", "127.0.0.1:0", "--progress-interval", "0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the run logs the metrics address").unwrap();
        if let Some(rest) = line.split("metrics at http://").nth(1) {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    let log = common::pipeline::gather_lines(lines);
    let client = reqwest::Client::new();
    let probe = async |path: &str| {
        let r = client.get(format!("http://{addr}{path}")).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    sim.requests_held(1).await;
    assert_eq!(probe("/healthz").await, (200, "ok\n".to_string()));
    assert_eq!(probe("/readyz").await, (503, "not ready: no poll has succeeded yet\n".to_string()));

    sim.release_requests();
    until(Duration::from_secs(30), "ready", async || probe("/readyz").await.0 == 200).await;
    // Caught up: the next polls read nothing, and say so.
    until(Duration::from_secs(30), "a heartbeat", async || log.lock().unwrap().contains("polled: nothing new")).await;
    let heartbeat = log.lock().unwrap().lines().find(|l| l.contains("polled: nothing new")).unwrap().to_string();
    assert!(heartbeat.contains("caught up to 20") && heartbeat.contains("next poll in PT1S"), "{heartbeat}");

    // The API stops answering: two poll intervals later the run is not ready, and says why.
    sim.hold_requests();
    until(Duration::from_secs(30), "not ready", async || probe("/readyz").await.0 == 503).await;
    let (_, why) = probe("/readyz").await;
    assert!(why.starts_with("not ready: the last successful poll was ") && why.contains("(2 s)"), "{why}");
    assert_eq!(probe("/healthz").await.0, 200, "alive all the same");
    sim.release_requests();
    until(Duration::from_secs(30), "ready again", async || probe("/readyz").await.0 == 200).await;

    common::pipeline::signal(&child, "TERM");
    let status = common::pipeline::wait_at_most(&mut child, Duration::from_secs(10)).expect("stops");
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());
    once_each("events", &event_uids(&dir.join("events.ndjson")));
    sim.shutdown().await;
}
