//! The fixture walk: every raw record under `tests/fixtures/<source>/` is mapped with its
//! source's mappings and compared with its reviewed snapshot under `snapshots/<source>/`, by
//! the same code as `engine test` ([`ocsf_engine::testing`]).
//!
//! The three trees must correspond one to one: a mapping without fixtures, a fixture in a
//! directory that is no mapping (or dispatched to another mapping), a fixture without a
//! snapshot and a snapshot without a fixture all fail. Directories whose name starts with `_`
//! hold records that must be dead-lettered; their snapshot is the dead letter.
//!
//! The sources are every spec in `sources/` and the language tour; a new vendor's spec in
//! `sources/` is tested without editing this file.

use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::source::SourceSpec;
use ocsf_engine::testing::{FoundBy, Layout, Status, Suite};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every spec `engine test` runs here: those in `sources/`, and the language tour.
fn specs() -> Vec<PathBuf> {
    let mut specs: Vec<PathBuf> = std::fs::read_dir(root().join("sources"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    specs.push(root().join("tests/language/spec.yaml"));
    specs
}

fn load(spec: &Path) -> (SourceSpec, MappingSet) {
    let spec = SourceSpec::load(spec).unwrap_or_else(|d| panic!("{d:?}"));
    let params = spec.offline_params(&[]).unwrap_or_else(|d| panic!("{d:?}"));
    let set = MappingSet::load(&spec.mappings, &params, MapOptions::default())
        .unwrap_or_else(|d| panic!("{}", ocsf_engine::diagnostic::render_all(&d)));
    (spec, set)
}

#[test]
fn every_fixture_matches_its_snapshot_and_the_trees_correspond() {
    let mut reports = Vec::new();
    for path in specs() {
        let (spec, set) = load(&path);
        let layout = Layout::discover(&spec.mappings, None, None);
        assert_eq!(layout.found_by, FoundBy::Found, "{}: {}", path.display(), layout.why_empty());
        let suite = Suite { spec: layout.from_root(&path), mappings: &set, layout };
        let report = suite.run(None);
        assert!(report.count(Status::Passed) > 0, "no fixtures for {}", path.display());
        reports.push(report);
    }
    let text = ocsf_engine::testing::render(&reports, ocsf_engine::testing::Format::Text, false);
    assert!(reports.iter().all(|r| r.passed()), "{text}");
    assert!(reports.iter().any(|r| r.layout.name == "entrust") && reports.iter().any(|r| r.layout.name == "language"));
}

#[test]
fn records_of_unknown_types_are_named_for_counting() {
    let (_, set) = load(&root().join("sources/entrust.yaml"));
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
fn the_catch_all_takes_what_no_mapping_matches_and_names_its_type() {
    let (_, set) = load(&root().join("tests/language/spec.yaml"));
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/language").join(rel)).unwrap())
            .unwrap()
    };
    for (rel, named) in [
        ("other/unknown_kind.json", "kind=password_reset, source=acme"),
        ("other/another_source.json", "kind=login, source=globex"),
    ] {
        let record = read(rel);
        assert_eq!(set.dispatch(&record).map(|m| m.name.as_str()), Some("other"), "{rel}");
        assert_eq!(set.unknown_type(&record).as_deref(), Some(named), "{rel}");
    }
    // A record some mapping matches is not the catch-all's, whatever it holds.
    assert_eq!(set.dispatch(&read("logout/self.json")).map(|m| m.name.as_str()), Some("logout"));
    assert_eq!(set.unknown_type(&read("logout/self.json")), None);
}

#[test]
fn mapping_names_the_unknown_type_from_the_same_dispatch() {
    let (_, set) = load(&root().join("sources/entrust.yaml"));
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
