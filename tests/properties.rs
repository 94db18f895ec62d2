//! Property tests: hostile records through the mapper and hostile YAML through the loader.
//!
//! Whatever the input, the mapper never panics and every record comes out as a valid OCSF
//! event or a reason-coded dead letter carrying the record; the loader never panics and every
//! problem it reports is located in the file.

use ocsf_engine::deadletter::Reason;
use ocsf_engine::diagnostic::{ErrorKind, render_all};
use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::ocsf::validate;
use ocsf_engine::source::SourceSpec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(spec: &Path) -> Result<MappingSet, Vec<ocsf_engine::diagnostic::Diagnostic>> {
    let spec = SourceSpec::load(spec)?;
    let params = spec.offline_params(&[])?;
    MappingSet::load(&spec.mappings, &params, MapOptions::default())
}

static ENTRUST: LazyLock<MappingSet> =
    LazyLock::new(|| load(&root().join("sources/entrust.yaml")).expect("the bundled mappings load"));

static FIXTURES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut out = Vec::new();
    let mut stack = vec![root().join("tests/fixtures/entrust")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(Value::Object(m)) = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()) {
                out.push(Value::Object(m));
            }
        }
    }
    out.sort_by_key(|v| v.to_string());
    out
});

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "[ -~]{0,24}".prop_map(Value::String),
        Just(json!("")),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A string that is sometimes a real Entrust value, sometimes not.
fn sometimes(real: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(real).prop_map(|s| json!(s)),
        1 => json_value(),
    ]
}

const CATEGORIES: &[&str] = &["AUTHENTICATION", "MANAGEMENT", "ISSUANCE"];
const EVENT_TYPES: &[&str] = &[
    "AuthenticationPasswordSuccessEvent",
    "AuthenticationSecondFactorOtpSuccessEvent",
    "SamlAuthenticationFailedEvent",
    "AuthenticationOtpNoCreditEvent",
    "AuthenticationExternalSecondFactorBypassEvent",
    "AuthenticationLockedEvent",
    "SomethingNewEvent",
];
const ENTITY_TYPES: &[&str] =
    &["USERS", "GROUPS", "TENANTS", "CONTEXTRULES", "USERMACHINES", "IPLISTS", "FIDOTOKENS", "NEWTHING"];
const ACTIONS: &[&str] = &["ADD", "edit", "REMOVE", "RESET", "Unlock", ""];
const TIMES: &[&str] = &[
    "2025-12-01T20:10:04Z",
    "2025-12-01T20:10:04.123Z",
    "2018-05-28T19:07:50.328+0000",
    "2025-12-01T20:10:04",
    "soon",
];
const SUBJECT_TYPES: &[&str] = &["USER", "ADMIN_API", "SERVICE_PROVIDER", "AGENT", "ROBOT"];
const IPS: &[&str] = &["203.0.113.7", "2001:db8::1", "unknown", "999.1.1.1"];

/// Records shaped like Entrust's, with hostile values anywhere.
fn entrust_like() -> impl Strategy<Value = Value> {
    (
        (sometimes(CATEGORIES), sometimes(EVENT_TYPES), sometimes(ENTITY_TYPES), sometimes(ACTIONS)),
        (sometimes(TIMES), sometimes(SUBJECT_TYPES), sometimes(IPS), sometimes(&["SUCCESS", "FAIL"])),
        (json_value(), json_value(), json_value(), json_value()),
        prop::collection::vec(any::<bool>(), 12),
    )
        .prop_map(|((cat, et, ent, act), (time, st, ip, outcome), (subject, name, token, details), keep)| {
            let fields = [
                ("eventCategory", cat),
                ("eventType", et),
                ("entityType", ent),
                ("entityAction", act),
                ("eventTime", time),
                ("subjectType", st),
                ("sourceIp", ip),
                ("eventOutcome", outcome),
                ("subject", subject),
                ("subjectName", name),
                ("token", token),
                ("auditDetails", details),
            ];
            let mut map = Map::new();
            map.insert("id".into(), json!("3f1d2c4b-0000-4000-8000-000000000001"));
            for ((k, v), keep) in fields.into_iter().zip(keep) {
                if keep {
                    map.insert(k.into(), v);
                }
            }
            Value::Object(map)
        })
}

/// Maps a record and checks the one promise: a valid event, or a dead letter that says why.
fn check_mapping(record: Value) -> Result<(), TestCaseError> {
    match ENTRUST.map(record.clone()) {
        Ok(event) => {
            prop_assert!(matches!(event["class_uid"].as_i64(), Some(3002 | 3004)), "{event}");
            prop_assert_eq!(validate(&event), Ok(()));
        }
        Err(dl) => {
            prop_assert!(matches!(dl.reason, Reason::InvalidRecord | Reason::NoMapping | Reason::InvalidOcsf));
            prop_assert!(!dl.message.is_empty());
            prop_assert_eq!(&dl.record, &record);
            if dl.reason == Reason::InvalidOcsf {
                prop_assert!(!dl.details.is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_the_mapper(record in json_value()) {
        check_mapping(record)?;
    }

    #[test]
    fn entrust_shaped_records_become_valid_events_or_dead_letters(record in entrust_like()) {
        check_mapping(record)?;
    }

    #[test]
    fn mutated_fixtures_become_valid_events_or_dead_letters(
        index in any::<prop::sample::Index>(),
        key in any::<prop::sample::Index>(),
        replacement in prop::option::of(json_value()),
    ) {
        let mut record = FIXTURES[index.index(FIXTURES.len())].clone();
        let map = record.as_object_mut().unwrap();
        let keys: Vec<String> = map.keys().cloned().collect();
        let key = &keys[key.index(keys.len())];
        match replacement {
            Some(v) => { map.insert(key.clone(), v); }
            None => { map.remove(key); }
        }
        check_mapping(record)?;
    }
}

/// Characters that matter to YAML's syntax.
const YAML_NOISE: &[&str] =
    &[":", "-", " ", "  ", "{", "}", "[", "]", "'", "\"", "\n", "#", "&a", "*a", "!", "|", ">", "x", "\t", "~"];

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: prop::sample::Index, len: usize },
    Insert { at: prop::sample::Index, text: &'static str },
    DropLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1usize..12).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<prop::sample::Index>(), prop::sample::select(YAML_NOISE))
            .prop_map(|(at, text)| Edit::Insert { at, text }),
        any::<prop::sample::Index>().prop_map(Edit::DropLine),
        any::<prop::sample::Index>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<&str> = text.lines().collect();
    match edit {
        Edit::Delete { at, len } => {
            let start = at.index(chars.len());
            chars[..start].iter().chain(chars[(start + len).min(chars.len())..].iter()).collect()
        }
        Edit::Insert { at, text } => {
            let at = at.index(chars.len() + 1);
            chars[..at].iter().collect::<String>() + text + &chars[at..].iter().collect::<String>()
        }
        Edit::DropLine(i) => {
            lines.remove(i.index(lines.len()));
            lines.join("\n") + "\n"
        }
        Edit::DuplicateLine(i) => {
            let i = i.index(lines.len());
            lines.insert(i, lines[i]);
            lines.join("\n") + "\n"
        }
    }
}

/// The language tour's spec and mappings, copied so that one file can be broken.
const TOUR_FILES: &[&str] = &["spec.yaml", "mappings/_base.yaml", "mappings/login.yaml", "mappings/logout.yaml"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn broken_yaml_is_always_a_located_error_never_a_panic(
        file in 0..TOUR_FILES.len(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let src = root().join("tests/language");
        let dir = std::env::temp_dir().join(format!("ocsf-engine-prop-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mappings")).unwrap();
        let mut broken = String::new();
        for (i, name) in TOUR_FILES.iter().enumerate() {
            let mut text = std::fs::read_to_string(src.join(name)).unwrap();
            if i == file {
                for e in &edits {
                    text = apply(&text, e);
                }
                broken = text.clone();
            }
            std::fs::write(dir.join(name), text).unwrap();
        }
        let result = load(&dir.join("spec.yaml"));
        std::fs::remove_dir_all(&dir).unwrap();
        if let Err(diags) = result {
            prop_assert!(!diags.is_empty());
            let lines = broken.lines().count() as u32 + 1;
            for d in &diags {
                let unlocated_ok = matches!(d.kind, ErrorKind::Io { .. } | ErrorKind::NoMappings { .. });
                prop_assert!(d.span.is_some() || unlocated_ok, "unlocated: {d}");
                if let Some(span) = &d.span {
                    prop_assert!(span.line >= 1, "{d}");
                    if span.file.path.ends_with(TOUR_FILES[file]) {
                        prop_assert!(span.line <= lines, "{d} (file has {lines} lines)");
                    }
                }
            }
            prop_assert!(render_all(&diags).contains("error["));
        }
    }
}
