//! Coercions (`as:`): timestamp → epoch milliseconds, int, bool, ip, string. A value that does
//! not convert gives no value, so the rule falls through to its `default` and the source field
//! stays in `unmapped`.

use serde_json::Value;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coerce {
    Timestamp,
    Int,
    Bool,
    Ip,
    String,
}

impl Coerce {
    pub const NAMES: [&'static str; 5] = ["timestamp", "int", "bool", "ip", "string"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "timestamp" => Coerce::Timestamp,
            "int" => Coerce::Int,
            "bool" => Coerce::Bool,
            "ip" => Coerce::Ip,
            "string" => Coerce::String,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Coerce::Timestamp => "timestamp",
            Coerce::Int => "int",
            Coerce::Bool => "bool",
            Coerce::Ip => "ip",
            Coerce::String => "string",
        }
    }

    /// The JSON type the coercion produces.
    pub fn json_type(self) -> crate::ocsf::JsonType {
        use crate::ocsf::JsonType;
        match self {
            Coerce::Timestamp | Coerce::Int => JsonType::Integer,
            Coerce::Bool => JsonType::Boolean,
            Coerce::Ip | Coerce::String => JsonType::String,
        }
    }

    pub fn apply(self, v: &Value) -> Option<Value> {
        match self {
            Coerce::Timestamp => to_timestamp(v).map(Value::from),
            Coerce::Int => to_int(v).map(Value::from),
            Coerce::Bool => to_bool(v).map(Value::from),
            Coerce::Ip => v.as_str().and_then(|s| s.trim().parse::<IpAddr>().ok()).map(|ip| ip.to_string().into()),
            Coerce::String => match v {
                Value::String(_) => Some(v.clone()),
                Value::Number(n) => Some(n.to_string().into()),
                Value::Bool(b) => Some(b.to_string().into()),
                _ => None,
            },
        }
    }
}

fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Epoch milliseconds from a number (taken as milliseconds) or a date-time string.
fn to_timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| parse_datetime(s.trim())),
        _ => None,
    }
}

/// Parses `YYYY-MM-DD[Thh:mm[:ss[.fff…]]][Z|±hh:mm|±hhmm|±hh]` into UTC epoch milliseconds.
/// A date-time without a zone is UTC; fractions beyond milliseconds are truncated.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
    {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let mut i = 10;
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') {
            return None;
        }
        let (hour, minute) = (num(i + 1, 2)?, num(i + 4, 2)?);
        if b.get(i + 3) != Some(&b':') || hour > 23 || minute > 59 {
            return None;
        }
        ms += hour * 3_600_000 + minute * 60_000;
        i += 6;
        if b.get(i) == Some(&b':') {
            let second = num(i + 1, 2)?;
            if second > 60 {
                return None;
            }
            ms += second * 1000;
            i += 3;
            if b.get(i) == Some(&b'.') {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                let frac = &s[start..i.min(start + 3)];
                ms += frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
            }
        }
        ms -= zone_offset_ms(&s[i..])?;
    }
    Some(ms)
}

/// The offset of a zone designator, in milliseconds east of UTC.
fn zone_offset_ms(zone: &str) -> Option<i64> {
    match zone {
        "" | "Z" | "z" => return Some(0),
        _ => {}
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
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

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn coercions() {
        assert_eq!(Coerce::Ip.apply(&json!("203.0.113.7")), Some(json!("203.0.113.7")));
        assert_eq!(Coerce::Ip.apply(&json!("2001:DB8::1")), Some(json!("2001:db8::1")));
        assert_eq!(Coerce::Ip.apply(&json!("unknown")), None);
        assert_eq!(Coerce::Int.apply(&json!("42")), Some(json!(42)));
        assert_eq!(Coerce::Int.apply(&json!(4.0)), Some(json!(4)));
        assert_eq!(Coerce::Int.apply(&json!("4x")), None);
        assert_eq!(Coerce::Bool.apply(&json!("TRUE")), Some(json!(true)));
        assert_eq!(Coerce::Bool.apply(&json!(2)), None);
        assert_eq!(Coerce::String.apply(&json!(7)), Some(json!("7")));
        assert_eq!(Coerce::String.apply(&json!({"a": 1})), None);
        assert_eq!(Coerce::Timestamp.apply(&json!(1_700_000_000_000i64)), Some(json!(1_700_000_000_000i64)));
        assert_eq!(Coerce::Timestamp.apply(&json!("nope")), None);
    }
}
