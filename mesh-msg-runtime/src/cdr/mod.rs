//! Classic CDR (OMG XCDR1), the encoding ROS 2 DDS middlewares and rosbag2 use.
//!
//! Rules implemented here:
//! - a 4-byte encapsulation header: `00 01 00 00` for little-endian (written),
//!   `00 00 00 00` for big-endian (read);
//! - every primitive is aligned to its own size (up to 8), measured from the first byte after
//!   the header;
//! - `string`: `u32` length counting the terminating NUL, the UTF-8 bytes, the NUL;
//! - `wstring`: `u32` count of UTF-16 code units, then the 16-bit units, no terminator;
//! - sequences (bounded or not): `u32` element count, then the elements; fixed arrays: the
//!   elements only; nested messages: their fields inline; `bool`: one byte, 0 or 1.

mod codec;
mod reader;
mod writer;

pub use codec::Cdr;
pub use reader::CdrReader;
pub use writer::CdrWriter;

use crate::BoundsError;

/// Encapsulation header for little-endian classic CDR (`CDR_LE`).
pub const ENCAPSULATION_CDR_LE: [u8; 4] = [0x00, 0x01, 0x00, 0x00];
/// Encapsulation header for big-endian classic CDR (`CDR_BE`).
pub const ENCAPSULATION_CDR_BE: [u8; 4] = [0x00, 0x00, 0x00, 0x00];

/// A value could not be encoded as CDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CdrEncodeError {
    /// A declared bound is broken.
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    /// A string or sequence is longer than a `u32` length can say.
    #[error("length {len} does not fit the 32-bit CDR length field")]
    LengthOverflow {
        /// The length that did not fit.
        len: usize,
    },
}

/// CDR bytes could not be decoded. Offsets count from the start of the input (header included).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CdrDecodeError {
    /// The input is shorter than the 4-byte encapsulation header.
    #[error("input of {len} bytes is shorter than the 4-byte encapsulation header")]
    MissingHeader {
        /// Bytes present.
        len: usize,
    },
    /// The encapsulation header names an encoding other than classic CDR.
    #[error("unsupported encapsulation {found:02x?} (expected classic CDR, 00 00 or 00 01)")]
    UnsupportedEncapsulation {
        /// The first two header bytes.
        found: [u8; 2],
    },
    /// The input ends inside a value.
    #[error("input ends at offset {offset}: {needed} more bytes needed, {available} present")]
    UnexpectedEnd {
        /// Where the value starts.
        offset: usize,
        /// Bytes the value needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A length field claims more elements than the remaining input could hold.
    #[error("length {count} at offset {offset} exceeds the {remaining} bytes left")]
    LengthTooLarge {
        /// Where the length field is.
        offset: usize,
        /// The claimed count.
        count: u32,
        /// Bytes left after the length field.
        remaining: usize,
    },
    /// A `bool` byte is neither 0 nor 1.
    #[error("invalid bool byte {value:#04x} at offset {offset}")]
    InvalidBool {
        /// Where the byte is.
        offset: usize,
        /// The byte.
        value: u8,
    },
    /// A `string` is not UTF-8.
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string bytes start.
        offset: usize,
    },
    /// A `string` does not end with its NUL terminator.
    #[error("string at offset {offset} lacks its NUL terminator")]
    MissingNul {
        /// Where the string bytes start.
        offset: usize,
    },
    /// A `wstring` holds unpaired UTF-16 surrogates.
    #[error("wstring at offset {offset} is not valid UTF-16")]
    InvalidUtf16 {
        /// Where the code units start.
        offset: usize,
    },
    /// Bytes are left over after the value (beyond up to 3 bytes of final padding).
    #[error("{extra} unexpected bytes after the value at offset {offset}")]
    TrailingBytes {
        /// Where the value ended.
        offset: usize,
        /// How many bytes follow.
        extra: usize,
    },
    /// The decoded value breaks a declared bound.
    #[error(transparent)]
    Bounds(#[from] BoundsError),
}
