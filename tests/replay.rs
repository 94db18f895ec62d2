//! `engine replay` and `engine run --archive` with the real binary against the built-in
//! simulator over loopback HTTP: dead letters replayed after a mapping fix reach the sink once
//! (a second replay delivers nothing, a replay killed mid-way and started again is still
//! exactly once, what is still refused lands in a new dead-letter file with its reason), and
//! the raw archive holds every record taken exactly once across a SIGKILL between a write and
//! its commit, and maps again into the run's events byte for byte.

mod common;

use common::pipeline::{json_lines, once_each, root, temp_dir};
use ocsf_engine::simulator::{Fault, FaultConfig, SimConfig, SimHandle, start};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn tenant(events: usize, seed: u64, faults: &[Fault]) -> SimConfig {
    SimConfig {
        events,
        seed,
        login_events: false,
        issuance_share: 0.05,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(2 * 3600),
        faults: FaultConfig { kinds: faults.iter().copied().collect(), rate: 0.05, ..FaultConfig::default() },
        ..SimConfig::default()
    }
}

const BROKEN: &str = "match: { eventCategory: MANAGEMENT }";

/// A copy of the Entrust spec in `dir` whose mappings are a copy in `dir/maps`, with the
/// Entity Management mapping matching nothing (`broken`): every management record is
/// dead-lettered, as after a bad mapping change. Returns the spec and the file to fix.
fn spec_with_copied_mappings(dir: &Path, broken: bool) -> (PathBuf, PathBuf) {
    let maps = dir.join("maps");
    let status = Command::new("cp").arg("-r").arg(root().join("mappings/entrust")).arg(&maps).status().unwrap();
    assert!(status.success());
    let fix = maps.join("entity_management/_entity_management.yaml");
    if broken {
        let text = std::fs::read_to_string(&fix).unwrap();
        assert!(text.contains(BROKEN));
        std::fs::write(&fix, text.replace(BROKEN, "match: { eventCategory: MANAGEMENT_NOT }")).unwrap();
    }
    let spec = std::fs::read_to_string(root().join("sources/entrust.yaml"))
        .unwrap()
        .replace("mappings: ../mappings/entrust", &format!("mappings: {}", maps.display()));
    let path = dir.join("entrust.yaml");
    std::fs::write(&path, spec).unwrap();
    (path, fix)
}

fn engine(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
    cmd.current_dir(dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn run(dir: &Path, spec: &Path, sim: &SimHandle, extra: &[&str]) -> Command {
    let mut cmd = engine(dir);
    cmd.arg("run")
        .arg(spec)
        .args(["--simulate-at", &sim.addr().to_string()])
        .args(["--state-dir", "state", "--output", "out/events.ndjson", "--dead-letter", "out/dead.ndjson"])
        .args(["--once", "--batch-max-events", "20", "--set", "range=PT3H"])
        .args(extra);
    cmd
}

fn replay(dir: &Path, spec: &Path, input: &str, extra: &[&str]) -> Command {
    let mut cmd = engine(dir);
    cmd.arg("replay")
        .arg(spec)
        .arg(input)
        .args(["--state-dir", "state", "--output", "out/replayed.ndjson", "--dead-letter", "out/still.ndjson"])
        .args(["--batch-max-events", "7"])
        .args(extra);
    cmd
}

fn done(out: Output, codes: &[i32]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.code().is_some_and(|c| codes.contains(&c)), "exit {}:\n{stderr}", out.status);
    stderr
}

/// Starts `cmd` with the pause hook at `at`, waits until it is parked there, and kills it.
fn kill_parked(mut cmd: Command, dir: &Path, at: &str) {
    let log = dir.join(format!("parked-{at}.stderr").replace(':', "-"));
    let mut child = cmd.env("ENGINE_PAUSE_AT", at).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let began = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("ENGINE_PAUSE_AT: parked") {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ended ({status}) before it was parked at {at}:\n{text}");
        }
        assert!(began.elapsed() < Duration::from_secs(120), "not parked at {at}:\n{text}");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
}

fn uids(path: &Path) -> Vec<String> {
    json_lines(path).iter().map(|v| v["metadata"]["uid"].as_str().expect("metadata.uid").to_string()).collect()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect()
}

/// Ids of the dead letters whose record is a management record (what the fix maps).
fn management_ids(dead: &[serde_json::Value]) -> BTreeSet<String> {
    dead.iter()
        .filter(|d| d["reason"] == "no_mapping" && d["record"]["eventCategory"] == "MANAGEMENT")
        .map(|d| d["record"]["id"].as_str().expect("an unmapped record has an id").to_string())
        .collect()
}

/// A run with the broken mapping: its events, and its dead letters (management records,
/// ISSUANCE records and poison records among them).
async fn broken_run(tag: &str, seed: u64) -> (SimHandle, PathBuf, PathBuf, PathBuf) {
    let sim = start(tenant(500, seed, &[Fault::PoisonRecords])).await.expect("simulator");
    let dir = temp_dir("engine-replay", tag);
    let (spec, fix) = spec_with_copied_mappings(&dir, true);
    done(run(&dir, &spec, &sim, &[]).output().unwrap(), &[1]);
    let dead = json_lines(&dir.join("out/dead.ndjson"));
    let reasons: BTreeSet<&str> = dead.iter().map(|d| d["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, BTreeSet::from(["invalid_record", "no_mapping"]), "poison and unmapped records");
    assert!(management_ids(&dead).len() > 50, "the broken mapping dead-lettered the management records");
    // The fix: the mapping as it was.
    std::fs::copy(root().join("mappings/entrust/entity_management/_entity_management.yaml"), &fix).unwrap();
    (sim, dir, spec, fix)
}

/// What a finished replay must show: the management records delivered once each, every
/// other dead letter still refused once with its reason, nothing else.
fn check_replayed(dir: &Path) {
    let dead = json_lines(&dir.join("out/dead.ndjson"));
    let wanted = management_ids(&dead);
    let replayed = once_each("replayed events", &uids(&dir.join("out/replayed.ndjson")));
    assert_eq!(replayed, wanted, "the fixed records, once each");
    let run_events = uids(&dir.join("out/events.ndjson"));
    once_each("run and replay", &[run_events, replayed.iter().cloned().collect()].concat());
    let still = json_lines(&dir.join("out/still.ndjson"));
    assert_eq!(still.len(), dead.len() - wanted.len(), "every other dead letter still refused, once");
    let text = |v: &serde_json::Value| v["record"].to_string();
    let fixed = |d: &&serde_json::Value| d["reason"] == "no_mapping" && d["record"]["eventCategory"] == "MANAGEMENT";
    let others: Vec<String> = dead.iter().filter(|d| !fixed(d)).map(text).collect();
    assert_eq!(still.iter().map(text).collect::<Vec<_>>(), others, "in order, records kept whole");
    // Refused again for the reason they had.
    for (s, d) in still.iter().zip(dead.iter().filter(|d| !fixed(d))) {
        assert!(!s["message"].as_str().unwrap().is_empty(), "a reason and a message: {s}");
        assert_eq!(s["reason"], d["reason"], "{s}");
    }
    assert!(still.iter().any(|s| s["record"].is_string()), "poison kept as text stays refused");
    assert!(still.iter().any(|s| s["message"].as_str().unwrap().contains("no usable id")), "id-less stays refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_after_a_mapping_fix_delivers_the_fixed_records_once_and_a_second_replay_nothing() {
    let (sim, dir, spec, _) = broken_run("fix", 71).await;
    let stderr = done(replay(&dir, &spec, "out/dead.ndjson", &[]).output().unwrap(), &[1]);
    assert!(stderr.contains("dead letters in:    out/still.ndjson"), "{stderr}");
    check_replayed(&dir);
    let (replayed, still) = (lines(&dir.join("out/replayed.ndjson")), lines(&dir.join("out/still.ndjson")));

    // Again: nothing delivered, nothing refused again.
    let stderr = done(replay(&dir, &spec, "out/dead.ndjson", &["--summary", "json"]).output().unwrap(), &[0]);
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).expect("a JSON summary");
    assert_eq!(summary["events"]["total"], 0, "{summary}");
    assert_eq!(summary["dead_letters"]["total"], 0, "{summary}");
    assert!(stderr.contains("replayed before: skipped"), "{stderr}");
    assert_eq!(lines(&dir.join("out/replayed.ndjson")), replayed);
    assert_eq!(lines(&dir.join("out/still.ndjson")), still);

    // The run's own output is refused as a replay's: a run cuts it back when it starts.
    let out = engine(&dir)
        .args(["replay"])
        .arg(&spec)
        .args(["out/dead.ndjson", "--state-dir", "state", "--output", "out/events.ndjson"])
        .output()
        .unwrap();
    let stderr = done(out, &[2]);
    assert!(stderr.contains("is the output of `engine run`"), "{stderr}");
    // A file that is not there: exit 2, named.
    let stderr = done(replay(&dir, &spec, "out/none.ndjson", &[]).output().unwrap(), &[2]);
    assert!(stderr.contains("out/none.ndjson") && stderr.contains("does not exist"), "{stderr}");
    // With the input alone, the spec is sources/entrust.yaml: found in the repository, named
    // where it is not.
    let none = dir.join("out/none.ndjson");
    let stderr = done(engine(&root()).arg("replay").arg(&none).output().unwrap(), &[2]);
    assert!(stderr.contains("none.ndjson") && stderr.contains("does not exist"), "{stderr}");
    let stderr = done(engine(&dir).arg("replay").arg(&none).output().unwrap(), &[2]);
    assert!(stderr.contains("sources/entrust.yaml"), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_killed_mid_way_then_replayed_again_is_exactly_once() {
    let (sim, dir, spec, _) = broken_run("crash", 72).await;
    // Killed twice once a batch was written and acknowledged, before the state recorded it.
    for at in ["sent:2", "sent:3"] {
        kill_parked(replay(&dir, &spec, "out/dead.ndjson", &[]), &dir, at);
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("state/entrust_idaas/audit.replay.json")).unwrap()).unwrap();
        let committed = state["sink"]["offset"].as_u64().expect("the sink's committed length");
        let len = std::fs::metadata(dir.join("out/replayed.ndjson")).unwrap().len();
        assert!(len > committed, "{at}: the kill left a batch written past the commit ({len} > {committed})");
    }
    done(replay(&dir, &spec, "out/dead.ndjson", &[]).output().unwrap(), &[1]);
    check_replayed(&dir);
    sim.shutdown().await;
}

/// Every line of an archive's day files, decompressed.
fn archived(dir: &Path) -> Vec<serde_json::Value> {
    let mut days: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".ndjson.gz"))
        .collect();
    days.sort();
    assert!(!days.is_empty(), "no day files in {}", dir.display());
    let mut all = Vec::new();
    for day in days {
        let name = day.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.len() == "2026-01-01.ndjson.gz".len() && name.as_bytes()[4] == b'-', "{name}");
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&day).unwrap()).read_to_string(&mut text).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let time = v["eventTime"].as_str().unwrap();
            assert!(name.starts_with(&time[..10]), "{time} in {name}: the day of the record's time");
            all.push(v);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_holds_every_record_once_across_a_sigkill_and_maps_again_byte_for_byte() {
    let sim = start(tenant(800, 73, &[Fault::EdgeDuplicates])).await.expect("simulator");
    let truth: BTreeSet<String> = sim.record_ids().into_iter().collect();
    let dir = temp_dir("engine-replay", "archive");
    let spec = root().join("sources/entrust.yaml");
    // Killed where the archive and the batch are written and acknowledged but not committed.
    for at in ["sent:2", "sent:3"] {
        kill_parked(run(&dir, &spec, &sim, &["--archive", "arch"]), &dir, at);
        let cp: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("state/entrust_idaas/audit.checkpoint.json")).unwrap())
                .unwrap();
        let marks = cp["archive"].as_array().expect("the archive's committed lengths");
        let past = marks.iter().any(|m| {
            let len = std::fs::metadata(m["file"].as_str().unwrap()).map_or(0, |f| f.len());
            len > m["offset"].as_u64().unwrap()
        });
        assert!(past, "{at}: the archive holds bytes past its commit: {marks:?}");
    }
    done(run(&dir, &spec, &sim, &["--archive", "arch"]).output().unwrap(), &[0, 1]);
    let records = archived(&dir.join("arch"));
    let ids: Vec<String> = records.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(once_each("archived records", &ids), truth, "every record taken, once, dead-lettered ones too");
    assert!(!json_lines(&dir.join("out/dead.ndjson")).is_empty(), "some records were dead-lettered");

    // Mapped again from the archive: the run's events, byte for byte.
    let hostname = format!("hostname={}", sim.addr());
    let out = engine(&dir).arg("map").arg(&spec).arg("arch").args(["--set", &hostname]).output().unwrap();
    done(out.clone(), &[0, 1]);
    let mut mapped: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
    let mut events = lines(&dir.join("out/events.ndjson"));
    assert!(!events.is_empty());
    mapped.sort();
    events.sort();
    assert!(mapped == events, "engine map of the archive differs from the run's events");
    // One day file alone is read too.
    let day = std::fs::read_dir(dir.join("arch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".gz"));
    let out = engine(&dir).arg("map").arg(&spec).arg(day.unwrap()).args(["--set", &hostname]).output().unwrap();
    assert!(!out.stdout.is_empty());

    // Replayed from the archive into another file: the same events once; again: nothing.
    let replay = |dir: &Path| {
        let mut cmd = engine(dir);
        cmd.arg("replay").arg(&spec).arg("arch").args(["--set", &hostname, "--state-dir", "state"]);
        cmd.args(["--output", "out/again.ndjson", "--dead-letter", "out/again-dead.ndjson"]);
        cmd
    };
    done(replay(&dir).output().unwrap(), &[1]);
    let mut again = lines(&dir.join("out/again.ndjson"));
    again.sort();
    assert!(again == events, "a replay of the archive gives the run's events");
    assert_eq!(lines(&dir.join("out/again-dead.ndjson")).len(), lines(&dir.join("out/dead.ndjson")).len());
    done(replay(&dir).output().unwrap(), &[0]);
    assert_eq!(lines(&dir.join("out/again.ndjson")).len(), events.len(), "a second replay delivers nothing");
    sim.shutdown().await;
}
