//! `MappingSet::map_to` (the event laid out at load, derived, validated and written in one walk)
//! against the `Value` path it replaces: for every fixture, records mutated at random and
//! records that are not objects at all, the same bytes, the same verdict, the same dead letter,
//! with every option set.

use ocsf_engine::json::doc::Doc;
use ocsf_engine::mapping::{MapOptions, MapToResult, MappingSet};
use ocsf_engine::source::SourceSpec;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::LazyLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(options: MapOptions) -> MappingSet {
    let spec = SourceSpec::load(&root().join("sources/entrust.yaml")).unwrap();
    let params = spec.offline_params(&[]).unwrap();
    MappingSet::load(&spec.mappings, &params, options).expect("the bundled mappings load")
}

static SETS: LazyLock<Vec<MappingSet>> = LazyLock::new(|| {
    vec![
        load(MapOptions::default()),
        load(MapOptions { keep_raw: true, ..MapOptions::default() }),
        load(MapOptions { skip_validation: true, ..MapOptions::default() }),
    ]
});

/// Every fixture record, dead-letter fixtures included.
static FIXTURES: LazyLock<Vec<Value>> = LazyLock::new(|| FIXTURE_TEXTS.iter().map(|(_, v)| v.clone()).collect());

/// Every fixture record with its file's text (pretty-printed, keys in the order written).
static FIXTURE_TEXTS: LazyLock<Vec<(String, Value)>> = LazyLock::new(|| {
    let mut out = Vec::new();
    let mut stack = vec![root().join("tests/fixtures/entrust")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&p).unwrap();
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    out.push((text, v));
                }
            }
        }
    }
    out.sort_by_key(|(_, v)| v.to_string());
    out
});

/// Maps `record` both ways with `set`, and a third when its text parses as a [`Doc`]; panics
/// where they differ. Returns whether the layout decided.
fn same_both_ways(set: &MappingSet, record: &Value) -> bool {
    let decided = same_as_value(set, record, |out| set.map_to_traced(record.clone(), out));
    if let Some(doc) = Doc::parse(record.to_string().as_bytes()) {
        let doc_decided = same_as_value(set, record, |out| set.map_doc_traced(&doc, out));
        assert_eq!(doc_decided, decided, "the layout decides read either way: {record}");
    }
    decided
}

/// Maps `record` the `Value` way and with `map`; panics where they differ. Returns whether the
/// layout decided `map`'s event.
fn same_as_value(set: &MappingSet, record: &Value, map: impl FnOnce(&mut Vec<u8>) -> (MapToResult, bool)) -> bool {
    let by_value = set.map_counted(record.clone());
    let mut out = b"before ".to_vec();
    let (laid_out, decided) = map(&mut out);
    match (by_value, laid_out) {
        (Ok((event, unknown)), Ok((written, unknown_too))) => {
            let mut expected = b"before ".to_vec();
            serde_json::to_writer(&mut expected, &event).unwrap();
            assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected), "{record}");
            assert_eq!(unknown, unknown_too, "{record}");
            let text = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_string);
            assert_eq!(written.time, event.get("time").and_then(Value::as_i64), "{record}");
            assert_eq!(written.class_name, text("class_name"), "{record}");
            assert_eq!(written.type_name, text("type_name"), "{record}");
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_json_line(), b.to_json_line(), "{record}");
            assert_eq!(out, b"before ", "nothing is written for a dead letter: {record}");
        }
        (a, b) => panic!("verdicts differ for {record}: {:?} against {:?}", a.map(|_| ()), b.map(|_| ())),
    }
    decided
}

#[test]
fn every_fixture_maps_to_the_same_bytes_and_verdict() {
    for set in SETS.iter() {
        let decided = FIXTURES.iter().filter(|r| same_both_ways(set, r)).count();
        let mapped = FIXTURES.iter().filter(|r| set.map(Value::clone(r)).is_ok()).count();
        // Every valid event of the fixtures is proven valid by the walk that writes it: the
        // comparison above is between two paths, not the `Value` path with itself.
        assert_eq!(decided, mapped, "events the layout decided");
        assert!(mapped > 150, "{mapped}");
    }
}

/// Every fixture read over its own file's text (pretty-printed, keys in the order written, so
/// `unmapped` must sort them): every one is plain enough to be a [`Doc`], and gives the bytes
/// and verdict of its `Value`, decided by the layout wherever it is valid.
#[test]
fn every_fixture_read_over_its_text_maps_as_its_value() {
    for set in SETS.iter() {
        let mut decided = 0;
        for (text, record) in FIXTURE_TEXTS.iter() {
            let doc = Doc::parse(text.as_bytes()).unwrap_or_else(|| panic!("a plain record: {text}"));
            decided += usize::from(same_as_value(set, record, |out| set.map_doc_traced(&doc, out)));
        }
        let mapped = FIXTURES.iter().filter(|r| set.map(Value::clone(r)).is_ok()).count();
        assert_eq!(decided, mapped, "events the layout decided");
    }
}

#[test]
fn records_that_are_not_objects_or_match_nothing() {
    for record in [json!(null), json!([1]), json!("x"), json!(1.5), json!({}), json!({"eventCategory": 3})] {
        for set in SETS.iter() {
            same_both_ways(set, &record);
        }
    }
}

/// Records given as text, read as `engine map` reads them: values the rules leave in
/// `unmapped` of every JSON kind (escapes, unicode, lists in lists, deep nesting, `-0`, big
/// integers, duplicate keys), and lines that cannot be read at all.
#[test]
fn records_read_from_text_map_to_the_same_bytes_and_verdict() {
    let base = FIXTURES
        .iter()
        .find(|r| {
            r.get("eventType").and_then(Value::as_str) == Some("AuthenticationPasswordSuccessEvent")
                && SETS[0].map(Value::clone(r)).is_ok()
        })
        .expect("a password success fixture that maps")
        .to_string();
    let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let deeper = format!("{}1{}", "[".repeat(130), "]".repeat(130));
    let extras = [
        r#""x":"tab\tquote\"back\\slash\u0001\u001f\u007f""#.to_string(),
        r#""é😀\ud83d\ude00":"\u2028ü""#.to_string(),
        r#""n":[-0,0.0,-0.0,1E2,18446744073709551615,-9223372036854775808,1.5e-300]"#.to_string(),
        r#""lists":[[1],[],[[]],{"a":[[2]]}]"#.to_string(),
        r#""only":[[]],"empty":{},"null":null,"blank":"""#.to_string(),
        r#""dup":1,"dup":{"b":2},"dup":"last""#.to_string(),
        format!(r#""deep":{deep}"#),
        format!(r#""deeper":{deeper}"#),
        r#""big":1e400"#.to_string(),
        r#""huge":123456789012345678901234567890"#.to_string(),
    ];
    let mut text = Vec::new();
    for extra in &extras {
        text.extend_from_slice(base.strip_suffix('}').unwrap().as_bytes());
        text.extend_from_slice(format!(",{extra}}}\n").as_bytes());
    }
    text.extend_from_slice(b"{\"eventType\":\"\xff\"}\n");
    let (mut records, mut docs, mut unreadable, mut decided) = (0, 0, 0, 0);
    for input in ocsf_engine::input::Records::new(&text[..]).with_docs() {
        match input {
            ocsf_engine::input::Input::Record(record) => {
                records += 1;
                for set in SETS.iter() {
                    decided += usize::from(same_both_ways(set, &record));
                }
            }
            ocsf_engine::input::Input::Doc(doc) => {
                docs += 1;
                let record = doc.to_value();
                for set in SETS.iter() {
                    decided += usize::from(same_as_value(set, &record, |out| set.map_doc_traced(&doc, out)));
                    same_both_ways(set, &record);
                }
            }
            _ => unreadable += 1,
        }
    }
    // The nesting past the parser's limit, the inexact numbers and the invalid UTF-8 cannot
    // be read; the lists and the deep nesting are plain.
    assert_eq!((records + docs, unreadable), (extras.len() - 3, 4));
    assert_eq!(docs, 3, "plain enough to be read over their text");
    // The layout wrote most of them (lists in lists go the `Value` way).
    assert!(decided >= 3 * 4, "{decided}");
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "[ -~]{0,24}".prop_map(Value::String),
        // Text that needs escaping, and text beyond ASCII.
        "[\\x00-\\x1f\"\\\\a-z\u{7f}-\u{ff}é\u{2028}😀]{0,12}".prop_map(Value::String),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(-0.0)),
        Just(json!(1.7976931348623157e308)),
        Just(json!("")),
        Just(json!("99")),
        Just(json!("10.0.0.1")),
        Just(json!("2024-05-01T10:00:00.000Z")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A change to a record: a key of it (or of its `auditDetails`) set to a value, or removed.
#[derive(Debug, Clone)]
enum Mutation {
    Set(bool, usize, Value),
    Remove(bool, usize),
    Add(String, Value),
}

fn apply(record: &mut Value, m: &Mutation) {
    let Value::Object(map) = record else { return };
    let (inner, pick) = match m {
        Mutation::Set(inner, pick, _) | Mutation::Remove(inner, pick) => (*inner, *pick),
        Mutation::Add(key, v) => {
            map.insert(key.clone(), v.clone());
            return;
        }
    };
    let target = if inner { map.get_mut("auditDetails").and_then(Value::as_object_mut) } else { Some(map) };
    let Some(target) = target.filter(|t| !t.is_empty()) else { return };
    let key = target.keys().nth(pick % target.len()).unwrap().clone();
    match m {
        Mutation::Set(_, _, v) => {
            target.insert(key, v.clone());
        }
        _ => {
            target.remove(&key);
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<bool>(), any::<usize>(), json_value()).prop_map(|(i, p, v)| Mutation::Set(i, p, v)),
        (any::<bool>(), any::<usize>()).prop_map(|(i, p)| Mutation::Remove(i, p)),
        ("[a-zA-Z]{1,10}", json_value()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_records_map_to_the_same_bytes_and_verdict(
        pick in any::<usize>(),
        set in 0usize..3,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut record = FIXTURES[pick % FIXTURES.len()].clone();
        for m in &mutations {
            apply(&mut record, m);
        }
        same_both_ways(&SETS[set], &record);
    }
}
