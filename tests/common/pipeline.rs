//! Helpers for tests that run the real `engine` binary against a simulator held by the test
//! (reached with `--simulate-at`): the command line, signals, and reading back what a run
//! left in its output and dead-letter files.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `engine run sources/entrust.yaml --simulate-at ADDR --state-dir … --output … --dead-letter …`
/// with `extra` arguments, run in `dir`.
pub fn engine_run(dir: &Path, addr: std::net::SocketAddr, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
    cmd.current_dir(dir)
        .arg("run")
        .arg(root().join("sources/entrust.yaml"))
        .args(["--simulate-at", &addr.to_string()])
        .args(["--state-dir", "state", "--output", "out/events.ndjson", "--dead-letter", "out/dead.ndjson"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Sends `signal` (`TERM`, `INT`) to a process with the `kill` command.
pub fn signal(child: &Child, signal: &str) {
    let status =
        Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().expect("kill runs");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits for `child` at most `limit`; `None` when it is still running then.
pub fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let began = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if began.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A simulated tenant of `events` records over the `hours` before two minutes ago.
pub async fn tenant(events: usize, seed: u64, hours: u64) -> ocsf_engine::simulator::SimHandle {
    ocsf_engine::simulator::start(ocsf_engine::simulator::SimConfig {
        events,
        seed,
        end_time: Some(std::time::SystemTime::now() - Duration::from_secs(120)),
        span: Duration::from_secs(hours * 3600),
        ..ocsf_engine::simulator::SimConfig::default()
    })
    .await
    .expect("simulator")
}

/// A copy of the Entrust spec in `dir` that polls every second and reads up to a second ago,
/// with the repository's mappings.
pub fn quick_spec(dir: &std::path::Path) -> std::path::PathBuf {
    let spec = std::fs::read_to_string(root().join("sources/entrust.yaml"))
        .unwrap()
        .replace("mappings: ../mappings/entrust", &format!("mappings: {}", root().join("mappings/entrust").display()))
        .replace("settle_delay: PT1M", "settle_delay: PT1S")
        .replace("poll_interval: PT1M", "poll_interval: PT1S");
    let path = dir.join("entrust.yaml");
    std::fs::write(&path, spec).unwrap();
    path
}

/// Gathers the lines `lines` yields into a shared text, on a thread of its own.
pub fn gather_lines<R: std::io::BufRead + Send + 'static>(
    lines: std::io::Lines<R>,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

/// Standard error of a finished child.
pub fn stderr_of(child: Child) -> String {
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every line of a JSON-lines file, each checked to be whole JSON.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(text.is_empty() || text.ends_with('\n'), "{} ends with a torn line", path.display());
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", path.display())))
        .collect()
}

/// The `metadata.uid` of every event in an output file, in order.
pub fn event_uids(path: &Path) -> Vec<String> {
    json_lines(path).iter().map(|v| v["metadata"]["uid"].as_str().expect("metadata.uid").to_string()).collect()
}

/// The record id of every dead letter in a dead-letter file, in order.
pub fn dead_letter_ids(path: &Path) -> Vec<String> {
    json_lines(path).iter().map(|v| v["record"]["id"].as_str().expect("record.id").to_string()).collect()
}

/// The ids, checked to be there once each.
pub fn once_each(what: &str, ids: &[String]) -> BTreeSet<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: {} delivered more than once, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );
    ids.iter().cloned().collect()
}

/// Checks that every id of `truth` is in exactly one of the events and the dead letters, once.
pub fn assert_exactly_once(events: &[String], dead: &[String], truth: &BTreeSet<String>) {
    let e = once_each("events", events);
    let d = once_each("dead letters", dead);
    assert!(e.is_disjoint(&d), "both delivered and dead-lettered: {:?}", e.intersection(&d).collect::<Vec<_>>());
    let all: BTreeSet<String> = e.union(&d).cloned().collect();
    let missing: Vec<_> = truth.difference(&all).collect();
    let foreign: Vec<_> = all.difference(truth).collect();
    assert!(missing.is_empty(), "{} records lost: {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert!(foreign.is_empty(), "records not of the tenant: {foreign:?}");
}

/// A small seeded generator for kill moments (xorshift).
pub struct Moments(u64);

impl Moments {
    pub fn new(seed: u64) -> Self {
        Moments(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A duration between `lo` and `hi`.
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.saturating_sub(lo).as_micros().max(1) as u64;
        lo + Duration::from_micros(self.next() % span)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Moves the position of the checkpoint in `dir` back by a minute, as if its run had ended a
/// minute earlier, so that the next run has a window due whatever the wall clock says when it
/// starts (a run started within the settle delay of the last one rightly reads nothing). A
/// minute is less than the overlap, whose ids the checkpoint keeps. Returns the new watermark,
/// after which records inserted are new to the next run.
pub fn rewind_checkpoint(dir: &Path) -> i64 {
    let checkpoint = dir.join("state/entrust_idaas/audit.checkpoint.json");
    let mut saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    let a_minute = 60_000;
    for key in ["watermark_ms", "resume_from_ms"] {
        saved[key] = (saved[key].as_i64().expect("a position") - a_minute).into();
    }
    std::fs::write(&checkpoint, serde_json::to_vec(&saved).unwrap()).unwrap();
    saved["watermark_ms"].as_i64().unwrap()
}
