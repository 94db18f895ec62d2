//! Static checks of loaded mappings against the OCSF dictionary, for `engine check`: what the
//! rules can produce, beyond what loading already refuses. A required attribute that no rule
//! of a mapping (bases included) sets, or none of a group of which OCSF requires one, means
//! every event is refused (an error); a template or a
//! parameter written into an integer or boolean attribute without a coercion always gives a
//! string (an error); a record field copied into one as it is may hold text (a warning: only
//! the records can tell).

use super::coerce::Coerce;
use super::program::{FieldRule, Mapping, Source};
use crate::diagnostic::{Diagnostic, ErrorKind, Span};
use crate::ocsf::{Attribute, AttributeSet, Catalog, JsonType, catalog};
use serde_json::Value;
use std::collections::BTreeMap;

/// Attributes the engine always writes itself: never missing.
const DERIVED: &[&str] = &["activity_id", "class_uid", "category_uid", "type_uid"];

/// Every problem of every mapping, errors and warnings.
pub fn lint(mappings: &[Mapping]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for m in mappings {
        let mut root = Shape::default();
        for rule in &m.rules {
            root.add_rule(rule);
        }
        // The engine stamps `metadata.transformation_info_list` on every event.
        root.children.entry("metadata".into()).or_default();
        let at = Span::new(&m.source, 1, 1, 1);
        for attr in required(&m.class.attrs) {
            if DERIVED.contains(&attr.name.as_str()) || root.children.contains_key(&attr.name) {
                continue;
            }
            out.push(
                Diagnostic::new(ErrorKind::CanOnlyDeadLetter {
                    mapping: m.name.clone(),
                    field: attr.name.clone(),
                    object: m.class.caption().to_string(),
                })
                .at(at.clone())
                .help(format!(
                    "set it in `fields` here or in a base this file extends, e.g. {}",
                    example(&attr.name, attr)
                )),
            );
        }
        for group in &m.class.attrs.at_least_one {
            if group.iter().any(|a| root.children.contains_key(a)) {
                continue;
            }
            let fields = group.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
            out.push(
                Diagnostic::new(ErrorKind::NoneOfRequired {
                    mapping: m.name.clone(),
                    fields,
                    object: m.class.caption().to_string(),
                })
                .at(at.clone())
                .help(format!("set one of them, e.g. `{}.<attribute>: {{ from: … }}`", group[group.len() - 1])),
            );
        }
        for (name, child) in &root.children {
            if let Some(attr) = m.class.attrs.get(name) {
                check_object(catalog(), attr, child, name, &mut out);
            }
        }
        for rule in &m.rules {
            check_types(catalog(), &m.class.attrs, rule, &mut out);
        }
    }
    out
}

/// What the rules of a mapping build: the keys they set, and whether an object's content is
/// only known at run time (copied whole from the record, a template, another field).
#[derive(Default)]
struct Shape {
    opaque: bool,
    children: BTreeMap<String, Shape>,
    /// The shapes of list elements, each built by its own rule.
    elements: Vec<Shape>,
    /// The first line that builds this object.
    span: Option<Span>,
}

impl Shape {
    fn add_rule(&mut self, rule: &FieldRule) {
        let mut node = self;
        for seg in &rule.target {
            node = node.children.entry(seg.clone()).or_default();
            if node.span.is_none() {
                node.span = rule.origins.last().cloned();
            }
        }
        for op in &rule.alts {
            node.add_source(&op.source, rule);
            if let Some(v) = &op.default {
                node.add_literal(v);
            }
        }
    }

    fn add_source(&mut self, source: &Source, rule: &FieldRule) {
        match source {
            Source::Value(v) => self.add_literal(v),
            Source::Object(fields) => fields.iter().for_each(|f| self.add_rule(f)),
            Source::Each(_, fields) => {
                let mut element = Shape { span: rule.origins.last().cloned(), ..Shape::default() };
                fields.iter().for_each(|f| element.add_rule(f));
                self.elements.push(element);
            }
            Source::List(items) => {
                for alts in items {
                    let mut element = Shape { span: rule.origins.last().cloned(), ..Shape::default() };
                    alts.iter().for_each(|op| element.add_source(&op.source, rule));
                    self.elements.push(element);
                }
            }
            Source::From(_) | Source::Template(_) | Source::FromOcsf(_) => self.opaque = true,
        }
    }

    fn add_literal(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.children.entry(k.clone()).or_default().add_literal(v);
                }
            }
            Value::Array(items) => {
                for item in items {
                    let mut element = Shape { span: self.span.clone(), ..Shape::default() };
                    element.add_literal(item);
                    self.elements.push(element);
                }
            }
            _ => {}
        }
    }
}

fn required(set: &AttributeSet) -> impl Iterator<Item = &Attribute> {
    set.attributes.iter().filter(|a| a.requirement == "required")
}

/// The required attributes of the object `attr` holds, as `shape` builds it (and its list
/// elements), recursively.
fn check_object(cat: &'static Catalog, attr: &Attribute, shape: &Shape, path: &str, out: &mut Vec<Diagnostic>) {
    if attr.is_open() || shape.opaque {
        return;
    }
    let Some(set) = cat.object_of(attr) else { return };
    let built: Vec<&Shape> = if attr.is_array { shape.elements.iter().collect() } else { vec![shape] };
    for node in built {
        if node.opaque || (node.children.is_empty() && !node.elements.is_empty()) {
            continue;
        }
        for req in required(set) {
            if node.children.contains_key(&req.name) {
                continue;
            }
            out.push(
                Diagnostic::new(ErrorKind::RequiredInObject {
                    field: req.name.clone(),
                    object: set.caption.clone(),
                    parent: path.to_string(),
                })
                .at_opt(node.span.clone())
                .help(if attr.is_array {
                    format!("set it in each element too, e.g. under `fields`: {}", example(&req.name, req))
                } else {
                    format!("set it too, e.g. {}", example(&format!("{path}.{}", req.name), req))
                }),
            );
        }
        for (name, child) in &node.children {
            if let Some(sub) = set.get(name) {
                check_object(cat, sub, child, &format!("{path}.{name}"), out);
            }
        }
    }
}

/// Rules whose source gives a string (or may) for an integer or boolean attribute.
fn check_types(cat: &'static Catalog, set: &AttributeSet, rule: &FieldRule, out: &mut Vec<Diagnostic>) {
    let Some(attr) = attribute_at(cat, set, &rule.target) else { return };
    let field = rule.target.join(".");
    for op in &rule.alts {
        match &op.source {
            Source::Object(fields) | Source::Each(_, fields) => {
                if let Some(object) = (!attr.is_open()).then(|| cat.object_of(attr)).flatten() {
                    fields.iter().for_each(|f| check_types(cat, object, f, out));
                }
                continue;
            }
            _ if attr.is_array || attr.enum_captions.is_some() || op.coerce.is_some() || op.lookup.is_some() => {
                continue;
            }
            _ => {}
        }
        if !matches!(attr.json_type, JsonType::Integer | JsonType::Number | JsonType::Boolean) {
            continue;
        }
        let expected = attr.json_type.describe().to_string();
        let help = format!("add `as: {}` to the rule", coercion_for(attr).name());
        let span = rule.origins.last().cloned();
        let diagnostic = match &op.source {
            Source::Template(_) => Diagnostic::new(ErrorKind::StringIntoScalar {
                field: field.clone(),
                expected,
                source_kind: "a template".into(),
            }),
            Source::Value(Value::String(_)) => Diagnostic::new(ErrorKind::StringIntoScalar {
                field: field.clone(),
                expected,
                source_kind: "a parameter".into(),
            }),
            Source::From(paths) => Diagnostic::new(ErrorKind::MaybeUncoerced {
                field: field.clone(),
                expected,
                path: paths.iter().map(|p| p.describe()).collect::<Vec<_>>().join("`, `"),
            })
            .warning(),
            _ => continue,
        };
        let help = if diagnostic.is_error() {
            help
        } else {
            format!("{help} if the API may send it as text; a value of another type dead-letters the event")
        };
        out.push(diagnostic.at_opt(span).help(help));
    }
}

/// The coercion that produces values of `attr`'s type.
fn coercion_for(attr: &Attribute) -> Coerce {
    match (attr.json_type, attr.ocsf_type.as_str()) {
        (JsonType::Boolean, _) => Coerce::Bool,
        (_, "timestamp_t") => Coerce::Timestamp,
        _ => Coerce::Int,
    }
}

fn attribute_at<'c>(cat: &'c Catalog, set: &'c AttributeSet, path: &[String]) -> Option<&'c Attribute> {
    let (first, rest) = path.split_first()?;
    let attr = set.get(first)?;
    if rest.is_empty() {
        return Some(attr);
    }
    if attr.is_open() || attr.is_array {
        return None;
    }
    attribute_at(cat, cat.object_of(attr)?, rest)
}

/// A rule that sets `attr` at `path`, as a hint.
fn example(path: &str, attr: &Attribute) -> String {
    let value = match (attr.json_type, attr.ocsf_type.as_str()) {
        (_, "timestamp_t") => "{ from: …, as: timestamp }".to_string(),
        (_, _) if attr.enum_captions.is_some() => {
            format!("{{ value: {} }}", attr.captions().find(|c| *c != "Unknown").unwrap_or("Unknown"))
        }
        (JsonType::Object, _) => return format!("`{path}.<attribute>: {{ from: … }}`"),
        (JsonType::Boolean, _) => "{ from: …, as: bool }".to_string(),
        (JsonType::Integer, _) => "{ from: …, as: int }".to_string(),
        _ => "{ from: … }".to_string(),
    };
    format!("`{path}: {value}`")
}
