//! CDR payloads passed through RustDDS untouched: the bridge converts between mesh archives
//! and CDR with the generated codecs (`omni_msgs::dynamic`), so DDS only moves bytes.
//! RustDDS adds and strips the 4-byte encapsulation header itself; [`RawCdr`] holds the
//! whole CDR once, and RustDDS writes a slice of it.

use rustdds::no_key::{Decode, DefaultDecoder, DeserializerAdapter, SerializerAdapter};
use rustdds::RepresentationIdentifier;

/// A serialized sample: the whole CDR, encapsulation header included, as the generated
/// codecs read and write it. RustDDS sends the body (a zero-copy slice) after a header of its
/// own, and hands received bodies over with the byte order they named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCdr {
    bytes: rustdds::bytes::Bytes,
}

/// Little-endian classic CDR encapsulation header.
const CDR_LE_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];
/// Big-endian classic CDR encapsulation header.
const CDR_BE_HEADER: [u8; 4] = [0x00, 0x00, 0x00, 0x00];

impl RawCdr {
    /// From whole CDR bytes (header included, as the generated codecs write them), without
    /// copying them.
    ///
    /// # Errors
    /// [`RawCdrError`] when the header is missing or not classic little-endian CDR.
    pub fn from_encapsulated(bytes: Vec<u8>) -> Result<Self, RawCdrError> {
        if bytes.get(..2) != Some(&CDR_LE_HEADER[..2]) || bytes.len() < 4 {
            return Err(RawCdrError(
                "expected little-endian classic CDR (header 00 01)".into(),
            ));
        }
        Ok(Self {
            bytes: bytes.into(),
        })
    }

    /// Whole CDR bytes, header included (what the generated codecs read).
    #[must_use]
    pub fn encapsulated(&self) -> &[u8] {
        &self.bytes
    }

    /// The body after the header.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.bytes[4..]
    }

    /// Whether the body is big-endian (`CDR_BE`); writers always send little-endian.
    #[must_use]
    pub fn big_endian(&self) -> bool {
        self.bytes[..2] == CDR_BE_HEADER[..2]
    }
}

/// A payload cannot pass.
#[derive(Debug, Clone, thiserror::Error)]
#[error("raw CDR: {0}")]
pub struct RawCdrError(pub String);

/// The RustDDS adapter for [`RawCdr`] (both ways).
#[derive(Debug, Clone, Copy)]
pub struct RawCdrAdapter;

impl SerializerAdapter<RawCdr> for RawCdrAdapter {
    type Error = RawCdrError;

    fn output_encoding() -> RepresentationIdentifier {
        RepresentationIdentifier::CDR_LE
    }

    fn to_bytes(value: &RawCdr) -> Result<rustdds::bytes::Bytes, RawCdrError> {
        if value.big_endian() {
            return Err(RawCdrError("writers send little-endian CDR only".into()));
        }
        Ok(value.bytes.slice(4..))
    }
}

impl DeserializerAdapter<RawCdr> for RawCdrAdapter {
    type Error = RawCdrError;
    type Decoded = RawCdr;

    fn supported_encodings() -> &'static [RepresentationIdentifier] {
        &[
            RepresentationIdentifier::CDR_LE,
            RepresentationIdentifier::CDR_BE,
        ]
    }

    fn transform_decoded(decoded: RawCdr) -> RawCdr {
        decoded
    }
}

/// Copies the body out of RustDDS's receive buffer behind the header it came with.
#[derive(Debug, Clone, Copy)]
pub struct RawCdrDecoder;

impl<'de> Decode<'de, RawCdr> for RawCdrDecoder {
    type Error = RawCdrError;

    fn decode_bytes(
        self,
        input_bytes: &'de [u8],
        encoding: RepresentationIdentifier,
    ) -> Result<RawCdr, RawCdrError> {
        let header = if encoding == RepresentationIdentifier::CDR_BE {
            CDR_BE_HEADER
        } else {
            CDR_LE_HEADER
        };
        let mut bytes = Vec::with_capacity(4 + input_bytes.len());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(input_bytes);
        Ok(RawCdr {
            bytes: bytes.into(),
        })
    }
}

impl DefaultDecoder<RawCdr> for RawCdrAdapter {
    type Decoder = RawCdrDecoder;
    const DECODER: RawCdrDecoder = RawCdrDecoder;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_their_bytes_and_byte_order() {
        let raw = RawCdr::from_encapsulated(vec![0, 1, 0, 0, 3, 0, 0, 0, b'h', b'i', 0]).unwrap();
        assert_eq!(raw.body(), &[3, 0, 0, 0, b'h', b'i', 0]);
        assert_eq!(raw.encapsulated()[..4], CDR_LE_HEADER);
        assert!(!raw.big_endian());
        assert_eq!(RawCdrAdapter::to_bytes(&raw).unwrap().as_ref(), raw.body());
        let be = RawCdrDecoder
            .decode_bytes(&[0, 0, 0, 3], RepresentationIdentifier::CDR_BE)
            .unwrap();
        assert!(be.big_endian());
        assert_eq!(be.encapsulated(), [0, 0, 0, 0, 0, 0, 0, 3]);
        assert!(RawCdrAdapter::to_bytes(&be).is_err());
        assert!(RawCdr::from_encapsulated(vec![0, 0, 0, 0]).is_err());
        assert!(RawCdr::from_encapsulated(vec![0]).is_err());
        assert!(
            RawCdr::from_encapsulated(vec![0, 1]).is_err(),
            "a header is 4 bytes"
        );
    }
}
