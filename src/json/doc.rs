//! A record parsed once into a flat list of nodes over its own text (a tape): keys and strings
//! are slices of the line, containers know where their children end, and nothing else is
//! allocated. Only the plainest JSON is taken: strings without escapes, integers that fit in
//! 64 bits, nesting to [`MAX_DEPTH`](super::MAX_DEPTH), valid UTF-8. Anything else is `None`,
//! and the caller parses the record the `serde_json::Value` way, which decides and explains.

use super::key::key_hash;
use super::record::MAX_DEPTH;
use super::scan::ws;
use super::write::special;
use serde_json::Value;

/// A parsed record: its text and its nodes, the root first, each container followed by its
/// children (an object's members carry their key).
#[derive(Debug, Clone, Default)]
pub struct Doc {
    text: String,
    nodes: Vec<Node>,
    /// Every member by (object, key): open addressing over (hash, node), `EMPTY` where free.
    members: Vec<(u32, u32)>,
}

const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    False,
    True,
    /// An integer, its text `-?(0|[1-9][0-9]*)` and exact in 64 bits.
    Int,
    Str,
    Array,
    Object,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    kind: Kind,
    /// The value's text: a string's between its quotes, a container's from `{` to `}`.
    start: u32,
    end: u32,
    /// A member's key, between its quotes (empty for elements and the root).
    key_start: u32,
    key_end: u32,
    /// The index just past this node's subtree: its next sibling.
    after: u32,
    /// A container's number of children.
    len: u32,
    /// The container this node is in (`EMPTY` for the root).
    parent: u32,
}

/// One node of a [`Doc`]: a value of the record.
#[derive(Clone, Copy)]
pub struct DocRef<'d> {
    doc: &'d Doc,
    at: u32,
}

impl std::fmt::Debug for DocRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DocRef({})", self.text())
    }
}

impl Doc {
    /// Parses `text` (one JSON value, whitespace around it allowed) when it is plain enough
    /// (see the module) and no object repeats a key; `None` otherwise, also for text that is
    /// not JSON.
    pub fn parse(text: &[u8]) -> Option<Doc> {
        let mut doc = Doc::default();
        doc.parse_into(text).then_some(doc)
    }

    /// [`Doc::parse`] into this doc, reusing its room: `false` where that gives `None` (the
    /// doc then holds nothing to read until it parses again).
    pub fn parse_into(&mut self, text: &[u8]) -> bool {
        let parsed = self.fill(text).is_some();
        if !parsed {
            self.nodes.clear();
            self.text.clear();
        }
        parsed
    }

    fn fill(&mut self, text: &[u8]) -> Option<()> {
        // Lengths and positions are kept in 32 bits; a record that large goes the other way.
        if text.len() >= u32::MAX as usize {
            return None;
        }
        let text = std::str::from_utf8(text).ok()?;
        let bytes = text.as_bytes();
        let nodes = &mut self.nodes;
        nodes.clear();
        nodes.reserve(text.len() / 12 + 4);
        let mut open: Vec<u32> = Vec::with_capacity(8);
        let mut key = (0u32, 0u32);
        let mut i = ws(bytes, 0);
        'value: loop {
            // A value starts at `i`.
            match *bytes.get(i)? {
                open_byte @ (b'{' | b'[') => {
                    let (kind, close) = if open_byte == b'{' { (Kind::Object, b'}') } else { (Kind::Array, b']') };
                    if open.len() >= MAX_DEPTH {
                        return None;
                    }
                    push(nodes, &open, kind, i, i, key);
                    open.push(nodes.len() as u32 - 1);
                    let first = ws(bytes, i + 1);
                    if bytes.get(first) == Some(&close) {
                        // Empty: closed below, as any other.
                        i = first;
                    } else {
                        (key, i) = if kind == Kind::Object { member_key(bytes, first)? } else { ((0, 0), first) };
                        continue 'value;
                    }
                }
                b'"' => {
                    let end = string_end(bytes, i + 1)?;
                    push(nodes, &open, Kind::Str, i + 1, end, key);
                    i = end + 1;
                }
                b'-' | b'0'..=b'9' => {
                    let end = integer_end(bytes, i)?;
                    push(nodes, &open, Kind::Int, i, end, key);
                    i = end;
                }
                first => {
                    let (word, kind): (&[u8], Kind) = match first {
                        b't' => (b"true", Kind::True),
                        b'f' => (b"false", Kind::False),
                        b'n' => (b"null", Kind::Null),
                        _ => return None,
                    };
                    if bytes.get(i..i + word.len()) != Some(word) {
                        return None;
                    }
                    push(nodes, &open, kind, i, i + word.len(), key);
                    i += word.len();
                }
            }
            // A value ended at `i`: close the containers it ends, up to the next value.
            loop {
                let Some(&top) = open.last() else { break 'value };
                let object = nodes[top as usize].kind == Kind::Object;
                i = ws(bytes, i);
                match bytes.get(i)? {
                    b',' => {
                        let next = ws(bytes, i + 1);
                        (key, i) = if object { member_key(bytes, next)? } else { ((0, 0), next) };
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                i += 1;
                let after = nodes.len() as u32;
                let node = &mut nodes[top as usize];
                node.end = i as u32;
                node.after = after;
                open.pop();
            }
        }
        if ws(bytes, i) != bytes.len() {
            return None;
        }
        index_members(bytes, nodes, &mut self.members)?;
        self.text.clear();
        self.text.push_str(text);
        Some(())
    }

    /// The root value.
    pub fn root(&self) -> DocRef<'_> {
        DocRef { doc: self, at: 0 }
    }

    /// The record's text, as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The record as a `serde_json::Value`, what parsing its text gives.
    pub fn to_value(&self) -> Value {
        self.root().to_value()
    }
}

/// The hash of a member: its object's index and its key's [`key_hash`].
fn member_hash(object: u32, key_hash: u64) -> u32 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    ((key_hash ^ u64::from(object).wrapping_mul(K)).wrapping_mul(K) >> 32) as u32
}

/// The table of every object's members by (object, key), at most half full; `None` when an
/// object repeats a key.
fn index_members(text: &[u8], nodes: &[Node], table: &mut Vec<(u32, u32)>) -> Option<()> {
    let key = |n: &Node| &text[n.key_start as usize..n.key_end as usize];
    table.clear();
    table.resize((nodes.len() * 2).next_power_of_two(), (0, EMPTY));
    let mask = table.len() - 1;
    for (member, node) in nodes.iter().enumerate() {
        if node.parent == EMPTY || nodes[node.parent as usize].kind != Kind::Object {
            continue;
        }
        let hash = member_hash(node.parent, key_hash(key(node)));
        let mut at = hash as usize & mask;
        while table[at].1 != EMPTY {
            let other = &nodes[table[at].1 as usize];
            if table[at].0 == hash && other.parent == node.parent && key(other) == key(node) {
                return None;
            }
            at = (at + 1) & mask;
        }
        table[at] = (hash, member as u32);
    }
    Some(())
}

/// Adds a node under the innermost open container (counted as its child).
fn push(nodes: &mut Vec<Node>, open: &[u32], kind: Kind, start: usize, end: usize, key: (u32, u32)) {
    let parent = open.last().copied().unwrap_or(EMPTY);
    if parent != EMPTY {
        nodes[parent as usize].len += 1;
    }
    let after = nodes.len() as u32 + 1;
    nodes.push(Node {
        kind,
        start: start as u32,
        end: end as u32,
        key_start: key.0,
        key_end: key.1,
        after,
        len: 0,
        parent,
    });
}

/// A member's key at `i` (its opening quote): its range between the quotes and the index of
/// its value, past `:`.
fn member_key(text: &[u8], i: usize) -> Option<((u32, u32), usize)> {
    if text.get(i) != Some(&b'"') {
        return None;
    }
    let end = string_end(text, i + 1)?;
    let colon = ws(text, end + 1);
    (text.get(colon) == Some(&b':')).then_some(((i as u32 + 1, end as u32), ws(text, colon + 1)))
}

/// The closing quote of a string whose contents start at `i`: `None` at an escape or a
/// control character (left to the full parser), or an unterminated string.
fn string_end(text: &[u8], i: usize) -> Option<usize> {
    // Eight bytes at a time up to the first that ends the plain text.
    let mut j = i;
    while let Some(word) = text.get(j..j + 8) {
        let found = special(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        if found != 0 {
            let at = j + (found.trailing_zeros() / 8) as usize;
            return (text[at] == b'"').then_some(at);
        }
        j += 8;
    }
    let at = j + text.get(j..)?.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    (text[at] == b'"').then_some(at)
}

/// The end of a plain integer at `i`; `None` for a fraction, an exponent, `-0` or one that
/// does not fit (those go to the full parser).
fn integer_end(text: &[u8], i: usize) -> Option<usize> {
    let digits = i + usize::from(text[i] == b'-');
    let mut j = digits;
    while text.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    let n = j - digits;
    // No leading zero, no `-0`; 18 digits always fit in an i64.
    let plain = match n {
        0 => false,
        1 => text[digits] != b'0' || digits == i,
        _ => text[digits] != b'0' && n <= 18,
    };
    (plain && !matches!(text.get(j), Some(b'.' | b'e' | b'E'))).then_some(j)
}

impl<'d> DocRef<'d> {
    fn node(&self) -> &'d Node {
        &self.doc.nodes[self.at as usize]
    }

    /// Where this node is in its doc.
    pub fn index_in_doc(&self) -> usize {
        self.at as usize
    }

    pub(crate) fn kind(&self) -> Kind {
        self.node().kind
    }

    /// The value's text (a string's without its quotes).
    pub fn text(&self) -> &'d str {
        let n = self.node();
        &self.doc.text[n.start as usize..n.end as usize]
    }

    /// A member's key (empty for a list element or the root).
    pub fn key(&self) -> &'d str {
        let n = self.node();
        &self.doc.text[n.key_start as usize..n.key_end as usize]
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&'d str> {
        (self.kind() == Kind::Str).then(|| self.text())
    }

    /// The number of elements or members of a container, else 0.
    pub fn len(&self) -> usize {
        self.node().len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The children of a container, in the order of the text.
    pub fn children(&self) -> impl Iterator<Item = DocRef<'d>> + use<'d> {
        let (doc, count) = (self.doc, self.len());
        let mut at = self.at + 1;
        (0..count).map(move |_| {
            let child = DocRef { doc, at };
            at = doc.nodes[at as usize].after;
            child
        })
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<DocRef<'d>> {
        self.get_hashed(key, key_hash(key.as_bytes()))
    }

    /// [`DocRef::get`] with the key's [`key_hash`] already computed.
    pub fn get_hashed(&self, key: &str, key_hash: u64) -> Option<DocRef<'d>> {
        if self.kind() != Kind::Object {
            return None;
        }
        let doc = self.doc;
        let table = &doc.members;
        let mask = table.len() - 1;
        let hash = member_hash(self.at, key_hash);
        let mut at = hash as usize & mask;
        loop {
            let (h, member) = table[at];
            if member == EMPTY {
                return None;
            }
            if h == hash {
                let m = &doc.nodes[member as usize];
                if m.parent == self.at
                    && doc.text.as_bytes()[m.key_start as usize..m.key_end as usize] == *key.as_bytes()
                {
                    return Some(DocRef { doc, at: member });
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Element `i` of a list.
    pub fn index(&self, i: usize) -> Option<DocRef<'d>> {
        if self.kind() != Kind::Array {
            return None;
        }
        self.children().nth(i)
    }

    /// The members of an object in key order, as a map holds them (keys are never repeated:
    /// see [`Doc::parse`]).
    pub fn members_sorted(&self) -> impl Iterator<Item = DocRef<'d>> + use<'d> {
        self.members_sorted_where(|_| true)
    }

    /// [`DocRef::members_sorted`], only those `keep` accepts (the others are not sorted).
    pub fn members_sorted_where<F: FnMut(DocRef<'d>) -> bool>(
        &self,
        mut keep: F,
    ) -> impl Iterator<Item = DocRef<'d>> + use<'d, F> {
        let doc = self.doc;
        let count = if self.kind() == Kind::Object { self.len() } else { 0 };
        // Sorted by their first eight bytes, then the rest: keys hold no NUL, so a shorter
        // key's zero padding sorts it first, as byte order does.
        let mut members: Vec<(u64, u32)> = Vec::with_capacity(count);
        members.extend(self.children().take(count).filter(|m| keep(*m)).map(|m| {
            let key = m.key().as_bytes();
            let mut prefix = [0u8; 8];
            let n = key.len().min(8);
            prefix[..n].copy_from_slice(&key[..n]);
            (u64::from_be_bytes(prefix), m.at)
        }));
        let key = |at: u32| DocRef { doc, at }.key();
        members.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key(a.1).cmp(key(b.1))));
        members.into_iter().map(move |(_, at)| DocRef { doc, at })
    }

    /// The value as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self.kind() {
            Kind::Null => Value::Null,
            Kind::False => Value::Bool(false),
            Kind::True => Value::Bool(true),
            Kind::Int => integer(self.text()),
            Kind::Str => Value::String(self.text().to_string()),
            Kind::Array => Value::Array(self.children().map(|c| c.to_value()).collect()),
            Kind::Object => Value::Object(self.children().map(|c| (c.key().to_string(), c.to_value())).collect()),
        }
    }
}

/// An integer's value from its (checked) text.
fn integer(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(i) => Value::from(i),
        Err(_) => text.parse::<u64>().map(Value::from).unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(text: &str) -> Option<Value> {
        Doc::parse(text.as_bytes()).map(|d| d.to_value())
    }

    #[test]
    fn plain_json_is_the_value_serde_json_parses() {
        for text in [
            r#"{"a":1,"b":[true,false,null,"x",[],{}],"c":{"d":-12,"e":""}}"#,
            r#" { "a" : [ 1 , 2 ] , "z" : { } } "#,
            "[]",
            "\"é😀\"",
            "0",
            "-7",
            "123456789012345678",
            r#"[[[[1]]],[]]"#,
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse(text), Some(want), "{text}");
        }
    }

    #[test]
    fn what_is_not_plain_or_not_json_is_left_to_the_full_parser() {
        for text in [
            r#"{"a":"\n"}"#,
            r#"{"a\"b":1}"#,
            "{\"a\":\"\u{1}\"}",
            "1.5",
            "1e3",
            "-0",
            "01",
            "1234567890123456789",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1",
            "[1] x",
            "tru",
            "",
            "{,}",
            "[1 2]",
            "{\"a\":1]",
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"b":1,"c":2,"b":3}}"#,
        ] {
            assert!(Doc::parse(text.as_bytes()).is_none(), "{text:?} taken");
        }
        assert!(Doc::parse(b"{\"a\":\"\xff\"}").is_none());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(Doc::parse(deep.as_bytes()).is_none());
        let limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Doc::parse(limit.as_bytes()).is_some());
    }

    #[test]
    fn a_string_ends_at_its_quote_wherever_it_stands_and_never_at_an_escape() {
        for len in 0..20 {
            for b in [b'"', b'\\', b'\n', 0x1f, b'a', 0x7f, 0xc3] {
                let mut text = vec![b'x'; len];
                text.push(b);
                text.extend_from_slice(b"yz\"");
                let want = match b {
                    b'"' => Some(len),
                    b'\\' | b'\n' | 0x1f => None,
                    _ => Some(len + 3),
                };
                assert_eq!(string_end(&text, 0), want, "{len} {b}");
            }
        }
        assert_eq!(string_end(b"abc", 0), None, "unterminated");
    }

    #[test]
    fn members_are_found_by_key_and_given_in_key_order() {
        let doc = Doc::parse(br#"{"b":{"x":[10,20]},"b2":2,"a":3}"#).unwrap();
        let root = doc.root();
        assert_eq!(root.get("a").map(|v| v.to_value()), Some(json!(3)));
        assert_eq!(
            root.get("b").and_then(|b| b.get("x")).and_then(|x| x.index(1)).map(|v| v.to_value()),
            Some(json!(20))
        );
        assert!(root.get("c").is_none() && root.index(0).is_none());
        let keys: Vec<(&str, Value)> = root.members_sorted().map(|m| (m.key(), m.to_value())).collect();
        assert_eq!(keys, vec![("a", json!(3)), ("b", json!({"x": [10, 20]})), ("b2", json!(2))]);
        let long =
            Doc::parse(br#"{"eventTypeX":1,"eventTyp":2,"eventType":3,"":4,"eventTypeA":5,"eventTypf":6}"#).unwrap();
        let keys: Vec<&str> = long.root().members_sorted().map(|m| m.key()).collect();
        assert_eq!(keys, ["", "eventTyp", "eventType", "eventTypeA", "eventTypeX", "eventTypf"]);
    }

    /// Plain JSON values: no escapes, integers only.
    fn plain_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-999_999_999_999_999_999i64..=999_999_999_999_999_999).prop_map(Value::from),
            "[ !#-\\[\\]-~é😀]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                // Keys sharing their first eight bytes, and shorter ones, for the key order.
                prop::collection::btree_map("(abcdefgh|abcdefg)?[a-d]{0,2}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_plain_value_round_trips(value in plain_value(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
            let doc = Doc::parse(text.as_bytes());
            prop_assert_eq!(doc.map(|d| d.to_value()), Some(value));
        }
    }
}
