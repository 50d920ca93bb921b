//! Type-erased endpoints for tools (`omni-mesh topic echo|hz|bw|pub`, bridges): a
//! [`RawSubscriber`] admits envelopes of any type on a topic through the same security
//! checks as a typed subscriber and hands out the verified header fields and the archive
//! bytes; a [`RawPublisher`] signs and sends archive bytes a tool built for a type it names
//! by hash. Nothing is delivered unverified and nothing is sent unsigned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pubsub::{boxed, NodeError, PublishError, ReceiveError};
use super::{now_ns, Node};
use crate::delivery::Qos;
use crate::envelope::{
    sign_in_place, type_hash_of_frame, EnvelopeFields, TopicId, HEADER_LEN, SIGNATURE_LEN,
};
use crate::identity::{Did, NodeKey, PublicKey};
use crate::security::{attest, PeerId, Receiver, Route, SecurityPolicy};
use crate::transport::{ChannelSpec, FramePublisher, FrameSubscriber, Transport};

/// A verified envelope of some type.
#[derive(Debug, Clone)]
pub struct RawSample {
    /// RIHS01 digest of the payload's type.
    pub type_hash: [u8; 32],
    /// Publisher key (verified; read it with [`RawSample::publisher`]).
    publisher: [u8; 32],
    /// Publisher epoch.
    pub epoch: u64,
    /// Sequence number.
    pub sequence: u64,
    /// Publisher clock, Unix nanoseconds.
    pub timestamp_ns: u64,
    /// Whole envelope size, bytes.
    pub frame_len: usize,
    /// The archive (the message), copied out of transport memory.
    pub payload: Vec<u8>,
}

impl RawSample {
    /// The verified sender.
    #[must_use]
    pub fn sender(&self) -> Option<Did> {
        // Only admitted envelopes become samples: the key verified their signature.
        Some(Did::from(PublicKey::from_verified(self.publisher)))
    }

    /// The verified publisher key.
    #[must_use]
    pub fn publisher(&self) -> [u8; 32] {
        self.publisher
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

    /// The next verified envelope, waiting up to `timeout`.
    ///
    /// # Errors
    /// [`ReceiveError::Transport`] when the transport fails.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<RawSample>, ReceiveError> {
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
            let bytes = frame.as_ref();
            let start = if attest::split(bytes).is_some() {
                attest::PREFIX_LEN
            } else {
                0
            };
            let envelope = bytes[start..].to_vec();
            drop(frame);
            // Admission checks the header in full; the route only needs the type hash it
            // names (any type is welcome here).
            let Some(type_hash) = type_hash_of_frame(&envelope) else {
                self.rejected += 1;
                continue;
            };
            self.route.type_hash = type_hash;
            let admitted = self.receiver.admit(
                &self.policy,
                PeerId(0),
                envelope.as_slice(),
                &self.route,
                now_ns(),
            );
            match admitted {
                Ok(env) => {
                    let h = env.header();
                    return Ok(Some(RawSample {
                        type_hash: h.type_hash(),
                        publisher: h.publisher(),
                        epoch: h.epoch(),
                        sequence: h.sequence(),
                        timestamp_ns: h.timestamp_ns(),
                        frame_len: envelope.len(),
                        payload: env.payload().to_vec(),
                    }));
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
