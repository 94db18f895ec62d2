//! The constraints of OCSF's scalar types (`json_type_of_ocsf_type` in the bundled
//! `classes.json`): the `regex`, `max_len` and `range` of `ip_t`, `port_t`, `email_t`, … — for
//! checking literal values when a mapping loads, with the same regex engine as validation.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

const CLASSES_JSON: &str = include_str!("data/1.5.0/classes.json");

#[derive(Deserialize)]
struct Types {
    json_type_of_ocsf_type: HashMap<String, TypeDef>,
}

#[derive(Deserialize)]
struct TypeDef {
    description: Option<String>,
    regex: Option<String>,
    max_len: Option<u64>,
    range: Option<[i64; 2]>,
}

struct Checker {
    description: String,
    pattern: Option<jsonschema::Validator>,
    max_len: Option<u64>,
    range: Option<[i64; 2]>,
}

fn checkers() -> &'static HashMap<String, Checker> {
    static CHECKERS: LazyLock<HashMap<String, Checker>> = LazyLock::new(|| {
        let types: Types = serde_json::from_str(CLASSES_JSON).expect("bundled classes.json has its types");
        types
            .json_type_of_ocsf_type
            .into_iter()
            .filter(|(_, t)| t.regex.is_some() || t.max_len.is_some() || t.range.is_some())
            .map(|(name, t)| {
                let pattern = t.regex.map(|r| {
                    jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": r }))
                        .expect("bundled OCSF type regex compiles")
                });
                let description = t.description.unwrap_or_default();
                (name, Checker { description, pattern, max_len: t.max_len, range: t.range })
            })
            .collect()
    });
    &CHECKERS
}

/// Why `value` is not a valid value of OCSF type `ocsf_type` (`ip_t`), if it is not.
pub fn problem(ocsf_type: &str, value: &Value) -> Option<String> {
    let checker = checkers().get(ocsf_type)?;
    let what = checker.description.split(". ").next().unwrap_or_default().trim_end_matches('.');
    match value {
        Value::String(s) => {
            if let Some(max) = checker.max_len
                && s.chars().count() as u64 > max
            {
                return Some(format!("{ocsf_type} values are at most {max} characters"));
            }
            if checker.pattern.as_ref().is_some_and(|p| !p.is_valid(value)) {
                return Some(format!("not a valid {ocsf_type} ({what})"));
            }
            None
        }
        Value::Number(n) => {
            let [lo, hi] = checker.range?;
            match n.as_i64() {
                Some(i) if (lo..=hi).contains(&i) => None,
                _ => Some(format!("{ocsf_type} values are between {lo} and {hi}")),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::problem;
    use serde_json::json;

    #[test]
    fn values_outside_their_type_are_named_and_the_rest_pass() {
        assert_eq!(problem("port_t", &json!(70000)).as_deref(), Some("port_t values are between 0 and 65535"));
        assert_eq!(problem("port_t", &json!(443)), None);
        assert!(problem("ip_t", &json!("10.0.0.300")).unwrap().starts_with("not a valid ip_t (Internet Protocol"));
        assert_eq!(problem("ip_t", &json!("2001:db8::1")), None);
        assert!(problem("mac_t", &json!("00:11:22")).is_some());
        assert!(problem("email_t", &json!("alice")).is_some());
        assert_eq!(problem("email_t", &json!("alice@example.com")), None);
        assert_eq!(problem("string_t", &json!("anything")), None);
        assert_eq!(
            problem("subnet_t", &json!("x".repeat(43))).as_deref(),
            Some("subnet_t values are at most 42 characters")
        );
    }
}
