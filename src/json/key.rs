//! A member name read from mappings, with its hash computed once: looking it up in a
//! [`Doc`](super::doc::Doc) then costs a probe, not a pass over the name.

/// A member name and its hash (see [`key_hash`]).
#[derive(Clone)]
pub struct Key {
    name: String,
    hash: u64,
}

impl Key {
    pub fn new(name: String) -> Key {
        let hash = key_hash(name.as_bytes());
        Key { name, hash }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The hash of the name (what a doc's member table is keyed by, with the object).
    pub fn hash(&self) -> u64 {
        self.hash
    }
}

/// The hash of a member name, before it is mixed with its object's index.
pub fn key_hash(key: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = 0u64;
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(chunk.try_into().expect("8 bytes"))).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(last) ^ key.len() as u64).wrapping_mul(K)
}

impl std::ops::Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.name == other.name
    }
}

impl Eq for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.name.fmt(f)
    }
}

impl From<String> for Key {
    fn from(name: String) -> Key {
        Key::new(name)
    }
}

impl From<&str> for Key {
    fn from(name: &str) -> Key {
        Key::new(name.to_string())
    }
}
