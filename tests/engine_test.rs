//! `engine test` as a mapping author runs it, in a repository of their own that holds no Rust:
//! a spec, a mapping and a fixture in a temporary directory; a missing snapshot, `--accept`, a
//! changed mapping and its diff, fixtures without mappings and mappings without fixtures,
//! `--filter`, `--format json|junit`; and the repository's own snapshots, which must compare
//! equal and be rewritten byte for byte.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn engine(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocsf-engine-test-{}-{tag}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const SPEC: &str = "name: acme\nmappings: ../mappings/acme\nparams:\n  hostname:\n    example: idp.example.com\n";
const MAPPING: &str = "\
class: Authentication
activity: Logon
match: { type: signin }
fields:
  time: { from: at, as: timestamp }
  metadata.version: { value: \"1.5.0\" }
  metadata.product: { value: { name: Acme SSO, vendor_name: Acme } }
  severity_id: { value: Informational }
  status_id: { from: result, lookup: { ok: Success, denied: Failure }, default: Unknown }
  user.name: { from: user }
  dst_endpoint.hostname: { param: hostname }
";
const RECORD: &str = r#"{"type": "signin", "at": "2026-03-01T10:00:00Z", "result": "ok", "user": "alice"}"#;

/// A mappings repository as a user would keep it.
fn user_repo(tag: &str) -> PathBuf {
    let dir = temp_dir(tag);
    write(&dir, "sources/acme.yaml", SPEC);
    write(&dir, "mappings/acme/signin.yaml", MAPPING);
    write(&dir, "tests/fixtures/acme/signin/ok.json", RECORD);
    dir
}

#[test]
fn a_new_fixture_fails_until_accepted_then_passes() {
    let dir = user_repo("accept");
    let (code, out, err) = engine(&dir, &["test"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("new: acme signin/ok"), "{out}");
    assert!(out.contains("+++ snapshots/acme/signin/ok.snap"), "{out}");
    assert!(out.contains("+  \"activity_name\": \"Logon\","), "{out}");
    assert!(out.contains("1 fixture of 1 source: 0 passed, 1 without a snapshot"), "{out}");
    assert!(!dir.join("snapshots/acme/signin/ok.snap").exists(), "nothing is written without --accept");

    let (code, out, _) = engine(&dir, &["test", "--accept"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 accepted"), "{out}");
    let snap = std::fs::read_to_string(dir.join("snapshots/acme/signin/ok.snap")).unwrap();
    assert!(
        snap.starts_with("---\nsource: sources/acme.yaml\ninput_file: tests/fixtures/acme/signin/ok.json\n---\n{\n"),
        "{snap}"
    );
    assert!(snap.contains("  \"status_id\": 1,\n"), "{snap}");
    assert!(snap.contains("\"uid\": \"[content hash]\""), "{snap}");

    let (code, out, _) = engine(&dir, &["test"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 fixture of 1 source: 1 passed"), "{out}");

    // A changed mapping shows a diff and fails; the snapshot stays as it was.
    write(&dir, "mappings/acme/signin.yaml", &MAPPING.replace("ok: Success", "ok: Failure"));
    let (code, out, _) = engine(&dir, &["test", "sources/acme.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed: acme signin/ok"), "{out}");
    assert!(out.contains("\n-  \"status_id\": 1,\n") && out.contains("\n+  \"status_id\": 2,\n"), "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("snapshots/acme/signin/ok.snap")).unwrap(), snap);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_trees_must_correspond_one_to_one() {
    let dir = user_repo("trees");
    engine(&dir, &["test", "--accept"]);
    write(&dir, "mappings/acme/signout.yaml", &MAPPING.replace("signin", "signout").replace("Logon", "Logoff"));
    write(&dir, "tests/fixtures/acme/lockout/one.json", r#"{"type": "lockout"}"#);
    write(&dir, "snapshots/acme/signin/gone.snap", "---\nsource: x\n---\n{}\n");
    write(&dir, "tests/fixtures/acme/signin/wrong.json", r#"{"type": "signout", "at": "2026-03-01T10:00:00Z"}"#);
    write(&dir, "tests/fixtures/acme/_dead_letter/no_type.json", r#"{"at": "2026-03-01T10:00:00Z"}"#);
    let (code, out, _) = engine(&dir, &["test", "--accept"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("problem: mapping `signout` has no fixture: add tests/fixtures/acme/signout/<case>.json"),
        "{out}"
    );
    assert!(out.contains("problem: tests/fixtures/acme/lockout/ is no mapping"), "{out}");
    assert!(out.contains("problem: snapshots/acme/signin/gone.snap has no fixture"), "{out}");
    assert!(out.contains("FAILED: acme signin/wrong\n  sits in `signin` but is mapped by `signout`"), "{out}");
    assert!(out.contains("FAILED: acme lockout/one\n  dead-lettered (no_mapping)"), "{out}");
    // The dead letter's snapshot is the dead letter without the record.
    let dl = std::fs::read_to_string(dir.join("snapshots/acme/_dead_letter/no_type.snap")).unwrap();
    assert!(dl.contains("\"reason\": \"no_mapping\""), "{dl}");
    assert!(!dl.contains("\"record\""), "{dl}");

    // --filter narrows both the fixtures and the checks of the trees.
    let (code, out, _) = engine(&dir, &["test", "--filter", "signin/ok"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 fixture of 1 source: 1 passed"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn json_and_junit_reports_for_ci() {
    let dir = user_repo("formats");
    let (code, out, _) = engine(&dir, &["test", "--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["suites"][0]["name"], "acme");
    assert_eq!(report["suites"][0]["cases"][0]["status"], "missing");
    assert_eq!(report["suites"][0]["cases"][0]["snapshot"], "snapshots/acme/signin/ok.snap");

    let (code, out, _) = engine(&dir, &["test", "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"engine test\">"), "{out}");
    assert!(out.contains("<testsuite name=\"acme\" tests=\"1\" failures=\"1\">"), "{out}");
    assert!(out.contains("<testcase classname=\"acme.signin\" name=\"ok\">"), "{out}");
    assert!(out.contains("<failure message=\"no snapshot snapshots/acme/signin/ok.snap yet\">"), "{out}");
    assert!(out.contains("&quot;activity_name&quot;: &quot;Logon&quot;"), "{out}");

    engine(&dir, &["test", "--accept"]);
    let (code, out, _) = engine(&dir, &["test", "--format", "junit"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("<testcase classname=\"acme.signin\" name=\"ok\"/>"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn without_fixtures_it_says_where_it_looked() {
    let dir = temp_dir("empty");
    write(&dir, "sources/acme.yaml", SPEC);
    write(&dir, "mappings/acme/signin.yaml", MAPPING);
    let (code, out, _) = engine(&dir, &["test"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("problem: no fixtures for `sources/acme.yaml`: no `tests/fixtures/acme/` or `snapshots/acme/` in any directory above the mappings"), "{out}");
    let (code, _, err) = engine(&dir, &["test", "nowhere"]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_repository_s_snapshots_compare_equal_and_are_rewritten_byte_for_byte() {
    let (code, out, err) = engine(&root(), &["test", "sources/entrust.yaml", "tests/language/spec.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("passed\n"), "{out}");

    // A copy of the snapshots, each body spoiled: --accept rewrites every one, header and
    // all, to the committed file.
    let copy = temp_dir("rewrite");
    let source = root().join("snapshots/entrust");
    let mut originals = Vec::new();
    for entry in walk(&source) {
        let rel = entry.strip_prefix(&source).unwrap().to_path_buf();
        let text = std::fs::read_to_string(&entry).unwrap();
        let spoiled = format!("{}\n  spoiled\n", text.trim_end());
        write(&copy, rel.to_str().unwrap(), &spoiled);
        originals.push((rel, text));
    }
    assert!(originals.len() >= 200, "{}", originals.len());
    let snapshots = copy.to_string_lossy().into_owned();
    let args = ["test", "sources/entrust.yaml", "--snapshots", &snapshots];
    let (code, out, _) = engine(&root(), &args);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("changed: ").count(), originals.len(), "{out}");
    let (code, out, _) = engine(&root(), &[&args[..], &["--accept"]].concat());
    assert_eq!(code, 0, "{out}");
    for (rel, text) in &originals {
        assert_eq!(&std::fs::read_to_string(copy.join(rel)).unwrap(), text, "{}", rel.display());
    }
    std::fs::remove_dir_all(copy).ok();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}
