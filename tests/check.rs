//! `engine check` on broken configuration: each directory under `tests/check/` holds a spec
//! and mapping files with deliberate mistakes; the rendered errors (codes, messages,
//! `file:line:col`, code frames, hints) are snapshots under `snapshots/check/`, and the exit
//! code must be 2. The bundled sources must check clean (no error, no warning).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `engine` in `dir` and returns (exit code, stdout, stderr).
fn engine(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(args).current_dir(dir).output().expect("engine runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn snapshot(name: &str, (code, stdout, stderr): (i32, String, String)) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots/check"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::assert_snapshot!(name, format!("exit code: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"));
    });
}

#[test]
fn every_broken_case_is_reported_with_locations_and_exit_2() {
    let cases_dir = root().join("tests/check");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases_dir).unwrap().flatten().map(|e| e.path()).collect();
    cases.sort();
    assert!(cases.len() >= 7, "cases: {cases:?}");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let result = engine(&case, &["check", "spec.yaml"]);
        assert_eq!(result.0, 2, "{name}: exit code\n{}", result.2);
        assert!(result.2.contains("error["), "{name}: no diagnostics\n{}", result.2);
        snapshot(&name, result);
    }
}

#[test]
fn errors_of_several_specs_come_together() {
    let dir = root().join("tests/check");
    let (code, _, stderr) = engine(&dir, &["check", "yaml_syntax/spec.yaml", "ocsf_names/spec.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("yaml_syntax/mappings/login.yaml:5:22"), "{stderr}");
    assert!(stderr.contains("ocsf_names/mappings/login.yaml:1:8"), "{stderr}");
    assert!(stderr.contains("error: 9 errors found"), "{stderr}");
}

#[test]
fn bad_set_arguments_are_usage_errors() {
    let result = engine(&root(), &["check", "sources/entrust.yaml", "--set", "hostnme=x", "--set", "novalue"]);
    assert_eq!(result.0, 2);
    snapshot("set_arguments", result);
}

#[test]
fn the_bundled_sources_check_clean() {
    let (code, stdout, stderr) = engine(&root(), &["check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok: sources/entrust.yaml (entrust_idaas)"), "{stdout}");
    assert_eq!(stderr, "");
    let (code, _, stderr) = engine(&root(), &["check", "tests/language/spec.yaml"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
}

#[test]
fn warnings_alone_are_shown_and_the_check_passes() {
    let dir = std::env::temp_dir().join(format!("ocsf-engine-check-warning-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(dir.join("mappings")).unwrap();
    std::fs::write(
        dir.join("spec.yaml"),
        "name: warned\nmappings: mappings\nparams:\n  hostname:\n    example: h.example.com\n",
    )
    .unwrap();
    let login = std::fs::read_to_string(root().join("tests/check/two_streams/mappings/login.yaml")).unwrap();
    std::fs::write(dir.join("mappings/login.yaml"), format!("{login}  is_mfa: {{ from: mfa }}\n")).unwrap();
    let (code, stdout, stderr) = engine(&dir, &["check", "spec.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "ok: spec.yaml (warned): 1 mapping, 1 warning\n");
    assert!(stderr.starts_with("warning[E116]: `is_mfa` is a boolean in OCSF"), "{stderr}");
    assert!(stderr.ends_with("warning: 1 warning found\n"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}
