//! One line of a replay input: a dead letter (`{reason, message, …, record}`, as the dead-letter
//! file holds it) gives back its record; an archive line is the record. What cannot be mapped
//! again (a line that is not a dead letter, a record that was unreadable when it came) stays
//! refused, as a dead letter with a reason.

use crate::deadletter::{DeadLetter, Reason};
use crate::json::Parsed;
use serde_json::Value;

/// What a replay input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A dead-letter file.
    DeadLetters,
    /// A raw archive day file (`engine run --archive`).
    Archive,
}

/// A line, read.
#[derive(Debug)]
pub enum Line {
    /// Nothing but whitespace.
    Blank,
    /// A record to map again.
    Record(Value),
    /// A line that stays refused.
    Refused(Box<DeadLetter>),
}

/// Reads one line (`bytes`, its newline included or not); `at` names it in messages
/// (`dead.ndjson:12`).
pub fn read(kind: Kind, bytes: &[u8], at: &str) -> Line {
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Line::Blank;
    }
    let refused = |message: String| Line::Refused(Box::new(DeadLetter::raw(Reason::InvalidRecord, message, text)));
    let value = match crate::json::record::parse(text) {
        Ok(Parsed::Record(v)) => v,
        Ok(Parsed::Poison(p)) => {
            return refused(format!("{at}: the record cannot be read as JSON without loss: {}", p.problem));
        }
        Err(e) => return refused(format!("{at}: not JSON: {e}")),
    };
    match kind {
        Kind::Archive => Line::Record(value),
        Kind::DeadLetters => from_dead_letter(value, at),
    }
}

/// The record of a dead letter; a record kept as text (bytes that were not JSON when they
/// came) stays refused, with the reason it had.
fn from_dead_letter(mut line: Value, at: &str) -> Line {
    let Some(record) = line.as_object_mut().and_then(|o| o.remove("record")) else {
        let message = format!("{at}: not a dead letter (no `record`): a dead-letter file of `engine run` was expected");
        return Line::Refused(Box::new(DeadLetter::new(Reason::InvalidRecord, message, line)));
    };
    match record {
        Value::String(_) => {
            let was = line.get("message").and_then(Value::as_str).unwrap_or("unreadable");
            let message = format!("{at}: still refused: the record was not JSON when it came ({was})");
            Line::Refused(Box::new(DeadLetter::new(Reason::InvalidRecord, message, record)))
        }
        record => Line::Record(record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(line: Line) -> DeadLetter {
        match line {
            Line::Refused(dl) => *dl,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_dead_letter_gives_its_record_back_and_the_rest_stays_refused() {
        let dl = DeadLetter::new(Reason::NoMapping, "no mapping", json!({"id": "1", "type": "X"}));
        match read(Kind::DeadLetters, format!("{}\n", dl.to_json_line()).as_bytes(), "d:1") {
            Line::Record(r) => assert_eq!(r, json!({"id": "1", "type": "X"})),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read(Kind::DeadLetters, b"  \r\n", "d:2"), Line::Blank));
        // Poison kept as text: refused again, with what it was.
        let poison = DeadLetter::raw(Reason::InvalidRecord, "the record cannot be read", b"{\"id\":\xff}");
        let again = refused(read(Kind::DeadLetters, poison.to_json_line().as_bytes(), "d:3"));
        assert_eq!(again.reason, Reason::InvalidRecord);
        assert!(
            again.message.contains("d:3") && again.message.contains("the record cannot be read"),
            "{}",
            again.message
        );
        assert_eq!(again.record, poison.record);
        // Not a dead letter, not JSON.
        assert!(refused(read(Kind::DeadLetters, b"{\"id\":\"1\"}", "d:4")).message.contains("not a dead letter"));
        let garbage = refused(read(Kind::DeadLetters, b"{\"id\"", "d:5"));
        assert!(garbage.message.starts_with("d:5: not JSON"), "{}", garbage.message);
        assert_eq!(garbage.record, json!("{\"id\""));
        // An archive line is the record itself.
        assert!(matches!(read(Kind::Archive, b"{\"id\":\"1\"}\n", "a:1"), Line::Record(_)));
    }
}
