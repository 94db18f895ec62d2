//! Small things an operator meets with `engine run`, each over the real binary: the README's
//! `--simulate-faults all` demo meets every fault it names, an `--output` that is a directory
//! is refused before anything connects, and a progress report's text and fields agree.

mod common;

use common::pipeline::{engine_run, event_uids, once_each, root, temp_dir};
use ocsf_engine::simulator::{Fault, SimConfig, start};
use std::process::Command;
use std::time::{Duration, SystemTime};

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
    let sim = start(SimConfig {
        events: 600,
        seed: 21,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(3 * 3600),
        ..SimConfig::default()
    })
    .await
    .unwrap();
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
