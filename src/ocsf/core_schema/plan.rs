//! The schema check of an object whose keys are known at load, resolved once: per object of a
//! layout and per schema node that applies to it, which entry each `required` key and each
//! property is, and which node checks each entry. Per record only presence tests by index, the
//! value checks and the branches that depend on values (`anyOf`, `if`, the activity switch) remain.

use super::{Additional, CoreSchema, OBJECT, equal};
use serde_json::Value;
use std::collections::HashMap;

/// The keys one object of an event can hold, each a value or an object of the layout itself.
pub struct Layout {
    pub keys: Vec<(String, Option<Layout>)>,
    /// Per key (or none at all), the value it holds in every event, when it holds one: a
    /// constant the schema accepts needs no check per event.
    pub fixed: Vec<Option<Value>>,
}

/// A member of a laid-out object as one record fills it. An object of the layout holds one
/// place per key of its [`Layout`], in the same order, `None` where the record has nothing.
pub enum Filled<'a> {
    Value(&'a Value),
    /// A string, checked as `Value::String` would be; `plain` when its JSON text is itself
    /// between quotes.
    Str {
        text: &'a str,
        plain: bool,
    },
    /// A value whose JSON text is known (a constant of the mapping), checked as the value
    /// unless `proven`: every check of its place accepts it (see [`Plan::proves`]).
    Written {
        value: &'a Value,
        json: &'a [u8],
        proven: bool,
    },
    Object(Vec<Option<Filled<'a>>>),
}

impl Filled<'_> {
    /// The value, when this is one (not a string of the record or an object of the layout).
    pub fn value(&self) -> Option<&Value> {
        match self {
            Filled::Value(v) | Filled::Written { value: v, .. } => Some(v),
            Filled::Str { .. } | Filled::Object(_) => None,
        }
    }
}

/// The check of one [`Layout`] against a [`CoreSchema`]: the verdicts of
/// [`CoreSchema::is_valid_fields`] on the same objects.
pub struct Plan<'s> {
    schema: &'s CoreSchema,
    checks: Vec<Check>,
}

/// One schema node applied to one object of the layout; entries are indexes into its keys.
#[derive(Default)]
struct Check {
    /// The layout object it checks (its address when planned: a name, never followed).
    layout: usize,
    /// A type that is not `object`, or a `required` key the layout cannot hold.
    never: bool,
    required: Vec<usize>,
    /// How each entry the node has a say on is checked when present.
    members: Vec<(usize, Rule)>,
    reference: Option<usize>,
    any_of: Vec<usize>,
    all_of: Vec<usize>,
    switch: Option<Cases>,
    if_then_else: Option<(usize, Option<usize>, Option<usize>)>,
}

/// The activity switch: its key as a value entry, and per constant the check its `then` adds.
struct Cases {
    at: usize,
    cases: Vec<(Value, Option<usize>)>,
}

enum Rule {
    /// A key `additionalProperties: false` rejects.
    Forbidden,
    /// A value, against a schema node.
    Value(usize),
    /// An object of the layout, against a check of the plan.
    Object(usize),
}

impl CoreSchema {
    /// The plan of `layout`, or `None` when a node that applies to one of its objects compares
    /// the object whole (`enum`, `const`): that needs the object as a [`Value`].
    pub fn plan(&self, layout: &Layout) -> Option<Plan<'_>> {
        let mut planner = Planner { schema: self, checks: Vec::new(), done: HashMap::new() };
        planner.check(0, layout)?;
        Some(Plan { schema: self, checks: planner.checks })
    }
}

struct Planner<'s> {
    schema: &'s CoreSchema,
    checks: Vec<Check>,
    /// (schema node, layout object by address) → its check.
    done: HashMap<(usize, usize), usize>,
}

impl Planner<'_> {
    fn check(&mut self, index: usize, layout: &Layout) -> Option<usize> {
        let key = (index, std::ptr::from_ref(layout) as usize);
        if let Some(&id) = self.done.get(&key) {
            return Some(id);
        }
        // Reserved before the parts are planned, so that a node reached again resolves.
        let id = self.checks.len();
        self.checks.push(Check::default());
        self.done.insert(key, id);
        let schema = self.schema;
        let node = &schema.nodes[index];
        if node.enumeration.is_some() || node.constant.is_some() {
            return None;
        }
        let at = |k: &str| layout.keys.iter().position(|(key, _)| key == k);
        let required: Option<Vec<usize>> = node.required.iter().map(|k| at(k)).collect();
        let (Some(required), false) = (required, node.types.is_some_and(|t| t & OBJECT == 0)) else {
            self.checks[id].never = true;
            return Some(id);
        };
        let mut members = Vec::new();
        for (i, (k, child)) in layout.keys.iter().enumerate() {
            let by = match node.properties.as_ref().and_then(|p| p.get(k.as_str())) {
                Some(&s) => s,
                None => match &node.additional {
                    None => continue,
                    Some(Additional::Forbidden) => {
                        members.push((i, Rule::Forbidden));
                        continue;
                    }
                    Some(Additional::Schema(s)) => *s,
                },
            };
            let fixed = layout.fixed.get(i).and_then(Option::as_ref);
            if child.is_none() && fixed.is_some_and(|v| schema.check(by, v)) {
                continue;
            }
            members.push((
                i,
                match child {
                    None => Rule::Value(by),
                    Some(child) => Rule::Object(self.check(by, child)?),
                },
            ));
        }
        let reference = self.branch(node.reference, layout)?;
        let any_of = node.any_of.iter().map(|&s| self.check(s, layout)).collect::<Option<_>>()?;
        let all_of = node.all_of.iter().map(|&s| self.check(s, layout)).collect::<Option<_>>()?;
        // Only a value is compared with the constants; an object of the layout never matches.
        let mut switch = None;
        if let Some(s) = &node.switch
            && let Some(at) = at(&s.key).filter(|&i| layout.keys[i].1.is_none())
        {
            let cases = s.cases.iter().map(|(c, then)| Some((c.clone(), self.branch(*then, layout)?)));
            switch = Some(Cases { at, cases: cases.collect::<Option<_>>()? });
        }
        let if_then_else = match node.if_then_else {
            Some((cond, then, otherwise)) => {
                Some((self.check(cond, layout)?, self.branch(then, layout)?, self.branch(otherwise, layout)?))
            }
            None => None,
        };
        self.checks[id] =
            Check { layout: key.1, never: false, required, members, reference, any_of, all_of, switch, if_then_else };
        Some(id)
    }

    /// The check of an optional part (`$ref`, `then`, `else`): `None` when it has no plan.
    fn branch(&mut self, index: Option<usize>, layout: &Layout) -> Option<Option<usize>> {
        match index {
            Some(index) => self.check(index, layout).map(Some),
            None => Some(None),
        }
    }
}

impl Plan<'_> {
    /// Whether `v`, at entry `at` of the object `layout` of the layout this plan was made for,
    /// passes every check the plan makes of that entry, and holds no `null`, empty object or
    /// list in a list: there it needs no check per event (see [`Filled::Written`]).
    pub fn proves(&self, layout: &Layout, at: usize, v: &Value) -> bool {
        let object = std::ptr::from_ref(layout) as usize;
        let checks = self.checks.iter().filter(|c| c.layout == object);
        let value_checks = checks.flat_map(|c| c.members.iter().filter(|(i, _)| *i == at));
        crate::ocsf::validate::plain(v)
            && value_checks.map(|(_, rule)| rule).all(|rule| match rule {
                Rule::Value(s) => self.schema.check(*s, v),
                Rule::Forbidden | Rule::Object(_) => false,
            })
    }

    /// Whether the object `fields`, laid out as the plan's [`Layout`], is valid.
    pub fn is_valid(&self, fields: &[Option<Filled<'_>>]) -> bool {
        self.run(0, fields)
    }

    fn run(&self, id: usize, fields: &[Option<Filled<'_>>]) -> bool {
        let c = &self.checks[id];
        let run = |&s: &usize| self.run(s, fields);
        !c.never
            && c.required.iter().all(|&i| fields[i].is_some())
            && c.reference.as_ref().is_none_or(run)
            && c.members.iter().all(|(i, rule)| fields[*i].as_ref().is_none_or(|f| self.member(rule, f)))
            && (c.any_of.is_empty() || c.any_of.iter().any(run))
            && c.all_of.iter().all(run)
            && c.switch.as_ref().is_none_or(|s| match &fields[s.at] {
                Some(Filled::Value(v) | Filled::Written { value: v, .. }) => {
                    s.cases.iter().all(|(k, then)| !equal(v, k) || then.as_ref().is_none_or(run))
                }
                Some(Filled::Str { text, .. }) => {
                    s.cases.iter().all(|(k, then)| k.as_str() != Some(*text) || then.as_ref().is_none_or(run))
                }
                _ => true,
            })
            && c.if_then_else.is_none_or(|(cond, then, otherwise)| {
                let branch = if self.run(cond, fields) { then } else { otherwise };
                branch.as_ref().is_none_or(run)
            })
    }

    fn member(&self, rule: &Rule, field: &Filled<'_>) -> bool {
        match (rule, field) {
            (Rule::Forbidden, _) => false,
            (Rule::Value(s), Filled::Value(v)) => self.schema.check(*s, v),
            (Rule::Value(_), Filled::Written { proven: true, .. }) => true,
            (Rule::Value(s), Filled::Written { value, proven: false, .. }) => self.schema.check(*s, value),
            (Rule::Value(s), Filled::Str { text, .. }) => self.schema.check_str(*s, text),
            (Rule::Object(c), Filled::Object(inner)) => self.run(*c, inner),
            // A record fills an object of the layout as an object, a value as a value.
            (Rule::Value(_), Filled::Object(_))
            | (Rule::Object(_), Filled::Value(_) | Filled::Str { .. } | Filled::Written { .. }) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout(keys: &[&str]) -> Layout {
        Layout { keys: keys.iter().map(|k| (k.to_string(), None)).collect(), fixed: Vec::new() }
    }

    #[test]
    fn a_value_is_proven_where_every_check_of_its_entry_accepts_it() {
        let s = CoreSchema::compile(&json!({
            "properties": {"a": {"type": "integer"}, "o": {"properties": {"a": {"type": "string"}}}},
            "allOf": [{"properties": {"a": {"minimum": 5}}}],
            "if": {"properties": {"a": {"const": 7}}}, "then": {"required": ["o"]}
        }))
        .unwrap();
        let layout = Layout { keys: vec![("a".into(), None), ("o".into(), Some(layout(&["a"])))], fixed: Vec::new() };
        let plan = s.plan(&layout).unwrap();
        assert!(plan.proves(&layout, 0, &json!(7)));
        // The `allOf` rejects it, the `if` does not hold for it (a proven value passes every
        // check, conditions too), it is not an integer, a null.
        for v in [json!(3), json!(8), json!("7"), json!(null)] {
            assert!(!plan.proves(&layout, 0, &v), "{v}");
        }
        // The checks of the inner object are its own.
        let inner = layout.keys[1].1.as_ref().unwrap();
        assert!(plan.proves(inner, 0, &json!("x")) && !plan.proves(inner, 0, &json!(8)));
        // What depends on no value is still checked: the `then` of the `if` it passes.
        let seven = Filled::Written { value: &json!(7), json: b"7", proven: true };
        assert!(!plan.is_valid(&[Some(seven), None]));
        let seven = Filled::Written { value: &json!(7), json: b"7", proven: true };
        assert!(plan.is_valid(&[Some(seven), Some(Filled::Object(vec![None]))]));
    }

    #[test]
    fn a_constant_the_schema_accepts_is_not_checked_again() {
        let s =
            CoreSchema::compile(&json!({"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})).unwrap();
        let members = |fixed: Vec<Option<Value>>| {
            let plan = s.plan(&Layout { fixed, ..layout(&["a", "b"]) }).unwrap();
            plan.checks[0].members.iter().map(|(i, _)| *i).collect::<Vec<_>>()
        };
        assert_eq!(members(vec![]), [0, 1]);
        assert_eq!(members(vec![Some(json!(1)), None]), [1]);
        // One the schema rejects stays checked, so that every event with it is rejected.
        assert_eq!(members(vec![Some(json!("x")), None]), [0, 1]);
        let plan = s.plan(&Layout { fixed: vec![Some(json!("x")), None], ..layout(&["a", "b"]) }).unwrap();
        assert!(!plan.is_valid(&[Some(Filled::Value(&json!("x"))), None]));
    }

    #[test]
    fn keys_resolve_to_entries() {
        let s = CoreSchema::compile(&json!({
            "required": ["a"], "additionalProperties": false,
            "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}
        }))
        .unwrap();
        let (one, text) = (json!(1), json!("x"));
        let plan = s.plan(&layout(&["a", "b", "c"])).unwrap();
        assert!(plan.is_valid(&[Some(Filled::Value(&one)), None, None]));
        assert!(plan.is_valid(&[Some(Filled::Value(&one)), Some(Filled::Value(&text)), None]));
        assert!(!plan.is_valid(&[None, Some(Filled::Value(&text)), None]));
        assert!(!plan.is_valid(&[Some(Filled::Value(&one)), Some(Filled::Value(&one)), None]));
        assert!(!plan.is_valid(&[Some(Filled::Value(&one)), None, Some(Filled::Value(&one))]));
        // A required key the layout cannot hold: never valid.
        assert!(!s.plan(&layout(&["b"])).unwrap().is_valid(&[None]));
    }

    #[test]
    fn an_object_compared_whole_has_no_plan() {
        let s = CoreSchema::compile(&json!({"properties": {"o": {"const": {"x": 1}}}})).unwrap();
        let nested = Layout { keys: vec![("o".to_string(), Some(layout(&["x"])))], fixed: Vec::new() };
        assert!(s.plan(&nested).is_none());
        assert!(s.plan(&layout(&["o"])).is_some());
    }
}
