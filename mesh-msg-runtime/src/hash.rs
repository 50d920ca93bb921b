//! RIHS01 type hashes (ROS 2 REP-2016): `RIHS01_` + 64 lowercase hex digits of SHA-256.

use std::fmt;
use std::str::FromStr;

/// A versioned interface type hash. Version 1 is RIHS01 (SHA-256 of the type description).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeHash {
    /// Hash scheme version; 1 for RIHS01, 0 means unset.
    pub version: u8,
    /// The 32-byte digest.
    pub value: [u8; 32],
}

/// A string is not a valid `RIHS01_<64 hex>` type hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseTypeHashError {
    /// The text does not start with `RIHS` followed by two hex digits and `_`.
    #[error("type hash must start with `RIHSxx_`, got {0:?}")]
    BadPrefix(String),
    /// The digest part is not 64 hex digits.
    #[error("type hash digest must be 64 hex digits, got {0} characters")]
    BadDigest(usize),
}

impl TypeHash {
    /// A RIHS01 hash from its digest.
    #[must_use]
    pub const fn rihs01(value: [u8; 32]) -> Self {
        Self { version: 1, value }
    }
}

impl fmt::Display for TypeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RIHS{:02x}_", self.version)?;
        for b in self.value {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TypeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl FromStr for TypeHash {
    type Err = ParseTypeHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        let version = match bytes {
            [b'R', b'I', b'H', b'S', hi, lo, b'_', ..] => hex_val(*hi)
                .zip(hex_val(*lo))
                .map(|(h, l)| h * 16 + l)
                .ok_or_else(|| ParseTypeHashError::BadPrefix(s.to_owned()))?,
            _ => return Err(ParseTypeHashError::BadPrefix(s.to_owned())),
        };
        let digest = &bytes[7..];
        if digest.len() != 64 {
            return Err(ParseTypeHashError::BadDigest(digest.len()));
        }
        let mut value = [0u8; 32];
        for (i, pair) in digest.chunks(2).enumerate() {
            let (h, l) = hex_val(pair[0])
                .zip(hex_val(pair[1]))
                .ok_or(ParseTypeHashError::BadDigest(digest.len()))?;
            value[i] = h * 16 + l;
        }
        Ok(Self { version, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_same_text() {
        let text = "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18";
        let hash: TypeHash = text.parse().unwrap();
        assert_eq!(hash.version, 1);
        assert_eq!(hash.to_string(), text);
        assert!("RIHS01_abc".parse::<TypeHash>().is_err());
        assert!("XIHS01_".parse::<TypeHash>().is_err());
        let bad_digit = text.replace('d', "g");
        assert!(bad_digit.parse::<TypeHash>().is_err());
    }
}
