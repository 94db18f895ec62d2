//! Where the HTTP client may go: redirects are followed only within the origin (scheme, host
//! and port) they start from, so that credentials posted to the login and the token of an
//! authenticated call never reach another server; and what a failed connection says about its
//! cause (DNS, refused, TLS, reset), for messages.

use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};
use std::error::Error as _;

/// Most redirects followed within the origin.
const MAX_REDIRECTS: usize = 10;

/// `scheme://host:port`.
pub fn origin(url: &Url) -> String {
    format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

/// A redirect to another origin, refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "the API answered {status} redirecting to another origin, {to}; the engine does not send credentials \
     or tokens across origins. Check the `hostname` parameter (the tenant's address may have changed)"
)]
pub struct CrossOrigin {
    pub status: u16,
    pub to: String,
}

/// The client's redirect policy: same origin only, at most [`MAX_REDIRECTS`].
pub fn same_origin_redirects() -> Policy {
    Policy::custom(|attempt: Attempt| {
        let from = attempt.previous().first().map(origin);
        let to = origin(attempt.url());
        if from.as_deref() != Some(to.as_str()) {
            let status = attempt.status().as_u16();
            attempt.error(CrossOrigin { status, to })
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// The refusal, when `e` is a redirect the policy refused.
pub fn refused_redirect(e: &reqwest::Error) -> Option<String> {
    if !e.is_redirect() {
        return None;
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(c) = s.downcast_ref::<CrossOrigin>() {
            return Some(c.to_string());
        }
        source = s.source();
    }
    Some(format!("redirect refused: {}", chain(e)))
}

fn chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() { e.to_string() } else { parts.join(": ") }
}

/// Why a connection failed, in words: `connection refused`, `DNS lookup failed: …`, `TLS
/// handshake failed: …`, `connection reset`, or the library's own words.
pub fn connect_cause(e: &reqwest::Error) -> String {
    let text = chain(e);
    let lower = text.to_ascii_lowercase();
    // A rustls error anywhere in the chain: the TLS handshake failed.
    let mut tls = false;
    let mut source = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<rustls::Error>().is_some() {
            tls = true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // An I/O error's `source` skips the error it wraps: look inside each layer.
            let mut inner = io.get_ref();
            while let Some(i) = inner {
                tls |= i.downcast_ref::<rustls::Error>().is_some();
                inner = i.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::ConnectionAborted => return "connection aborted".into(),
                _ => {}
            }
        }
        source = s.source();
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") || lower.contains("name or service") {
        format!("DNS lookup failed: {text}")
    } else if tls || lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        format!("TLS handshake failed: {text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(origin(&u("https://a.example/x")), origin(&u("https://a.example:443/y?z")));
        assert_ne!(origin(&u("http://127.0.0.1:1/")), origin(&u("http://127.0.0.1:2/")));
        assert_ne!(origin(&u("http://a.example/")), origin(&u("https://a.example/")));
    }
}
