//! `unmapped`: every part of the record that no rule turned into OCSF, under its source name,
//! with `null`s, empty strings and emptied containers left out.

use super::path::Seg;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The record minus the consumed locations, or `None` when nothing is left.
pub fn unmapped(record: &Value, consumed: &[Cow<'_, [Seg]>]) -> Option<Value> {
    let paths: Vec<&[Seg]> = consumed.iter().map(|c| c.as_ref()).collect();
    strip(record, &paths)
}

fn strip(value: &Value, paths: &[&[Seg]]) -> Option<Value> {
    if paths.is_empty() {
        return clean(value);
    }
    if paths.iter().any(|p| p.is_empty()) {
        return None;
    }
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let under = |p: &[Seg]| matches!(p.first(), Some(Seg::Key(key)) if key == k);
                // Most keys are consumed whole or not at all: no list of paths for them.
                let kept = match paths.iter().filter(|p| under(p)).count() {
                    0 => clean(v),
                    _ if paths.iter().any(|p| p.len() == 1 && under(p)) => None,
                    _ => {
                        let sub: Vec<&[Seg]> = paths.iter().filter(|p| under(p)).map(|p| &p[1..]).collect();
                        strip(v, &sub)
                    }
                };
                if let Some(kept) = kept {
                    out.insert(k.clone(), kept);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let out: Vec<Value> = items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let sub: Vec<&[Seg]> = paths
                        .iter()
                        .filter_map(|p| match p.split_first() {
                            Some((Seg::Index(idx), rest)) if *idx == i => Some(rest),
                            _ => None,
                        })
                        .collect();
                    strip(v, &sub)
                })
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// A value no rule consumed anything of: a copy without `null`s, empty strings and emptied
/// containers (what [`strip`] gives with no paths, without gathering paths per key).
fn clean(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Object(map) => {
            let out: Map<String, Value> = map.iter().filter_map(|(k, v)| Some((k.clone(), clean(v)?))).collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let out: Vec<Value> = items.iter().filter_map(clean).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::path::dotted_segs;
    use serde_json::json;

    fn run(record: Value, consumed: &[&str]) -> Option<Value> {
        let segs: Vec<Vec<Seg>> = consumed.iter().map(|c| dotted_segs(c)).collect();
        let cows: Vec<Cow<[Seg]>> = segs.iter().map(|s| Cow::Borrowed(s.as_slice())).collect();
        unmapped(&record, &cows)
    }

    #[test]
    fn keeps_what_was_not_consumed() {
        let rec = json!({"id": "1", "token": "OTP", "n": null, "e": "", "auditDetails": {"messageTokens": ["a"], "entityAttributes": [{"name": "x"}]}});
        assert_eq!(
            run(rec, &["id", "auditDetails.entityAttributes"]),
            Some(json!({"token": "OTP", "auditDetails": {"messageTokens": ["a"]}}))
        );
    }

    #[test]
    fn list_elements_can_be_consumed_one_by_one() {
        let rec = json!({"a": [{"v": 1}, {"v": 2}]});
        assert_eq!(run(rec, &["a.0"]), Some(json!({"a": [{"v": 2}]})));
    }

    #[test]
    fn paths_sharing_steps_are_each_taken_out() {
        let rec =
            json!({"a": [{"v": 1, "w": 2, "x": 3}, {"v": 4}], "b": {"x": 1, "y": 2}, "c": 3, "d": {"0": 5, "1": 6}});
        assert_eq!(
            run(rec, &["b.x", "a.0.w", "a.1", "c", "a.0.v", "zz", "d.0", "b.x"]),
            Some(json!({"a": [{"x": 3}], "b": {"y": 2}, "d": {"0": 5, "1": 6}}))
        );
    }

    #[test]
    fn nothing_left_is_none() {
        assert_eq!(run(json!({"a": 1, "b": {"c": null}}), &["a"]), None);
    }
}
