//! The class core JSON Schemas compiled once into a native checker: the keywords the bundled
//! OCSF 1.5.0 schemas use (`type`, `required`, `properties`, `additionalProperties`, `$ref`,
//! `enum`, `const`, `items`, `anyOf`, `allOf`, `if`/`then`/`else`, `pattern`, `maxLength`,
//! `minimum`, `maximum`), with the verdicts of the `jsonschema` crate, which stays the source of
//! the error messages. A schema using any other keyword does not compile.

mod plan;

pub use plan::{Filled, Layout, Plan};

use super::catalog::FxHashMap;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Keywords that carry no assertion.
const ANNOTATIONS: &[&str] = &["title", "description", "deprecated", "$comment", "$schema", "$id", "$defs"];

/// A compiled schema: nodes in an arena, `$ref`s resolved to indexes.
pub struct CoreSchema {
    nodes: Vec<Node>,
    /// One `jsonschema` validator per distinct `pattern`, so that patterns match exactly as the
    /// crate matches them (ECMA-262 translated to Rust regexes).
    patterns: Vec<jsonschema::Validator>,
}

/// Why a schema did not compile.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("unsupported keyword `{keyword}` at {at}")]
    Unsupported { keyword: String, at: String },
    #[error("malformed `{keyword}` at {at}")]
    Malformed { keyword: String, at: String },
    #[error("unresolvable `$ref` {target} at {at}")]
    Ref { target: String, at: String },
    #[error("pattern `{pattern}` does not compile: {reason}")]
    Pattern { pattern: String, reason: String },
}

#[derive(Default)]
struct Node {
    types: Option<u8>,
    required: Vec<String>,
    properties: Option<FxHashMap<String, usize>>,
    /// `additionalProperties`: `None` allows anything.
    additional: Option<Additional>,
    reference: Option<usize>,
    enumeration: Option<Vec<Value>>,
    /// The `enum` sorted, when every value of it is an integer (the enum ids): an integer is
    /// looked up by binary search.
    enum_ints: Option<Vec<i64>>,
    constant: Option<Value>,
    items: Option<usize>,
    any_of: Vec<usize>,
    all_of: Vec<usize>,
    if_then_else: Option<(usize, Option<usize>, Option<usize>)>,
    pattern: Option<usize>,
    max_length: Option<u64>,
    minimum: Option<Number>,
    maximum: Option<Number>,
    /// `allOf` of `if {key: const} then …` items, as the schemas write one per activity: the
    /// key looked up once, then compared with each constant (what `allOf` would do, item by
    /// item, with a look-up each).
    switch: Option<Switch>,
}

struct Switch {
    key: String,
    cases: Vec<(Value, Option<usize>)>,
}

enum Additional {
    Forbidden,
    Schema(usize),
}

const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const OBJECT: u8 = 4;
const ARRAY: u8 = 8;
const NUMBER: u8 = 16;
const INTEGER: u8 = 32;
const STRING: u8 = 64;

fn type_bit(name: &str) -> Option<u8> {
    Some(match name {
        "null" => NULL,
        "boolean" => BOOLEAN,
        "object" => OBJECT,
        "array" => ARRAY,
        "number" => NUMBER,
        "integer" => INTEGER,
        "string" => STRING,
        _ => return None,
    })
}

struct Compiler<'s> {
    root: &'s Value,
    nodes: Vec<Node>,
    defs: HashMap<String, usize>,
    patterns: Vec<(String, jsonschema::Validator)>,
}

impl CoreSchema {
    /// Compiles a schema whose `$ref`s point into its own `#/$defs/`.
    pub fn compile(schema: &Value) -> Result<CoreSchema, SchemaError> {
        let mut c = Compiler { root: schema, nodes: Vec::new(), defs: HashMap::new(), patterns: Vec::new() };
        c.node(schema, "#")?;
        let mut nodes = c.nodes;
        for i in 0..nodes.len() {
            if let Some(switch) = switch_of(&nodes, &nodes[i].all_of) {
                nodes[i].all_of.clear();
                nodes[i].switch = Some(switch);
            }
        }
        Ok(CoreSchema { nodes, patterns: c.patterns.into_iter().map(|(_, v)| v).collect() })
    }

    /// Whether `instance` is valid.
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.check(0, instance)
    }

    fn check(&self, index: usize, v: &Value) -> bool {
        let node = &self.nodes[index];
        if let Some(types) = node.types
            && !has_type(types, v)
        {
            return false;
        }
        if let Some(r) = node.reference
            && !self.check(r, v)
        {
            return false;
        }
        match v {
            Value::Object(map) => {
                if !node.required.iter().all(|k| map.contains_key(k)) {
                    return false;
                }
                if !self.object(node, map) {
                    return false;
                }
            }
            Value::Array(items) => {
                if let Some(item) = node.items
                    && !items.iter().all(|i| self.check(item, i))
                {
                    return false;
                }
            }
            Value::String(s) if !self.string(node, s, Some(v)) => return false,
            Value::Number(n) => {
                if let Some(min) = &node.minimum
                    && compare(n, min) == Some(std::cmp::Ordering::Less)
                {
                    return false;
                }
                if let Some(max) = &node.maximum
                    && compare(n, max) == Some(std::cmp::Ordering::Greater)
                {
                    return false;
                }
            }
            _ => {}
        }
        if let Some(values) = &node.enumeration
            && !match (&node.enum_ints, v.as_i64()) {
                (Some(ints), Some(i)) => ints.binary_search(&i).is_ok(),
                _ => values.iter().any(|e| equal(v, e)),
            }
        {
            return false;
        }
        if let Some(c) = &node.constant
            && !equal(v, c)
        {
            return false;
        }
        if !node.any_of.is_empty() && !node.any_of.iter().any(|&s| self.check(s, v)) {
            return false;
        }
        if !node.all_of.iter().all(|&s| self.check(s, v)) {
            return false;
        }
        if let (Some(switch), Value::Object(map)) = (&node.switch, v)
            && let Some(at) = map.get(&switch.key)
            && !switch.cases.iter().all(|(c, then)| !equal(at, c) || then.is_none_or(|t| self.check(t, v)))
        {
            return false;
        }
        if let Some((cond, then, otherwise)) = node.if_then_else {
            let branch = if self.check(cond, v) { then } else { otherwise };
            if let Some(b) = branch
                && !self.check(b, v)
            {
                return false;
            }
        }
        true
    }

    /// `maxLength` and `pattern` of `node` on the string `s` (`v`, when the caller has it as a
    /// `Value`).
    fn string(&self, node: &Node, s: &str, v: Option<&Value>) -> bool {
        if let Some(max) = node.max_length
            && s.chars().count() as u64 > max
        {
            return false;
        }
        match (node.pattern, v) {
            (None, _) => true,
            (Some(p), Some(v)) => self.patterns[p].is_valid(v),
            (Some(p), None) => self.patterns[p].is_valid(&Value::String(s.to_string())),
        }
    }

    /// [`CoreSchema::check`] of `Value::String(s)`, without the `Value`: only what applies to
    /// a string (no `required`, `properties`, `items` or activity switch).
    pub(crate) fn check_str(&self, index: usize, s: &str) -> bool {
        let node = &self.nodes[index];
        let branch = |b: Option<usize>| b.is_none_or(|b| self.check_str(b, s));
        node.types.is_none_or(|t| t & STRING != 0)
            && branch(node.reference)
            && self.string(node, s, None)
            && node.enumeration.as_ref().is_none_or(|values| values.iter().any(|e| e.as_str() == Some(s)))
            && node.constant.as_ref().is_none_or(|c| c.as_str() == Some(s))
            && (node.any_of.is_empty() || node.any_of.iter().any(|&a| self.check_str(a, s)))
            && node.all_of.iter().all(|&a| self.check_str(a, s))
            && node
                .if_then_else
                .is_none_or(|(cond, then, otherwise)| branch(if self.check_str(cond, s) { then } else { otherwise }))
    }

    fn object(&self, node: &Node, map: &Map<String, Value>) -> bool {
        match (&node.properties, &node.additional) {
            (None, None) => true,
            // Other keys are allowed: only the schema's own properties need looking at (the
            // `if` of each activity names one), from whichever side is smaller.
            (Some(props), None) if props.len() <= map.len() => {
                props.iter().all(|(k, &s)| map.get(k).is_none_or(|child| self.check(s, child)))
            }
            (Some(props), None) => {
                map.iter().all(|(k, child)| props.get(k.as_str()).is_none_or(|&s| self.check(s, child)))
            }
            (props, additional) => map.iter().all(|(k, child)| match props.as_ref().and_then(|p| p.get(k.as_str())) {
                Some(&s) => self.check(s, child),
                None => match additional {
                    None => true,
                    Some(Additional::Forbidden) => false,
                    Some(Additional::Schema(s)) => self.check(*s, child),
                },
            }),
        }
    }
}

/// A field of an object that is not (yet) a [`Value`], its objects lists of (key, field) sorted
/// by key, checked key by key. A compiled mapping's layout is checked through its [`Plan`],
/// which has those keys resolved at load.
pub enum Field<'a> {
    Value(&'a Value),
    Object(Vec<(&'a str, Field<'a>)>),
}

impl CoreSchema {
    /// [`CoreSchema::is_valid`] for an object given as sorted (key, field) pairs. `false` also
    /// where the check cannot be made on such an object (`enum` or `const` of an object); the
    /// caller then decides on the event as a [`Value`].
    pub fn is_valid_fields(&self, fields: &[(&str, Field<'_>)]) -> bool {
        self.check_fields(0, fields) == Some(true)
    }

    fn check_field(&self, index: usize, field: &Field<'_>) -> Option<bool> {
        match field {
            Field::Value(v) => Some(self.check(index, v)),
            Field::Object(fields) => self.check_fields(index, fields),
        }
    }

    /// `None` when the verdict cannot be had without a [`Value`].
    fn check_fields(&self, index: usize, fields: &[(&str, Field<'_>)]) -> Option<bool> {
        let node = &self.nodes[index];
        let get = |key: &str| fields.binary_search_by(|(k, _)| (*k).cmp(key)).ok();
        if node.enumeration.is_some() || node.constant.is_some() {
            return None;
        }
        if node.types.is_some_and(|t| t & OBJECT == 0) || !node.required.iter().all(|k| get(k).is_some()) {
            return Some(false);
        }
        if let Some(r) = node.reference
            && !self.check_fields(r, fields)?
        {
            return Some(false);
        }
        if let (Some(props), None) = (&node.properties, &node.additional)
            && props.len() <= fields.len()
        {
            // Other keys are allowed: only the schema's own properties need looking at.
            for (k, &s) in props {
                if let Some(child) = get(k)
                    && !self.check_field(s, &fields[child].1)?
                {
                    return Some(false);
                }
            }
        } else if !self.check_each(node, fields)? {
            return Some(false);
        }
        if !node.any_of.is_empty() {
            let mut any = Some(false);
            for &s in &node.any_of {
                match self.check_fields(s, fields) {
                    Some(true) => {
                        any = Some(true);
                        break;
                    }
                    Some(false) => {}
                    None => any = None,
                }
            }
            if any != Some(true) {
                return any;
            }
        }
        for &s in &node.all_of {
            if !self.check_fields(s, fields)? {
                return Some(false);
            }
        }
        if let Some(switch) = &node.switch
            && let Some(Field::Value(at)) = get(&switch.key).map(|i| &fields[i].1)
        {
            for (c, then) in &switch.cases {
                if equal(at, c)
                    && let Some(t) = then
                    && !self.check_fields(*t, fields)?
                {
                    return Some(false);
                }
            }
        }
        if let Some((cond, then, otherwise)) = node.if_then_else {
            let branch = if self.check_fields(cond, fields)? { then } else { otherwise };
            if let Some(b) = branch
                && !self.check_fields(b, fields)?
            {
                return Some(false);
            }
        }
        Some(true)
    }

    /// Every field against its property's schema, or `additionalProperties`.
    fn check_each(&self, node: &Node, fields: &[(&str, Field<'_>)]) -> Option<bool> {
        for (k, child) in fields {
            let verdict = match node.properties.as_ref().and_then(|p| p.get(*k)) {
                Some(&s) => self.check_field(s, child)?,
                None => match &node.additional {
                    None => true,
                    Some(Additional::Forbidden) => false,
                    Some(Additional::Schema(s)) => self.check_field(*s, child)?,
                },
            };
            if !verdict {
                return Some(false);
            }
        }
        Some(true)
    }
}

impl CoreSchema {
    /// Whether the verdict on an object never depends on the value of its member `key` as long
    /// as that value is an object: every schema node applied to the object (itself, its
    /// `$ref`s, `allOf`, `anyOf`, `if`/`then`/`else` and switch branches) either has no say on
    /// `key` or accepts any object there. An event laid out by a mapping can then write such a
    /// member (`unmapped`) without having it as a [`Value`].
    pub fn member_accepts_any_object(&self, key: &str) -> bool {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![0];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let node = &self.nodes[i];
            let member = match node.properties.as_ref().and_then(|p| p.get(key)) {
                Some(&s) => Some(s),
                None => match &node.additional {
                    None => None,
                    Some(Additional::Forbidden) => return false,
                    Some(Additional::Schema(s)) => Some(*s),
                },
            };
            if member.is_some_and(|s| !self.accepts_any_object(s)) {
                return false;
            }
            // `enum` and `const` compare the object whole.
            if node.enumeration.is_some() || node.constant.is_some() {
                return false;
            }
            stack.extend(node.reference);
            stack.extend(&node.any_of);
            stack.extend(&node.all_of);
            if let Some((cond, then, otherwise)) = node.if_then_else {
                stack.push(cond);
                stack.extend(then);
                stack.extend(otherwise);
            }
            if let Some(switch) = &node.switch {
                if switch.key == key {
                    return false;
                }
                stack.extend(switch.cases.iter().filter_map(|(_, then)| *then));
            }
        }
        true
    }

    /// Whether node `index` accepts every object whatever it holds.
    fn accepts_any_object(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        node.types.is_none_or(|t| t & OBJECT != 0)
            && node.required.is_empty()
            && node.properties.as_ref().is_none_or(|p| p.is_empty())
            && node.additional.is_none()
            && node.enumeration.is_none()
            && node.constant.is_none()
            && node.any_of.is_empty()
            && node.all_of.is_empty()
            && node.if_then_else.is_none()
            && node.switch.is_none()
            && node.reference.is_none_or(|r| r != index && self.accepts_any_object(r))
    }
}

/// The [`Switch`] an `allOf` amounts to, when every item is `if {properties: {key: {const}},
/// required: [key]} then …` (no `else`, nothing else) with the same key.
fn switch_of(nodes: &[Node], all_of: &[usize]) -> Option<Switch> {
    let mut key: Option<&String> = None;
    let mut cases = Vec::new();
    for &item in all_of {
        let item = &nodes[item];
        let (cond, then, None) = item.if_then_else? else { return None };
        if !bare(item, false) || item.constant.is_some() {
            return None;
        }
        let cond = &nodes[cond];
        let props = cond.properties.as_ref()?;
        let (k, &sub) = props.iter().next().filter(|_| props.len() == 1)?;
        let sub = &nodes[sub];
        let cond_is_bare = bare(cond, true) && cond.constant.is_none() && cond.if_then_else.is_none();
        if cond.required != [k.clone()] || !cond_is_bare || !bare(sub, false) || sub.if_then_else.is_some() {
            return None;
        }
        let constant = sub.constant.clone()?;
        if *key.get_or_insert(k) != k {
            return None;
        }
        cases.push((constant, then));
    }
    Some(Switch { key: key?.clone(), cases })
}

/// Whether a node asserts nothing but its `if`/`then`/`else` and `const` (checked by the
/// caller), and, with `props`, its `properties` and `required`.
fn bare(n: &Node, props: bool) -> bool {
    n.types.is_none()
        && (props || (n.required.is_empty() && n.properties.is_none()))
        && n.additional.is_none()
        && n.reference.is_none()
        && n.enumeration.is_none()
        && n.items.is_none()
        && n.any_of.is_empty()
        && n.all_of.is_empty()
        && n.pattern.is_none()
        && n.max_length.is_none()
        && n.minimum.is_none()
        && n.maximum.is_none()
        && n.switch.is_none()
}

fn has_type(types: u8, v: &Value) -> bool {
    let bits = match v {
        Value::Null => NULL,
        Value::Bool(_) => BOOLEAN,
        Value::Object(_) => OBJECT,
        Value::Array(_) => ARRAY,
        Value::String(_) => STRING,
        Value::Number(n) => {
            let integer = n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0);
            if integer { NUMBER | INTEGER } else { NUMBER }
        }
    };
    types & bits != 0
}

/// JSON Schema equality: numbers by value (`1` equals `1.0`), containers deeply.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => compare(x, y) == Some(std::cmp::Ordering::Equal),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// Compares two numbers exactly (integers as integers, a float against an integer without
/// rounding the integer).
fn compare(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => cmp_int_float(x, b.as_f64()?),
        (None, Some(y)) => cmp_int_float(y, a.as_f64()?).map(std::cmp::Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn cmp_int_float(i: i128, f: f64) -> Option<std::cmp::Ordering> {
    if f.is_nan() {
        return None;
    }
    // Every i64/u64 lies well inside ±2^127; a float past that range decides by its sign.
    if f >= 1.7e38 {
        return Some(std::cmp::Ordering::Less);
    }
    if f <= -1.7e38 {
        return Some(std::cmp::Ordering::Greater);
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i128)) {
        std::cmp::Ordering::Equal if f > whole => Some(std::cmp::Ordering::Less),
        std::cmp::Ordering::Equal if f < whole => Some(std::cmp::Ordering::Greater),
        other => Some(other),
    }
}

impl Compiler<'_> {
    fn node(&mut self, schema: &Value, at: &str) -> Result<usize, SchemaError> {
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        let node = self.build(schema, at)?;
        self.nodes[index] = node;
        Ok(index)
    }

    fn def(&mut self, target: &str, at: &str) -> Result<usize, SchemaError> {
        if let Some(&i) = self.defs.get(target) {
            return Ok(i);
        }
        let bad = || SchemaError::Ref { target: target.to_string(), at: at.to_string() };
        let name = target.strip_prefix("#/$defs/").ok_or_else(bad)?;
        let root = self.root;
        let schema = root.get("$defs").and_then(|d| d.get(name)).ok_or_else(bad)?;
        // Reserve the index before compiling, so that recursive references resolve.
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        self.defs.insert(target.to_string(), index);
        let node = self.build(schema, target)?;
        self.nodes[index] = node;
        Ok(index)
    }

    fn build(&mut self, schema: &Value, at: &str) -> Result<Node, SchemaError> {
        let malformed = |keyword: &str| SchemaError::Malformed { keyword: keyword.to_string(), at: at.to_string() };
        let Value::Object(map) = schema else { return Err(malformed("schema")) };
        let mut node = Node::default();
        for (keyword, value) in map {
            let here = format!("{at}/{keyword}");
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "type" => {
                    let names: Vec<&Value> = match value {
                        Value::Array(items) => items.iter().collect(),
                        one => vec![one],
                    };
                    let mut bits = 0;
                    for n in names {
                        bits |= n.as_str().and_then(type_bit).ok_or_else(|| malformed(keyword))?;
                    }
                    node.types = Some(bits);
                }
                "required" => {
                    let items = value.as_array().ok_or_else(|| malformed(keyword))?;
                    node.required = items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string).ok_or_else(|| malformed(keyword)))
                        .collect::<Result<_, _>>()?;
                }
                "properties" => {
                    let props = value.as_object().ok_or_else(|| malformed(keyword))?;
                    let mut compiled = FxHashMap::default();
                    for (name, sub) in props {
                        compiled.insert(name.clone(), self.node(sub, &format!("{here}/{name}"))?);
                    }
                    node.properties = Some(compiled);
                }
                "additionalProperties" => {
                    node.additional = match value {
                        Value::Bool(true) => None,
                        Value::Bool(false) => Some(Additional::Forbidden),
                        sub => Some(Additional::Schema(self.node(sub, &here)?)),
                    }
                }
                "$ref" => {
                    let target = value.as_str().ok_or_else(|| malformed(keyword))?;
                    node.reference = Some(self.def(target, &here)?);
                }
                "enum" => {
                    let values = value.as_array().ok_or_else(|| malformed(keyword))?;
                    node.enum_ints = values.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>().map(|mut ints| {
                        ints.sort_unstable();
                        ints
                    });
                    node.enumeration = Some(values.clone());
                }
                "const" => node.constant = Some(value.clone()),
                "items" => node.items = Some(self.node(value, &here)?),
                "anyOf" | "allOf" => {
                    let subs = value.as_array().ok_or_else(|| malformed(keyword))?;
                    let mut compiled = Vec::new();
                    for (i, sub) in subs.iter().enumerate() {
                        compiled.push(self.node(sub, &format!("{here}/{i}"))?);
                    }
                    if keyword == "anyOf" { node.any_of = compiled } else { node.all_of = compiled }
                }
                "if" => {
                    let cond = self.node(value, &here)?;
                    let then = map.get("then").map(|t| self.node(t, &format!("{at}/then"))).transpose()?;
                    let otherwise = map.get("else").map(|e| self.node(e, &format!("{at}/else"))).transpose()?;
                    node.if_then_else = Some((cond, then, otherwise));
                }
                // Without `if`, `then` and `else` assert nothing.
                "then" | "else" => {}
                "pattern" => {
                    let pattern = value.as_str().ok_or_else(|| malformed(keyword))?;
                    node.pattern = Some(self.pattern(pattern)?);
                }
                "maxLength" => node.max_length = Some(value.as_u64().ok_or_else(|| malformed(keyword))?),
                "minimum" => node.minimum = Some(value.as_number().ok_or_else(|| malformed(keyword))?.clone()),
                "maximum" => node.maximum = Some(value.as_number().ok_or_else(|| malformed(keyword))?.clone()),
                other => return Err(SchemaError::Unsupported { keyword: other.to_string(), at: at.to_string() }),
            }
        }
        Ok(node)
    }

    fn pattern(&mut self, pattern: &str) -> Result<usize, SchemaError> {
        if let Some(i) = self.patterns.iter().position(|(p, _)| p == pattern) {
            return Ok(i);
        }
        let validator = jsonschema::validator_for(&serde_json::json!({ "pattern": pattern }))
            .map_err(|e| SchemaError::Pattern { pattern: pattern.to_string(), reason: e.to_string() })?;
        self.patterns.push((pattern.to_string(), validator));
        Ok(self.patterns.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, instance: Value) -> bool {
        CoreSchema::compile(&schema).unwrap().is_valid(&instance)
    }

    #[test]
    fn an_enum_of_integers_is_looked_up_as_every_value_would_be_compared() {
        let s = json!({"enum": [99, 3, 1, -2, 0]});
        assert!(CoreSchema::compile(&s).unwrap().nodes[0].enum_ints.is_some());
        for ok in [json!(1), json!(1.0), json!(-2), json!(99), json!(0), json!(-0.0)] {
            assert!(check(s.clone(), ok.clone()), "{ok}");
        }
        for bad in [json!(2), json!(1.5), json!("1"), json!(u64::MAX), json!(null), json!([1])] {
            assert!(!check(s.clone(), bad.clone()), "{bad}");
        }
        assert!(CoreSchema::compile(&json!({"enum": [1, 2.5]})).unwrap().nodes[0].enum_ints.is_none());
        assert!(check(json!({"enum": [1, 2.5]}), json!(2.5)));
    }

    #[test]
    fn keywords() {
        let s = json!({
            "type": "object", "required": ["a"], "additionalProperties": false,
            "properties": {
                "a": {"type": "integer", "minimum": 0, "maximum": 10},
                "b": {"type": "array", "items": {"$ref": "#/$defs/x"}},
                "c": {"enum": [1, "x"]},
                "d": {"type": "string", "maxLength": 2, "pattern": "^[a-z]+$"}
            },
            "anyOf": [{"required": ["b"]}, {"required": ["c"]}],
            "allOf": [{"if": {"properties": {"a": {"const": 1}}, "required": ["a"]}, "then": {"required": ["d"]}}],
            "$defs": {"x": {"type": "object", "properties": {"y": {"$ref": "#/$defs/x"}}}}
        });
        assert!(check(s.clone(), json!({"a": 2, "c": 1.0})));
        assert!(check(s.clone(), json!({"a": 2.0, "b": [{"y": {"y": {}}}]})));
        assert!(!check(s.clone(), json!({"a": 2.5, "c": 1})));
        assert!(!check(s.clone(), json!({"a": 11, "c": 1})));
        assert!(!check(s.clone(), json!({"a": 2})));
        assert!(!check(s.clone(), json!({"a": 2, "c": 1, "z": 0})));
        assert!(!check(s.clone(), json!({"a": 1, "c": 1})));
        assert!(check(s.clone(), json!({"a": 1, "c": 1, "d": "ab"})));
        assert!(!check(s.clone(), json!({"a": 1, "c": 1, "d": "abc"})));
        assert!(!check(s.clone(), json!({"a": 1, "c": 1, "d": "A"})));
        assert!(!check(s, json!({"a": 2, "b": [{"y": 3}]})));
    }

    #[test]
    fn an_all_of_of_one_if_per_constant_is_a_switch() {
        let item = |c: i64, t: i64| json!({"if": {"properties": {"a": {"const": c}}, "required": ["a"]}, "then": {"properties": {"t": {"const": t}}}});
        let s = json!({"allOf": [item(0, 10), item(1, 11), item(1, 12)]});
        let compiled = CoreSchema::compile(&s).unwrap();
        assert!(compiled.nodes[0].switch.is_some() && compiled.nodes[0].all_of.is_empty());
        assert!(check(s.clone(), json!({"a": 0, "t": 10})));
        assert!(check(s.clone(), json!({"a": 0.0, "t": 10})));
        assert!(!check(s.clone(), json!({"a": 0, "t": 11})));
        // Two items for one constant: both apply, as in `allOf`.
        assert!(!check(s.clone(), json!({"a": 1, "t": 11})));
        assert!(check(s.clone(), json!({"a": 2, "t": 99})));
        assert!(check(s.clone(), json!({"t": 99})));
        let with_else =
            json!({"allOf": [{"if": {"properties": {"a": {"const": 0}}, "required": ["a"]}, "then": {}, "else": {}}]});
        assert!(CoreSchema::compile(&with_else).unwrap().nodes[0].switch.is_none());
        let fields = [("a", Field::Value(&json!(1))), ("t", Field::Value(&json!(11)))];
        assert!(!compiled.is_valid_fields(&fields));
        let fields = [("a", Field::Value(&json!(3))), ("t", Field::Value(&json!(11)))];
        assert!(compiled.is_valid_fields(&fields));
    }

    #[test]
    fn a_string_is_checked_as_its_value_is_at_every_node_of_the_class_schemas() {
        // Every enum constant and pattern's kind of string, and strings no node accepts.
        let mut strings: Vec<String> =
            ["", "x", "10.0.0.1", " 10.0.0.1 ", "2001:db8::1", "256.0.0.1", "aa:bb:cc:dd:ee:ff", "1.5.0"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        strings.push("a1b2c3d4-0000-4000-8000-000000000001".into());
        strings.push("é".repeat(300));
        let mut checked = 0;
        for uid in [3002, 3004] {
            let schema = crate::ocsf::validate::native_schema(uid).unwrap();
            let mut all = strings.clone();
            for node in &schema.nodes {
                let constants = node.enumeration.iter().flatten().chain(&node.constant);
                all.extend(constants.filter_map(|c| c.as_str().map(str::to_string)));
            }
            for i in 0..schema.nodes.len() {
                for s in &all {
                    let v = Value::String(s.clone());
                    assert_eq!(schema.check_str(i, s), schema.check(i, &v), "node {i}, {s:?}");
                    checked += usize::from(schema.check(i, &v));
                }
            }
        }
        assert!(checked > 1000, "only {checked} (node, string) pairs accepted: the test proves little");
    }

    #[test]
    fn unknown_keywords_do_not_compile() {
        assert!(matches!(
            CoreSchema::compile(&json!({"minItems": 1})),
            Err(SchemaError::Unsupported { keyword, .. }) if keyword == "minItems"
        ));
    }

    #[test]
    fn numbers_compare_exactly() {
        let n = |v: Value| v.as_number().unwrap().clone();
        assert_eq!(compare(&n(json!(1)), &n(json!(1.0))), Some(std::cmp::Ordering::Equal));
        assert_eq!(compare(&n(json!(0)), &n(json!(-0.5))), Some(std::cmp::Ordering::Greater));
        assert_eq!(compare(&n(json!(u64::MAX)), &n(json!(1e30))), Some(std::cmp::Ordering::Less));
        assert_eq!(compare(&n(json!(-1)), &n(json!(-0.5))), Some(std::cmp::Ordering::Less));
    }
}
