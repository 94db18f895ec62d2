//! `engine run` of a file of named pipelines against the simulator's tenants by host name, over
//! real loopback HTTP: each pipeline's output holds exactly its own tenant's records (the
//! ground truth from `GET /__sim/ids` sent with that tenant's `Host`), into files and into
//! CloudWatch Logs (moto, a log group per pipeline); a failing pipeline and a misconfigured one
//! are reported, the failing one retried, and they set the exit code while the others finish.

mod common;

use common::moto::{Moto, engine, read_stream};
use common::pipeline::{event_uids, once_each, root, temp_dir};
use ocsf_engine::simulator::{SimConfig, SimHandle, start};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A simulator whose tenants hold still: records end three minutes ago (past the settle delay),
/// no login records.
async fn simulator(events: usize, seed: u64) -> SimHandle {
    start(SimConfig {
        events,
        seed,
        login_events: false,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(6 * 3600),
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

/// The tenant `host`'s record ids, asked over HTTP with its `Host`.
async fn ground_truth(sim: &SimHandle, host: &str) -> BTreeSet<String> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/__sim/ids", sim.base_url()))
        .header("Host", host)
        .send()
        .await
        .expect("ids")
        .json()
        .await
        .expect("json");
    body["ids"].as_array().expect("ids").iter().map(|v| v.as_str().expect("id").to_string()).collect()
}

fn host(n: usize) -> String {
    format!("t{n:02}.example.trustedauth.com")
}

/// A pipeline of tenant `n` into `sink` (YAML flow text).
fn pipeline(n: usize, sink: &str) -> String {
    format!(
        "t{n:02}:\n  source:\n    entrust_idaas:\n      hostname: {}\n      range: PT8H\n  sink:\n    - {sink}\n",
        host(n)
    )
}

/// `dir` with the bundled specs and mappings reachable as `sources/` and `mappings/`.
fn workspace(tag: &str) -> std::path::PathBuf {
    let dir = temp_dir("engine-fleet", tag);
    for d in ["sources", "mappings"] {
        std::os::unix::fs::symlink(root().join(d), dir.join(d)).unwrap();
    }
    dir
}

fn write_file(dir: &Path, text: &str) {
    std::fs::write(dir.join("pipelines.yaml"), format!("version: 2\n{text}")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tenants_each_land_in_their_own_file_once_and_a_failing_pipeline_only_sets_the_exit_code() {
    let sim = simulator(150, 61).await;
    let dir = workspace("files");
    let mut text: String = (1..=3).map(|n| pipeline(n, &format!("file: {{ path: out/t{n:02}.ndjson }}"))).collect();
    // t04's output lies under a regular file, so it cannot be created: every attempt fails at
    // run time and is retried. (An output that is a directory is refused at start-up instead.)
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/t04"), "not a directory").unwrap();
    text.push_str(&pipeline(4, "file: { path: out/t04/events.ndjson }"));
    // t05 asks for more than the spec allows: a configuration error, not retried with --once.
    text.push_str(&pipeline(5, "file: { path: out/t05.ndjson }").replace("PT8H", "P1000D"));
    // t06 misspells a key: reported when the file is loaded; the others run all the same.
    text.push_str(&pipeline(6, "file: { path: out/t06.ndjson }").replace("  sink:", "  sinc:"));
    write_file(&dir, &text);
    let args = ["run", "pipelines.yaml", "--once", "--simulate-at", &sim.addr().to_string()];
    let (code, stderr) = engine(&dir, &[], &[&args[..], &["--state-dir", "state"]].concat());
    assert_eq!(code, 3, "the worst outcome, t04's failure at run time\n{stderr}");
    for n in 1..=3 {
        let truth = ground_truth(&sim, &host(n)).await;
        assert_eq!(truth.len(), 150);
        let got = once_each(&format!("t{n:02}"), &event_uids(&dir.join(format!("out/t{n:02}.ndjson"))));
        assert_eq!(got, truth, "t{n:02} holds exactly its tenant's records\n{stderr}");
        let checkpoint = dir.join(format!("state/t{n:02}/entrust_idaas/audit.checkpoint.json"));
        assert!(checkpoint.is_file(), "each pipeline keeps its state in its own directory");
    }
    let (a, b) = (ground_truth(&sim, &host(1)).await, ground_truth(&sim, &host(2)).await);
    assert!(a.is_disjoint(&b), "two tenants share no record");
    assert!(stderr.contains("engine run [t04]: failed (exit 3); running it again in 1 s (attempt 2)"), "{stderr}");
    assert!(stderr.contains("engine run [t04]: failed (exit 3); running it again in 2 s (attempt 3)"), "{stderr}");
    assert!(stderr.contains("`range`: `P1000D` is longer than the maximum"), "{stderr}");
    assert!(stderr.contains("unknown key `sinc` in pipeline `t06`"), "{stderr}");
    for line in [
        "  t01  done (exit 0)\n",
        "  t03  done (exit 0)\n",
        "  t04  failed: API, network or state (exit 3, 3 attempts)\n",
        "  t05  not run: configuration error (exit 2)\n",
        "  t06  not run: configuration error (exit 2)\n",
    ] {
        assert!(stderr.contains(line), "`{line}` in\n{stderr}");
    }
    // A second run reads nothing again, and without the failing pipelines exits 0.
    write_file(
        &dir,
        &(1..=3).map(|n| pipeline(n, &format!("file: {{ path: out/t{n:02}.ndjson }}"))).collect::<String>(),
    );
    let (code, stderr) = engine(&dir, &[], &[&args[..], &["--state-dir", "state"]].concat());
    assert_eq!(code, 0, "{stderr}");
    for n in 1..=3 {
        let got = once_each(&format!("t{n:02} after a rerun"), &event_uids(&dir.join(format!("out/t{n:02}.ndjson"))));
        assert_eq!(got.len(), 150);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_pipeline_ships_its_tenant_to_its_own_log_group() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let sim = simulator(120, 62).await;
    let dir = workspace("cloudwatch");
    write_file(
        &dir,
        &(1..=3).map(|n| pipeline(n, &format!("cloudwatch_logs: {{ log_group: /fleet/t{n:02} }}"))).collect::<String>(),
    );
    let args = ["run", "pipelines.yaml", "--once", "--create-log-group", "--simulate-at", &sim.addr().to_string()];
    let (code, stderr) = engine(&dir, &moto.env(), &[&args[..], &["--state-dir", "state"]].concat());
    assert_eq!(code, 0, "{stderr}");
    for n in 1..=3 {
        let truth = ground_truth(&sim, &host(n)).await;
        let events = read_stream(&conf, &format!("/fleet/t{n:02}"), "entrust_idaas-audit").await;
        let uids: Vec<String> = events
            .iter()
            .map(|(_, m)| {
                let v: serde_json::Value = serde_json::from_str(m).expect("an OCSF event");
                v["metadata"]["uid"].as_str().expect("uid").to_string()
            })
            .collect();
        assert_eq!(once_each(&format!("/fleet/t{n:02}"), &uids), truth, "{stderr}");
    }
    sim.shutdown().await;
}

#[test]
fn flags_that_name_one_destination_are_refused_for_a_file_of_several() {
    let dir = root().join("tests/check/pipelines");
    for (flag, says) in [
        (&["--output", "x.ndjson"][..], "give each pipeline a `file: {path}` sink"),
        (&["--sink", "stdout"][..], "set each pipeline's `sink` in the file"),
        (&["--simulate"][..], "pass --simulate-at 127.0.0.1:N"),
    ] {
        let (code, stderr) = engine(&dir, &[], &[&["run", "spec.yaml"][..], flag].concat());
        assert_eq!(code, 2, "{flag:?}: {stderr}");
        assert!(stderr.contains(says), "{flag:?}: {stderr}");
    }
}
