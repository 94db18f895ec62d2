//! Whether a JSON number survives parsing exactly: integers within the 64-bit range, and
//! other numbers whose nearest double prints back as the same decimal value. Anything else
//! (`1e400`, a 30-digit integer, `1e-400`) would be refused or rounded by the parser.

/// True when parsing `literal` (a number valid in the JSON grammar) keeps its value.
pub fn is_exact(literal: &[u8]) -> bool {
    let is_integer = !literal.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
    if is_integer {
        let digits = literal.len() - usize::from(literal.first() == Some(&b'-'));
        if digits <= 18 {
            return true;
        }
        let Ok(text) = std::str::from_utf8(literal) else { return false };
        return if literal[0] == b'-' { text.parse::<i64>().is_ok() } else { text.parse::<u64>().is_ok() };
    }
    let Ok(text) = std::str::from_utf8(literal) else { return false };
    let Ok(value) = text.parse::<f64>() else { return false };
    value.is_finite() && decimal(text) == decimal(&format!("{value:e}"))
}

/// A decimal number as its significant digits and the power of ten of the last one (zero is
/// `("", 0)`), or `None` when the exponent does not fit.
fn decimal(text: &str) -> Option<(String, i64)> {
    let text = text.trim_start_matches('-');
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].trim_start_matches('+')),
        None => (text, "0"),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Some((String::new(), 0));
    }
    let exponent: i64 = exponent.parse().ok()?;
    let trailing = (digits.len() - significant.len()) as i64;
    Some((significant.to_string(), exponent.checked_sub(fraction.len() as i64)?.checked_add(trailing)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parsing_keeps() {
        for n in [
            "0",
            "-0",
            "7",
            "-12",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "0.5",
            "1.0",
            "1E2",
            "100.00",
            "-2.5e-3",
            "1.7976931348623157e308",
            "0.1",
            "5e-324",
            "0e99999999999999999999",
            "123456789.125",
        ] {
            assert!(is_exact(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn numbers_parsing_would_refuse_or_round() {
        for n in [
            "1e400",
            "-1e400",
            "1e-400",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "0.1000000000000000055511151231257827",
            "1.00000000000000000001",
            "9007199254740993.0",
        ] {
            assert!(!is_exact(n.as_bytes()), "{n}");
        }
    }
}
