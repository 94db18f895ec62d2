//! Validation against OCSF 1.3.0: the class's core JSON Schema for an event that declares no
//! profile, the profile-aware schema (attributes gated on `metadata.profiles`) for one that
//! does. Checked with the `jsonschema` crate: the profile-aware files use `contains`, `not`
//! and `else`, which the native 1.5.0 checker does not compile.

use serde_json::Value;
use std::sync::LazyLock;

const SCHEMAS: [(i64, &str, &str); 2] = [
    (
        3002,
        include_str!("data/1.3.0/authentication.core.schema.json"),
        include_str!("data/1.3.0/authentication.schema.json"),
    ),
    (
        3004,
        include_str!("data/1.3.0/entity_management.core.schema.json"),
        include_str!("data/1.3.0/entity_management.schema.json"),
    ),
];

/// Most problems reported for one event; the rest are counted.
const MAX_PROBLEMS: usize = 8;

struct Pair {
    core: jsonschema::Validator,
    profiled: jsonschema::Validator,
}

static VALIDATORS: LazyLock<Vec<(i64, Pair)>> = LazyLock::new(|| {
    let compile = |text: &str| {
        let schema: Value = serde_json::from_str(text).expect("bundled 1.3.0 schema is JSON");
        jsonschema::validator_for(&schema).expect("bundled 1.3.0 schema compiles")
    };
    SCHEMAS
        .iter()
        .map(|(uid, core, profiled)| (*uid, Pair { core: compile(core), profiled: compile(profiled) }))
        .collect()
});

/// Checks an OCSF 1.3.0 event; on failure, the problems as `path: message` lines.
pub fn validate_1_3(event: &Value) -> Result<(), Vec<String>> {
    let Some(class_uid) = event.get("class_uid").and_then(Value::as_i64) else {
        return Err(vec!["/class_uid: missing or not an integer".into()]);
    };
    let Some((_, pair)) = VALIDATORS.iter().find(|(uid, _)| *uid == class_uid) else {
        return Err(vec![format!("/class_uid: {class_uid} is not a class this engine knows")]);
    };
    let declares_profiles =
        event.pointer("/metadata/profiles").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
    let validator = if declares_profiles { &pair.profiled } else { &pair.core };
    if validator.is_valid(event) {
        return Ok(());
    }
    let mut problems: Vec<String> = validator
        .iter_errors(event)
        .map(|err| {
            let path = err.instance_path().to_string();
            format!("{}: {err}", if path.is_empty() { "/" } else { &path })
        })
        .collect();
    let total = problems.len();
    problems.truncate(MAX_PROBLEMS);
    if total > MAX_PROBLEMS {
        problems.push(format!("… and {} more", total - MAX_PROBLEMS));
    }
    Err(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Value {
        let text = match name {
            "auth" => include_str!("data/1.3.0/examples/authentication_logon_mfa_success.json"),
            _ => include_str!("data/1.3.0/examples/entity_management_create.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_bundled_examples_are_valid() {
        assert_eq!(validate_1_3(&example("auth")), Ok(()));
        assert_eq!(validate_1_3(&example("em")), Ok(()));
    }

    #[test]
    fn the_entity_management_actor_needs_the_host_profile() {
        let mut ev = example("em");
        ev["actor"] = serde_json::json!({"user": {"name": "admin"}});
        assert!(validate_1_3(&ev).is_err());
        ev["metadata"]["profiles"] = serde_json::json!(["host"]);
        assert_eq!(validate_1_3(&ev), Ok(()));
    }

    /// The 57 reference cases shipped with the 1.3.0 data, with the verdict each expects.
    #[test]
    fn the_reference_cases_get_their_expected_verdicts() {
        let files = [
            include_str!("data/1.3.0/examples/cases.json"),
            include_str!("data/1.3.0/examples/cases_1.3.0_specific.json"),
        ];
        let mut checked = 0;
        for text in files {
            let cases: Value = serde_json::from_str(text).unwrap();
            for case in cases["cases"].as_array().unwrap() {
                let mut ev = match case["base"].as_str().unwrap() {
                    "authentication_logon_mfa_success.json" => example("auth"),
                    _ => example("em"),
                };
                for op in case["patch"].as_array().unwrap() {
                    apply(&mut ev, op);
                }
                let profiled =
                    ev.pointer("/metadata/profiles").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
                let expected = if profiled { &case["valid_schema"] } else { &case["valid_core"] };
                assert_eq!(validate_1_3(&ev).is_ok(), expected.as_bool().unwrap(), "{}", case["name"]);
                checked += 1;
            }
        }
        assert!(checked >= 57, "{checked}");
    }

    /// RFC 6902 `add` and `remove` with JSON Pointer paths.
    fn apply(ev: &mut Value, op: &Value) {
        let path = op["path"].as_str().unwrap();
        let (parent, last) = path.rsplit_once('/').unwrap();
        let target = ev.pointer_mut(parent).unwrap();
        match (op["op"].as_str().unwrap(), target) {
            ("add", Value::Object(m)) => {
                m.insert(last.to_string(), op["value"].clone());
            }
            ("add", Value::Array(a)) if last == "-" => a.push(op["value"].clone()),
            ("add", Value::Array(a)) => a.insert(last.parse().unwrap(), op["value"].clone()),
            ("remove", Value::Object(m)) => {
                m.remove(last);
            }
            ("remove", Value::Array(a)) => {
                a.remove(last.parse().unwrap());
            }
            (other, _) => panic!("unsupported op {other} at {path}"),
        }
    }
}
