//! Compiling declarations into [`Mapping`]s, checked against OCSF 1.5.0: class and activity
//! names, every target attribute, literal types, ranges and formats (`port_t`, `ip_t`, …) and
//! enum captions (written as words, stored as
//! ids), list-ness, derived fields, observables; and every path, template, condition, table and
//! parameter the rules use. All problems are reported, each at its own place.

use super::coerce::Coerce;
use super::decl::{FieldDecl, FileDecl, LookupDecl, OpDecl, RuleDecl, TableDecl};
use super::path::SourcePath;
use super::program::{FieldRule, Mapping, Observable, Op, Source, Table};
use super::template::Templates;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, Span, did_you_mean};
use crate::ocsf::{Attribute, AttributeSet, Catalog, Class, JsonType};
use crate::yaml::{Node, NodeValue};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Fields the engine always derives; mappings cannot set them.
const DERIVED: &[(&str, &str)] = &[
    ("class_uid", "`class`"),
    ("class_name", "`class`"),
    ("category_uid", "`class`"),
    ("category_name", "`class`"),
    ("type_uid", "`class` and the activity"),
    ("type_name", "`class` and the activity"),
    ("observables", "the mapping's `observables` list"),
];

/// What the compiler needs besides the declarations.
pub struct Compiler<'a> {
    pub cat: &'static Catalog,
    /// Parameter name → value (`None`: declared but without a value).
    pub params: &'a BTreeMap<String, Option<String>>,
    pub templates: &'a mut Templates,
    pub tables: HashMap<String, TableDecl>,
    pub diags: &'a mut Diagnostics,
    compiled_tables: HashMap<(String, usize), Arc<Table>>,
    /// The files of the named tables the mapping being compiled uses.
    table_files: Vec<Arc<crate::diagnostic::SourceFile>>,
    /// The class of the mapping being compiled.
    class: Option<&'static Class>,
}

/// Where a rule writes: the attribute (None inside open objects) and whether the value is one
/// element of a list attribute.
#[derive(Clone, Copy)]
struct Target<'c> {
    attr: Option<&'c Attribute>,
    element: bool,
}

impl Target<'_> {
    fn is_list(&self) -> bool {
        self.attr.is_some_and(|a| a.is_array) && !self.element
    }

    /// The object set values of this target must follow, if known.
    fn object(&self, cat: &'static Catalog) -> Option<&'static AttributeSet> {
        let attr = self.attr?;
        if attr.is_open() { None } else { cat.object_of(attr) }
    }
}

impl<'a> Compiler<'a> {
    pub fn new(
        cat: &'static Catalog,
        params: &'a BTreeMap<String, Option<String>>,
        templates: &'a mut Templates,
        tables: HashMap<String, TableDecl>,
        diags: &'a mut Diagnostics,
    ) -> Self {
        Self {
            cat,
            params,
            templates,
            tables,
            diags,
            compiled_tables: HashMap::new(),
            table_files: Vec::new(),
            class: None,
        }
    }

    /// Compiles one resolved (bases merged) mapping.
    pub fn mapping(&mut self, decl: &FileDecl) -> Option<Mapping> {
        let class = self.class(decl)?;
        self.class = Some(class);
        self.table_files.clear();
        let mut rules = Vec::new();
        if let Some((name, span)) = &decl.activity {
            match class.activity_id(name) {
                Some(id) => rules.push(FieldRule {
                    target: vec!["activity_id".into()],
                    alts: vec![literal_op(Value::from(id))],
                    enum_attr: None,
                    origins: vec![span.clone()],
                }),
                None => self.push(unknown_caption_err(
                    ErrorKind::UnknownActivity { name: name.clone(), class: class.caption().into() },
                    span,
                    name,
                    class.activities.values().map(String::as_str),
                )),
            }
            if let Some(f) = decl.fields.iter().find(|f| f.target == "activity_id") {
                self.push(
                    Diagnostic::new(ErrorKind::ActivityTwice)
                        .at(f.span.clone())
                        .note(span.clone(), "`activity` is set here")
                        .help("keep `activity` for a fixed activity, or `fields.activity_id` for one computed from the record"),
                );
            }
        }
        let targets: Vec<&str> = decl.fields.iter().map(|f| f.target.as_str()).collect();
        let mut late = Vec::new();
        for field in &decl.fields {
            let Some(target) = self.top_target(class, field, &targets, decl.activity.is_some()) else {
                continue;
            };
            let Some(rule) = self.field_rule(field, target) else {
                continue;
            };
            if uses_output(&field.rule) { late.push(rule) } else { rules.push(rule) }
        }
        rules.extend(late);
        let observables = self.observables(class, decl);
        let matchers = decl
            .matchers
            .iter()
            .map(|m| (m.field.clone(), m.values.iter().map(|(v, _)| v.clone()).collect()))
            .collect();
        // A fallback without `match` is the catch-all: it takes what no other mapping matches.
        if !decl.is_base && decl.matchers.is_empty() && decl.fallback != Some(true) {
            self.push(
                Diagnostic::new(ErrorKind::NoMatcher { mapping: decl.name.clone() })
                    .at(Span::new(&decl.file, 1, 1, 1))
                    .help(
                        "add `match:` with the record fields that select this mapping, e.g. `match: { eventType: … }`, \
                         or `fallback: true` to make it the catch-all of records no other mapping matches",
                    ),
            );
        }
        let files: Vec<_> = decl.layers.iter().chain(&self.table_files).cloned().collect();
        Some(Mapping {
            transformation: super::provenance::info(&decl.name, &files),
            name: decl.name.clone(),
            file: decl.file.path.clone(),
            source: Arc::clone(&decl.file),
            class,
            fallback: decl.fallback.unwrap_or(false),
            matchers,
            rules,
            observables,
            shape: None,
        })
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn class(&mut self, decl: &FileDecl) -> Option<&'static Class> {
        let Some((name, span)) = &decl.class else {
            self.push(
                Diagnostic::new(ErrorKind::MissingClass { mapping: decl.name.clone() })
                    .at(Span::new(&decl.file, 1, 1, 1))
                    .help("add `class: Authentication` (or `Entity Management`) here or in a base it extends"),
            );
            return None;
        };
        let cat = self.cat;
        let found = cat.class(name);
        if found.is_none() {
            let names = cat.classes.iter().flat_map(|c| [c.caption(), c.name()]);
            self.push(unknown_caption_err(ErrorKind::UnknownClass { name: name.clone() }, span, name, names));
        }
        found
    }

    /// Checks a top-level target path against the class.
    fn top_target(
        &mut self,
        class: &'static Class,
        field: &FieldDecl,
        all: &[&str],
        has_activity: bool,
    ) -> Option<Target<'static>> {
        if let Some((_, from)) = DERIVED.iter().find(|(name, _)| *name == field.target) {
            self.push(
                Diagnostic::new(ErrorKind::DerivedField { field: field.target.clone() })
                    .at(field.span.clone())
                    .help(format!("it follows from {from}; remove this line")),
            );
            return None;
        }
        let target = self.resolve_path(&class.attrs, &field.target, &field.span)?;
        // A caption sibling needs its id.
        let (parent, last) = match field.target.rsplit_once('.') {
            Some((p, l)) => (Some(p), l),
            None => (None, field.target.as_str()),
        };
        let parent_set = match parent {
            Some(p) => self.resolve_quiet(&class.attrs, p).and_then(|t| t.object(self.cat)),
            None => Some(&class.attrs),
        };
        if let Some(id_attr) = parent_set.and_then(|s| s.attributes.iter().find(|a| a.sibling.as_deref() == Some(last)))
        {
            let id_path = match parent {
                Some(p) => format!("{p}.{}", id_attr.name),
                None => id_attr.name.clone(),
            };
            let id_is_set = all.contains(&id_path.as_str()) || (id_path == "activity_id" && has_activity);
            if !id_is_set {
                self.push(
                    Diagnostic::new(ErrorKind::SiblingWithoutId { field: field.target.clone(), id: id_path.clone() })
                        .at(field.span.clone())
                        .help(format!(
                            "set `{id_path}` (words such as its captions are accepted); the engine writes `{}`",
                            field.target
                        )),
                );
                return None;
            }
        }
        Some(target)
    }

    /// Resolves `a.b.c` in `set`, reporting the first unknown segment precisely.
    fn resolve_path(&mut self, set: &'static AttributeSet, path: &str, span: &Span) -> Option<Target<'static>> {
        let mut cur = Some(set);
        let mut attr: Option<&'static Attribute> = None;
        let mut offset = 0u32;
        let segments: Vec<&str> = path.split('.').collect();
        for (i, seg) in segments.iter().enumerate() {
            let Some(s) = cur else {
                // Inside an open object (`unmapped`, json data): anything goes.
                return Some(Target { attr: None, element: false });
            };
            let seg_span = Span::new(&span.file, span.line, span.column + offset, seg.chars().count() as u32);
            let Some(a) = s.get(seg) else {
                let help = did_you_mean(seg, s.names()).map(|n| format!("did you mean `{n}`?"));
                self.push(
                    Diagnostic::new(ErrorKind::UnknownAttribute { name: seg.to_string(), object: s.caption.clone() })
                        .at(seg_span)
                        .help_opt(help),
                );
                return None;
            };
            if a.is_array && i + 1 < segments.len() && !a.is_open() {
                self.push(Diagnostic::new(ErrorKind::ThroughList { field: segments[..=i].join(".") }).at(seg_span));
                return None;
            }
            cur = if a.is_open() { None } else { self.cat.object_of(a) };
            attr = Some(a);
            offset += seg.chars().count() as u32 + 1;
            if a.is_open() && i + 1 < segments.len() {
                return Some(Target { attr: None, element: false });
            }
        }
        Some(Target { attr, element: false })
    }

    fn resolve_quiet(&self, set: &'static AttributeSet, path: &str) -> Option<Target<'static>> {
        let mut cur = set;
        let mut attr = None;
        for seg in path.split('.') {
            let a = cur.get(seg)?;
            attr = Some(a);
            match self.cat.object_of(a) {
                Some(next) if !a.is_open() => cur = next,
                _ => {
                    return Some(Target { attr: Some(a), element: false });
                }
            }
        }
        Some(Target { attr, element: false })
    }

    fn field_rule(&mut self, field: &FieldDecl, target: Target<'static>) -> Option<FieldRule> {
        let alts = self.rule(&field.target, &field.rule, target)?;
        let enum_attr = target.attr.filter(|a| a.enum_captions.is_some());
        Some(FieldRule {
            target: field.target.split('.').map(String::from).collect(),
            alts,
            enum_attr,
            origins: field.origins.clone(),
        })
    }

    fn rule(&mut self, name: &str, rule: &RuleDecl, target: Target<'static>) -> Option<Vec<Op>> {
        let ops: Vec<&OpDecl> = match rule {
            RuleDecl::One(op) => vec![op.as_ref()],
            RuleDecl::FirstOf(ops) => ops.iter().collect(),
        };
        let compiled: Vec<Option<Op>> = ops.into_iter().map(|op| self.op(name, op, target)).collect();
        compiled.into_iter().collect()
    }

    fn op(&mut self, name: &str, op: &OpDecl, target: Target<'static>) -> Option<Op> {
        let when = op.when.as_ref().and_then(|(expr, span)| match self.templates.add_condition(expr) {
            Ok(id) => Some(id),
            Err(reason) => {
                self.push(Diagnostic::new(ErrorKind::BadExpression { reason }).at(span.clone()));
                None
            }
        });
        let coerce = op.coerce.as_ref().and_then(|(c, span)| {
            let Some(found) = Coerce::from_name(c) else {
                self.push(unknown_caption_err(
                    ErrorKind::UnknownCoercion { name: c.clone() },
                    span,
                    c,
                    Coerce::NAMES.iter().copied(),
                ));
                return None;
            };
            if let Some(attr) = target.attr.filter(|a| a.enum_captions.is_none() && !target.is_list())
                && !fits(attr.json_type, found.json_type())
            {
                self.push(
                    Diagnostic::new(ErrorKind::LiteralType {
                        field: name.to_string(),
                        expected: attr.json_type.describe().into(),
                        found: format!("{} (`as: {c}`)", found.json_type().describe()),
                    })
                    .at(span.clone()),
                );
            }
            Some(found)
        });
        let lookup = op.lookup.as_ref().and_then(|l| self.lookup(l, target));
        let default = op.default.as_ref().and_then(|d| self.literal("default", d, target));
        let to_object = op.to_object.as_ref().map(|t| (t.key.clone(), t.value.clone()));
        let source = self.source(name, op, target)?;
        Some(Op { when, source, to_object, lookup, coerce, default })
    }

    fn source(&mut self, name: &str, op: &OpDecl, target: Target<'static>) -> Option<Source> {
        if let Some(paths) = &op.from {
            let compiled: Vec<Option<SourcePath>> = paths.iter().map(|(p, span)| self.source_path(p, span)).collect();
            return compiled.into_iter().collect::<Option<Vec<_>>>().map(Source::From);
        }
        if let Some(node) = &op.value {
            return self.literal("value", node, target).map(Source::Value);
        }
        if let Some((text, span)) = &op.template {
            return match self.templates.add_template(text) {
                Ok(id) => Some(Source::Template(id)),
                Err(reason) => {
                    self.push(Diagnostic::new(ErrorKind::BadTemplate { reason }).at(span.clone()));
                    None
                }
            };
        }
        if let Some((param, span)) = &op.param {
            return match self.params.get(param) {
                Some(Some(v)) => Some(Source::Value(Value::String(v.clone()))),
                Some(None) => {
                    self.push(Diagnostic::new(ErrorKind::ParamMissing { name: param.clone() }).at(span.clone()));
                    None
                }
                None => {
                    let names = self.params.keys().map(String::as_str);
                    self.push(unknown_caption_err(ErrorKind::UnknownParam { name: param.clone() }, span, param, names));
                    None
                }
            };
        }
        if let Some((path, span)) = &op.from_ocsf {
            self.resolve_path(&self.class?.attrs, path, span)?;
            return Some(Source::FromOcsf(path.split('.').map(String::from).collect()));
        }
        if let Some(items) = &op.list {
            if target.attr.is_some() && !target.is_list() {
                self.push(Diagnostic::new(ErrorKind::NotAList { field: name.to_string() }).at(op.span.clone()));
                return None;
            }
            let element = Target { attr: target.attr, element: true };
            let compiled: Vec<Option<Vec<Op>>> = items.iter().map(|item| self.rule(name, item, element)).collect();
            return compiled.into_iter().collect::<Option<Vec<_>>>().map(Source::List);
        }
        if let Some((path, span)) = &op.each {
            if target.attr.is_some() && !target.is_list() {
                self.push(Diagnostic::new(ErrorKind::NotAList { field: name.to_string() }).at(span.clone()));
                return None;
            }
            let path = self.source_path(path, span)?;
            let element = Target { attr: target.attr, element: true };
            let fields = self.object_fields(name, op.fields.as_deref().unwrap_or(&[]), element, &op.span)?;
            return Some(Source::Each(path, fields));
        }
        if let Some(fields) = &op.fields {
            if target.is_list() {
                self.push(Diagnostic::new(ErrorKind::ThroughList { field: name.to_string() }).at(op.span.clone()));
                return None;
            }
            return self.object_fields(name, fields, target, &op.span).map(Source::Object);
        }
        if !op.had_unknown_keys {
            self.push(Diagnostic::new(ErrorKind::NoSource { field: name.to_string() }).at(op.span.clone()));
        }
        None
    }

    /// Sub-fields of an object built by `fields` (alone or under `each`).
    fn object_fields(
        &mut self,
        name: &str,
        fields: &[FieldDecl],
        target: Target<'static>,
        span: &Span,
    ) -> Option<Vec<FieldRule>> {
        let set = target.object(self.cat);
        if target.attr.is_some_and(|a| a.json_type != JsonType::Object) {
            self.push(
                Diagnostic::new(ErrorKind::LiteralType {
                    field: name.to_string(),
                    expected: target.attr.map_or("a value", |a| a.json_type.describe()).into(),
                    found: "an object".into(),
                })
                .at(span.clone()),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for f in fields {
            let sub = match set {
                Some(set) => self.resolve_path(set, &f.target, &f.span),
                None => Some(Target { attr: None, element: false }),
            };
            let Some(sub) = sub else {
                ok = false;
                continue;
            };
            match self.field_rule(f, sub) {
                Some(rule) => out.push(rule),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn source_path(&mut self, path: &str, span: &Span) -> Option<SourcePath> {
        match SourcePath::parse(path) {
            Ok(p) => Some(p),
            Err(reason) => {
                self.push(Diagnostic::new(ErrorKind::BadPath { path: path.to_string(), reason }).at(span.clone()));
                None
            }
        }
    }

    fn lookup(&mut self, decl: &LookupDecl, target: Target<'static>) -> Option<Arc<Table>> {
        let table = match decl {
            LookupDecl::Inline(t) => t.clone(),
            LookupDecl::Named(name, span) => match self.tables.get(name) {
                Some(t) => {
                    self.table_files.push(Arc::clone(&t.span.file));
                    t.clone()
                }
                None => {
                    let names: Vec<String> = self.tables.keys().cloned().collect();
                    let help =
                        did_you_mean(name, names.iter().map(String::as_str)).map(|n| format!("did you mean `{n}`?"));
                    self.push(
                        Diagnostic::new(ErrorKind::UnknownTable { name: name.clone() }).at(span.clone()).help_opt(help),
                    );
                    return None;
                }
            },
        };
        let cache_key = (
            format!("{}@{}:{}", table.name, table.span.line, table.span.column),
            target.attr.map_or(0, |a| a as *const _ as usize),
        );
        if let Some(t) = self.compiled_tables.get(&cache_key) {
            return Some(Arc::clone(t));
        }
        let reported = self.diags.len();
        let mut entries = crate::ocsf::catalog::FxHashMap::default();
        let mut ok = true;
        for (key, _, node) in &table.entries {
            let key = if table.ignore_case { key.to_uppercase() } else { key.clone() };
            match self.literal(&format!("{}.{key}", table.name), node, target) {
                Some(v) => {
                    entries.insert(key, v);
                }
                None => ok = false,
            }
        }
        let default = table.default.as_ref().and_then(|d| self.literal(&format!("{}.default", table.name), d, target));
        if let LookupDecl::Named(name, span) = decl {
            let field = target.attr.map_or("the field", |a| a.name.as_str());
            for d in &mut self.diags.0[reported..] {
                d.notes.push((span.clone(), format!("table `{name}` is used here for `{field}`")));
            }
        }
        if !ok {
            return None;
        }
        let compiled = Arc::new(Table { entries, default, ignore_case: table.ignore_case });
        self.compiled_tables.insert(cache_key, Arc::clone(&compiled));
        Some(compiled)
    }

    /// Checks a literal against the target's OCSF type; enum captions become ids.
    fn literal(&mut self, key: &str, node: &Node, target: Target<'static>) -> Option<Value> {
        if matches!(node.value, NodeValue::Null) {
            return None; // reported when the file was read
        }
        let Some(attr) = target.attr else {
            return Some(node.to_json());
        };
        if target.is_list() {
            let NodeValue::Seq(items) = &node.value else {
                self.push(type_err(key, "a list", node));
                return None;
            };
            let element = Target { attr: Some(attr), element: true };
            let values: Vec<Option<Value>> = items.iter().map(|n| self.literal(key, n, element)).collect();
            return values.into_iter().collect::<Option<Vec<_>>>().map(Value::Array);
        }
        if let Some(captions) = &attr.enum_captions {
            let resolved = match &node.value {
                NodeValue::Int(i) => captions.contains_key(i).then_some(*i),
                NodeValue::Str(s) => attr.enum_id(s),
                _ => {
                    self.push(type_err(key, "an id or a caption", node));
                    return None;
                }
            };
            if let Some(id) = resolved {
                return Some(Value::from(id));
            }
            let shown = s_or(node);
            let help = did_you_mean(&shown, attr.captions())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| format!("values: {}", attr.captions().collect::<Vec<_>>().join(", ")));
            self.push(
                Diagnostic::new(ErrorKind::UnknownCaption { value: shown, field: attr.name.clone() })
                    .at(node.span.clone())
                    .help(help),
            );
            return None;
        }
        match (attr.json_type, &node.value) {
            (JsonType::String, NodeValue::Str(_)) | (JsonType::Integer, NodeValue::Int(_)) => {
                let value = node.to_json();
                match crate::ocsf::types::problem(&attr.ocsf_type, &value) {
                    None => Some(value),
                    Some(reason) => {
                        self.push(
                            Diagnostic::new(ErrorKind::LiteralOutOfRange {
                                field: attr.name.clone(),
                                value: s_or(node),
                                reason,
                            })
                            .at(node.span.clone()),
                        );
                        None
                    }
                }
            }
            (JsonType::Number, NodeValue::Int(_) | NodeValue::Float(_))
            | (JsonType::Boolean, NodeValue::Bool(_))
            | (JsonType::Any, _) => Some(node.to_json()),
            (JsonType::Object, NodeValue::Map(entries)) => {
                let Some(set) = target.object(self.cat) else {
                    return Some(node.to_json());
                };
                let mut obj = serde_json::Map::new();
                let mut ok = true;
                for (k, v) in entries {
                    let Some(sub) = self.resolve_path(set, &k.name, &k.span) else {
                        ok = false;
                        continue;
                    };
                    match self.literal(&format!("{key}.{}", k.name), v, sub) {
                        Some(v) => {
                            obj.insert(k.name.clone(), v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Object(obj))
            }
            (expected, _) => {
                self.push(
                    Diagnostic::new(ErrorKind::LiteralType {
                        field: attr.name.clone(),
                        expected: expected.describe().into(),
                        found: node.type_name().into(),
                    })
                    .at(node.span.clone()),
                );
                None
            }
        }
    }

    fn observables(&mut self, class: &'static Class, decl: &FileDecl) -> Vec<Observable> {
        let mut out = Vec::new();
        for (path, span) in &decl.observables {
            let Some(target) = self.resolve_path(&class.attrs, path, span) else {
                continue;
            };
            match target.attr.and_then(|a| a.observable_type_id) {
                Some(type_id) => out.push(Observable {
                    path: path.split('.').map(String::from).collect(),
                    name: path.clone(),
                    type_id,
                    origin: span.clone(),
                }),
                None => self.push(Diagnostic::new(ErrorKind::NotObservable { field: path.clone() }).at(span.clone())),
            }
        }
        out
    }
}

/// Whether values of type `got` may go into an attribute of type `want`.
fn fits(want: JsonType, got: JsonType) -> bool {
    want == got || want == JsonType::Any || (want == JsonType::Number && got == JsonType::Integer)
}

fn s_or(node: &Node) -> String {
    match &node.value {
        NodeValue::Str(s) => s.clone(),
        NodeValue::Int(i) => i.to_string(),
        _ => node.type_name().to_string(),
    }
}

fn literal_op(v: Value) -> Op {
    Op { when: None, source: Source::Value(v), to_object: None, lookup: None, coerce: None, default: None }
}

/// True when a rule reads other OCSF fields, so it must run after the rest.
fn uses_output(rule: &RuleDecl) -> bool {
    match rule {
        RuleDecl::One(op) => op.from_ocsf.is_some(),
        RuleDecl::FirstOf(ops) => ops.iter().any(|op| op.from_ocsf.is_some()),
    }
}

fn type_err(key: &str, expected: &str, node: &Node) -> Diagnostic {
    Diagnostic::new(ErrorKind::WrongType { key: key.into(), expected: expected.into(), found: node.type_name().into() })
        .at(node.span.clone())
}

/// An "unknown name" diagnostic with a "did you mean" hint from `candidates`.
fn unknown_caption_err<'c>(
    kind: ErrorKind,
    span: &Span,
    wrong: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Diagnostic {
    let candidates: Vec<&str> = candidates.collect();
    let help = did_you_mean(wrong, candidates.iter().copied())
        .map(|n| format!("did you mean `{n}`?"))
        .unwrap_or_else(|| format!("expected one of: {}", candidates.join(", ")));
    Diagnostic::new(kind).at(span.clone()).help(help)
}
