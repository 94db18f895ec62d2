//! Reading several windows at once (`concurrency`), over real loopback HTTP against the
//! simulator: the page requests really are in flight together (held by the simulator until
//! they all arrived), never more than the limit, delivered in order and exactly once; the
//! host's budget halves on 429 and is shared by two runs of one tenant.

mod common;

use common::library::{MemorySink, Ready, once_each, quick_options, ready, uids};
use common::pipeline::temp_dir;
use ocsf_engine::runner::budget::Budget;
use ocsf_engine::runner::checkpoint::CheckpointStore;
use ocsf_engine::runner::clock::Clock;
use ocsf_engine::runner::summary::Summary;
use ocsf_engine::runner::{Outputs, RunOptions, run_stream};
use ocsf_engine::simulator::{Fault, FaultConfig, SimConfig, SimHandle, start};
use ocsf_engine::sink::DeadLetterFile;
use ocsf_engine::source::SourceSpec;
use ocsf_engine::source::stream::StreamSpec;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::watch;

const END_MS: i64 = 1_764_547_200_000; // 2025-12-01T00:00:00Z

async fn tenant(events: usize, seed: u64, faults: FaultConfig, page_latency: Duration) -> SimHandle {
    let cfg = SimConfig {
        events,
        seed,
        login_events: false,
        end_time: Some(UNIX_EPOCH + Duration::from_millis(END_MS as u64)),
        span: Duration::from_secs(6 * 3600),
        faults,
        page_latency,
        ..SimConfig::default()
    };
    start(cfg).await.expect("simulator")
}

/// Windows of 15 minutes over the tenant's six hours: 24 and more windows to read.
fn stream() -> (SourceSpec, StreamSpec) {
    let (spec, mut stream) = common::library::entrust(Duration::from_secs(900), Duration::from_secs(120));
    stream.page_size = 25;
    (spec, stream)
}

struct Ran {
    lines: Vec<String>,
    summary: Summary,
}

async fn run(sim: &SimHandle, (spec, stream): &(SourceSpec, StreamSpec), state: &Path, concurrency: usize) -> Ran {
    let Ready { params, prepared, mappings } = ready(sim, spec, stream, "PT7H");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (_stop_tx, stop_rx) = watch::channel(false);
    let mut sink = MemorySink(Arc::clone(&lines));
    let mut dead = DeadLetterFile::new(&state.join("dead.ndjson"), false);
    let store = CheckpointStore::new(state, &spec.name, &stream.name);
    let opts = RunOptions {
        clock: Clock::fixed(END_MS + 60_000),
        concurrency: Some(concurrency),
        ..quick_options(50, Duration::from_millis(20), Duration::from_secs(10))
    };
    let outputs = Outputs { sink: &mut sink, dead_letters: &mut dead, store: &store };
    let summary = run_stream(spec, stream, &params, &mappings, &prepared, outputs, &opts, stop_rx)
        .await
        .unwrap_or_else(|f| panic!("run failed: {}", f.message));
    let lines = lines.lock().unwrap().clone();
    Ran { lines, summary }
}

fn truth(sim: &SimHandle) -> BTreeSet<String> {
    sim.record_ids().into_iter().collect()
}

/// Waits for `n` page requests held at the simulator, failing (not hanging) if they never come.
async fn held(sim: &SimHandle, n: usize) {
    if tokio::time::timeout(Duration::from_secs(60), sim.pages_held(n)).await.is_err() {
        panic!("{n} page requests never were in flight at once (the most: {})", sim.pages_peak());
    }
}

/// Four windows' first pages are asked for before any is answered: the simulator holds page
/// requests until four arrived. The events come out in the order of a sequential read, each
/// once, and never more than four requests were in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_windows_are_read_at_once_and_delivered_in_order() {
    let sim = tenant(1500, 71, FaultConfig::default(), Duration::ZERO).await;
    let s = stream();
    let sequential = run(&sim, &s, &temp_dir("engine-concurrency", "sequential"), 1).await;
    assert_eq!(sim.pages_peak(), 1, "one request at a time at concurrency 1");
    // Yet the next page was on its way while the runner delivered the one before.
    assert!(sequential.summary.read_ahead > 0, "{:?}", sequential.summary);

    sim.hold_pages();
    let state = temp_dir("engine-concurrency", "four");
    let (sim, s) = (Arc::new(sim), Arc::new(s));
    let task = {
        let (sim, s, state) = (Arc::clone(&sim), Arc::clone(&s), state.clone());
        tokio::spawn(async move { run(&sim, &s, &state, 4).await })
    };
    held(&sim, 4).await;
    sim.release_pages();
    let four = task.await.expect("run");
    assert_eq!(sim.pages_peak(), 4, "never more than the concurrency in flight");
    assert_eq!(four.lines, sequential.lines, "the same events in the same order");
    assert_eq!(once_each(&uids(&four.lines)), truth(&sim));
    assert!(four.summary.read_ahead > four.summary.pages / 2, "{:?}", four.summary);
}

/// 429 answers halve the host's limit; every record still arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_halves_the_requests_in_flight_and_nothing_is_lost() {
    let faults = FaultConfig {
        kinds: [Fault::TooManyRequests].into_iter().collect(),
        rate: 0.3,
        retry_after_secs: 0,
        ..FaultConfig::default()
    };
    let sim = tenant(1500, 72, faults, Duration::from_millis(5)).await;
    let s = stream();
    // Held while the run is under way, so that the budget can be read after it.
    let budget = Budget::for_host(&sim.addr().to_string(), 4, None);
    let ran = run(&sim, &s, &temp_dir("engine-concurrency", "throttled"), 4).await;
    assert_eq!(once_each(&uids(&ran.lines)), truth(&sim));
    assert!(sim.fault_counts().get(&Fault::TooManyRequests).copied().unwrap_or(0) > 0);
    assert!(budget.throttled() > 0, "the 429s reached the budget");
    assert!(budget.lowest() < 4, "the limit came down: lowest {}", budget.lowest());
    assert!(sim.pages_peak() <= 4);
}

/// Two runs of one tenant at once (two pipelines of the same host), each at concurrency 2:
/// they share the host's budget, so the tenant never sees more than two page requests at once,
/// and each delivers every record once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_of_one_tenant_share_its_budget() {
    let sim = Arc::new(tenant(1500, 73, FaultConfig::default(), Duration::from_millis(20)).await);
    let s = Arc::new(stream());
    let runs: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let (sim, s) = (Arc::clone(&sim), Arc::clone(&s));
            let state = temp_dir("engine-concurrency", &format!("shared-{name}"));
            tokio::spawn(async move { run(&sim, &s, &state, 2).await })
        })
        .collect();
    for r in runs {
        let ran = r.await.expect("run");
        assert_eq!(once_each(&uids(&ran.lines)), truth(&sim));
        assert!(ran.summary.read_ahead > 0, "{:?}", ran.summary);
    }
    assert!(sim.pages_peak() <= 2, "the tenant saw {} page requests at once", sim.pages_peak());
}
