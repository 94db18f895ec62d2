//! Dead letters: records that could not become valid OCSF, with a reason code, kept whole so
//! that nothing is ever dropped silently.

use serde::Serialize;
use serde_json::Value;

/// Why a record was dead-lettered. Serialized in snake case (`no_mapping`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The input was not a JSON object (or not JSON at all).
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

    /// One line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"reason\":\"invalid_record\",\"message\":\"{e}\"}}"))
    }
}
