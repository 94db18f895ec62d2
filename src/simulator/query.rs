//! The `SearchParms` request body and the queries it describes for the SIEM and search endpoints.
//!
//! Parsing is strict about types (the OpenAPI schema types every field) and never panics:
//! anything malformed is a `400` with an `ErrorInfo` body. Time values are compared at
//! millisecond precision, so `endTime <= 2018-08-04T18:15:30` excludes `18:15:30.500`.
//! String operators compare case-insensitively; a record whose field is null matches no
//! string condition, not even `NOT_EQUALS` (SQL semantics).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::{ApiError, codes};
use super::record::{AuditEvent, StoredEvent};
use super::time::{self, truncate_for_message};

/// Largest page.
pub const MAX_LIMIT: u8 = 100;
/// Page size when the body has no `limit` (Entrust does not document one).
pub const DEFAULT_LIMIT: u8 = 100;

/// `SearchByAttribute.operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    #[serde(rename = "EQ")]
    Equals,
    #[serde(rename = "NE")]
    NotEquals,
    #[serde(rename = "CO")]
    Contains,
    #[serde(rename = "NC")]
    NotContains,
    #[serde(rename = "SW")]
    StartsWith,
    #[serde(rename = "EW")]
    EndsWith,
    #[serde(rename = "GT")]
    GreaterThan,
    #[serde(rename = "GE")]
    GreaterThanOrEqual,
    #[serde(rename = "LT")]
    LessThan,
    #[serde(rename = "LE")]
    LessThanOrEqual,
    #[serde(rename = "IN")]
    In,
    #[serde(rename = "EX")]
    Exists,
    #[serde(rename = "NX")]
    NotExists,
}

impl Operator {
    const NAMES: [(&'static str, Operator); 13] = [
        ("EQUALS", Operator::Equals),
        ("NOT_EQUALS", Operator::NotEquals),
        ("CONTAINS", Operator::Contains),
        ("NOT_CONTAINS", Operator::NotContains),
        ("STARTS_WITH", Operator::StartsWith),
        ("ENDS_WITH", Operator::EndsWith),
        ("GREATER_THAN", Operator::GreaterThan),
        ("GREATER_THAN_OR_EQUAL", Operator::GreaterThanOrEqual),
        ("LESS_THAN", Operator::LessThan),
        ("LESS_THAN_OR_EQUAL", Operator::LessThanOrEqual),
        ("IN", Operator::In),
        ("EXISTS", Operator::Exists),
        ("NOT_EXISTS", Operator::NotExists),
    ];

    pub fn from_name(name: &str) -> Option<Operator> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
    }

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, op)| *op == self).map(|(n, _)| *n).unwrap_or("EQUALS")
    }
}

const STRING_OPS: &[Operator] = &[
    Operator::Equals,
    Operator::NotEquals,
    Operator::Contains,
    Operator::NotContains,
    Operator::StartsWith,
    Operator::EndsWith,
];

/// A filterable or sortable record attribute of the search endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    #[serde(rename = "o")]
    Outcome,
    #[serde(rename = "c")]
    Category,
    #[serde(rename = "en")]
    EntityName,
    #[serde(rename = "et")]
    EntityType,
    #[serde(rename = "ea")]
    EntityAction,
    #[serde(rename = "rn")]
    ResourceName,
    #[serde(rename = "ip")]
    SourceIp,
    #[serde(rename = "sn")]
    SubjectName,
    #[serde(rename = "ty")]
    EventType,
    #[serde(rename = "s")]
    Subject,
    #[serde(rename = "a")]
    Authenticator,
}

impl Field {
    const ALL: [Field; 11] = [
        Field::Outcome,
        Field::Category,
        Field::EntityName,
        Field::EntityType,
        Field::EntityAction,
        Field::ResourceName,
        Field::SourceIp,
        Field::SubjectName,
        Field::EventType,
        Field::Subject,
        Field::Authenticator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Outcome => "outcome",
            Field::Category => "category",
            Field::EntityName => "entityName",
            Field::EntityType => "entityType",
            Field::EntityAction => "entityAction",
            Field::ResourceName => "resourceName",
            Field::SourceIp => "sourceIp",
            Field::SubjectName => "subjectName",
            Field::EventType => "eventType",
            Field::Subject => "subject",
            Field::Authenticator => "authenticator",
        }
    }

    fn from_name(name: &str) -> Option<Field> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    fn allowed_operators(self) -> &'static [Operator] {
        match self {
            Field::Outcome | Field::Category | Field::Subject | Field::Authenticator => &[Operator::Equals],
            Field::SourceIp => &[Operator::Equals, Operator::StartsWith],
            _ => STRING_OPS,
        }
    }

    fn max_len(self) -> usize {
        match self {
            Field::EntityType => 40,
            Field::SourceIp => 39,
            _ => 100,
        }
    }

    /// The record's value for this attribute.
    pub fn value(self, e: &AuditEvent) -> Option<&str> {
        match self {
            Field::Outcome => e.event_outcome.as_deref(),
            Field::Category => e.event_category.as_deref(),
            Field::EntityName => e.entity_name.as_deref(),
            Field::EntityType => e.entity_type.as_deref(),
            Field::EntityAction => e.entity_action.as_deref(),
            Field::ResourceName => e.resource_name.as_deref(),
            Field::SourceIp => e.source_ip.as_deref(),
            Field::SubjectName => e.subject_name.as_deref(),
            Field::EventType => e.event_type.as_deref(),
            Field::Subject => e.subject.as_deref(),
            Field::Authenticator => e.token.as_deref(),
        }
    }
}

/// One string condition of a search query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(rename = "f")]
    pub field: Field,
    #[serde(rename = "op")]
    pub op: Operator,
    /// Lower-cased for case-insensitive comparison.
    #[serde(rename = "v")]
    pub value: String,
}

impl Filter {
    pub fn matches(&self, e: &AuditEvent) -> bool {
        let Some(actual) = self.field.value(e) else {
            return false;
        };
        let actual = actual.to_lowercase();
        let v = self.value.as_str();
        match self.op {
            Operator::Equals => actual == v,
            Operator::NotEquals => actual != v,
            Operator::Contains => actual.contains(v),
            Operator::NotContains => !actual.contains(v),
            Operator::StartsWith => actual.starts_with(v),
            Operator::EndsWith => actual.ends_with(v),
            _ => false,
        }
    }
}

/// The SIEM endpoint's query: inclusive time bounds plus outcome and category equality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiemQuery {
    #[serde(rename = "s")]
    pub start_ms: i64,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
    /// Every listed value must equal the record's (several = AND).
    #[serde(rename = "o", default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<String>,
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

impl SiemQuery {
    pub fn end(&self) -> i64 {
        self.end_ms.unwrap_or(i64::MAX)
    }

    /// Whether a record satisfies the query (time bounds included).
    pub fn matches(&self, r: &StoredEvent) -> bool {
        r.time_ms >= self.start_ms
            && r.time_ms <= self.end()
            && self.outcomes.iter().all(|o| r.event.event_outcome.as_deref() == Some(o.as_str()))
            && self.categories.iter().all(|c| r.event.event_category.as_deref() == Some(c.as_str()))
    }
}

/// What the search endpoint sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    #[serde(rename = "t")]
    EventTime,
    #[serde(rename = "f")]
    Field(Field),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    #[serde(rename = "k")]
    pub key: SortKey,
    #[serde(rename = "a")]
    pub ascending: bool,
}

/// Order when the body has none (not documented by Entrust; newest first, like the portal).
pub const DEFAULT_ORDER: Order = Order { key: SortKey::EventTime, ascending: false };

/// The search endpoint's query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Inclusive lower time bound in ms (GREATER_THAN x is stored as x + 1).
    #[serde(rename = "s")]
    pub start_ms: i64,
    /// Inclusive upper time bound in ms.
    #[serde(rename = "e")]
    pub end_ms: i64,
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    #[serde(rename = "o")]
    pub order: Order,
}

impl SearchQuery {
    pub fn matches(&self, r: &StoredEvent) -> bool {
        r.time_ms >= self.start_ms
            && r.time_ms <= self.end_ms
            && self.filters.iter().all(|f| f.matches(&r.event))
            && match self.order.key {
                SortKey::EventTime => true,
                // Only events having data in the order-by attribute are returned.
                SortKey::Field(f) => f.value(&r.event).is_some_and(|v| !v.is_empty()),
            }
    }

    /// The record's sort value (empty for `eventTime`, whose value is the time itself).
    pub fn sort_value<'a>(&self, e: &'a AuditEvent) -> &'a str {
        match self.order.key {
            SortKey::EventTime => "",
            SortKey::Field(f) => f.value(e).unwrap_or(""),
        }
    }
}

/// One `SearchByAttribute` as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub operator: Operator,
    pub value: Option<String>,
}

/// The `SearchParms` body, type-checked but not yet interpreted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchParms {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub attributes: Vec<Attribute>,
    pub order_by: Option<(String, bool)>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(codes::INVALID_REQUEST, message)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses and type-checks a `SearchParms` body.
pub fn parse_search_parms(body: &[u8]) -> Result<SearchParms, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(invalid(format!("the request body must be a SearchParms object, not {}", type_name(&value))));
    };
    let mut parms = SearchParms::default();
    match map.get("limit") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_i64() {
            Some(l) => parms.limit = Some(l),
            None => {
                return Err(ApiError::bad_request(
                    codes::INVALID_LIMIT,
                    format!("limit must be an integer between 1 and {MAX_LIMIT}, not {n}"),
                ));
            }
        },
        Some(other) => {
            return Err(ApiError::bad_request(
                codes::INVALID_LIMIT,
                format!("limit must be an integer, not {}", type_name(other)),
            ));
        }
    }
    match map.get("cursor") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => parms.cursor = Some(s.clone()),
        Some(other) => {
            return Err(invalid(format!("cursor must be a string, not {}", type_name(other))));
        }
    }
    match map.get("searchByAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                parms.attributes.push(parse_attribute(i, item)?);
            }
        }
        Some(other) => {
            return Err(invalid(format!("searchByAttributes must be an array, not {}", type_name(other))));
        }
    }
    match map.get("orderByAttribute") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            let name = match o.get("name") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(invalid("orderByAttribute.name is required and must be a string"));
                }
            };
            let ascending = match o.get("ascending") {
                Some(Value::Bool(b)) => *b,
                _ => {
                    return Err(invalid("orderByAttribute.ascending is required and must be a boolean"));
                }
            };
            parms.order_by = Some((name, ascending));
        }
        Some(other) => {
            return Err(invalid(format!("orderByAttribute must be an object, not {}", type_name(other))));
        }
    }
    match map.get("attributes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => return Err(invalid("attributes must be an array of strings")),
    }
    Ok(parms)
}

fn parse_attribute(i: usize, item: &Value) -> Result<Attribute, ApiError> {
    let Value::Object(o) = item else {
        return Err(invalid(format!("searchByAttributes[{i}] must be an object, not {}", type_name(item))));
    };
    let name = match o.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(invalid(format!("searchByAttributes[{i}].name is required and must be a string")));
        }
    };
    let operator = match o.get("operator") {
        Some(Value::String(s)) => Operator::from_name(s).ok_or_else(|| {
            invalid(format!(
                "searchByAttributes[{i}].operator '{}' is not one of EQUALS, NOT_EQUALS, CONTAINS, NOT_CONTAINS, STARTS_WITH, ENDS_WITH, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL, IN, EXISTS, NOT_EXISTS",
                truncate_for_message(s)
            ))
        })?,
        _ => {
            return Err(invalid(format!(
                "searchByAttributes[{i}].operator is required and must be a string"
            )));
        }
    };
    let value = match o.get("value") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(invalid(format!("searchByAttributes[{i}].value must be a string, not {}", type_name(other))));
        }
    };
    Ok(Attribute { name, operator, value })
}

/// The page size of a request without a cursor: 1–100, default [`DEFAULT_LIMIT`].
pub fn check_limit(limit: Option<i64>) -> Result<u8, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=i64::from(MAX_LIMIT)).contains(&l) => Ok(l as u8),
        Some(l) => Err(ApiError::bad_request(
            codes::INVALID_LIMIT,
            format!("limit must be between 1 and {MAX_LIMIT}, not {l}"),
        )),
    }
}

fn bad_attribute(message: String) -> ApiError {
    ApiError::bad_request(codes::INVALID_SEARCH_ATTRIBUTE, message)
}

fn required_value(a: &Attribute) -> Result<&str, ApiError> {
    a.value.as_deref().ok_or_else(|| bad_attribute(format!("search attribute {} needs a value", a.name)))
}

fn time_value(a: &Attribute) -> Result<i64, ApiError> {
    let v = required_value(a)?;
    time::parse_timestamp(v)
        .map_err(|e| ApiError::bad_request(codes::INVALID_DATE, format!("search attribute {}: {e}", a.name)))
}

fn check_operator(a: &Attribute, allowed: &[Operator]) -> Result<(), ApiError> {
    if allowed.contains(&a.operator) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|o| o.name()).collect();
        Err(bad_attribute(format!(
            "operator {} is not allowed for search attribute {}; allowed: {}",
            a.operator.name(),
            a.name,
            names.join(", ")
        )))
    }
}

fn enum_value(a: &Attribute, allowed: &[&str]) -> Result<String, ApiError> {
    let v = required_value(a)?.to_ascii_uppercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(bad_attribute(format!(
            "search attribute {} must be one of {}, not '{}'",
            a.name,
            allowed.join(", "),
            truncate_for_message(required_value(a)?)
        )))
    }
}

const OUTCOMES: &[&str] = &["SUCCESS", "FAIL"];
const CATEGORIES: &[&str] = &["AUTHENTICATION", "MANAGEMENT", "ISSUANCE"];

/// Interprets the attributes of a SIEM request: `startTime` (GREATER_THAN_OR_EQUAL,
/// mandatory), `endTime` (LESS_THAN_OR_EQUAL), `outcome` and `category` (EQUALS).
pub fn siem_query(attributes: &[Attribute]) -> Result<SiemQuery, ApiError> {
    let mut start: Option<i64> = None;
    let mut end: Option<i64> = None;
    let mut outcomes = Vec::new();
    let mut categories = Vec::new();
    for a in attributes {
        match a.name.as_str() {
            "startTime" => {
                check_operator(a, &[Operator::GreaterThanOrEqual])?;
                let t = time_value(a)?;
                start = Some(start.map_or(t, |s| s.max(t)));
            }
            "endTime" => {
                check_operator(a, &[Operator::LessThanOrEqual])?;
                let t = time_value(a)?;
                end = Some(end.map_or(t, |e| e.min(t)));
            }
            "outcome" => {
                check_operator(a, &[Operator::Equals])?;
                outcomes.push(enum_value(a, OUTCOMES)?);
            }
            "category" => {
                check_operator(a, &[Operator::Equals])?;
                categories.push(enum_value(a, CATEGORIES)?);
            }
            other => {
                return Err(bad_attribute(format!(
                    "unsupported search attribute '{}'; the SIEM endpoint supports startTime, endTime, outcome and category",
                    truncate_for_message(other)
                )));
            }
        }
    }
    let start_ms = start.ok_or_else(|| {
        ApiError::bad_request(
            codes::MISSING_SEARCH_ATTRIBUTE,
            "the startTime search attribute (operator GREATER_THAN_OR_EQUAL) is mandatory",
        )
    })?;
    Ok(SiemQuery { start_ms, end_ms: end, outcomes, categories })
}

/// Interprets the attributes and order of a search request (the matrix of the OpenAPI
/// description of `POST /api/web/v2/reports/auditeventspaged`).
pub fn search_query(attributes: &[Attribute], order_by: Option<&(String, bool)>) -> Result<SearchQuery, ApiError> {
    let mut start_ms = i64::MIN;
    let mut end_ms = i64::MAX;
    let mut has_time = false;
    let mut filters = Vec::new();
    for a in attributes {
        if a.name == "eventTime" {
            check_operator(
                a,
                &[Operator::GreaterThan, Operator::GreaterThanOrEqual, Operator::LessThan, Operator::LessThanOrEqual],
            )?;
            let t = time_value(a)?;
            has_time = true;
            match a.operator {
                Operator::GreaterThan => start_ms = start_ms.max(t.saturating_add(1)),
                Operator::GreaterThanOrEqual => start_ms = start_ms.max(t),
                Operator::LessThan => end_ms = end_ms.min(t.saturating_sub(1)),
                _ => end_ms = end_ms.min(t),
            }
            continue;
        }
        let field = Field::from_name(&a.name).ok_or_else(|| {
            bad_attribute(format!("unsupported search attribute '{}'", truncate_for_message(&a.name)))
        })?;
        check_operator(a, field.allowed_operators())?;
        let value = match field {
            Field::Outcome => enum_value(a, OUTCOMES)?,
            Field::Category => enum_value(a, CATEGORIES)?,
            _ => required_value(a)?.to_string(),
        };
        if value.chars().count() > field.max_len() {
            return Err(bad_attribute(format!(
                "search attribute {} is limited to {} characters",
                a.name,
                field.max_len()
            )));
        }
        filters.push(Filter { field, op: a.operator, value: value.to_lowercase() });
    }
    if !has_time {
        return Err(ApiError::bad_request(
            codes::MISSING_SEARCH_ATTRIBUTE,
            "an eventTime search attribute is mandatory",
        ));
    }
    let order = match order_by {
        None => DEFAULT_ORDER,
        Some((name, ascending)) => {
            let key = match name.as_str() {
                "eventTime" => SortKey::EventTime,
                "outcome" | "category" | "entityName" | "entityType" | "entityAction" | "resourceName" | "sourceIp"
                | "subjectName" => SortKey::Field(Field::from_name(name).unwrap_or(Field::Outcome)),
                other => {
                    return Err(ApiError::bad_request(
                        codes::INVALID_ORDER_BY_ATTRIBUTE,
                        format!(
                            "cannot order by '{}'; allowed: eventTime, outcome, category, entityName, entityType, entityAction, resourceName, sourceIp, subjectName",
                            truncate_for_message(other)
                        ),
                    ));
                }
            };
            Order { key, ascending: *ascending }
        }
    };
    Ok(SearchQuery { start_ms, end_ms, filters, order })
}

/// Whether a body carries a non-empty cursor (a cheap look used before full parsing).
pub fn has_cursor(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("cursor").and_then(Value::as_str).map(|s| !s.is_empty()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parms(v: Value) -> Result<SearchParms, ApiError> {
        parse_search_parms(v.to_string().as_bytes())
    }

    fn attr(name: &str, op: &str, value: &str) -> Value {
        json!({"name": name, "operator": op, "value": value})
    }

    #[test]
    fn parses_a_full_body() {
        let p = parms(json!({
            "limit": 50,
            "cursor": "abc",
            "searchByAttributes": [attr("startTime", "GREATER_THAN_OR_EQUAL", "2024-05-01T00:00:00")],
            "orderByAttribute": {"name": "eventTime", "ascending": true},
            "attributes": []
        }))
        .expect("valid");
        assert_eq!(p.limit, Some(50));
        assert_eq!(p.cursor.as_deref(), Some("abc"));
        assert_eq!(p.attributes.len(), 1);
        assert_eq!(p.order_by, Some(("eventTime".into(), true)));
        assert_eq!(parms(json!({"cursor": ""})).expect("ok").cursor, None);
    }

    #[test]
    fn rejects_malformed_bodies() {
        let bad = [
            json!([]),
            json!("x"),
            json!({"limit": "10"}),
            json!({"limit": 1.5}),
            json!({"limit": 1e300}),
            json!({"cursor": 5}),
            json!({"searchByAttributes": {}}),
            json!({"searchByAttributes": [5]}),
            json!({"searchByAttributes": [{"operator": "EQUALS"}]}),
            json!({"searchByAttributes": [{"name": "x", "operator": "LIKE"}]}),
            json!({"searchByAttributes": [{"name": "x", "operator": "EQUALS", "value": 3}]}),
            json!({"orderByAttribute": {"name": "eventTime"}}),
            json!({"orderByAttribute": []}),
            json!({"attributes": [1]}),
        ];
        for b in bad {
            let e = parms(b.clone()).expect_err(&b.to_string());
            assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
        }
        assert!(parse_search_parms(b"{not json").is_err());
        assert!(parse_search_parms(b"").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(check_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(check_limit(Some(1)), Ok(1));
        assert_eq!(check_limit(Some(100)), Ok(100));
        for l in [0, 101, -1, i64::MAX, i64::MIN] {
            assert_eq!(check_limit(Some(l)).map_err(|e| e.code), Err(codes::INVALID_LIMIT));
        }
    }

    fn attrs(v: Value) -> Vec<Attribute> {
        parms(json!({"searchByAttributes": v})).expect("valid").attributes
    }

    #[test]
    fn siem_rules() {
        let q = siem_query(&attrs(json!([
            attr("startTime", "GREATER_THAN_OR_EQUAL", "2024-05-01T00:00:00"),
            attr("endTime", "LESS_THAN_OR_EQUAL", "2024-05-02T00:00:00Z"),
            attr("category", "EQUALS", "management"),
            attr("outcome", "EQUALS", "FAIL"),
        ])))
        .expect("valid");
        assert_eq!(q.start_ms, 1_714_521_600_000);
        assert_eq!(q.end_ms, Some(1_714_608_000_000));
        assert_eq!(q.categories, ["MANAGEMENT"]);
        assert_eq!(q.outcomes, ["FAIL"]);

        let err = |v: Value| siem_query(&attrs(v)).expect_err("invalid").code;
        assert_eq!(err(json!([])), codes::MISSING_SEARCH_ATTRIBUTE);
        assert_eq!(
            err(json!([attr("endTime", "LESS_THAN_OR_EQUAL", "2024-05-02T00:00:00")])),
            codes::MISSING_SEARCH_ATTRIBUTE
        );
        assert_eq!(
            err(json!([attr("startTime", "GREATER_THAN", "2024-05-01T00:00:00")])),
            codes::INVALID_SEARCH_ATTRIBUTE
        );
        assert_eq!(err(json!([attr("startTime", "GREATER_THAN_OR_EQUAL", "May 1st")])), codes::INVALID_DATE);
        assert_eq!(
            err(json!([
                attr("startTime", "GREATER_THAN_OR_EQUAL", "2024-05-01T00:00:00"),
                attr("eventType", "EQUALS", "x")
            ])),
            codes::INVALID_SEARCH_ATTRIBUTE
        );
        assert_eq!(
            err(json!([
                attr("startTime", "GREATER_THAN_OR_EQUAL", "2024-05-01T00:00:00"),
                attr("category", "EQUALS", "EVERYTHING")
            ])),
            codes::INVALID_SEARCH_ATTRIBUTE
        );
        assert_eq!(
            err(json!([{"name": "startTime", "operator": "GREATER_THAN_OR_EQUAL"}])),
            codes::INVALID_SEARCH_ATTRIBUTE
        );
    }

    #[test]
    fn search_rules() {
        let q = search_query(
            &attrs(json!([
                attr("eventTime", "GREATER_THAN", "2024-05-01T00:00:00"),
                attr("eventTime", "LESS_THAN", "2024-05-02T00:00:00"),
                attr("subjectName", "CONTAINS", "Smith"),
                attr("sourceIp", "STARTS_WITH", "203.0.113."),
            ])),
            Some(&("entityType".to_string(), true)),
        )
        .expect("valid");
        assert_eq!(q.start_ms, 1_714_521_600_001);
        assert_eq!(q.end_ms, 1_714_607_999_999);
        assert_eq!(q.filters[0].value, "smith");
        assert_eq!(q.order.key, SortKey::Field(Field::EntityType));

        let err = |v: Value, o: Option<&(String, bool)>| search_query(&attrs(v), o).expect_err("invalid").code;
        let t = attr("eventTime", "GREATER_THAN_OR_EQUAL", "2024-05-01T00:00:00");
        assert_eq!(err(json!([attr("subjectName", "EQUALS", "x")]), None), codes::MISSING_SEARCH_ATTRIBUTE);
        assert_eq!(err(json!([t.clone(), attr("sourceIp", "CONTAINS", "1")]), None), codes::INVALID_SEARCH_ATTRIBUTE);
        assert_eq!(err(json!([t.clone(), attr("subject", "NOT_EQUALS", "1")]), None), codes::INVALID_SEARCH_ATTRIBUTE);
        assert_eq!(
            err(json!([t.clone(), attr("entityType", "EQUALS", &"X".repeat(41))]), None),
            codes::INVALID_SEARCH_ATTRIBUTE
        );
        assert_eq!(err(json!([t.clone(), attr("bogus", "EQUALS", "x")]), None), codes::INVALID_SEARCH_ATTRIBUTE);
        assert_eq!(
            err(json!([t.clone(), attr("eventTime", "EQUALS", "2024-05-01T00:00:00")]), None),
            codes::INVALID_SEARCH_ATTRIBUTE
        );
        assert_eq!(err(json!([t.clone()]), Some(&("token".to_string(), true))), codes::INVALID_ORDER_BY_ATTRIBUTE);
        assert_eq!(search_query(&attrs(json!([t])), None).expect("ok").order, DEFAULT_ORDER);
    }

    #[test]
    fn filter_semantics() {
        let mut e = super::super::generate::empty_event();
        e.subject_name = Some("John.Smith".into());
        let f = |op, v: &str| Filter { field: Field::SubjectName, op, value: v.to_lowercase() };
        assert!(f(Operator::Equals, "john.smith").matches(&e));
        assert!(f(Operator::Contains, "SMITH").matches(&e));
        assert!(f(Operator::NotContains, "garcia").matches(&e));
        assert!(f(Operator::StartsWith, "john").matches(&e));
        assert!(f(Operator::EndsWith, ".smith").matches(&e));
        assert!(!f(Operator::NotEquals, "john.smith").matches(&e));
        e.subject_name = None;
        assert!(!f(Operator::NotEquals, "anything").matches(&e));
    }

    #[test]
    fn cursor_peek() {
        assert!(has_cursor(br#"{"cursor":"abc"}"#));
        assert!(!has_cursor(br#"{"cursor":""}"#));
        assert!(!has_cursor(br#"{"limit":5}"#));
        assert!(!has_cursor(b"garbage"));
    }
}
