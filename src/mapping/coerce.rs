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
        if let Value::String(s) = v {
            return self.apply_str(s);
        }
        match self {
            Coerce::Timestamp => to_timestamp(v).map(Value::from),
            Coerce::Int => to_int(v).map(Value::from),
            Coerce::Bool => to_bool(v).map(Value::from),
            Coerce::Ip => None,
            Coerce::String => match v {
                Value::Number(n) => Some(n.to_string().into()),
                Value::Bool(b) => Some(b.to_string().into()),
                _ => None,
            },
        }
    }

    /// Whether the string `s` is what [`Coerce::apply_str`] gives for it, so that it can stay
    /// where it lies: any string as a string, an IPv4 address in its canonical form.
    pub fn keeps(self, s: &str) -> bool {
        match self {
            Coerce::String => true,
            Coerce::Ip => s.parse::<std::net::Ipv4Addr>().is_ok(),
            Coerce::Timestamp | Coerce::Int | Coerce::Bool => false,
        }
    }

    /// [`Coerce::apply`] of a string. A timestamp is an integer string (taken as milliseconds
    /// whatever its size, where the runner's
    /// [`parse_instant`](crate::source::timefmt::parse_instant) takes one below 10^11 as
    /// seconds) or a date-time string, read the runner's way.
    pub fn apply_str(self, s: &str) -> Option<Value> {
        let t = s.trim();
        match self {
            Coerce::Timestamp => {
                t.parse::<i64>().ok().or_else(|| crate::source::timefmt::parse_datetime(t)).map(Value::from)
            }
            Coerce::Int => t.parse::<i64>().ok().map(Value::from),
            Coerce::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(Value::Bool(true)),
                "false" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            Coerce::Ip => to_ip(s).map(Value::from),
            Coerce::String => Some(Value::String(s.to_string())),
        }
    }
}

/// An address in its canonical form. An IPv4 address the parser accepts is already in it (no
/// leading zeros, four decimal parts), so it is not formatted again.
fn to_ip(s: &str) -> Option<String> {
    let s = s.trim();
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => Some(s.to_string()),
        ip => Some(ip.to_string()),
    }
}

fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        }
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
        _ => None,
    }
}

/// Epoch milliseconds from a number (strings: [`Coerce::apply_str`]).
fn to_timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ipv4_address_that_parses_is_its_own_canonical_form() {
        for text in ["0.0.0.0", "10.0.0.1", "255.255.255.255", "192.168.1.20", "1.2.3.4"] {
            assert_eq!(to_ip(text).as_deref(), Some(text));
        }
        for n in (0..=u32::MAX).step_by(7_919_009) {
            let text = std::net::Ipv4Addr::from(n).to_string();
            assert_eq!(to_ip(&text), Some(text.clone()));
        }
        for bad in ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04", " "] {
            assert_eq!(to_ip(bad), None, "{bad}");
        }
        assert_eq!(to_ip(" 10.0.0.1 ").as_deref(), Some("10.0.0.1"));
        for text in ["10.0.0.1", " 10.0.0.1", "10.0.0.1 ", "01.2.3.4", "::1", "2001:DB8::1", "x", ""] {
            // Kept only where converting gives the same string (an IPv6 address is converted).
            let kept = Coerce::Ip.keeps(text);
            assert!(!kept || Coerce::Ip.apply_str(text) == Some(Value::from(text)), "{text:?}");
            assert_eq!(kept, text == "10.0.0.1", "{text:?}");
        }
        assert_eq!(to_ip("2001:0db8:0000:0000:0000:0000:0000:0001").as_deref(), Some("2001:db8::1"));
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
