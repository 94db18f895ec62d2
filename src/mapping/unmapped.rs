//! `unmapped`: every part of the record that no rule turned into OCSF, under its source name,
//! with `null`s, empty strings and emptied containers left out: as a value, or written as text
//! straight from the record.

use super::path::Seg;
use crate::json::access::Json;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The record minus the consumed locations, or `None` when nothing is left.
pub fn unmapped(record: &Value, consumed: &[Cow<'_, [Seg]>]) -> Option<Value> {
    let paths: Vec<&[Seg]> = consumed.iter().map(|c| c.as_ref()).collect();
    strip(record, &paths)
}

fn strip(value: &Value, paths: &[&[Seg]]) -> Option<Value> {
    if paths.is_empty() {
        return clean(value);
    }
    if paths.iter().any(|p| p.is_empty()) {
        return None;
    }
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let under = |p: &[Seg]| matches!(p.first(), Some(Seg::Key(key)) if key.as_str() == k);
                // Most keys are consumed whole or not at all: no list of paths for them.
                let kept = match paths.iter().filter(|p| under(p)).count() {
                    0 => clean(v),
                    _ if paths.iter().any(|p| p.len() == 1 && under(p)) => None,
                    _ => {
                        let sub: Vec<&[Seg]> = paths.iter().filter(|p| under(p)).map(|p| &p[1..]).collect();
                        strip(v, &sub)
                    }
                };
                if let Some(kept) = kept {
                    out.insert(k.clone(), kept);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let out: Vec<Value> = items.iter().enumerate().filter_map(|(i, v)| strip(v, &at_index(paths, i))).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// The rest of each path that goes into element `i` of a list.
fn at_index<'p>(paths: &[&'p [Seg]], i: usize) -> Vec<&'p [Seg]> {
    paths
        .iter()
        .filter_map(|p| match p.split_first() {
            Some((Seg::Index(idx), rest)) if *idx == i => Some(rest),
            _ => None,
        })
        .collect()
}

/// A value no rule consumed anything of: a copy without `null`s, empty strings and emptied
/// containers (what [`strip`] gives with no paths, without gathering paths per key).
fn clean(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Object(map) => {
            let out: Map<String, Value> = map.iter().filter_map(|(k, v)| Some((k.clone(), clean(v)?))).collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let out: Vec<Value> = items.iter().filter_map(clean).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// [`unmapped`] written straight from the record as compact JSON text into `out` (what
/// writing its value would give), without building it. `None` when nothing is left (`out` as
/// it was); else whether the text is plain: no list directly inside a list (it never holds a
/// `null` or an empty object).
/// `members` are (index in `consumed`, [`Json::id`] of the record's member it is) for paths of
/// one key whose member the rules already found, in the order of `consumed`: those are not
/// looked up again.
pub fn write<'a, J: Json<'a>>(
    record: J,
    consumed: &[Cow<'_, [Seg]>],
    members: &[(usize, usize)],
    out: &mut Vec<u8>,
) -> Option<bool> {
    let paths: Vec<&[Seg]> = consumed.iter().map(|c| c.as_ref()).collect();
    let mut plain = true;
    write_stripped(record, &paths, members, out, &mut plain).then_some(plain)
}

/// Writes [`strip`]'s value; `false`, with `out` as it was, where that is `None`. A list kept
/// directly inside a list clears `plain`.
fn write_stripped<'a, J: Json<'a>>(
    value: J,
    paths: &[&[Seg]],
    members: &[(usize, usize)],
    out: &mut Vec<u8>,
    plain: &mut bool,
) -> bool {
    // With no paths this is [`clean`]: every key and element is kept, and nothing is gathered.
    if paths.iter().any(|p| p.is_empty()) {
        return false;
    }
    let mark = out.len();
    if value.is_null() || value.as_str() == Some("") {
        return false;
    }
    if value.is_object() {
        out.push(b'{');
        let mut any = false;
        // The member each path goes into, found once by key (a path whose first step is an
        // index goes into no member of an object).
        let mut known = members.iter().peekable();
        let hits: Vec<(usize, usize)> = (paths.iter().enumerate())
            .filter_map(|(i, p)| {
                if let Some(&(_, member)) = known.next_if(|(at, _)| *at == i) {
                    return Some((member, i));
                }
                match p.first() {
                    Some(Seg::Key(key)) => value.get_key(key).map(|member| (member.id(), i)),
                    _ => None,
                }
            })
            .collect();
        // Members consumed whole, `null`s and empty strings are left out before the others are
        // put in key order.
        let whole = |id: usize| hits.iter().any(|&(member, i)| member == id && paths[i].len() == 1);
        let kept = value.members_where(|v| !(v.is_null() || v.as_str() == Some("") || whole(v.id())));
        for (k, v) in kept {
            let id = v.id();
            let under = hits.iter().filter(|(member, _)| *member == id).map(|&(_, i)| paths[i]);
            let before = out.len();
            if any {
                out.push(b',');
            }
            J::write_str(out, k);
            out.push(b':');
            let kept = match under.clone().count() {
                0 => write_stripped(v, &[], &[], out, plain),
                _ => {
                    let sub: Vec<&[Seg]> = under.map(|p| &p[1..]).collect();
                    write_stripped(v, &sub, &[], out, plain)
                }
            };
            if kept {
                any = true;
            } else {
                out.truncate(before);
            }
        }
        close(out, mark, any, b'}')
    } else if value.is_array() {
        out.push(b'[');
        let mut any = false;
        for (i, v) in value.elements().enumerate() {
            let sub = at_index(paths, i);
            let before = out.len();
            if any {
                out.push(b',');
            }
            if write_stripped(v, &sub, &[], out, plain) {
                *plain &= !v.is_array();
                any = true;
            } else {
                out.truncate(before);
            }
        }
        close(out, mark, any, b']')
    } else {
        value.write_scalar(out);
        true
    }
}

/// Closes a container opened at `mark`, or takes it back out when nothing was kept in it.
fn close(out: &mut Vec<u8>, mark: usize, any: bool, end: u8) -> bool {
    if any {
        out.push(end);
    } else {
        out.truncate(mark);
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::path::dotted_segs;
    use proptest::prelude::*;
    use serde_json::json;

    fn run(record: Value, consumed: &[&str]) -> Option<Value> {
        let segs: Vec<Vec<Seg>> = consumed.iter().map(|c| dotted_segs(c)).collect();
        let cows: Vec<Cow<[Seg]>> = segs.iter().map(|s| Cow::Borrowed(s.as_slice())).collect();
        let value = unmapped(&record, &cows);
        same_as_text(&record, &cows, value.as_ref());
        value
    }

    /// [`write`] gives the text of [`unmapped`]'s value, and whether it is plain, reading the
    /// record as a `Value` and, when it is plain enough, over its text.
    fn same_as_text(record: &Value, consumed: &[Cow<'_, [Seg]>], value: Option<&Value>) {
        let mut text = b"before".to_vec();
        let plain = write(record, consumed, &[], &mut text);
        if let Some(doc) = crate::json::doc::Doc::parse(record.to_string().as_bytes()) {
            let mut from_doc = b"before".to_vec();
            let doc_plain = write(doc.root(), consumed, &[], &mut from_doc);
            // The same, told which members the paths of one key are.
            let members: Vec<(usize, usize)> = (consumed.iter().enumerate())
                .filter_map(|(i, c)| match c.as_ref() {
                    [Seg::Key(key)] => doc.root().get_key(key).map(|m| (i, m.id())),
                    _ => None,
                })
                .collect();
            let mut told = b"before".to_vec();
            assert_eq!(write(doc.root(), consumed, &members, &mut told), doc_plain);
            assert_eq!(told, from_doc);
            assert_eq!((doc_plain, String::from_utf8_lossy(&from_doc)), (plain, String::from_utf8_lossy(&text)));
        }
        match value {
            Some(v) => {
                assert_eq!(String::from_utf8_lossy(&text), format!("before{v}"), "{record}");
                assert_eq!(plain, Some(crate::ocsf::validate::plain(v)), "{record}");
            }
            None => assert_eq!((plain, text.as_slice()), (None, &b"before"[..]), "{record}"),
        }
    }

    /// Any JSON value, a few levels deep, with keys and indexes the paths below name.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            Just(json!(-0.0)),
            Just(json!(1.5e300)),
            "[ -~\\x00-\\x1fé😀]{0,6}".prop_map(Value::String),
            Just(json!("")),
            // What a record read over its text holds (no escapes, short integers).
            (-1000i64..1000).prop_map(Value::from),
            "[a-z é😀]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c0-2\"]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn seg() -> impl Strategy<Value = Seg> {
        prop_oneof![(0usize..3).prop_map(Seg::Index), "[a-c0-2\"]{1,2}".prop_map(|k| Seg::Key(k.into()))]
    }

    proptest! {
        #[test]
        fn the_text_is_the_value_written(
            record in json_value(),
            consumed in prop::collection::vec(prop::collection::vec(seg(), 0..4), 0..5),
        ) {
            let cows: Vec<Cow<[Seg]>> = consumed.iter().map(|s| Cow::Borrowed(s.as_slice())).collect();
            let value = unmapped(&record, &cows);
            same_as_text(&record, &cows, value.as_ref());
        }
    }

    #[test]
    fn lists_in_lists_are_not_plain() {
        let rec = json!({"a": [[1], {"b": [[]]}], "c": [1, [2]]});
        assert_eq!(run(rec.clone(), &["c"]), Some(json!({"a": [[1]]})));
        assert_eq!(run(rec.clone(), &["a.0", "c.1"]), Some(json!({"c": [1]})));
        assert_eq!(run(rec, &["a.0"]), Some(json!({"c": [1, [2]]})));
    }

    #[test]
    fn keeps_what_was_not_consumed() {
        let rec = json!({"id": "1", "token": "OTP", "n": null, "e": "", "auditDetails": {"messageTokens": ["a"], "entityAttributes": [{"name": "x"}]}});
        assert_eq!(
            run(rec, &["id", "auditDetails.entityAttributes"]),
            Some(json!({"token": "OTP", "auditDetails": {"messageTokens": ["a"]}}))
        );
    }

    #[test]
    fn list_elements_can_be_consumed_one_by_one() {
        let rec = json!({"a": [{"v": 1}, {"v": 2}]});
        assert_eq!(run(rec, &["a.0"]), Some(json!({"a": [{"v": 2}]})));
    }

    #[test]
    fn paths_sharing_steps_are_each_taken_out() {
        let rec =
            json!({"a": [{"v": 1, "w": 2, "x": 3}, {"v": 4}], "b": {"x": 1, "y": 2}, "c": 3, "d": {"0": 5, "1": 6}});
        assert_eq!(
            run(rec, &["b.x", "a.0.w", "a.1", "c", "a.0.v", "zz", "d.0", "b.x"]),
            Some(json!({"a": [{"x": 3}], "b": {"y": 2}, "d": {"0": 5, "1": 6}}))
        );
    }

    #[test]
    fn nothing_left_is_none() {
        assert_eq!(run(json!({"a": 1, "b": {"c": null}}), &["a"]), None);
    }
}
