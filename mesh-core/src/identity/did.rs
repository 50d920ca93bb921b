//! `did:key` identifiers for Ed25519 keys: `did:key:z` + base58btc(multicodec `0xed 0x01` +
//! the 32-byte key).

use std::fmt;
use std::str::FromStr;

use super::keys::{PublicKey, PublicKeyError};

const PREFIX: &str = "did:key:";
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// base58 of 34 bytes is at most 47 characters; anything longer is refused before decoding.
const MAX_ENCODED: usize = 48;

/// A node's decentralized identifier, `did:key:z6Mk...`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Did(PublicKey);

/// A string is not an Ed25519 `did:key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// Missing `did:key:`.
    #[error("expected a DID starting with `did:key:`")]
    NotDidKey,
    /// The multibase prefix is not `z` (base58btc).
    #[error("expected multibase base58btc (`z`) after `did:key:`")]
    NotBase58btc,
    /// The identifier is too long to be an Ed25519 key.
    #[error("identifier of {0} characters is too long for an Ed25519 did:key")]
    TooLong(usize),
    /// Characters outside the base58 alphabet.
    #[error("invalid base58btc: {0}")]
    Base58(#[from] bs58::decode::Error),
    /// The multicodec is not ed25519-pub, or the key length is wrong.
    #[error("not an ed25519-pub multicodec key (got {len} bytes starting {prefix:02x?})")]
    WrongMulticodec {
        /// Decoded length.
        len: usize,
        /// First two decoded bytes.
        prefix: [u8; 2],
    },
    /// The key bytes are not an acceptable public key.
    #[error(transparent)]
    Key(#[from] PublicKeyError),
}

impl Did {
    /// The key this DID names.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.0
    }
}

impl From<PublicKey> for Did {
    fn from(key: PublicKey) -> Self {
        Self(key)
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = [0u8; 34];
        raw[..2].copy_from_slice(&ED25519_PUB_MULTICODEC);
        raw[2..].copy_from_slice(self.0.as_bytes());
        write!(f, "{PREFIX}z{}", bs58::encode(raw).into_string())
    }
}

impl FromStr for Did {
    type Err = DidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix(PREFIX).ok_or(DidError::NotDidKey)?;
        let encoded = rest.strip_prefix('z').ok_or(DidError::NotBase58btc)?;
        if encoded.len() > MAX_ENCODED {
            return Err(DidError::TooLong(encoded.len()));
        }
        let raw = bs58::decode(encoded).into_vec()?;
        let prefix = [
            raw.first().copied().unwrap_or(0),
            raw.get(1).copied().unwrap_or(0),
        ];
        if raw.len() != 34 || prefix != ED25519_PUB_MULTICODEC {
            return Err(DidError::WrongMulticodec {
                len: raw.len(),
                prefix,
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&raw[2..]);
        Ok(Self(PublicKey::from_bytes(key)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_keys_have_their_published_dids() {
        // RFC 8032 section 7.1 TEST 1 and TEST 2 secret keys, and their did:key forms as
        // published by independent implementations.
        let cases = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "did:key:z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT",
            ),
        ];
        for (seed_hex, did_text) in cases {
            let mut seed = [0u8; 32];
            for (i, b) in seed.iter_mut().enumerate() {
                *b = u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16).unwrap();
            }
            let did = crate::identity::NodeKey::from_seed(&seed).did();
            assert_eq!(did.to_string(), did_text);
            assert_eq!(did_text.parse::<Did>().unwrap(), did);
        }
    }

    #[test]
    fn generated_keys_start_with_z6mk() {
        let did = crate::identity::NodeKey::generate().did();
        assert!(did.to_string().starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(did.to_string().parse::<Did>().unwrap(), did);
    }

    #[test]
    fn malformed_dids_are_typed_errors() {
        assert_eq!("did:web:x".parse::<Did>(), Err(DidError::NotDidKey));
        assert_eq!("did:key:f00".parse::<Did>(), Err(DidError::NotBase58btc));
        assert!(matches!(
            "did:key:z0OIl".parse::<Did>(),
            Err(DidError::Base58(_))
        ));
        let long = format!("did:key:z{}", "1".repeat(100));
        assert_eq!(long.parse::<Did>(), Err(DidError::TooLong(100)));
        assert!(matches!(
            "did:key:z2222".parse::<Did>(),
            Err(DidError::WrongMulticodec { .. })
        ));
    }
}
