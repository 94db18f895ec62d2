//! UTC time as Unix milliseconds: formatting the Entrust timestamp forms and parsing query values.
//! On jiff directly, not the engine's time module, so that client and server do not agree by
//! construction; the query grammar (seconds required, `T` only) is the server's own.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, Timestamp};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch for a `SystemTime` (negative before 1970).
pub fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

const EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// `ms` in UTC with a `strftime` pattern (years held to -9999..9999).
fn format(ms: i64, pattern: &str) -> String {
    let utc = EPOCH.checked_add(SignedDuration::from_millis(ms));
    utc.unwrap_or(if ms < 0 { DateTime::MIN } else { DateTime::MAX }).strftime(pattern).to_string()
}

/// `YYYY-MM-DDTHH:MM:SSZ` (sub-second part dropped).
pub fn format_seconds_z(ms: i64) -> String {
    format(ms, "%Y-%m-%dT%H:%M:%SZ")
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn format_millis_z(ms: i64) -> String {
    format(ms, "%Y-%m-%dT%H:%M:%S%.3fZ")
}

/// `YYYY-MM-DDTHH:MM:SS.sss+0000`, the form of Entrust's 2018 samples.
pub fn format_millis_plus0000(ms: i64) -> String {
    format(ms, "%Y-%m-%dT%H:%M:%S%.3f+0000")
}

/// `YYYY-MM-DDTHH:MM:SS` with no zone designator (meaning UTC), sub-second part dropped.
pub fn format_seconds_no_zone(ms: i64) -> String {
    format(ms, "%Y-%m-%dT%H:%M:%S")
}

/// Why a time value was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeParseError(pub String);

impl std::fmt::Display for TimeParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = s.get(at..at + n)?;
    let mut v: u32 = 0;
    for b in slice {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

/// Parses an ISO-8601 UTC date-time as accepted in search attributes:
/// `YYYY-MM-DDTHH:MM:SS`, optionally followed by a fraction of 1–9 digits (kept to the
/// millisecond, truncated), then optionally `Z`, `+0000`, `+00:00` or any other `±HH[:]MM`
/// offset. Returns Unix milliseconds.
pub fn parse_timestamp(s: &str) -> Result<i64, TimeParseError> {
    let err = || {
        TimeParseError(format!(
            "'{}' is not an ISO-8601 UTC date-time such as 2018-08-04T18:15:30",
            truncate_for_message(s)
        ))
    };
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let y = digits(b, 0, 4).ok_or_else(err)?;
    let mo = digits(b, 5, 2).ok_or_else(err)?;
    let d = digits(b, 8, 2).ok_or_else(err)?;
    let h = digits(b, 11, 2).ok_or_else(err)?;
    let mi = digits(b, 14, 2).ok_or_else(err)?;
    let sec = digits(b, 17, 2).ok_or_else(err)?;
    let small = |v: u32| i8::try_from(v).map_err(|_| err());
    let date = Date::new(i16::try_from(y).map_err(|_| err())?, small(mo)?, small(d)?).map_err(|_| err())?;
    let time = Time::new(small(h)?, small(mi)?, small(sec)?, 0).map_err(|_| err())?;
    let mut i = 19;
    let mut millis: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return Err(err());
        }
        for k in 0..3 {
            let digit = if start + k < i { u32::from(b[start + k] - b'0') } else { 0 };
            millis = millis * 10 + digit;
        }
    }
    let offset_minutes: i64 = match &b[i..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest.len() {
                4 => (digits(rest, 0, 2), digits(rest, 2, 2)),
                5 if rest[2] == b':' => (digits(rest, 0, 2), digits(rest, 3, 2)),
                _ => (None, None),
            };
            let (oh, om) = (oh.ok_or_else(err)?, om.ok_or_else(err)?);
            if oh > 23 || om > 59 {
                return Err(err());
            }
            let total = i64::from(oh * 60 + om);
            if *sign == b'+' { total } else { -total }
        }
        _ => return Err(err()),
    };
    let since_epoch = i64::try_from(date.to_datetime(time).duration_since(EPOCH).as_millis()).map_err(|_| err())?;
    Ok(since_epoch - offset_minutes * 60_000 + i64::from(millis))
}

/// Shortens user input before echoing it in an error message.
pub fn truncate_for_message(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        let head: String = s.chars().take(61).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // 2018-05-28T19:07:50.328Z
        let ms = 1_527_534_470_328;
        assert_eq!(format_seconds_z(ms), "2018-05-28T19:07:50Z");
        assert_eq!(format_millis_z(ms), "2018-05-28T19:07:50.328Z");
        assert_eq!(format_millis_plus0000(ms), "2018-05-28T19:07:50.328+0000");
        assert_eq!(format_seconds_no_zone(ms), "2018-05-28T19:07:50");
        assert_eq!(format_millis_z(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis_z(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_every_accepted_form() {
        let ms = 1_527_534_470_000;
        assert_eq!(parse_timestamp("2018-05-28T19:07:50"), Ok(ms));
        assert_eq!(parse_timestamp("2018-05-28T19:07:50Z"), Ok(ms));
        assert_eq!(parse_timestamp("2018-05-28T19:07:50.328Z"), Ok(ms + 328));
        assert_eq!(parse_timestamp("2018-05-28T19:07:50.3"), Ok(ms + 300));
        assert_eq!(parse_timestamp("2018-05-28T19:07:50.328999999Z"), Ok(ms + 328));
        assert_eq!(parse_timestamp("2018-05-28T19:07:50.328+0000"), Ok(ms + 328));
        assert_eq!(parse_timestamp("2018-05-28T19:07:50+00:00"), Ok(ms));
        assert_eq!(parse_timestamp("2018-05-28T21:07:50+02:00"), Ok(ms));
        assert_eq!(parse_timestamp("2018-05-28T18:07:50-0100"), Ok(ms));
        assert_eq!(parse_timestamp("2024-02-29T00:00:00"), Ok(1_709_164_800_000));
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "2018-05-28",
            "2018-05-28 19:07:50",
            "2018-13-28T19:07:50",
            "2018-02-29T19:07:50",
            "2018-05-28T24:00:00",
            "2018-05-28T19:60:00",
            "2018-05-28T19:07:60",
            "2018-05-28T19:07:50.",
            "2018-05-28T19:07:50.1234567890",
            "2018-05-28T19:07:50ZZ",
            "2018-05-28T19:07:50+0",
            "2018-05-28T19:07:50+25:00",
            "2018-05-28T19:07:5x",
            "yesterday at noon, roughly",
            "2018-05-28T19:07:50\u{e9}",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn format_parse_round_trip() {
        for ms in [0i64, 1_700_000_000_123, 1_527_534_470_328, 4_102_444_799_999] {
            assert_eq!(parse_timestamp(&format_millis_z(ms)), Ok(ms));
            assert_eq!(parse_timestamp(&format_millis_plus0000(ms)), Ok(ms));
            assert_eq!(parse_timestamp(&format_seconds_z(ms)), Ok(ms - ms % 1000));
        }
    }
}
