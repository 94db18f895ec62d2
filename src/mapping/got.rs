//! What a rule gives: a value of the record read where it lies, a value the mapping holds, or
//! one made for this record. Only the last is allocated; the others are written, checked and
//! looked up in place.

use super::path::is_present;
use crate::json::access::Json;
use crate::ocsf::core_schema::Filled;
use serde_json::Value;
use std::borrow::Cow;

/// A rule's value; `J` reads the record (see [`Json`]).
#[derive(Clone)]
pub(crate) enum Got<'m, J> {
    /// A value of the record.
    Rec(J),
    /// A value of the mapping: a literal, a table's entry, a default.
    Static(&'m Value),
    /// A value made for this record.
    Owned(Value),
}

/// Runs a body generic over [`Json`] on the value a [`Got`] holds.
macro_rules! with_json {
    ($got:expr, |$v:ident| $body:expr) => {
        match $got {
            Got::Rec(j) => {
                let $v = *j;
                $body
            }
            Got::Static(v) => {
                let $v: &Value = v;
                $body
            }
            Got::Owned(v) => {
                let $v: &Value = v;
                $body
            }
        }
    };
}

impl<'m, 'r, J: Json<'r>> Got<'m, J> {
    /// The value, owned.
    pub fn into_value(self) -> Value {
        match self {
            Got::Rec(j) => j.to_value(),
            Got::Static(v) => v.clone(),
            Got::Owned(v) => v,
        }
    }

    /// The value by reference; made when it is the record's and the record is not a `Value`.
    pub fn value<'a>(&'a self) -> Cow<'a, Value>
    where
        'r: 'a,
    {
        match self {
            Got::Rec(j) => j.as_value().map_or_else(|| Cow::Owned(j.to_value()), Cow::Borrowed),
            Got::Static(v) => Cow::Borrowed(*v),
            Got::Owned(v) => Cow::Borrowed(v),
        }
    }

    pub fn as_str<'a>(&'a self) -> Option<&'a str>
    where
        'r: 'a,
    {
        with_json!(self, |v| v.as_str())
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Got::Rec(j) => j.is_number().then(|| j.to_value().as_i64()).flatten(),
            Got::Static(v) => v.as_i64(),
            Got::Owned(v) => v.as_i64(),
        }
    }

    /// Not `null`, not an empty string (see [`is_present`]).
    pub fn is_present(&self) -> bool {
        with_json!(self, |v| is_present(v))
    }

    /// A string as it is, a number or a boolean as text: what a table is keyed by.
    pub fn key_text<'a>(&'a self) -> Option<Cow<'a, str>>
    where
        'r: 'a,
    {
        with_json!(self, |v| match v.as_str() {
            Some(s) => Some(Cow::Borrowed(s)),
            None => v
                .number_text()
                .map(|n| Cow::Owned(n.into_owned()))
                .or_else(|| v.as_bool().map(|b| Cow::Owned(b.to_string()))),
        })
    }

    /// A string or a number as text: an observable's value.
    pub fn scalar_text(&self) -> Option<String> {
        with_json!(self, |v| v.as_str().map(str::to_string).or_else(|| v.number_text().map(Cow::into_owned)))
    }

    /// The value at `rest` below this one (a `from_ocsf` into an object a rule gave).
    pub fn at(&self, rest: &[String]) -> Option<Got<'m, J>> {
        match self {
            Got::Rec(j) => rest.iter().try_fold(*j, |v, k| v.get(k)).map(Got::Rec),
            Got::Static(v) => rest.iter().try_fold(*v, |v, k| v.get(k.as_str())).map(Got::Static),
            Got::Owned(v) => rest.iter().try_fold(v, |v, k| v.get(k.as_str())).map(|v| Got::Owned(v.clone())),
        }
    }

    /// Ready for a layout's slot: a string of the record stays where it lies, any other value
    /// of the record is made (captions and the schema check read a `Value`), and a value that
    /// gets captions is owned, so that they can be written into it.
    pub fn settle(&mut self, gets_captions: bool) -> Option<&mut Value> {
        let made = match self {
            Got::Rec(j) if j.as_str().is_none() => Some(j.to_value()),
            Got::Static(v) if gets_captions && (v.is_object() || v.is_array()) => Some((*v).clone()),
            _ => None,
        };
        if let Some(v) = made {
            *self = Got::Owned(v);
        }
        match self {
            Got::Owned(v) if gets_captions => Some(v),
            _ => None,
        }
    }

    /// What the schema check and the writer see of a settled value.
    pub fn filled<'a>(&'a self) -> Filled<'a>
    where
        'r: 'a,
    {
        match self {
            Got::Rec(j) => match j.as_str() {
                Some(text) => Filled::Str { text, plain: J::PLAIN_STRINGS },
                None => unreachable!("a settled value of the record is a string"),
            },
            Got::Static(v) => Filled::Value(v),
            Got::Owned(v) => Filled::Value(v),
        }
    }
}
