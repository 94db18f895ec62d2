//! Auth strategies of a source spec, a closed set: `login` (POST credentials, read a token and
//! its expiry from the response, send it in a header), `api_key` (a header built from
//! parameters) and `oauth2_client_credentials` (RFC 6749 §4.4: a form POST to a token endpoint
//! with the client's id and secret, in HTTP Basic or in the form, for an `access_token` that
//! lasts `expires_in` seconds).

use super::duration::parse_duration;
use super::template::Template;
use super::timefmt::parse_instant;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
use crate::yaml::{MapReader, Node};
use serde_json::Value;
use std::time::Duration;

pub(crate) const STRATEGIES: &[&str] = &["login", "api_key", "oauth2_client_credentials"];
pub(crate) const LOGIN_KEYS: &[&str] =
    &["method", "path", "body", "token", "expires_at", "ttl", "renew_before", "header"];
pub(crate) const API_KEY_KEYS: &[&str] = &["header"];
pub(crate) const HEADER_KEYS: &[&str] = &["name", "value"];
pub(crate) const OAUTH2_KEYS: &[&str] =
    &["token_url", "client_id", "client_secret", "scopes", "client_auth", "ttl", "renew_before", "header"];
pub(crate) const CLIENT_AUTH: &[&str] = &["basic", "post"];

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum AuthSpec {
    Login(LoginAuth),
    ApiKey { header: HeaderTemplate },
    OAuth2(OAuth2Auth),
}

impl AuthSpec {
    /// Whether the strategy gets a token from a login (and so can log in again on a 401).
    pub fn logs_in(&self) -> bool {
        matches!(self, AuthSpec::Login(_) | AuthSpec::OAuth2(_))
    }

    /// The header every request carries.
    pub fn header(&self) -> &HeaderTemplate {
        match self {
            AuthSpec::Login(l) => &l.header,
            AuthSpec::ApiKey { header } => header,
            AuthSpec::OAuth2(o) => &o.header,
        }
    }
}

/// `oauth2_client_credentials`: a token from the token endpoint (RFC 6749 §4.4).
#[derive(Debug, Clone)]
pub struct OAuth2Auth {
    /// The token endpoint: a path under `base_url`, or an absolute URL (a template over `params`).
    pub token_url: Template,
    pub client_id: Template,
    pub client_secret: Template,
    /// Sent space-separated as `scope`; none: the server's default scope.
    pub scopes: Vec<String>,
    pub client_auth: ClientAuth,
    /// Lifetime assumed when the answer gives no `expires_in`.
    pub ttl: Duration,
    pub renew_before: Duration,
    /// Default `Authorization: Bearer {{ token }}`.
    pub header: HeaderTemplate,
}

/// How the client authenticates to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret (`client_secret_basic`).
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

impl OAuth2Auth {
    /// Reads `access_token` and `expires_in` (seconds, a number or numeric text) from a token
    /// response; `now_ms` is the local clock.
    pub fn parse_response(&self, body: &Value, now_ms: i64) -> Result<Token, String> {
        let token = match body.get("access_token") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err("the token response has no `access_token`".into()),
        };
        let seconds = match body.get("expires_in") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let lifetime_ms = match seconds.filter(|s| s.is_finite() && *s > 0.0) {
            Some(s) => (s * 1000.0).min(i64::MAX as f64 / 4.0) as i64,
            None => i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 4),
        };
        Ok(Token { value: super::values::Secret::new(token), expires_at_ms: now_ms.saturating_add(lifetime_ms) })
    }

    /// When a token should be replaced (as for `login`).
    pub fn renew_at(&self, token: &Token, issued_ms: i64) -> i64 {
        renew_at(self.renew_before, token, issued_ms)
    }
}

/// `renew_before` ahead of a token's expiry, but never sooner than half-way through a short
/// lifetime.
fn renew_at(renew_before: Duration, token: &Token, issued_ms: i64) -> i64 {
    let before = i64::try_from(renew_before.as_millis()).unwrap_or(i64::MAX);
    let half = (token.expires_at_ms - issued_ms) / 2;
    token.expires_at_ms - before.min(half.max(0))
}

/// `login`: send credentials, get a token and its expiry.
#[derive(Debug, Clone)]
pub struct LoginAuth {
    pub method: String,
    pub path: String,
    pub body: Template,
    /// Dotted path of the token in the response.
    pub token: Vec<String>,
    /// Dotted path of the expiry instant in the response.
    pub expires_at: Option<Vec<String>>,
    /// Lifetime assumed when the response gives no expiry.
    pub ttl: Duration,
    /// Renew this long before the expiry.
    pub renew_before: Duration,
    /// The header sent with every request; its value template sees `token`.
    pub header: HeaderTemplate,
}

/// A header whose value is a template.
#[derive(Debug, Clone)]
pub struct HeaderTemplate {
    pub name: String,
    pub value: Template,
}

/// A token read from a login response.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub value: super::values::Secret,
    /// Unix milliseconds.
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("value", &self.value).field("expires_at_ms", &self.expires_at_ms).finish()
    }
}

/// A dotted path lookup (`paging.nextCursor`).
pub fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

pub fn dotted(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

impl LoginAuth {
    /// Reads the token and expiry from a login response; `now_ms` is the local clock.
    pub fn parse_response(&self, body: &Value, now_ms: i64) -> Result<Token, String> {
        let token = match lookup(body, &self.token) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(format!("the login response has no token at `{}`", self.token.join("."))),
        };
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let assumed = now_ms.saturating_add(ttl_ms);
        let expires_at_ms = match &self.expires_at {
            Some(path) => match lookup(body, path) {
                Some(v) => parse_instant(v).unwrap_or_else(|| {
                    // Not a reason to refuse a token that works: assume the configured lifetime.
                    tracing::warn!(
                        "the login response's `{}` is not a date-time ({}); assuming the token lasts {} (`auth.login.ttl`)",
                        path.join("."),
                        v.to_string().chars().take(40).collect::<String>(),
                        super::duration::format_duration(self.ttl)
                    );
                    assumed
                }),
                None => assumed,
            },
            None => assumed,
        };
        Ok(Token { value: super::values::Secret::new(token), expires_at_ms })
    }

    /// When a token should be replaced: `renew_before` ahead of its expiry, but never sooner
    /// than half-way through a short lifetime.
    pub fn renew_at(&self, token: &Token, issued_ms: i64) -> i64 {
        renew_at(self.renew_before, token, issued_ms)
    }
}

fn duration_key(r: &MapReader, key: &str, default: Duration, diags: &mut Diagnostics) -> Duration {
    match r.str(key, diags) {
        Some((text, span)) => parse_duration(&text).unwrap_or_else(|| {
            diags.push(Diagnostic::new(ErrorKind::BadDuration { key: key.into(), value: text }).at(span));
            default
        }),
        None => default,
    }
}

pub(super) fn decode_header(node: &Node, context: &str, diags: &mut Diagnostics) -> Option<HeaderTemplate> {
    let r = MapReader::new(node, context, HEADER_KEYS, diags)?;
    let name = r.str("name", diags);
    if !r.has("name") {
        diags.push(r.missing("name").help("e.g. `header: { name: Authorization, value: \"{{ token }}\" }`"));
    }
    let value = match r.node("value") {
        Some(n) => Template::decode(n, diags),
        None => {
            diags.push(r.missing("value"));
            return None;
        }
    };
    Some(HeaderTemplate { name: name?.0, value })
}

/// Decodes `auth:`, a mapping with exactly one strategy.
pub fn decode(node: &Node, diags: &mut Diagnostics) -> Option<AuthSpec> {
    let r = MapReader::new(node, "`auth`", STRATEGIES, diags)?;
    let present: Vec<&str> = STRATEGIES.iter().copied().filter(|s| r.has(s)).collect();
    match present.as_slice() {
        [] => {
            if !r.had_unknown_keys() {
                diags.push(r.missing("login").help("choose one strategy: login, api_key, oauth2_client_credentials"));
            }
            None
        }
        [_, second, ..] => {
            diags.push(
                Diagnostic::new(ErrorKind::ConflictingKeys {
                    first: present[0].into(),
                    second: (*second).into(),
                    context: "`auth`".into(),
                })
                .at(r.entry(second).map(|(k, _)| k.span.clone()).unwrap_or_else(|| r.span().clone()))
                .help("a source has one auth strategy"),
            );
            None
        }
        ["login"] => decode_login(r.node("login")?, diags).map(AuthSpec::Login),
        ["api_key"] => {
            let n = r.node("api_key")?;
            let h = MapReader::new(n, "`auth.api_key`", API_KEY_KEYS, diags)?;
            match h.node("header") {
                Some(hn) => decode_header(hn, "`auth.api_key.header`", diags).map(|header| AuthSpec::ApiKey { header }),
                None => {
                    diags.push(h.missing("header"));
                    None
                }
            }
        }
        _ => decode_oauth2(r.node("oauth2_client_credentials")?, diags).map(AuthSpec::OAuth2),
    }
}

fn decode_oauth2(node: &Node, diags: &mut Diagnostics) -> Option<OAuth2Auth> {
    let r = MapReader::new(node, "`auth.oauth2_client_credentials`", OAUTH2_KEYS, diags)?;
    let mut template = |key: &str, example: &str| match r.node(key) {
        Some(n) => Some(Template::decode(n, diags)),
        None => {
            diags.push(r.missing(key).help(format!("e.g. `{key}: {example}`")));
            None
        }
    };
    let token_url = template("token_url", "/oauth2/token");
    let client_id = template("client_id", "\"{{ params.client_id }}\"");
    let client_secret = template("client_secret", "\"{{ params.client_secret }}\"");
    let scopes: Vec<String> = r.strings("scopes", diags).into_iter().map(|(s, _)| s).collect();
    let client_auth = match r.str("client_auth", diags) {
        Some((v, span)) => match v.as_str() {
            "basic" => ClientAuth::Basic,
            "post" => ClientAuth::Post,
            _ => {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "client_auth".into(),
                        reason: format!("`{v}` is neither `basic` nor `post`"),
                    })
                    .at(span)
                    .help("`basic` (HTTP Basic, the default) or `post` (id and secret in the form)"),
                );
                ClientAuth::Basic
            }
        },
        None => ClientAuth::Basic,
    };
    let ttl = duration_key(&r, "ttl", Duration::from_secs(3600), diags);
    let renew_before = duration_key(&r, "renew_before", Duration::from_secs(60), diags);
    let header = match r.node("header") {
        Some(n) => decode_header(n, "`auth.oauth2_client_credentials.header`", diags)?,
        None => HeaderTemplate {
            name: "Authorization".into(),
            value: Template::string("Bearer {{ token }}").expect("a valid template"),
        },
    };
    Some(OAuth2Auth {
        token_url: token_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        scopes,
        client_auth,
        ttl,
        renew_before,
        header,
    })
}

fn decode_login(node: &Node, diags: &mut Diagnostics) -> Option<LoginAuth> {
    let r = MapReader::new(node, "`auth.login`", LOGIN_KEYS, diags)?;
    let method = r.str("method", diags).map(|(m, _)| m.to_ascii_uppercase()).unwrap_or_else(|| "POST".into());
    let path = r.str("path", diags);
    if !r.has("path") {
        diags.push(r.missing("path").help("the login endpoint, e.g. `path: /api/web/v1/adminapi/authenticate`"));
    }
    let body = r.node("body").map(|n| Template::decode(n, diags)).unwrap_or(Template::Literal(Value::Null));
    let token = r.str("token", diags);
    if !r.has("token") {
        diags.push(r.missing("token").help("where the response holds the token, e.g. `token: authToken`"));
    }
    let expires_at = r.str("expires_at", diags).map(|(p, _)| dotted(&p));
    let ttl = duration_key(&r, "ttl", Duration::from_secs(900), diags);
    let renew_before = duration_key(&r, "renew_before", Duration::from_secs(60), diags);
    let header = match r.node("header") {
        Some(n) => decode_header(n, "`auth.login.header`", diags),
        None => {
            diags.push(r.missing("header").help("e.g. `header: { name: Authorization, value: \"{{ token }}\" }`"));
            None
        }
    };
    Some(LoginAuth {
        method,
        path: path?.0,
        body,
        token: dotted(&token?.0),
        expires_at,
        ttl,
        renew_before,
        header: header?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn login() -> LoginAuth {
        LoginAuth {
            method: "POST".into(),
            path: "/login".into(),
            body: Template::Literal(Value::Null),
            token: dotted("authToken"),
            expires_at: Some(dotted("expirationTime")),
            ttl: Duration::from_secs(900),
            renew_before: Duration::from_secs(60),
            header: HeaderTemplate { name: "Authorization".into(), value: Template::string("{{ token }}").unwrap() },
        }
    }

    #[test]
    fn reads_token_and_both_expiry_forms() {
        let l = login();
        let now = 1_579_795_200_000; // 2020-01-23T16:00:00Z
        let t = l.parse_response(&json!({"authToken": "tok", "expirationTime": "2020-01-23T16:30:58Z"}), now).unwrap();
        assert_eq!(t.value.expose(), "tok");
        assert_eq!(t.expires_at_ms, now + 30 * 60_000 + 58_000);
        let t2 = l
            .parse_response(&json!({"authToken": "tok", "expirationTime": "2020-01-23T16:30:58.328+0000"}), now)
            .unwrap();
        assert_eq!(t2.expires_at_ms, t.expires_at_ms + 328);
        // No expiry: the configured lifetime.
        let t3 = l.parse_response(&json!({"authToken": "tok"}), now).unwrap();
        assert_eq!(t3.expires_at_ms, now + 900_000);
        assert!(format!("{t3:?}").contains("***") && !format!("{t3:?}").contains("tok\""));
    }

    #[test]
    fn bad_login_responses_are_errors() {
        let l = login();
        assert!(l.parse_response(&json!({}), 0).unwrap_err().contains("authToken"));
        assert!(l.parse_response(&json!({"authToken": ""}), 0).is_err());
        assert!(l.parse_response(&json!([1, 2]), 0).is_err());
    }

    #[test]
    fn an_unreadable_expiry_assumes_the_configured_lifetime() {
        let l = login();
        for odd in [json!("soon"), json!("2026-13-45T99:00:00Z"), json!(true), json!({"at": 1})] {
            let t = l.parse_response(&json!({"authToken": "t", "expirationTime": odd}), 1_000).unwrap();
            assert_eq!(t.expires_at_ms, 1_000 + 900_000, "{odd}");
        }
    }

    #[test]
    fn renews_ahead_of_expiry() {
        let l = login();
        let tok = |exp| Token { value: super::super::values::Secret::new("t"), expires_at_ms: exp };
        assert_eq!(l.renew_at(&tok(900_000), 0), 840_000);
        // A 10-second token is renewed half-way, not before it was issued.
        assert_eq!(l.renew_at(&tok(10_000), 0), 5_000);
    }

    fn decoded(yaml: &str) -> (Option<AuthSpec>, Vec<String>) {
        let file = crate::diagnostic::SourceFile::new("s.yaml", yaml);
        let node = crate::yaml::parse(&file).unwrap();
        let mut diags = Diagnostics::default();
        let a = decode(&node, &mut diags);
        (a, diags.0.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn oauth2_decodes_with_defaults_and_says_what_is_missing() {
        let (a, errors) = decoded(
            "oauth2_client_credentials: { token_url: /t, client_id: \"{{ params.id }}\", client_secret: s, scopes: a b }",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let Some(AuthSpec::OAuth2(o)) = a else { panic!("{a:?}") };
        assert_eq!(
            (o.client_auth, o.scopes.as_slice(), o.ttl),
            (ClientAuth::Basic, &["a b".to_string()][..], Duration::from_secs(3600))
        );
        assert_eq!(o.header.name, "Authorization");
        let (a, errors) = decoded("oauth2_client_credentials: { token_url: /t, client_auth: mtls }");
        assert!(a.is_none());
        for wanted in ["client_id", "client_secret", "mtls"] {
            assert!(errors.iter().any(|e| e.contains(wanted)), "{wanted}: {errors:?}");
        }
    }

    #[test]
    fn oauth2_reads_the_token_and_its_lifetime_in_seconds() {
        let (Some(AuthSpec::OAuth2(o)), _) =
            decoded("oauth2_client_credentials: { token_url: /t, client_id: i, client_secret: s, ttl: PT10M }")
        else {
            panic!()
        };
        let t = o.parse_response(&json!({"access_token": "at", "expires_in": 3600}), 1_000).unwrap();
        assert_eq!((t.value.expose(), t.expires_at_ms), ("at", 1_000 + 3_600_000));
        let t = o.parse_response(&json!({"access_token": "at", "expires_in": "120"}), 0).unwrap();
        assert_eq!(t.expires_at_ms, 120_000);
        for odd in [json!(null), json!(-5), json!("soon"), json!(0)] {
            let t = o.parse_response(&json!({"access_token": "at", "expires_in": odd}), 0).unwrap();
            assert_eq!(t.expires_at_ms, 600_000, "{odd}: the configured ttl");
        }
        assert!(o.parse_response(&json!({"error": "invalid_client"}), 0).unwrap_err().contains("access_token"));
        // A two-minute token: renewed a minute (`renew_before`) ahead, which is half-way.
        assert_eq!(o.renew_at(&t, 0), 60_000);
    }
}
