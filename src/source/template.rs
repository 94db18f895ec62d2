//! Request templates: a JSON body or query values whose strings are minijinja templates over
//! `params`, `window.start`/`window.end`, `page_size`, `cursor` and `token`.
//!
//! A string that is a single `{{ expression }}` keeps the expression's type (`limit: "{{
//! page_size }}"` sends a number); any other string is rendered as text.

use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
use crate::yaml::{Node, NodeValue};
use serde_json::{Map, Value};

/// One node of a request template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Value),
    /// `{{ expr }}`: the value of the expression.
    Expr(String),
    /// Any other text with template tags: rendered to a string.
    Text(String),
    List(Vec<Template>),
    Object(Vec<(String, Template)>),
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

impl Template {
    /// Decodes a YAML node, checking every template's syntax.
    pub fn decode(node: &Node, diags: &mut Diagnostics) -> Template {
        match &node.value {
            NodeValue::Str(s) => match Self::string(s) {
                Ok(t) => t,
                Err(reason) => {
                    diags.push(Diagnostic::new(ErrorKind::BadTemplate { reason }).at(node.span.clone()));
                    Template::Literal(Value::Null)
                }
            },
            NodeValue::Seq(items) => Template::List(items.iter().map(|n| Self::decode(n, diags)).collect()),
            NodeValue::Map(entries) => {
                Template::Object(entries.iter().map(|(k, v)| (k.name.clone(), Self::decode(v, diags))).collect())
            }
            _ => Template::Literal(node.to_json()),
        }
    }

    /// A template from one string; `Err` holds the syntax error.
    pub fn string(s: &str) -> Result<Template, String> {
        let env = environment();
        let trimmed = s.trim();
        if let Some(inner) = trimmed.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
            && !inner.contains("{{")
            && !inner.contains("}}")
        {
            env.compile_expression(inner).map_err(|e| e.to_string())?;
            return Ok(Template::Expr(inner.trim().to_string()));
        }
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(Template::Literal(Value::String(s.to_string())));
        }
        env.template_from_str(s).map_err(|e| e.to_string())?;
        Ok(Template::Text(s.to_string()))
    }

    /// Renders with `ctx`. Errors name the failing template, never the context's values.
    pub fn render(&self, ctx: &minijinja::Value) -> Result<Value, String> {
        let env = environment();
        self.render_in(&env, ctx)
    }

    fn render_in(&self, env: &minijinja::Environment<'static>, ctx: &minijinja::Value) -> Result<Value, String> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Expr(src) => {
                let expr = env.compile_expression(src).map_err(|e| format!("`{{{{ {src} }}}}`: {e}"))?;
                let v = expr.eval(ctx).map_err(|e| format!("`{{{{ {src} }}}}`: {}", e.kind()))?;
                if v.is_undefined() {
                    return Err(format!("`{{{{ {src} }}}}` is undefined"));
                } else if v.is_none() {
                    Value::Null
                } else {
                    serde_json::to_value(&v).map_err(|e| format!("`{{{{ {src} }}}}`: {e}"))?
                }
            }
            Template::Text(src) => {
                Value::String(env.render_str(src, ctx).map_err(|e| format!("template `{src}`: {}", e.kind()))?)
            }
            Template::List(items) => {
                Value::Array(items.iter().map(|t| t.render_in(env, ctx)).collect::<Result<_, _>>()?)
            }
            Template::Object(entries) => {
                let mut map = Map::new();
                for (k, t) in entries {
                    map.insert(k.clone(), t.render_in(env, ctx)?);
                }
                Value::Object(map)
            }
        })
    }

    /// Renders to a string (headers, query values, URLs).
    pub fn render_string(&self, ctx: &minijinja::Value) -> Result<String, String> {
        Ok(match self.render(ctx)? {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;
    use serde_json::json;

    #[test]
    fn typed_expressions_text_and_literals() {
        let t = Template::Object(vec![
            ("limit".into(), Template::string("{{ page_size }}").unwrap()),
            ("start".into(), Template::string("{{ window.start }}").unwrap()),
            ("host".into(), Template::string("https://{{ params.hostname }}/x").unwrap()),
            ("fixed".into(), Template::string("GREATER_THAN_OR_EQUAL").unwrap()),
            ("n".into(), Template::Literal(json!(3))),
            ("none".into(), Template::string("{{ cursor }}").unwrap()),
        ]);
        let ctx = context! { page_size => 100, window => context!{ start => "2025-01-01T00:00:00Z" },
        params => context!{ hostname => "a.example.com" }, cursor => () };
        assert_eq!(
            t.render(&ctx).unwrap(),
            json!({"limit": 100, "start": "2025-01-01T00:00:00Z", "host": "https://a.example.com/x",
                   "fixed": "GREATER_THAN_OR_EQUAL", "n": 3, "none": null})
        );
    }

    #[test]
    fn header_templates() {
        let bare = Template::string("{{ token }}").unwrap();
        let bearer = Template::string("Bearer {{ token }}").unwrap();
        let ctx = context! { token => "abc" };
        assert_eq!(bare.render_string(&ctx).unwrap(), "abc");
        assert_eq!(bearer.render_string(&ctx).unwrap(), "Bearer abc");
    }

    #[test]
    fn errors_do_not_echo_values() {
        assert!(Template::string("{{ unclosed ").is_err());
        assert!(Template::string("{% if %}").is_err());
        let t = Template::string("{{ params.missing }}").unwrap();
        let err = t.render(&context! { params => context!{ secret => "hunter2" } }).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
