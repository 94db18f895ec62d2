//! Base64 (standard alphabet with padding, and URL-safe without padding) for tokens and cursors.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        let keep = chunk.len() + 1;
        for (i, s) in sextets.iter().enumerate() {
            if i < keep {
                out.push(char::from(alphabet[*s as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard alphabet, padded (the look of Entrust's auth tokens).
pub fn encode_standard(data: &[u8]) -> String {
    encode_with(data, STANDARD, true)
}

/// URL-safe alphabet, unpadded.
pub fn encode_url_safe(data: &[u8]) -> String {
    encode_with(data, URL_SAFE, false)
}

/// Decodes URL-safe unpadded base64; `None` on any invalid character or length.
pub fn decode_url_safe(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let value = |c: u8| -> Option<u32> { URL_SAFE.iter().position(|a| *a == c).map(|p| p as u32) };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut n: u32 = 0;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let full = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let produced = chunk.len() - 1;
        // Reject non-canonical trailing bits so that every cursor has one spelling.
        let leftover_mask: u32 = match chunk.len() {
            2 => 0xffff,
            3 => 0xff,
            _ => 0,
        };
        if n & leftover_mask != 0 {
            return None;
        }
        out.extend_from_slice(&full[..produced]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(encode_standard(plain.as_bytes()), encoded);
            let url = encoded.trim_end_matches('=');
            assert_eq!(encode_url_safe(plain.as_bytes()), url);
            assert_eq!(decode_url_safe(url).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn url_safe_round_trip_all_bytes() {
        let data: Vec<u8> = (0..=255u8).collect();
        for len in 0..data.len() {
            let enc = encode_url_safe(&data[..len]);
            assert!(!enc.contains(['+', '/', '=']));
            assert_eq!(decode_url_safe(&enc).as_deref(), Some(&data[..len]));
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["a", "ab=c", "Zm9v!", "Zg==", "Zh", "é"] {
            assert_eq!(decode_url_safe(bad), None, "{bad}");
        }
    }
}
