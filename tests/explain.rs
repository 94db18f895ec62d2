//! `engine explain`: every field of an event with the mapping file and line that produced it
//! (inherited and adjusted rules included), or the engine's reason for it. The explanations of
//! two fixtures are snapshots under `snapshots/explain/`.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn explain(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_engine")).arg("explain").args(args).current_dir(root()).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots/explain"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn an_inherited_and_adjusted_rule_names_every_line() {
    let path = "tests/fixtures/entrust/authentication/AuthenticationPasswordSuccessEvent/success.json";
    let (code, out, err) = explain(&["sources/entrust.yaml", path]);
    assert_eq!(code, 0, "{err}");
    let columns = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.lines().map(columns).any(|l| l
            == "status_id 1 mappings/entrust/_base.yaml:17, adjusted at mappings/entrust/authentication/_single_factor.yaml:6"),
        "{out}"
    );
    snapshot("password_success", &out);
}

#[test]
fn the_label_of_other_comes_from_its_rule_and_captions_from_the_engine() {
    let path = "tests/fixtures/entrust/entity_management/users/USERS_reset_unknown_action.json";
    let (code, out, _) = explain(&["sources/entrust.yaml", path, "--json"]);
    assert_eq!(code, 0);
    let ex: serde_json::Value = serde_json::from_str(&out).unwrap();
    let field = |p: &str| ex["fields"].as_array().unwrap().iter().find(|f| f["path"] == p).cloned().unwrap();
    assert_eq!(field("activity_name")["value"], "RESET");
    assert_eq!(field("activity_name")["provenance"]["kind"], "rule");
    assert_eq!(
        field("entity.type")["provenance"],
        serde_json::json!({"kind": "derived", "from": "the caption of entity.type_id"})
    );
    assert_eq!(field("unmapped")["provenance"]["kind"], "unmapped");
    let (_, text, _) = explain(&["sources/entrust.yaml", path]);
    snapshot("users_reset", &text);
}

#[test]
fn a_record_that_cannot_be_mapped_is_a_dead_letter() {
    let (code, out, err) = explain(&["sources/entrust.yaml", "tests/fixtures/entrust/_dead_letter/issuance.json"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("\"reason\":\"no_mapping\""), "{err}");
}
