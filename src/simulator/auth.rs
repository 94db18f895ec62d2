//! Admin API authentication: the login body, credential checks, the token store and `Authorization` checks.
//!
//! Tokens are opaque: 900 random bytes in padded base64 (1,200 characters, like Entrust's),
//! unrelated to the shared secret. They expire after the configured lifetime; there is no
//! refresh. With `enableWebSession`, the `INTELLITRUST_SESSION_ID` cookie set at login must
//! accompany the token on every later call.

use std::collections::HashMap;

use hyper::header::{AUTHORIZATION, COOKIE, HeaderMap};
use serde::Serialize;
use serde_json::Value;

use super::config::Credentials;
use super::errors::{ApiError, codes};
use super::rng::{Rng, mix64};
use super::time;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Name of the web-session cookie.
pub const SESSION_COOKIE: &str = "INTELLITRUST_SESSION_ID";

/// A parsed `AdminApiAuthentication` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub application_id: String,
    pub shared_secret: String,
    pub enable_web_session: bool,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(codes::INVALID_REQUEST, message)
}

/// Parses and type-checks a login body.
pub fn parse_login(body: &[u8]) -> Result<LoginRequest, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(invalid("the request body must be an AdminApiAuthentication object"));
    };
    let text = |key: &str, missing: &str| -> Result<String, ApiError> {
        match map.get(key) {
            None | Some(Value::Null) => Err(ApiError::bad_request(codes::INVALID_USER_RESPONSE, missing.to_string())),
            Some(Value::String(s)) if s.is_empty() => {
                Err(ApiError::bad_request(codes::INVALID_USER_RESPONSE, missing.to_string()))
            }
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(format!("{key} must be a string"))),
        }
    };
    let application_id = text("applicationId", "Application id cannot be null")?;
    let shared_secret = text("sharedSecret", "Shared secret cannot be null")?;
    let enable_web_session = match map.get("enableWebSession") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("enableWebSession must be a boolean")),
    };
    Ok(LoginRequest { application_id, shared_secret, enable_web_session })
}

/// Compares without an early exit on the first differing byte.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// Checks a login against the tenant's application: unknown application → 404
/// `api_application_not_found`; wrong secret → 401 `access_denied`.
pub fn check_credentials(login: &LoginRequest, app: &Credentials) -> Result<(), ApiError> {
    if !login.application_id.eq_ignore_ascii_case(&app.application_id) {
        return Err(ApiError::new(
            hyper::StatusCode::NOT_FOUND,
            codes::API_APPLICATION_NOT_FOUND,
            format!("Administration API application {} not found", time::truncate_for_message(&login.application_id)),
        ));
    }
    if !same_secret(&login.shared_secret, &app.shared_secret) {
        return Err(ApiError::unauthorized(codes::ACCESS_DENIED, "Access denied: invalid shared secret"));
    }
    Ok(())
}

/// `AdminApiAuthenticationResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResult {
    pub auth_token: String,
    pub creation_time: String,
    pub expiration_time: String,
}

/// A token just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub result: LoginResult,
    /// The `INTELLITRUST_SESSION_ID` value, with `enableWebSession`.
    pub session_cookie: Option<String>,
}

#[derive(Debug, Clone)]
struct Session {
    expires_ms: i64,
    cookie: Option<String>,
    revoked: bool,
}

/// Issued tokens and their sessions.
#[derive(Debug)]
pub struct TokenStore {
    sessions: HashMap<String, Session>,
    rng: Rng,
}

/// Most sessions kept; the oldest expired ones are dropped first.
const MAX_SESSIONS: usize = 100_000;

impl TokenStore {
    /// Tokens must not be predictable from the seed, so the wall clock is mixed in.
    pub fn new(seed: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        TokenStore { sessions: HashMap::new(), rng: Rng::new(mix64(seed ^ mix64(nanos) ^ 0x70ce_5eed)) }
    }

    /// Issues a token valid for `ttl_ms` from `now_ms`.
    pub fn issue(&mut self, now_ms: i64, ttl_ms: i64, web_session: bool) -> Issued {
        self.prune(now_ms);
        let mut bytes = vec![0u8; 900];
        self.rng.fill_bytes(&mut bytes);
        let token = STANDARD.encode(&bytes);
        let cookie = web_session.then(|| {
            let mut c = [0u8; 24];
            self.rng.fill_bytes(&mut c);
            URL_SAFE_NO_PAD.encode(c)
        });
        let created_s = now_ms.div_euclid(1000) * 1000;
        let expires_ms = now_ms.saturating_add(ttl_ms);
        self.sessions.insert(token.clone(), Session { expires_ms, cookie: cookie.clone(), revoked: false });
        Issued {
            result: LoginResult {
                auth_token: token,
                creation_time: time::format_seconds_z(created_s),
                expiration_time: time::format_seconds_z(created_s.saturating_add(ttl_ms)),
            },
            session_cookie: cookie,
        }
    }

    fn prune(&mut self, now_ms: i64) {
        const GRACE_MS: i64 = 3_600_000;
        self.sessions.retain(|_, s| s.expires_ms.saturating_add(GRACE_MS) > now_ms);
        if self.sessions.len() >= MAX_SESSIONS {
            self.sessions.retain(|_, s| s.expires_ms > now_ms && !s.revoked);
        }
    }

    /// Every token issued and not yet forgotten (live, expired or revoked).
    pub fn issued(&self) -> Vec<String> {
        self.sessions.keys().cloned().collect()
    }

    /// Ends a token's life early (the `expire-token` fault).
    pub fn revoke(&mut self, token: &str) {
        if let Some(s) = self.sessions.get_mut(token) {
            s.revoked = true;
        }
    }

    /// Every live token expires now.
    pub fn revoke_all(&mut self) {
        for s in self.sessions.values_mut() {
            s.revoked = true;
        }
    }

    /// Checks the `Authorization` header (and the session cookie where required). Returns
    /// the token, or `None` when the request authenticated with the credentials header.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        now_ms: i64,
        app: &Credentials,
        accept_credentials_header: bool,
    ) -> Result<Option<String>, ApiError> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                codes::ACCESS_DENIED,
                "An Authorization header with the token from /api/web/v1/adminapi/authenticate is required",
            ));
        };
        let Ok(value) = value.to_str() else {
            return Err(invalid_token());
        };
        let token = strip_bearer(value.trim());
        if accept_credentials_header
            && let Some((id, secret)) = token.split_once(',')
            && id.trim().eq_ignore_ascii_case(&app.application_id)
            && same_secret(secret.trim(), &app.shared_secret)
        {
            return Ok(None);
        }
        let Some(session) = self.sessions.get(token) else {
            return Err(invalid_token());
        };
        if session.revoked || now_ms >= session.expires_ms {
            return Err(ApiError::unauthorized(
                codes::INVALID_SESSION_TOKEN,
                "The session token has expired; authenticate again",
            ));
        }
        if let Some(expected) = &session.cookie
            && cookie_value(headers, SESSION_COOKIE).as_deref() != Some(expected.as_str())
        {
            return Err(ApiError::unauthorized(
                codes::INVALID_SESSION_TOKEN,
                format!("This session requires the {SESSION_COOKIE} cookie returned at authentication"),
            ));
        }
        Ok(Some(token.to_string()))
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized(codes::INVALID_SESSION_TOKEN, "The session token is not valid")
}

/// The token of an `Authorization` value, with or without the `Bearer` type.
pub fn strip_bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn app() -> Credentials {
        Credentials::default()
    }

    #[test]
    fn login_body_rules() {
        let ok = parse_login(br#"{"applicationId":"a","sharedSecret":"s","enableWebSession":true}"#).expect("ok");
        assert!(ok.enable_web_session);
        let code = |b: &[u8]| parse_login(b).expect_err("invalid").code;
        assert_eq!(code(br#"{"sharedSecret":"s"}"#), codes::INVALID_USER_RESPONSE);
        assert_eq!(code(br#"{"applicationId":"a"}"#), codes::INVALID_USER_RESPONSE);
        assert_eq!(code(br#"{"applicationId":1,"sharedSecret":"s"}"#), codes::INVALID_REQUEST);
        assert_eq!(
            code(br#"{"applicationId":"a","sharedSecret":"s","enableWebSession":"yes"}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(code(b"[]"), codes::INVALID_REQUEST);
        assert_eq!(code(b"{"), codes::INVALID_REQUEST);
    }

    #[test]
    fn credential_checks() {
        let good = LoginRequest {
            application_id: app().application_id,
            shared_secret: app().shared_secret,
            enable_web_session: false,
        };
        assert!(check_credentials(&good, &app()).is_ok());
        let wrong_secret = LoginRequest { shared_secret: "nope".into(), ..good.clone() };
        let e = check_credentials(&wrong_secret, &app()).expect_err("denied");
        assert_eq!((e.status.as_u16(), e.code), (401, codes::ACCESS_DENIED));
        let unknown = LoginRequest { application_id: "00000000-0000-4000-8000-000000000000".into(), ..good };
        let e = check_credentials(&unknown, &app()).expect_err("unknown");
        assert_eq!((e.status.as_u16(), e.code), (404, codes::API_APPLICATION_NOT_FOUND));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "abcd"));
    }

    fn headers(pairs: &[(&hyper::header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("ascii"));
        }
        h
    }

    #[test]
    fn tokens_expire_and_accept_both_header_forms() {
        let mut store = TokenStore::new(1);
        let issued = store.issue(1_000_000, 900_000, false);
        let token = issued.result.auth_token.clone();
        assert_eq!(token.len(), 1200);
        assert_eq!(issued.result.creation_time, "1970-01-01T00:16:40Z");
        assert_eq!(issued.result.expiration_time, "1970-01-01T00:31:40Z");
        let bare = headers(&[(&AUTHORIZATION, &token)]);
        let bearer = headers(&[(&AUTHORIZATION, &format!("Bearer {token}"))]);
        assert!(store.authorize(&bare, 1_000_001, &app(), false).is_ok());
        assert!(store.authorize(&bearer, 1_000_001, &app(), false).is_ok());
        let e = store.authorize(&bare, 1_900_000, &app(), false).expect_err("expired");
        assert_eq!(e.code, codes::INVALID_SESSION_TOKEN);
        let e = store.authorize(&HeaderMap::new(), 1_000_001, &app(), false).expect_err("missing");
        assert_eq!(e.status.as_u16(), 401);
        let e = store
            .authorize(&headers(&[(&AUTHORIZATION, "Bearer nope")]), 1_000_001, &app(), false)
            .expect_err("unknown");
        assert_eq!(e.status.as_u16(), 401);
        store.revoke(&token);
        assert!(store.authorize(&bare, 1_000_002, &app(), false).is_err());
        assert_ne!(store.issue(1_000_000, 1, false).result.auth_token, token);
    }

    #[test]
    fn web_session_cookie_is_required() {
        let mut store = TokenStore::new(2);
        let issued = store.issue(0, 60_000, true);
        let token = issued.result.auth_token;
        let cookie = issued.session_cookie.expect("cookie");
        let without = headers(&[(&AUTHORIZATION, &token)]);
        assert!(store.authorize(&without, 1, &app(), false).is_err());
        let with = headers(&[(&AUTHORIZATION, &token), (&COOKIE, &format!("other=1; {SESSION_COOKIE}={cookie}"))]);
        assert!(store.authorize(&with, 1, &app(), false).is_ok());
    }

    #[test]
    fn credentials_header_only_when_enabled() {
        let store = TokenStore::new(3);
        let value = format!("{},{}", app().application_id, app().shared_secret);
        let h = headers(&[(&AUTHORIZATION, &value)]);
        assert!(store.authorize(&h, 0, &app(), false).is_err());
        assert_eq!(store.authorize(&h, 0, &app(), true), Ok(None));
    }

    #[test]
    fn bearer_stripping() {
        assert_eq!(strip_bearer("Bearer abc"), "abc");
        assert_eq!(strip_bearer("bearer  abc"), "abc");
        assert_eq!(strip_bearer("abc"), "abc");
        assert_eq!(strip_bearer("Basic abc"), "Basic abc");
    }
}
