//! The mapping language as written: one [`FileDecl`] per YAML file, decoded from the located
//! tree with every structural error reported (unknown keys, wrong types, conflicting sources).
//! Nothing here knows OCSF; names and types are checked when the mapping is compiled.

use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, SourceFile, Span};
use crate::yaml::{Key, MapReader, Node, NodeValue, wrong_type};
use std::sync::Arc;

pub const FILE_KEYS: &[&str] =
    &["description", "extends", "class", "activity", "match", "fallback", "observables", "tables", "fields"];
pub const SOURCE_KEYS: &[&str] = &["from", "value", "template", "param", "from_ocsf", "list", "each", "fields"];
pub const RULE_KEYS: &[&str] = &[
    "from",
    "value",
    "template",
    "param",
    "from_ocsf",
    "list",
    "each",
    "fields",
    "to_object",
    "lookup",
    "as",
    "when",
    "default",
];
const TABLE_KEYS: &[&str] = &["entries", "default", "ignore_case"];
const TO_OBJECT_KEYS: &[&str] = &["key", "value"];

/// One mapping file (or base, when its name starts with `_`).
#[derive(Debug, Clone)]
pub struct FileDecl {
    /// The path below the mapping root, without `.yaml`, with `/` separators.
    pub name: String,
    pub file: Arc<SourceFile>,
    pub is_base: bool,
    pub extends: Vec<(String, Span)>,
    pub class: Option<(String, Span)>,
    pub activity: Option<(String, Span)>,
    pub matchers: Vec<MatchDecl>,
    pub match_span: Option<Span>,
    pub fallback: Option<bool>,
    pub observables: Vec<(String, Span)>,
    pub fields: Vec<FieldDecl>,
    pub tables: Vec<TableDecl>,
    /// The files this declaration is made of: the file itself, then (once resolved) its bases.
    pub layers: Vec<Arc<SourceFile>>,
}

/// `field: value` or `field: [values…]` in `match`.
#[derive(Debug, Clone)]
pub struct MatchDecl {
    pub field: String,
    pub values: Vec<(String, Span)>,
}

/// `ocsf.path: rule`.
#[derive(Debug, Clone)]
pub struct FieldDecl {
    pub target: String,
    pub span: Span,
    pub rule: RuleDecl,
    /// Every line that shaped the rule: the base's, then each layer that adjusted it.
    pub origins: Vec<Span>,
}

/// A rule, or a list of rules of which the first that gives a value wins.
#[derive(Debug, Clone)]
pub enum RuleDecl {
    One(Box<OpDecl>),
    FirstOf(Vec<OpDecl>),
}

/// One rule: a source and the modifiers applied to its value.
#[derive(Debug, Clone)]
pub struct OpDecl {
    pub span: Span,
    pub from: Option<Vec<(String, Span)>>,
    pub value: Option<Node>,
    pub template: Option<(String, Span)>,
    pub param: Option<(String, Span)>,
    pub from_ocsf: Option<(String, Span)>,
    pub list: Option<Vec<RuleDecl>>,
    pub each: Option<(String, Span)>,
    pub fields: Option<Vec<FieldDecl>>,
    pub to_object: Option<ToObjectDecl>,
    pub lookup: Option<LookupDecl>,
    pub coerce: Option<(String, Span)>,
    pub when: Option<(String, Span)>,
    pub default: Option<Node>,
    /// The rule had keys that are not part of the language (already reported).
    pub had_unknown_keys: bool,
}

impl OpDecl {
    fn empty(span: Span) -> Self {
        Self {
            span,
            from: None,
            value: None,
            template: None,
            param: None,
            from_ocsf: None,
            list: None,
            each: None,
            fields: None,
            to_object: None,
            lookup: None,
            coerce: None,
            when: None,
            default: None,
            had_unknown_keys: false,
        }
    }

    /// True when the rule names a source of its own.
    pub fn has_source(&self) -> bool {
        self.from.is_some()
            || self.value.is_some()
            || self.template.is_some()
            || self.param.is_some()
            || self.from_ocsf.is_some()
            || self.list.is_some()
            || self.each.is_some()
            || self.fields.is_some()
    }

    /// Lays `over` on top of `self` (a base's rule). A rule with a source of its own replaces
    /// the inherited rule whole; a rule with modifiers only (say `default:`) keeps the inherited
    /// source and replaces just the modifiers it gives.
    pub fn overlay(&self, over: &OpDecl) -> OpDecl {
        if over.has_source() {
            return over.clone();
        }
        let mut merged = OpDecl { span: over.span.clone(), ..self.clone() };
        if over.to_object.is_some() {
            merged.to_object = over.to_object.clone();
        }
        if over.lookup.is_some() {
            merged.lookup = over.lookup.clone();
        }
        if over.coerce.is_some() {
            merged.coerce = over.coerce.clone();
        }
        if over.when.is_some() {
            merged.when = over.when.clone();
        }
        if over.default.is_some() {
            merged.default = over.default.clone();
        }
        merged
    }
}

#[derive(Debug, Clone)]
pub struct ToObjectDecl {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub enum LookupDecl {
    Named(String, Span),
    Inline(TableDecl),
}

/// A lookup table: entries, an optional value for misses, optional case folding.
#[derive(Debug, Clone)]
pub struct TableDecl {
    pub name: String,
    pub span: Span,
    pub entries: Vec<(String, Span, Node)>,
    pub default: Option<Node>,
    pub ignore_case: bool,
}

/// Decodes one parsed file.
pub fn decode_file(name: String, file: Arc<SourceFile>, root: &Node, diags: &mut Diagnostics) -> Option<FileDecl> {
    let is_base = name.rsplit('/').next().is_some_and(|stem| stem.starts_with('_'));
    let r = MapReader::new(root, "a mapping file", FILE_KEYS, diags)?;
    let _ = r.str("description", diags);
    let mut decl = FileDecl {
        name,
        file: Arc::clone(&file),
        is_base,
        extends: r.strings("extends", diags),
        class: r.str("class", diags),
        activity: r.str("activity", diags),
        matchers: Vec::new(),
        match_span: r.entry("match").map(|(k, _)| k.span.clone()),
        fallback: r.bool("fallback", diags),
        observables: r.strings("observables", diags),
        fields: Vec::new(),
        tables: Vec::new(),
        layers: vec![Arc::clone(&file)],
    };
    if let Some(entries) = r.map("match", diags) {
        decl.matchers = entries.iter().filter_map(|(k, v)| decode_matcher(k, v, diags)).collect();
    }
    if let Some(entries) = r.map("tables", diags) {
        decl.tables =
            entries.iter().filter_map(|(k, v)| decode_table(k.name.clone(), k.span.clone(), v, diags)).collect();
    }
    if let Some(entries) = r.map("fields", diags) {
        decl.fields = decode_fields(entries, diags);
    }
    Some(decl)
}

fn decode_matcher(key: &Key, node: &Node, diags: &mut Diagnostics) -> Option<MatchDecl> {
    let one = |n: &Node, diags: &mut Diagnostics| match &n.value {
        NodeValue::Str(s) => Some((s.clone(), n.span.clone())),
        NodeValue::Int(i) => Some((i.to_string(), n.span.clone())),
        NodeValue::Bool(b) => Some((b.to_string(), n.span.clone())),
        _ => {
            diags.push(wrong_type(&format!("match.{}", key.name), "a string or a list of strings", n));
            None
        }
    };
    let values = match &node.value {
        NodeValue::Seq(items) if !items.is_empty() => items.iter().filter_map(|n| one(n, diags)).collect(),
        NodeValue::Seq(_) => {
            diags.push(wrong_type(&format!("match.{}", key.name), "a string or a non-empty list of strings", node));
            return None;
        }
        _ => vec![one(node, diags)?],
    };
    Some(MatchDecl { field: key.name.clone(), values })
}

fn decode_fields(entries: &[(Key, Node)], diags: &mut Diagnostics) -> Vec<FieldDecl> {
    entries
        .iter()
        .filter_map(|(k, v)| {
            let rule = decode_rule(&k.name, v, diags)?;
            Some(FieldDecl { target: k.name.clone(), span: k.span.clone(), rule, origins: vec![k.span.clone()] })
        })
        .collect()
}

fn decode_rule(target: &str, node: &Node, diags: &mut Diagnostics) -> Option<RuleDecl> {
    match &node.value {
        NodeValue::Seq(items) if !items.is_empty() => {
            let ops: Vec<OpDecl> = items.iter().filter_map(|n| decode_op(target, n, diags)).collect();
            (ops.len() == items.len()).then_some(RuleDecl::FirstOf(ops))
        }
        NodeValue::Map(_) => decode_op(target, node, diags).map(|op| RuleDecl::One(Box::new(op))),
        _ => {
            let help = match &node.value {
                NodeValue::Str(s) => {
                    format!("write `{{ from: {s} }}` to copy a record field, or `{{ value: {s} }}` for a literal")
                }
                _ => "write `{ value: … }` for a literal".to_string(),
            };
            diags.push(
                wrong_type(target, "a rule (a mapping such as `{ from: field }`) or a list of rules", node).help(help),
            );
            None
        }
    }
}

fn decode_op(target: &str, node: &Node, diags: &mut Diagnostics) -> Option<OpDecl> {
    let context = format!("the rule for `{target}`");
    let r = MapReader::new(node, context.clone(), RULE_KEYS, diags)?;
    let mut op = OpDecl::empty(node.span.clone());
    op.had_unknown_keys = r.had_unknown_keys();
    if r.has("from") {
        let paths = r.strings("from", diags);
        if paths.is_empty() {
            diags.push(wrong_type("from", "a path or a non-empty list of paths", r.node("from")?));
        }
        op.from = Some(paths);
    }
    op.value = r.node("value").cloned();
    op.template = r.str("template", diags);
    op.param = r.str("param", diags);
    op.from_ocsf = r.str("from_ocsf", diags);
    op.each = r.str("each", diags);
    op.coerce = r.str("as", diags);
    op.when = r.str("when", diags);
    op.default = r.node("default").cloned();
    if let Some(node) = r.node("list") {
        match &node.value {
            NodeValue::Seq(items) => {
                op.list = Some(items.iter().filter_map(|n| decode_rule(&format!("{target}[]"), n, diags)).collect());
            }
            _ => diags.push(wrong_type("list", "a list of rules", node)),
        }
    }
    if let Some(entries) = r.map("fields", diags) {
        op.fields = Some(decode_fields(entries, diags));
    }
    if let Some(node) = r.node("to_object") {
        op.to_object = decode_to_object(node, diags);
    }
    if let Some(node) = r.node("lookup") {
        op.lookup = match &node.value {
            NodeValue::Str(name) => Some(LookupDecl::Named(name.clone(), node.span.clone())),
            NodeValue::Map(_) => {
                decode_table(format!("{target} (inline)"), node.span.clone(), node, diags).map(LookupDecl::Inline)
            }
            _ => {
                diags.push(wrong_type("lookup", "a table name or a mapping of entries", node));
                None
            }
        };
    }
    for (key, node) in [("value", &op.value), ("default", &op.default)] {
        if let Some(null) = node.as_ref().and_then(Node::find_null) {
            diags.push(
                Diagnostic::new(ErrorKind::InvalidValue {
                    key: key.into(),
                    reason: "null is never emitted in OCSF".into(),
                })
                .at(null.span.clone())
                .help("leave the attribute out instead"),
            );
        }
    }
    check_sources(&r, &context, diags);
    Some(op)
}

/// At most one source per rule; `fields` goes with `each` or alone.
fn check_sources(r: &MapReader, context: &str, diags: &mut Diagnostics) {
    let present: Vec<(&str, &Span)> =
        SOURCE_KEYS.iter().filter_map(|k| r.entry(k).map(|(key, _)| (*k, &key.span))).collect();
    let conflicting = present.iter().filter(|(k, _)| !(*k == "fields" && r.has("each"))).collect::<Vec<_>>();
    if conflicting.len() > 1 {
        let (first, _) = conflicting[0];
        let (second, span) = conflicting[1];
        diags.push(
            Diagnostic::new(ErrorKind::ConflictingKeys {
                first: first.to_string(),
                second: second.to_string(),
                context: context.into(),
            })
            .at((*span).clone())
            .help("a rule takes its value from one source; list several rules to try them in order"),
        );
    }
    if r.has("each") && !r.has("fields") {
        diags.push(r.missing("fields").help("`each` builds one object per list element from `fields`"));
    }
}

fn decode_to_object(node: &Node, diags: &mut Diagnostics) -> Option<ToObjectDecl> {
    let r = MapReader::new(node, "`to_object`", TO_OBJECT_KEYS, diags)?;
    let key = r.str("key", diags);
    let value = r.str("value", diags);
    if key.is_none() && !r.has("key") {
        diags.push(r.missing("key"));
    }
    if value.is_none() && !r.has("value") {
        diags.push(r.missing("value"));
    }
    Some(ToObjectDecl { key: key?.0, value: value?.0 })
}

fn decode_table(name: String, span: Span, node: &Node, diags: &mut Diagnostics) -> Option<TableDecl> {
    let NodeValue::Map(entries) = &node.value else {
        diags.push(wrong_type(&format!("tables.{name}"), "a mapping", node));
        return None;
    };
    let long_form = entries.iter().any(|(k, _)| k.name == "entries");
    let mut table = TableDecl { name, span, entries: Vec::new(), default: None, ignore_case: false };
    let entry_nodes = if long_form {
        let r = MapReader::new(node, format!("table `{}`", table.name), TABLE_KEYS, diags)?;
        table.default = r.node("default").cloned();
        table.ignore_case = r.bool("ignore_case", diags).unwrap_or(false);
        r.map("entries", diags)?
    } else {
        entries.as_slice()
    };
    for (k, v) in entry_nodes {
        if matches!(v.value, NodeValue::Null) {
            diags.push(
                Diagnostic::new(ErrorKind::InvalidValue {
                    key: k.name.clone(),
                    reason: "a table entry cannot be null".into(),
                })
                .at(v.span.clone()),
            );
            continue;
        }
        table.entries.push((k.name.clone(), k.span.clone(), v.clone()));
    }
    Some(table)
}
