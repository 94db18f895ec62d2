//! Mapping throughput, per record, raw JSON bytes in and one line of OCSF JSON out, single
//! thread: (a) the engine with validation, (b) the engine without validation, (c) a
//! hand-written typed mapping of the same records (the baseline), (d) serde_json parse and
//! serialize alone (the floor).
//!
//! Two mixes: `full`, every fixture under `tests/fixtures/entrust/` except the dead letters
//! (a, b, d), and `covered`, the records the hand-written mapping covers (a, b, c, d), on which
//! the ratios a/c and b/c are taken. Before measuring, the hand-written output is checked to
//! be byte for byte the engine's for every covered record.
//!
//! `cargo bench --bench mapping`; records/s = criterion's `thrpt` (elements/s).

mod handwritten;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ocsf_engine::json::doc::Doc;
use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::source::SourceSpec;
use serde_json::Value;
use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(validate: bool) -> MappingSet {
    let spec = SourceSpec::load(&root().join("sources/entrust.yaml")).expect("spec loads");
    let params = spec.offline_params(&[]).expect("offline params");
    let options = MapOptions { skip_validation: !validate, ..MapOptions::default() };
    MappingSet::load(&spec.mappings, &params, options).expect("mappings load")
}

fn fixtures(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() && !name.starts_with('_') {
            fixtures(&p, out);
        } else if name.ends_with(".json") {
            // Compact, as records arrive from the API.
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            out.push((p, serde_json::to_vec(&v).unwrap()));
        }
    }
}

/// One record as `engine map` maps it: parsed into a [`Doc`] (the room of the one before
/// reused) when it is plain, else into a `Value`.
fn engine_line(set: &MappingSet, raw: &[u8], out: &mut Vec<u8>) -> bool {
    thread_local! {
        static DOC: RefCell<Doc> = RefCell::default();
    }
    DOC.with(|doc| {
        let mut doc = doc.borrow_mut();
        if doc.parse_into(raw) {
            return set.map_doc(&doc, out).is_ok();
        }
        let record: Value = serde_json::from_slice(raw).expect("fixture is JSON");
        set.map_to(record, out).is_ok()
    })
}

fn floor_line(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let record: Value = serde_json::from_slice(raw).expect("fixture is JSON");
    serde_json::to_writer(out, &record).is_ok()
}

/// The hand-written mapping gives the engine's bytes for every record it covers.
fn check_baseline(set: &MappingSet, records: &[(PathBuf, Vec<u8>)]) {
    let (mut engine, mut baseline) = (Vec::new(), Vec::new());
    for (path, raw) in records {
        engine.clear();
        baseline.clear();
        assert!(handwritten::map_line(raw, &mut baseline), "{} is not covered", path.display());
        assert!(engine_line(set, raw, &mut engine), "{} is dead-lettered", path.display());
        assert!(
            engine == baseline,
            "{}: the hand-written mapping differs from the engine\n engine:   {}\n baseline: {}",
            path.display(),
            String::from_utf8_lossy(&engine),
            String::from_utf8_lossy(&baseline)
        );
    }
}

fn run(c: &mut Criterion, group: &str, records: &[(PathBuf, Vec<u8>)], with_baseline: bool) {
    let validated = load(true);
    let unvalidated = load(false);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(records.len() as u64));
    let mut out = Vec::with_capacity(4096);
    let mut bench = |name: &str, f: &dyn Fn(&[u8], &mut Vec<u8>) -> bool| {
        g.bench_function(name, |b| {
            b.iter(|| {
                for (_, raw) in records {
                    out.clear();
                    black_box(f(black_box(raw), &mut out));
                }
            })
        });
    };
    bench("a_engine_validated", &|raw, out| engine_line(&validated, raw, out));
    bench("b_engine_unvalidated", &|raw, out| engine_line(&unvalidated, raw, out));
    if with_baseline {
        bench("c_handwritten", &|raw, out| handwritten::map_line(raw, out));
    }
    bench("d_parse_serialize", &|raw, out| floor_line(raw, out));
    g.finish();
}

fn benches(c: &mut Criterion) {
    let mut all = Vec::new();
    fixtures(&root().join("tests/fixtures/entrust"), &mut all);
    let covered: Vec<(PathBuf, Vec<u8>)> = all
        .iter()
        .filter(|(_, raw)| serde_json::from_slice::<handwritten::Record>(raw).is_ok_and(|r| handwritten::covers(&r)))
        .cloned()
        .collect();
    assert!(covered.len() >= 8, "the baseline covers {} records", covered.len());
    let set = load(true);
    handwritten::set_provenance(|name| {
        let mapping = set.mappings().iter().find(|m| m.name == name).expect("a covered mapping exists");
        mapping.transformation["uid"].as_str().expect("a transformation uid").to_string()
    });
    check_baseline(&set, &covered);
    eprintln!("mix: {} records in all, {} covered by the hand-written baseline", all.len(), covered.len());
    run(c, "full", &all, false);
    run(c, "covered", &covered, true);
}

criterion_group! {
    name = mapping;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(mapping);
