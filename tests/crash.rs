//! Exactly-once output across crashes and stops, with the real `engine` binary: runs killed
//! with SIGKILL at seeded random moments (mid-page, mid-batch, mid-checkpoint) and restarted
//! with the same state, into a file, into CloudWatch Logs and into Security Lake objects on S3
//! (moto, the objects read back with pyarrow); runs stopped with SIGTERM
//! and SIGINT; and damaged state or output refused rather than reset.
//!
//! The simulator lives in the test process, so it outlives every killed engine and holds the
//! ground truth (`SimHandle::record_ids`); the engine reaches it with `--simulate-at`.

#![allow(
    clippy::await_holding_lock,
    reason = "each test has its own runtime; the std guard only makes the tests take turns"
)]

mod common;

use common::moto::{Moto, download, log_event_uids};
use common::pipeline::{
    Moments, assert_exactly_once, dead_letter_ids, engine_run, event_uids, json_lines, signal, stderr_of, temp_dir,
    wait_at_most,
};
use common::pyarrow;
use ocsf_engine::simulator::{Fault, FaultConfig, SimConfig, SimHandle, start};
use ocsf_engine::source::timefmt::parse_instant;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime};

/// A tenant that holds still for the whole test: no login records, records that end a few
/// minutes ago (past the spec's settle delay), a share of ISSUANCE records that are
/// dead-lettered, and request faults that make the client wait and retry.
fn tenant(events: usize, seed: u64, faults: &[Fault], slow_ms: u64) -> SimConfig {
    SimConfig {
        events,
        seed,
        login_events: false,
        issuance_share: 0.05,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(2 * 3600),
        faults: FaultConfig {
            kinds: faults.iter().copied().collect(),
            rate: 0.15,
            slow_delay: Duration::from_millis(slow_ms),
            retry_after_secs: 0,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

const RUN: &[&str] = &["--once", "--batch-max-events", "20", "--set", "range=PT3H"];
/// The batch size `RUN` sets.
const BATCH: usize = 20;

/// The tests of this file take turns, so that their engines do not slow each other down.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn truth(sim: &SimHandle) -> BTreeSet<String> {
    sim.record_ids().into_iter().collect()
}

fn finished(status: ExitStatus, stderr: &str) {
    assert!(matches!(status.code(), Some(0 | 1)), "exit {status}:\n{stderr}");
}

/// Runs to the end without interruption; returns how long it took.
fn run_to_end(dir: &Path, sim: &SimHandle, extra: &[&str], env: &[(&'static str, String)]) -> Duration {
    run_to_end_with_summary(dir, sim, extra, env).0
}

/// [`run_to_end`], with the run's standard error (its summary).
fn run_to_end_with_summary(
    dir: &Path,
    sim: &SimHandle,
    extra: &[&str],
    env: &[(&'static str, String)],
) -> (Duration, String) {
    let began = Instant::now();
    let out = engine_run(dir, sim.addr(), &[RUN, extra].concat())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("engine runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    finished(out.status, &stderr);
    (began.elapsed(), stderr)
}

/// Whether a kill landed between a write and its commit: the output holds bytes past the
/// committed offset, or the checkpoint still holds the write-ahead intent of a batch.
fn killed_before_a_commit(dir: &Path) -> bool {
    let cp = dir.join("state/entrust_idaas/audit.checkpoint.json");
    let Ok(text) = std::fs::read_to_string(cp) else { return false };
    let v: serde_json::Value = serde_json::from_str(&text).expect("a checkpoint is never torn");
    let len = std::fs::metadata(dir.join("out/events.ndjson")).map(|m| m.len()).unwrap_or(0);
    let past_offset = v["sink"]["offset"].as_u64().is_some_and(|committed| len > committed);
    past_offset || v.get("pending").is_some()
}

/// How many records the checkpoint in `dir` counts as delivered, if there is one yet: those
/// of the tenant (record times `times`, sorted) before its resume point, and the ids it holds
/// from there on (in its dedup journal, up to the committed length). The position itself
/// moves only when a whole window is read.
fn delivered(dir: &Path, times: &[i64]) -> Option<usize> {
    let state = dir.join("state/entrust_idaas");
    let text = std::fs::read_to_string(state.join("audit.checkpoint.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).expect("a checkpoint is never torn");
    let resume = v["resume_from_ms"].as_i64()?;
    let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut hold = |e: &serde_json::Value| {
        if let (Some(id), Some(t)) = (e[0].as_str(), e[1].as_i64()) {
            let latest = ids.entry(id.to_string()).or_insert(t);
            *latest = (*latest).max(t);
        }
    };
    v["seen"].as_array().into_iter().flatten().for_each(&mut hold);
    if let (Some(generation), Some(len)) = (v["journal"]["generation"].as_u64(), v["journal"]["len"].as_u64()) {
        // Read as the run that wrote it may still be appending: the committed bytes only.
        let bytes = std::fs::read(state.join(format!("audit.seen.{generation}.jsonl"))).ok()?;
        let committed = bytes.get(..usize::try_from(len).ok()?)?;
        for line in committed.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            hold(&serde_json::from_slice(line).expect("committed journal lines are whole"));
        }
    }
    let held = ids.values().filter(|t| **t >= resume).count();
    Some(times.partition_point(|t| *t < resume) + held)
}

/// Kills runs `kills` times (and more, up to twice as many, until one kill landed between a
/// write and its commit); returns how many kills there were and how many landed so.
///
/// Every third run is parked by the engine's test hook (`ENGINE_PAUSE_AT`, src/runner/pause.rs)
/// at one of `parks` (`sent`: the sink acknowledged its batch, the checkpoint does not have it
/// yet; `intent`: the write-ahead intent is saved, the batch not sent) of its first, second or
/// third batch, and killed there: those kills land between a write and its commit whatever the
/// machine's pace, and the test checks that the checkpoint shows it.
///
/// The other moments are seeded and tied to progress rather than to the clock, so that they
/// spread over the work whatever the machine's pace: every sixth run is killed during its
/// start-up (0 to 400 ms after it began, or at its first commit if that comes sooner); the
/// others once the checkpoint counts a number of records delivered drawn in their share of the
/// tenant (and, with `at_intent: Some(d)`, once the checkpoint holds the write-ahead intent of
/// the batch after it: a Security Lake batch spends most of its time being encoded, before its
/// intent), plus 0 to 25 ms (the batch after a commit: mid-page, mid-write or mid-commit; 0 to
/// `d` after an intent: mid-send), or sooner once two more batches are committed. The points
/// stay within the first 90% of the records, so the work never runs out before the last kill.
#[allow(clippy::too_many_arguments)]
fn kill_repeatedly(
    dir: &Path,
    sim: &SimHandle,
    extra: &[&str],
    env: &[(&'static str, String)],
    kills: usize,
    seed: u64,
    at_intent: Option<Duration>,
    parks: &[&str],
) -> (usize, usize) {
    let mut rng = Moments::new(seed);
    let mut times: Vec<i64> = sim.records().iter().filter_map(|r| parse_instant(&r["eventTime"])).collect();
    times.sort_unstable();
    let (mut done, mut torn) = (0, 0);
    while done < kills || (torn == 0 && done < 2 * kills) {
        if done % 3 == 2 && !parks.is_empty() {
            let point = parks[(done / 3) % parks.len()];
            let nth = 1 + (rng.unit() * 3.0) as usize;
            kill_parked(dir, sim, extra, env, &format!("{point}:{nth}"));
            done += 1;
            torn += 1;
            continue;
        }
        let mut child = engine_run(dir, sim.addr(), &[RUN, extra].concat())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .spawn()
            .expect("engine starts");
        let began = Instant::now();
        let slot = done % kills;
        // The kill lands at `deadline`, or sooner once the checkpoint counts `cap` records:
        // however fast the engine is, the moment stays in the stretch of work drawn for it.
        let (deadline, cap) = if done % 6 == 0 {
            let before = delivered(dir, &times).unwrap_or(0);
            (began + rng.between(Duration::ZERO, Duration::from_millis(400)), before + 1)
        } else {
            let share = times.len() as f64 * 0.9 / kills as f64;
            let point = (share * (slot as f64 + rng.unit())) as usize;
            loop {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    let stderr = stderr_of(child);
                    finished(status, &stderr);
                    panic!("the run finished after {done} kills, before reaching its kill point");
                }
                if delivered(dir, &times).is_some_and(|n| n >= point)
                    && (at_intent.is_none() || killed_before_a_commit(dir))
                {
                    // After an intent: within the time its batch takes to be sent.
                    let after = at_intent.unwrap_or(Duration::from_millis(25));
                    break (Instant::now() + rng.between(Duration::ZERO, after), point + 2 * BATCH);
                }
                assert!(began.elapsed() < Duration::from_secs(120), "no progress towards the kill point");
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        while Instant::now() < deadline && delivered(dir, &times).is_none_or(|n| n < cap) {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let stderr = stderr_of(child);
                finished(status, &stderr);
                panic!("the run finished after {done} kills, before it could be killed {kills} times");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), None, "killed by a signal");
        done += 1;
        if killed_before_a_commit(dir) {
            torn += 1;
        }
    }
    (done, torn)
}

/// Runs with the engine's pause hook set to `at` (`sent:N`, `intent:N`), waits until the
/// engine says it is parked there, kills it, and checks that the checkpoint shows a write
/// without its commit.
fn kill_parked(dir: &Path, sim: &SimHandle, extra: &[&str], env: &[(&'static str, String)], at: &str) {
    let log = dir.join("parked.stderr");
    let file = std::fs::File::create(&log).expect("stderr file");
    let mut child = engine_run(dir, sim.addr(), &[RUN, extra].concat())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("ENGINE_PAUSE_AT", at)
        .stderr(file)
        .spawn()
        .expect("engine starts");
    let began = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("ENGINE_PAUSE_AT: parked") {
            break;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the run ended ({status}) before it was parked at {at}:\n{text}");
        }
        assert!(began.elapsed() < Duration::from_secs(120), "not parked at {at} within 120 s:\n{text}");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), None, "killed by a signal");
    assert!(killed_before_a_commit(dir), "parked at {at}, yet the checkpoint shows no write without its commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_neither_loses_nor_repeats_a_record() {
    sigkill_at_random_moments(&[], 61, "sigkill").await;
}

/// The same with four windows read at once: a kill lands while pages are read ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_at_concurrency_4_neither_loses_nor_repeats_a_record() {
    sigkill_at_random_moments(&["--concurrency", "4"], 62, "sigkill-c4").await;
}

async fn sigkill_at_random_moments(extra: &[&str], seed: u64, name: &str) {
    let faults = [Fault::Slow, Fault::InternalServerError, Fault::TooManyRequests, Fault::EdgeDuplicates];
    let sim = start(tenant(2_400, seed, &faults, 40)).await.expect("simulator");
    let truth = truth(&sim);

    let _turn = take_turn();
    // An uninterrupted run: the reference.
    let reference = temp_dir("engine-crash", &format!("{name}-reference"));
    let (whole, said) = run_to_end_with_summary(&reference, &sim, extra, &[]);
    assert!(said.contains("read ahead:"), "pages read ahead, at concurrency 1 too:\n{said}");
    let (ref_events, ref_dead) =
        (event_uids(&reference.join("out/events.ndjson")), dead_letter_ids(&reference.join("out/dead.ndjson")));
    assert!(!ref_dead.is_empty(), "ISSUANCE records are dead-lettered");
    assert_exactly_once(&ref_events, &ref_dead, &truth);

    let dir = temp_dir("engine-crash", name);
    let kills = 24;
    let (kills, torn) = kill_repeatedly(&dir, &sim, extra, &[], kills, 7, None, &["sent"]);
    // Lines written, committed or not (the last may be torn).
    let progress =
        std::fs::read(dir.join("out/events.ndjson")).unwrap_or_default().iter().filter(|b| **b == b'\n').count();
    eprintln!(
        "whole run {:.1} s; {kills} kills, {torn} between a write and its commit; \
         {progress} of {} events written before the last run",
        whole.as_secs_f64(),
        ref_events.len()
    );
    assert!(torn > 0, "no kill landed between a write and its commit; the test proves nothing");
    assert!(progress > ref_events.len() / 4, "the killed runs did a good part of the work");

    run_to_end(&dir, &sim, extra, &[]);
    let (events, dead) = (event_uids(&dir.join("out/events.ndjson")), dead_letter_ids(&dir.join("out/dead.ndjson")));
    assert_exactly_once(&events, &dead, &truth);
    // The same split as the uninterrupted run.
    assert_eq!(dead.iter().collect::<BTreeSet<_>>(), ref_dead.iter().collect::<BTreeSet<_>>());
    sim.shutdown().await;
}

/// The same under a hostile server: pages newest first, records outside the window asked for
/// (real ones and one dated 9999), reused ids, rounded time filters and looping cursors, on top
/// of errors and slow answers. Killed runs resume without losing or repeating a record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_a_hostile_server_neither_loses_nor_repeats_a_record() {
    sigkill_under_a_hostile_server(&[], 63, "hostile").await;
}

/// The same with four windows read at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_a_hostile_server_at_concurrency_4_neither_loses_nor_repeats_a_record() {
    sigkill_under_a_hostile_server(&["--concurrency", "4"], 64, "hostile-c4").await;
}

async fn sigkill_under_a_hostile_server(extra: &[&str], seed: u64, name: &str) {
    let faults = [
        Fault::Slow,
        Fault::InternalServerError,
        Fault::NewestFirst,
        Fault::OutOfWindow,
        Fault::FarFuture,
        Fault::ReusedIds,
        Fault::CoarseTimeFilter,
        Fault::CursorLoop,
        Fault::EmptyPages,
    ];
    let sim = start(tenant(2_400, seed, &faults, 40)).await.expect("simulator");
    let truth = truth(&sim);
    let _turn = take_turn();
    let dir = temp_dir("engine-crash", name);
    let (kills, torn) = kill_repeatedly(&dir, &sim, extra, &[], 10, 13, None, &["sent"]);
    eprintln!("{kills} kills under a hostile server, {torn} between a write and its commit");
    run_to_end(&dir, &sim, extra, &[]);
    let (events, dead) = (event_uids(&dir.join("out/events.ndjson")), dead_letter_ids(&dir.join("out/dead.ndjson")));
    assert_exactly_once(&events, &dead, &truth);
    for f in faults {
        assert!(sim.fault_counts().get(&f).copied().unwrap_or(0) > 0, "{f} never injected");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_the_cloudwatch_sink_neither_loses_nor_repeats_a_record() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let sim = start(tenant(1_200, 62, &[Fault::Slow, Fault::InternalServerError], 40)).await.expect("simulator");
    let truth = truth(&sim);
    let sink = ["--sink", "cloudwatch_logs", "--log-group", "crash", "--create-log-group"];
    let env = moto.env();
    let _turn = take_turn();
    let dir = temp_dir("engine-crash", "cloudwatch");
    let kills = 6;
    let (kills, torn) =
        kill_repeatedly(&dir, &sim, &sink, &env, kills, 11, Some(Duration::from_millis(15)), &["sent", "intent"]);
    eprintln!("{kills} kills of the CloudWatch pipeline, {torn} between a send and its commit");
    assert!(torn > 0, "no kill landed between a send and its commit; the test proves nothing");
    run_to_end(&dir, &sim, &sink, &env);

    let events = log_event_uids(&conf, "crash", "entrust_idaas-audit").await;
    let dead = dead_letter_ids(&dir.join("out/dead.ndjson"));
    assert_exactly_once(&events, &dead, &truth);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_the_security_lake_sink_neither_loses_nor_repeats_a_record() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build());
    s3.create_bucket().bucket("crash-lake").send().await.expect("CreateBucket");
    let sim = start(tenant(400, 66, &[Fault::Slow, Fault::InternalServerError], 40)).await.expect("simulator");
    let truth = truth(&sim);
    // Small batches (the lake's are bounded by the object size, not --batch-max-events), and
    // the size changed between restarts, as an operator may: a restarted run then batches the
    // records otherwise than the killed one did, and must learn from the checkpoint's intent
    // which of the killed run's objects exist.
    let sink = |size: &'static str| {
        [
            "--sink",
            "security_lake",
            "--bucket",
            "crash-lake",
            "--region",
            "us-east-1",
            "--account-id",
            "123456789012",
            "--flush-interval",
            "PT0S",
            "--max-object-size",
            size,
        ]
    };
    let env = moto.env();
    let _turn = take_turn();
    let dir = temp_dir("engine-crash", "security-lake");
    let (mut kills, mut torn) = (0, 0);
    for (size, seed) in [("24KiB", 13), ("40KiB", 14)] {
        let (k, t) = kill_repeatedly(
            &dir,
            &sim,
            &sink(size),
            &env,
            4,
            seed,
            Some(Duration::from_millis(80)),
            &["sent", "intent"],
        );
        (kills, torn) = (kills + k, torn + t);
    }
    eprintln!("{kills} kills of the Security Lake pipeline, {torn} between a write and its commit");
    assert!(torn > 0, "no kill landed between a write and its commit; the test proves nothing");
    let sink = sink("32KiB");
    run_to_end(&dir, &sim, &sink, &env);

    // Every object read back with pyarrow: each row's metadata.uid.
    let objects = download(&s3, "crash-lake", &dir).await;
    assert!(!objects.is_empty(), "no objects written");
    let files: Vec<_> = objects.values().cloned().collect();
    let read = pyarrow::read(&files).unwrap_or_else(|e| panic!("{e}"));
    let mut events = Vec::new();
    for file in read.as_array().expect("one entry per object") {
        for row in file["rows"].as_array().expect("rows") {
            events.push(row["metadata"]["uid"].as_str().expect("metadata.uid").to_string());
        }
    }
    // Dead letters, and the events Security Lake cannot hold (refused with a reason).
    let mut dead = dead_letter_ids(&dir.join("out/dead.ndjson"));
    for line in json_lines(&dir.join("out/events.security-lake-refused.ndjson")) {
        assert!(line["reason"].as_str().is_some_and(|r| !r.is_empty()), "a refusal without a reason: {line}");
        dead.push(line["event"]["metadata"]["uid"].as_str().expect("metadata.uid").to_string());
    }
    eprintln!("{} rows in {} objects, {} dead or refused", events.len(), objects.len(), dead.len());
    assert_exactly_once(&events, &dead, &truth);
    sim.shutdown().await;
}

/// Stops a long run with `sig` part-way; it must exit cleanly within 10 s with a summary, and
/// a restart must complete the output exactly once.
async fn stop_with(sig: &str, seed: u64) {
    // Slow answers make the run long enough to be stopped in the middle.
    let sim = start(tenant(1_500, seed, &[Fault::Slow, Fault::ServiceUnavailable], 400)).await.expect("simulator");
    let truth = truth(&sim);
    let _turn = take_turn();
    let dir = temp_dir("engine-stop", sig);
    // Without --once the run would poll for ever; the signal is what ends it.
    let mut child = engine_run(&dir, sim.addr(), &["--batch-max-events", "20", "--set", "range=PT3H"])
        .spawn()
        .expect("engine starts");
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(child.try_wait().expect("try_wait").is_none(), "still running when stopped");
    let asked = Instant::now();
    signal(&child, sig);
    let status = wait_at_most(&mut child, Duration::from_secs(10));
    let took = asked.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        panic!("SIG{sig}: still running 10 s after the signal");
    };
    let stderr = stderr_of(child);
    assert!(matches!(status.code(), Some(0 | 1)), "a clean stop: {status} {stderr}");
    assert!(stderr.contains(&format!("SIG{sig}: stopping after the batch in flight")), "{stderr}");
    assert!(stderr.contains("total") && stderr.contains("stopped before catching up"), "a summary: {stderr}");
    eprintln!("SIG{sig}: exited {:.1} s after the signal", took.as_secs_f64());
    let partial = event_uids(&dir.join("out/events.ndjson")).len();
    assert!(partial > 0 && partial < truth.len(), "stopped part-way: {partial}");

    // Whatever was acknowledged is committed: a restart completes the output exactly once.
    let out = engine_run(&dir, sim.addr(), RUN).output().expect("engine runs");
    finished(out.status, &String::from_utf8_lossy(&out.stderr));
    let (events, dead) = (event_uids(&dir.join("out/events.ndjson")), dead_letter_ids(&dir.join("out/dead.ndjson")));
    assert_exactly_once(&events, &dead, &truth);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_within_10_seconds_and_a_restart_completes_exactly_once() {
    stop_with("TERM", 63).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_cleanly_within_10_seconds_and_a_restart_completes_exactly_once() {
    stop_with("INT", 64).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_checkpoint_or_a_shortened_output_is_refused_never_reset() {
    let sim = start(tenant(300, 65, &[], 0)).await.expect("simulator");
    let dir = temp_dir("engine-crash", "damaged");
    run_to_end(&dir, &sim, &[], &[]);
    let cp = dir.join("state/entrust_idaas/audit.checkpoint.json");
    let output = dir.join("out/events.ndjson");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&cp).unwrap().permissions().mode() & 0o777, 0o600, "state is private");
    }
    let rerun = || {
        let out = engine_run(&dir, sim.addr(), RUN).output().expect("engine runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };

    // The output lost its tail (someone truncated it): refused, naming the file, nothing changed.
    let full = std::fs::read(&output).unwrap();
    let short = &full[..full.len() - 10];
    std::fs::write(&output, short).unwrap();
    let cp_before = std::fs::read(&cp).unwrap();
    let (code, stderr) = rerun();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("out/events.ndjson") && stderr.contains("were committed"), "{stderr}");
    assert!(stderr.contains("audit.checkpoint.json"), "names the checkpoint too: {stderr}");
    assert_eq!(std::fs::read(&output).unwrap(), short, "the output is left as it is");
    assert_eq!(std::fs::read(&cp).unwrap(), cp_before, "the checkpoint is left as it is");
    std::fs::write(&output, &full).unwrap();

    // A torn checkpoint: reported with its path, never replaced by a fresh start.
    std::fs::write(&cp, &cp_before[..cp_before.len() / 2]).unwrap();
    let (code, stderr) = rerun();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("is damaged") && stderr.contains("audit.checkpoint.json"), "{stderr}");
    assert_eq!(std::fs::read(&cp).unwrap(), &cp_before[..cp_before.len() / 2], "left untouched");
    assert_eq!(std::fs::read(&output).unwrap(), full, "nothing written");

    // Restored, the run resumes and adds nothing.
    std::fs::write(&cp, &cp_before).unwrap();
    let (code, stderr) = rerun();
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    assert_eq!(json_lines(&output).len(), full.iter().filter(|b| **b == b'\n').count());
    sim.shutdown().await;
}
