//! Opaque paging cursors: the query, the page size and the last position, checksummed and base64-encoded.
//!
//! A cursor remembers where the previous page ended (`(eventTime, id)`, plus the sort value
//! for the search endpoint), not an offset. Records inserted later behind that position are
//! never returned by it, however many pages follow: that is the "late record behind the
//! cursor" a client must catch with overlapping re-reads.

use serde::{Deserialize, Serialize};

use super::errors::{ApiError, codes};
use super::query::{MAX_LIMIT, SearchQuery, SiemQuery};
use super::rng::{Rng, mix64};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Longest cursor accepted.
const MAX_CURSOR_CHARS: usize = 16 * 1024;
const VERSION: u8 = 1;

/// Which endpoint's query a cursor continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CursorQuery {
    #[serde(rename = "siem")]
    Siem(SiemQuery),
    #[serde(rename = "search")]
    Search(SearchQuery),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Records after the position (`nextCursor`).
    #[serde(rename = "n")]
    Next,
    /// Records before the position (`prevCursor`).
    #[serde(rename = "p")]
    Prev,
}

/// A record position in the endpoint's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "t")]
    pub time_ms: i64,
    #[serde(rename = "i")]
    pub id: String,
    /// The sort value, for the search endpoint ordered by an attribute.
    #[serde(rename = "k", default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "v")]
    pub version: u8,
    #[serde(rename = "q")]
    pub query: CursorQuery,
    #[serde(rename = "l")]
    pub limit: u8,
    #[serde(rename = "d")]
    pub direction: Direction,
    #[serde(rename = "p")]
    pub position: Position,
}

impl Cursor {
    pub fn new(query: CursorQuery, limit: u8, direction: Direction, position: Position) -> Self {
        Cursor { version: VERSION, query, limit, direction, position }
    }
}

fn checksum(data: &[u8], key: u64) -> u64 {
    let mut h = mix64(key ^ data.len() as u64);
    for chunk in data.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix64(h ^ u64::from_le_bytes(word));
    }
    h
}

/// Encodes a cursor; `key` makes cursors of another simulator instance (seed) invalid.
pub fn encode(cursor: &Cursor, key: u64) -> String {
    let mut data = serde_json::to_vec(cursor).unwrap_or_default();
    let sum = checksum(&data, key);
    data.extend_from_slice(&sum.to_le_bytes());
    scramble(&mut data, key);
    URL_SAFE_NO_PAD.encode(&data)
}

/// XORs the bytes with a keystream, so that a cursor reads as the opaque token it is meant
/// to be rather than as JSON a client might be tempted to parse. (Applying it twice undoes it.)
fn scramble(data: &mut [u8], key: u64) {
    let mut stream = Rng::derive(key, 0x5c4a_3b1e);
    for chunk in data.chunks_mut(8) {
        let pad = stream.next_u64().to_le_bytes();
        for (b, p) in chunk.iter_mut().zip(pad) {
            *b ^= p;
        }
    }
}

pub fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        codes::INVALID_CURSOR,
        "the cursor is not valid; use paging.nextCursor or paging.prevCursor exactly as returned",
    )
}

/// Decodes and verifies a cursor.
pub fn decode(text: &str, key: u64) -> Result<Cursor, ApiError> {
    if text.len() > MAX_CURSOR_CHARS {
        return Err(invalid_cursor());
    }
    let mut data = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid_cursor())?;
    scramble(&mut data, key);
    if data.len() < 8 {
        return Err(invalid_cursor());
    }
    let (payload, sum) = data.split_at(data.len() - 8);
    let mut sum_bytes = [0u8; 8];
    sum_bytes.copy_from_slice(sum);
    if u64::from_le_bytes(sum_bytes) != checksum(payload, key) {
        return Err(invalid_cursor());
    }
    let cursor: Cursor = serde_json::from_slice(payload).map_err(|_| invalid_cursor())?;
    if cursor.version != VERSION || cursor.limit == 0 || cursor.limit > MAX_LIMIT {
        return Err(invalid_cursor());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::query::{DEFAULT_ORDER, Field, Filter, Operator};

    fn siem_cursor() -> Cursor {
        Cursor::new(
            CursorQuery::Siem(SiemQuery {
                start_ms: 1_700_000_000_000,
                end_ms: Some(1_700_086_400_000),
                outcomes: vec!["FAIL".into()],
                categories: vec![],
            }),
            25,
            Direction::Next,
            Position {
                time_ms: 1_700_000_123_456,
                id: "8c1d7d2e-6f0b-4c55-9b7e-1f2a3b4c5d6e".into(),
                key: String::new(),
            },
        )
    }

    #[test]
    fn round_trip() {
        let c = siem_cursor();
        let text = encode(&c, 42);
        assert!(text.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
        assert!(!text.starts_with("eyJ"), "not readable as base64 JSON");
        assert_eq!(decode(&text, 42), Ok(c));

        let s = Cursor::new(
            CursorQuery::Search(SearchQuery {
                start_ms: 0,
                end_ms: i64::MAX,
                filters: vec![Filter { field: Field::SubjectName, op: Operator::Contains, value: "smith".into() }],
                order: DEFAULT_ORDER,
            }),
            100,
            Direction::Prev,
            Position { time_ms: -5, id: "x".into(), key: "USERS".into() },
        );
        assert_eq!(decode(&encode(&s, 7), 7), Ok(s));
    }

    #[test]
    fn a_cursor_has_one_spelling() {
        const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut stray_bits_tried = 0;
        // Ids of three lengths give encodings ending in each of the three alignments.
        for id in ["x", "xy", "xyz"] {
            let mut c = siem_cursor();
            c.position.id = id.into();
            let text = encode(&c, 42);
            assert_eq!(decode(&text, 42), Ok(c.clone()));
            // Padded is another spelling: refused.
            assert!(decode(&format!("{text}="), 42).is_err(), "{text}=");
            // The last character of an unpadded encoding whose length is not a multiple of 4
            // carries bits beyond the data; the same bytes with one of those bits set is another
            // spelling of the same cursor, and refused.
            if !text.len().is_multiple_of(4) {
                let last = text.as_bytes()[text.len() - 1];
                let index = URL_SAFE.iter().position(|&a| a == last).unwrap();
                let sibling = format!("{}{}", &text[..text.len() - 1], char::from(URL_SAFE[index ^ 1]));
                assert!(decode(&sibling, 42).is_err(), "{sibling} is a second spelling of {text}");
                stray_bits_tried += 1;
            }
        }
        assert!(stray_bits_tried >= 2, "both unaligned endings were tried");
    }

    #[test]
    fn rejects_tampering_and_garbage() {
        let text = encode(&siem_cursor(), 42);
        assert!(decode(&text, 43).is_err(), "another key");
        let mut chars: Vec<char> = text.chars().collect();
        chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(decode(&tampered, 42).is_err());
        for bad in ["", "x", "not a cursor!", "AAAAAAAAAAAA", &"A".repeat(MAX_CURSOR_CHARS + 4)] {
            let e = decode(bad, 42).expect_err(bad);
            assert_eq!(e.code, codes::INVALID_CURSOR);
        }
        // Valid checksum over a payload that is not a cursor.
        let mut data = b"{\"v\":1}".to_vec();
        let sum = checksum(&data, 42);
        data.extend_from_slice(&sum.to_le_bytes());
        scramble(&mut data, 42);
        assert!(decode(&URL_SAFE_NO_PAD.encode(&data), 42).is_err());
        // Valid structure but a limit out of range.
        let mut c = siem_cursor();
        c.limit = 101;
        assert!(decode(&encode(&c, 42), 42).is_err());
    }
}
