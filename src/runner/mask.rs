//! Masking secrets in text quoted from an API answer, before it is cut short: every secret in
//! the forms an answer may quote it (as is, JSON-escaped, percent-encoded), and a cut or
//! quoted fragment of one at the very end of an excerpt. Also reads Entrust's `ErrorInfo`
//! (`errorCode`, `errorMessage`) out of a body, whatever its status.

use serde::Deserialize;

/// Secrets shorter than this are not masked (they would mask ordinary words).
const MIN_SECRET: usize = 3;

/// `text` with every occurrence of every secret replaced by `***`.
pub fn mask<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_string();
    let mut secrets: Vec<&str> = secrets.into_iter().filter(|s| s.len() >= MIN_SECRET).collect();
    // Longer first, so that a secret holding another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in &secrets {
        for form in forms(s) {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "***");
            }
        }
    }
    // A fragment of a secret left at the end (the answer itself was cut mid-secret).
    for s in &secrets {
        if let Some(n) = trailing_fragment(&out, s) {
            out.truncate(out.len() - n);
            out.push_str("***");
        }
    }
    out
}

/// The forms a secret takes when an answer quotes it.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"');
    if json != secret {
        forms.push(json.to_string());
    }
    let percent: String = secret
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    if percent != secret {
        forms.push(percent);
    }
    forms
}

/// The length of the longest end of `text` (at least 4 bytes) that begins `secret`.
fn trailing_fragment(text: &str, secret: &str) -> Option<usize> {
    let longest = secret.len().min(text.len());
    (4..=longest).rev().find(|&n| {
        text.is_char_boundary(text.len() - n) && secret.as_bytes().starts_with(&text.as_bytes()[text.len() - n..])
    })
}

/// The first `chars` characters of `text` (already masked), with "…" when cut.
pub fn excerpt(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[derive(Deserialize)]
struct ErrorInfo {
    #[serde(rename = "errorCode")]
    code: Option<serde_json::Value>,
    #[serde(rename = "errorMessage")]
    message: Option<serde_json::Value>,
}

fn text_of(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// ` errorCode: errorMessage` (or the one there is) of an `ErrorInfo` body.
pub fn error_info(body: &[u8]) -> Option<String> {
    let info: ErrorInfo = serde_json::from_slice(body).ok()?;
    match (text_of(&info.code), text_of(&info.message)) {
        (Some(c), Some(m)) => Some(format!(" {c}: {m}")),
        (Some(c), None) => Some(format!(" {c}")),
        (None, Some(m)) => Some(format!(": {m}")),
        (None, None) => None,
    }
}

/// The `ErrorInfo` of a successful answer that is one: an object with an `errorCode` and no
/// `results`. Only answers that name `errorCode` near their start are parsed a second time.
pub fn ok_error_info(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(4096)];
    if !head.windows(11).any(|w| w == b"\"errorCode\"") {
        return None;
    }
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "errorCode")]
        code: Option<serde::de::IgnoredAny>,
        results: Option<serde::de::IgnoredAny>,
    }
    let shape: Shape = serde_json::from_slice(body).ok()?;
    if shape.code.is_none() || shape.results.is_some() {
        return None;
    }
    error_info(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_form_then_cuts() {
        let secret = "s3cr/et\"value";
        let body = format!("{}quoted {secret}, {} and {}", "x".repeat(190), r#"s3cr/et\"value"#, "s3cr%2Fet%22value");
        let masked = mask(&body, [secret]);
        assert!(!masked.contains("s3cr"), "{masked}");
        assert_eq!(masked.matches("***").count(), 3);
        let cut = excerpt(&masked, 200);
        assert!(cut.ends_with('…') && !cut.contains("s3cr"));
    }

    #[test]
    fn a_fragment_at_the_end_is_masked_and_short_secrets_are_not() {
        assert_eq!(mask("token: abcdef", ["abcdefghij"]), "token: ***");
        assert_eq!(mask("token: abc", ["abcdefghij"]), "token: abc");
        assert_eq!(mask("a b", ["a"]), "a b");
        assert_eq!(mask("long-secret and secret", ["secret", "long-secret"]), "*** and ***");
    }

    #[test]
    fn error_info_in_any_answer() {
        assert_eq!(error_info(br#"{"errorCode":"invalid_limit","errorMessage":"no"}"#).unwrap(), " invalid_limit: no");
        assert_eq!(error_info(br#"{"errorCode":7}"#).unwrap(), " 7");
        assert!(error_info(b"<html>").is_none());
        assert_eq!(ok_error_info(br#"{"errorCode":"quota","errorMessage":"over"}"#).unwrap(), " quota: over");
        assert!(ok_error_info(br#"{"errorCode":"x","results":[]}"#).is_none());
        assert!(ok_error_info(br#"{"results":[],"paging":{}}"#).is_none());
    }
}
