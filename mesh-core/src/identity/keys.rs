//! Ed25519 signing keys and validated public keys.

use std::fmt;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use super::Did;

/// A node's secret key. Its `Debug` output shows only the DID; the secret is zeroed on drop.
pub struct NodeKey {
    signing: SigningKey,
}

impl NodeKey {
    /// A fresh key from the operating system's random source.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            signing: SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    /// The key for a 32-byte seed (RFC 8032 secret key).
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    pub(crate) fn from_signing_key(signing: SigningKey) -> Self {
        Self { signing }
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        PublicKey {
            bytes: self.signing.verifying_key().to_bytes(),
        }
    }

    /// The node's `did:key` identifier.
    #[must_use]
    pub fn did(&self) -> Did {
        Did::from(self.public())
    }

    /// Signs `message` (pure Ed25519, RFC 8032).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("did", &self.did().to_string())
            .finish_non_exhaustive()
    }
}

/// A public key that is a canonical encoding of a point that is not of small order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey {
    bytes: [u8; 32],
}

/// 32 bytes are not an acceptable Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The bytes do not decode to a curve point.
    #[error("not a valid Ed25519 point encoding")]
    NotAPoint,
    /// The encoding is not the canonical one for its point.
    #[error("non-canonical Ed25519 point encoding")]
    NonCanonical,
    /// The point has small order; signatures under it prove nothing.
    #[error("weak (small-order) Ed25519 public key")]
    Weak,
}

impl PublicKey {
    /// Validates 32 bytes: a canonical encoding of a point that is not of small order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, PublicKeyError> {
        let point = CompressedEdwardsY(bytes)
            .decompress()
            .ok_or(PublicKeyError::NotAPoint)?;
        if point.compress().to_bytes() != bytes {
            return Err(PublicKeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(PublicKeyError::Weak);
        }
        Ok(Self { bytes })
    }

    /// A key that just verified a signature (so it is a valid, canonical point): skips
    /// the decompression that [`from_bytes`](Self::from_bytes) pays (about 15 us).
    pub(crate) fn from_verified(bytes: [u8; 32]) -> Self {
        Self { bytes }
    }

    /// The 32-byte encoding.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The 32-byte encoding, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key prepared for verification (point decompressed once).
    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, PublicKeyError> {
        VerifyingKey::from_bytes(&self.bytes).map_err(|_| PublicKeyError::NotAPoint)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", Did::from(*self))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Did::from(*self), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_order_and_non_canonical_keys_are_refused() {
        // The identity point (order 1) and the point of order 2.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(identity), Err(PublicKeyError::Weak));
        let mut order2 = [0xffu8; 32];
        order2[0] = 0xec;
        order2[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(order2), Err(PublicKeyError::Weak));
        // y = p + 1 encodes the identity non-canonically.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert!(PublicKey::from_bytes(non_canonical).is_err());
        let good = NodeKey::generate().public();
        assert_eq!(PublicKey::from_bytes(good.to_bytes()), Ok(good));
    }
}
