//! The native schema checker gives the verdicts of the `jsonschema` crate: over the event of
//! every fixture, the OCSF reference cases, and events mutated at random (values replaced,
//! attributes removed or added, numbers and strings bent towards the schemas' edges). The
//! check resolved at load for a layout of keys (`CoreSchema::plan`) gives the same verdicts.

use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::ocsf::core_schema::{Field, Filled, Layout};
use ocsf_engine::ocsf::validate::{native_schema, native_verdict, reference_verdict};
use ocsf_engine::source::SourceSpec;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::LazyLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The event of every fixture that maps, plus the OCSF reference cases and examples.
static EVENTS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let spec = SourceSpec::load(&root().join("sources/entrust.yaml")).unwrap();
    let params = spec.offline_params(&[]).unwrap();
    let set = MappingSet::load(&spec.mappings, &params, MapOptions::default()).unwrap();
    let mut events: Vec<Value> = files(root().join("tests/fixtures/entrust"))
        .iter()
        .filter_map(|p| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).ok())
        .filter_map(|record| set.map(record).ok())
        .collect();
    events.extend(reference_cases());
    events
});

fn example(name: &str) -> Value {
    let path = root().join("src/ocsf/data/1.5.0/examples").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The 35 reference cases (each a patched example) and the two examples.
fn reference_cases() -> Vec<Value> {
    let cases = example("cases.json");
    let mut out = vec![example("authentication_logon_mfa_success.json"), example("entity_management_create.json")];
    for case in cases["cases"].as_array().unwrap() {
        let mut event = example(case["base"].as_str().unwrap());
        for op in case["patch"].as_array().unwrap() {
            let path = op["path"].as_str().unwrap();
            let (parent, last) = path.rsplit_once('/').unwrap();
            let last = last.replace("~1", "/").replace("~0", "~");
            match (op["op"].as_str().unwrap(), event.pointer_mut(parent).unwrap()) {
                ("add", Value::Object(map)) => {
                    map.insert(last, op["value"].clone());
                }
                ("add", Value::Array(items)) if last == "-" => items.push(op["value"].clone()),
                ("add", Value::Array(items)) => items.insert(last.parse().unwrap(), op["value"].clone()),
                ("remove", Value::Object(map)) => {
                    map.remove(&last);
                }
                ("remove", Value::Array(items)) => {
                    items.remove(last.parse().unwrap());
                }
                (other, _) => panic!("unsupported patch op {other}"),
            }
        }
        out.push(event);
    }
    out
}

fn agree(event: &Value) -> Result<(), String> {
    let (native, reference) = (native_verdict(event), reference_verdict(event));
    if native != reference {
        return Err(format!("native {native:?}, jsonschema {reference:?} on {event}"));
    }
    // The check of an event laid out by a mapping (objects as sorted fields, as
    // `MappingSet::map_to` writes them), with its objects laid out to every depth.
    for depth in [1, 8] {
        let laid_out = fields_verdict(event, depth);
        if laid_out.is_some() && laid_out != native {
            return Err(format!("laid out to depth {depth}: {laid_out:?}, native {native:?} on {event}"));
        }
        // The same through the plan of a layout holding every key of the class's events.
        let Some(valid) = native else { continue };
        match plan_verdict(event, depth) {
            Some(planned) if planned != valid => {
                return Err(format!("planned to depth {depth}: {planned}, native {valid} on {event}"));
            }
            // No plan: a node compares an object whole, which no valid event has there.
            None if valid => return Err(format!("no plan to depth {depth} for the valid {event}")),
            _ => {}
        }
    }
    Ok(())
}

/// The union of the keys of `objects`, as a mapping lays out the keys it can write: a key
/// whose every value is an object (down to `depth`) an object of the layout, any other a value;
/// a value that every object holds, the same in each, a constant of the layout.
fn layout(objects: &[&serde_json::Map<String, Value>], depth: usize) -> Layout {
    let mut keys: std::collections::BTreeMap<&str, Vec<&Value>> = Default::default();
    for map in objects {
        for (k, v) in map.iter() {
            keys.entry(k.as_str()).or_default().push(v);
        }
    }
    let mut fixed = Vec::new();
    let keys = keys.into_iter().map(|(k, values)| {
        let inner: Option<Vec<_>> = values.iter().map(|v| v.as_object()).collect();
        let child = inner.filter(|_| depth > 1).map(|inner| layout(&inner, depth - 1));
        let same = values.len() == objects.len() && values.iter().all(|v| *v == values[0]);
        fixed.push(Some(values[0].clone()).filter(|_| same && child.is_none()));
        (k.to_string(), child)
    });
    Layout { keys: keys.collect(), fixed }
}

/// `map` as a record fills `layout`: keys it lacks absent.
fn fill<'a>(layout: &Layout, map: &'a serde_json::Map<String, Value>) -> Vec<Option<Filled<'a>>> {
    let member = |(k, child): &(String, Option<Layout>)| {
        let v = map.get(k)?;
        Some(match (child, v) {
            (Some(child), Value::Object(inner)) => Filled::Object(fill(child, inner)),
            _ => Filled::Value(v),
        })
    };
    layout.keys.iter().map(member).collect()
}

/// The verdict of the plan of the layout of every event of `event`'s class and `event`
/// itself, on `event`; `None` where that layout has no plan.
fn plan_verdict(event: &Value, depth: usize) -> Option<bool> {
    let class = event.get("class_uid")?;
    let schema = native_schema(class.as_i64()?)?;
    let mut objects: Vec<_> =
        EVENTS.iter().filter(|e| e.get("class_uid") == Some(class)).filter_map(Value::as_object).collect();
    objects.push(event.as_object()?);
    let layout = layout(&objects, depth);
    Some(schema.plan(&layout)?.is_valid(&fill(&layout, event.as_object()?)))
}

/// The verdict of the native checker on `event` given as sorted fields, its objects down to
/// `depth` as fields and deeper ones as values.
fn fields_verdict(event: &Value, depth: usize) -> Option<bool> {
    fn fields(map: &serde_json::Map<String, Value>, depth: usize) -> Vec<(&str, Field<'_>)> {
        map.iter()
            .map(|(k, v)| match v {
                Value::Object(inner) if depth > 1 => (k.as_str(), Field::Object(fields(inner, depth - 1))),
                other => (k.as_str(), Field::Value(other)),
            })
            .collect()
    }
    let schema = native_schema(event.get("class_uid")?.as_i64()?)?;
    Some(schema.is_valid_fields(&fields(event.as_object()?, depth)))
}

#[test]
fn fixture_events_and_reference_cases_get_the_same_verdicts() {
    assert!(EVENTS.len() > 200 + 35, "{}", EVENTS.len());
    let mut valid = 0;
    for event in EVENTS.iter() {
        agree(event).unwrap();
        valid += usize::from(native_verdict(event) == Some(true));
    }
    // Both verdicts occur: the reference cases include invalid events.
    assert!(valid > 200 && valid < EVENTS.len(), "{valid} of {}", EVENTS.len());
}

/// Every location in a value: the JSON Pointers of its objects' keys and arrays' elements.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

/// Replacement values near what the schemas test: types, enum edges, port bounds, IP-like
/// and UUID-like strings, long strings, fractions, nested junk.
fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..120).prop_map(Value::from),
        prop_oneof![Just(json!(65535)), Just(json!(65536)), Just(json!(-1)), Just(json!(1.0)), Just(json!(2.5))],
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::String),
        "[0-9.:a-fA-F%]{0,45}".prop_map(Value::String),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Value::String),
        "[a-z.]{1,8}@[a-z-]{1,6}\\.[a-z]{2,3}".prop_map(Value::String),
        Just(json!({})),
        Just(json!([])),
        Just(json!([{"name": "x"}])),
        Just(json!({"name": "x", "uid": "y"})),
        Just(json!({"unexpected": 1})),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Add(usize, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), replacement()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<usize>().prop_map(Mutation::Remove),
        1 => (any::<usize>(), "[a-z_]{1,12}", replacement()).prop_map(|(i, k, v)| Mutation::Add(i, k, v)),
    ]
}

fn apply(event: &mut Value, m: &Mutation) {
    let mut ptrs = Vec::new();
    pointers(event, String::new(), &mut ptrs);
    if ptrs.is_empty() {
        return;
    }
    let pick = |i: &usize| ptrs[i % ptrs.len()].clone();
    match m {
        Mutation::Replace(i, v) => {
            if let Some(slot) = event.pointer_mut(&pick(i)) {
                *slot = v.clone();
            }
        }
        Mutation::Remove(i) => {
            let p = pick(i);
            let (parent, last) = p.rsplit_once('/').unwrap();
            match event.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(items)) => {
                    items.remove(last.parse::<usize>().unwrap());
                }
                _ => {}
            }
        }
        Mutation::Add(i, key, v) => {
            let p = pick(i);
            let (parent, _) = p.rsplit_once('/').unwrap();
            if let Some(Value::Object(map)) = event.pointer_mut(parent) {
                map.insert(key.clone(), v.clone());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn mutated_events_get_the_same_verdicts(
        base in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut event = EVENTS[base.index(EVENTS.len())].clone();
        for m in &mutations {
            apply(&mut event, m);
        }
        prop_assert!(agree(&event).is_ok(), "{}", agree(&event).unwrap_err());
    }
}
