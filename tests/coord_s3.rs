//! The coordination store on S3, against moto: first that moto honours the conditional writes
//! the protocol stands on (`If-None-Match: *` and `If-Match` on PutObject, `If-Match` on
//! DeleteObject), then leases over the real wire protocol, then two `engine run` processes
//! sharing one pipeline through `--coordination s3://…`: the first is SIGKILLed while it holds
//! the lease, parked between a CloudWatch Logs send and its commit; the second, started while
//! the first still renews its lease, waits, takes over once the lease expires, reads back
//! what was in flight and finishes: every record once in the log group.
//!
//! moto checks each condition under no lock shared with concurrent requests, so this proves
//! the wire protocol; the concurrency is proved by tests/coord_protocol.rs.

mod common;

use common::moto::{Moto, log_event_uids};
use common::pipeline::{assert_exactly_once, engine_run, signal, temp_dir, wait_at_most};
use ocsf_engine::coord::s3::S3Store;
use ocsf_engine::coord::{Cas, Claim, Leases, Store, Taken};
use ocsf_engine::runner::clock::Clock;
use ocsf_engine::simulator::{FaultConfig, SimConfig, start};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The tests of this file take turns: moto servers started together on a busy machine can
/// take longer than the harness waits for them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn bucket(moto: &Moto, name: &str) -> aws_sdk_s3::Client {
    let conf = moto.sdk_config().await;
    let s3 = ocsf_engine::aws::s3_client(&conf);
    s3.create_bucket().bucket(name).send().await.expect("CreateBucket");
    s3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_honours_conditional_writes_and_the_store_reads_them_right() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let moto = Moto::start();
    let _s3 = bucket(&moto, "coord-wire").await;
    let store = S3Store::new(&moto.sdk_config().await, "coord-wire", "fleet/");
    assert_eq!(store.describe(), "s3://coord-wire/fleet");
    assert_eq!(store.get("leases/a.json").await, Ok(None));
    let Cas::Written(t1) = store.put_if_absent("leases/a.json", b"{\"n\":1}".to_vec()).await.unwrap() else {
        panic!("the first create writes")
    };
    assert!(!t1.is_empty());
    assert_eq!(
        store.put_if_absent("leases/a.json", b"{\"n\":2}".to_vec()).await,
        Ok(Cas::Conflict),
        "If-None-Match: *"
    );
    let Cas::Written(t2) = store.put_if_match("leases/a.json", b"{\"n\":3}".to_vec(), &t1).await.unwrap() else {
        panic!("If-Match with the current tag writes")
    };
    assert_ne!(t1, t2);
    assert_eq!(store.put_if_match("leases/a.json", b"{\"n\":4}".to_vec(), &t1).await, Ok(Cas::Conflict), "a stale tag");
    assert_eq!(store.put_if_match("leases/none.json", b"{}".to_vec(), &t1).await, Ok(Cas::Conflict), "no object");
    let got = store.get("leases/a.json").await.unwrap().unwrap();
    assert_eq!((got.body.as_slice(), got.etag.as_str()), (b"{\"n\":3}".as_slice(), t2.as_str()));
    store.put_if_absent("state/p/x.json", b"{}".to_vec()).await.unwrap();
    assert_eq!(store.list("leases/").await.unwrap(), ["leases/a.json"]);
    assert_eq!(store.list("").await.unwrap(), ["leases/a.json", "state/p/x.json"]);
    assert_eq!(store.delete_if_match("leases/a.json", &t1).await, Ok(Cas::Conflict), "a stale delete");
    assert!(matches!(store.delete_if_match("leases/a.json", &t2).await, Ok(Cas::Written(_))));
    assert_eq!(store.get("leases/a.json").await, Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_over_s3_are_exclusive_renewed_released_and_taken_over() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let moto = Moto::start();
    let _s3 = bucket(&moto, "coord-leases").await;
    let store: Arc<dyn Store> = Arc::new(S3Store::new(&moto.sdk_config().await, "coord-leases", "p"));
    let (clock_a, clock_b) = (Clock::fixed(0), Clock::fixed(50_000_000));
    let ttl = Duration::from_secs(30);
    let a = Leases::new(Arc::clone(&store), "A", ttl, clock_a.clone());
    let b = Leases::new(Arc::clone(&store), "B", ttl, clock_b.clone());
    let Claim::Acquired(la) = a.try_acquire("t01").await.unwrap() else { panic!("A takes a new lease") };
    assert!(matches!(b.try_acquire("t01").await.unwrap(), Claim::Busy { ref owner, .. } if owner == "A"));
    clock_a.set(10_000);
    a.renew(&la).await.unwrap();
    clock_b.set(clock_b.now_ms() + 30_000);
    assert!(matches!(b.try_acquire("t01").await.unwrap(), Claim::Busy { .. }), "renewed: fresh again");
    a.release(&la).await.unwrap();
    let Claim::Acquired(lb) = b.try_acquire("t01").await.unwrap() else { panic!("released: B takes it at once") };
    assert_eq!((lb.epoch, &lb.taken), (2, &Taken::Released { from: "A".into() }));
    assert!(a.renew(&la).await.unwrap_err().is_lost());
    // B dies; A takes over after a whole lease without change by A's clock.
    assert!(matches!(a.try_acquire("t01").await.unwrap(), Claim::Busy { .. }));
    clock_a.set(clock_a.now_ms() + 30_000);
    let Claim::Acquired(la) = a.try_acquire("t01").await.unwrap() else { panic!("A takes the expired lease") };
    assert_eq!((la.epoch, &la.taken), (3, &Taken::Expired { from: "B".into() }));
}

/// Polls `path` until it holds `text`; panics after `limit` with what it holds.
fn wait_for_text(path: &Path, text: &str, child: &mut std::process::Child, limit: Duration) {
    let began = Instant::now();
    loop {
        let got = std::fs::read_to_string(path).unwrap_or_default();
        if got.contains(text) {
            return;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the run ended ({status}) before saying `{text}`:\n{got}");
        }
        assert!(began.elapsed() < limit, "no `{text}` within {limit:?}:\n{got}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_holding_the_lease_is_taken_over_and_every_record_lands_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let moto = Moto::start();
    let s3 = bucket(&moto, "coord-fleet").await;
    let conf = moto.sdk_config().await;
    let sim = start(SimConfig {
        events: 300,
        seed: 71,
        login_events: false,
        issuance_share: 0.0,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(2 * 3600),
        faults: FaultConfig::default(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let truth: BTreeSet<String> = sim.record_ids().into_iter().collect();
    let env = moto.env();
    let run = |dir: &Path, worker: &str, log: &Path| {
        let mut cmd = engine_run(
            dir,
            sim.addr(),
            &[
                "--once",
                "--set",
                "range=PT3H",
                "--batch-max-events",
                "40",
                "--sink",
                "cloudwatch_logs",
                "--log-group",
                "/fleet/t01",
                "--create-log-group",
                "--coordination",
                "s3://coord-fleet/engine",
                "--lease",
                "PT2S",
                "--worker-id",
                worker,
            ],
        );
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stderr(std::fs::File::create(log).expect("log"));
        cmd
    };
    let (dir_a, dir_b) = (temp_dir("engine-coord", "a"), temp_dir("engine-coord", "b"));
    let (log_a, log_b) = (dir_a.join("run.stderr"), dir_b.join("run.stderr"));
    // A is parked once CloudWatch acknowledged its third batch, before the commit: it holds
    // the lease (its heartbeat renews it) with an intent in the checkpoint.
    let mut a = run(&dir_a, "A", &log_a).env("ENGINE_PAUSE_AT", "sent:3").spawn().expect("A starts");
    wait_for_text(&log_a, "ENGINE_PAUSE_AT: parked", &mut a, Duration::from_secs(120));
    // B starts and waits on A's lease.
    let mut b = run(&dir_b, "B", &log_b).spawn().expect("B starts");
    wait_for_text(&log_b, "is held by worker `A`", &mut b, Duration::from_secs(60));
    let cp_key = "engine/state/entrust_idaas/entrust_idaas/audit.checkpoint.json";
    let get = |key: &'static str| {
        let s3 = s3.clone();
        async move {
            let o = s3.get_object().bucket("coord-fleet").key(key).send().await.expect("GetObject");
            let body = o.body.collect().await.expect("body").into_bytes();
            serde_json::from_slice::<serde_json::Value>(&body).expect("JSON")
        }
    };
    let before = get(cp_key).await;
    assert_eq!(before["owner"], "A");
    assert!(!before["checkpoint"]["pending"].is_null(), "A left an intent: {before}");
    assert_eq!(wait_at_most(&mut b, Duration::from_millis(0)), None, "B waits while A renews");
    // A dies holding the lease.
    a.kill().expect("SIGKILL");
    assert_eq!(a.wait().expect("wait").code(), None);
    let status = wait_at_most(&mut b, Duration::from_secs(120)).unwrap_or_else(|| {
        signal(&b, "KILL");
        panic!("B did not finish:\n{}", std::fs::read_to_string(&log_b).unwrap_or_default())
    });
    let said = std::fs::read_to_string(&log_b).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "B:\n{said}");
    assert!(said.contains("worker `A` may have left a batch in flight"), "{said}");
    let uids = log_event_uids(&conf, "/fleet/t01", "entrust_idaas-audit").await;
    assert_exactly_once(&uids, &[], &truth);
    let lease = get("engine/leases/entrust_idaas.json").await;
    assert_eq!(
        (lease["owner"].as_str(), lease["epoch"].as_u64(), lease["released"].as_bool()),
        (Some("B"), Some(2), Some(true))
    );
    let after = get(cp_key).await;
    assert_eq!((after["owner"].as_str(), after["epoch"].as_u64()), (Some("B"), Some(2)));
    assert!(after["checkpoint"]["pending"].is_null());
    sim.shutdown().await;
}
