//! A JSON Schema of the mapping-file language, for editors (yaml-language-server completes and
//! checks keys with it). It is generated from the same key lists the decoder accepts and from
//! the OCSF dictionary's class and activity names; `engine schema mapping` prints it and
//! `mappings/_mapping.schema.json` is its committed copy.

use super::coerce::Coerce;
use super::decl::{FILE_KEYS, RULE_KEYS};
use crate::ocsf::catalog;
use crate::yaml::schema::{doc, with_doc};
use serde_json::{Map, Value, json};

/// What each key of a mapping file means (shown by editors on hover).
const FILE_DOCS: &[(&str, &str)] = &[
    ("description", "Free text about the mapping."),
    (
        "extends",
        "A base file (or a list), looked up beside this file and then in each parent directory; `.yaml` may be left out.",
    ),
    ("class", "The OCSF class, by name: `Authentication` or `Entity Management`."),
    (
        "activity",
        "A fixed activity, by name (`Logon`, `Other`, …). For one computed from the record, set `fields.activity_id` instead.",
    ),
    (
        "match",
        "Record fields and the values that select this mapping: `{ eventType: X }` or a list of values. Merged with the bases' matchers.",
    ),
    ("fallback", "Take only records that no other mapping matches."),
    ("observables", "OCSF fields to list in `observables` when present; the type comes from OCSF."),
    ("tables", "Named lookup tables, usable from every file of the source."),
    ("fields", "`ocsf.path: rule` for each OCSF field this mapping sets."),
];

/// What each key of a rule means.
const RULE_DOCS: &[(&str, &str)] = &[
    (
        "from",
        "A record field: a dotted path, or JSONPath when it starts with `$`. A list of paths takes the first present. `null` and `\"\"` count as absent.",
    ),
    ("value", "A literal, checked against the OCSF type; enum fields take captions (`Success`, `Password`)."),
    ("template", "A minijinja template over the record; the result is trimmed and empty means no value."),
    ("param", "A parameter of the source spec (`--set name=…`)."),
    ("from_ocsf", "An OCSF field another rule of this mapping set."),
    ("list", "A list: one element per rule that gives a value."),
    ("each", "One object per element of this record list, built from `fields` (paths relative to the element)."),
    ("fields", "An object built from its own rules (with `each`: one per list element)."),
    ("to_object", "Turns `[{key: a, value: 1}, …]` into `{a: 1, …}`."),
    ("lookup", "A named table, or an inline table `{KEY: value}`."),
    (
        "as",
        "Coercion: timestamp (epoch milliseconds), int, bool, ip or string. A value that does not convert gives nothing.",
    ),
    ("when", "A minijinja expression over the record; the rule applies only when it is true."),
    ("default", "The value when nothing else gave one."),
];

/// The JSON Schema (draft-07, which yaml-language-server understands) of a mapping file.
pub fn mapping_schema() -> Value {
    let cat = catalog();
    let mut classes: Vec<String> =
        cat.classes.iter().flat_map(|c| [c.caption().to_string(), c.name().to_string()]).collect();
    classes.sort();
    let mut activities: Vec<String> = cat.classes.iter().flat_map(|c| c.activities.values().cloned()).collect();
    activities.sort();
    activities.dedup();
    let strings =
        json!({ "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" }, "minItems": 1 }] });
    let scalar = json!({ "type": ["string", "number", "boolean"] });

    let mut file = Map::new();
    for key in FILE_KEYS {
        let body = match *key {
            "description" => json!({ "type": "string" }),
            "extends" | "observables" => strings.clone(),
            "class" => json!({ "enum": classes }),
            "activity" => json!({ "enum": activities }),
            "match" => json!({
                "type": "object",
                "additionalProperties": { "oneOf": [scalar, { "type": "array", "items": scalar, "minItems": 1 }] }
            }),
            "fallback" => json!({ "type": "boolean" }),
            "tables" => json!({ "type": "object", "additionalProperties": { "$ref": "#/definitions/table" } }),
            "fields" => json!({ "$ref": "#/definitions/fields" }),
            other => unreachable!("a file key without a schema: {other}"),
        };
        file.insert((*key).into(), with_doc(body, &doc(FILE_DOCS, key)));
    }

    let mut rule = Map::new();
    for key in RULE_KEYS {
        let body = match *key {
            "from" => strings.clone(),
            "value" | "default" => json!({ "not": { "type": "null" } }),
            "template" | "param" | "from_ocsf" | "each" | "when" => json!({ "type": "string" }),
            "list" => json!({ "type": "array", "items": { "$ref": "#/definitions/ruleOrList" } }),
            "fields" => json!({ "$ref": "#/definitions/fields" }),
            "to_object" => json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["key", "value"],
                "properties": { "key": { "type": "string" }, "value": { "type": "string" } }
            }),
            "lookup" => json!({ "oneOf": [{ "type": "string" }, { "$ref": "#/definitions/table" }] }),
            "as" => json!({ "enum": Coerce::NAMES }),
            other => unreachable!("a rule key without a schema: {other}"),
        };
        rule.insert((*key).into(), with_doc(body, &doc(RULE_DOCS, key)));
    }

    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": "Generated by `engine schema mapping`; do not edit.",
        "title": "ocsf-engine mapping file",
        "type": "object",
        "additionalProperties": false,
        "properties": file,
        "definitions": {
            "fields": {
                "type": "object",
                "description": "OCSF attribute paths (e.g. `src_endpoint.ip`) and their rules.",
                "additionalProperties": { "$ref": "#/definitions/ruleOrList" }
            },
            "ruleOrList": {
                "oneOf": [
                    { "$ref": "#/definitions/rule" },
                    { "type": "array", "items": { "$ref": "#/definitions/rule" }, "minItems": 1 }
                ]
            },
            "rule": { "type": "object", "additionalProperties": false, "properties": rule },
            "table": {
                "type": "object",
                "description": "`KEY: value` entries, or `{entries, default, ignore_case}`.",
                "additionalProperties": { "not": { "type": "null" } }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_documented() {
        for key in FILE_KEYS {
            assert!(!doc(FILE_DOCS, key).is_empty(), "{key}");
        }
        for key in RULE_KEYS {
            assert!(!doc(RULE_DOCS, key).is_empty(), "{key}");
        }
    }

    #[test]
    fn the_schema_names_classes_and_activities() {
        let s = mapping_schema();
        assert!(s["properties"]["class"]["enum"].as_array().unwrap().contains(&json!("Entity Management")));
        assert!(s["properties"]["activity"]["enum"].as_array().unwrap().contains(&json!("Preauth")));
        assert!(jsonschema::validator_for(&s).is_ok());
    }
}
