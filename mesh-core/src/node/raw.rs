//! Type-erased endpoints for tools (`omni-mesh topic echo|hz|bw|pub`, bridges): a
//! [`RawSubscriber`] admits envelopes of any type on a topic through the same security
//! checks as a typed subscriber and hands out the verified header fields and the archive
//! bytes; a [`RawPublisher`] signs and sends archive bytes a tool built for a type it names
//! by hash. Nothing is delivered unverified and nothing is sent unsigned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pool::BufferPool;
use super::pubsub::{boxed, FrameBuf, NodeError, PublishError, ReceiveError};
use super::{now_ns, Node};
use crate::delivery::Qos;
use crate::envelope::{
    sign_in_place, type_hash_of_frame, Envelope, EnvelopeFields, TopicId, Verified, HEADER_LEN,
    SIGNATURE_LEN,
};
use crate::identity::{Did, NodeKey, PublicKey};
use crate::security::{attest, PeerId, Receiver, Route, SecurityPolicy};
use crate::transport::{ChannelSpec, FramePublisher, FrameSubscriber, Transport};

/// A verified envelope of some type. Its bytes stay where they were verified: in a private
/// pooled copy, or in the transport's memory for a [`zero_copy`](RawSubscriber::zero_copy)
/// subscriber (the shared memory stays mapped while the sample lives).
pub struct RawSample<F> {
    env: Envelope<Verified, FrameBuf<F>>,
    shared: bool,
}

impl<F> std::fmt::Debug for RawSample<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSample").finish_non_exhaustive()
    }
}

impl<F: AsRef<[u8]>> RawSample<F> {
    /// The verified sender.
    #[must_use]
    pub fn sender(&self) -> Did {
        // Only admitted envelopes become samples: the key verified their signature.
        Did::from(PublicKey::from_verified(self.publisher()))
    }

    /// The verified publisher key.
    #[must_use]
    pub fn publisher(&self) -> [u8; 32] {
        self.env.header().publisher()
    }

    /// RIHS01 digest of the payload's type.
    #[must_use]
    pub fn type_hash(&self) -> [u8; 32] {
        self.env.header().type_hash()
    }

    /// Publisher epoch.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.env.header().epoch()
    }

    /// Sequence number.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.env.header().sequence()
    }

    /// Publisher clock, Unix nanoseconds.
    #[must_use]
    pub fn timestamp_ns(&self) -> u64 {
        self.env.header().timestamp_ns()
    }

    /// Whole envelope size, bytes.
    #[must_use]
    pub fn frame_len(&self) -> usize {
        self.env.as_bytes().len()
    }

    /// The archive (the message), where it was verified.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.env.payload()
    }

    /// Whether the payload lies in the transport's (shared) memory rather than a private copy.
    #[must_use]
    pub fn in_place(&self) -> bool {
        self.shared
    }
}

/// Receives verified envelopes of any type on one topic.
pub struct RawSubscriber<S> {
    port: S,
    receiver: Receiver,
    policy: Arc<SecurityPolicy>,
    /// The topic; its type hash is set from each frame before admission.
    route: Route,
    rejected: u64,
    zero_copy: bool,
    pool: Arc<BufferPool>,
}

impl<S> std::fmt::Debug for RawSubscriber<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSubscriber")
            .field("topic", &self.route.topic_name)
            .finish_non_exhaustive()
    }
}

/// Sends archives of a named type on one topic, signed.
pub struct RawPublisher<P> {
    port: P,
    key: Arc<NodeKey>,
    topic: TopicId,
    epoch: u64,
    next: u64,
    type_hash: [u8; 32],
}

impl<P> std::fmt::Debug for RawPublisher<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPublisher")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Node<T> {
    /// The channel settings this node would create `topic` with (resolved against the
    /// namespace), for tools that open a topic no one has created yet.
    ///
    /// # Errors
    /// [`NodeError::Name`] for an invalid name.
    pub fn channel_spec(
        &self,
        topic: &str,
        max_bytes: usize,
        qos: &Qos,
    ) -> Result<ChannelSpec, NodeError> {
        let name = self.resolve(topic)?;
        Ok(super::pubsub::spec(self, &name, max_bytes, qos))
    }

    /// A subscriber of any type on `channel` (tools pass the settings the channel already
    /// has, from a scan of the host, or [`channel_spec`](Self::channel_spec)).
    ///
    /// # Errors
    /// [`NodeError::Transport`] when the port cannot be opened.
    pub fn raw_subscriber(
        &self,
        channel: &ChannelSpec,
    ) -> Result<RawSubscriber<T::Subscriber>, NodeError> {
        let port = self
            .transport
            .subscriber(channel)
            .map_err(|e| NodeError::Transport(boxed(e)))?;
        Ok(RawSubscriber {
            port,
            receiver: self.policy.receiver(),
            policy: Arc::clone(&self.policy),
            route: Route::new(&channel.topic, [0; 32]),
            rejected: 0,
            zero_copy: false,
            pool: Arc::default(),
        })
    }

    /// A publisher of archives of the type whose RIHS01 digest is `type_hash`, on `channel`.
    ///
    /// # Errors
    /// [`NodeError::Transport`] when the port cannot be opened.
    pub fn raw_publisher(
        &self,
        channel: &ChannelSpec,
        type_hash: [u8; 32],
    ) -> Result<RawPublisher<T::Publisher>, NodeError> {
        let port = self
            .transport
            .publisher(channel)
            .map_err(|e| NodeError::Transport(boxed(e)))?;
        Ok(RawPublisher {
            port,
            key: Arc::clone(&self.key),
            topic: TopicId::of(&channel.topic),
            epoch: self.epoch,
            next: 1,
            type_hash,
        })
    }
}

impl<S: FrameSubscriber> RawSubscriber<S> {
    /// Frames refused so far (security, malformed).
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The port's wake-up source, to wait on many ports at once
    /// ([`shm_wait::wait_any`](crate::transport::shm_wait::wait_any)).
    #[cfg(feature = "shm")]
    #[must_use]
    pub fn wake_source(&self) -> Option<&dyn crate::transport::shm::WakeSource> {
        self.port.wake_source()
    }

    /// Consumes the wake-ups signalled so far (after a multiplexed wait reported this port,
    /// before reading its frames).
    ///
    /// # Errors
    /// [`ReceiveError::Transport`] when the transport fails.
    pub fn clear_wakeups(&mut self) -> Result<(), ReceiveError> {
        self.port
            .clear_wakeups()
            .map_err(|e| ReceiveError::Transport(boxed(e)))
    }

    /// Verifies and hands out envelopes where the transport put them (shared memory)
    /// instead of a private copy. As [`Subscriber::zero_copy`](super::Subscriber::zero_copy):
    /// only where every process that can open the topic's memory is trusted. Each sample
    /// held keeps its shared-memory slot: hold few.
    #[must_use]
    pub fn zero_copy(mut self, on: bool) -> Self {
        self.zero_copy = on;
        self
    }

    /// The next verified envelope, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`ReceiveError::Transport`] when the transport fails.
    pub fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<RawSample<S::Frame>>, ReceiveError> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(frame) = self
                .port
                .try_recv()
                .map_err(|e| ReceiveError::Transport(boxed(e)))?
            else {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(None);
                }
                self.port
                    .wait(deadline - now)
                    .map_err(|e| ReceiveError::Transport(boxed(e)))?;
                continue;
            };
            let start = if attest::split(frame.as_ref()).is_some() {
                attest::PREFIX_LEN
            } else {
                0
            };
            // Admission checks the header in full; the route only needs the type hash it
            // names (any type is welcome here).
            let Some(type_hash) = type_hash_of_frame(&frame.as_ref()[start..]) else {
                self.rejected += 1;
                continue;
            };
            let buf = FrameBuf::hold(frame, start, self.zero_copy, &self.pool);
            self.route.type_hash = type_hash;
            let admitted = self
                .receiver
                .admit(&self.policy, PeerId(0), buf, &self.route, now_ns());
            match admitted {
                Ok(env) => {
                    return Ok(Some(RawSample {
                        env,
                        shared: self.zero_copy,
                    }))
                }
                Err(e) => {
                    tracing::debug!(topic = %self.route.topic_name, reason = e.reason().as_str(), "frame rejected");
                    self.rejected += 1;
                }
            }
        }
    }
}

impl<P: FramePublisher> RawPublisher<P> {
    /// Signs and sends `archive` (the rkyv archive of a message of this publisher's type).
    ///
    /// # Errors
    /// [`PublishError`] when the envelope cannot be built or sent.
    pub fn publish_archive(&mut self, archive: &[u8]) -> Result<(), PublishError> {
        let mut frame = vec![0u8; HEADER_LEN + archive.len() + SIGNATURE_LEN];
        let fields = EnvelopeFields {
            topic: self.topic,
            type_hash: self.type_hash,
            epoch: self.epoch,
            sequence: self.next,
            timestamp_ns: now_ns(),
        };
        sign_in_place(&mut frame, fields, &self.key, |payload| {
            payload.copy_from_slice(archive);
        })
        .map_err(PublishError::Envelope)?;
        self.port
            .write_frame_from(&frame)
            .map_err(|e| PublishError::Transport(boxed(e)))?;
        self.next += 1;
        Ok(())
    }

    /// As [`publish_archive`](Self::publish_archive) with sequence number `sequence` (a
    /// service reply carries its request's); later messages continue after it.
    ///
    /// # Errors
    /// As [`publish_archive`](Self::publish_archive).
    pub fn publish_archive_as(
        &mut self,
        archive: &[u8],
        sequence: u64,
    ) -> Result<(), PublishError> {
        self.next = sequence;
        self.publish_archive(archive)
    }

    /// The sequence number the next message will carry.
    #[must_use]
    pub fn next_sequence(&self) -> u64 {
        self.next
    }

    /// Serves late joiners; call periodically while idle.
    ///
    /// # Errors
    /// [`PublishError::Transport`].
    pub fn update(&mut self) -> Result<(), PublishError> {
        self.port
            .update()
            .map_err(|e| PublishError::Transport(Box::new(e)))
    }
}
