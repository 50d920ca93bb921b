//! Building an [`Envelope<Unsigned>`] and signing it alone ([`Envelope::sign`]).

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes as _, IntoBytes as _};

use super::header::{Header, TopicId, HEADER_LEN, MAGIC, VERSION};
use super::{Envelope, Signed, Unsigned};
use crate::identity::{NodeKey, PublicKey};

/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;

/// Domain separation for single signatures: the signed message is this tag then the header.
pub(crate) const SINGLE_TAG: &[u8; 32] = b"omni-mesh/envelope/v1/single-sig";

/// What a publisher fills in besides the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeFields {
    /// Topic id.
    pub topic: TopicId,
    /// RIHS01 digest of the payload's type (`Message::TYPE_HASH.value`).
    pub type_hash: [u8; 32],
    /// Publisher epoch.
    pub epoch: u64,
    /// Sequence number.
    pub sequence: u64,
    /// Publisher clock, Unix nanoseconds.
    pub timestamp_ns: u64,
}

/// An envelope could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The payload is larger than a v1 length field can say.
    #[error("payload of {len} bytes exceeds the 32-bit length field")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
    },
    /// An in-place buffer is too short for a header and a signature.
    #[error("buffer of {len} bytes cannot hold a signed envelope")]
    WrongBufferLength {
        /// Buffer length.
        len: usize,
    },
    /// A frame writer stopped before filling the frame it loaned (nothing was published).
    #[error("frame incomplete: {written} of {len} bytes written")]
    Incomplete {
        /// Bytes written from the start of the frame.
        written: usize,
        /// Frame length.
        len: usize,
    },
}

impl Envelope<Unsigned> {
    /// Builds an unsigned envelope around a copy of `payload` (its BLAKE3 digest is computed).
    pub fn new(fields: EnvelopeFields, payload: &[u8]) -> Result<Self, BuildError> {
        Self::with_payload(fields, payload.len(), |buf| buf.extend_from_slice(payload))
    }

    /// Builds an unsigned envelope whose payload `write` appends in place (no intermediate
    /// copy); `capacity_hint` sizes the buffer.
    ///
    /// # Errors
    /// [`BuildError::PayloadTooLarge`] when the payload does not fit a 32-bit length.
    pub fn with_payload(
        fields: EnvelopeFields,
        capacity_hint: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Self, BuildError> {
        let mut buf = Vec::with_capacity(HEADER_LEN + capacity_hint + SIGNATURE_LEN);
        buf.resize(HEADER_LEN, 0);
        write(&mut buf);
        let len = buf.len() - HEADER_LEN;
        let payload_len = u32::try_from(len).map_err(|_| BuildError::PayloadTooLarge { len })?;
        let digest = *blake3::hash(&buf[HEADER_LEN..]).as_bytes();
        let header = new_header(&fields, payload_len, digest);
        buf[..HEADER_LEN].copy_from_slice(header.as_bytes());
        Ok(Self::with_state(buf))
    }

    /// Sets the fields that depend on how the envelope is sealed.
    pub(crate) fn seal_header(&mut self, publisher: &PublicKey, flags: u8, trailer_len: usize) {
        if let Ok((header, _)) = Header::mut_from_prefix(&mut self.buf) {
            header.publisher = publisher.to_bytes();
            header.flags = flags;
            header.trailer_len = U32::new(u32::try_from(trailer_len).unwrap_or(u32::MAX));
        }
    }

    /// Header bytes (after sealing).
    pub(crate) fn header_bytes(&self) -> &[u8] {
        &self.buf[..HEADER_LEN]
    }

    /// Appends trailer bytes and changes state (only to a sendable state).
    pub(crate) fn finish<S: super::Sendable>(mut self, trailer: &[&[u8]]) -> Envelope<S> {
        for part in trailer {
            self.buf.extend_from_slice(part);
        }
        Envelope::with_state(self.buf)
    }

    /// Signs this envelope alone: Ed25519 over the domain tag and the header (which holds the
    /// payload digest). Lowest latency; [`super::sign_batch`] amortises the signature under
    /// load.
    #[must_use]
    pub fn sign(mut self, key: &NodeKey) -> Envelope<Signed> {
        self.seal_header(&key.public(), 0, SIGNATURE_LEN);
        let signature = key.sign(&single_message(self.header_bytes()));
        self.finish(&[&signature])
    }
}

fn new_header(fields: &EnvelopeFields, payload_len: u32, payload_digest: [u8; 32]) -> Header {
    Header {
        magic: MAGIC,
        version: VERSION,
        flags: 0,
        header_len: U16::new(HEADER_LEN as u16),
        topic_id: fields.topic.0,
        type_hash: fields.type_hash,
        publisher: [0; 32],
        epoch: U64::new(fields.epoch),
        sequence: U64::new(fields.sequence),
        timestamp_ns: U64::new(fields.timestamp_ns),
        payload_len: U32::new(payload_len),
        trailer_len: U32::new(0),
        payload_digest,
    }
}

/// Size of a single-signed envelope with `payload_len` bytes of payload.
#[must_use]
pub fn signed_len(payload_len: usize) -> usize {
    HEADER_LEN + payload_len + SIGNATURE_LEN
}

/// Builds and signs an envelope directly in `buf` (for example a shared-memory loan), which
/// must be exactly [`signed_len`]`(payload_len)` bytes: `write_payload` fills the payload in
/// place, then the header is written and the signature appended. No other buffer is used.
///
/// # Errors
/// [`BuildError::WrongBufferLength`] when `buf` does not have the signed length, and
/// [`BuildError::PayloadTooLarge`] when the payload does not fit a 32-bit length.
pub fn sign_in_place(
    buf: &mut [u8],
    fields: EnvelopeFields,
    key: &NodeKey,
    write_payload: impl FnOnce(&mut [u8]),
) -> Result<(), BuildError> {
    let Some(payload_len) = buf.len().checked_sub(HEADER_LEN + SIGNATURE_LEN) else {
        return Err(BuildError::WrongBufferLength { len: buf.len() });
    };
    let len32 =
        u32::try_from(payload_len).map_err(|_| BuildError::PayloadTooLarge { len: payload_len })?;
    let (head, rest) = buf.split_at_mut(HEADER_LEN);
    let (payload, signature) = rest.split_at_mut(payload_len);
    write_payload(payload);
    let mut header = new_header(&fields, len32, *blake3::hash(payload).as_bytes());
    header.publisher = key.public().to_bytes();
    header.trailer_len = U32::new(SIGNATURE_LEN as u32);
    head.copy_from_slice(header.as_bytes());
    signature.copy_from_slice(&key.sign(&single_message(head)));
    Ok(())
}

/// Development mode: builds an unsigned envelope (flag UNSIGNED, empty trailer) in `buf` of
/// exactly `HEADER_LEN + payload_len` bytes. The payload is not hashed: the digest is all
/// zeros, meaning "not computed" (the development fast path costs no more than the copy).
/// Only reachable through [`crate::security::DevelopmentMode`].
pub(crate) fn seal_unsigned_in_place(
    buf: &mut [u8],
    fields: EnvelopeFields,
    publisher: &PublicKey,
    write_payload: impl FnOnce(&mut [u8]),
) -> Result<(), BuildError> {
    let Some(payload_len) = buf.len().checked_sub(HEADER_LEN) else {
        return Err(BuildError::WrongBufferLength { len: buf.len() });
    };
    let len32 =
        u32::try_from(payload_len).map_err(|_| BuildError::PayloadTooLarge { len: payload_len })?;
    let (head, payload) = buf.split_at_mut(HEADER_LEN);
    write_payload(payload);
    let mut header = new_header(&fields, len32, [0; 32]);
    header.publisher = publisher.to_bytes();
    header.flags = super::FLAG_UNSIGNED;
    head.copy_from_slice(header.as_bytes());
    Ok(())
}

/// The message a single signature covers.
pub(crate) fn single_message(header: &[u8]) -> [u8; SINGLE_TAG.len() + HEADER_LEN] {
    let mut msg = [0u8; SINGLE_TAG.len() + HEADER_LEN];
    msg[..SINGLE_TAG.len()].copy_from_slice(SINGLE_TAG);
    msg[SINGLE_TAG.len()..].copy_from_slice(header);
    msg
}
