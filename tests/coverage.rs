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
    // The count follows the mappings (a new event type adds one): every listed type at least,
    // each with fixtures and snapshots, and the table's rows are the JSON report's.
    let (_, json) = coverage(&["sources/entrust.yaml", "--json"]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let types = rows.iter().filter(|r| r["fallback"] == false).count();
    let listed =
        vocabulary("entrust-authentication-event-types.txt").len() + vocabulary("entrust-entity-types.txt").len();
    assert!(types >= listed, "{types} types mapped, {listed} listed");
    let fallbacks = rows.len() - types;
    assert_eq!(fallbacks, 2);
    assert!(
        out.contains(&format!(
            "{types} types mapped, {types} with fixtures, {types} with a snapshot for every fixture; {fallbacks} fallback mappings"
        )),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Authentication") || l.starts_with("Entity Management")).count(),
        rows.len()
    );
}

fn write(dir: &std::path::Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A mappings repository of its own, outside this one: one class, one mapping.
fn user_repo(tag: &str, with_fixture: bool) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocsf-engine-coverage-{}-{tag}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    write(&dir, "sources/acme.yaml", "name: acme\nmappings: ../mappings/acme\n");
    write(
        &dir,
        "mappings/acme/signin.yaml",
        "class: Authentication\nactivity: Logon\nmatch: { type: [signin, sso] }\nfields:\n  time: { from: at, as: timestamp }\n",
    );
    if with_fixture {
        write(&dir, "tests/fixtures/acme/signin/one.json", r#"{"type": "sso", "at": "2026-03-01T10:00:00Z"}"#);
        write(&dir, "snapshots/acme/signin/one.snap", "---\nsource: x\n---\n{}\n");
    }
    dir
}

fn coverage_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_engine")).arg("coverage").args(args).current_dir(dir).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_class_with_a_single_mapping_keeps_its_rows_and_counts() {
    let dir = user_repo("single", true);
    let (code, out, err) = coverage_in(&dir, &["sources/acme.yaml"]);
    assert_eq!(code, 1, "{out}{err}");
    let row = |t: &str| out.lines().find(|l| l.contains(t)).unwrap_or_else(|| panic!("no {t} row:\n{out}")).to_string();
    let sso = row("type=sso");
    assert!(sso.contains("signin") && sso.split_whitespace().any(|w| w == "1"), "{sso}");
    assert!(row("type=signin").contains("✗"), "{out}");
    assert!(
        out.contains("2 types mapped, 1 with fixtures, 1 with a snapshot for every fixture; 0 fallback mappings"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn without_fixtures_it_says_where_it_looked() {
    let dir = user_repo("nofixtures", false);
    let (code, out, err) = coverage_in(&dir, &["sources/acme.yaml"]);
    assert_eq!(code, 1, "{out}");
    let note = "no fixtures: no `tests/fixtures/acme/` or `snapshots/acme/` in any directory above the mappings";
    assert!(out.contains(note) && err.contains(note), "{out}\n{err}");
    std::fs::remove_dir_all(dir).ok();
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
