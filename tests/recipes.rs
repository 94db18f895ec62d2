//! The recipes of the docs, followed as written in a copy of the tree: "Adding an event type"
//! (README.md) and "Adding a vendor" (docs/source-spec.md) need a mapping, a fixture and
//! `engine test --accept`, no Rust, and leave `engine test`, `engine check` and `engine
//! coverage` (whose counts tests/coverage.rs checks) passing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn engine(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() { copy_dir(&src, &dst) } else { std::fs::copy(&src, &dst).map(drop).unwrap() }
    }
}

/// The data of the tree (specs, mappings, fixtures, snapshots, the vendor's type lists, the
/// docs' examples), without the Rust.
fn copy_of_the_tree(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocsf-engine-recipe-{}-{tag}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    for part in ["sources", "mappings", "tests/fixtures", "tests/data", "snapshots", "docs/examples"] {
        copy_dir(&root().join(part), &dir.join(part));
    }
    dir
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `N types mapped, N with fixtures, N with a snapshot for every fixture` of `engine coverage`.
fn types_mapped(dir: &Path, spec: &str) -> usize {
    let (code, out) = engine(dir, &["coverage", spec]);
    assert_eq!(code, 0, "{out}");
    let line = out.lines().find(|l| l.contains(" types mapped, ")).unwrap_or_else(|| panic!("{out}"));
    let n: usize = line.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        line.starts_with(&format!("{n} types mapped, {n} with fixtures, {n} with a snapshot for every fixture")),
        "{line}"
    );
    n
}

#[test]
fn adding_an_event_type_as_the_readme_says() {
    let dir = copy_of_the_tree("event-type");
    let before = types_mapped(&dir, "sources/entrust.yaml");
    // 1. The mapping.
    write(
        &dir,
        "mappings/entrust/authentication/AuthenticationRecipeTokenSuccessEvent.yaml",
        "extends: _single_factor\nmatch: { eventType: AuthenticationRecipeTokenSuccessEvent }\nfields:\n  auth_factors: { value: [{ factor_type_id: Hardware Token }] }\n",
    );
    // 2. A raw record.
    let record = std::fs::read_to_string(
        dir.join("tests/fixtures/entrust/authentication/AuthenticationPasswordSuccessEvent/success.json"),
    )
    .unwrap()
    .replace("AuthenticationPasswordSuccessEvent", "AuthenticationRecipeTokenSuccessEvent");
    write(&dir, "tests/fixtures/entrust/authentication/AuthenticationRecipeTokenSuccessEvent/success.json", &record);
    // 3. engine test fails and shows the event; --accept writes the snapshot.
    let (code, out) = engine(&dir, &["test"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("new: entrust authentication/AuthenticationRecipeTokenSuccessEvent/success"), "{out}");
    assert!(out.contains("+      \"factor_type\": \"Hardware Token\","), "{out}");
    let (code, out) = engine(&dir, &["test", "--accept"]);
    assert_eq!(code, 0, "{out}");
    assert!(dir.join("snapshots/entrust/authentication/AuthenticationRecipeTokenSuccessEvent/success.snap").is_file());
    let (code, out) = engine(&dir, &["test"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = engine(&dir, &["check"]);
    assert_eq!(code, 0, "{out}");
    // engine coverage shows the type, and counts one more.
    let (_, out) = engine(&dir, &["coverage", "sources/entrust.yaml"]);
    let row = out.lines().find(|l| l.contains("eventType=AuthenticationRecipeTokenSuccessEvent")).expect("a row");
    assert!(!row.contains('✗'), "{row}");
    assert_eq!(types_mapped(&dir, "sources/entrust.yaml"), before + 1);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn adding_a_vendor_as_the_source_spec_page_says() {
    let dir = copy_of_the_tree("vendor");
    let spec = std::fs::read_to_string(dir.join("docs/examples/acme/source.yaml")).unwrap();
    write(&dir, "sources/acme.yaml", &spec.replace("mappings: mappings", "mappings: ../mappings/acme"));
    let mapping = std::fs::read_to_string(dir.join("docs/examples/acme/mappings/signin.yaml")).unwrap();
    write(&dir, "mappings/acme/signin.yaml", &mapping);
    let record = std::fs::read_to_string(dir.join("docs/examples/acme/record.json")).unwrap();
    write(&dir, "tests/fixtures/acme/signin/success.json", &record);

    let (code, out) = engine(&dir, &["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: sources/acme.yaml (acme_sso): 1 mapping"), "{out}");
    let (code, out) = engine(&dir, &["test"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("new: acme signin/success"), "{out}");
    let (code, out) = engine(&dir, &["test", "--accept"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = engine(&dir, &["test"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("of 2 sources: "), "{out}");
    assert_eq!(types_mapped(&dir, "sources/acme.yaml"), 1);
    std::fs::remove_dir_all(dir).ok();
}
