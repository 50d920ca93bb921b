//! Transports move envelope frames between processes: one [`Transport`] trait, a conformance
//! suite every implementation passes (`mesh-core/tests/transport_conformance.rs`), and the
//! implementations:
//! - [`inproc`]: inside one process (unit tests only);
//! - `shm` (feature `shm`, default): iceoryx2 shared memory between processes on one host,
//!   written in place and read in place.
//!
//! Shared-memory sizing: a publisher's data segment holds about
//! `max_frame_bytes x (queue_depth x subscribers + history + 2 loans)`, so a 1 MiB channel with
//! a queue of 8 and 2 subscribers maps ~20 MiB; keep `queue_depth` and `max_ports` small for
//! large frames.
//!
//! Users only ever send envelopes: [`FramePublisher::send`] takes an [`Envelope`] in a
//! [`Sendable`] state, and [`FramePublisher::send_signed_in_place`] builds and signs one
//! directly in transport memory.

pub mod inproc;
#[cfg(feature = "shm")]
pub mod shm;
#[cfg(feature = "shm")]
pub mod shm_graph;
#[cfg(feature = "shm")]
pub mod shm_scan;
#[cfg(feature = "shm")]
pub mod shm_wait;

use std::time::{Duration, Instant};

use crate::envelope::{sign_in_place, signed_len, BuildError, Envelope, EnvelopeFields, Sendable};
use mesh_msg_runtime::rkyv::rancor::Error as RkyvError;
use mesh_msg_runtime::rkyv::ser::Writer;

/// Writes a frame into loaned transport memory from its start (rkyv's bounded buffer
/// writer): what it has written is initialised, and its position says how far that goes.
pub use mesh_msg_runtime::rkyv::ser::writer::Buffer as FrameWriter;

/// Appends `n` zero bytes.
pub(crate) fn write_zeros(writer: &mut FrameWriter<'_>, n: usize) -> Result<(), RkyvError> {
    const ZEROS: [u8; 4096] = [0; 4096];
    let mut left = n;
    while left > 0 {
        let chunk = left.min(ZEROS.len());
        Writer::<RkyvError>::write(writer, &ZEROS[..chunk])?;
        left -= chunk;
    }
    Ok(())
}
use crate::identity::NodeKey;

/// What a channel (one topic) needs from a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// Fully qualified topic name (`/fleet/amr_1/odom`).
    pub topic: String,
    /// Largest frame (envelope) in bytes.
    pub max_frame_bytes: usize,
    /// Publishers: the frame size their memory is first sized for, growing (doubling) up to
    /// `max_frame_bytes` when a larger frame comes (`None`: sized for the maximum at once).
    pub initial_frame_bytes: Option<usize>,
    /// Frames a subscriber can hold before the oldest is overwritten.
    pub queue_depth: usize,
    /// Frames kept for late-joining subscribers.
    pub history: usize,
    /// Publishers and subscribers the channel must admit.
    pub max_ports: usize,
    /// True: a full subscriber queue makes the publisher wait (lossless, in order); false:
    /// the oldest queued frame is overwritten (the publisher never waits).
    pub lossless: bool,
    /// Lossless channels: the longest a publisher waits for one full subscriber queue. Past
    /// it the frame is dropped for that subscriber only (counted by
    /// [`FramePublisher::stalled_drops`]), so a subscriber that stopped reading (or died)
    /// cannot stall its publishers for ever.
    pub stall_deadline: Duration,
}

impl ChannelSpec {
    /// A channel for `topic` with frames up to `max_frame_bytes`, a queue of 64, no history
    /// and up to 16 publishers and 16 subscribers.
    #[must_use]
    pub fn new(topic: &str, max_frame_bytes: usize) -> Self {
        Self {
            topic: topic.to_owned(),
            max_frame_bytes,
            initial_frame_bytes: None,
            queue_depth: 64,
            history: 0,
            max_ports: 16,
            lossless: false,
            stall_deadline: Duration::from_secs(1),
        }
    }
}

/// A transport: a factory of publishers and subscribers per channel.
pub trait Transport {
    /// Errors of this transport.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Publishing end.
    type Publisher: FramePublisher<Error = Self::Error>;
    /// Subscribing end.
    type Subscriber: FrameSubscriber<Error = Self::Error>;

    /// Opens (or creates) the channel and a publisher on it.
    fn publisher(&self, spec: &ChannelSpec) -> Result<Self::Publisher, Self::Error>;
    /// Opens (or creates) the channel and a subscriber on it.
    fn subscriber(&self, spec: &ChannelSpec) -> Result<Self::Subscriber, Self::Error>;

    /// Where this host's daemon keeps its attestation key
    /// ([`crate::security::attest`]), for transports that a daemon serves.
    fn host_key_path(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// The publishing end of a channel.
pub trait FramePublisher {
    /// Errors of this transport.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Transport primitive: loans `len` bytes of transport memory, uninitialised, and lets
    /// `fill` write the frame from its start through a [`FrameWriter`], which tracks what has
    /// been written. The frame is published only if exactly `len` bytes were written;
    /// otherwise the loan is returned unpublished and [`BuildError::Incomplete`] reported.
    /// Called only by the provided methods below and by typed publishers, which write
    /// envelopes.
    #[doc(hidden)]
    fn write_frame_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut FrameWriter<'_>),
    ) -> Result<(), Self::Error>;

    /// Transport primitive: gives `fill` a zeroed `len`-byte buffer in transport memory,
    /// then publishes it.
    #[doc(hidden)]
    fn write_frame(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), Self::Error> {
        self.write_frame_with(len, &mut |writer| {
            if write_zeros(writer, len).is_ok() {
                fill(writer);
            }
        })
    }

    /// Transport primitive: publishes a complete frame by copying it into transport memory.
    #[doc(hidden)]
    fn write_frame_from(&mut self, frame: &[u8]) -> Result<(), Self::Error> {
        self.write_frame_parts(&[frame])
    }

    /// Transport primitive: publishes the concatenation of `parts` as one frame, copied
    /// into transport memory once.
    #[doc(hidden)]
    fn write_frame_parts(&mut self, parts: &[&[u8]]) -> Result<(), Self::Error> {
        let len = parts.iter().map(|p| p.len()).sum();
        self.write_frame_with(len, &mut |writer| {
            for part in parts {
                if Writer::<RkyvError>::write(writer, part).is_err() {
                    return;
                }
            }
        })
    }

    /// Serves subscribers that joined since the last frame (e.g. history for late joiners);
    /// runtimes call it periodically while a publisher is idle.
    fn update(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Frames dropped so far for subscribers whose full queue outlasted the channel's
    /// [`ChannelSpec::stall_deadline`] (lossless channels only).
    fn stalled_drops(&self) -> u64 {
        0
    }

    /// Builds an error for a frame the channel cannot carry.
    #[doc(hidden)]
    fn frame_error(&self, len: usize, cause: Option<BuildError>) -> Self::Error;

    /// Publishes a signed (or development-unsigned) envelope, with one copy into transport
    /// memory.
    fn send<S: Sendable, B: AsRef<[u8]>>(
        &mut self,
        env: &Envelope<S, B>,
    ) -> Result<(), Self::Error> {
        self.write_frame_from(env.as_bytes())
    }

    /// Builds and signs an envelope directly in transport memory (zero-copy): `write_payload`
    /// fills the `payload_len` payload bytes in place.
    fn send_signed_in_place(
        &mut self,
        key: &NodeKey,
        fields: EnvelopeFields,
        payload_len: usize,
        write_payload: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), Self::Error> {
        let len = signed_len(payload_len);
        let mut failure = None;
        self.write_frame(len, &mut |buf| {
            if let Err(e) = sign_in_place(buf, fields, key, &mut *write_payload) {
                failure = Some(e);
            }
        })?;
        match failure {
            Some(e) => Err(self.frame_error(len, Some(e))),
            None => Ok(()),
        }
    }
}

/// Development mode only: an unsigned envelope built in transport memory.
pub fn send_unsigned_in_place<P: FramePublisher + ?Sized>(
    port: &mut P,
    _dev: &crate::security::DevelopmentMode,
    publisher: &crate::identity::PublicKey,
    fields: EnvelopeFields,
    payload_len: usize,
    write_payload: &mut dyn FnMut(&mut [u8]),
) -> Result<(), P::Error> {
    let len = crate::envelope::HEADER_LEN + payload_len;
    let mut failure = None;
    port.write_frame(len, &mut |buf| {
        if let Err(e) =
            crate::envelope::seal_unsigned_in_place(buf, fields, publisher, &mut *write_payload)
        {
            failure = Some(e);
        }
    })?;
    match failure {
        Some(e) => Err(port.frame_error(len, Some(e))),
        None => Ok(()),
    }
}

/// The subscribing end of a channel.
pub trait FrameSubscriber {
    /// Errors of this transport.
    type Error: std::error::Error + Send + Sync + 'static;
    /// A received frame, readable in place (shared memory stays mapped while it lives).
    type Frame: AsRef<[u8]>;

    /// The next frame, if one is waiting.
    fn try_recv(&mut self) -> Result<Option<Self::Frame>, Self::Error>;

    /// Blocks (without spinning) until a frame may be waiting or `timeout` passes.
    fn wait(&mut self, timeout: Duration) -> Result<(), Self::Error>;

    /// The subscriber's wake-up source, so an executor can wait for many subscribers at once
    /// on one iceoryx2 `WaitSet`; `None` when the transport has none (executors then wait on
    /// each subscriber in turn, in short slices).
    #[cfg(feature = "shm")]
    fn wake_source(&self) -> Option<&dyn shm::WakeSource> {
        None
    }

    /// Consumes the wake-ups already signalled (after a multiplexed wait reported this
    /// subscriber), so the next wait blocks until a new frame is announced.
    fn clear_wakeups(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The next frame, waiting up to `timeout`.
    fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Self::Frame>, Self::Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(frame) = self.try_recv()? {
                return Ok(Some(frame));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.wait(deadline - now)?;
        }
    }
}
