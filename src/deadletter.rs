//! Dead letters: records that could not become valid OCSF, with a reason code, kept whole so
//! that nothing is ever dropped silently.

use serde::Serialize;
use serde_json::Value;

/// Why a record was dead-lettered. Serialized in snake case (`no_mapping`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The input was not a JSON object, not JSON at all, could not be parsed without losing
    /// something (invalid UTF-8, a lone surrogate, a number out of range, too deep), or has
    /// no usable id.
    InvalidRecord,
    /// No mapping matches the record (e.g. an `ISSUANCE` event).
    NoMapping,
    /// The mapping produced an event that fails OCSF 1.5.0 validation.
    InvalidOcsf,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::InvalidRecord => "invalid_record",
            Reason::NoMapping => "no_mapping",
            Reason::InvalidOcsf => "invalid_ocsf",
        }
    }
}

/// A record that went to the dead-letter output instead of the sink.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub reason: Reason,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The mapping that handled the record, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    pub record: Value,
}

impl DeadLetter {
    pub fn new(reason: Reason, message: impl Into<String>, record: Value) -> Self {
        Self { reason, message: message.into(), details: Vec::new(), mapping: None, record }
    }

    /// A dead letter for bytes that are not a JSON value: `record` is their text, each byte
    /// that is not UTF-8 written `\xNN`.
    pub fn raw(reason: Reason, message: impl Into<String>, bytes: &[u8]) -> Self {
        Self::new(reason, message, Value::String(escape_bytes(bytes)))
    }

    /// One line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"reason\":\"invalid_record\",\"message\":\"{e}\"}}"))
    }
}

/// `bytes` as text: UTF-8 sequences as they are, every other byte as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_utf8_are_escaped_the_rest_kept() {
        assert_eq!(escape_bytes(b"{\"s\":\"caf\xc3\xa9 \xff\xfe\"}"), "{\"s\":\"caf\u{e9} \\xFF\\xFE\"}");
        assert_eq!(escape_bytes(b"\\ud83d"), "\\ud83d");
        let dl = DeadLetter::raw(Reason::InvalidRecord, "m", b"\x00\x80");
        assert_eq!(dl.to_json_line(), r#"{"reason":"invalid_record","message":"m","record":"\u0000\\x80"}"#);
    }
}
