//! CDR payloads passed through RustDDS untouched: the bridge converts between mesh archives
//! and CDR with the generated codecs (`omni_msgs::dynamic`), so DDS only moves bytes.
//! RustDDS adds and strips the 4-byte encapsulation header itself; [`RawCdr`] keeps the
//! payload after it and the byte order it named.

use rustdds::no_key::{Decode, DefaultDecoder, DeserializerAdapter, SerializerAdapter};
use rustdds::RepresentationIdentifier;

/// A serialized sample: the CDR body after the encapsulation header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCdr {
    /// The body.
    pub body: rustdds::bytes::Bytes,
    /// Big-endian body (`CDR_BE`); writers always send little-endian.
    pub big_endian: bool,
}

/// Little-endian classic CDR encapsulation header.
const CDR_LE_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];
/// Big-endian classic CDR encapsulation header.
const CDR_BE_HEADER: [u8; 4] = [0x00, 0x00, 0x00, 0x00];

impl RawCdr {
    /// From whole CDR bytes (header included, as the generated codecs write them).
    ///
    /// # Errors
    /// [`RawCdrError`] when the header is missing or not classic little-endian CDR.
    pub fn from_encapsulated(bytes: &[u8]) -> Result<Self, RawCdrError> {
        match bytes.get(..4) {
            Some(h) if h[..2] == CDR_LE_HEADER[..2] => Ok(Self {
                body: rustdds::bytes::Bytes::copy_from_slice(&bytes[4..]),
                big_endian: false,
            }),
            _ => Err(RawCdrError(
                "expected little-endian classic CDR (header 00 01)".into(),
            )),
        }
    }

    /// Whole CDR bytes, header included (what the generated codecs read).
    #[must_use]
    pub fn encapsulated(&self) -> Vec<u8> {
        let header = if self.big_endian {
            CDR_BE_HEADER
        } else {
            CDR_LE_HEADER
        };
        let mut out = Vec::with_capacity(4 + self.body.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.body);
        out
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
        if value.big_endian {
            return Err(RawCdrError("writers send little-endian CDR only".into()));
        }
        Ok(value.body.clone())
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

/// Copies the body out of RustDDS's receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct RawCdrDecoder;

impl<'de> Decode<'de, RawCdr> for RawCdrDecoder {
    type Error = RawCdrError;

    fn decode_bytes(
        self,
        input_bytes: &'de [u8],
        encoding: RepresentationIdentifier,
    ) -> Result<RawCdr, RawCdrError> {
        Ok(RawCdr {
            body: rustdds::bytes::Bytes::copy_from_slice(input_bytes),
            big_endian: encoding == RepresentationIdentifier::CDR_BE,
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
        let raw = RawCdr::from_encapsulated(&[0, 1, 0, 0, 3, 0, 0, 0, b'h', b'i', 0]).unwrap();
        assert_eq!(raw.body.as_ref(), &[3, 0, 0, 0, b'h', b'i', 0]);
        assert_eq!(raw.encapsulated()[..4], CDR_LE_HEADER);
        assert_eq!(
            RawCdrAdapter::to_bytes(&raw).unwrap().as_ref(),
            raw.body.as_ref()
        );
        let be = RawCdrDecoder
            .decode_bytes(&[0, 0, 0, 3], RepresentationIdentifier::CDR_BE)
            .unwrap();
        assert!(be.big_endian);
        assert_eq!(be.encapsulated(), [0, 0, 0, 0, 0, 0, 0, 3]);
        assert!(RawCdrAdapter::to_bytes(&be).is_err());
        assert!(RawCdr::from_encapsulated(&[0, 0, 0, 0]).is_err());
        assert!(RawCdr::from_encapsulated(&[0]).is_err());
    }
}
