//! Records an API serves that a strict parser refuses (invalid UTF-8, a lone surrogate,
//! `1e400`, a 30-digit integer, nesting 200 and 100,000 deep) or that have no usable id (a
//! list, a string, an id missing, null, empty, an object, a list): over real HTTP from the
//! simulator's `poison-records` fault, each is dead-lettered once with its raw text, every
//! other record is delivered once, and neither overlap re-reads, repeated page edges nor a
//! second run write a dead letter again. And a page without records answered without its
//! `results` key is read as an empty page, with a warning.

mod common;

use common::library::{Ready, entrust, quick_options, ready};
use common::pipeline::{engine_run, event_uids, json_lines, once_each, temp_dir};
use common::scripted::{self, recent_record};
use ocsf_engine::runner::checkpoint::CheckpointStore;
use ocsf_engine::runner::summary::Summary;
use ocsf_engine::runner::{Outputs, run_stream};
use ocsf_engine::simulator::{Fault, FaultConfig, SimConfig, SimHandle, start};
use ocsf_engine::sink::{DeadLetterFile, FileSink};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// A tenant whose records all lie more than the spec's settle delay (a minute) in the past.
fn tenant(events: usize, seed: u64, kinds: &[Fault]) -> SimConfig {
    tenant_of(events, seed, kinds, &[])
}

/// The same, serving only the poison `variants` named (all when empty).
fn tenant_of(events: usize, seed: u64, kinds: &[Fault], variants: &[&str]) -> SimConfig {
    SimConfig {
        events,
        seed,
        login_events: false,
        end_time: Some(SystemTime::now() - Duration::from_secs(120)),
        span: Duration::from_secs(2 * 3600),
        faults: FaultConfig {
            kinds: kinds.iter().copied().collect(),
            rate: 0.05,
            poison_variants: variants.iter().map(|v| v.to_string()).collect(),
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

/// One `--once` run into `dir` (events, dead letters, state), resuming from what is there.
async fn run(sim: &SimHandle, dir: &Path) -> Summary {
    let (spec, mut stream) = entrust(Duration::from_secs(1800), Duration::from_secs(600));
    stream.page_size = 25;
    let Ready { params, prepared, mappings } = ready(sim, &spec, &stream, "PT3H");
    let mut sink = FileSink::open(&dir.join("events.ndjson"), 1 << 30, false).expect("file sink");
    let mut dead = DeadLetterFile::new(&dir.join("dead.ndjson"), false);
    let store = CheckpointStore::new(&dir.join("state"), &spec.name, &stream.name);
    let opts = quick_options(40, Duration::from_millis(20), Duration::from_secs(5));
    let (_stop_tx, stop_rx) = watch::channel(false);
    let outputs = Outputs { sink: &mut sink, dead_letters: &mut dead, store: &store };
    run_stream(&spec, &stream, &params, &mappings, &prepared, outputs, &opts, stop_rx)
        .await
        .unwrap_or_else(|f| panic!("the run failed: {}", f.message))
}

/// Every dead letter's record, as text, checked to be an `invalid_record` once each.
fn dead_records(path: &Path) -> Vec<String> {
    let lines = json_lines(path);
    for l in &lines {
        assert_eq!(l["reason"], "invalid_record", "{l}");
    }
    let texts: Vec<String> = lines
        .iter()
        .map(|l| l["record"].as_str().map(String::from).unwrap_or_else(|| l["record"].to_string()))
        .collect();
    once_each("dead letters", &texts);
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_is_dead_lettered_once_and_the_others_delivered() {
    let sim = start(tenant(600, 501, &[Fault::PoisonRecords, Fault::EdgeDuplicates])).await.expect("simulator");
    let poison: BTreeSet<String> = sim.poison_record_ids().into_iter().collect();
    assert!(poison.len() >= 13, "every variant: {}", poison.len());
    let dir = temp_dir("engine-poison", "library");
    let summary = run(&sim, &dir).await;

    let truth: BTreeSet<String> = sim.record_ids().into_iter().collect();
    let events = once_each("events", &event_uids(&dir.join("events.ndjson")));
    let expected: BTreeSet<String> = truth.difference(&poison).cloned().collect();
    assert_eq!(events, expected, "every other record delivered once");
    let dead = dead_records(&dir.join("dead.ndjson"));
    assert_eq!(dead.len(), poison.len(), "each poison record dead-lettered once: {summary:?}");
    for id in &poison {
        assert_eq!(dead.iter().filter(|d| d.contains(id.as_str())).count(), 1, "{id}: its raw text, once");
    }
    assert_eq!(summary.dead_letters.get("invalid_record").copied(), Some(poison.len() as u64), "{summary:?}");
    assert!(summary.duplicates > 0, "overlaps and repeated edges were read again: {summary:?}");

    // What the dead letters say, for a few variants.
    let text = std::fs::read_to_string(dir.join("dead.ndjson")).unwrap();
    for needle in ["\\\\xFF", "\\\\ud83d", "1e400", "123456789012345678901234567890", "levels deep", "no id at `id`"] {
        assert!(text.contains(needle), "no dead letter shows {needle}");
    }

    // A second run over the same state reads the overlap again and writes nothing twice.
    let again = run(&sim, &dir).await;
    assert_eq!(again.total_dead_letters(), 0, "{again:?}");
    assert_eq!(dead_records(&dir.join("dead.ndjson")).len(), poison.len());
    assert_eq!(event_uids(&dir.join("events.ndjson")).len(), expected.len());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_a_usable_id_read_again_in_the_overlap_are_dead_lettered_once() {
    // Valid JSON, only without a usable id: a list, a string, an id missing, null, empty,
    // an object or a list. Windows of 30 minutes re-read 10 minutes of overlap.
    let variants = ["a-list", "a-string", "id-missing", "id-null", "id-empty", "id-object", "id-list"];
    let sim = start(tenant_of(800, 503, &[Fault::PoisonRecords], &variants)).await.expect("simulator");
    let poison: BTreeSet<String> = sim.poison_record_ids().into_iter().collect();
    assert_eq!(poison.len(), 40);
    let dir = temp_dir("engine-poison", "no-id");
    let summary = run(&sim, &dir).await;
    let dead = dead_records(&dir.join("dead.ndjson"));
    assert_eq!(dead.len(), poison.len(), "{summary:?}");
    assert!(summary.duplicates > 0, "the overlap was read again: {summary:?}");
    let truth: BTreeSet<String> = sim.record_ids().into_iter().collect();
    let events = once_each("events", &event_uids(&dir.join("events.ndjson")));
    assert_eq!(events, truth.difference(&poison).cloned().collect());
    let again = run(&sim, &dir).await;
    assert_eq!((again.total_dead_letters(), dead_records(&dir.join("dead.ndjson")).len()), (0, poison.len()));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_run_ends_with_exit_1_and_a_rerun_writes_no_dead_letter_again() {
    let sim = start(tenant(300, 502, &[Fault::PoisonRecords])).await.expect("simulator");
    let poison = sim.poison_record_ids().len();
    let dir = temp_dir("engine-poison", "cli");
    let args = ["--once", "--set", "range=PT3H", "--max-retries", "2"];
    let first = engine_run(&dir, sim.addr(), &args).output().expect("engine runs");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "exit 1, some records dead-lettered:\n{stderr}");
    assert_eq!(dead_records(&dir.join("out/dead.ndjson")).len(), poison, "{stderr}");
    assert_eq!(event_uids(&dir.join("out/events.ndjson")).len(), 300 - poison);

    let second = engine_run(&dir, sim.addr(), &args).output().expect("engine runs");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "nothing new:\n{stderr}");
    assert_eq!(dead_records(&dir.join("out/dead.ndjson")).len(), poison);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_without_its_results_key_is_read_as_empty_with_a_warning() {
    // Records span the last two hours; reading four hours back meets an empty window first.
    let sim = start(tenant(200, 504, &[Fault::NoResultsKey])).await.expect("simulator");
    let dir = temp_dir("engine-poison", "no-results");
    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT4H", "--max-retries", "2"])
        .output()
        .expect("engine runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(sim.fault_counts().get(&Fault::NoResultsKey).copied().unwrap_or(0) > 0, "{:?}", sim.fault_counts());
    assert!(stderr.contains("no record list at `results`: read as a page without records"), "{stderr}");
    let truth: BTreeSet<String> = sim.record_ids().into_iter().collect();
    assert_eq!(once_each("events", &event_uids(&dir.join("out/events.ndjson"))), truth);
    sim.shutdown().await;
}

/// A scripted tenant that answers its login and then `page` to every audit request.
async fn serving(page: String) -> scripted::Scripted {
    scripted::entrust(move |_| page.clone()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_cursor_that_is_not_a_string_or_a_number_is_not_taken_for_the_last_page() {
    for (cursor, kind) in [(r#"{"after":"c2"}"#, "an object"), ("true", "a boolean"), (r#"["c2"]"#, "a list")] {
        let record = recent_record("cursor-1");
        let server = serving(format!(r#"{{"paging":{{"nextCursor":{cursor}}},"results":[{record}]}}"#)).await;
        let dir = temp_dir("engine-poison", "odd-cursor");
        let out =
            engine_run(&dir, server.addr, &["--once", "--set", "range=PT1H", "--max-retries", "1"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{cursor}: the records behind it are not given up quietly:\n{stderr}");
        assert!(stderr.contains(&format!("the next cursor is {kind}, not a string or a number")), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_begins_with_a_byte_order_mark_is_read() {
    let record = recent_record("bom-1");
    let server = serving(format!("\u{feff}{{\"paging\":{{\"nextCursor\":null}},\"results\":[{record}]}}")).await;
    let dir = temp_dir("engine-poison", "bom");
    let out = engine_run(&dir, server.addr, &["--once", "--set", "range=PT1H", "--max-retries", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(event_uids(&dir.join("out/events.ndjson")), ["bom-1"]);
}
