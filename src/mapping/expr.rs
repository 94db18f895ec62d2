//! The common forms of `when` conditions and templates evaluated natively on the record, with
//! minijinja's meaning: record paths, string literals, `not`, `and`, `or`, `==`, `!=`, `in` a
//! list of strings, the `upper` and `lower` filters, and `{{ … }}` between literal text. Any
//! other form is not compiled here, and a value outside what these forms decide (a number
//! printed, a filter on a non-string) answers `None`: minijinja then decides, as before.

use crate::json::access::Json;
use std::borrow::Cow;

/// Names minijinja resolves to something other than a record field when the record lacks them.
const RESERVED: &[&str] = &[
    "params",
    "range",
    "dict",
    "debug",
    "namespace",
    "loop",
    "self",
    "super",
    "varargs",
    "kwargs",
    "caller",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
];

/// A compiled expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Path(Vec<String>),
    Str(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, String, bool),
    In(Box<Expr>, Vec<String>),
    Upper(Box<Expr>),
    Lower(Box<Expr>),
}

/// A compiled template: literal text and expressions, in order.
#[derive(Debug, Clone)]
pub struct Template(Vec<Piece>);

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Expr(Expr),
}

/// What an expression gives, as far as the native forms tell.
enum Val<'a, J> {
    Undefined,
    Json(J),
    Str(Cow<'a, str>),
    Bool(bool),
}

impl<'e, 'a: 'e, J: Json<'a>> Val<'e, J> {
    fn truthy(&self) -> bool {
        match self {
            Val::Undefined => false,
            Val::Bool(b) => *b,
            Val::Str(s) => !s.is_empty(),
            Val::Json(v) => {
                if let Some(b) = v.as_bool() {
                    b
                } else if let Some(s) = v.as_str() {
                    !s.is_empty()
                } else if v.is_number() {
                    v.number_truthy()
                } else {
                    !v.is_empty()
                }
            }
        }
    }

    /// The text of a string value; `None` for any other value.
    fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Json(v) => v.as_str(),
            _ => None,
        }
    }
}

impl Expr {
    /// Compiles `text` if it is one of the native forms.
    pub fn parse(text: &str) -> Option<Expr> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, at: 0 };
        let e = p.or()?;
        (p.at == p.tokens.len()).then_some(e)
    }

    /// The condition's truth, or `None` when minijinja must decide.
    pub fn is_true<'a, J: Json<'a>>(&self, root: J) -> Option<bool> {
        Some(self.eval(root)?.truthy())
    }

    fn eval<'e, 'a: 'e, J: Json<'a>>(&'e self, root: J) -> Option<Val<'e, J>> {
        Some(match self {
            Expr::Path(segs) => {
                let mut cur = root;
                for s in segs {
                    match cur.get(s) {
                        Some(v) => cur = v,
                        None => return Some(Val::Undefined),
                    }
                }
                Val::Json(cur)
            }
            Expr::Str(s) => Val::Str(Cow::Borrowed(s)),
            Expr::Not(e) => Val::Bool(!e.eval(root)?.truthy()),
            Expr::And(a, b) => {
                let left = a.eval(root)?;
                if left.truthy() { b.eval(root)? } else { left }
            }
            Expr::Or(a, b) => {
                let left = a.eval(root)?;
                if left.truthy() { left } else { b.eval(root)? }
            }
            Expr::Eq(e, lit, equal) => Val::Bool(comparable(&e.eval(root)?)?.is_some_and(|s| s == lit) == *equal),
            Expr::In(e, list) => Val::Bool(comparable(&e.eval(root)?)?.is_some_and(|s| list.iter().any(|l| l == s))),
            Expr::Upper(e) => Val::Str(Cow::Owned(e.eval(root)?.as_str()?.to_uppercase())),
            Expr::Lower(e) => Val::Str(Cow::Owned(e.eval(root)?.as_str()?.to_lowercase())),
        })
    }
}

/// For comparing with strings: `Some(Some(text))` for a string, `Some(None)` for a value that
/// equals no string, `None` for a boolean (minijinja's bools and numbers mix).
fn comparable<'v, 'e, 'a: 'e, J: Json<'a>>(v: &'v Val<'e, J>) -> Option<Option<&'v str>> {
    match v {
        Val::Bool(_) => None,
        Val::Json(j) if j.as_bool().is_some() => None,
        other => Some(other.as_str()),
    }
}

impl Template {
    /// Compiles `text` if every `{{ … }}` in it is a native form and it has no other tags.
    pub fn parse(text: &str) -> Option<Template> {
        // minijinja drops one trailing newline of the source.
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            match after.chars().next() {
                Some('{') => {}
                Some('%' | '#') => return None,
                _ => {
                    pieces.push(Piece::Text(rest[..start + 1].to_string()));
                    rest = after;
                    continue;
                }
            }
            pieces.push(Piece::Text(rest[..start].to_string()));
            let inner = &after[1..];
            let end = inner.find("}}")?;
            let body = &inner[..end];
            if body.starts_with(['-', '+']) || body.ends_with(['-', '+']) {
                return None;
            }
            pieces.push(Piece::Expr(Expr::parse(body)?));
            rest = &inner[end + 2..];
        }
        pieces.push(Piece::Text(rest.to_string()));
        pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
        Some(Template(pieces))
    }

    /// The rendered text, or `None` when minijinja must render it.
    pub fn render<'a, J: Json<'a>>(&self, root: J) -> Option<String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Expr(e) => match e.eval(root)? {
                    Val::Undefined => {}
                    Val::Json(j) if j.is_null() => {}
                    v => out.push_str(v.as_str()?),
                },
            }
        }
        Some(out)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(&'static str),
}

fn tokenize(text: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(text[start..i].to_string()));
        } else if c == b'\'' || c == b'"' {
            let end = text[i + 1..].find(c as char)? + i + 1;
            let s = &text[i + 1..end];
            if s.contains('\\') {
                return None;
            }
            out.push(Tok::Str(s.to_string()));
            i = end + 1;
        } else {
            let two = text.get(i..i + 2);
            let punct = match (two, c) {
                (Some("=="), _) => "==",
                (Some("!="), _) => "!=",
                (_, b'(') => "(",
                (_, b')') => ")",
                (_, b'[') => "[",
                (_, b']') => "]",
                (_, b',') => ",",
                (_, b'|') => "|",
                (_, b'.') => ".",
                _ => return None,
            };
            i += punct.len();
            out.push(Tok::Punct(punct));
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Ident(w)) if w == word);
        self.at += usize::from(hit);
        hit
    }

    fn eat(&mut self, punct: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Punct(p)) if *p == punct);
        self.at += usize::from(hit);
        hit
    }

    fn or(&mut self) -> Option<Expr> {
        let mut e = self.and()?;
        while self.eat_word("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Some(e)
    }

    fn and(&mut self) -> Option<Expr> {
        let mut e = self.not()?;
        while self.eat_word("and") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Some(e)
    }

    fn not(&mut self) -> Option<Expr> {
        if self.eat_word("not") {
            return Some(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Option<Expr> {
        let e = self.filtered()?;
        if self.eat("==") || self.eat("!=") {
            let equal = self.tokens[self.at - 1] == Tok::Punct("==");
            let Some(Tok::Str(lit)) = self.tokens.get(self.at).cloned() else { return None };
            self.at += 1;
            return Some(Expr::Eq(Box::new(e), lit, equal));
        }
        if self.eat_word("in") {
            if !self.eat("[") {
                return None;
            }
            let mut list = Vec::new();
            loop {
                let Some(Tok::Str(s)) = self.tokens.get(self.at).cloned() else { return None };
                self.at += 1;
                list.push(s);
                if self.eat("]") {
                    break;
                }
                if !self.eat(",") {
                    return None;
                }
            }
            return Some(Expr::In(Box::new(e), list));
        }
        Some(e)
    }

    fn filtered(&mut self) -> Option<Expr> {
        let mut e = self.primary()?;
        while self.eat("|") {
            e = match self.peek() {
                Some(Tok::Ident(f)) if f == "upper" => Expr::Upper(Box::new(e)),
                Some(Tok::Ident(f)) if f == "lower" => Expr::Lower(Box::new(e)),
                _ => return None,
            };
            self.at += 1;
        }
        Some(e)
    }

    fn primary(&mut self) -> Option<Expr> {
        match self.tokens.get(self.at).cloned()? {
            Tok::Str(s) => {
                self.at += 1;
                Some(Expr::Str(s))
            }
            Tok::Punct("(") => {
                self.at += 1;
                let e = self.or()?;
                self.eat(")").then_some(e)
            }
            Tok::Ident(first) if !RESERVED.contains(&first.as_str()) => {
                self.at += 1;
                let mut segs = vec![first];
                while self.eat(".") {
                    match self.tokens.get(self.at).cloned() {
                        Some(Tok::Ident(s)) => segs.push(s),
                        _ => return None,
                    }
                    self.at += 1;
                }
                Some(Expr::Path(segs))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::doc::Doc;
    use crate::mapping::template::{Templates, context};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn records() -> Vec<Value> {
        let values = [
            json!(null),
            json!(""),
            json!("x"),
            json!("add"),
            json!("REMOVE"),
            json!("ÿß"),
            json!("x\n"),
            json!(0),
            json!(1),
        ];
        let more = [
            json!(2.5),
            json!(0.0),
            json!(true),
            json!(false),
            json!([]),
            json!(["a"]),
            json!({}),
            json!({"b": "USER"}),
        ];
        let mut out = vec![json!({})];
        for v in values.iter().chain(&more) {
            out.push(json!({ "a": v, "b": v }));
            out.push(json!({ "a": v, "b": "USER", "c": {"d": v} }));
            out.push(json!({ "a": "USER", "b": v }));
        }
        out
    }

    /// Every native form gives minijinja's answer wherever it answers.
    #[test]
    fn conditions_agree_with_minijinja() {
        let mut t = Templates::new(&BTreeMap::new());
        let forms = [
            "a",
            "not a",
            "a or b",
            "a and not b",
            "not a and not b or c.d",
            "a in ['USER', 'SERVICE_PROVIDER']",
            "b in ['USER']",
            "(a or '') | upper in ['REMOVE', 'DELETE']",
            "(a or '') | lower == 'add'",
            "a == 'x'",
            "a != 'x'",
            "c.d",
            "not c.d.e",
            "a.b",
        ];
        let (mut native_answers, mut doc_answers) = (0, 0);
        for form in forms {
            let native = Expr::parse(form).unwrap_or_else(|| panic!("`{form}` is a native form"));
            let id = t.add_condition(form).unwrap();
            for rec in records() {
                let expected = t.is_true(&id, &context(&Arc::new(rec.clone()))).unwrap_or(false);
                if let Some(got) = native.is_true(&rec) {
                    native_answers += 1;
                    assert_eq!(got, expected, "`{form}` on {rec}");
                }
                // Read over the record's text, the same answer.
                if let Some(doc) = Doc::parse(rec.to_string().as_bytes()) {
                    doc_answers += 1;
                    assert_eq!(native.is_true(doc.root()), native.is_true(&rec), "`{form}` on {rec} as a doc");
                }
            }
        }
        assert!(native_answers > 500, "{native_answers}");
        assert!(doc_answers > 500, "{doc_answers}");
    }

    #[test]
    fn templates_agree_with_minijinja() {
        let mut t = Templates::new(&BTreeMap::new());
        for form in [
            "{{ a or b or 'An unknown subject' }}: {{ b or 'acted on' }} {{ c.d }} {x} }}",
            "{{ a }}\n",
            "{{ a }}\r\n\n",
            "plain",
            "{{ a | upper }}-{{ b }}",
        ] {
            let native = Template::parse(form).unwrap_or_else(|| panic!("`{form}` is a native form"));
            let id = t.add_template(form).unwrap();
            for rec in records() {
                let expected = t.render(&id, &context(&Arc::new(rec.clone())));
                if let Some(got) = native.render(&rec) {
                    assert_eq!(Ok(got), expected, "`{form}` on {rec}");
                }
                if let Some(doc) = Doc::parse(rec.to_string().as_bytes()) {
                    assert_eq!(native.render(doc.root()), native.render(&rec), "`{form}` on {rec} as a doc");
                }
            }
        }
    }

    #[test]
    fn other_forms_are_left_to_minijinja() {
        for form in ["params.x", "a is none", "a | length", "a > 1", "a['b']", "a == 1", "range(3)", "a in b"] {
            assert!(Expr::parse(form).is_none(), "{form}");
        }
        for form in ["{% if a %}x{% endif %}", "{{- a }}", "{# c #}", "{{ a", "{{ params.hostname }}"] {
            assert!(Template::parse(form).is_none(), "{form}");
        }
    }
}
