//! The v1 envelope header: 152 bytes, fixed layout, little-endian, alignment 1, so it is read
//! in place from any received buffer (zerocopy) without copying or allocating.
//!
//! ```text
//! off size field
//!   0    4 magic "OMSH"
//!   4    1 version (1)
//!   5    1 flags (bit 0: batch signature, bit 1: unsigned/development; others 0)
//!   6    2 header_len (152)
//!   8   16 topic_id        (BLAKE3 derive_key of the topic name, first 16 bytes)
//!  24   32 type_hash       (RIHS01 digest of the payload's interface type)
//!  56   32 publisher       (Ed25519 public key)
//!  88    8 epoch           (increases on every publisher restart)
//!  96    8 sequence        (per publisher and topic within an epoch)
//! 104    8 timestamp_ns    (publisher clock, Unix nanoseconds)
//! 112    4 payload_len
//! 116    4 trailer_len     (signature section after the payload)
//! 120   32 payload_digest  (BLAKE3 of the payload)
//! ```

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `OMSH`.
pub const MAGIC: [u8; 4] = *b"OMSH";
/// Wire format version of this header.
pub const VERSION: u8 = 1;
/// Size of the v1 header.
pub const HEADER_LEN: usize = 152;
/// Flag: the trailer holds a batch signature with a Merkle inclusion path.
pub const FLAG_BATCH: u8 = 0b01;
/// Flag: no signature (development mode only).
pub const FLAG_UNSIGNED: u8 = 0b10;
/// Flags a v1 reader understands.
pub const KNOWN_FLAGS: u8 = FLAG_BATCH | FLAG_UNSIGNED;

/// The header as laid out on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Header {
    pub(crate) magic: [u8; 4],
    pub(crate) version: u8,
    pub(crate) flags: u8,
    pub(crate) header_len: U16,
    pub(crate) topic_id: [u8; 16],
    pub(crate) type_hash: [u8; 32],
    pub(crate) publisher: [u8; 32],
    pub(crate) epoch: U64,
    pub(crate) sequence: U64,
    pub(crate) timestamp_ns: U64,
    pub(crate) payload_len: U32,
    pub(crate) trailer_len: U32,
    pub(crate) payload_digest: [u8; 32],
}

const _: () = assert!(size_of::<Header>() == HEADER_LEN);

/// The RIHS01 type hash an envelope frame names, read without parsing the rest (type-erased
/// subscribers pick the route to admit it on); `None` if the frame is not an envelope.
#[must_use]
pub fn type_hash_of_frame(frame: &[u8]) -> Option<[u8; 32]> {
    if frame.len() < HEADER_LEN || frame[..4] != MAGIC {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&frame[24..56]);
    Some(hash)
}

/// A topic's 16-byte identifier: the first 16 bytes of BLAKE3 `derive_key("omni-mesh topic id
/// v1", name)` of its fully qualified name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicId(pub [u8; 16]);

impl TopicId {
    /// The topic id an envelope frame names, read without parsing the rest (for routing
    /// decisions before admission); `None` if the frame is not an envelope.
    #[must_use]
    pub fn of_frame(frame: &[u8]) -> Option<Self> {
        if frame.len() < HEADER_LEN || frame[..4] != MAGIC {
            return None;
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&frame[8..24]);
        Some(Self(id))
    }

    /// The id of a topic name such as `/fleet/robot_1/cmd_vel`.
    #[must_use]
    pub fn of(name: &str) -> Self {
        let hash = blake3::derive_key("omni-mesh topic id v1", name.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&hash[..16]);
        Self(id)
    }
}

impl Header {
    /// Topic id.
    #[must_use]
    pub fn topic_id(&self) -> TopicId {
        TopicId(self.topic_id)
    }

    /// RIHS01 digest of the payload's type.
    #[must_use]
    pub fn type_hash(&self) -> [u8; 32] {
        self.type_hash
    }

    /// Publisher key bytes (validated against the trust store during verification).
    #[must_use]
    pub fn publisher(&self) -> [u8; 32] {
        self.publisher
    }

    /// Publisher epoch.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch.get()
    }

    /// Sequence number within the epoch.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence.get()
    }

    /// Publisher timestamp, Unix nanoseconds.
    #[must_use]
    pub fn timestamp_ns(&self) -> u64 {
        self.timestamp_ns.get()
    }

    /// Payload length in bytes.
    #[must_use]
    pub fn payload_len(&self) -> u32 {
        self.payload_len.get()
    }

    /// Trailer (signature section) length in bytes.
    #[must_use]
    pub fn trailer_len(&self) -> u32 {
        self.trailer_len.get()
    }

    /// Flag bits.
    #[must_use]
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// BLAKE3 digest of the payload.
    #[must_use]
    pub fn payload_digest(&self) -> [u8; 32] {
        self.payload_digest
    }
}
