//! The baseline: a hand-written Rust mapping of Entrust records to OCSF, with typed serde
//! structs and no YAML, producing the bytes the engine produces for the records it covers —
//! Authentication `AuthenticationPasswordSuccessEvent` and `AuthenticationDeniedEvent`, and
//! Entity Management groups (`GROUPS`, `AUTHORIZATIONGROUPS`). Other records give `None`.
//! Records are assumed to hold only the fields Entrust documents (unknown fields are dropped,
//! where the engine would keep them in `unmapped`). The `metadata.transformation_info_list`
//! entry names a mapping by a hash of its YAML files; the baseline is given those values
//! ([`set_provenance`]) since it has no such files.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;

const HOSTNAME: &str = "example.us.trustedauth.com";

/// The `uid` of the transformation entry of each covered mapping, by mapping name.
static PROVENANCE: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();

/// The names of the mappings whose output the baseline reproduces.
pub const MAPPINGS: [&str; 3] = [
    "authentication/AuthenticationPasswordSuccessEvent",
    "authentication/AuthenticationDeniedEvent",
    "entity_management/groups",
];

/// Gives the baseline the `uid` of each mapping of [`MAPPINGS`].
pub fn set_provenance(uid_of: impl Fn(&str) -> String) {
    let _ = PROVENANCE.set(MAPPINGS.iter().map(|m| (*m, uid_of(m))).collect());
}

#[derive(Serialize)]
struct Transformation {
    lang: &'static str,
    name: &'static str,
    uid: &'static str,
}

fn transformation(mapping: usize) -> [Transformation; 1] {
    let (name, uid) = &PROVENANCE.get().expect("set_provenance was called")[mapping];
    [Transformation { lang: "ocsf-engine mapping", name, uid }]
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    id: Option<String>,
    account_id: Option<String>,
    event_time: Option<String>,
    event_category: Option<String>,
    event_outcome: Option<String>,
    event_type: Option<String>,
    event_version: Option<Value>,
    message: Option<String>,
    subject: Option<String>,
    subject_name: Option<String>,
    subject_type: Option<String>,
    source_ip: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    token: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    entity_name: Option<String>,
    entity_action: Option<String>,
    required_permission: Option<String>,
    subscriber_admin_role_id: Option<String>,
    subscriber_admin_role_name: Option<String>,
    service_provider_admin_role_id: Option<String>,
    service_provider_admin_role_name: Option<String>,
    audit_details: Option<AuditDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditDetails {
    entity_attributes: Option<Vec<Attribute>>,
    modified_entity_attributes: Option<Vec<ModifiedAttribute>>,
    message_tokens: Option<Vec<String>>,
}

#[derive(Deserialize, Serialize)]
struct Attribute {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModifiedAttribute {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_value: Option<Value>,
}

/// `null` and `""` count as absent, as in the engine.
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

// The output: fields in alphabetical order, as the engine writes them.

#[derive(Serialize)]
struct Authentication<'a> {
    activity_id: i64,
    activity_name: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    auth_factors: Vec<AuthFactor<'a>>,
    category_name: &'static str,
    category_uid: i64,
    class_name: &'static str,
    class_uid: i64,
    dst_endpoint: DstEndpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_mfa: Option<bool>,
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observables: Vec<Observable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<Service<'a>>,
    severity: &'static str,
    severity_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<SrcEndpoint>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<&'a str>,
    status_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<i64>,
    type_name: &'static str,
    type_uid: i64,
    #[serde(skip_serializing_if = "Unmapped::is_empty")]
    unmapped: Unmapped<'a>,
    user: User<'a>,
}

#[derive(Serialize)]
struct EntityManagement<'a> {
    activity_id: i64,
    activity_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<Actor<'a>>,
    category_name: &'static str,
    category_uid: i64,
    class_name: &'static str,
    class_uid: i64,
    entity: Entity<'a>,
    entity_result: Entity<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observables: Vec<Observable>,
    severity: &'static str,
    severity_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<SrcEndpoint>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<&'a str>,
    status_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<i64>,
    type_name: &'static str,
    type_uid: i64,
    #[serde(skip_serializing_if = "Unmapped::is_empty")]
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct AuthFactor<'a> {
    factor_type: &'a str,
    factor_type_id: i64,
}

#[derive(Serialize)]
struct DstEndpoint {
    hostname: &'static str,
}

#[derive(Serialize)]
struct SrcEndpoint {
    ip: String,
}

#[derive(Serialize)]
struct Service<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
}

#[derive(Serialize)]
struct Metadata<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_time: Option<&'a str>,
    product: Product,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_uid: Option<&'a str>,
    transformation_info_list: [Transformation; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
    version: &'static str,
}

#[derive(Serialize)]
struct Observable {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    type_id: i64,
    value: String,
}

#[derive(Serialize)]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
    type_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Actor<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    app_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'a>>,
}

#[derive(Serialize)]
struct Group<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Entity<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Data<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Group<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    type_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

/// `[{name, value}, …]` as `{name: value, …}`, keys sorted.
struct Data<'a>(Vec<(&'a str, &'a Value)>);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted = self.0.clone();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        let mut m = s.serialize_map(Some(sorted.len()))?;
        for (k, v) in sorted {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

fn data<'a, T>(
    items: &'a Option<Vec<T>>,
    pick: impl Fn(&'a T) -> (Option<&'a str>, Option<&'a Value>),
) -> Option<Data<'a>> {
    let pairs: Vec<(&str, &Value)> = items
        .as_deref()?
        .iter()
        .filter_map(|i| match pick(i) {
            (Some(k), Some(v)) if !k.is_empty() && !v.is_null() && v.as_str() != Some("") => Some((k, v)),
            _ => None,
        })
        .collect();
    (!pairs.is_empty()).then_some(Data(pairs))
}

/// What no rule consumed, keys sorted as the engine sorts them.
#[derive(Default)]
struct Unmapped<'a>(Vec<(&'static str, Leftover<'a>)>);

enum Leftover<'a> {
    Text(&'a str),
    Json(&'a Value),
    Audit(&'a AuditDetails, bool, bool),
}

impl Unmapped<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> Unmapped<'a> {
    fn text(&mut self, key: &'static str, v: &'a Option<String>) {
        if let Some(s) = present(v) {
            self.0.push((key, Leftover::Text(s)));
        }
    }
}

impl Serialize for Unmapped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<&(&str, Leftover)> = self.0.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut m = s.serialize_map(Some(sorted.len()))?;
        for (k, v) in sorted {
            match v {
                Leftover::Text(t) => m.serialize_entry(k, t)?,
                Leftover::Json(j) => m.serialize_entry(k, j)?,
                Leftover::Audit(a, attrs_used, modified_used) => {
                    m.serialize_entry(k, &AuditLeft { a, attrs_used: *attrs_used, modified_used: *modified_used })?
                }
            }
        }
        m.end()
    }
}

struct AuditLeft<'a> {
    a: &'a AuditDetails,
    attrs_used: bool,
    modified_used: bool,
}

impl AuditLeft<'_> {
    fn attrs(&self) -> Option<&Vec<Attribute>> {
        self.a.entity_attributes.as_ref().filter(|v| !self.attrs_used && v.iter().any(|a| !attr_empty(a)))
    }
    fn tokens(&self) -> Option<&Vec<String>> {
        self.a.message_tokens.as_ref().filter(|t| t.iter().any(|s| !s.is_empty()))
    }
    fn modified(&self) -> Option<&Vec<ModifiedAttribute>> {
        self.a.modified_entity_attributes.as_ref().filter(|v| !self.modified_used && !v.is_empty())
    }
    fn is_empty(&self) -> bool {
        self.attrs().is_none() && self.tokens().is_none() && self.modified().is_none()
    }
}

fn attr_empty(a: &Attribute) -> bool {
    a.name.as_deref().is_none_or(str::is_empty)
        && a.value.as_ref().is_none_or(|v| v.is_null() || v.as_str() == Some(""))
}

impl Serialize for AuditLeft<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(attrs) = self.attrs() {
            let kept: Vec<&Attribute> = attrs.iter().filter(|a| !attr_empty(a)).collect();
            m.serialize_entry("entityAttributes", &kept)?;
        }
        if let Some(tokens) = self.tokens() {
            let kept: Vec<&String> = tokens.iter().filter(|s| !s.is_empty()).collect();
            m.serialize_entry("messageTokens", &kept)?;
        }
        if let Some(modified) = self.modified() {
            m.serialize_entry("modifiedEntityAttributes", modified)?;
        }
        m.end()
    }
}

fn timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>().ok().or_else(|| ocsf_engine::mapping::parse_datetime(s))
}

fn ip(s: &str) -> Option<String> {
    s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

fn outcome(s: Option<&str>) -> Option<i64> {
    match s? {
        "SUCCESS" => Some(1),
        "FAIL" => Some(2),
        _ => None,
    }
}

fn status_caption(id: i64) -> &'static str {
    match id {
        1 => "Success",
        2 => "Failure",
        99 => "Other",
        _ => "Unknown",
    }
}

fn severity(status_id: i64) -> (i64, &'static str) {
    if status_id == 2 { (2, "Low") } else { (1, "Informational") }
}

fn metadata(r: &Record, mapping: usize) -> Metadata<'_> {
    Metadata {
        event_code: present(&r.event_type),
        log_name: present(&r.event_category),
        original_time: present(&r.event_time),
        product: Product { name: "Entrust Identity as a Service", vendor_name: "Entrust" },
        tenant_uid: present(&r.account_id),
        transformation_info_list: transformation(mapping),
        uid: present(&r.id),
        version: "1.5.0",
    }
}

/// The common part: time, status, source IP and the fields they leave unmapped.
struct Common<'a> {
    time: Option<i64>,
    status_id: i64,
    src: Option<SrcEndpoint>,
    unmapped: Unmapped<'a>,
}

fn common<'a>(r: &'a Record, default_status: i64) -> Common<'a> {
    let mut unmapped = Unmapped::default();
    let time = present(&r.event_time).and_then(timestamp);
    if time.is_none() {
        unmapped.text("eventTime", &r.event_time);
    }
    let status = outcome(present(&r.event_outcome));
    if status.is_none() {
        unmapped.text("eventOutcome", &r.event_outcome);
    }
    let src = present(&r.source_ip).and_then(ip).map(|ip| SrcEndpoint { ip });
    if src.is_none() {
        unmapped.text("sourceIp", &r.source_ip);
    }
    if let Some(v) = r.event_version.as_ref().filter(|v| !v.is_null() && v.as_str() != Some("")) {
        unmapped.0.push(("eventVersion", Leftover::Json(v)));
    }
    for (k, v) in [
        ("requiredPermission", &r.required_permission),
        ("subscriberAdminRoleId", &r.subscriber_admin_role_id),
        ("subscriberAdminRoleName", &r.subscriber_admin_role_name),
        ("serviceProviderAdminRoleId", &r.service_provider_admin_role_id),
        ("serviceProviderAdminRoleName", &r.service_provider_admin_role_name),
    ] {
        unmapped.text(k, v);
    }
    Common { time, status_id: status.unwrap_or(default_status), src, unmapped }
}

fn observables(src: &Option<SrcEndpoint>, user_name: Option<&str>, user_field: &'static str) -> Vec<Observable> {
    let mut out = Vec::new();
    if let Some(s) = src {
        out.push(Observable { name: "src_endpoint.ip", kind: "IP Address", type_id: 2, value: s.ip.clone() });
    }
    if let Some(n) = user_name {
        out.push(Observable { name: user_field, kind: "User Name", type_id: 4, value: n.to_string() });
    }
    out
}

fn subject_type_label(t: &str) -> Option<&'static str> {
    match t {
        "ADMIN_API" => Some("Admin API"),
        "SERVICE_PROVIDER" => Some("Service Provider"),
        "AGENT" => Some("Agent"),
        _ => None,
    }
}

fn token_factor(t: &str) -> i64 {
    match t.to_uppercase().as_str() {
        "PASSWORD" | "PASSWORD_AND_SECONDFACTOR" => 11,
        "OTP" | "TOKEN" | "TOKENCR" => 5,
        "TOKENPUSH" | "SMARTCREDENTIALPUSH" => 3,
        "FIDO" | "PASSKEY" => 9,
        "FACE" => 6,
        "KBA" => 2,
        "MAGICLINK" => 8,
        _ => 99,
    }
}

fn factor_caption(id: i64) -> Option<&'static str> {
    Some(match id {
        2 => "Security Question",
        3 => "Push Notification",
        5 => "OTP",
        6 => "Biometric",
        8 => "Email",
        9 => "WebAuthn",
        11 => "Password",
        _ => return None,
    })
}

fn token_label(t: &str) -> Option<&'static str> {
    match t.to_uppercase().as_str() {
        "GRID" => Some("Grid Card"),
        "TEMP_ACCESS_CODE" => Some("Temporary Access Code"),
        "USER_CERTIFICATE" => Some("User Certificate"),
        _ => None,
    }
}

fn authentication<'a>(r: &'a Record, password: bool) -> Authentication<'a> {
    let mut c = common(r, if password { 1 } else { 2 });
    let (severity_id, severity) = severity(c.status_id);
    let subject = present(&r.subject);
    let user_name = present(&r.subject_name).or(subject.is_none().then_some("Unknown"));
    let user_type_id = match present(&r.subject_type) {
        Some("USER") => 1,
        Some("ADMIN_API" | "SERVICE_PROVIDER" | "AGENT") => 99,
        Some(_) => {
            c.unmapped.text("subjectType", &r.subject_type);
            0
        }
        None => 0,
    };
    let user_kind = match user_type_id {
        1 => "User",
        99 => present(&r.subject_type).and_then(subject_type_label).unwrap_or("Other"),
        _ => "Unknown",
    };
    let auth_factors = if password {
        c.unmapped.text("token", &r.token);
        vec![AuthFactor { factor_type: "Password", factor_type_id: 11 }]
    } else {
        match present(&r.token) {
            Some(t) => {
                let id = token_factor(t);
                let caption = match factor_caption(id) {
                    Some(c) => c,
                    None => token_label(t).unwrap_or(t),
                };
                vec![AuthFactor { factor_type: caption, factor_type_id: id }]
            }
            None => Vec::new(),
        }
    };
    let service = (present(&r.resource_id).is_some() || present(&r.resource_name).is_some())
        .then(|| Service { name: present(&r.resource_name), uid: present(&r.resource_id) });
    for (k, v) in [("entityType", &r.entity_type), ("entityId", &r.entity_id), ("entityName", &r.entity_name)] {
        c.unmapped.text(k, v);
    }
    c.unmapped.text("entityAction", &r.entity_action);
    if let Some(a) = &r.audit_details {
        let left = AuditLeft { a, attrs_used: false, modified_used: false };
        if !left.is_empty() {
            c.unmapped.0.push(("auditDetails", Leftover::Audit(a, false, false)));
        }
    }
    let observables = observables(&c.src, user_name, "user.name");
    Authentication {
        activity_id: 1,
        activity_name: "Logon",
        auth_factors,
        category_name: "Identity & Access Management",
        category_uid: 3,
        class_name: "Authentication",
        class_uid: 3002,
        dst_endpoint: DstEndpoint { hostname: HOSTNAME },
        is_mfa: password.then_some(false),
        metadata: metadata(r, if password { 0 } else { 1 }),
        observables,
        service,
        severity,
        severity_id,
        src_endpoint: c.src,
        status: status_caption(c.status_id),
        status_detail: present(&r.message),
        status_id: c.status_id,
        time: c.time,
        type_name: "Authentication: Logon",
        type_uid: 300201,
        unmapped: c.unmapped,
        user: User { name: user_name, kind: user_kind, type_id: user_type_id, uid: subject },
    }
}

fn entity_action(action: &str) -> (i64, &'static str) {
    match action.to_uppercase().as_str() {
        "ADD" | "CREATE" => (1, "Create"),
        "VIEW" | "READ" | "GET" => (2, "Read"),
        "EDIT" | "UPDATE" | "MODIFY" => (3, "Update"),
        "REMOVE" | "DELETE" => (4, "Delete"),
        "MOVE" | "RENAME" => (5, "Move"),
        "ASSIGN" | "ENROLL" | "REGISTER" => (6, "Enroll"),
        "UNASSIGN" | "UNENROLL" | "UNREGISTER" => (7, "Unenroll"),
        "ENABLE" => (8, "Enable"),
        "DISABLE" => (9, "Disable"),
        "ACTIVATE" => (10, "Activate"),
        "DEACTIVATE" => (11, "Deactivate"),
        "SUSPEND" | "LOCK" => (12, "Suspend"),
        "RESUME" | "UNLOCK" => (13, "Resume"),
        _ => (99, "Other"),
    }
}

fn type_name(activity_id: i64) -> &'static str {
    match activity_id {
        1 => "Entity Management: Create",
        2 => "Entity Management: Read",
        3 => "Entity Management: Update",
        4 => "Entity Management: Delete",
        5 => "Entity Management: Move",
        6 => "Entity Management: Enroll",
        7 => "Entity Management: Unenroll",
        8 => "Entity Management: Enable",
        9 => "Entity Management: Disable",
        10 => "Entity Management: Activate",
        11 => "Entity Management: Deactivate",
        12 => "Entity Management: Suspend",
        13 => "Entity Management: Resume",
        99 => "Entity Management: Other",
        _ => "Entity Management: Unknown",
    }
}

fn group_management(r: &Record) -> EntityManagement<'_> {
    let mut c = common(r, 0);
    let (severity_id, severity) = severity(c.status_id);
    let action = present(&r.entity_action);
    let (activity_id, caption) = action.map_or((0, "Unknown"), entity_action);
    let activity_name = if activity_id == 99 { action.unwrap_or(caption) } else { caption };
    let upper = action.unwrap_or("").to_uppercase();
    let entity_id = present(&r.entity_id);
    let from_type = present(&r.entity_name).is_none() && entity_id.is_none() && present(&r.entity_type).is_some();
    if !from_type {
        c.unmapped.text("entityType", &r.entity_type);
    }
    let entity_name = present(&r.entity_name)
        .or_else(|| entity_id.is_none().then(|| present(&r.entity_type)).flatten())
        .or(entity_id.is_none().then_some("Unknown"));
    let details = r.audit_details.as_ref();
    let modified = details.map(|d| &d.modified_entity_attributes);
    let attributes = details.map(|d| &d.entity_attributes);
    let old = modified.and_then(|m| data(m, |a: &ModifiedAttribute| (a.name.as_deref(), a.old_value.as_ref())));
    let new = modified.and_then(|m| data(m, |a: &ModifiedAttribute| (a.name.as_deref(), a.new_value.as_ref())));
    let attrs = |when: bool| {
        if when {
            attributes.and_then(|a| data(a, |a: &Attribute| (a.name.as_deref(), a.value.as_ref())))
        } else {
            None
        }
    };
    let modified_used = old.is_some() || new.is_some();
    let (entity_data, result_data) = if modified_used {
        (old, new)
    } else {
        (attrs(matches!(upper.as_str(), "REMOVE" | "DELETE")), attrs(matches!(upper.as_str(), "ADD" | "CREATE")))
    };
    let attrs_used = !modified_used && (entity_data.is_some() || result_data.is_some());
    if let Some(a) = details {
        let left = AuditLeft { a, attrs_used, modified_used };
        if !left.is_empty() {
            c.unmapped.0.push(("auditDetails", Leftover::Audit(a, attrs_used, modified_used)));
        }
    }
    let subject_type = present(&r.subject_type);
    let (actor, actor_name) = match subject_type {
        Some(t @ ("USER" | "SERVICE_PROVIDER")) => {
            let type_id = if t == "USER" { 2 } else { 99 };
            let kind = if t == "USER" { "Admin" } else { "Service Provider" };
            let user = User { name: present(&r.subject_name), kind, type_id, uid: present(&r.subject) };
            (Some(Actor { app_name: None, app_uid: None, user: Some(user) }), present(&r.subject_name))
        }
        Some("ADMIN_API" | "AGENT") => (
            (present(&r.subject).is_some() || present(&r.subject_name).is_some()).then(|| Actor {
                app_name: present(&r.subject_name),
                app_uid: present(&r.subject),
                user: None,
            }),
            None,
        ),
        _ => {
            c.unmapped.text("subject", &r.subject);
            c.unmapped.text("subjectName", &r.subject_name);
            (None, None)
        }
    };
    if subject_type.is_some_and(|t| !matches!(t, "USER" | "SERVICE_PROVIDER")) {
        c.unmapped.text("subjectType", &r.subject_type);
    }
    for (k, v) in [("eventType", &r.event_type), ("resourceId", &r.resource_id), ("resourceName", &r.resource_name)] {
        c.unmapped.text(k, v);
    }
    c.unmapped.text("token", &r.token);
    let who = present(&r.subject_name).or(present(&r.subject)).unwrap_or("An unknown subject");
    let message = format!(
        "{who}: {} {} {}",
        action.unwrap_or("acted on"),
        r.entity_type.as_deref().unwrap_or(""),
        r.entity_name.as_deref().unwrap_or("")
    );
    let message = Some(message.trim().to_string()).filter(|m| !m.is_empty());
    let group = || {
        (entity_id.is_some() || present(&r.entity_name).is_some())
            .then(|| Group { name: present(&r.entity_name), uid: entity_id })
    };
    let observables = observables(&c.src, actor_name, "actor.user.name");
    EntityManagement {
        activity_id,
        activity_name,
        actor,
        category_name: "Identity & Access Management",
        category_uid: 3,
        class_name: "Entity Management",
        class_uid: 3004,
        entity: Entity {
            data: entity_data,
            group: group(),
            name: entity_name,
            kind: "Group",
            type_id: 3,
            uid: entity_id,
        },
        entity_result: Entity {
            data: result_data,
            group: None,
            name: entity_name,
            kind: "Group",
            type_id: 3,
            uid: entity_id,
        },
        message,
        metadata: metadata(r, 2),
        observables,
        severity,
        severity_id,
        src_endpoint: c.src,
        status: status_caption(c.status_id),
        status_detail: present(&r.message),
        status_id: c.status_id,
        time: c.time,
        type_name: type_name(activity_id),
        type_uid: 300400 + activity_id,
        unmapped: c.unmapped,
    }
}

/// Whether the baseline maps this record.
pub fn covers(r: &Record) -> bool {
    matches!(
        (present(&r.event_category), present(&r.event_type), present(&r.entity_type)),
        (Some("AUTHENTICATION"), Some("AuthenticationPasswordSuccessEvent" | "AuthenticationDeniedEvent"), _)
            | (Some("MANAGEMENT"), _, Some("GROUPS" | "AUTHORIZATIONGROUPS"))
    )
}

/// Maps one raw record to one line of OCSF JSON appended to `out`; `false` when not covered.
pub fn map_line(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let Ok(r) = serde_json::from_slice::<Record>(raw) else { return false };
    if !covers(&r) {
        return false;
    }
    let written = match present(&r.event_category) {
        Some("AUTHENTICATION") => {
            let password = present(&r.event_type) == Some("AuthenticationPasswordSuccessEvent");
            serde_json::to_writer(&mut *out, &authentication(&r, password))
        }
        _ => serde_json::to_writer(&mut *out, &group_management(&r)),
    };
    written.is_ok()
}
