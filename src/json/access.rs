//! Reading a record the same way whether it is a `serde_json::Value` or a [`Doc`] parsed over
//! its text: what the mapping engine asks of a record (members, elements, strings, its value),
//! so that one implementation of each rule serves both.

use super::doc::{DocRef, Kind};
use super::key::Key;
use serde_json::Value;
use std::borrow::Cow;

/// A value of a record, by reference.
pub trait Json<'a>: Copy {
    /// Whether every string's JSON text is the string itself between quotes (it needs no
    /// escape), so that it can be written as it is.
    const PLAIN_STRINGS: bool;

    fn is_null(self) -> bool;
    fn as_str(self) -> Option<&'a str>;
    fn as_bool(self) -> Option<bool>;
    fn is_number(self) -> bool;
    fn is_array(self) -> bool;
    fn is_object(self) -> bool;
    /// Elements of a list or members of an object; 0 for anything else.
    fn len(self) -> usize;
    /// No elements or members (or not a list or an object).
    fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// The member `key` of an object.
    fn get(self, key: &str) -> Option<Self>;
    /// [`Json::get`] of a name whose hash is known.
    fn get_key(self, key: &Key) -> Option<Self> {
        self.get(key)
    }
    /// Element `i` of a list.
    fn index(self, i: usize) -> Option<Self>;
    /// The elements of a list (nothing for anything else).
    fn elements(self) -> impl Iterator<Item = Self>;
    /// The members of an object in key order, each key once.
    fn members(self) -> impl Iterator<Item = (&'a str, Self)>;
    /// The members `keep` accepts, in key order.
    fn members_where(self, keep: impl FnMut(Self) -> bool) -> impl Iterator<Item = (&'a str, Self)>;
    /// Writes a string (a key, a value) as JSON text.
    fn write_str(out: &mut Vec<u8>, s: &str) {
        if Self::PLAIN_STRINGS {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            super::write::string(out, s);
        }
    }
    /// The value, owned.
    fn to_value(self) -> Value;
    /// Tells this value apart from every other value of the same record.
    fn id(self) -> usize;
    /// The value itself when it already is one (no conversion).
    fn as_value(self) -> Option<&'a Value>;
    /// Writes a scalar (not a list or an object) as compact JSON.
    fn write_scalar(self, out: &mut Vec<u8>);

    /// A number's text as `serde_json` prints it.
    fn number_text(self) -> Option<Cow<'a, str>> {
        self.is_number().then(|| match self.to_value() {
            Value::Number(n) => Cow::Owned(n.to_string()),
            _ => Cow::Borrowed(""),
        })
    }

    /// Whether a number is not zero.
    fn number_truthy(self) -> bool {
        match self.to_value() {
            Value::Number(n) => n.as_i64().map_or_else(|| n.as_f64().is_some_and(|f| f != 0.0), |i| i != 0),
            _ => false,
        }
    }
}

impl<'a> Json<'a> for &'a Value {
    const PLAIN_STRINGS: bool = false;

    fn is_null(self) -> bool {
        Value::is_null(self)
    }
    fn as_str(self) -> Option<&'a str> {
        Value::as_str(self)
    }
    fn as_bool(self) -> Option<bool> {
        Value::as_bool(self)
    }
    fn is_number(self) -> bool {
        Value::is_number(self)
    }
    fn is_array(self) -> bool {
        Value::is_array(self)
    }
    fn is_object(self) -> bool {
        Value::is_object(self)
    }
    fn len(self) -> usize {
        match self {
            Value::Array(items) => items.len(),
            Value::Object(map) => map.len(),
            _ => 0,
        }
    }
    fn get(self, key: &str) -> Option<Self> {
        self.as_object()?.get(key)
    }
    fn index(self, i: usize) -> Option<Self> {
        self.as_array()?.get(i)
    }
    fn elements(self) -> impl Iterator<Item = Self> {
        self.as_array().into_iter().flatten()
    }
    fn members(self) -> impl Iterator<Item = (&'a str, Self)> {
        self.as_object().into_iter().flatten().map(|(k, v)| (k.as_str(), v))
    }
    fn members_where(self, mut keep: impl FnMut(Self) -> bool) -> impl Iterator<Item = (&'a str, Self)> {
        self.members().filter(move |(_, v)| keep(v))
    }
    fn to_value(self) -> Value {
        self.clone()
    }
    fn id(self) -> usize {
        std::ptr::from_ref(self) as usize
    }
    fn as_value(self) -> Option<&'a Value> {
        Some(self)
    }
    fn write_scalar(self, out: &mut Vec<u8>) {
        super::write::value(out, self);
    }
    fn number_text(self) -> Option<Cow<'a, str>> {
        self.as_number().map(|n| Cow::Owned(n.to_string()))
    }
}

impl<'d> Json<'d> for DocRef<'d> {
    // A doc holds only strings without escapes or control characters (see `Doc::parse`).
    const PLAIN_STRINGS: bool = true;

    fn is_null(self) -> bool {
        self.kind() == Kind::Null
    }
    fn as_str(self) -> Option<&'d str> {
        DocRef::as_str(&self)
    }
    fn as_bool(self) -> Option<bool> {
        match self.kind() {
            Kind::True => Some(true),
            Kind::False => Some(false),
            _ => None,
        }
    }
    fn is_number(self) -> bool {
        self.kind() == Kind::Int
    }
    fn is_array(self) -> bool {
        self.kind() == Kind::Array
    }
    fn is_object(self) -> bool {
        self.kind() == Kind::Object
    }
    fn len(self) -> usize {
        DocRef::len(&self)
    }
    fn get(self, key: &str) -> Option<Self> {
        DocRef::get(&self, key)
    }
    fn get_key(self, key: &Key) -> Option<Self> {
        DocRef::get_hashed(&self, key, key.hash())
    }
    fn index(self, i: usize) -> Option<Self> {
        DocRef::index(&self, i)
    }
    fn elements(self) -> impl Iterator<Item = Self> {
        let list = self.kind() == Kind::Array;
        self.children().filter(move |_| list)
    }
    fn members(self) -> impl Iterator<Item = (&'d str, Self)> {
        self.members_sorted().map(|m| (m.key(), m))
    }
    fn members_where(self, keep: impl FnMut(Self) -> bool) -> impl Iterator<Item = (&'d str, Self)> {
        self.members_sorted_where(keep).map(|m| (m.key(), m))
    }
    fn to_value(self) -> Value {
        DocRef::to_value(&self)
    }
    fn id(self) -> usize {
        self.index_in_doc()
    }
    fn as_value(self) -> Option<&'d Value> {
        None
    }
    fn write_scalar(self, out: &mut Vec<u8>) {
        // Strings hold no escapes and integers are in their canonical form: the text is what
        // `serde_json` writes.
        match self.kind() {
            Kind::Str => Self::write_str(out, self.text()),
            _ => out.extend_from_slice(self.text().as_bytes()),
        }
    }
    fn number_text(self) -> Option<Cow<'d, str>> {
        self.is_number().then(|| Cow::Borrowed(self.text()))
    }
    fn number_truthy(self) -> bool {
        self.is_number() && self.text() != "0"
    }
}
