//! `engine explain`: for every field of an event, where it came from — the mapping file and
//! line of the rule that set it (with the lines of bases it inherits or adjusts), the engine's
//! derivation, or the record fields no rule consumed.

use super::{MappingSet, program::Mapping};
use crate::deadletter::DeadLetter;
use crate::diagnostic::Span;
use serde::Serialize;
use serde_json::Value;

/// Where one field of an event came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provenance {
    /// A rule: `file:line` of the rule and of every layer that adjusted it, base first.
    Rule { at: Vec<String> },
    /// Listed in the mapping's `observables`.
    Observables { at: Vec<String> },
    /// Computed by the engine from the OCSF dictionary.
    Derived { from: String },
    /// A record field no rule consumed.
    Unmapped,
    /// The original record (`--raw-data`).
    RawData,
}

/// One field of the event: its dotted path, value and provenance.
#[derive(Debug, Clone, Serialize)]
pub struct FieldOrigin {
    pub path: String,
    pub value: Value,
    pub provenance: Provenance,
}

/// An event with the provenance of each of its fields.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub mapping: String,
    pub file: String,
    pub event: Value,
    pub fields: Vec<FieldOrigin>,
}

const DERIVED: &[(&str, &str)] = &[
    ("class_uid", "the mapping's class"),
    ("class_name", "the mapping's class"),
    ("category_uid", "the mapping's class"),
    ("category_name", "the mapping's class"),
    ("type_uid", "class_uid × 100 + activity_id"),
    ("type_name", "the class and activity captions"),
    ("metadata.transformation_info_list", "the mapping's name and the hash of its files"),
];

impl MappingSet {
    /// Maps a record and says where each field of the event came from.
    pub fn explain(&self, record: Value) -> Result<Explanation, Box<DeadLetter>> {
        let done = self.run(record, true)?;
        let mut leaves = Vec::new();
        flatten(&done.event, String::new(), &mut leaves);
        let fields = leaves
            .into_iter()
            .map(|(path, value)| {
                let provenance = provenance(done.mapping, &done.produced, &done.event, &path);
                FieldOrigin { path, value: value.clone(), provenance }
            })
            .collect();
        Ok(Explanation {
            mapping: done.mapping.name.clone(),
            file: done.mapping.file.display().to_string(),
            event: done.event.clone(),
            fields,
        })
    }
}

/// Objects are walked; everything else (scalars, lists) is a leaf.
fn flatten<'v>(value: &'v Value, path: String, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(map) if !path.starts_with("unmapped") || path.is_empty() => {
            for (k, v) in map {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                flatten(v, p, out);
            }
        }
        _ => out.push((path, value)),
    }
}

fn at(spans: &[Span]) -> Vec<String> {
    spans.iter().map(|s| format!("{}:{}", s.file.path.display(), s.line)).collect()
}

fn provenance(mapping: &Mapping, produced: &[usize], event: &Value, path: &str) -> Provenance {
    if path == "unmapped" || path.starts_with("unmapped.") {
        // A rule may write under `unmapped` too; otherwise it is what no rule consumed.
        return rule_for(mapping, produced, path).unwrap_or(Provenance::Unmapped);
    }
    if path == "raw_data" {
        return Provenance::RawData;
    }
    if let Some((_, from)) = DERIVED.iter().find(|(name, _)| *name == path) {
        return Provenance::Derived { from: (*from).to_string() };
    }
    if path == "observables" {
        return Provenance::Observables {
            at: mapping.observables.iter().flat_map(|o| at(std::slice::from_ref(&o.origin))).collect(),
        };
    }
    let (parent, last) = path.rsplit_once('.').map_or(("", path), |(p, l)| (p, l));
    if let Some(id) = caption_of(mapping, parent, last) {
        let id_path = if parent.is_empty() { id } else { format!("{parent}.{id}") };
        // A caption the mapping wrote is kept only as the label of Other (99).
        let is_other = id_path.split('.').try_fold(event, |v, k| v.get(k)).and_then(Value::as_i64) == Some(99);
        if !is_other || rule_for(mapping, produced, path).is_none() {
            return Provenance::Derived { from: format!("the caption of {id_path}") };
        }
    }
    rule_for(mapping, produced, path).unwrap_or(Provenance::Derived { from: "the engine".to_string() })
}

/// The rule that wrote `path` or the object holding it (the longest target that is a prefix).
fn rule_for(mapping: &Mapping, produced: &[usize], path: &str) -> Option<Provenance> {
    let segs: Vec<&str> = path.split('.').collect();
    produced
        .iter()
        .map(|&i| &mapping.rules[i])
        .filter(|r| r.target.len() <= segs.len() && r.target.iter().zip(&segs).all(|(a, b)| a == b))
        .max_by_key(|r| r.target.len())
        .map(|r| Provenance::Rule { at: at(&r.origins) })
}

/// The enum id whose caption `name` is, in the object at `parent` of the mapping's class.
fn caption_of(mapping: &Mapping, parent: &str, name: &str) -> Option<String> {
    let cat = crate::ocsf::catalog();
    let mut set = &mapping.class.attrs;
    for seg in parent.split('.').filter(|s| !s.is_empty()) {
        set = cat.object_of(set.get(seg)?)?;
    }
    set.attributes.iter().find(|a| a.sibling.as_deref() == Some(name)).map(|a| a.name.clone())
}
