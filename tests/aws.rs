//! The AWS side against a real local endpoint (moto, installed and started by the harness):
//! credentials read from Secrets Manager, a simulated backfill shipped to CloudWatch Logs and
//! read back complete, in order and once each, a run stopped between batches, a missing log
//! group, and `engine run … --sink cloudwatch_logs` end to end.

mod common;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client as Logs;
use aws_sdk_secretsmanager::Client as SecretsManager;
use common::library::{Ready, StopAfter, quick_options, ready};
use common::moto::{Moto, engine, read_stream};
use ocsf_engine::aws::secrets::{Resolver, SecretError};
use ocsf_engine::runner::checkpoint::CheckpointStore;
use ocsf_engine::runner::summary::Summary;
use ocsf_engine::runner::{Outputs, RunOptions, run_stream};
use ocsf_engine::simulator::{DEMO_APPLICATION_ID, DEMO_SHARED_SECRET, SimConfig, SimHandle, start};
use ocsf_engine::sink::cloudwatch::rejected::RejectedFile;
use ocsf_engine::sink::cloudwatch::retry::Backoff;
use ocsf_engine::sink::cloudwatch::{CloudWatchOptions, CloudWatchSink};
use ocsf_engine::sink::{Ack, Batch, DeadLetterFile, Sink};
use ocsf_engine::source::SourceSpec;
use ocsf_engine::source::stream::StreamSpec;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// Records in the backfill test (OCSF_ENGINE_BACKFILL_EVENTS overrides).
const BACKFILL_EVENTS: usize = 50_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("engine-aws-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn create_group(conf: &SdkConfig, group: &str) {
    Logs::new(conf).create_log_group().log_group_name(group).send().await.expect("CreateLogGroup");
}

/// The Entrust spec with its stream's windows sized for the test.
fn entrust(window: Duration) -> (SourceSpec, StreamSpec) {
    common::library::entrust(window, Duration::from_secs(60))
}

fn sim_config(events: usize, span: Duration) -> SimConfig {
    SimConfig {
        events,
        seed: 5,
        login_events: false,
        end_time: Some(SystemTime::now() - Duration::from_secs(10)),
        span,
        ..SimConfig::default()
    }
}

/// One `--once` run of the simulated tenant into `group`, resuming from `state`.
#[allow(clippy::too_many_arguments)]
async fn ship(
    conf: &SdkConfig,
    sim: &SimHandle,
    spec: &SourceSpec,
    stream: &StreamSpec,
    group: &str,
    range: &str,
    state: &Path,
    stop_after_batches: Option<usize>,
) -> Summary {
    let Ready { params, prepared, mappings } = ready(sim, spec, stream, range);
    let options = CloudWatchOptions {
        log_group: group.into(),
        log_stream: "entrust".into(),
        create_group: false,
        backoff: Backoff::default(),
    };
    let refused = RejectedFile::new(&state.join("refused.ndjson"), false);
    let sink = CloudWatchSink::connect(conf, options, refused).await.expect("sink connects");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sink = StopAfter { inner: sink, n: stop_after_batches.unwrap_or(usize::MAX), sent: 0, stop: stop_tx };
    let mut dead = DeadLetterFile::new(&state.join("dead.ndjson"), false);
    let store = CheckpointStore::new(state, &spec.name, &stream.name);
    let batch = RunOptions::default().batch_max_events;
    let opts = quick_options(batch, Duration::from_millis(50), Duration::from_secs(10));
    let outputs = Outputs { sink: &mut sink, dead_letters: &mut dead, store: &store };
    let summary = run_stream(spec, stream, &params, &mappings, &prepared, outputs, &opts, stop_rx)
        .await
        .unwrap_or_else(|f| panic!("run failed: {}", f.message));
    assert_eq!(summary.total_dead_letters(), 0, "{summary:?}");
    assert_eq!(summary.sink_rejected, 0, "{summary:?}");
    summary
}

/// Checks that `events` are the tenant's records, each once, in the order of their OCSF time.
fn assert_complete_in_order(events: &[(i64, String)], sim: &SimHandle) {
    let mut seen = HashSet::new();
    let mut last_time = i64::MIN;
    let mut last_stamp = i64::MIN;
    for (stamp, message) in events {
        let v: serde_json::Value = serde_json::from_str(message).expect("events are JSON");
        let uid = v["metadata"]["uid"].as_str().expect("metadata.uid").to_string();
        let time = v["time"].as_i64().expect("time");
        assert!(time >= last_time, "out of order at {uid}: {time} after {last_time}");
        assert!(*stamp >= last_stamp, "CloudWatch timestamps go back at {uid}");
        assert!(seen.insert(uid.clone()), "{uid} delivered twice");
        last_time = time;
        last_stamp = *stamp;
    }
    let truth: HashSet<String> = sim.record_ids().into_iter().collect();
    assert_eq!(seen.len(), truth.len(), "every record of the tenant, once");
    assert_eq!(seen, truth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_read_from_secrets_manager() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let sm = SecretsManager::new(&conf);
    let created = sm
        .create_secret()
        .name("prod/entrust")
        .secret_string(r#"{"client_id":"app-123","client_secret":"s3cr3t-value"}"#)
        .send()
        .await
        .expect("CreateSecret");
    let arn = created.arn().expect("arn").to_string();
    sm.create_secret().name("plain").secret_string("not json").send().await.expect("CreateSecret");

    let resolver = Resolver::new(conf.clone());
    assert_eq!(resolver.get("prod/entrust:client_id").await.unwrap().expose(), "app-123");
    let secret = resolver.get("prod/entrust:client_secret").await.unwrap();
    assert_eq!(secret.expose(), "s3cr3t-value");
    assert_eq!(format!("{secret:?} {secret}"), "*** ***");
    assert_eq!(resolver.calls(), 1, "one GetSecretValue per secret");
    assert_eq!(resolver.get(&format!("{arn}:client_id")).await.unwrap().expose(), "app-123");

    // Rotation: forgetting a secret reads it again.
    sm.put_secret_value()
        .secret_id("prod/entrust")
        .secret_string(r#"{"client_id":"app-123","client_secret":"rotated"}"#)
        .send()
        .await
        .expect("PutSecretValue");
    assert_eq!(resolver.get("prod/entrust:client_secret").await.unwrap().expose(), "s3cr3t-value");
    resolver.forget("prod/entrust");
    assert_eq!(resolver.get("prod/entrust:client_secret").await.unwrap().expose(), "rotated");

    assert_eq!(resolver.get("missing:client_id").await.unwrap_err(), SecretError::NotFound("missing".into()));
    let e = resolver.get("prod/entrust:password").await.unwrap_err();
    assert!(matches!(&e, SecretError::MissingKey { key, .. } if key == "password"), "{e}");
    assert!(!e.to_string().contains("rotated") && !e.to_string().contains("app-123"), "{e}");
    let e = resolver.get("plain:key").await.unwrap_err();
    assert_eq!(e, SecretError::NotJson("plain".into()));
    assert!(!e.to_string().contains("not json"));

    // No credentials at all: a clear error, not a hang.
    let anonymous = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .no_credentials()
        .load()
        .await;
    let e = Resolver::new(anonymous).get("prod/entrust:client_id").await.unwrap_err();
    assert_eq!(e, SecretError::NoCredentials("prod/entrust".into()), "{e}");
    assert!(e.to_string().contains("AWS_ACCESS_KEY_ID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_older_than_14_days_lands_complete_in_order_once_each() {
    let n = std::env::var("OCSF_ENGINE_BACKFILL_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(BACKFILL_EVENTS);
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    create_group(&conf, "/ocsf/backfill").await;
    // 30 days of history: half of it older than CloudWatch Logs accepts.
    let sim = start(sim_config(n, Duration::from_secs(30 * 86_400))).await.expect("simulator");
    let (spec, stream) = entrust(Duration::from_secs(86_400));
    let state = temp_dir("backfill");
    let started = Instant::now();
    let summary = ship(&conf, &sim, &spec, &stream, "/ocsf/backfill", "P31D", &state, None).await;
    let shipped = started.elapsed();
    let events = read_stream(&conf, "/ocsf/backfill", "entrust").await;
    eprintln!(
        "backfill: {n} records shipped to moto in {:.1} s ({} batches), read back in {:.1} s",
        shipped.as_secs_f64(),
        summary.batches,
        (started.elapsed() - shipped).as_secs_f64()
    );
    assert_complete_in_order(&events, &sim);
    // The oldest events carry their true time in OCSF `time`, not in the CloudWatch timestamp.
    let (stamp, first) = &events[0];
    let time = serde_json::from_str::<serde_json::Value>(first).unwrap()["time"].as_i64().unwrap();
    assert!(time < stamp - 15 * 86_400_000, "true time {time} kept; stamped {stamp}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_between_batches_resumes_without_loss_or_duplicates() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    create_group(&conf, "restart").await;
    let sim = start(sim_config(3_000, Duration::from_secs(6 * 3600))).await.expect("simulator");
    let (spec, stream) = entrust(Duration::from_secs(3600));
    let state = temp_dir("restart");
    let first = ship(&conf, &sim, &spec, &stream, "restart", "PT7H", &state, Some(2)).await;
    assert!(first.interrupted, "{first:?}");
    let partial = read_stream(&conf, "restart", "entrust").await;
    assert!(!partial.is_empty() && partial.len() < 3_000, "{}", partial.len());
    let second = ship(&conf, &sim, &spec, &stream, "restart", "PT7H", &state, None).await;
    assert!(!second.interrupted);
    assert_complete_in_order(&read_stream(&conf, "restart", "entrust").await, &sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_log_group_is_a_clear_error_unless_creation_is_asked() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let state = temp_dir("missing");
    let options = |create_group| CloudWatchOptions {
        log_group: "/no/such/group".into(),
        log_stream: "s".into(),
        create_group,
        backoff: Backoff::default(),
    };
    let refused = || RejectedFile::new(&state.join("refused.ndjson"), false);
    let err = CloudWatchSink::connect(&conf, options(false), refused()).await.err().expect("an error");
    assert!(err.contains("`/no/such/group` does not exist") && err.contains("--create-log-group"), "{err}");
    let mut sink = CloudWatchSink::connect(&conf, options(true), refused()).await.expect("created");
    let line = r#"{"time":1}"#.to_string();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    let batch = Batch { events: vec![ocsf_engine::sink::EncodedEvent { line, time_ms: now }], bytes: 36 };
    assert_eq!(sink.send(&batch).await.unwrap(), Ack { accepted: 1, rejected: 0 });
    assert_eq!(read_stream(&conf, "/no/such/group", "s").await.len(), 1);
}

/// The `total` of the summary table `engine run` prints.
fn summary_total(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("total"))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total in the summary:\n{stderr}"))
}

/// The simulated tenant holds `events` records plus one per login (the login is audited too):
/// every one of them is delivered once or dead-lettered.
fn assert_every_record_once(got: usize, dead: usize, events: usize, stderr: &str) {
    assert_eq!(got, summary_total(stderr), "the log group holds what the run delivered\n{stderr}");
    let logins: usize = stderr
        .lines()
        .find_map(|l| l.split_once(" logins").map(|(head, _)| head.rsplit(['(', ' ']).next().unwrap_or("").to_string()))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert_eq!(got + dead, events + logins, "every simulated record, delivered or dead-lettered\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_run_lands_every_simulated_record_in_the_log_group_once_as_valid_ocsf() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    create_group(&conf, "G").await;
    // The simulator's credentials, read from Secrets Manager.
    let secret = serde_json::json!({ "client_id": DEMO_APPLICATION_ID, "client_secret": DEMO_SHARED_SECRET });
    SecretsManager::new(&conf)
        .create_secret()
        .name("entrust")
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("CreateSecret");
    let dir = temp_dir("cli");
    let spec = root().join("sources/entrust.yaml");
    let events = 2_000;
    let (code, stderr) = engine(
        &dir,
        &moto.env(),
        &[
            "run",
            spec.to_str().unwrap(),
            "--simulate",
            "--once",
            "--sink",
            "cloudwatch_logs",
            "--log-group",
            "G",
            "--simulate-events",
            &events.to_string(),
            "--set",
            "client_id=${{aws_secrets:entrust:client_id}}",
            "--set",
            "client_secret=${{aws_secrets:entrust:client_secret}}",
        ],
    );
    let dead = std::fs::read_to_string(dir.join("ocsf-events.simulated.dead-letter.ndjson")).unwrap_or_default();
    assert!(code == 0 || (code == 1 && !dead.is_empty()), "exit {code}: {stderr}");
    assert!(!stderr.contains(DEMO_SHARED_SECRET), "{stderr}");
    let got = read_stream(&conf, "G", "entrust_idaas-audit").await;
    let mut uids = HashSet::new();
    for (_, message) in &got {
        let v: serde_json::Value = serde_json::from_str(message).expect("JSON");
        ocsf_engine::ocsf::validate(&v).unwrap_or_else(|e| panic!("invalid OCSF: {e:?}\n{message}"));
        assert!(uids.insert(v["metadata"]["uid"].as_str().expect("metadata.uid").to_string()), "twice");
    }
    assert_every_record_once(got.len(), dead.lines().count(), events, &stderr);

    // A missing group: exit 2 and a message saying what to do.
    let (code, stderr) = engine(
        &dir,
        &moto.env(),
        &["run", spec.to_str().unwrap(), "--simulate", "--once", "--sink", "cloudwatch_logs", "--log-group", "nope"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("log group `nope` does not exist"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_file_runs_as_its_source_spec() {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let dir = temp_dir("pipeline");
    let pipeline = dir.join("pipeline.yaml");
    std::fs::write(
        &pipeline,
        "source:\n  entrust_idaas:\n    hostname: example.us.trustedauth.com\n    range: P1D\n    authentication:\n      oauth2:\n        client_id: x\n        client_secret: y\nprocessor:\n  - ocsf:\n      version: \"1.5\"\n      mapping_version: 1.5.0\nsink:\n  - cloudwatch_logs:\n      log_group: /pipelines/entrust\n",
    )
    .unwrap();
    // Run from the repository so that sources/ is found.
    let (code, stderr) = engine(
        &root(),
        &moto.env(),
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--simulate",
            "--once",
            "--create-log-group",
            "--simulate-events",
            "300",
            "--state-dir",
            dir.join("state").to_str().unwrap(),
            "--dead-letter",
            dir.join("dead.ndjson").to_str().unwrap(),
        ],
    );
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    let got = read_stream(&conf, "/pipelines/entrust", "entrust_idaas-audit").await;
    let dead = std::fs::read_to_string(dir.join("dead.ndjson")).unwrap_or_default();
    assert_every_record_once(got.len(), dead.lines().count(), 300, &stderr);
}
