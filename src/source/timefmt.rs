//! Instants as a source API wants them in requests (window bounds) and as records carry them.

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

/// `YYYY-MM-DDTHH:MM:SS` of a Unix millisecond instant (UTC).
pub fn iso_seconds(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`, for messages and state files.
pub fn iso_millis(ms: i64) -> String {
    format!("{}.{:03}Z", iso_seconds(ms), ms.rem_euclid(1000))
}

/// Reads a record's time: an ISO-8601 date-time (`Z`, `.SSS`, `+0000`, `+00:00`, no zone =
/// UTC) or a number of Unix seconds (below 10^11) or milliseconds.
pub fn parse_instant(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => crate::mapping::parse_datetime(s),
        Value::Number(n) => {
            let x = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            Some(if x.abs() < 100_000_000_000 { x * 1000 } else { x })
        }
        _ => None,
    }
}

/// Milliseconds of the current time.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
        assert_eq!(parse_instant(&json!("yesterday")), None);
        assert_eq!(parse_instant(&json!(null)), None);
    }
}
