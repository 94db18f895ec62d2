//! The fault matrix: every fault the simulator can inject, one at a time and all together,
//! through the real collection path into the file sink — nothing lost, nothing twice, retries
//! bounded by the faults met — and the clear exit-3 failures of `engine run` when the API
//! stays down, cannot be reached, or refuses the credentials, without a secret in the message.

mod common;

use common::library::{Ready, entrust, quick_options, ready};
use common::pipeline::{assert_exactly_once, dead_letter_ids, engine_run, event_uids, temp_dir};
use ocsf_engine::runner::checkpoint::CheckpointStore;
use ocsf_engine::runner::clock::Clock;
use ocsf_engine::runner::summary::Summary;
use ocsf_engine::runner::{Outputs, RunOptions, run_stream};
use ocsf_engine::simulator::{DEMO_SHARED_SECRET, Fault, FaultConfig, SimConfig, SimHandle, start};
use ocsf_engine::sink::{DeadLetterFile, FileSink};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

fn tenant(events: usize, seed: u64, kinds: &[Fault], rate: f64, slow: Duration) -> SimConfig {
    SimConfig {
        events,
        seed,
        login_events: false,
        issuance_share: 0.05,
        // On a whole second, ten seconds ago: the run's clock is fixed from it (`run`).
        end_time: Some(
            UNIX_EPOCH + Duration::from_secs(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - 10),
        ),
        span: Duration::from_secs(2 * 3600),
        faults: FaultConfig {
            kinds: kinds.iter().copied().collect(),
            rate,
            slow_delay: slow,
            retry_after_secs: 0,
            late_max_behind: Duration::from_secs(60),
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

/// One `--once` run of the Entrust spec (test-sized windows and pages) into a file sink.
async fn run(sim: &SimHandle, dir: &Path, timeout: Duration) -> Result<Summary, String> {
    let (spec, mut stream) = entrust(Duration::from_secs(1800), Duration::from_secs(300));
    stream.page_size = 40;
    let Ready { params, prepared, mappings } = ready(sim, &spec, &stream, "PT3H");
    let mut sink = FileSink::open(&dir.join("events.ndjson"), 1 << 30, false).expect("file sink");
    let mut dead = DeadLetterFile::new(&dir.join("dead.ndjson"), false);
    let store = CheckpointStore::new(&dir.join("state"), &spec.name, &stream.name);
    // Windows fall in the same places among the records whenever the test runs: the run's
    // clock is fixed a minute after the tenant's last record, not read from the wall.
    let end = sim.config().end_time.expect("an end time").duration_since(UNIX_EPOCH).unwrap();
    let opts = RunOptions {
        clock: Clock::fixed(end.as_millis() as i64 + 60_000),
        ..quick_options(30, Duration::from_millis(40), timeout)
    };
    let (_stop_tx, stop_rx) = watch::channel(false);
    let outputs = Outputs { sink: &mut sink, dead_letters: &mut dead, store: &store };
    run_stream(&spec, &stream, &params, &mappings, &prepared, outputs, &opts, stop_rx).await.map_err(|f| f.message)
}

/// How the simulator misbehaves in one case of the matrix.
struct Case<'a> {
    tag: &'a str,
    events: usize,
    seed: u64,
    kinds: &'a [Fault],
    rate: f64,
    slow: Duration,
    /// The client's timeout per request.
    timeout: Duration,
}

/// Runs a tenant through a case and checks the output; returns the summary.
async fn through(case: Case<'_>) -> Summary {
    let Case { tag, events, seed, kinds, rate, slow, timeout } = case;
    let sim = start(tenant(events, seed, kinds, rate, slow)).await.expect("simulator");
    let dir = temp_dir("engine-faults", tag);
    let summary = run(&sim, &dir, timeout).await.unwrap_or_else(|e| panic!("{tag}: the run failed: {e}"));
    let counts = sim.fault_counts();
    for f in kinds {
        assert!(counts.get(f).copied().unwrap_or(0) > 0, "{tag}: {f} never injected: {counts:?}");
    }
    let events = event_uids(&dir.join("events.ndjson"));
    let dead = dead_letter_ids(&dir.join("dead.ndjson"));
    // Records inserted behind a cursor already passed (late records) are returned only by a
    // later read of their window; everything else is delivered once.
    let late: BTreeSet<String> = sim.late_record_ids().into_iter().collect();
    let truth: BTreeSet<String> = sim.record_ids().into_iter().filter(|id| !late.contains(id)).collect();
    let delivered: Vec<String> = events.iter().chain(&dead).filter(|id| !late.contains(*id)).cloned().collect();
    assert_exactly_once(&delivered, &[], &truth);
    common::pipeline::once_each(tag, &[events, dead].concat());

    // Retries are bounded by what failed: at most one per failing answer the simulator gave
    // (a slow answer fails when it is slower than the client's timeout).
    let fails = |f: &Fault| f.fails_request() || (*f == Fault::Slow && slow > timeout);
    let failing: u64 = counts.iter().filter(|(f, _)| fails(f)).map(|(_, n)| n).sum();
    assert!(summary.retries <= failing, "{tag}: {} retries for {failing} failing answers", summary.retries);
    sim.shutdown().await;
    summary
}

const QUICK: Duration = Duration::from_millis(20);
const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_alone_loses_and_repeats_nothing_with_bounded_retries() {
    for (i, f) in Fault::ALL.into_iter().enumerate() {
        let case = Case {
            tag: f.name(),
            events: 500,
            seed: 100 + i as u64,
            kinds: &[f],
            rate: 0.3,
            slow: QUICK,
            timeout: TIMEOUT,
        };
        let s = through(case).await;
        if f.fails_request() && f != Fault::ExpireToken {
            assert!(s.retries > 0, "{f}: retried: {s:?}");
        }
        match f {
            Fault::ExpireToken => assert!(s.unauthorized > 0 && s.logins > 1, "{f}: logged in again: {s:?}"),
            Fault::InvalidCursor => assert!(s.cursor_restarts > 0, "{f}: windows read again: {s:?}"),
            Fault::EdgeDuplicates => assert!(s.duplicates > 0, "{f}: repeats dropped: {s:?}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_slower_than_the_timeout_are_retried() {
    let slow = Duration::from_millis(1_500);
    let case = Case {
        tag: "timeout",
        events: 300,
        seed: 130,
        kinds: &[Fault::Slow],
        rate: 0.2,
        slow,
        timeout: Duration::from_millis(300),
    };
    let s = through(case).await;
    assert!(s.retries > 0, "timeouts retried: {s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_together_loses_and_repeats_nothing_with_bounded_retries() {
    let case =
        Case { tag: "all", events: 2_000, seed: 131, kinds: &Fault::ALL, rate: 0.4, slow: QUICK, timeout: TIMEOUT };
    let s = through(case).await;
    assert!(s.retries > 0 && s.unauthorized > 0 && s.duplicates > 0, "{s:?}");
}

fn engine_fails(dir: &Path, addr: std::net::SocketAddr, extra: &[&str]) -> String {
    let out =
        engine_run(dir, addr, &[&["--once", "--max-retries", "2"], extra].concat()).output().expect("engine runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "exit 3:\n{stderr}");
    for secret in [DEMO_SHARED_SECRET, "wrong-shared-secret"] {
        assert!(!stderr.contains(secret) && !stdout.contains(secret), "a secret in the output:\n{stderr}");
    }
    assert!(stderr.contains("engine run: error:"), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_stays_down_ends_the_run_with_exit_3_after_bounded_retries() {
    let mut cfg = tenant(100, 132, &[Fault::ServiceUnavailable], 1.0, QUICK);
    cfg.faults.max_consecutive = u32::MAX;
    let sim = start(cfg).await.expect("simulator");
    let dir = temp_dir("engine-faults", "down");
    let stderr = engine_fails(&dir, sim.addr(), &[]);
    assert!(stderr.contains("gave up after 3 attempts") && stderr.contains("HTTP 503"), "{stderr}");
    assert!(stderr.contains("(2 retries"), "the summary counts the retries: {stderr}");
    assert_eq!(sim.fault_counts().get(&Fault::ServiceUnavailable).copied(), Some(3), "three attempts, no more");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_cannot_be_reached_ends_the_run_with_exit_3() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dir = temp_dir("engine-faults", "closed");
    let stderr = engine_fails(&dir, closed, &[]);
    assert!(stderr.contains("gave up after 3 attempts") && stderr.contains("could not connect"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_end_the_run_with_exit_3_and_no_secret_in_the_message() {
    let sim = start(tenant(100, 133, &[], 0.0, QUICK)).await.expect("simulator");
    let dir = temp_dir("engine-faults", "credentials");
    let stderr = engine_fails(&dir, sim.addr(), &["--set", "client_secret=wrong-shared-secret"]);
    assert!(stderr.contains("login failed") && stderr.contains("HTTP 401 access_denied"), "{stderr}");
    assert!(stderr.contains("check the credentials parameters"), "{stderr}");
    assert!(!dir.join("out/events.ndjson").exists() || event_uids(&dir.join("out/events.ndjson")).is_empty());
    sim.shutdown().await;
}
