//! Signed envelopes, v1 (wire format in `docs/wire-format.md`).
//!
//! Typestate makes the rules structural:
//! - [`Envelope<Unsigned>`] is built by a publisher and can only become [`Envelope<Signed>`]
//!   (by [`Envelope::sign`] or [`sign_batch`]) or, in development mode only,
//!   [`Envelope<DevUnsigned>`]. Transports accept only [`Sendable`] states.
//! - Received bytes become [`Envelope<Unverified>`] through [`Envelope::parse`], which checks
//!   every length before hashing or allocating; only [`Envelope::verify`] (or a [`Verifier`])
//!   turns one into [`Envelope<Verified>`], the only state the delivery layer accepts.
//!
//! ```
//! use mesh_core::envelope::{Envelope, EnvelopeFields, Limits, TopicId};
//! use mesh_core::identity::NodeKey;
//! use mesh_core::security::TrustStore;
//!
//! let key = NodeKey::generate();
//! let fields = EnvelopeFields { topic: TopicId::of("/fleet/amr_1/odom"), type_hash: [7; 32],
//!     epoch: 1, sequence: 42, timestamp_ns: 1_700_000_000_000_000_000 };
//! let signed = Envelope::new(fields, b"payload bytes").unwrap().sign(&key);
//!
//! let mut trust = TrustStore::new();
//! trust.add_publisher(key.public());
//! let received = Envelope::parse(signed.as_bytes(), &Limits::default()).unwrap();
//! let verified = received.verify(&trust).unwrap();
//! assert_eq!(verified.payload(), b"payload bytes");
//! assert_eq!(verified.header().sequence(), 42);
//! ```

mod adaptive;
mod header;
mod merkle;
mod parse;
mod sign;
mod verify;

use std::marker::PhantomData;

pub use adaptive::AdaptiveSigner;
pub use header::{
    type_hash_of_frame, Header, TopicId, FLAG_BATCH, FLAG_UNSIGNED, HEADER_LEN, MAGIC, VERSION,
};
pub use merkle::{sign_batch, BatchError, MAX_BATCH, MAX_BATCH_DEPTH};
pub use parse::{Limits, ParseError};
pub(crate) use sign::seal_unsigned_in_place;
pub use sign::{sign_in_place, signed_len, BuildError, EnvelopeFields, SIGNATURE_LEN};
pub use verify::{PublisherKeys, Verifier, VerifyError};

use zerocopy::FromBytes as _;

/// State: built by a publisher, not yet signed.
#[derive(Debug)]
pub enum Unsigned {}
/// State: signed; may be sent.
#[derive(Debug)]
pub enum Signed {}
/// State: deliberately unsigned in development mode; may be sent, counted and logged.
#[derive(Debug)]
pub enum DevUnsigned {}
/// State: received and structurally valid, signature not yet checked.
#[derive(Debug)]
pub enum Unverified {}
/// State: signature (or the development-mode exception) checked; may be delivered.
#[derive(Debug)]
pub enum Verified {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Signed {}
    impl Sealed for super::DevUnsigned {}
}

/// States a transport may send.
pub trait Sendable: sealed::Sealed {}
impl Sendable for Signed {}
impl Sendable for DevUnsigned {}

/// An envelope: header, payload, trailer, in one contiguous buffer `B`.
///
/// Invariant (upheld by every constructor): the buffer holds at least a full header and its
/// declared payload.
#[derive(Debug)]
pub struct Envelope<S, B = Vec<u8>> {
    buf: B,
    state: PhantomData<fn() -> S>,
}

impl<S, B: Clone> Clone for Envelope<S, B> {
    /// Clones the buffer (cheap for reference-counted buffers such as `bytes::Bytes`) in the
    /// same state: a verified envelope stays verified.
    fn clone(&self) -> Self {
        Self {
            buf: self.buf.clone(),
            state: PhantomData,
        }
    }
}

impl<S, B: AsRef<[u8]>> Envelope<S, B> {
    fn with_state(buf: B) -> Self {
        Self {
            buf,
            state: PhantomData,
        }
    }

    /// The header, read in place.
    #[must_use]
    pub fn header(&self) -> &Header {
        match Header::ref_from_prefix(self.buf.as_ref()) {
            Ok((header, _)) => header,
            // Constructors guarantee a full header; an empty header is never produced.
            Err(_) => unreachable!("envelope buffer shorter than its header"),
        }
    }

    /// The payload, in place.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        let len = self.header().payload_len() as usize;
        &self.buf.as_ref()[HEADER_LEN..HEADER_LEN + len]
    }

    /// The whole envelope as it goes on the wire.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// The trailer (signature section).
    pub(crate) fn trailer(&self) -> &[u8] {
        let start = HEADER_LEN + self.header().payload_len() as usize;
        &self.buf.as_ref()[start..]
    }

    /// The buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
}

impl<B: AsRef<[u8]>> Envelope<Unverified, B> {
    /// Only for the security layer's logged, counted development-mode path.
    pub(crate) fn into_verified_unchecked(self) -> Envelope<Verified, B> {
        Envelope::with_state(self.buf)
    }
}
