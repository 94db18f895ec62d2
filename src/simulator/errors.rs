//! Errors: the API's `ErrorInfo` responses and the simulator's own start-up failures.

use hyper::StatusCode;
use serde::Serialize;

/// An error answered to a client as `ErrorInfo {errorCode, errorMessage, parameters}`.
///
/// Entrust documents no error codes for these endpoints. The ones used here follow what
/// third-party clients handle (`access_denied`, `api_application_not_found`,
/// `invalid_session_token`) or are the simulator's own choice for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorInfo<'a> {
    error_code: &'a str,
    error_message: &'a str,
    parameters: [(); 0],
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        let info = ErrorInfo { error_code: self.code, error_message: &self.message, parameters: [] };
        serde_json::to_vec(&info).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// Error codes used by the simulator.
pub mod codes {
    /// Malformed request body (not JSON, wrong types).
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// `applicationId` missing: the OpenAPI document's own `ErrorInfo` example.
    pub const INVALID_USER_RESPONSE: &str = "invalid_user_response";
    pub const ACCESS_DENIED: &str = "access_denied";
    pub const API_APPLICATION_NOT_FOUND: &str = "api_application_not_found";
    pub const INVALID_SESSION_TOKEN: &str = "invalid_session_token";
    pub const INVALID_LIMIT: &str = "invalid_limit";
    pub const INVALID_SEARCH_ATTRIBUTE: &str = "invalid_search_attribute";
    pub const MISSING_SEARCH_ATTRIBUTE: &str = "missing_search_attribute";
    pub const INVALID_ORDER_BY_ATTRIBUTE: &str = "invalid_order_by_attribute";
    pub const INVALID_DATE: &str = "invalid_date";
    pub const INVALID_CURSOR: &str = "invalid_cursor";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
    pub const INTERNAL_ERROR: &str = "internal_error";
    pub const SERVICE_UNAVAILABLE: &str = "service_unavailable";
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid simulator configuration: {0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_info_body_shape() {
        let e = ApiError::unauthorized(codes::ACCESS_DENIED, "bad \"secret\"");
        let v: serde_json::Value = serde_json::from_slice(&e.body()).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "errorCode": "access_denied",
                "errorMessage": "bad \"secret\"",
                "parameters": []
            })
        );
    }
}
