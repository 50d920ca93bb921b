//! Received bytes -> [`Envelope<Unverified>`]: every length is checked against the bytes
//! present and the configured maximum before anything is hashed or allocated.

use zerocopy::FromBytes as _;

use super::header::{Header, FLAG_BATCH, FLAG_UNSIGNED, HEADER_LEN, KNOWN_FLAGS, MAGIC, VERSION};
use super::merkle::{batch_trailer_len, BATCH_FIXED_LEN, MAX_BATCH_DEPTH};
use super::sign::SIGNATURE_LEN;
use super::{Envelope, Unverified};

/// Size limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload accepted, in bytes.
    pub max_payload: u32,
}

impl Default for Limits {
    /// 16 MiB payloads.
    fn default() -> Self {
        Self {
            max_payload: 16 << 20,
        }
    }
}

/// Bytes are not a well-formed v1 envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes than the header (or the lengths it declares) need.
    #[error("envelope truncated: {needed} bytes needed, {available} present")]
    Truncated {
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        available: usize,
    },
    /// More bytes than the header declares.
    #[error("envelope has {extra} bytes beyond its declared length {declared}")]
    TrailingBytes {
        /// Declared total length.
        declared: u64,
        /// Extra bytes.
        extra: u64,
    },
    /// Not an OMNI-MESH envelope.
    #[error("bad magic {found:02x?} (expected \"OMSH\")")]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// A version this build does not speak.
    #[error("unsupported envelope version {found} (this build speaks {VERSION})")]
    UnsupportedVersion {
        /// Version byte.
        found: u8,
    },
    /// A header length other than v1's.
    #[error("header length {found} (v1 headers are {HEADER_LEN} bytes)")]
    BadHeaderLength {
        /// Declared header length.
        found: u16,
    },
    /// Unknown or contradictory flag bits.
    #[error("invalid flags {flags:#04x}")]
    BadFlags {
        /// The flag byte.
        flags: u8,
    },
    /// Payload larger than the configured maximum.
    #[error("payload of {len} bytes exceeds the limit of {max}")]
    PayloadTooLarge {
        /// Declared payload length.
        len: u32,
        /// Configured maximum.
        max: u32,
    },
    /// The trailer length does not fit the signature form.
    #[error("trailer of {len} bytes does not fit the signature form (expected {expected})")]
    BadTrailerLength {
        /// Declared trailer length.
        len: u32,
        /// Length the form requires.
        expected: u64,
    },
    /// A batch path deeper than the maximum.
    #[error("batch path depth {depth} exceeds the maximum {MAX_BATCH_DEPTH}")]
    BatchTooDeep {
        /// Declared depth.
        depth: u8,
    },
    /// A batch leaf index outside the tree, or non-zero reserved bytes.
    #[error("malformed batch trailer: {0}")]
    BadBatchTrailer(&'static str),
}

impl<B: AsRef<[u8]>> Envelope<Unverified, B> {
    /// Checks the structure of received bytes; hashes nothing and allocates nothing.
    pub fn parse(buf: B, limits: &Limits) -> Result<Self, ParseError> {
        let bytes = buf.as_ref();
        let available = bytes.len();
        let Ok((header, _)) = Header::ref_from_prefix(bytes) else {
            return Err(ParseError::Truncated {
                needed: HEADER_LEN as u64,
                available,
            });
        };
        if header.magic != MAGIC {
            return Err(ParseError::BadMagic {
                found: header.magic,
            });
        }
        if header.version != VERSION {
            return Err(ParseError::UnsupportedVersion {
                found: header.version,
            });
        }
        if usize::from(header.header_len.get()) != HEADER_LEN {
            return Err(ParseError::BadHeaderLength {
                found: header.header_len.get(),
            });
        }
        let flags = header.flags;
        if flags & !KNOWN_FLAGS != 0 || flags == FLAG_BATCH | FLAG_UNSIGNED {
            return Err(ParseError::BadFlags { flags });
        }
        let payload_len = header.payload_len();
        if payload_len > limits.max_payload {
            return Err(ParseError::PayloadTooLarge {
                len: payload_len,
                max: limits.max_payload,
            });
        }
        let trailer_len = header.trailer_len();
        let declared = HEADER_LEN as u64 + u64::from(payload_len) + u64::from(trailer_len);
        if declared > available as u64 {
            return Err(ParseError::Truncated {
                needed: declared,
                available,
            });
        }
        if declared < available as u64 {
            return Err(ParseError::TrailingBytes {
                declared,
                extra: available as u64 - declared,
            });
        }
        let trailer = &bytes[HEADER_LEN + payload_len as usize..];
        check_trailer(flags, trailer)?;
        Ok(Self::with_state(buf))
    }
}

fn check_trailer(flags: u8, trailer: &[u8]) -> Result<(), ParseError> {
    let len = u32::try_from(trailer.len()).unwrap_or(u32::MAX);
    let expect = |expected: u64| {
        if u64::from(len) == expected {
            Ok(())
        } else {
            Err(ParseError::BadTrailerLength { len, expected })
        }
    };
    if flags & FLAG_UNSIGNED != 0 {
        return expect(0);
    }
    if flags & FLAG_BATCH == 0 {
        return expect(SIGNATURE_LEN as u64);
    }
    if trailer.len() < BATCH_FIXED_LEN {
        return expect(BATCH_FIXED_LEN as u64);
    }
    let depth = trailer[SIGNATURE_LEN + 4];
    if depth > MAX_BATCH_DEPTH {
        return Err(ParseError::BatchTooDeep { depth });
    }
    expect(batch_trailer_len(depth) as u64)?;
    if trailer[SIGNATURE_LEN + 5..BATCH_FIXED_LEN] != [0, 0, 0] {
        return Err(ParseError::BadBatchTrailer("reserved bytes must be zero"));
    }
    let index = u32::from_le_bytes([
        trailer[SIGNATURE_LEN],
        trailer[SIGNATURE_LEN + 1],
        trailer[SIGNATURE_LEN + 2],
        trailer[SIGNATURE_LEN + 3],
    ]);
    if u64::from(index) >= 1u64 << depth {
        return Err(ParseError::BadBatchTrailer("leaf index outside the tree"));
    }
    Ok(())
}
