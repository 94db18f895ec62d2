//! The engine's OCSF validation against the reference cases shipped with the OCSF data: each
//! case patches a valid example event (RFC 6902 `add`/`remove`) and states whether the result is
//! valid under the core schema. The engine's schema check must agree on every case; its extra
//! checks (no `null` anywhere, captions equal to their enum captions) reject exactly the cases
//! listed in `STRICTER`, for the reason given.

use ocsf_engine::ocsf::validate::{extra_problems, schema_problems, validate};
use serde_json::Value;
use std::path::PathBuf;

/// Cases the schema accepts and the engine's extra checks reject, with the expected reason.
const STRICTER: &[(&str, &str)] = &[
    ("unmapped holds arbitrary JSON", "/unmapped/a/b/2/c: null is not allowed"),
    (
        "activity 99 Other with source-specific activity_name",
        "/type_name: \"Authentication: Logon\" is not the caption",
    ),
    ("activity 13 Resume", "/activity_name: \"Create\" is not the caption of activity_id 13"),
];

fn data(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/ocsf/data/1.5.0/examples").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Applies one `add` or `remove` operation at a JSON Pointer.
fn apply(doc: &mut Value, op: &Value) {
    let path = op["path"].as_str().unwrap();
    let (parent, last) = path.rsplit_once('/').unwrap();
    let last = last.replace("~1", "/").replace("~0", "~");
    let target = doc.pointer_mut(parent).unwrap_or_else(|| panic!("no parent for {path}"));
    match (op["op"].as_str().unwrap(), target) {
        ("add", Value::Object(map)) => {
            map.insert(last, op["value"].clone());
        }
        ("add", Value::Array(items)) if last == "-" => items.push(op["value"].clone()),
        ("add", Value::Array(items)) => items.insert(last.parse().unwrap(), op["value"].clone()),
        ("remove", Value::Object(map)) => {
            map.remove(&last).unwrap_or_else(|| panic!("nothing to remove at {path}"));
        }
        ("remove", Value::Array(items)) => {
            items.remove(last.parse().unwrap());
        }
        (other, _) => panic!("unsupported patch op {other} at {path}"),
    }
}

#[test]
fn the_reference_cases_get_the_expected_verdict() {
    let cases = data("cases.json");
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 35);
    let mut wrong = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut event = data(case["base"].as_str().unwrap());
        for op in case["patch"].as_array().unwrap() {
            apply(&mut event, op);
        }
        let expected = case["valid_core"].as_bool().unwrap();
        let schema = schema_problems(&event);
        if schema.is_empty() != expected {
            wrong.push(format!("{name}: schema: expected valid={expected}, got {schema:?}"));
        }
        let extra = extra_problems(&event);
        match STRICTER.iter().find(|(n, _)| *n == name) {
            Some((_, reason)) if !extra.iter().any(|p| p.contains(reason)) => {
                wrong.push(format!("{name}: expected the extra checks to say {reason:?}, got {extra:?}"))
            }
            None if expected && !extra.is_empty() => wrong.push(format!("{name}: unexpected extra problems {extra:?}")),
            _ => {}
        }
        if validate(&event).is_ok() != (expected && !STRICTER.iter().any(|(n, _)| *n == name)) {
            wrong.push(format!("{name}: validate() disagrees"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn both_examples_are_valid() {
    for name in ["authentication_logon_mfa_success.json", "entity_management_create.json"] {
        assert_eq!(validate(&data(name)), Ok(()), "{name}");
    }
}
