//! The audit record: `AccountAuditEvent` with all 25 keys, serialised with `null` for absent values.

use serde::Serialize;

/// One `AccountAuditEvent` exactly as the API returns it. Every field is always serialised;
/// absent values become JSON `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    pub account_id: Option<String>,
    pub event_time: String,
    pub event_category: Option<String>,
    pub event_outcome: Option<String>,
    pub event_type: Option<String>,
    pub event_version: Option<String>,
    pub message: Option<String>,
    pub subject: Option<String>,
    pub subject_name: Option<String>,
    pub subject_type: Option<String>,
    pub source_ip: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub token: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
    pub entity_action: Option<String>,
    pub required_permission: Option<String>,
    pub subscriber_admin_role_id: Option<String>,
    pub subscriber_admin_role_name: Option<String>,
    pub service_provider_admin_role_id: Option<String>,
    pub service_provider_admin_role_name: Option<String>,
    pub audit_details: Option<AuditDetails>,
}

/// `AuditDetails`: attributes of an added/removed entity, modified attributes, message tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDetails {
    pub entity_attributes: Option<Vec<EntityAttribute>>,
    pub modified_entity_attributes: Option<Vec<ModifiedEntityAttribute>>,
    pub message_tokens: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityAttribute {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedEntityAttribute {
    pub name: String,
    pub old_value: String,
    pub new_value: String,
}

/// The 25 keys of `AccountAuditEvent` in the OpenAPI document.
pub const RECORD_KEYS: [&str; 25] = [
    "id",
    "accountId",
    "eventTime",
    "eventCategory",
    "eventOutcome",
    "eventType",
    "eventVersion",
    "message",
    "subject",
    "subjectName",
    "subjectType",
    "sourceIp",
    "resourceId",
    "resourceName",
    "token",
    "entityType",
    "entityId",
    "entityName",
    "entityAction",
    "requiredPermission",
    "subscriberAdminRoleId",
    "subscriberAdminRoleName",
    "serviceProviderAdminRoleId",
    "serviceProviderAdminRoleName",
    "auditDetails",
];

/// A record in the tenant: the event, its time as Unix milliseconds (the sort key, equal to
/// the instant `eventTime` denotes) and whether it arrived late (behind a reader's cursor).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub time_ms: i64,
    pub event: AuditEvent,
    pub late: bool,
}

impl StoredEvent {
    /// The `(time, id)` position that orders the SIEM feed.
    pub fn position(&self) -> (i64, &str) {
        (self.time_ms, self.event.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_all_25_keys_with_nulls() {
        let e = AuditEvent {
            id: "x".into(),
            event_time: "2025-12-01T20:10:04Z".into(),
            event_category: Some("AUTHENTICATION".into()),
            ..crate::simulator::generate::empty_event()
        };
        let v = serde_json::to_value(&e).expect("serialise");
        let obj = v.as_object().expect("object");
        assert_eq!(obj.len(), 25);
        for k in RECORD_KEYS {
            assert!(obj.contains_key(k), "{k}");
        }
        assert!(obj["auditDetails"].is_null());
    }
}
