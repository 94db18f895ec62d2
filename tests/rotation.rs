//! The output file and logrotate, over the real binary: a file moved away and re-created
//! (`create`) then SIGHUP (`postrotate`) sends the next batches into the new file; a run that
//! finds another file at its output path continues into it with a warning, one cut short in
//! place is refused; a crash between a write and its commit across such a rotation repeats
//! nothing; `--rotate-size` and `--rotate-keep` rotate and prune. Every record once.

mod common;

use common::pipeline::{
    assert_exactly_once, engine_run, event_uids, gather_lines, quick_spec, signal, temp_dir, tenant,
};
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every event uid in `files`, in order.
fn uids_of(files: &[&Path]) -> Vec<String> {
    files.iter().flat_map(|f| event_uids(f)).collect()
}

/// Moves `path` away as logrotate's `create` does: rename, then a new empty file.
fn logrotate_create(path: &Path, to: &Path) {
    std::fs::rename(path, to).unwrap();
    std::fs::write(path, "").unwrap();
}

fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let began = Instant::now();
    while !done() {
        assert!(began.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many whole lines a file the engine is still writing holds: a line being written while
/// the test reads is not counted yet (the strict reader, once the run stopped, checks the rest).
fn lines_so_far(path: &Path) -> usize {
    std::fs::read(path).unwrap_or_default().iter().filter(|b| **b == b'\n').count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logrotate_create_and_a_sighup_send_the_next_batches_into_the_new_file() {
    let sim = tenant(200, 31, 2).await;
    let dir = temp_dir("engine-rotation", "sighup");
    let spec = quick_spec(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .args(["run", spec.to_str().unwrap(), "--simulate-at", &sim.addr().to_string()])
        .args(["--state-dir", "state", "--output", "events.ndjson", "--set", "range=PT3H"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = gather_lines(std::io::BufReader::new(child.stderr.take().unwrap()).lines());
    let (output, moved) = (dir.join("events.ndjson"), dir.join("events.ndjson-rotated"));
    let first = sim.record_ids().len();
    wait_for(Duration::from_secs(30), "the catch-up", || lines_so_far(&output) >= first);

    logrotate_create(&output, &moved);
    signal(&child, "HUP");
    wait_for(Duration::from_secs(10), "the SIGHUP", || log.lock().unwrap().contains("SIGHUP"));
    let later = sim.append_events(6);
    wait_for(Duration::from_secs(30), "the new records", || lines_so_far(&output) >= later.len());
    signal(&child, "TERM");
    // The 10-second stop is the crash tests' to prove; here only that it stops cleanly.
    let status = common::pipeline::wait_at_most(&mut child, Duration::from_secs(30)).expect("stops");
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());

    let new_file: BTreeSet<String> = event_uids(&output).into_iter().collect();
    assert!(later.iter().all(|id| new_file.contains(id)), "the later records are in the new file");
    assert_exactly_once(&uids_of(&[&moved, &output]), &[], &sim.record_ids().into_iter().collect());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_output_is_continued_with_a_warning_and_one_cut_short_in_place_is_refused() {
    let sim = tenant(150, 37, 2).await;
    let dir = temp_dir("engine-rotation", "restart");
    let run = || {
        let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run();
    assert_eq!(code, Some(0), "{stderr}");
    let (output, moved) = (dir.join("out/events.ndjson"), dir.join("out/events.ndjson.1.old"));

    // Rotated while no run was going: the next run continues into the new file.
    logrotate_create(&output, &moved);
    // New records, dated after a position moved back a minute: due to the next run whenever it
    // starts.
    let watermark = common::pipeline::rewind_checkpoint(&dir);
    let later = sim.insert_records_at(&(0..5).map(|i| watermark + i * 1000).collect::<Vec<_>>());
    let (code, stderr) = run();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("is a new file") && stderr.contains("continuing into it"), "{stderr}");
    let now: BTreeSet<String> = event_uids(&output).into_iter().collect();
    assert!(later.iter().all(|id| now.contains(id)), "the new records went into the new file");
    assert_exactly_once(&uids_of(&[&moved, &output]), &[], &sim.record_ids().into_iter().collect());

    // Cut short in place (copytruncate, or damage): refused as before, nothing changed.
    let full = std::fs::read(&output).unwrap();
    std::fs::write(&output, &full[..full.len() / 2]).unwrap();
    let (code, stderr) = run();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("were committed") && stderr.contains("truncated in place"), "{stderr}");
    assert_eq!(std::fs::read(&output).unwrap().len(), full.len() / 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_a_write_and_its_commit_across_a_rotation_repeats_nothing() {
    let sim = tenant(300, 41, 2).await;
    let dir = temp_dir("engine-rotation", "crash");
    // Parked once the third batch is written and acknowledged, before its commit.
    let mut child = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H", "--batch-max-events", "20"])
        .env("ENGINE_PAUSE_AT", "sent:3")
        .spawn()
        .unwrap();
    let log = gather_lines(std::io::BufReader::new(child.stderr.take().unwrap()).lines());
    wait_for(Duration::from_secs(30), "the parked run", || log.lock().unwrap().contains("ENGINE_PAUSE_AT: parked"));
    let (output, moved) = (dir.join("out/events.ndjson"), dir.join("out/events.ndjson-1"));
    let checkpoint: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state/entrust_idaas/audit.checkpoint.json")).unwrap())
            .unwrap();
    let committed = checkpoint["sink"]["offset"].as_u64().unwrap();
    let written = std::fs::metadata(&output).unwrap().len();
    assert!(written > committed, "the third batch is written past the commit: {written} vs {committed}");
    // logrotate runs now, then the machine dies.
    logrotate_create(&output, &moved);
    child.kill().unwrap();
    child.wait().unwrap();

    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rotated to `") && stderr.contains("events.ndjson-1"), "{stderr}");
    assert_eq!(
        std::fs::metadata(&moved).unwrap().len(),
        committed,
        "the uncommitted batch was cut from the moved file"
    );
    assert_exactly_once(&uids_of(&[&moved, &output]), &[], &sim.record_ids().into_iter().collect());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_size_and_rotate_keep_rotate_and_delete_the_oldest() {
    let sim = tenant(300, 43, 2).await;
    let dir = temp_dir("engine-rotation", "keep");
    let args =
        ["--once", "--set", "range=PT3H", "--batch-max-events", "10", "--rotate-size", "8KiB", "--rotate-keep", "2"];
    let out = engine_run(&dir, sim.addr(), &args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut rotated: Vec<u32> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_prefix("events.ndjson.")?.parse().ok())
        .collect();
    rotated.sort_unstable();
    assert_eq!(rotated.len(), 2, "{rotated:?}");
    assert!(rotated[0] > 2, "the oldest were deleted, numbers are not reused: {rotated:?}");
    assert_eq!(rotated[1], rotated[0] + 1);
    let kept: Vec<std::path::PathBuf> = rotated.iter().map(|n| dir.join(format!("out/events.ndjson.{n}"))).collect();
    for f in &kept {
        let len = std::fs::metadata(f).unwrap().len();
        assert!((8 * 1024..8 * 1024 + 64 * 1024).contains(&len), "{}: {len} bytes", f.display());
    }
    // What is kept is whole lines, each record once, the newest included.
    let all = uids_of(&[&kept[0], &kept[1], &dir.join("out/events.ndjson")]);
    common::pipeline::once_each("events", &all);
    let truth: BTreeSet<String> = sim.record_ids().into_iter().collect();
    assert!(all.iter().all(|id| truth.contains(id)));
    assert!(std::fs::metadata(dir.join("out/events.ndjson")).unwrap().len() < 8 * 1024 + 64 * 1024);
    sim.shutdown().await;
}
