//! `engine coverage`: every Entrust event type and entity type that AWS or Entrust's API lists
//! (tests/data/) is matched by a mapping of its own — not only by a fallback — and pinned by at
//! least one fixture with a reviewed snapshot.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn coverage(args: &[&str]) -> (i32, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_engine")).arg("coverage").args(args).current_dir(root()).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn vocabulary(file: &str) -> Vec<String> {
    std::fs::read_to_string(root().join("tests/data").join(file))
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn every_listed_type_is_mapped_and_pinned() {
    let (code, out) = coverage(&["sources/entrust.yaml", "--json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let mut problems = Vec::new();
    for (field, file, class) in [
        ("eventType", "entrust-authentication-event-types.txt", "Authentication"),
        ("entityType", "entrust-entity-types.txt", "Entity Management"),
    ] {
        let types = vocabulary(file);
        assert!(types.len() >= 56, "{file}");
        for t in types {
            let key = format!("{field}={t}");
            match rows.iter().find(|r| r["type"] == key.as_str()) {
                None => problems.push(format!("{key}: no mapping names it")),
                Some(r) if r["class"] != class => problems.push(format!("{key}: mapped to {}", r["class"])),
                Some(r) if r["fixtures"].as_u64() == Some(0) => problems.push(format!("{key}: no fixture")),
                Some(r) if r["snapshots"] != r["fixtures"] => {
                    problems.push(format!("{key}: a fixture has no snapshot"))
                }
                Some(_) => {}
            }
        }
    }
    assert!(report["unmapped_fixtures"].as_array().unwrap().is_empty());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_table_names_types_mappings_and_recommended_attributes() {
    let (code, out) = coverage(&["sources/entrust.yaml"]);
    assert_eq!(code, 0);
    let line = out.lines().find(|l| l.contains("entityType=FIDOTOKENS")).expect("a FIDOTOKENS row");
    assert!(line.contains("entity_management/other_entities"), "{line}");
    assert!(out.contains("recommended attributes a mapping leaves out:"));
    assert!(
        out.contains("188 types mapped, 188 with fixtures, 188 with a snapshot for every fixture; 2 fallback mappings"),
        "{out}"
    );
}

#[test]
fn a_type_without_fixtures_fails() {
    let (code, out) = coverage(&[
        "tests/language/spec.yaml",
        "--fixtures",
        "tests/fixtures/entrust",
        "--snapshots",
        "snapshots/language",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("kind=login"));
    let (code, _) = coverage(&[
        "tests/language/spec.yaml",
        "--fixtures",
        "tests/fixtures/language",
        "--snapshots",
        "snapshots/language",
    ]);
    assert_eq!(code, 0);
}
