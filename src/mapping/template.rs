//! Templates and `when` conditions: one minijinja environment per mapping set, every template
//! compiled once at load, and records handed to it as lazy objects (no per-event conversion of
//! the whole record).

use super::expr::{Expr, Template};
use crate::json::access::Json;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value as MjValue};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Upper bound on the work one template may do per event (minijinja "fuel").
const FUEL_PER_RENDER: u64 = 50_000;

/// The template environment of a mapping set.
pub struct Templates {
    env: Environment<'static>,
    count: usize,
}

/// A compiled template or condition, by its name in the environment.
///
/// Templates read record fields without consuming them: a field quoted in a message stays in
/// `unmapped` unless another rule maps it.
#[derive(Debug, Clone)]
pub struct TemplateId {
    name: String,
    /// The same template or condition in a form evaluated without minijinja, when it has one.
    native: Option<Native>,
}

#[derive(Debug, Clone)]
enum Native {
    Condition(Expr),
    Template(Template),
}

impl Templates {
    pub fn new(params: &BTreeMap<String, String>) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL_PER_RENDER));
        env.set_recursion_limit(64);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // A record's `null` prints as nothing, like a missing field.
        env.set_formatter(
            |out, state, value| {
                if value.is_none() { Ok(()) } else { minijinja::escape_formatter(out, state, value) }
            },
        );
        env.add_global("params", MjValue::from(minijinja::value::Serde(params)));
        Self { env, count: 0 }
    }

    /// Compiles a template; the error message is minijinja's.
    pub fn add_template(&mut self, source: &str) -> Result<TemplateId, String> {
        let mut id = self.add(source.to_string())?;
        id.native = Template::parse(source).map(Native::Template);
        Ok(id)
    }

    /// Compiles a `when` condition: a minijinja expression, true when the rule applies.
    pub fn add_condition(&mut self, expr: &str) -> Result<TemplateId, String> {
        self.env.compile_expression(expr).map_err(|e| describe(&e))?;
        let mut id = self.add(format!("{{% if {expr} %}}1{{% endif %}}"))?;
        id.native = Expr::parse(expr).map(Native::Condition);
        Ok(id)
    }

    fn add(&mut self, source: String) -> Result<TemplateId, String> {
        let name = format!("t{}", self.count);
        self.count += 1;
        self.env.add_template_owned(name.clone(), source).map_err(|e| describe(&e))?;
        Ok(TemplateId { name, native: None })
    }

    /// Renders a template against a record. Errors (e.g. fuel exhausted) give no value.
    pub fn render(&self, id: &TemplateId, ctx: &MjValue) -> Result<String, String> {
        let tmpl = self.env.get_template(&id.name).map_err(|e| describe(&e))?;
        tmpl.render(ctx).map_err(|e| describe(&e))
    }

    /// Evaluates a condition against a record.
    pub fn is_true(&self, id: &TemplateId, ctx: &MjValue) -> Result<bool, String> {
        Ok(!self.render(id, ctx)?.is_empty())
    }

    /// Renders a template natively on `root` (the record or a list element), when its form
    /// allows; `None` when minijinja must render it.
    pub fn render_native<'a, J: Json<'a>>(id: &TemplateId, root: J) -> Option<String> {
        match &id.native {
            Some(Native::Template(t)) => t.render(root),
            _ => None,
        }
    }

    /// Evaluates a condition natively, when its form allows.
    pub fn is_true_native<'a, J: Json<'a>>(id: &TemplateId, root: J) -> Option<bool> {
        match &id.native {
            Some(Native::Condition(e)) => e.is_true(root),
            _ => None,
        }
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    msg
}

/// A record as a template context: fields are converted only when a template reads them.
pub fn context(record: &Arc<Value>) -> MjValue {
    MjValue::from_object(JsonObject(Arc::clone(record)))
}

/// A JSON object or array seen by minijinja without converting it up front.
#[derive(Debug)]
struct JsonObject(Arc<Value>);

fn to_mj(v: &Value) -> MjValue {
    match v {
        Value::Null => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => MjValue::from(i),
            (None, Some(f)) => MjValue::from(f),
            _ => MjValue::from(n.to_string()),
        },
        Value::String(s) => MjValue::from(s.as_str()),
        Value::Array(_) | Value::Object(_) => MjValue::from_object(JsonObject(Arc::new(v.clone()))),
    }
}

impl Object for JsonObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match &*self.0 {
            Value::Array(_) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        match &*self.0 {
            Value::Object(map) => map.get(key.as_str()?).map(to_mj),
            Value::Array(items) => items.get(usize::try_from(key.as_i64()?).ok()?).map(to_mj),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match &*self.0 {
            Value::Object(map) => Enumerator::Values(map.keys().map(|k| MjValue::from(k.as_str())).collect()),
            Value::Array(items) => Enumerator::Seq(items.len()),
            _ => Enumerator::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates() -> Templates {
        Templates::new(&BTreeMap::from([("hostname".to_string(), "t.example".to_string())]))
    }

    #[test]
    fn renders_nested_fields_and_params() {
        let mut t = templates();
        let id = t.add_template("{{ user.first }} {{ user.tags[1] }} @ {{ params.hostname }}").unwrap();
        let rec = Arc::new(json!({"user": {"first": "Ann", "tags": ["a", "b"]}}));
        assert_eq!(t.render(&id, &context(&rec)).unwrap(), "Ann b @ t.example");
    }

    #[test]
    fn missing_and_null_fields_render_empty() {
        let mut t = templates();
        let id = t.add_template("[{{ a.b.c }}][{{ n }}]").unwrap();
        assert_eq!(t.render(&id, &context(&Arc::new(json!({"n": null})))).unwrap(), "[][]");
    }

    #[test]
    fn conditions() {
        let mut t = templates();
        let id = t.add_condition("eventOutcome == 'FAIL' and subject is none").unwrap();
        assert!(t.is_true(&id, &context(&Arc::new(json!({"eventOutcome": "FAIL", "subject": null})))).unwrap());
        assert!(!t.is_true(&id, &context(&Arc::new(json!({"eventOutcome": "SUCCESS"})))).unwrap());
        assert!(t.add_condition("a ==").is_err());
        assert!(t.add_template("{{ a").is_err());
    }

    #[test]
    fn runaway_templates_stop() {
        let mut t = templates();
        let id = t
            .add_template("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}")
            .unwrap();
        assert!(t.render(&id, &context(&Arc::new(json!({})))).is_err());
    }
}
