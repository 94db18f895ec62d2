//! The pre-shaped event of a compiled mapping: every key the mapping can write (rule targets,
//! the derived ids and captions, caption siblings, `unmapped`, `raw_data`, provenance,
//! observables) laid out at load in key order, each rule target a slot. Per record the rules
//! fill the slots, and [`Shape::write`] derives the captions, checks the class schema and
//! writes the event's JSON in one walk. A mapping whose targets the layout cannot hold (one
//! path inside another, a target inside an open object, a `from_ocsf` reading an object the
//! rules assemble, a schema node comparing one of its objects whole) has no shape and maps
//! through the `Value` path. The class schema's check of the layout is resolved at load
//! ([`Plan`]): per record it tests entries by index, never looks a key up, and it leaves out
//! what it proved at load: the layout's constants, its captions and the mapping's own values
//! (see [`Plan::proves`]), which are also written from JSON text made once.

use super::got::Got;
use super::program::{FieldRule, Mapping, Op, Source};
use crate::json::access::Json;
use crate::ocsf::catalog::FxHashMap;
use crate::ocsf::core_schema::{Filled, Layout, Plan};
use crate::ocsf::derive::{OTHER, derive_in};
use crate::ocsf::{Attribute, AttributeSet, Class, catalog};
use serde_json::Value;
use std::collections::BTreeMap;

/// The layout of one mapping's events.
pub(crate) struct Shape {
    root: Node,
    /// Per rule of the mapping, its slot (`None` for `activity_id`, read by the root's entry).
    pub rule_slots: Vec<Option<usize>>,
    /// Per slot, its target path (rules' slots only) and the object its value's captions come
    /// from (objects and lists of objects).
    slots: Vec<SlotInfo>,
    pub slot_count: usize,
    pub observables: Option<usize>,
    pub unmapped: usize,
    /// Whether `unmapped` may be written as text straight from the record (see
    /// [`Unmapped`]): the class schema accepts any object there.
    pub unmapped_as_text: bool,
    pub raw_data: usize,
    activity: Option<usize>,
    time: Option<usize>,
    class: &'static Class,
    /// The class schema's check of this layout, resolved at load.
    plan: Plan<'static>,
    /// The root's entries of `class_name` and `type_name`.
    class_name: usize,
    type_name: usize,
    /// `type_uid` → `type_name`.
    type_names: FxHashMap<i64, Fixed>,
    /// What the schema check sees of an `unmapped` written as text: an object, which the
    /// schema accepts as it accepts any object there.
    stand_in: Value,
    /// Per OCSF path a `from_ocsf` or an observable reads, keyed by where the mapping holds it
    /// (see [`place`]): the slot it reads and how many of its segments that slot's path takes.
    reads: FxHashMap<(usize, usize), Option<(usize, usize)>>,
    /// The objects and lists the mapping holds for slots that get captions, with their
    /// captions, by slot and the address of the value a rule gives: derived once, not per
    /// record.
    with_captions: FxHashMap<(usize, usize), Value>,
    /// The mapping's values a rule may give, by slot and address: written from their JSON
    /// text, and not checked per event where the check proves them at load.
    known: FxHashMap<(usize, usize), Known>,
}

/// A value of the mapping a rule may give: its JSON text, and whether the schema check
/// accepts it in the rule's slot.
struct Known {
    json: Vec<u8>,
    proven: bool,
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shape").field("slots", &self.slot_count).finish()
    }
}

struct SlotInfo {
    path: Vec<String>,
    object: Option<&'static AttributeSet>,
}

/// One object of the layout, its entries sorted by key.
struct Node {
    entries: Vec<Entry>,
}

struct Entry {
    key: String,
    /// `"key":`, escaped once.
    quoted: Vec<u8>,
    base: Base,
    /// When this entry is an enum id: its caption sibling's entry and the captions.
    sibling: Option<(usize, FxHashMap<i64, Fixed>)>,
}

/// A constant of the layout and its JSON text, written once; `proven` when the schema check
/// accepts it wherever it stands (see [`Plan::proves`]).
struct Fixed {
    value: Value,
    json: Vec<u8>,
    proven: bool,
}

impl Fixed {
    fn new(value: Value) -> Fixed {
        let mut json = Vec::new();
        crate::json::write::value(&mut json, &value);
        Fixed { value, json, proven: false }
    }

    fn filled(&self) -> Filled<'_> {
        Filled::Written { value: &self.value, json: &self.json, proven: self.proven }
    }
}

/// What an entry holds before captions are derived.
enum Base {
    Slot(usize),
    Object(Node),
    Static(Fixed),
    /// `activity_id`: the rule's integer, else 0.
    Activity,
    TypeUid,
    TypeName,
    /// Only a caption sibling, written when its id has a caption.
    Nothing,
}

/// The event's `unmapped` as compact JSON text, written from the record without building it;
/// `plain` is false when it holds a list directly inside a list.
pub struct Unmapped<'a> {
    pub text: &'a [u8],
    pub plain: bool,
}

/// What [`Shape::write`] tells the caller about the event it wrote.
pub struct Written {
    pub time: Option<i64>,
    pub class_name: Option<String>,
    pub type_name: Option<String>,
}

/// The ids that follow from the record's activity.
struct Derived<'a> {
    activity: Value,
    type_uid: Value,
    type_name: Option<&'a Fixed>,
    /// The slot of an `unmapped` given as text, and what the check sees in its place.
    unmapped: Option<(usize, &'a Value)>,
    known: &'a FxHashMap<(usize, usize), Known>,
}

/// A tree of paths being laid out.
#[derive(Default)]
struct Tree {
    children: BTreeMap<String, (Option<&'static Attribute>, Item)>,
}

enum Item {
    Leaf(Base),
    Object(&'static AttributeSet, Tree),
}

const DERIVED_ROOT: &[&str] = &["class_uid", "class_name", "category_uid", "category_name", "type_uid", "type_name"];

impl Shape {
    /// The layout of `mapping`'s events, or `None` when it cannot hold them.
    pub fn compile(mapping: &Mapping) -> Option<Shape> {
        let class = mapping.class;
        let schema = crate::ocsf::validate::native_schema(class.uid)?;
        let cat = catalog();
        let mut slots: Vec<SlotInfo> = Vec::new();
        let mut rule_slots = Vec::new();
        let mut activity = None;
        let mut time = None;
        // Every path the event can hold, for the check that none lies inside another.
        let mut paths: Vec<Vec<String>> = DERIVED_ROOT.iter().map(|k| vec![k.to_string()]).collect();
        let mut leaves: Vec<(Vec<String>, Base)> = Vec::new();
        let mut with_captions = FxHashMap::default();
        for rule in &mapping.rules {
            let attr = resolve(&class.attrs, &rule.target).ok()?;
            let slot = slots.len();
            let object = attr.and_then(captions_of);
            if let Some(set) = object {
                derive_statics(rule, slot, set, &mut with_captions);
            }
            slots.push(SlotInfo { path: rule.target.clone(), object });
            if rule.target == ["activity_id"] {
                activity = Some(slot);
                rule_slots.push(Some(slot));
                continue;
            }
            if rule.target == ["time"] {
                time = Some(slot);
            }
            rule_slots.push(Some(slot));
            paths.push(rule.target.clone());
            leaves.push((rule.target.clone(), Base::Slot(slot)));
        }
        let rules_end = slots.len();
        let mut special = |path: &[&str], slots: &mut Vec<SlotInfo>, leaves: &mut Vec<(Vec<String>, Base)>| {
            let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            let attr = resolve(&class.attrs, &path).ok().flatten();
            let slot = slots.len();
            slots.push(SlotInfo { path: Vec::new(), object: attr.and_then(captions_of) });
            paths.push(path.clone());
            leaves.push((path, Base::Slot(slot)));
            slot
        };
        let observables = (!mapping.observables.is_empty()).then(|| special(&["observables"], &mut slots, &mut leaves));
        let unmapped = special(&["unmapped"], &mut slots, &mut leaves);
        let raw_data = special(&["raw_data"], &mut slots, &mut leaves);
        let info_path = vec!["metadata".to_string(), "transformation_info_list".to_string()];
        let mut info = Value::Array(vec![mapping.transformation.clone()]);
        if let Ok(Some(set)) = resolve(&class.attrs, &info_path).map(|a| a.and_then(captions_of)) {
            derive_in(cat, &mut info, set);
        }
        paths.push(info_path.clone());
        leaves.push((info_path, Base::Static(Fixed::new(info))));
        if paths.iter().enumerate().any(|(i, a)| paths.iter().skip(i + 1).any(|b| a.starts_with(b) || b.starts_with(a)))
        {
            return None;
        }
        // A `from_ocsf` (or an observable) may read a rule's value or a part of it, not an
        // object several rules assemble.
        let mut reads: Vec<&[String]> = mapping.observables.iter().map(|o| o.path.as_slice()).collect();
        for rule in &mapping.rules {
            rule_reads(rule, &mut reads);
        }
        let rule_paths = &slots[..rules_end];
        if reads.iter().any(|r| rule_paths.iter().any(|s| s.path.len() > r.len() && s.path.starts_with(r))) {
            return None;
        }
        let mut tree = Tree::default();
        for (path, base) in leaves {
            tree.insert(&class.attrs, &path, base)?;
        }
        let root_attr = |name: &str| class.attrs.get(name);
        for (key, base) in [
            ("activity_id", Base::Activity),
            ("class_uid", Base::Static(Fixed::new(Value::from(class.uid)))),
            ("class_name", Base::Static(Fixed::new(Value::from(class.caption())))),
            ("category_uid", Base::Static(Fixed::new(Value::from(class.category_uid)))),
            ("category_name", Base::Static(Fixed::new(Value::from(class.category_caption.as_str())))),
            ("type_uid", Base::TypeUid),
            ("type_name", Base::TypeName),
        ] {
            tree.children.insert(key.to_string(), (root_attr(key), Item::Leaf(base)));
        }
        let mut type_names: FxHashMap<i64, Fixed> =
            class.type_captions.iter().map(|(uid, c)| (*uid, Fixed::new(Value::from(c.as_str())))).collect();
        let slot_count = slots.len();
        let unmapped_as_text = schema.member_accepts_any_object("unmapped");
        let mut root = tree.into_node();
        let layout = root.layout();
        let plan = schema.plan(&layout)?;
        let reads = reads.iter().map(|r| (place(r), find_slot(&slots, r))).collect();
        let at = |key: &str| root.entries.iter().position(|e| e.key == key);
        let (class_name, type_name) = (at("class_name")?, at("type_name")?);
        // What the check proves at load: the mapping's own values of each rule (as the slot
        // holds them, captions derived), every caption, every type name.
        let given: Vec<Vec<&Value>> = (mapping.rules.iter().enumerate())
            .map(|(slot, rule)| statics(rule).map(|v| with_captions.get(&(slot, address(v))).unwrap_or(v)).collect())
            .collect();
        let mut known = FxHashMap::default();
        root.prove(&layout, &plan, &given, &mut known);
        for name in type_names.values_mut() {
            name.proven = plan.proves(&layout, type_name, &name.value);
        }
        Some(Shape {
            root,
            rule_slots,
            slots,
            slot_count,
            observables,
            unmapped,
            unmapped_as_text,
            raw_data,
            activity,
            time,
            class,
            plan,
            class_name,
            type_name,
            type_names,
            stand_in: serde_json::json!({"unmapped": true}),
            reads,
            with_captions,
            known,
        })
    }

    /// The value at `path` of the event the rules have built so far (`from_ocsf`, observables).
    pub fn read<'m, 'r, J: Json<'r>>(&self, values: &[Option<Got<'m, J>>], path: &[String]) -> Option<Got<'m, J>> {
        let (slot, depth) = match self.reads.get(&place(path)) {
            Some(found) => *found,
            None => find_slot(&self.slots, path),
        }?;
        values[slot].as_ref()?.at(&path[depth..])
    }

    /// Derives the captions of the event in `values`, checks it against the class schema
    /// (unless `validate` is false) and appends its JSON to `out`. `unmapped`, when given as
    /// text (only where [`Shape::unmapped_as_text`]), stands in the `unmapped` slot. `None`,
    /// with `out` as it was, when the check does not prove the event valid: the `Value` path
    /// then decides.
    pub fn write<'m, 'r, J: Json<'r>>(
        &'m self,
        values: &mut [Option<Got<'m, J>>],
        unmapped: Option<&Unmapped<'_>>,
        validate: bool,
        out: &mut Vec<u8>,
    ) -> Option<Written> {
        let cat = catalog();
        for (slot, (value, info)) in values.iter_mut().zip(&self.slots).enumerate() {
            let Some(value) = value else { continue };
            if let Got::Static(v) = value
                && let Some(derived) = self.with_captions.get(&(slot, address(v)))
            {
                *value = Got::Static(derived);
                continue;
            }
            if let Some(owned) = value.settle(info.object.is_some())
                && let Some(set) = info.object
            {
                derive_in(cat, owned, set);
            }
        }
        let values: &[Option<Got<'m, J>>] = values;
        let activity = self.activity.and_then(|s| values[s].as_ref()).and_then(Got::as_i64).unwrap_or(0);
        let type_uid = self.class.uid * 100 + activity;
        let derived = Derived {
            activity: activity.into(),
            type_uid: type_uid.into(),
            type_name: self.type_names.get(&type_uid),
            unmapped: unmapped.map(|_| (self.unmapped, &self.stand_in)),
            known: &self.known,
        };
        let fields = build(&self.root, values, &derived);
        let unmapped_plain = unmapped.is_none_or(|u| u.plain);
        if validate && !(self.plan.is_valid(&fields) && plain(&fields) && unmapped_plain) {
            return None;
        }
        let text = unmapped.map(|u| (self.unmapped, u.text));
        write_object(&self.root, &fields, text, out);
        let text = |at: usize| match &fields[at] {
            Some(Filled::Str { text, .. }) => Some(text.to_string()),
            Some(filled) => filled.value().and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        Some(Written {
            time: self.time.and_then(|s| values[s].as_ref()).and_then(Got::as_i64),
            class_name: text(self.class_name),
            type_name: text(self.type_name),
        })
    }
}

/// Where a path of the mapping lies (it stays there as long as the mapping): a key that is
/// one probe to look up. Any other path is read by [`find_slot`].
fn place(path: &[String]) -> (usize, usize) {
    (path.as_ptr() as usize, path.len())
}

/// Where a value lies, to find what was derived from it.
fn address(v: &Value) -> usize {
    std::ptr::from_ref(v) as usize
}

/// The objects and lists `rule` may give as they are (literals, tables' entries, defaults),
/// with the captions of `set` derived, by `slot` and their address.
fn derive_statics(
    rule: &FieldRule,
    slot: usize,
    set: &'static AttributeSet,
    out: &mut FxHashMap<(usize, usize), Value>,
) {
    for v in statics(rule).filter(|v| v.is_object() || v.is_array()) {
        let mut derived = v.clone();
        derive_in(catalog(), &mut derived, set);
        out.insert((slot, address(v)), derived);
    }
}

/// The values of the mapping that `rule` may give as they are: literals, tables' entries and
/// defaults.
fn statics(rule: &FieldRule) -> impl Iterator<Item = &Value> {
    rule.alts.iter().flat_map(|op| {
        let table = op.lookup.iter().flat_map(|t| t.entries.values().chain(&t.default));
        let literal = match &op.source {
            Source::Value(v) => Some(v),
            _ => None,
        };
        literal.into_iter().chain(&op.default).chain(table)
    })
}

/// The rule's slot whose target `path` is or lies in, and the length of that target.
fn find_slot(slots: &[SlotInfo], path: &[String]) -> Option<(usize, usize)> {
    let (slot, info) = slots.iter().enumerate().find(|(_, s)| !s.path.is_empty() && path.starts_with(&s.path))?;
    Some((slot, info.path.len()))
}

/// The attribute at `path`: `Err` when the path passes through something that is not a known,
/// closed, single object (such targets have no place in a layout); `Ok(None)` for a last
/// segment the class does not know.
fn resolve(set: &'static AttributeSet, path: &[String]) -> Result<Option<&'static Attribute>, ()> {
    let (last, parents) = path.split_last().ok_or(())?;
    let mut cur = set;
    for p in parents {
        let a = cur.get(p).ok_or(())?;
        if a.is_open() || a.is_array {
            return Err(());
        }
        cur = catalog().object_of(a).ok_or(())?;
    }
    Ok(cur.get(last))
}

/// The object whose captions a value of `attr` gets (what [`crate::ocsf::derive::derive_siblings`] recurses into).
fn captions_of(attr: &'static Attribute) -> Option<&'static AttributeSet> {
    if (attr.sibling.is_some() && attr.enum_captions.is_some()) || attr.is_open() {
        return None;
    }
    catalog().object_of(attr)
}

/// The OCSF paths a rule reads with `from_ocsf`, at any depth.
fn rule_reads<'m>(rule: &'m FieldRule, reads: &mut Vec<&'m [String]>) {
    for op in &rule.alts {
        op_reads(op, reads);
    }
}

fn op_reads<'m>(op: &'m Op, reads: &mut Vec<&'m [String]>) {
    match &op.source {
        Source::FromOcsf(path) => reads.push(path),
        Source::List(items) => items.iter().flatten().for_each(|op| op_reads(op, reads)),
        Source::Object(fields) | Source::Each(_, fields) => fields.iter().for_each(|r| rule_reads(r, reads)),
        Source::From(_) | Source::Value(_) | Source::Template(_) => {}
    }
}

impl Tree {
    fn insert(&mut self, set: &'static AttributeSet, path: &[String], base: Base) -> Option<()> {
        let (first, rest) = path.split_first()?;
        let attr = set.get(first);
        if rest.is_empty() {
            self.children.insert(first.clone(), (attr, Item::Leaf(base)));
            return Some(());
        }
        let object = catalog().object_of(attr?)?;
        let entry = self.children.entry(first.clone()).or_insert_with(|| (attr, Item::Object(object, Tree::default())));
        match &mut entry.1 {
            Item::Object(object, tree) => tree.insert(object, rest, base),
            Item::Leaf(_) => None,
        }
    }

    fn into_node(self) -> Node {
        let mut children = self.children;
        // Every enum id gets its caption sibling's place.
        let siblings: Vec<(String, Option<&'static Attribute>)> = children
            .values()
            .filter_map(|(attr, _)| attr.as_ref()?.sibling.clone())
            .filter(|s| !children.contains_key(s))
            .map(|s| (s, None))
            .collect();
        for (s, attr) in siblings {
            children.insert(s, (attr, Item::Leaf(Base::Nothing)));
        }
        let keys: Vec<String> = children.keys().cloned().collect();
        let entries = children
            .into_iter()
            .map(|(key, (attr, item))| {
                let sibling = attr.and_then(|a| {
                    let (sibling, captions) = (a.sibling.as_ref()?, a.enum_captions.as_ref()?);
                    let at = keys.binary_search(sibling).ok()?;
                    Some((at, captions.iter().map(|(id, c)| (*id, Fixed::new(Value::from(c.as_str())))).collect()))
                });
                let base = match item {
                    Item::Leaf(base) => base,
                    Item::Object(_, tree) => Base::Object(tree.into_node()),
                };
                let mut quoted = serde_json::to_vec(&key).expect("a key serializes");
                quoted.push(b':');
                Entry { key, quoted, base, sibling }
            })
            .collect();
        Node { entries }
    }
}

impl Node {
    /// Marks what `plan` proves of this object (laid out as `layout`): the captions, and in
    /// `known` the values `given` per slot, with their JSON text.
    fn prove(
        &mut self,
        layout: &Layout,
        plan: &Plan<'_>,
        given: &[Vec<&Value>],
        known: &mut FxHashMap<(usize, usize), Known>,
    ) {
        for (i, entry) in self.entries.iter_mut().enumerate() {
            if let Some((at, captions)) = &mut entry.sibling {
                for caption in captions.values_mut() {
                    caption.proven = plan.proves(layout, *at, &caption.value);
                }
            }
            match (&mut entry.base, &layout.keys[i].1) {
                (Base::Slot(slot), _) => {
                    for v in given.get(*slot).into_iter().flatten() {
                        let mut json = Vec::new();
                        crate::json::write::value(&mut json, v);
                        known.insert((*slot, address(v)), Known { json, proven: plan.proves(layout, i, v) });
                    }
                }
                (Base::Object(child), Some(inner)) => child.prove(inner, plan, given, known),
                _ => {}
            }
        }
    }

    /// The keys the plan of the schema check is resolved against.
    fn layout(&self) -> Layout {
        let keys = self.entries.iter().map(|e| {
            let child = match &e.base {
                Base::Object(child) => Some(child.layout()),
                _ => None,
            };
            (e.key.clone(), child)
        });
        // A constant is what every event holds there, unless a caption may take its place.
        let captioned: Vec<usize> = self.entries.iter().filter_map(|e| e.sibling.as_ref().map(|(at, _)| *at)).collect();
        let fixed = self.entries.iter().enumerate().map(|(i, e)| match &e.base {
            Base::Static(fixed) if !captioned.contains(&i) => Some(fixed.value.clone()),
            _ => None,
        });
        Layout { keys: keys.collect(), fixed: fixed.collect() }
    }
}

/// The fields of `node`, one place per entry, with captions derived as
/// [`crate::ocsf::derive::derive_siblings`] derives them; an object with nothing in it is absent.
fn build<'a, 'r: 'a, J: Json<'r>>(
    node: &'a Node,
    values: &'a [Option<Got<'_, J>>],
    derived: &'a Derived<'a>,
) -> Vec<Option<Filled<'a>>> {
    let mut fields: Vec<Option<Filled<'a>>> = node
        .entries
        .iter()
        .map(|e| match &e.base {
            Base::Slot(i) => match derived.unmapped {
                Some((slot, stand_in)) if slot == *i => Some(Filled::Value(stand_in)),
                _ => values[*i].as_ref().map(|got| match got {
                    Got::Static(v) => match derived.known.get(&(*i, address(v))) {
                        Some(k) => Filled::Written { value: v, json: &k.json, proven: k.proven },
                        None => got.filled(),
                    },
                    other => other.filled(),
                }),
            },
            Base::Object(child) => {
                let f = build(child, values, derived);
                f.iter().any(Option::is_some).then_some(Filled::Object(f))
            }
            Base::Static(fixed) => Some(fixed.filled()),
            Base::Activity => Some(Filled::Value(&derived.activity)),
            Base::TypeUid => Some(Filled::Value(&derived.type_uid)),
            Base::TypeName => derived.type_name.map(Fixed::filled),
            Base::Nothing => None,
        })
        .collect();
    for (i, entry) in node.entries.iter().enumerate() {
        let Some((at, captions)) = &entry.sibling else { continue };
        let Some(v) = fields[i].as_ref().and_then(Filled::value) else { continue };
        let Some(id) = v.as_i64() else { continue };
        let Some(caption) = captions.get(&id) else { continue };
        let has_label = match &fields[*at] {
            Some(Filled::Str { text, .. }) => !text.is_empty(),
            Some(filled) => filled.value().and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
            None => false,
        };
        if !(id == OTHER && has_label) {
            fields[*at] = Some(caption.filled());
        }
    }
    fields
}

/// No `null`, no empty object, no list directly in a list (laid-out objects are never empty).
fn plain(fields: &[Option<Filled<'_>>]) -> bool {
    fields.iter().flatten().all(|f| match f {
        Filled::Value(v) | Filled::Written { value: v, proven: false, .. } => crate::ocsf::validate::plain(v),
        Filled::Str { .. } | Filled::Written { proven: true, .. } => true,
        Filled::Object(inner) => plain(inner),
    })
}

/// Writes the object of `node` with `fields`; the slot of `unmapped`, when given as text, gets
/// that text.
fn write_object(node: &Node, fields: &[Option<Filled<'_>>], unmapped: Option<(usize, &[u8])>, out: &mut Vec<u8>) {
    out.push(b'{');
    let present = node.entries.iter().zip(fields).filter_map(|(e, f)| Some((e, f.as_ref()?)));
    for (n, (entry, field)) in present.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&entry.quoted);
        match (field, &entry.base) {
            (Filled::Object(inner), Base::Object(child)) => write_object(child, inner, unmapped, out),
            (Filled::Value(_), Base::Slot(i)) if unmapped.is_some_and(|(slot, _)| slot == *i) => {
                out.extend_from_slice(unmapped.map_or(&[][..], |(_, text)| text));
            }
            (Filled::Value(v), _) => crate::json::write::value(out, v),
            (Filled::Written { json, .. }, _) => out.extend_from_slice(json),
            (Filled::Str { text, plain: true }, _) => {
                out.push(b'"');
                out.extend_from_slice(text.as_bytes());
                out.push(b'"');
            }
            (Filled::Str { text, plain: false }, _) => crate::json::write::string(out, text),
            (Filled::Object(_), _) => unreachable!("only laid-out objects are objects"),
        }
    }
    out.push(b'}');
}
