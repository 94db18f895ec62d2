//! The answers of the faults that test a client's care with what it sends: answers that quote
//! the credentials they were sent (`echo-credentials`), a `200` that is an `ErrorInfo`
//! (`ok-error-info`), a login whose `expirationTime` is not a date-time (`bad-expiry`), and
//! redirects to another origin (`redirect-login`, `redirect-audit`).

use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, LOCATION, RETRY_AFTER};

use super::errors::{ApiError, codes};
use super::faults::Endpoint;

/// An answer before it becomes a reply.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub headers: Vec<(HeaderName, String)>,
}

/// `filler` text, then `quoted` placed so that it spans the 200th character.
fn across_200(filler: &str, quoted: &str) -> String {
    let before = 200usize.saturating_sub(quoted.chars().count() / 2).max(1);
    let mut text: String = filler.chars().cycle().take(before).collect();
    text.push_str(quoted);
    text
}

/// The shared secret of a login body, if it has one.
fn shared_secret(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("sharedSecret").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// `echo-credentials`: the `n`-th such answer (variants alternate).
pub fn echo(endpoint: Endpoint, headers: &HeaderMap, body: &[u8], n: u64) -> Answer {
    if endpoint == Endpoint::Login {
        let page = across_200(
            "<html><head><title>503 Service Unavailable</title></head><body><p>The login service is busy. ",
            &format!("{}</p><p>Request: sharedSecret={}</p></body></html>", "", shared_secret(body)),
        );
        return Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: page.into_bytes(),
            headers: vec![(CONTENT_TYPE, "text/html".into()), (RETRY_AFTER, "0".into())],
        };
    }
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if n.is_multiple_of(2) {
        let e = ApiError::unauthorized(
            codes::INVALID_SESSION_TOKEN,
            format!("The session token has expired (Authorization: {authorization}); authenticate again"),
        );
        Answer { status: e.status, body: e.body(), headers: Vec::new() }
    } else {
        let text = across_200("Internal error while serving the request. ", &format!("Authorization: {authorization}"));
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: text.into_bytes(),
            headers: vec![(CONTENT_TYPE, "text/plain".into())],
        }
    }
}

/// `ok-error-info`: a `200` whose body is an `ErrorInfo`.
pub fn ok_error_info() -> Answer {
    let e = ApiError::new(StatusCode::OK, "service_busy", "The report service is busy; try again");
    Answer { status: StatusCode::OK, body: e.body(), headers: Vec::new() }
}

/// `bad-expiry`: the value given for `expirationTime`.
pub const BAD_EXPIRY: &str = "in fifteen minutes";

/// `redirect-login`, `redirect-audit`: the `n`-th redirect to `path` at `elsewhere`.
pub fn redirect(elsewhere: std::net::SocketAddr, path: &str, n: u64) -> Answer {
    const STATUSES: [StatusCode; 5] = [
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::SEE_OTHER,
    ];
    let status = STATUSES[(n % STATUSES.len() as u64) as usize];
    Answer { status, body: Vec::new(), headers: vec![(LOCATION, format!("http://{elsewhere}{path}"))] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_span_the_200th_character() {
        let t = across_200("abc ", "0123456789");
        let at = t.find("0123456789").unwrap();
        assert!(at < 200 && at + 10 > 200, "{at}");
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, "tok-123".parse().unwrap());
        let login = echo(Endpoint::Login, &h, br#"{"applicationId":"a","sharedSecret":"the-secret-value"}"#, 0);
        let page = String::from_utf8(login.body).unwrap();
        let at = page.find("the-secret-value").unwrap();
        assert!(at < 200 && at + 16 > 200, "{at}: {page}");
        assert!(String::from_utf8(echo(Endpoint::Siem, &h, b"", 0).body).unwrap().contains("tok-123"));
        assert_eq!(echo(Endpoint::Siem, &h, b"", 1).status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
