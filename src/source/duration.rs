//! ISO-8601 durations (`PT5M`, `P1D`, `P2W`, `PT1H30M`, `PT0.5S`) as used in source specs and
//! parameters such as `range`. Hand-written, not jiff's span parser: jiff 1.0 refuses forms specs
//! are accepted with (`P1.5D`: "expected to find date unit designator"; `PT1.5H30M`: "unparsed
//! input") and takes signed ones (`-P1D`), and its `PT0.5S` is not our `PT0.500S`.

use std::time::Duration;

/// Parses an ISO-8601 duration made of weeks, days, hours, minutes and seconds. Years and
/// months are refused: their length is not fixed.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let s = text.trim();
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p'))?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.find(['T', 't']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut millis: u128 = 0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, u128)]| -> Option<()> {
        let mut number = String::new();
        let mut last_unit = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let pos = units.iter().position(|(u, _)| u.eq_ignore_ascii_case(&c))?;
            if pos < last_unit || number.is_empty() {
                return None;
            }
            last_unit = pos + 1;
            let unit = units[pos].1;
            let value = match number.split_once('.') {
                None => number.parse::<u128>().ok()?.checked_mul(unit)?,
                Some((whole, frac)) => {
                    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
                    let frac_digits: String = frac.chars().take(9).collect();
                    if frac_digits.is_empty() || !frac_digits.chars().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    let scale = 10u128.pow(frac_digits.len() as u32);
                    whole.checked_mul(unit)? + frac_digits.parse::<u128>().ok()? * unit / scale
                }
            };
            millis = millis.checked_add(value)?;
            any = true;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    take(date, &[('W', 7 * 86_400_000), ('D', 86_400_000)])?;
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        take(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1000)])?;
    }
    if !any {
        return None;
    }
    Some(Duration::from_millis(u64::try_from(millis).ok()?))
}

/// Why `text` is not a duration [`parse_duration`] reads, as the end of a sentence: months and
/// years (`P1M`, `P1Y`) are named, with the same span in days to write instead.
pub fn problem(text: &str) -> String {
    match in_days(text) {
        Some(days) => format!(
            "`{text}` counts months or years, which are not accepted (their length varies): write days, such as {days}"
        ),
        None => format!("`{text}` is not an ISO-8601 duration such as PT5M or P1D"),
    }
}

/// For a duration with years or months, the same with a year as 365 days and a month as 30.
fn in_days(text: &str) -> Option<String> {
    let rest = text.trim().strip_prefix(['P', 'p'])?;
    let (date, time) = match rest.find(['T', 't']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (mut days, mut number, mut calendar) = (0u64, String::new(), false);
    for c in date.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        let per = match c.to_ascii_uppercase() {
            'Y' => 365,
            'M' => 30,
            'W' => 7,
            'D' => 1,
            _ => return None,
        };
        calendar |= matches!(c.to_ascii_uppercase(), 'Y' | 'M');
        days = days.checked_add(n.checked_mul(per)?)?;
    }
    let candidate = format!("P{days}D{time}");
    (calendar && number.is_empty() && parse_duration(&candidate).is_some()).then_some(candidate)
}

/// Formats a duration the way specs write it (`PT5M`, `P1D`, `PT0S`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "PT0S".into();
    }
    let days = ms / 86_400_000;
    let mut rest = ms % 86_400_000;
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rest > 0 {
        out.push('T');
        let h = rest / 3_600_000;
        rest %= 3_600_000;
        let m = rest / 60_000;
        rest %= 60_000;
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if rest > 0 {
            if rest.is_multiple_of(1000) {
                out.push_str(&format!("{}S", rest / 1000));
            } else {
                out.push_str(&format!("{}.{:03}S", rest / 1000, rest % 1000));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_years_are_named_with_days_to_write_instead() {
        assert_eq!(
            problem("P1M"),
            "`P1M` counts months or years, which are not accepted (their length varies): write days, such as P30D"
        );
        assert!(problem("P1Y2M").ends_with("such as P425D"), "{}", problem("P1Y2M"));
        assert!(problem("P1MT12H").ends_with("such as P30DT12H"), "{}", problem("P1MT12H"));
        assert_eq!(problem("1 minute"), "`1 minute` is not an ISO-8601 duration such as PT5M or P1D");
        assert_eq!(problem("PT5X"), "`PT5X` is not an ISO-8601 duration such as PT5M or P1D");
    }

    fn d(s: &str) -> Option<u64> {
        parse_duration(s).map(|d| d.as_millis() as u64)
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(d("PT0H"), Some(0));
        assert_eq!(d("PT5M"), Some(300_000));
        assert_eq!(d("P1D"), Some(86_400_000));
        assert_eq!(d("P90D"), Some(90 * 86_400_000));
        assert_eq!(d("P2W"), Some(14 * 86_400_000));
        assert_eq!(d("PT1H30M"), Some(5_400_000));
        assert_eq!(d("P1DT12H"), Some(129_600_000));
        assert_eq!(d("PT0.5S"), Some(500));
        assert_eq!(d("PT1,25S"), Some(1250));
        assert_eq!(d(" pt30s "), Some(30_000));
    }

    #[test]
    fn refuses_what_is_not_a_fixed_duration() {
        for bad in ["", "P", "PT", "5m", "P1Y", "P1M", "PT1H2X", "PT5", "PTM", "P1DT", "PT30M1H", "P-1D", "PT1.S"] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["PT0S", "PT5M", "P1D", "P1DT12H", "PT1H30M", "PT0.500S", "P90D"] {
            let parsed = parse_duration(s).expect(s);
            assert_eq!(parse_duration(&format_duration(parsed)), Some(parsed), "{s}");
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "PT5M");
    }
}
