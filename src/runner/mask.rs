//! Masking secrets in text quoted from an API answer, before it is cut short: every secret in
//! the forms an answer may quote it (as is, any character JSON-, percent- or HTML-escaped, its
//! base64), and a cut or quoted fragment of one at the very end of an excerpt. Also reads Entrust's `ErrorInfo`
//! (`errorCode`, `errorMessage`) out of a body, whatever its status.

use serde::Deserialize;

/// Secrets shorter than this are not masked (they would mask ordinary words).
const MIN_SECRET: usize = 3;

/// `text` with the credential of an auth header masked as [`mask`] masks a secret: the
/// header's whole value and its last word (the token of `Bearer <token>`).
pub fn mask_sent(text: &str, header_value: Option<&str>) -> String {
    mask(text, header_value.into_iter().flat_map(|v| [v, v.rsplit(' ').next().unwrap_or(v)]))
}

/// `text` with every occurrence of every secret replaced by `***`: written as is or with any of
/// its characters escaped (JSON `\u0041` or `\/`, percent `%41` or `%2f`, `+` for a space, HTML
/// `&#65;`, `&#x41;` or `&quot;`), and its base64 (standard or URL alphabet, at any alignment,
/// as in an HTTP Basic header).
pub fn mask<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut secrets: Vec<&str> = secrets.into_iter().filter(|s| s.len() >= MIN_SECRET).collect();
    // Longer first, so that a secret holding another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let t = text.as_bytes();
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let starts = matches!(t[i], b'\\' | b'%' | b'&' | b'+');
        match secrets.iter().filter(|s| starts || t[i] == s.as_bytes()[0]).find_map(|s| quoted_at(t, i, s)) {
            Some(end) => {
                out.extend_from_slice(b"***");
                i = end;
            }
            None => {
                out.push(t[i]);
                i += 1;
            }
        }
    }
    let mut out = String::from_utf8_lossy(&out).into_owned();
    for s in &secrets {
        for core in base64_cores(s) {
            if out.contains(core.as_str()) {
                out = out.replace(core.as_str(), "***");
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

/// The end of `secret` written at `at` in `t`, each character as is or escaped.
fn quoted_at(t: &[u8], at: usize, secret: &str) -> Option<usize> {
    secret.chars().try_fold(at, |i, c| one_char(t, i, c))
}

/// The end of character `c` written at `i`: as is, or in one of the escapes an answer uses.
fn one_char(t: &[u8], i: usize, c: char) -> Option<usize> {
    let mut buf = [0u8; 4];
    let raw = c.encode_utf8(&mut buf).as_bytes();
    if t[i..].starts_with(raw) {
        return Some(i + raw.len());
    }
    let hex = |from: usize, n: usize| -> Option<u32> {
        let digits = std::str::from_utf8(t.get(from..from + n)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    match t.get(i)? {
        b'\\' => {
            let short = match c {
                '"' | '\\' | '/' => Some(c as u8),
                '\n' => Some(b'n'),
                '\r' => Some(b'r'),
                '\t' => Some(b't'),
                _ => None,
            };
            if short.is_some() && t.get(i + 1).copied() == short {
                return Some(i + 2);
            }
            let mut units = [0u16; 2];
            c.encode_utf16(&mut units).iter().try_fold(i, |j, &unit| {
                (t.get(j + 1) == Some(&b'u') && hex(j + 2, 4)? == u32::from(unit) && t[j] == b'\\').then_some(j + 6)
            })
        }
        b'%' => raw
            .iter()
            .try_fold(i, |j, &byte| (t.get(j) == Some(&b'%') && hex(j + 1, 2)? == u32::from(byte)).then_some(j + 3)),
        b'+' if c == ' ' => Some(i + 1),
        b'&' => {
            let end = i + t[i..].iter().take(12).position(|&b| b == b';')?;
            let entity = std::str::from_utf8(&t[i + 1..end]).ok()?;
            let code = match entity {
                "quot" => '"' as u32,
                "amp" => '&' as u32,
                "lt" => '<' as u32,
                "gt" => '>' as u32,
                "apos" => '\'' as u32,
                e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16).ok()?,
                e if e.starts_with('#') => e[1..].parse().ok()?,
                _ => return None,
            };
            (code == c as u32).then_some(end + 1)
        }
        _ => None,
    }
}

/// Shortest base64 core masked: shorter ones would mask ordinary words.
const MIN_BASE64_CORE: usize = 8;

/// The base64 characters that depend on `secret` alone, for each of its three alignments in an
/// encoded text, in the standard and the URL alphabet: whatever surrounds the secret (`user:`
/// before it in a Basic header), its encoding holds one of them.
fn base64_cores(secret: &str) -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let n = secret.len();
    let mut cores = Vec::new();
    for k in 0..3 {
        let mut bytes = vec![0u8; k];
        bytes.extend_from_slice(secret.as_bytes());
        let bits = |j: usize| -> u8 {
            // Six bits starting at bit 6j, zero past the end.
            let byte = |b: usize| u16::from(bytes.get(b).copied().unwrap_or(0));
            let (b, off) = (6 * j / 8, 6 * j % 8);
            (((byte(b) << 8 | byte(b + 1)) >> (10 - off)) & 0x3f) as u8
        };
        let (first, last) = ((8 * k).div_ceil(6), 8 * (k + n) / 6);
        let core: String = (first..last).map(|j| STD[usize::from(bits(j))] as char).collect();
        if core.len() >= MIN_BASE64_CORE {
            cores.push(core.replace('+', "-").replace('/', "_"));
            cores.push(core);
        }
    }
    cores.dedup();
    cores
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
    fn escaped_characters_and_base64_are_masked() {
        let secret = "tok-3f9a 1c/77";
        let escaped = [
            r"tok-\u0033f9a 1c\/77",
            r"\u0074\u006F\u006b\u002d\u0033\u0066\u0039\u0061\u0020\u0031\u0063\u002f\u0037\u0037",
            "tok-3f9a+1c%2f77",
            "%74%6F%6b%2D3f9a%201c%2F77",
            "tok&#45;3f9a&#x20;1c&#47;77",
        ];
        for e in escaped {
            assert_eq!(mask(&format!("said [{e}]"), [secret]), "said [***]", "{e}");
        }
        // Base64 of the secret alone and after `user:` (an HTTP Basic header), both alphabets.
        let basic = "dXNlcjp0b2stM2Y5YSAxYy83Nw==";
        let alone = "dG9rLTNmOWEgMWMvNzc=";
        for b in [basic, alone, &alone.replace('/', "_")] {
            let masked = mask(&format!("Authorization: Basic {b}"), [secret]);
            assert!(
                masked.contains("***") && !masked.contains("LTNmOWEgMWMv") && !masked.contains("stM2Y5YSAxYy83"),
                "{masked}"
            );
        }
        assert_eq!(mask("a % & \\ + plain", [secret]), "a % & \\ + plain");
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
