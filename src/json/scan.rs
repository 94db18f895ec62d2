//! A JSON scanner that checks the grammar of one value and finds where it ends without
//! recursion (an explicit stack), so that nesting of any depth costs memory, never the call
//! stack; it measures the value's depth and finds numbers that would not survive parsing.
//!
//! String contents are not checked here (invalid UTF-8, lone surrogates): the parser of a
//! single record does that, so that one bad string spoils only its record.

use super::number::is_exact;

/// Where and why a document is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct SyntaxError {
    pub at: usize,
    pub what: &'static str,
}

/// What the scanner learnt about one value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Levels of nesting: 0 for a scalar, 1 for `{}` or `[1]`, …
    pub depth: usize,
    /// Byte range of the first number that parsing would round or refuse, from where the
    /// scan started.
    pub inexact: Option<(usize, usize)>,
}

fn err<T>(at: usize, what: &'static str) -> Result<T, SyntaxError> {
    Err(SyntaxError { at, what })
}

/// The first byte at or after `i` that is not JSON whitespace.
pub fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (its opening quote), past its closing quote.
pub fn string_end(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let mut j = i + 1;
    loop {
        match b[j.min(b.len())..].iter().position(|&c| c == b'"' || c == b'\\') {
            None => return err(b.len(), "unterminated string"),
            Some(k) if b[j + k] == b'"' => return Ok(j + k + 1),
            Some(k) => j += k + 2,
        }
    }
}

/// The end of the number starting at `i`, checked against the JSON grammar.
fn number_end(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    match b.get(j) {
        Some(b'0') => j += 1,
        Some(b'1'..=b'9') => j = digits(j),
        _ => return err(j, "invalid number"),
    }
    if b.get(j) == Some(&b'.') {
        let k = digits(j + 1);
        if k == j + 1 {
            return err(k, "invalid number");
        }
        j = k;
    }
    if let Some(b'e' | b'E') = b.get(j) {
        j += 1;
        if let Some(b'+' | b'-') = b.get(j) {
            j += 1;
        }
        let k = digits(j);
        if k == j {
            return err(k, "invalid number");
        }
        j = k;
    }
    Ok(j)
}

fn literal(b: &[u8], i: usize, word: &'static [u8]) -> Result<usize, SyntaxError> {
    if b.get(i..i + word.len()) == Some(word) { Ok(i + word.len()) } else { err(i, "invalid literal") }
}

/// After `{` or `,` in an object: the key's range (quotes included) and the index past `:`.
pub fn key(b: &[u8], i: usize) -> Result<((usize, usize), usize), SyntaxError> {
    let i = ws(b, i);
    if b.get(i) != Some(&b'"') {
        return err(i, "expected a key");
    }
    let end = string_end(b, i)?;
    let colon = ws(b, end);
    if b.get(colon) != Some(&b':') {
        return err(colon, "expected `:`");
    }
    Ok(((i, end), colon + 1))
}

/// Scans the value starting at or after `i` (leading whitespace allowed); returns where it
/// ends and its shape.
pub fn skip_value(b: &[u8], from: usize) -> Result<(usize, Shape), SyntaxError> {
    let mut stack: Vec<u8> = Vec::new();
    let mut shape = Shape::default();
    let mut i = from;
    loop {
        // A value is expected at `i`.
        i = ws(b, i);
        match b.get(i) {
            None => return err(i, "unexpected end"),
            Some(&open @ (b'{' | b'[')) => {
                shape.depth = shape.depth.max(stack.len() + 1);
                let close = if open == b'{' { b'}' } else { b']' };
                let j = ws(b, i + 1);
                if b.get(j) == Some(&close) {
                    i = j + 1;
                } else {
                    stack.push(open);
                    i = if open == b'{' { key(b, j)?.1 } else { j };
                    continue;
                }
            }
            Some(b'"') => i = string_end(b, i)?,
            Some(b't') => i = literal(b, i, b"true")?,
            Some(b'f') => i = literal(b, i, b"false")?,
            Some(b'n') => i = literal(b, i, b"null")?,
            Some(b'-' | b'0'..=b'9') => {
                let end = number_end(b, i)?;
                if shape.inexact.is_none() && !is_exact(&b[i..end]) {
                    shape.inexact = Some((i - from, end - from));
                }
                i = end;
            }
            Some(_) => return err(i, "unexpected character"),
        }
        // A value ended at `i`: close what it ends, up to the next value.
        loop {
            let Some(&top) = stack.last() else { return Ok((i, shape)) };
            i = ws(b, i);
            match (b.get(i), top) {
                (Some(b','), b'{') => {
                    i = key(b, i + 1)?.1;
                    break;
                }
                (Some(b','), _) => {
                    i += 1;
                    break;
                }
                (Some(b'}'), b'{') | (Some(b']'), b'[') => {
                    stack.pop();
                    i += 1;
                }
                (None, _) => return err(i, "unexpected end"),
                _ => return err(i, "expected `,` or the end of a list or object"),
            }
        }
    }
}

/// Checks that `b` holds exactly one JSON value (whitespace around it allowed).
pub fn whole(b: &[u8]) -> Result<Shape, SyntaxError> {
    let (end, shape) = skip_value(b, 0)?;
    let end = ws(b, end);
    if end != b.len() {
        return err(end, "text after the value");
    }
    Ok(shape)
}

/// `body` without a UTF-8 byte order mark at its start, which JSON parsers may ignore
/// (RFC 8259, 8.1) and some servers and editors write.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_every_kind_of_value() {
        let cases: &[(&str, usize)] = &[
            ("1", 0),
            ("-0.5e+3", 0),
            ("\"a\\\"b\"", 0),
            ("true", 0),
            ("null", 0),
            ("{}", 1),
            ("[]", 1),
            ("[1, [2, {}], {\"a\": [[]]}]", 4),
            ("{\"a\": {\"b\": \"}\"}, \"c\": [\"]\"]}", 2),
        ];
        for (text, depth) in cases {
            let s = whole(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.depth, *depth, "{text}");
        }
        assert_eq!(skip_value(b"  [1,2] , 3", 0).unwrap().0, 7);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            "[",
            "{\"a\"}",
            "{\"a\":}",
            "[1,]",
            "{,}",
            "[1 2]",
            "01x",
            "-",
            "1.",
            "1e",
            "tru",
            "\"open",
            "}",
            "[1}",
            "{\"a\":1]",
            "nul",
            "<html>",
            "[1] x",
        ] {
            assert!(whole(text.as_bytes()).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn nesting_a_hundred_thousand_deep_is_measured_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(whole(deep.as_bytes()).unwrap().depth, 100_000);
        let objects = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        assert_eq!(whole(objects.as_bytes()).unwrap().depth, 100_000);
        assert!(whole(&deep.as_bytes()[..150_000]).is_err(), "cut off");
    }

    #[test]
    fn notes_the_first_number_parsing_would_change() {
        let text = br#"{"a": 12, "b": 123456789012345678901234567890, "c": 1e400}"#;
        let s = whole(text).unwrap();
        let (a, b) = s.inexact.unwrap();
        assert_eq!(&text[a..b], b"123456789012345678901234567890");
        assert_eq!(whole(b"[1, 2.5, -7e-3]").unwrap().inexact, None);
    }

    #[test]
    fn string_contents_are_left_to_the_record_parser() {
        let s = whole(b"[\"\xff\\ud83d\"]").unwrap();
        assert_eq!(s.depth, 1);
    }
}
