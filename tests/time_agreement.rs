//! Record times: every form the mapping's `as: timestamp` accepts, the runner places at the
//! same instant (windows, checkpoints and deduplication follow the runner's reading, the event's
//! `time` the mapping's).
//!
//! The one known difference is left out on purpose: an integer below 10^11 (a number or an
//! integer string) is milliseconds to the mapping and seconds to the runner.

use jiff::civil::{Date, DateTime};
use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::source::SourceSpec;
use ocsf_engine::source::timefmt::parse_instant;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::LazyLock;

static ENTRUST: LazyLock<MappingSet> = LazyLock::new(|| {
    let spec = SourceSpec::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sources/entrust.yaml")).unwrap();
    let params = spec.offline_params(&[]).unwrap();
    MappingSet::load(&spec.mappings, &params, MapOptions::default()).expect("the bundled mappings load")
});

/// An Entrust authentication record whose `eventTime` is `time`.
fn record(time: Value) -> Value {
    json!({
        "id": "3f1d2c4b-0000-4000-8000-000000000001",
        "eventCategory": "AUTHENTICATION",
        "eventType": "AuthenticationPasswordSuccessEvent",
        "eventOutcome": "SUCCESS",
        "eventTime": time,
        "userName": "alice",
    })
}

/// The event time the mapping gives `time`, when it maps (`time` is required, so a record whose
/// time does not coerce is a dead letter).
fn mapped_time(time: &Value) -> Option<i64> {
    ENTRUST.map(record(time.clone())).ok().map(|event| event["time"].as_i64().expect("an integer time"))
}

/// A date-time in one of the spellings records are accepted with, and its instant.
fn spelled() -> impl Strategy<Value = (String, i64)> {
    let date = (0i16..=9999, 1i8..=12, 1i8..=31).prop_filter_map("a real day", |(y, m, d)| Date::new(y, m, d).ok());
    let zone = prop_oneof![
        Just((String::new(), 0)),
        Just(("Z".into(), 0)),
        Just(("z".into(), 0)),
        (any::<bool>(), 0i64..=23, 0i64..=59, 0usize..3).prop_map(|(east, h, m, style)| {
            let sign = if east { '+' } else { '-' };
            let text = match style {
                0 => format!("{sign}{h:02}"),
                1 => format!("{sign}{h:02}{m:02}"),
                _ => format!("{sign}{h:02}:{m:02}"),
            };
            let minutes = if style == 0 { h * 60 } else { h * 60 + m };
            (text, if east { minutes } else { -minutes } * 60_000)
        }),
    ];
    (
        date,
        (0i8..=23, 0i8..=59, 0i8..=60),
        prop_oneof![Just("T"), Just("t"), Just(" ")],
        (0usize..3, "[0-9]{1,12}"),
        zone,
        (any::<bool>(), prop_oneof![Just(""), Just(" "), Just("\t"), Just("\n ")]),
    )
        .prop_map(|(date, (h, mi, s), sep, (detail, fraction), (zone, offset_ms), (date_only, pad))| {
            let midnight = date.to_datetime(jiff::civil::Time::midnight());
            let day_ms =
                i64::try_from(midnight.duration_since(DateTime::constant(1970, 1, 1, 0, 0, 0, 0)).as_millis()).unwrap();
            if date_only {
                return (format!("{pad}{date}{pad}"), day_ms);
            }
            let (mut text, mut ms) =
                (format!("{date}{sep}{h:02}:{mi:02}"), i64::from(h) * 3_600_000 + i64::from(mi) * 60_000);
            if detail >= 1 {
                text.push_str(&format!(":{s:02}"));
                ms += i64::from(s) * 1000;
            }
            if detail == 2 {
                text.push_str(&format!(".{fraction}"));
                let millis = format!("{fraction:0<3}");
                ms += millis[..3].parse::<i64>().unwrap();
            }
            (format!("{pad}{text}{zone}{pad}"), day_ms + ms - offset_ms)
        })
}

/// Text near the date-time grammar: a spelled date-time with a piece cut out, doubled or added.
fn near_miss() -> impl Strategy<Value = String> {
    (spelled(), any::<prop::sample::Index>(), 0usize..4, "[-+:.TZz0-9 a]{1,3}").prop_map(
        |((text, _), at, edit, piece)| {
            let chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len() + 1);
            let (head, tail): (String, String) = (chars[..i].iter().collect(), chars[i..].iter().collect());
            match edit {
                0 => format!("{head}{piece}{tail}"),
                1 => format!("{head}{}", tail.chars().skip(1).collect::<String>()),
                2 => head,
                _ => format!("{head}{head}{tail}"),
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_spelling_of_a_date_time_is_one_instant_to_both((text, instant) in spelled()) {
        let time = json!(text);
        prop_assert_eq!(mapped_time(&time), Some(instant), "the mapping reads {:?}", text);
        prop_assert_eq!(parse_instant(&time), Some(instant), "the runner reads {:?}", text);
    }

    // Entrust's mapping also copies the time to `metadata.original_time`, a string: a number
    // there is a dead letter, so epoch milliseconds come as text.
    #[test]
    fn epoch_milliseconds_are_one_instant_to_both(
        ms in prop_oneof![100_000_000_000i64..253_402_300_800_000, -62_167_219_200_000i64..=-100_000_000_000],
        pad in prop_oneof![Just(""), Just(" ")],
    ) {
        let time = json!(format!("{pad}{ms}{pad}"));
        prop_assert_eq!(mapped_time(&time), Some(ms));
        prop_assert_eq!(parse_instant(&time), Some(ms));
    }

    #[test]
    fn whatever_the_mapping_accepts_the_runner_places_the_same(text in near_miss()) {
        prop_assume!(!text.trim().parse::<i64>().is_ok_and(|x| x.abs() < 100_000_000_000), "the known difference");
        let time = json!(text);
        if let Some(mapped) = mapped_time(&time) {
            prop_assert_eq!(parse_instant(&time), Some(mapped), "{:?}", text);
        }
    }
}
