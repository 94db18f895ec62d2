//! A fleet of three `engine run` workers sharing a file of twelve named pipelines through
//! `--coordination s3://…` (moto), each pipeline a simulated tenant of its own by host name,
//! into a CloudWatch Logs group of its own: the workers spread the pipelines among
//! themselves; one is SIGKILLed while it holds a lease and has committed a checkpoint, and is
//! started again; all three exit 0 once every pipeline is caught up (by whichever worker), and
//! every log group then holds its tenant's records exactly once (the ground truth from
//! `GET /__sim/ids` sent with the tenant's `Host`).
//!
//! moto checks S3's conditions under no lock shared with concurrent requests, so this proves
//! the wiring and the wire protocol end to end; the concurrency is proved by
//! tests/coord_protocol.rs.

mod common;

use common::moto::{Moto, log_event_uids};
use common::pipeline::{assert_exactly_once, root, signal, temp_dir, wait_at_most};
use ocsf_engine::simulator::{SimConfig, SimHandle, start};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const PIPELINES: usize = 12;
const EVENTS: usize = 300;
const BUCKET: &str = "fleet-coord";

fn host(n: usize) -> String {
    format!("t{n:02}.example.trustedauth.com")
}

/// The file of the contract: `t01`…`t12`, each its tenant over the last two days into
/// `/fleet/tNN`.
fn pipelines() -> String {
    let mut text = String::from("version: 2\n");
    for n in 1..=PIPELINES {
        text.push_str(&format!(
            "t{n:02}:\n  source:\n    entrust_idaas:\n      hostname: {}\n      range: P2D\n  sink:\n    - cloudwatch_logs: {{ log_group: /fleet/t{n:02} }}\n",
            host(n)
        ));
    }
    text
}

/// A worker's directory (its machine): the bundled specs and mappings, and the file.
fn workspace(worker: &str) -> PathBuf {
    let dir = temp_dir("engine-fleet-s3", worker);
    for d in ["sources", "mappings"] {
        std::os::unix::fs::symlink(root().join(d), dir.join(d)).unwrap();
    }
    std::fs::write(dir.join("pipelines.yaml"), pipelines()).unwrap();
    dir
}

/// Starts worker `worker` in `dir`, its standard error into `log`.
fn worker(dir: &Path, worker: &str, sim: &SimHandle, moto: &Moto, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(dir)
        .args(["run", "pipelines.yaml", "--once", "--simulate-at", &sim.addr().to_string()])
        .args(["--coordination", &format!("s3://{BUCKET}/engine"), "--worker-id", worker, "--lease", "PT2S"])
        .args(["--create-log-group", "--batch-max-events", "25", "--state-dir", "state"])
        .env_remove("AWS_PROFILE")
        .envs(moto.env().iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("engine starts")
}

/// The JSON object at `key`, if any.
async fn object(s3: &aws_sdk_s3::Client, key: &str) -> Option<serde_json::Value> {
    let o = s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
    let body = o.body.collect().await.expect("body").into_bytes();
    Some(serde_json::from_slice(&body).expect("JSON"))
}

/// A pipeline whose lease `worker` holds (not released) and whose checkpoint it has committed
/// under that lease: (pipeline, epoch).
async fn held_and_committed(s3: &aws_sdk_s3::Client, worker: &str) -> Option<(String, u64)> {
    for n in 1..=PIPELINES {
        let name = format!("t{n:02}");
        let Some(lease) = object(s3, &format!("engine/leases/{name}.json")).await else { continue };
        if lease["owner"] != worker || lease["released"] == true {
            continue;
        }
        let key = format!("engine/state/{name}/entrust_idaas/audit.checkpoint.json");
        let Some(cp) = object(s3, &key).await else { continue };
        if cp["owner"] == worker && cp["epoch"] == lease["epoch"] && !cp["checkpoint"].is_null() {
            return Some((name, lease["epoch"].as_u64().expect("epoch")));
        }
    }
    None
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_twelve_pipelines_through_s3_and_a_killed_one_loses_and_repeats_nothing() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let s3 = ocsf_engine::aws::s3_client(&conf);
    s3.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    // Tenants that hold still: records end three minutes ago (past the settle delay).
    let sim = start(SimConfig {
        events: EVENTS,
        seed: 73,
        login_events: false,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(12 * 3600),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let names = ["W1", "W2", "W3"];
    let dirs: Vec<PathBuf> = names.iter().map(|w| workspace(w)).collect();
    let logs: Vec<PathBuf> = dirs.iter().map(|d| d.join("run.stderr")).collect();
    let mut children: Vec<Child> =
        names.iter().zip(&dirs).zip(&logs).map(|((w, d), l)| worker(d, w, &sim, &moto, l)).collect();
    let all_logs =
        |logs: &[PathBuf]| logs.iter().map(|l| format!("{}:\n{}", l.display(), log_of(l))).collect::<String>();

    // W2 dies once it holds a lease and has committed under it.
    let began = Instant::now();
    let (unit, epoch) = loop {
        if let Some(found) = held_and_committed(&s3, "W2").await {
            break found;
        }
        if let Some(status) = children[1].try_wait().expect("try_wait") {
            panic!("W2 ended ({status}) before it was seen holding a committed pipeline\n{}", all_logs(&logs));
        }
        assert!(began.elapsed() < Duration::from_secs(180), "W2 never held a committed pipeline\n{}", all_logs(&logs));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    children[1].kill().expect("SIGKILL");
    assert_eq!(children[1].wait().expect("wait").code(), None, "killed by the signal");
    let killed_log = dirs[1].join("killed.stderr");
    std::fs::rename(&logs[1], &killed_log).unwrap();
    children[1] = worker(&dirs[1], "W2", &sim, &moto, &logs[1]);

    for (i, child) in children.iter_mut().enumerate() {
        let status = wait_at_most(child, Duration::from_secs(300)).unwrap_or_else(|| {
            signal(child, "KILL");
            panic!("{} did not finish\n{}", names[i], all_logs(&logs))
        });
        assert_eq!(status.code(), Some(0), "{} exits 0\n{}", names[i], all_logs(&logs));
    }
    for n in 1..=PIPELINES {
        let body: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/__sim/ids", sim.base_url()))
            .header("Host", host(n))
            .send()
            .await
            .expect("ids")
            .json()
            .await
            .expect("json");
        let truth: BTreeSet<String> =
            body["ids"].as_array().expect("ids").iter().map(|v| v.as_str().expect("id").to_string()).collect();
        assert_eq!(truth.len(), EVENTS);
        let uids = log_event_uids(&conf, &format!("/fleet/t{n:02}"), "entrust_idaas-audit").await;
        assert_exactly_once(&uids, &[], &truth);
    }
    // The pipeline W2 held when it died was taken over under a later epoch, and finished.
    let lease = object(&s3, &format!("engine/leases/{unit}.json")).await.expect("lease");
    assert!(lease["epoch"].as_u64().expect("epoch") > epoch, "{unit} taken over: {lease}");
    assert_eq!(lease["released"], true, "{lease}");
    let done = object(&s3, &format!("engine/finished/{unit}.json")).await.expect("finish mark");
    assert_eq!(done["unit"], unit.as_str());
    // The pipelines were spread: the survivors each ran some to their end.
    for i in [0, 2] {
        let said = log_of(&logs[i]);
        assert!(said.contains(&format!("worker {}: pipelines:", names[i])), "{said}");
        assert!(said.contains("done (exit 0)"), "{} ran pipelines\n{said}", names[i]);
    }
    sim.shutdown().await;
}
