//! The engine's instants, on jiff: read from records (the one reading the mapping's `as:
//! timestamp` and the runner's windows share), written in requests, messages, state files and
//! partition names. The date-time grammar stays ours: jiff's Temporal parser also takes forms
//! records were never accepted in (`20251201T201004Z`, `2025-12-01T20Z`, `…[Europe/Paris]`,
//! offsets with seconds), and accepting them would change what maps.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// How window bounds are written in requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2018-08-04T18:15:30Z`
    IsoSeconds,
    /// `2018-08-04T18:15:30` (UTC, no zone designator)
    IsoSecondsNoZone,
    /// `2018-08-04T18:15:30.123Z`
    IsoMillis,
    /// Unix seconds, as a number.
    EpochSeconds,
    /// Unix milliseconds, as a number.
    EpochMillis,
}

impl TimeFormat {
    pub const NAMES: &'static [&'static str] =
        &["iso8601_seconds", "iso8601_seconds_no_zone", "iso8601_millis", "epoch_seconds", "epoch_millis"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "iso8601_seconds" => TimeFormat::IsoSeconds,
            "iso8601_seconds_no_zone" => TimeFormat::IsoSecondsNoZone,
            "iso8601_millis" => TimeFormat::IsoMillis,
            "epoch_seconds" => TimeFormat::EpochSeconds,
            "epoch_millis" => TimeFormat::EpochMillis,
            _ => return None,
        })
    }

    /// The smallest step the format can express, in milliseconds. Window bounds are aligned
    /// to it, so that what a request asks for is exactly what the runner believes it asked.
    pub fn precision_ms(self) -> i64 {
        match self {
            TimeFormat::IsoMillis | TimeFormat::EpochMillis => 1,
            _ => 1000,
        }
    }

    /// The instant `ms` (Unix milliseconds) in this format.
    pub fn format(self, ms: i64) -> Value {
        match self {
            TimeFormat::IsoSeconds => Value::String(format!("{}Z", iso_seconds(ms))),
            TimeFormat::IsoSecondsNoZone => Value::String(iso_seconds(ms)),
            TimeFormat::IsoMillis => Value::String(format!("{}.{:03}Z", iso_seconds(ms), ms.rem_euclid(1000))),
            TimeFormat::EpochSeconds => Value::from(ms.div_euclid(1000)),
            TimeFormat::EpochMillis => Value::from(ms),
        }
    }
}

const EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// The UTC date and time of `ms` (Unix milliseconds), held to the years jiff writes (-9999 to
/// 9999).
fn utc(ms: i64) -> DateTime {
    EPOCH.checked_add(SignedDuration::from_millis(ms)).unwrap_or(if ms < 0 { DateTime::MIN } else { DateTime::MAX })
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix millisecond instant (UTC).
pub fn iso_seconds(ms: i64) -> String {
    utc(ms).strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`, for messages and state files.
pub fn iso_millis(ms: i64) -> String {
    utc(ms).strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The UTC day of a Unix millisecond instant as `YYYYMMDD`, the way partitions name days.
pub fn utc_day(ms: i64) -> String {
    utc(ms).strftime("%Y%m%d").to_string()
}

/// Reads a record's time: an ISO-8601 date-time (`Z`, `.SSS`, `+0000`, `+00:00`, no zone =
/// UTC; [`parse_datetime`]) or a number of Unix seconds (below 10^11) or milliseconds, also
/// written as a string. Surrounding blanks are ignored, as the mapping's `as: timestamp` does.
pub fn parse_instant(v: &Value) -> Option<i64> {
    let epoch = |x: i64| if x.abs() < 100_000_000_000 { x * 1000 } else { x };
    match v {
        Value::String(s) => s.trim().parse::<i64>().ok().map(epoch).or_else(|| parse_datetime(s.trim())),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map(epoch),
        _ => None,
    }
}

/// Parses `YYYY-MM-DD[(T|t| )hh:mm[:ss[.fff…]][Z|z|±hh|±hhmm|±hh:mm]]` into Unix milliseconds:
/// the one reading of a date-time that the mapping's `as: timestamp` and the runner share. No
/// zone means UTC, fractions beyond milliseconds are truncated, second 60 is the next minute's
/// first. The shape is checked here; dates, clock times and their distance from the epoch are
/// jiff's.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i16> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |acc, d| acc * 10 + i16::from(d - b'0')))
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let date = Date::new(num(0, 4)?, i8::try_from(num(5, 2)?).ok()?, i8::try_from(num(8, 2)?).ok()?).ok()?;
    let (mut time, mut offset_ms, mut extra_ms) = (Time::midnight(), 0, 0);
    if b.len() > 10 {
        if !matches!(b[10], b'T' | b't' | b' ') || b.get(13) != Some(&b':') {
            return None;
        }
        let (hour, minute, mut second) = (num(11, 2)?, num(14, 2)?, 0);
        let mut i = 16;
        if b.get(i) == Some(&b':') {
            second = num(i + 1, 2)?;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                let millis = &b[i + 1..i + 1 + digits.min(3)];
                extra_ms =
                    millis.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')) * 10i64.pow(3 - millis.len() as u32);
                i += 1 + digits;
            }
        }
        if second == 60 {
            (second, extra_ms) = (59, extra_ms + 1000);
        }
        time = Time::new(i8::try_from(hour).ok()?, i8::try_from(minute).ok()?, i8::try_from(second).ok()?, 0).ok()?;
        offset_ms = zone_offset_ms(&s[i..])?;
    }
    let since_epoch = date.to_datetime(time).duration_since(EPOCH).as_millis();
    Some(i64::try_from(since_epoch).ok()? + extra_ms - offset_ms)
}

/// The offset of a zone designator (none, `Z`, `±hh`, `±hhmm` or `±hh:mm`) in milliseconds east
/// of UTC.
fn zone_offset_ms(zone: &str) -> Option<i64> {
    let sign = match zone.as_bytes().first() {
        None | Some(b'Z' | b'z') if zone.len() <= 1 => return Some(0),
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) || zone[1..].len() > 5 {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3_600_000 + minutes * 60_000))
}

/// Milliseconds of the current time.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: i64 = 1_764_547_200_123; // 2025-12-01T00:00:00.123Z

    #[test]
    fn formats() {
        assert_eq!(TimeFormat::IsoSeconds.format(T), json!("2025-12-01T00:00:00Z"));
        assert_eq!(TimeFormat::IsoSecondsNoZone.format(T), json!("2025-12-01T00:00:00"));
        assert_eq!(TimeFormat::IsoMillis.format(T), json!("2025-12-01T00:00:00.123Z"));
        assert_eq!(TimeFormat::EpochSeconds.format(T), json!(1_764_547_200));
        assert_eq!(TimeFormat::EpochMillis.format(T), json!(T));
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_seconds(951_782_400_000), "2000-02-29T00:00:00");
    }

    #[test]
    fn parses_record_times() {
        assert_eq!(parse_instant(&json!("2025-12-01T00:00:00.123Z")), Some(T));
        assert_eq!(parse_instant(&json!("2025-12-01T00:00:00.123+0000")), Some(T));
        assert_eq!(parse_instant(&json!("2025-12-01T00:00:00")), Some(T - 123));
        assert_eq!(parse_instant(&json!(1_764_547_200)), Some(T - 123));
        assert_eq!(parse_instant(&json!(T)), Some(T));
        assert_eq!(parse_instant(&json!(" 2025-12-01T00:00:00.123Z\n")), Some(T));
        assert_eq!(parse_instant(&json!("1764547200123")), Some(T));
        assert_eq!(parse_instant(&json!("yesterday")), None);
        assert_eq!(parse_instant(&json!(null)), None);
    }

    #[test]
    fn every_entrust_time_form() {
        // 2025-12-01T20:10:04Z = 1764619804 s
        assert_eq!(parse_datetime("2025-12-01T20:10:04Z"), Some(1_764_619_804_000));
        assert_eq!(parse_datetime("2025-12-01T20:10:04.123Z"), Some(1_764_619_804_123));
        assert_eq!(parse_datetime("2025-12-01T20:10:04"), Some(1_764_619_804_000));
        assert_eq!(parse_datetime("2018-05-28T19:07:50.328+0000"), Some(1_527_534_470_328));
        assert_eq!(parse_datetime("2025-12-01T21:10:04+01:00"), Some(1_764_619_804_000));
        assert_eq!(parse_datetime("2025-12-01T15:10:04.5-05:00"), Some(1_764_619_804_500));
        assert_eq!(parse_datetime("2025-12-01T20:10:04.123456789Z"), Some(1_764_619_804_123));
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-02-30",
            "2025-12-01T25:00:00Z",
            "2025-12-01T20:10:04.Z",
            "2025-12-01T20:10:04+5",
            "2025-12-01X20:10",
            "2025-12-01T20:10:04Zjunk",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
