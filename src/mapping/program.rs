//! Compiled mappings and how they run: per record, only key lookups, table lookups and
//! pre-compiled templates. Produces the OCSF fields and the list of record locations consumed.

use super::coerce::Coerce;
use super::got::Got;
use super::path::{Consumed, Seg, SourcePath, is_present, lookup};
use super::shape::Shape;
use super::template::{TemplateId, Templates, context};
use crate::json::access::Json;
use crate::ocsf::catalog::FxHashMap;
use crate::ocsf::{Attribute, Class};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// One compiled mapping: what it matches and how it builds the event.
#[derive(Debug)]
pub struct Mapping {
    /// The file's path below the mapping root, without `.yaml`.
    pub name: String,
    pub file: std::path::PathBuf,
    /// The mapping's own file, for diagnostics about the mapping as a whole.
    pub(crate) source: Arc<crate::diagnostic::SourceFile>,
    pub class: &'static Class,
    pub fallback: bool,
    /// Record field → accepted values (any of).
    pub matchers: Vec<(String, Vec<String>)>,
    pub(crate) rules: Vec<FieldRule>,
    pub(crate) observables: Vec<Observable>,
    /// This mapping's entry of `metadata.transformation_info_list` (name and content hash).
    pub transformation: Value,
    /// The layout of its events, when one can hold them (see [`Shape`]).
    pub(crate) shape: Option<Shape>,
}

/// Sets one OCSF field: the first alternative that gives a value wins.
#[derive(Debug)]
pub(crate) struct FieldRule {
    pub target: Vec<String>,
    pub alts: Vec<Op>,
    /// For enum id fields, the attribute whose captions translate words into ids at run time.
    pub enum_attr: Option<&'static Attribute>,
    /// The lines of the mapping files that wrote this rule (for `engine explain`).
    pub origins: Vec<crate::diagnostic::Span>,
}

#[derive(Debug)]
pub(crate) struct Op {
    pub when: Option<TemplateId>,
    pub source: Source,
    pub to_object: Option<(String, String)>,
    pub lookup: Option<Arc<Table>>,
    pub coerce: Option<Coerce>,
    pub default: Option<Value>,
}

#[derive(Debug)]
pub(crate) enum Source {
    From(Vec<SourcePath>),
    Value(Value),
    Template(TemplateId),
    FromOcsf(Vec<String>),
    List(Vec<Vec<Op>>),
    Object(Vec<FieldRule>),
    Each(SourcePath, Vec<FieldRule>),
}

/// A compiled lookup table. With `ignore_case`, keys are stored upper-cased.
#[derive(Debug)]
pub(crate) struct Table {
    pub entries: FxHashMap<String, Value>,
    pub default: Option<Value>,
    pub ignore_case: bool,
}

impl Table {
    /// `Some(Ok(v))` on a hit, `Some(Err(v))` when the miss falls back to the table's default.
    /// `key` is the value's text (see [`Got::key_text`]): `None` for a list, an object or `null`.
    fn get(&self, key: Option<&str>) -> Option<Result<&Value, &Value>> {
        let Some(text) = key else { return self.default.as_ref().map(Err) };
        let hit = if self.ignore_case { self.entries.get(&text.to_uppercase()) } else { self.entries.get(text) };
        match hit {
            Some(v) => Some(Ok(v)),
            None => self.default.as_ref().map(Err),
        }
    }
}

/// An observable derived from an OCSF field the mapping set.
#[derive(Debug)]
pub(crate) struct Observable {
    pub path: Vec<String>,
    pub name: String,
    pub type_id: i64,
    /// Where the mapping lists it.
    pub origin: crate::diagnostic::Span,
}

/// The state of one record's mapping, read through `J`: the record's `Value`, or a
/// [`crate::json::doc::Doc`] over its text.
pub(crate) struct Run<'m, 'r, J> {
    pub templates: &'m Templates,
    pub record: J,
    /// The record as a `Value`, for what only reads one (JSONPath, minijinja): given, or made
    /// from `record` when first needed.
    whole: Option<Arc<Value>>,
    ctx: Option<minijinja::Value>,
    pub consumed: Consumed<'m>,
    /// For consumed paths of one key: (index in `consumed`, the id of the record's member).
    pub members: Vec<(usize, usize)>,
    pub out: Map<String, Value>,
    /// Values that were present but did not convert (`as:`), reported if the event is invalid.
    pub notes: Vec<String>,
    /// With `engine explain`: the index of every rule that gave a value.
    pub produced: Option<Vec<usize>>,
    /// For a mapping with a layout: the layout and its slots, filled instead of `out`.
    pub shaped: Option<(&'m Shape, Vec<Option<Got<'m, J>>>)>,
    _record: std::marker::PhantomData<&'r ()>,
}

/// Where `from` paths point: the record (consumption tracked), a list element of `each`, or
/// an element of a list a JSONPath `each` gave.
#[derive(Clone, Copy)]
enum Scope<'s, J> {
    Record,
    Item(J),
    Made(&'s Value),
}

/// Calls a function generic over [`Json`] with the value a scope reads.
macro_rules! in_scope {
    ($run:expr, $scope:expr, |$root:ident| $body:expr) => {
        match $scope {
            Scope::Record => {
                let $root = $run.record;
                $body
            }
            Scope::Item($root) => $body,
            Scope::Made($root) => $body,
        }
    };
}

impl<'m, 'r, J: Json<'r>> Run<'m, 'r, J> {
    /// A run over `record`; `whole` is the record as a `Value` when the caller has it.
    pub fn new(templates: &'m Templates, record: J, whole: Option<Arc<Value>>) -> Self {
        Self {
            templates,
            record,
            whole,
            ctx: None,
            // A record's rules consume a few dozen locations: room for them from the start.
            consumed: Vec::with_capacity(32),
            members: Vec::with_capacity(32),
            out: Map::new(),
            notes: Vec::new(),
            produced: None,
            shaped: None,
            _record: std::marker::PhantomData,
        }
    }

    /// Records that the rules took `segs` of the record, where they found `found`.
    fn consume(&mut self, segs: &'m [Seg], found: J) {
        if let [Seg::Key(_)] = segs {
            self.members.push((self.consumed.len(), found.id()));
        }
        self.consumed.push(Cow::Borrowed(segs));
    }

    /// Takes back what was consumed from `mark` on.
    fn unconsume(&mut self, mark: usize) {
        self.consumed.truncate(mark);
        while self.members.last().is_some_and(|(at, _)| *at >= mark) {
            self.members.pop();
        }
    }

    /// The record as a `Value`.
    fn whole(&mut self) -> Arc<Value> {
        let record = self.record;
        Arc::clone(self.whole.get_or_insert_with(|| Arc::new(record.to_value())))
    }

    /// Applies every rule of `mapping`, then its observables.
    pub fn apply(&mut self, mapping: &'m Mapping) {
        for (i, rule) in mapping.rules.iter().enumerate() {
            if let Some(v) = self.eval_rule(rule, Scope::Record) {
                match &mut self.shaped {
                    Some((shape, values)) => {
                        if let Some(slot) = shape.rule_slots[i] {
                            values[slot] = Some(v);
                        }
                    }
                    None => insert_path(&mut self.out, &rule.target, v.into_value()),
                }
                if let Some(produced) = &mut self.produced {
                    produced.push(i);
                }
            }
        }
        let mut observables = Vec::new();
        for obs in &mapping.observables {
            let value = self.ocsf(&obs.path).and_then(|v| v.scalar_text());
            if let Some(value) = value {
                observables.push(serde_json::json!({"name": obs.name, "type_id": obs.type_id, "value": value}));
            }
        }
        if !observables.is_empty() {
            let observables = Value::Array(observables);
            match &mut self.shaped {
                Some((shape, values)) => {
                    if let Some(slot) = shape.observables {
                        values[slot] = Some(Got::Owned(observables));
                    }
                }
                None => {
                    self.out.insert("observables".into(), observables);
                }
            }
        }
    }

    /// The value at an OCSF path of the event built so far.
    fn ocsf(&self, path: &[String]) -> Option<Got<'m, J>> {
        match &self.shaped {
            Some((shape, values)) => shape.read(values, path),
            None => lookup_out(&self.out, path).cloned().map(Got::Owned),
        }
    }

    fn eval_rule(&mut self, rule: &'m FieldRule, scope: Scope<'_, J>) -> Option<Got<'m, J>> {
        let value = rule.alts.iter().find_map(|op| self.eval_op(op, scope))?;
        let id = match (rule.enum_attr, value.as_str()) {
            (Some(attr), Some(s)) => attr.enum_id(s).or_else(|| s.trim().parse().ok()),
            _ => None,
        };
        Some(match id {
            Some(id) => Got::Owned(Value::from(id)),
            None => value,
        })
    }

    fn eval_op(&mut self, op: &'m Op, scope: Scope<'_, J>) -> Option<Got<'m, J>> {
        if let Some(cond) = &op.when
            && !self.is_true(cond, scope)
        {
            return None;
        }
        let mark = self.consumed.len();
        let produced = self.eval_source(&op.source, scope).and_then(|v| self.modify(op, v, mark));
        match produced {
            Some(v) => Some(v),
            None => {
                self.unconsume(mark);
                op.default.as_ref().map(Got::Static)
            }
        }
    }

    /// `to_object`, `lookup` and `as`, in that order.
    fn modify(&mut self, op: &'m Op, mut v: Got<'m, J>, mark: usize) -> Option<Got<'m, J>> {
        if let Some((key, value)) = &op.to_object {
            let made = match &v {
                Got::Rec(list) => to_object(*list, key, value),
                Got::Static(list) => to_object(*list, key, value),
                Got::Owned(list) => to_object(list, key, value),
            };
            v = Got::Owned(made?);
        }
        if let Some(table) = &op.lookup {
            let found = table.get(v.key_text().as_deref())?;
            v = match found {
                Ok(hit) => Got::Static(hit),
                Err(fallback) => {
                    // The source value was not recognised: it stays in `unmapped`.
                    self.unconsume(mark);
                    Got::Static(fallback)
                }
            };
        }
        if let Some(coerce) = op.coerce {
            let converted = match v.as_str() {
                // A string that is its own canonical form stays where it lies.
                Some(s) if coerce.keeps(s) => Some(None),
                Some(s) => coerce.apply_str(s).map(Some),
                None => coerce.apply(&v.value()).map(Some),
            };
            match converted {
                Some(Some(made)) => v = Got::Owned(made),
                Some(None) => {}
                None => {
                    self.notes.push(format!("{} is not a valid {}", v.value(), coerce.name()));
                    return None;
                }
            }
        }
        Some(v).filter(Got::is_present)
    }

    /// The value of a `from` path: a dotted path read through `J`, a JSONPath on the `Value`.
    fn read_path(&mut self, path: &'m SourcePath, scope: Scope<'_, J>) -> Option<Got<'m, J>> {
        let mut ignored = Vec::new();
        match (path, scope) {
            (SourcePath::Dotted(segs), Scope::Made(item)) => {
                lookup(item, segs).filter(|v| is_present(*v)).map(|v| Got::Owned(v.clone()))
            }
            (SourcePath::Dotted(segs), Scope::Item(item)) => {
                lookup(item, segs).filter(|v| is_present(*v)).map(Got::Rec)
            }
            (SourcePath::Dotted(segs), Scope::Record) => {
                let found = lookup(self.record, segs).filter(|v| is_present(*v))?;
                self.consume(segs, found);
                Some(Got::Rec(found))
            }
            (SourcePath::Json(_), Scope::Record) => {
                let record = match self.record.as_value() {
                    Some(v) => return path.get(v, &mut self.consumed).map(Got::Owned),
                    None => self.whole(),
                };
                path.get(&record, &mut self.consumed).map(Got::Owned)
            }
            (SourcePath::Json(_), Scope::Item(item)) => path.get(&item.to_value(), &mut ignored).map(Got::Owned),
            (SourcePath::Json(_), Scope::Made(item)) => path.get(item, &mut ignored).map(Got::Owned),
        }
    }

    fn eval_source(&mut self, source: &'m Source, scope: Scope<'_, J>) -> Option<Got<'m, J>> {
        match source {
            Source::Value(v) => Some(Got::Static(v)),
            Source::From(paths) => paths.iter().find_map(|p| self.read_path(p, scope)),
            Source::Template(id) => {
                let rendered = match in_scope!(self, scope, |root| Templates::render_native(id, root)) {
                    Some(text) => text,
                    None => {
                        let ctx = self.context(scope);
                        self.templates.render(id, &ctx).ok()?
                    }
                };
                let trimmed = rendered.trim();
                (!trimmed.is_empty()).then(|| Got::Owned(Value::String(trimmed.to_string())))
            }
            Source::FromOcsf(path) => self.ocsf(path),
            Source::List(items) => {
                let values: Vec<Value> = items
                    .iter()
                    .filter_map(|alts| alts.iter().find_map(|op| self.eval_op(op, scope)))
                    .map(Got::into_value)
                    .collect();
                (!values.is_empty()).then_some(Got::Owned(Value::Array(values)))
            }
            Source::Object(fields) => self.eval_object(fields, scope).map(Got::Owned),
            Source::Each(path, fields) => {
                if let SourcePath::Dotted(segs) = path
                    && !matches!(scope, Scope::Made(_))
                {
                    let root = match scope {
                        Scope::Item(item) => item,
                        _ => self.record,
                    };
                    let list = lookup(root, segs).filter(|v| is_present(*v))?;
                    if matches!(scope, Scope::Record) {
                        self.consume(segs, list);
                    }
                    let items: Vec<Value> = if list.is_array() {
                        list.elements().filter_map(|item| self.eval_object(fields, Scope::Item(item))).collect()
                    } else {
                        self.eval_object(fields, Scope::Item(list)).into_iter().collect()
                    };
                    return (!items.is_empty()).then_some(Got::Owned(Value::Array(items)));
                }
                let list = self.read_path(path, scope)?.into_value();
                let items: Vec<Value> = match &list {
                    Value::Array(items) => {
                        items.iter().filter_map(|item| self.eval_object(fields, Scope::Made(item))).collect()
                    }
                    other => self.eval_object(fields, Scope::Made(other)).into_iter().collect(),
                };
                (!items.is_empty()).then_some(Got::Owned(Value::Array(items)))
            }
        }
    }

    /// The object of a `fields:` rule, made for this record.
    fn eval_object(&mut self, fields: &'m [FieldRule], scope: Scope<'_, J>) -> Option<Value> {
        let mut obj = Map::new();
        for rule in fields {
            if let Some(v) = self.eval_rule(rule, scope) {
                insert_path(&mut obj, &rule.target, v.into_value());
            }
        }
        (!obj.is_empty()).then_some(Value::Object(obj))
    }

    /// The minijinja context of a scope.
    fn context(&mut self, scope: Scope<'_, J>) -> minijinja::Value {
        match scope {
            Scope::Record => {
                if self.ctx.is_none() {
                    let whole = self.whole();
                    self.ctx = Some(context(&whole));
                }
                self.ctx.clone().expect("set above")
            }
            Scope::Item(item) => context(&Arc::new(item.to_value())),
            Scope::Made(item) => context(&Arc::new(item.clone())),
        }
    }

    fn is_true(&mut self, cond: &'m TemplateId, scope: Scope<'_, J>) -> bool {
        if let Some(answer) = in_scope!(self, scope, |root| Templates::is_true_native(cond, root)) {
            return answer;
        }
        let ctx = self.context(scope);
        self.templates.is_true(cond, &ctx).unwrap_or(false)
    }
}

/// `[{key: k, value: v}, …]` → `{k: v, …}`; elements without a key or value are skipped.
fn to_object<'a, J: Json<'a>>(list: J, key: &str, value: &str) -> Option<Value> {
    if !list.is_array() {
        return None;
    }
    let mut obj = Map::new();
    for item in list.elements() {
        let k = item.get(key).and_then(|k| match k.as_str() {
            Some(s) => (!s.is_empty()).then(|| s.to_string()),
            None => k.number_text().map(Cow::into_owned),
        });
        if let (Some(k), Some(v)) = (k, item.get(value).filter(|v| is_present(*v))) {
            obj.insert(k, v.to_value());
        }
    }
    (!obj.is_empty()).then_some(Value::Object(obj))
}

/// Sets `value` at `path`, creating objects on the way; merges into an existing object.
pub(crate) fn insert_path(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = map;
    for p in parents {
        // The key is cloned only when the object is new.
        if !cur.contains_key(p) {
            cur.insert(p.clone(), Value::Object(Map::new()));
        }
        let Some(Value::Object(next)) = cur.get_mut(p) else { return };
        cur = next;
    }
    match (cur.get_mut(last), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
        (_, value) => {
            cur.insert(last.clone(), value);
        }
    }
}

fn lookup_out<'a>(map: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = map.get(first)?;
    for p in rest {
        v = v.get(p)?;
    }
    Some(v)
}
