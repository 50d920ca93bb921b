//! DTN frames on links between daemons, sans-IO:
//!
//! ```text
//! bundle       "OMBD" | expires_ns: u64 LE | hops: u8 | envelope (unchanged, signed)
//! custody ack  "OMCA" | bundle id [32]
//! ```
//!
//! The bundle id is the BLAKE3 hash of the envelope header, which names the publisher, topic,
//! epoch and sequence and carries the payload digest, so every copy of one envelope, through
//! any relay, has the same id. The expiry and hop count are outside the signature: a relay
//! could shorten a bundle's life or inflate its hops (it could drop the bundle anyway) but
//! not change what the envelope says.

use bytes::{BufMut, Bytes, BytesMut};

use crate::envelope::{Header, HEADER_LEN};

const BUNDLE: &[u8; 4] = b"OMBD";
const CUSTODY_ACK: &[u8; 4] = b"OMCA";
const BUNDLE_HEAD: usize = 4 + 8 + 1;

/// A bundle's identity: BLAKE3 of its envelope header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BundleId(pub [u8; 32]);

impl BundleId {
    /// The id of `envelope` (its first 152 bytes); `None` if it is shorter than a header.
    #[must_use]
    pub fn of(envelope: &[u8]) -> Option<Self> {
        let header = envelope.get(..HEADER_LEN)?;
        Some(Self(*blake3::hash(header).as_bytes()))
    }
}

/// A DTN frame that does not parse; the sender is misbehaving (the frame is dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtnWireError {
    /// Shorter than its fixed part.
    #[error("DTN frame of {0} bytes is truncated")]
    Truncated(usize),
    /// The bundle's envelope has no complete header.
    #[error("bundle carries no envelope header")]
    NoEnvelope,
}

/// A decoded DTN frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtnFrame {
    /// A bundle.
    Bundle {
        /// When it expires (publisher clock, Unix nanoseconds).
        expires_ns: u64,
        /// Daemons it went through.
        hops: u8,
        /// The signed envelope.
        envelope: Bytes,
    },
    /// The peer took custody of a bundle.
    CustodyAck(BundleId),
}

/// True if `frame` is a DTN frame (rather than a plain envelope or another control frame).
#[must_use]
pub fn is_dtn(frame: &[u8]) -> bool {
    frame.len() >= 4 && (&frame[..4] == BUNDLE || &frame[..4] == CUSTODY_ACK)
}

/// Encodes a bundle.
#[must_use]
pub fn bundle(expires_ns: u64, hops: u8, envelope: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(BUNDLE_HEAD + envelope.len());
    b.put_slice(BUNDLE);
    b.put_u64_le(expires_ns);
    b.put_u8(hops);
    b.put_slice(envelope);
    b.freeze()
}

/// Encodes a custody acknowledgement.
#[must_use]
pub fn custody_ack(id: &BundleId) -> Bytes {
    let mut b = BytesMut::with_capacity(36);
    b.put_slice(CUSTODY_ACK);
    b.put_slice(&id.0);
    b.freeze()
}

/// Decodes a DTN frame (`None` if it is not one).
///
/// # Errors
/// [`DtnWireError`] for a DTN frame that is cut short.
pub fn decode(frame: &Bytes) -> Option<Result<DtnFrame, DtnWireError>> {
    let magic = frame.get(..4)?;
    if magic == BUNDLE {
        if frame.len() < BUNDLE_HEAD {
            return Some(Err(DtnWireError::Truncated(frame.len())));
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&frame[4..12]);
        let envelope = frame.slice(BUNDLE_HEAD..);
        if envelope.len() < HEADER_LEN {
            return Some(Err(DtnWireError::NoEnvelope));
        }
        return Some(Ok(DtnFrame::Bundle {
            expires_ns: u64::from_le_bytes(expires),
            hops: frame[12],
            envelope,
        }));
    }
    if magic == CUSTODY_ACK {
        let id: [u8; 32] = match frame.get(4..36).map(<[u8; 32]>::try_from) {
            Some(Ok(id)) => id,
            _ => return Some(Err(DtnWireError::Truncated(frame.len()))),
        };
        return Some(Ok(DtnFrame::CustodyAck(BundleId(id))));
    }
    None
}

/// The header of an envelope at least [`HEADER_LEN`] long (no other check).
pub(super) fn header_of(envelope: &[u8]) -> Option<&Header> {
    use zerocopy::FromBytes as _;
    Header::ref_from_bytes(envelope.get(..HEADER_LEN)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_are_typed_errors() {
        let env = Bytes::from(vec![5u8; 200]);
        let b = bundle(77, 2, &env);
        assert!(is_dtn(&b));
        assert_eq!(
            decode(&b),
            Some(Ok(DtnFrame::Bundle {
                expires_ns: 77,
                hops: 2,
                envelope: env.clone()
            }))
        );
        let id = BundleId::of(&env).unwrap();
        assert_eq!(
            decode(&custody_ack(&id)),
            Some(Ok(DtnFrame::CustodyAck(id)))
        );
        assert_eq!(
            decode(&b.slice(..10)),
            Some(Err(DtnWireError::Truncated(10)))
        );
        assert_eq!(decode(&b.slice(..50)), Some(Err(DtnWireError::NoEnvelope)));
        assert_eq!(
            decode(&custody_ack(&id).slice(..20)),
            Some(Err(DtnWireError::Truncated(20)))
        );
        assert_eq!(decode(&Bytes::from_static(b"OMSH....")), None);
        assert!(!is_dtn(b"OMSH"));
    }
}
