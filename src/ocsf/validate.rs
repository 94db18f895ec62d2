//! Validation of produced events: the class's OCSF 1.5.0 core JSON Schema, plus the checks a
//! schema cannot express (caption siblings equal to their enum captions, no `null`, no empty
//! objects, anywhere, `unmapped` included).

use super::catalog::{AttributeSet, Catalog, catalog};
use super::core_schema::CoreSchema;
use serde_json::Value;
use std::sync::LazyLock;

const AUTHENTICATION_SCHEMA: &str = include_str!("data/1.5.0/authentication.core.schema.json");
const ENTITY_MANAGEMENT_SCHEMA: &str = include_str!("data/1.5.0/entity_management.core.schema.json");

/// Most problems reported for one event; the rest are counted.
const MAX_PROBLEMS: usize = 8;

struct Validators {
    /// The verdict: native checkers compiled from the schemas.
    native: Vec<(i64, CoreSchema)>,
    /// The details of a rejection: the `jsonschema` crate's messages, compiled on first need.
    detailed: LazyLock<Vec<(i64, jsonschema::Validator)>>,
}

static SCHEMAS: [(i64, &str); 2] = [(3002, AUTHENTICATION_SCHEMA), (3004, ENTITY_MANAGEMENT_SCHEMA)];

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("bundled schema is JSON")
}

static VALIDATORS: LazyLock<Validators> = LazyLock::new(|| Validators {
    native: SCHEMAS
        .iter()
        .map(|(uid, text)| (*uid, CoreSchema::compile(&parse(text)).expect("bundled schema compiles")))
        .collect(),
    detailed: LazyLock::new(|| {
        SCHEMAS
            .iter()
            .map(|(uid, text)| (*uid, jsonschema::validator_for(&parse(text)).expect("bundled schema compiles")))
            .collect()
    }),
});

/// Compiles the schemas now rather than on the first event.
pub fn warm_up() {
    LazyLock::force(&VALIDATORS);
}

/// Checks one event: the class schema, then the checks the schema cannot express. On failure,
/// returns the problems as `path: message` lines.
pub fn validate(event: &Value) -> Result<(), Vec<String>> {
    let mut problems = schema_problems(event);
    problems.extend(extra_problems(event));
    if problems.is_empty() {
        return Ok(());
    }
    let total = problems.len();
    problems.truncate(MAX_PROBLEMS);
    if total > MAX_PROBLEMS {
        problems.push(format!("… and {} more", total - MAX_PROBLEMS));
    }
    Err(problems)
}

/// [`validate`] for an event that [`super::derive`] completed: when the native schema check
/// passes and the event holds no `null`, no empty object and no list directly in a list, the
/// verdict is known without the extra checks (derive wrote every caption sibling from the
/// dictionary, so none can differ; no two attributes of an object share a sibling); otherwise
/// [`validate`] decides and explains.
pub fn validate_derived(event: &Value) -> Result<(), Vec<String>> {
    let class_uid = event.get("class_uid").and_then(Value::as_i64);
    let native = VALIDATORS.native.iter().find(|(uid, _)| Some(*uid) == class_uid);
    if native.is_some_and(|(_, schema)| schema.is_valid(event)) && plain(event) {
        return Ok(());
    }
    validate(event)
}

/// The native checker of a class's schema, for events checked as they are written.
pub fn native_schema(class_uid: i64) -> Option<&'static CoreSchema> {
    VALIDATORS.native.iter().find(|(uid, _)| *uid == class_uid).map(|(_, schema)| schema)
}

/// No `null`, no empty object, no list directly inside a list, anywhere.
pub fn plain(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => !map.is_empty() && map.values().all(plain),
        Value::Array(items) => items.iter().all(|i| !i.is_array() && plain(i)),
        _ => true,
    }
}

/// What the class's core JSON Schema rejects.
pub fn schema_problems(event: &Value) -> Vec<String> {
    let Some(class_uid) = event.get("class_uid").and_then(Value::as_i64) else {
        return vec!["class_uid: missing or not an integer".into()];
    };
    let Some((_, native)) = VALIDATORS.native.iter().find(|(uid, _)| *uid == class_uid) else {
        return vec![format!("class_uid: {class_uid} is not a class this engine knows")];
    };
    if native.is_valid(event) {
        return Vec::new();
    }
    let Some((_, validator)) = VALIDATORS.detailed.iter().find(|(uid, _)| *uid == class_uid) else {
        return vec![format!("class_uid: {class_uid} is not a class this engine knows")];
    };
    validator
        .iter_errors(event)
        .map(|err| {
            let path = err.instance_path().to_string();
            format!("{}: {err}", display(&path))
        })
        .collect()
}

/// The verdict of the `jsonschema` crate alone, for comparing the native checker with it.
pub fn reference_verdict(event: &Value) -> Option<bool> {
    let class_uid = event.get("class_uid").and_then(Value::as_i64)?;
    let (_, validator) = VALIDATORS.detailed.iter().find(|(uid, _)| *uid == class_uid)?;
    Some(validator.is_valid(event))
}

/// The verdict of the native checker alone.
pub fn native_verdict(event: &Value) -> Option<bool> {
    let class_uid = event.get("class_uid").and_then(Value::as_i64)?;
    let (_, native) = VALIDATORS.native.iter().find(|(uid, _)| *uid == class_uid)?;
    Some(native.is_valid(event))
}

/// What the engine rejects beyond the schema: `null` or empty objects anywhere (`unmapped`
/// included), and caption siblings that differ from their enum captions.
pub fn extra_problems(event: &Value) -> Vec<String> {
    let cat = catalog();
    let set = event.get("class_uid").and_then(Value::as_i64).and_then(|uid| cat.class_by_uid(uid)).map(|c| &c.attrs);
    let mut problems = Vec::new();
    check_object(cat, event, set, &At::Root, &mut problems);
    problems
}

/// Where the walk is, as a chain of steps; turned into a JSON Pointer only to report a problem.
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Key(parent, key) => write!(f, "{parent}/{key}"),
            At::Index(parent, i) => write!(f, "{parent}/{i}"),
        }
    }
}

impl At<'_> {
    fn pointer(&self) -> String {
        let s = self.to_string();
        if s.is_empty() { "/".into() } else { s }
    }
}

/// Walks a value: nulls and empty objects anywhere; caption siblings where the object is known.
fn check_object(cat: &Catalog, value: &Value, set: Option<&AttributeSet>, at: &At<'_>, problems: &mut Vec<String>) {
    match value {
        Value::Null => problems.push(format!("{}: null is not allowed (omit the attribute)", at.pointer())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_object(cat, item, set, &At::Index(at, i), problems);
            }
        }
        Value::Object(map) => {
            if map.is_empty() {
                problems.push(format!("{}: empty object (omit the attribute)", at.pointer()));
            }
            for (key, child) in map {
                let attr = set.and_then(|s| s.get(key));
                let child_set = attr.filter(|a| !a.is_open()).and_then(|a| cat.object_of(a));
                if !matches!(child, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    check_object(cat, child, child_set, &At::Key(at, key), problems);
                }
                if let Some(attr) = attr
                    && let (Some(sibling), Some(captions), Some(id)) =
                        (&attr.sibling, &attr.enum_captions, child.as_i64())
                    && let (Some(caption), Some(actual)) = (captions.get(&id), map.get(sibling).and_then(Value::as_str))
                    && id != 99
                    && actual != caption
                {
                    problems.push(format!(
                        "{}: \"{actual}\" is not the caption of {key} {id} (\"{caption}\")",
                        At::Key(at, sibling).pointer()
                    ));
                }
            }
        }
        _ => {}
    }
}

fn display(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Value {
        serde_json::from_str(include_str!("data/1.5.0/examples/authentication_logon_mfa_success.json")).unwrap()
    }

    #[test]
    fn the_bundled_example_is_valid() {
        assert_eq!(validate(&example()), Ok(()));
    }

    /// What [`validate_derived`] relies on to leave out the caption check.
    #[test]
    fn no_two_attributes_of_an_object_share_a_caption_sibling() {
        let cat = catalog();
        let sets = cat.classes.iter().map(|c| &c.attrs).chain(&cat.objects);
        for set in sets {
            let mut siblings: Vec<&str> = set.attributes.iter().filter_map(|a| a.sibling.as_deref()).collect();
            let count = siblings.len();
            siblings.sort();
            siblings.dedup();
            assert_eq!(siblings.len(), count, "{}", set.name);
        }
    }

    #[test]
    fn derived_events_get_the_same_verdict() {
        let class = catalog().class("Authentication").unwrap();
        let mut cases = Vec::new();
        for extra in [json!(null), json!({"a": null}), json!({"a": [[1]]}), json!({}), json!({"a": {"b": {}}})] {
            let mut ev = example();
            if !extra.is_null() {
                ev["unmapped"] = extra;
            }
            cases.push(ev);
        }
        let mut wrong = example();
        wrong["status"] = json!("Succeeded");
        cases.push(wrong);
        let mut rejected = 0;
        for mut ev in cases {
            crate::ocsf::derive(ev.as_object_mut().unwrap(), class);
            rejected += usize::from(validate(&ev).is_err());
            assert_eq!(validate_derived(&ev), validate(&ev), "{ev}");
        }
        // A list in a list is not wrong in itself: the full validation decides it.
        assert_eq!(rejected, 3, "with a null or an empty object the example is not valid; otherwise it is");
    }

    #[test]
    fn nulls_anywhere_are_rejected() {
        let mut ev = example();
        ev["unmapped"] = json!({"x": null});
        let problems = validate(&ev).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("/unmapped/x: null")), "{problems:?}");
    }

    #[test]
    fn empty_objects_are_rejected() {
        let mut ev = example();
        ev["unmapped"] = json!({});
        let problems = validate(&ev).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("/unmapped: empty object")), "{problems:?}");
    }

    #[test]
    fn wrong_captions_are_rejected_but_other_keeps_its_label() {
        let mut ev = example();
        ev["status"] = json!("Succeeded");
        let problems = validate(&ev).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("/status: \"Succeeded\" is not the caption")), "{problems:?}");

        let mut ev = example();
        ev["auth_protocol_id"] = json!(99);
        ev["auth_protocol"] = json!("Magic Link");
        assert_eq!(validate(&ev), Ok(()));
    }
}
