//! Small things an operator meets with `engine run`, each over the real binary: the README's
//! `--simulate-faults all` demo meets every fault it names, an `--output` that is a directory
//! is refused before anything connects, and a progress report's text and fields agree.

mod common;

use common::pipeline::{engine_run, event_uids, once_each, root, signal, temp_dir, wait_at_most};
use ocsf_engine::simulator::Fault;
use std::process::Command;
use std::time::Duration;

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
    let sim = common::pipeline::tenant(600, 21, 3).await;
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
    let sim = common::pipeline::tenant(120, 23, 2).await;
    let dir = temp_dir("engine-operability", "health");
    let spec = common::pipeline::quick_spec(&dir);
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
    // The 10-second stop is the crash tests' to prove; here only that it stops cleanly.
    let status = common::pipeline::wait_at_most(&mut child, Duration::from_secs(30)).expect("stops");
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());
    once_each("events", &event_uids(&dir.join("events.ndjson")));
    sim.shutdown().await;
}

/// Every line of `text`, each parsed as JSON (a line that is not is a failure).
fn json_lines_of(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{text}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_json_logs_the_summary_the_errors_and_the_final_line_are_json_too() {
    let sim = common::pipeline::tenant(150, 29, 2).await;
    let dir = temp_dir("engine-operability", "json");
    let json = ["--log-format", "json", "--progress-interval", "0"];
    // A run that finishes: every line is JSON, the last the summary, also in --summary-file.
    let out = engine_run(&dir, sim.addr(), &[&json[..], &["--once", "--summary-file", "summary.json"]].concat())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = json_lines_of(&stderr);
    let summary = lines.last().unwrap();
    assert_eq!((summary["target"].as_str(), summary["outcome"].as_str()), (Some("engine::summary"), Some("done")));
    let delivered = event_uids(&dir.join("out/events.ndjson")).len();
    assert_eq!(summary["events"]["total"], delivered);
    assert_eq!(summary["exit_code"], 0);
    assert!(summary["state"].as_str().unwrap().contains("checkpoint"), "{summary}");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(&file, summary);

    // Configuration errors: one JSON line each with its place and help, then the count.
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(root())
        .args(["--log-format", "json", "run", "sources/entrust.yaml", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines_of(&String::from_utf8_lossy(&out.stderr));
    let errors: Vec<&serde_json::Value> = lines.iter().filter(|l| l["code"] == "E408").collect();
    assert_eq!(errors.len(), 3, "{lines:?}");
    assert!(errors.iter().all(|e| e["file"].as_str().unwrap().ends_with("sources/entrust.yaml")
        && e["line"].as_u64().is_some()
        && e["column"].as_u64().is_some()
        && e["help"].as_str().unwrap().starts_with("pass --set ")));
    assert_eq!(lines.last().unwrap()["message"], "3 errors found");
    let out = engine_run(&dir, sim.addr(), &[&json[..], &["--once", "--log-group", "g"]].concat()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines_of(&String::from_utf8_lossy(&out.stderr));
    assert!(lines[0]["message"].as_str().unwrap().contains("--log-group needs --sink cloudwatch_logs"), "{lines:?}");

    // A run that fails: the summary says so, and the final error line is JSON with the state.
    let failing = ["--once", "--set", "client_secret=wrong", "--summary-file", "failed.json"];
    let out = engine_run(&dir, sim.addr(), &[&json[..], &failing[..]].concat()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let lines = json_lines_of(&stderr);
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR");
    assert!(last["message"].as_str().unwrap().contains("login failed"), "{last}");
    assert!(last["state"].as_str().unwrap().contains("checkpoint"), "{last}");
    let summary = &lines[lines.len() - 2];
    assert_eq!((summary["outcome"].as_str(), summary["exit_code"].as_u64()), (Some("failed"), Some(3)));
    assert_eq!(summary["error"], last["message"]);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("failed.json")).unwrap()).unwrap();
    assert_eq!(file["outcome"], "failed");

    // Text logs with --summary json: the table gives way to one JSON object.
    let out = engine_run(&dir, sim.addr(), &["--once", "--summary", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("duplicates dropped:"), "{stderr}");
    let last: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["target"], "engine::summary");
    sim.shutdown().await;
}

/// With JSON logs, a usage error clap finds and the lines about stop signals are JSON too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_json_logs_usage_errors_and_signal_lines_are_json() {
    for args in [&["--log-format", "json", "run", "--bogus"][..], &["run", "--log-format=json", "--bogus"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let lines = json_lines_of(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!((lines[0]["level"].as_str(), lines[0]["code"].as_str()), (Some("ERROR"), Some("usage")));
        assert!(lines[0]["message"].as_str().unwrap().contains("'--bogus'"), "{lines:?}");
        assert!(lines[0]["usage"].as_str().unwrap().starts_with("engine run"), "{lines:?}");
    }
    // Text logs keep clap's own text.
    let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(["run", "--bogus"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: unexpected argument"));

    // Parked between a send and its commit, stopped by SIGTERM, then at once by a second one.
    let sim = common::pipeline::tenant(150, 31, 2).await;
    let dir = temp_dir("engine-operability", "json-signals");
    let log = dir.join("stderr");
    let mut child = engine_run(&dir, sim.addr(), &["--log-format", "json", "--progress-interval", "0"])
        .env("ENGINE_PAUSE_AT", "sent:1")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    until(Duration::from_secs(60), "the run to park", async || read().contains("ENGINE_PAUSE_AT: parked")).await;
    signal(&child, "TERM");
    until(Duration::from_secs(10), "the stopping line", async || read().contains("stopping after the batch")).await;
    signal(&child, "TERM");
    let status = wait_at_most(&mut child, Duration::from_secs(10)).expect("stopped at once");
    assert_eq!(status.code(), Some(130), "{}", read());
    let text = read();
    let about: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.contains("SIGTERM") || l.contains("stopped at once"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(about.len(), 2, "{text}");
    assert!(about[0]["message"].as_str().unwrap().starts_with("SIGTERM: stopping after the batch in flight"));
    assert!(about[1]["message"].as_str().unwrap().starts_with("stopped at once"), "{text}");
    sim.shutdown().await;
}

#[test]
fn a_missing_aws_region_or_credentials_is_one_sentence_saying_what_to_set() {
    let dir = temp_dir("engine-operability", "aws");
    std::fs::write(dir.join("empty"), "").unwrap();
    let run = |region: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
        cmd.current_dir(&dir)
            .args(["run", root().join("sources/entrust.yaml").to_str().unwrap(), "--simulate", "--once"])
            .args(["--simulate-events", "10", "--sink", "cloudwatch_logs", "--log-group", "/ocsf/test"]);
        for var in [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", &dir).env("AWS_EC2_METADATA_DISABLED", "true");
        cmd.env("AWS_CONFIG_FILE", dir.join("empty")).env("AWS_SHARED_CREDENTIALS_FILE", dir.join("empty"));
        if let Some(r) = region {
            cmd.env("AWS_REGION", r);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for (region, says) in [(None, "no AWS region"), (Some("us-east-1"), "no AWS credentials")] {
        let (code, stderr) = run(region);
        assert_eq!(code, Some(2), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].starts_with(&format!("engine run: error: {says} for the CloudWatch Logs sink: set AWS_")));
        for dump in ["ProviderChainError", "DispatchFailure", "CredentialsNotLoaded", "{", "Attempted"] {
            assert!(!stderr.contains(dump), "the SDK's debug output reached the user: {stderr}");
        }
    }
}
