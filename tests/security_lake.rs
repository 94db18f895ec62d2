//! The Security Lake sink against moto's S3, its objects read back with an independent Parquet
//! reader (pyarrow, installed by the harness): the key layout and UTC `eventDay` (a backfill over
//! several days with a batch crossing midnight), one class per source, zstd, row-group sizes,
//! LIST annotations on every repeated field, identical schemas across objects, rows sorted by
//! `time` and equal to their JSON events, a retried write recognised by its 412, a killed run's
//! objects not written twice, `engine run --sink security_lake` end to end (flags, and a
//! pipeline file's `security_lake:` sink); and the OCSF 1.3.0
//! profile of every reviewed snapshot event.

mod common;

use arrow_schema::{DataType, Field};
use aws_sdk_s3::Client as S3;
use common::moto::{Moto, download, engine};
use common::pyarrow;
use ocsf_engine::ocsf::profile_1_3::to_1_3;
use ocsf_engine::sink::cloudwatch::rejected::RejectedFile;
use ocsf_engine::sink::security_lake::keys::event_day;
use ocsf_engine::sink::security_lake::schema::{OCSF_TYPE_KEY, class_schema};
use ocsf_engine::sink::security_lake::service::SdkS3;
use ocsf_engine::sink::security_lake::{SecurityLakeOptions, SecurityLakeSink};
use ocsf_engine::sink::{Batch, EncodedEvent, Sink, SinkError};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const BUCKET: &str = "lake-bucket";
const ACCOUNT: &str = "123456789012";
const DAY_MS: i64 = 86_400_000;
/// The flags that name the lake.
const LAKE: [&str; 6] = ["--bucket", BUCKET, "--region", "us-east-1", "--account-id", ACCOUNT];
/// 2025-12-01T00:00:00Z.
const DEC_1: i64 = 1_764_547_200_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("engine-lake-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every reviewed snapshot event (dead-letter snapshots left out), by path.
fn snapshot_events() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root().join("snapshots/entrust")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                if !p.file_name().unwrap().to_string_lossy().starts_with('_') {
                    stack.push(p);
                }
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // The insta header ends at the second `---` line.
            let body = text.split("\n---\n").nth(1).unwrap_or_else(|| panic!("{}: no insta header", p.display()));
            let event: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            out.insert(p.strip_prefix(root()).unwrap().display().to_string(), event);
        }
    }
    out
}

#[test]
fn every_snapshot_event_has_a_valid_ocsf_1_3_profile() {
    let events = snapshot_events();
    assert!(events.len() >= 200, "{} snapshot events", events.len());
    let mut failures = Vec::new();
    let mut moved: BTreeMap<String, usize> = BTreeMap::new();
    for (path, event) in &events {
        match to_1_3(event) {
            Ok(p) => {
                for m in p.moved {
                    *moved.entry(m).or_default() += 1;
                }
                assert_eq!(p.event["metadata"]["version"], "1.3.0");
                // The profile's only rewrites: moves to unmapped, 99 for unknown ids, the profile.
                assert_eq!(p.event["time"], event["time"], "{path}");
            }
            Err(e) => failures.push(format!("{path}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} have no 1.3.0 profile:\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );
    assert!(moved.contains_key("metadata.transformation_info_list"), "{moved:?}");
    assert!(moved.contains_key("auth_factors"), "{moved:?}");
}

fn options(stream: &str) -> SecurityLakeOptions {
    let mut o = SecurityLakeOptions::new(BUCKET, "us-east-1", ACCOUNT, "entrust", stream);
    o.flush_interval = std::time::Duration::ZERO;
    o
}

async fn s3(moto: &Moto) -> (aws_config::SdkConfig, S3) {
    let conf = moto.sdk_config().await;
    let client = S3::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build());
    client.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    (conf, client)
}

fn sink(conf: &aws_config::SdkConfig, opts: SecurityLakeOptions, dir: &Path) -> SecurityLakeSink {
    let refused = RejectedFile::of_sink(&dir.join("refused.ndjson"), false, "security_lake", "source_name");
    SecurityLakeSink::with_store(SdkS3::new(conf), opts, refused)
}

/// Snapshot events re-timed: `times[i]` for the i-th, each with its own uid.
fn batch_of(events: &[&Value], times: &[i64]) -> (Batch, Vec<Value>) {
    let mut batch = Batch::default();
    let mut originals = Vec::new();
    for (i, (&event, &t)) in events.iter().cycle().zip(times).enumerate() {
        let mut e = event.clone();
        e["time"] = t.into();
        e["metadata"]["uid"] = format!("lake-{i:05}").into();
        let line = serde_json::to_string(&e).unwrap();
        batch.bytes += line.len() + 1;
        batch.events.push(EncodedEvent { line, time_ms: t });
        originals.push(e);
    }
    (batch, originals)
}

async fn send(sink: &mut SecurityLakeSink, batch: &Batch) -> Result<ocsf_engine::sink::Ack, SinkError> {
    sink.intent(batch)?;
    sink.send(batch).await
}

/// A value as pyarrow gives it, made comparable with the JSON event: nulls (absent fields)
/// dropped, JSON text columns parsed, guided by the Arrow field.
fn normalize(field: &Field, value: &Value) -> Option<Value> {
    if value.is_null() {
        return None;
    }
    Some(match (field.data_type(), value) {
        (DataType::Utf8, Value::String(s)) if field.metadata().get(OCSF_TYPE_KEY).is_some() => {
            serde_json::from_str(s).unwrap()
        }
        (DataType::Struct(children), Value::Object(map)) => {
            let mut out = serde_json::Map::new();
            for c in children.iter() {
                if let Some(v) = map.get(c.name()).and_then(|v| normalize(c, v)) {
                    out.insert(c.name().clone(), v);
                }
            }
            Value::Object(out)
        }
        (DataType::List(item), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| normalize(item, v).unwrap_or(Value::Null)).collect())
        }
        _ => value.clone(),
    })
}

fn row_as_event(schema: &arrow_schema::Schema, row: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for f in schema.fields() {
        if let Some(v) = row.get(f.name()).and_then(|v| normalize(f, v)) {
            out.insert(f.name().clone(), v);
        }
    }
    Value::Object(out)
}

/// What every object must be: under its source's partition of its rows' UTC day, zstd, row
/// groups ≤ 256 MB, LIST-annotated repeated fields, the class's schema, rows sorted by time.
/// Returns the rows by uid.
fn check_objects(objects: &BTreeMap<String, PathBuf>) -> BTreeMap<String, (String, Value)> {
    let files: Vec<PathBuf> = objects.values().cloned().collect();
    let read = pyarrow::read(&files).unwrap_or_else(|e| panic!("{e}"));
    let mut rows_by_uid = BTreeMap::new();
    let mut schemas: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ((key, _), file) in objects.iter().zip(read.as_array().unwrap()) {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 6, "{key}");
        assert_eq!((parts[0], parts[2], parts[3]), ("ext", "region=us-east-1", "accountId=123456789012"), "{key}");
        let (source, day) = (parts[1], parts[4].strip_prefix("eventDay=").unwrap());
        let class = if source.ends_with("-auth") {
            "authentication"
        } else if source.ends_with("-entity") {
            "entity_management"
        } else {
            panic!("unexpected source {source}")
        };
        assert!(source.len() <= 20, "{source}");
        let schema = class_schema("1.3.0", class).unwrap();
        schemas.entry(source.to_string()).or_default().insert(file["arrow_schema"].as_str().unwrap().to_string());
        for rg in file["row_groups"].as_array().unwrap() {
            assert_eq!(rg["compressions"], serde_json::json!(["ZSTD"]), "{key}");
            assert!(rg["total_byte_size"].as_u64().unwrap() <= 256 << 20, "{key}");
        }
        // Every repeated field is the middle level of a LIST-annotated group.
        let lines: Vec<&str> = file["parquet_schema"].as_str().unwrap().lines().collect();
        let mut lists = 0;
        for (i, l) in lines.iter().enumerate() {
            if l.trim_start().starts_with("repeated") {
                let words: Vec<&str> = l.split_whitespace().filter(|w| !w.starts_with("field_id=")).collect();
                assert_eq!(words.get(..3), Some(&["repeated", "group", "list"][..]), "{key}: bare repeated field: {l}");
                assert!(lines[i - 1].contains("(List)"), "{key}: {} is not a LIST", lines[i - 1]);
                lists += 1;
            }
        }
        assert!(lists > 0, "{key}: no lists at all?");
        let rows = file["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{key}");
        let times: Vec<i64> = rows.iter().map(|r| r["time"].as_i64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{key}: rows not sorted by time");
        for row in rows {
            let event = row_as_event(&schema, row);
            assert_eq!(event_day(event["time"].as_i64().unwrap()), day, "{key}: a row of another UTC day");
            assert_eq!(event["class_uid"], schema.metadata()["ocsf_class_uid"].parse::<i64>().unwrap());
            let uid = event["metadata"]["uid"].as_str().unwrap().to_string();
            assert!(rows_by_uid.insert(uid.clone(), (key.clone(), event)).is_none(), "{uid} twice");
        }
    }
    for (source, set) in schemas {
        assert_eq!(set.len(), 1, "{source}: objects with different schemas");
    }
    rows_by_uid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_lands_by_utc_day_and_every_row_equals_its_event() {
    let moto = Moto::start();
    let (conf, client) = s3(&moto).await;
    let dir = temp_dir("backfill");
    let events = snapshot_events();
    let all: Vec<&Value> = events.values().collect();
    // Three days of events, out of order, and in the same batch two either side of midnight.
    let mut times: Vec<i64> = (0..all.len() as i64).map(|i| DEC_1 + (i * 7_919_000) % (3 * DAY_MS)).collect();
    times.push(DEC_1 + DAY_MS - 1);
    times.push(DEC_1 + DAY_MS);
    let (batch, originals) = batch_of(&all, &times);
    let mut lake = sink(&conf, options("audit"), &dir);
    let ack = send(&mut lake, &batch).await.unwrap();
    assert_eq!((ack.accepted, ack.rejected), (originals.len(), 0));
    let objects = download(&client, BUCKET, &dir).await;
    // One object per source and day: 2 sources × 3 days.
    assert_eq!(objects.len(), 6, "{:?}", objects.keys().collect::<Vec<_>>());
    let rows = check_objects(&objects);
    assert_eq!(rows.len(), originals.len());
    for original in &originals {
        let uid = original["metadata"]["uid"].as_str().unwrap();
        let (key, row) = &rows[uid];
        let expected = to_1_3(original).unwrap().event;
        assert_eq!(row, &expected, "{uid} in {key}");
    }
    let around_midnight = |t: i64| rows.values().find(|(_, r)| r["time"] == t).map(|(k, _)| k.clone()).unwrap();
    assert!(around_midnight(DEC_1 + DAY_MS - 1).contains("eventDay=20251201/"));
    assert!(around_midnight(DEC_1 + DAY_MS).contains("eventDay=20251202/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_finds_its_own_object_and_refuses_a_stranger() {
    let moto = Moto::start();
    let (conf, client) = s3(&moto).await;
    let dir = temp_dir("412");
    let events = snapshot_events();
    let all: Vec<&Value> = events.values().take(20).collect();
    let times: Vec<i64> = (0..20).map(|i| DEC_1 + i * 1000).collect();
    let (batch, _) = batch_of(&all, &times);
    let mut first = sink(&conf, options("audit"), &dir);
    send(&mut first, &batch).await.unwrap();
    let before = download(&client, BUCKET, &dir).await;
    // A second writer at the same checkpoint (a lost answer, retried): the 412 is its own object.
    let mut again = sink(&conf, options("audit"), &dir);
    let ack = send(&mut again, &batch).await.unwrap();
    assert_eq!(ack.accepted, 20);
    assert_eq!(download(&client, BUCKET, &dir).await.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    // Other events under the same keys are not taken for ours.
    let (mut other, _) = batch_of(&all, &times);
    other.events[3].line = other.events[3].line.replace("lake-00003", "someone-else");
    let mut stranger = sink(&conf, options("audit"), &dir);
    match send(&mut stranger, &other).await {
        Err(SinkError::Fatal(m)) => assert!(m.contains("holds other events"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_s_objects_are_not_written_twice() {
    let moto = Moto::start();
    let (conf, client) = s3(&moto).await;
    let dir = temp_dir("resume");
    let events = snapshot_events();
    let all: Vec<&Value> = events.values().collect();
    let times: Vec<i64> = (0..60).map(|i| DEC_1 + i * 60_000).collect();
    let (batch, originals) = batch_of(&all, &times);
    // The killed run: its intent was checkpointed, its objects written, its commit never made.
    let mut killed = sink(&conf, options("audit"), &dir);
    let committed = killed.committed();
    let intent = killed.intent(&batch).unwrap();
    killed.send(&batch).await.unwrap();
    drop(killed);
    // The next run reads from the same checkpoint, batched otherwise: the first 40 again, then the rest.
    let mut next = sink(&conf, options("audit"), &dir);
    next.resume(committed.as_ref(), intent.as_ref()).await.unwrap();
    let (first, second) = (slice(&batch, 0..40), slice(&batch, 40..60));
    assert_eq!(send(&mut next, &first).await.unwrap().accepted, 40);
    assert_eq!(send(&mut next, &second).await.unwrap().accepted, 20);
    let rows = check_objects(&download(&client, BUCKET, &dir).await);
    assert_eq!(rows.len(), originals.len(), "every event once");
}

fn slice(batch: &Batch, range: std::ops::Range<usize>) -> Batch {
    let events = batch.events[range].to_vec();
    Batch { bytes: events.iter().map(|e| e.line.len() + 1).sum(), events }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_run_writes_every_simulated_event_under_the_lake_partitions() {
    let moto = Moto::start();
    let (_, client) = s3(&moto).await;
    let dir = temp_dir("cli");
    let spec = root().join("sources/entrust.yaml");
    let args =
        ["run", spec.to_str().unwrap(), "--simulate", "--once", "--sink", "security_lake", "--simulate-events", "400"];
    let args: Vec<&str> = args.iter().chain(&LAKE).copied().collect();
    let (code, stderr) = engine(&dir, &moto.env(), &args);
    assert_eq!(code, 0, "{stderr}");
    let objects = download(&client, BUCKET, &dir).await;
    let rows = check_objects(&objects);
    // The summary's `total  N` line: every event the run mapped.
    let shipped: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("total")?.split_whitespace().last()?.parse().ok())
        .unwrap_or_else(|| panic!("no total in the summary\n{stderr}"));
    assert_eq!(rows.len(), shipped, "{stderr}");
    assert!(rows.len() >= 400, "{} rows\n{stderr}", rows.len());
    // One run within the flush interval: one object per source and day.
    let per: BTreeSet<(String, String)> = objects
        .keys()
        .map(|k| {
            let p: Vec<&str> = k.split('/').collect();
            (p[1].to_string(), p[4].to_string())
        })
        .collect();
    assert_eq!(per.len(), objects.len(), "{:?}", objects.keys().collect::<Vec<_>>());
}

/// Every data page's uncompressed size in a Parquet file (read with the parquet crate: pyarrow
/// does not show pages).
fn page_sizes(path: &Path) -> Vec<usize> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut sizes = Vec::new();
    for rg in 0..reader.num_row_groups() {
        let group = reader.get_row_group(rg).unwrap();
        for c in 0..group.num_columns() {
            let mut pages = group.get_column_page_reader(c).unwrap();
            while let Some(page) = pages.get_next_page().unwrap() {
                sizes.push(page.buffer().len());
            }
        }
    }
    sizes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_pages_stay_under_a_megabyte_with_large_values() {
    let moto = Moto::start();
    let (conf, client) = s3(&moto).await;
    let dir = temp_dir("pages");
    let events = snapshot_events();
    let auth: Vec<&Value> = events.iter().filter(|(p, _)| p.contains("/authentication/")).map(|(_, e)| e).collect();
    // 64 events with 60,000 characters of unmapped text each: almost 4 MB in one column.
    let times: Vec<i64> = (0..64).map(|i| DEC_1 + i * 1000).collect();
    let (mut batch, _) = batch_of(&auth, &times);
    for (i, e) in batch.events.iter_mut().enumerate() {
        let mut v: Value = serde_json::from_str(&e.line).unwrap();
        let filler: String = (0..60_000).map(|j| char::from(b'a' + ((i * 7 + j) % 26) as u8)).collect();
        v["unmapped"]["filler"] = filler.into();
        e.line = serde_json::to_string(&v).unwrap();
    }
    let mut lake = sink(&conf, options("audit"), &dir);
    assert_eq!(send(&mut lake, &batch).await.unwrap().accepted, 64);
    let objects = download(&client, BUCKET, &dir).await;
    assert_eq!(objects.len(), 1);
    let sizes: Vec<usize> = objects.values().flat_map(|p| page_sizes(p)).collect();
    let largest = sizes.iter().max().copied().unwrap_or(0);
    assert!(largest <= 1 << 20, "a data page of {largest} bytes");
    assert!(largest > 100_000, "the large column was written ({largest})");
    assert_eq!(check_objects(&objects).len(), 64);
}

#[test]
fn bad_security_lake_flags_are_configuration_errors() {
    let dir = temp_dir("flags");
    let spec = root().join("sources/entrust.yaml");
    let spec = spec.to_str().unwrap();
    let base = ["run", spec, "--simulate", "--once", "--sink", "security_lake"];
    let cases: [(&[&str], &str); 4] = [
        (&["--region", "us-east-1", "--account-id", ACCOUNT], "needs --bucket NAME"),
        (&["--bucket", BUCKET, "--region", "us-east-1", "--account-id", "1234"], "--account-id `1234`"),
        (
            &[
                "--bucket",
                BUCKET,
                "--region",
                "us-east-1",
                "--account-id",
                ACCOUNT,
                "--source-name",
                "entity_management=entrust-idaas-auth",
            ],
            "its own source name",
        ),
        (
            &["--bucket", BUCKET, "--region", "us-east-1", "--account-id", ACCOUNT, "--flush-interval", "5m"],
            "--flush-interval `5m`",
        ),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let (code, stderr) = engine(&dir, &[], &args);
        assert_eq!(code, 2, "{args:?}\n{stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected `{expected}` in\n{stderr}");
    }
    let (code, stderr) = engine(&dir, &[], &["run", spec, "--simulate", "--once", "--bucket", BUCKET]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("need --sink security_lake"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_file_with_a_security_lake_sink_runs_like_the_flags() {
    let moto = Moto::start();
    let (_, client) = s3(&moto).await;
    let dir = temp_dir("pipeline");
    let pipeline = dir.join("pipeline.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "source:\n  entrust_idaas:\n    hostname: acme.us.trustedauth.com\nsink:\n  - security_lake:\n      bucket: {BUCKET}\n      region: us-east-1\n      account_id: \"{ACCOUNT}\"\n      source_names:\n        authentication: logins-auth\n"
        ),
    )
    .unwrap();
    // The spec is found by its name in sources/ beside the pipeline file.
    for d in ["sources", "mappings"] {
        std::os::unix::fs::symlink(root().join(d), dir.join(d)).unwrap();
    }
    let args = ["run", "pipeline.yaml", "--simulate", "--once", "--simulate-events", "200"];
    let (code, stderr) = engine(&dir, &moto.env(), &args);
    assert_eq!(code, 0, "{stderr}");
    let objects = download(&client, BUCKET, &dir).await;
    let rows = check_objects(&objects);
    assert!(rows.len() >= 200, "{} rows\n{stderr}", rows.len());
    let sources: BTreeSet<&str> = objects.keys().map(|k| k.split('/').nth(1).unwrap()).collect();
    assert_eq!(sources, BTreeSet::from(["entrust-idaas-entity", "logins-auth"]));

    // A key the sink does not take: exit 2, at its line and column, with a hint.
    std::fs::write(
        &pipeline,
        "source:\n  entrust_idaas: {}\nsink:\n  - security_lake:\n      bucket: b\n      acount_id: \"123456789012\"\n",
    )
    .unwrap();
    let (code, stderr) = engine(&dir, &moto.env(), &args);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("pipeline.yaml:6:7: unknown key `security_lake.acount_id` (did you mean `account_id`?)"),
        "{stderr}"
    );
}
