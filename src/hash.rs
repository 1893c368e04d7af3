//! Content identities.
//!
//! Everything cairn stores is named by the BLAKE3 hash of some bytes: a file by
//! its whole contents (so `b3sum` agrees with the pointer), a chunk by its
//! uncompressed bytes, a directory by its canonical listing. This module owns
//! the 32-byte [`Id`] type and its one text form (64 lowercase hex digits), so
//! every other module agrees on how ids are parsed and printed.

use std::fmt;
use std::str::FromStr;

/// Length of an id in bytes.
pub const ID_LEN: usize = 32;

/// A BLAKE3 digest naming some content.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub [u8; ID_LEN]);

impl Id {
    /// Hash `bytes` in one call. The result is what `b3sum` prints:
    ///
    /// ```
    /// use cairn::hash::Id;
    /// let id = Id::of(b"hello\n");
    /// assert_eq!(id.to_hex(), "8e4c7c1b99dbfd50e7a95185fead5ee1448fa904a2fdd778eaf5f2dbfd629a99");
    /// assert_eq!(Id::from_hex(&id.to_hex()), Some(id));
    /// ```
    pub fn of(bytes: &[u8]) -> Id {
        Id(*blake3::hash(bytes).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// The 64-digit lowercase hex form used in pointer files and file names.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(ID_LEN * 2);
        for b in self.0 {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 0xf) as usize] as char);
        }
        s
    }

    /// A short prefix for human-facing messages.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }

    /// Parse exactly 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Option<Id> {
        let b = s.as_bytes();
        if b.len() != ID_LEN * 2 {
            return None;
        }
        let mut out = [0u8; ID_LEN];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Id(out))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// In JSON, as in pointer files: the 64-digit hex form.
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.short())
    }
}

/// Error for text that is not a valid id.
#[derive(Debug, thiserror::Error)]
#[error("not a valid id (expected 64 lowercase hex digits): {0:?}")]
pub struct ParseIdError(pub String);

impl FromStr for Id {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::from_hex(s).ok_or_else(|| ParseIdError(s.to_string()))
    }
}

/// Incremental hasher for content that arrives in pieces.
#[derive(Default, Clone)]
pub struct Hasher(blake3::Hasher);

impl Hasher {
    pub fn new() -> Self {
        Self(blake3::Hasher::new())
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finalize(&self) -> Id {
        Id(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_matches_b3sum() {
        // `b3sum /dev/null`
        assert_eq!(
            Id::of(b"").to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let id = Id::of(b"cairn");
        assert_eq!(Id::from_hex(&id.to_hex()), Some(id));
        assert!(
            Id::from_hex("AF1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
                .is_none()
        );
        assert!(Id::from_hex("af13").is_none());
        assert!(Id::from_hex(&"g".repeat(64)).is_none());
    }

    #[test]
    fn incremental_equals_one_shot() {
        let mut h = Hasher::new();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finalize(), Id::of(b"hello world"));
    }
}
