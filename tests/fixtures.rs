//! The fixture walk: every raw record under `tests/fixtures/<source>/` is mapped with its
//! source's mappings and compared with its reviewed snapshot under `snapshots/<source>/`.
//!
//! The three trees must correspond one to one: a mapping without fixtures, a fixture in a
//! directory that is no mapping (or dispatched to another mapping), a fixture without a
//! snapshot and a snapshot without a fixture all fail. Directories whose name starts with `_`
//! hold records that must be dead-lettered; their snapshot is the dead letter.

use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::source::SourceSpec;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each source spec and the name of its fixture and snapshot directories.
const SOURCES: &[(&str, &str)] = &[("sources/entrust.yaml", "entrust"), ("tests/language/spec.yaml", "language")];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(spec: &str) -> MappingSet {
    let spec = SourceSpec::load(&root().join(spec)).unwrap_or_else(|d| panic!("{d:?}"));
    let params = spec.offline_params(&[]).unwrap_or_else(|d| panic!("{d:?}"));
    MappingSet::load(&spec.mappings, &params, MapOptions::default())
        .unwrap_or_else(|d| panic!("{}", ocsf_engine::diagnostic::render_all(&d)))
}

/// Files with `ext` below `dir`, as paths relative to `dir` without the extension.
fn files(dir: &Path, ext: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                let rel = p.strip_prefix(dir).unwrap().with_extension("");
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

fn dir_of(case: &str) -> &str {
    case.rsplit_once('/').map_or("", |(d, _)| d)
}

fn is_dead_letter_dir(dir: &str) -> bool {
    dir.rsplit('/').next().is_some_and(|last| last.starts_with('_'))
}

/// Takes the mapping's content hash out of an event: it changes with every edit of a mapping
/// or base, which the snapshots would otherwise repeat in every file (the hash has its own unit
/// tests). The rest of the entry, the mapping's name, stays.
fn without_content_hash(mut event: Value, failures: &mut Vec<String>, case: &str) -> Value {
    match event.pointer_mut("/metadata/transformation_info_list/0/uid") {
        Some(uid) if uid.as_str().is_some_and(|u| u.starts_with("sha256:")) => *uid = "[content hash]".into(),
        other => failures.push(format!("{case}: no content hash in metadata.transformation_info_list: {other:?}")),
    }
    event
}

#[test]
fn every_fixture_matches_its_snapshot() {
    let mut failures = Vec::new();
    for (spec, name) in SOURCES {
        let mut checked = 0;
        let set = load(spec);
        let fixtures_dir = root().join("tests/fixtures").join(name);
        for case in files(&fixtures_dir, "json") {
            let path = fixtures_dir.join(format!("{case}.json"));
            let text = std::fs::read_to_string(&path).unwrap();
            let record: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let dir = dir_of(&case);
            let snapshot = match set.map(record.clone()) {
                Ok(event) if !is_dead_letter_dir(dir) => without_content_hash(event, &mut failures, &case),
                Ok(_) => {
                    failures.push(format!("{case}: expected a dead letter, got a valid event"));
                    continue;
                }
                Err(dl) if is_dead_letter_dir(dir) => {
                    // The record is the fixture itself; the snapshot is the rest of the dead letter.
                    let mut dl = serde_json::to_value(&*dl).unwrap();
                    dl.as_object_mut().unwrap().remove("record");
                    dl
                }
                Err(dl) => {
                    failures.push(format!("{case}: dead-lettered: {} {:?}", dl.message, dl.details));
                    continue;
                }
            };
            if !is_dead_letter_dir(dir) {
                let mapped_by = set.dispatch(&record).map(|m| m.name.clone());
                if mapped_by.as_deref() != Some(dir) {
                    failures.push(format!("{case}: sits in `{dir}` but is mapped by {mapped_by:?}"));
                }
            }
            let case_name = case.rsplit('/').next().unwrap().to_string();
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(root().join("snapshots").join(name).join(dir));
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.set_input_file(&path);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                settings.bind(|| insta::assert_json_snapshot!(case_name, snapshot));
            }));
            if outcome.is_err() {
                failures.push(format!("{case}: snapshot differs (see the diff above)"));
            }
            checked += 1;
        }
        assert!(checked > 0, "no fixtures for {spec}");
    }
    assert!(failures.is_empty(), "{} fixture failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_mapping_has_fixtures_and_every_fixture_a_mapping() {
    let mut problems = Vec::new();
    for (spec, name) in SOURCES {
        let set = load(spec);
        let fixtures = files(&root().join("tests/fixtures").join(name), "json");
        let dirs: BTreeSet<&str> = fixtures.iter().map(|c| dir_of(c)).collect();
        let mappings: BTreeSet<&str> = set.mappings().iter().map(|m| m.name.as_str()).collect();
        for m in &mappings {
            if !dirs.contains(m) {
                problems.push(format!("mapping `{m}` has no fixture: add tests/fixtures/{name}/{m}/<case>.json"));
            }
        }
        for d in &dirs {
            if !mappings.contains(d) && !is_dead_letter_dir(d) {
                problems
                    .push(format!("tests/fixtures/{name}/{d}/ is no mapping: rename it or add mappings/…/{d}.yaml"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_snapshot_has_a_fixture() {
    let mut orphans = Vec::new();
    for (_, name) in SOURCES {
        let fixtures = files(&root().join("tests/fixtures").join(name), "json");
        for snap in files(&root().join("snapshots").join(name), "snap") {
            if !fixtures.contains(&snap) {
                orphans.push(format!("snapshots/{name}/{snap}.snap has no fixture tests/fixtures/{name}/{snap}.json"));
            }
        }
    }
    assert!(orphans.is_empty(), "{}", orphans.join("\n"));
}

#[test]
fn records_of_unknown_types_are_named_for_counting() {
    let set = load("sources/entrust.yaml");
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/entrust").join(rel)).unwrap())
            .unwrap()
    };
    let unknown = read("authentication/unknown_event_type/new_event_type.json");
    assert_eq!(
        set.unknown_type(&unknown).as_deref(),
        Some("eventCategory=AUTHENTICATION, eventType=AuthenticationQuantumTokenSuccessEvent")
    );
    let entity = read("entity_management/unknown_entity_type/new_entity_type.json");
    assert_eq!(
        set.unknown_type(&entity).as_deref(),
        Some("entityType=PASSWORDLESSPOLICIES, eventCategory=MANAGEMENT, eventType=PasswordlessPolicyModifiedEvent")
    );
    assert_eq!(set.unknown_type(&read("entity_management/users/USERS_edit.json")), None);
}

#[test]
fn mapping_names_the_unknown_type_from_the_same_dispatch() {
    let set = load("sources/entrust.yaml");
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/entrust").join(rel)).unwrap())
            .unwrap()
    };
    for rel in ["authentication/unknown_event_type/new_event_type.json", "entity_management/users/USERS_edit.json"] {
        let record = read(rel);
        let expected = set.unknown_type(&record);
        let (event, unknown) = set.map_counted(record.clone()).expect("maps");
        assert_eq!(unknown, expected, "{rel}");
        assert_eq!(event, set.map(record).unwrap(), "{rel}");
    }
}
