//! Typed publishers and subscribers over a [`Transport`]: messages are rkyv archives inside
//! signed envelopes. A publisher serializes into a reused buffer and signs the envelope in
//! transport memory; a subscriber verifies the envelope where the transport delivered it,
//! drops replays and duplicates, validates the archive once, and hands out a [`Sample`] that
//! derefs to the archived message in place.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_msg_runtime::rkyv::api::high::{HighSerializer, HighValidator};
use mesh_msg_runtime::rkyv::bytecheck::CheckBytes;
use mesh_msg_runtime::rkyv::rancor::Error as RkyvError;
use mesh_msg_runtime::rkyv::ser::allocator::ArenaHandle;
use mesh_msg_runtime::rkyv::util::AlignedVec;
use mesh_msg_runtime::rkyv::{self, Archive, Portable, Serialize};
use mesh_msg_runtime::{BoundsError, Message};

use super::host_key::HostKeyCache;
use super::names::NameError;
use super::Node;
use crate::delivery::{Durability, History, Qos, Reliability};
use crate::envelope::Envelope;
use crate::envelope::{TopicId, Verified};
use crate::identity::{Did, PublicKey};
use crate::replay::{ReplayGuard, SeqVerdict};
use crate::security::{attest, PeerId, Receiver, Reject, Route, SecurityPolicy};
use crate::transport::{ChannelSpec, FrameSubscriber, Transport};

pub use super::publisher::{ArchiveSink, Publisher};

/// A generated message type usable on mesh topics: a [`Message`] that rkyv serializes and
/// validates.
pub trait MeshMessage:
    Message
    + Archive<Archived = Self::Zc>
    + for<'s, 'b, 'a> Serialize<HighSerializer<ArchiveSink<'s, 'b>, ArenaHandle<'a>, RkyvError>>
{
    /// The archived (zero-copy) form.
    type Zc: Portable + for<'a> CheckBytes<HighValidator<'a, RkyvError>>;
}

impl<T> MeshMessage for T
where
    T: Message
        + Archive
        + for<'s, 'b, 'a> Serialize<HighSerializer<ArchiveSink<'s, 'b>, ArenaHandle<'a>, RkyvError>>,
    T::Archived: Portable + for<'a> CheckBytes<HighValidator<'a, RkyvError>>,
{
    type Zc = T::Archived;
}

/// A node, publisher or subscriber could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// A node name, namespace or topic name is invalid.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The node's store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The transport refused.
    #[error("transport: {0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

/// A message could not be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// A declared bound is broken.
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    /// rkyv could not serialize the message.
    #[error("serialization failed: {0}")]
    Serialize(RkyvError),
    /// The envelope could not be built (payload over the 32-bit length).
    #[error(transparent)]
    Envelope(#[from] crate::envelope::BuildError),
    /// The transport refused the frame.
    #[error("transport: {0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

/// Receiving failed (rejected frames are not errors: they are counted and skipped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

pub(super) fn boxed<E: std::error::Error + Send + Sync + 'static>(
    e: E,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// Channel settings for a topic with `qos`: frames up to `max_bytes`, up to the node's
/// [`max_ports`](super::NodeBuilder::max_ports) publishers and subscribers, a queue
/// as deep as the QoS history (shared memory per publisher is about
/// `max_bytes x (depth x subscribers + history + 2)`).
///
/// On one host a topic's endpoints share one iceoryx2 service, so QoS maps onto it this way:
/// reliable = lossless queues (a publisher waits, up to the node's stall deadline), best
/// effort = the oldest queued message is overwritten; transient-local = the publisher keeps
/// the last `depth` messages for late joiners. Every endpoint of a topic must agree on
/// reliability; depth and history are minimums the first endpoint sets.
pub(super) fn spec<T>(node: &Node<T>, topic: &str, max_bytes: usize, qos: &Qos) -> ChannelSpec {
    let depth = match qos.history {
        History::KeepLast(d) => d,
        History::KeepAll { max_messages, .. } => max_messages,
    };
    let depth = usize::try_from(depth).unwrap_or(usize::MAX).clamp(1, 1024);
    ChannelSpec {
        queue_depth: depth,
        max_ports: node.max_ports,
        history: if qos.durability == Durability::TransientLocal {
            depth
        } else {
            0
        },
        lossless: qos.reliability == Reliability::Reliable,
        stall_deadline: node.stall_deadline,
        ..ChannelSpec::new(topic, crate::envelope::signed_len(max_bytes))
    }
}

impl<T: Transport> Node<T> {
    /// The QoS of endpoints made without one: keep last 8, volatile, reliable (lossless) if
    /// the node is [lossless](super::NodeBuilder::lossless), otherwise best effort.
    #[must_use]
    pub fn default_qos(&self) -> Qos {
        let base = if self.lossless {
            Qos::reliable()
        } else {
            Qos::best_effort()
        };
        base.with_history(History::KeepLast(8))
    }

    /// A publisher of `M` on `topic` (resolved against the namespace) for messages whose
    /// archive is at most `max_bytes`, with the node's [default QoS](Self::default_qos).
    pub fn publisher<M: MeshMessage>(
        &self,
        topic: &str,
        max_bytes: usize,
    ) -> Result<Publisher<M, T::Publisher>, NodeError> {
        self.publisher_with(topic, max_bytes, &self.default_qos())
    }

    /// A publisher with `qos` (see [`Qos`]: reliability, durability and history apply on
    /// shared memory; deadline and liveliness are not enforced there yet).
    pub fn publisher_with<M: MeshMessage>(
        &self,
        topic: &str,
        max_bytes: usize,
        qos: &Qos,
    ) -> Result<Publisher<M, T::Publisher>, NodeError> {
        let name = self.resolve(topic)?;
        let channel = spec(self, &name, max_bytes, qos);
        let port = self
            .transport
            .publisher(&channel)
            .map_err(|e| NodeError::Transport(boxed(e)))?;
        Ok(Publisher::new(super::publisher::PublisherParts {
            published: self
                .metrics
                .published
                .get_or_create_owned(&super::TopicLabels {
                    topic: name.clone(),
                }),
            stall_drops: self
                .metrics
                .stall_drops
                .get_or_create_owned(&super::TopicLabels {
                    topic: name.clone(),
                }),
            port,
            key: Arc::clone(&self.key),
            topic: TopicId::of(&name),
            name,
            epoch: self.epoch,
        }))
    }

    /// A subscriber of `M` on `topic` for messages whose archive is at most `max_bytes`, with
    /// the node's [default QoS](Self::default_qos).
    pub fn subscriber<M: MeshMessage>(
        &self,
        topic: &str,
        max_bytes: usize,
    ) -> Result<Subscriber<M, T::Subscriber>, NodeError> {
        self.subscriber_with(topic, max_bytes, &self.default_qos())
    }

    /// A subscriber with `qos`: as for [`publisher_with`](Self::publisher_with), and a
    /// lifespan drops messages older than it (by publisher timestamp) as expired.
    pub fn subscriber_with<M: MeshMessage>(
        &self,
        topic: &str,
        max_bytes: usize,
        qos: &Qos,
    ) -> Result<Subscriber<M, T::Subscriber>, NodeError> {
        let name = self.resolve(topic)?;
        let channel = spec(self, &name, max_bytes, qos);
        let port = self
            .transport
            .subscriber(&channel)
            .map_err(|e| NodeError::Transport(boxed(e)))?;
        Ok(Subscriber {
            zero_copy: false,
            busy_spin: false,
            metrics: super::metrics::SubscriberMetrics::new(&self.metrics, &name),
            port,
            receiver: self.policy.receiver(),
            policy: Arc::clone(&self.policy),
            route: Route::new(&name, M::TYPE_HASH.value),
            replay: ReplayGuard::default(),
            rejected: 0,
            replays: 0,
            lost: 0,
            expired: 0,
            lifespan_ns: qos.lifespan_ns,
            pool: Arc::default(),
            host_key: HostKeyCache::new(
                self.policy
                    .host_attestation()
                    .then(|| self.transport.host_key_path())
                    .flatten(),
            ),
            replay_check: true,
            _m: PhantomData,
        })
    }
}

pub(crate) use super::publisher::now_ns;

/// Receives `M` on one topic.
pub struct Subscriber<M, S> {
    zero_copy: bool,
    busy_spin: bool,
    metrics: super::metrics::SubscriberMetrics,
    port: S,
    receiver: Receiver,
    policy: Arc<SecurityPolicy>,
    route: Route,
    replay: ReplayGuard,
    rejected: u64,
    replays: u64,
    lost: u64,
    expired: u64,
    lifespan_ns: Option<u64>,
    pool: Arc<super::pool::BufferPool>,
    host_key: HostKeyCache,
    /// Off for durable subscriptions, which deduplicate by their stored cursors instead
    /// (retransmissions carry older epochs).
    replay_check: bool,
    _m: PhantomData<fn() -> M>,
}

impl<M, S> std::fmt::Debug for Subscriber<M, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("topic", &self.route.topic_name)
            .finish_non_exhaustive()
    }
}

/// Where a sample's bytes live.
#[derive(Debug)]
pub enum FrameBuf<F> {
    /// In the transport's memory (zero-copy subscribers); the envelope starts at `start`
    /// (after a host attestation prefix, if any).
    Shared {
        /// The transport's frame.
        frame: F,
        /// Where the envelope starts in it.
        start: usize,
    },
    /// In a private, aligned copy made before verification (a pooled buffer).
    Private(super::PooledBuf),
}

impl<F: AsRef<[u8]>> FrameBuf<F> {
    /// The envelope of `frame` (it starts at `start`) where it will be verified: in place
    /// for zero-copy subscribers, else in a private copy from `pool` (nobody can change it
    /// after the check; the frame's shared memory is released right away and the copy's
    /// buffer is reused).
    pub(crate) fn hold(
        frame: F,
        start: usize,
        zero_copy: bool,
        pool: &Arc<super::pool::BufferPool>,
    ) -> Self {
        if zero_copy {
            Self::Shared { frame, start }
        } else {
            Self::Private(pool.copy_of(&frame.as_ref()[start..]))
        }
    }
}

impl<F: AsRef<[u8]>> AsRef<[u8]> for FrameBuf<F> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Shared { frame, start } => &frame.as_ref()[*start..],
            Self::Private(v) => v.as_ref(),
        }
    }
}

/// A received, verified message: derefs to the archived message.
pub struct Sample<M, F> {
    env: Envelope<Verified, FrameBuf<F>>,
    copy: Option<AlignedVec>,
    shared: bool,
    _m: PhantomData<fn() -> M>,
}

impl<M: MeshMessage, F: AsRef<[u8]>> Sample<M, F> {
    /// The verified publisher.
    #[must_use]
    pub fn sender(&self) -> Did {
        // The key verified the signature, so it is a valid key: no need to decompress it
        // again.
        Did::from(PublicKey::from_verified(self.env.header().publisher()))
    }

    /// Publisher epoch.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.env.header().epoch()
    }

    /// Sequence number within the epoch.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.env.header().sequence()
    }

    /// The verified publisher's key bytes.
    pub(crate) fn publisher_key(&self) -> [u8; 32] {
        self.env.header().publisher()
    }

    /// The archive bytes (in transport memory unless they had to be realigned).
    fn bytes(&self) -> &[u8] {
        self.copy.as_deref().unwrap_or_else(|| self.env.payload())
    }

    /// True when the message is read in transport memory (a zero-copy subscriber, and no
    /// realignment was needed).
    #[must_use]
    pub fn in_place(&self) -> bool {
        self.copy.is_none() && self.shared
    }

    /// Deserializes an owned copy.
    pub fn to_owned_message(&self) -> Result<M, RkyvError>
    where
        M::Zc: rkyv::Deserialize<M, rkyv::api::high::HighDeserializer<RkyvError>>,
    {
        rkyv::deserialize::<M, RkyvError>(&**self)
    }
}

impl<M, F: AsRef<[u8]>> std::fmt::Debug for Sample<M, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = self.env.header();
        f.debug_struct("Sample")
            .field("epoch", &h.epoch())
            .field("sequence", &h.sequence())
            .field("payload_len", &h.payload_len())
            .finish_non_exhaustive()
    }
}

impl<M: MeshMessage, F: AsRef<[u8]>> std::ops::Deref for Sample<M, F> {
    type Target = M::Zc;

    fn deref(&self) -> &M::Zc {
        let bytes = self.bytes();
        if self.in_place() {
            // In shared memory the publisher's process could still write after validation:
            // validate again on every access rather than trust the bytes.
            return rkyv::access::<M::Zc, RkyvError>(bytes)
                .unwrap_or_else(|_| unreachable!("archive changed after validation"));
        }
        // SAFETY: `bytes` is this sample's private copy (a pooled buffer or an aligned
        // realignment copy), which nothing else can reach; `Subscriber::accept` validated it
        // as an `M` archive with `rkyv::access` before building the sample, and it is not
        // modified while the sample lives. Validating it once is what the issue asks for.
        #[allow(unsafe_code)]
        unsafe {
            rkyv::access_unchecked::<M::Zc>(bytes)
        }
    }
}

impl<M: MeshMessage, S: FrameSubscriber> Subscriber<M, S> {
    /// The resolved topic name.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.route.topic_name
    }

    /// The transport end (executors wait on its wake-up source).
    pub(crate) fn port(&self) -> &S {
        &self.port
    }

    /// Consumes wake-ups already signalled for this subscriber.
    pub(crate) fn clear_wakeups(&mut self) -> Result<(), ReceiveError> {
        self.port
            .clear_wakeups()
            .map_err(|e| ReceiveError::Transport(boxed(e)))
    }

    /// Waits by spinning on the transport instead of blocking: the lowest latency for a loop
    /// that owns a core, at the price of that core. Off by default.
    #[must_use]
    pub fn busy_spin(mut self, on: bool) -> Self {
        self.busy_spin = on;
        self
    }

    /// Verifies and reads messages where the transport put them (shared memory), without a
    /// private copy. Only for hosts where every process that can open this topic's shared
    /// memory is trusted: a publisher process can still write into a frame after it was
    /// verified. By default each frame is copied once, then verified and read privately.
    #[must_use]
    pub fn zero_copy(mut self, on: bool) -> Self {
        self.zero_copy = on;
        self
    }

    /// Turns the replay window off: a durable subscription deduplicates by its stored
    /// cursors, and must accept retransmissions that carry an older epoch.
    pub(crate) fn without_replay_check(mut self) -> Self {
        self.replay_check = false;
        self
    }

    /// Messages never received so far: sequence numbers skipped within a publisher's epoch
    /// (overwritten in this subscriber's full queue, or dropped by a lossless publisher after
    /// its stall deadline). Also `omnimesh_lost_total`.
    #[must_use]
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Messages dropped so far for being older than the QoS lifespan.
    #[must_use]
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// Frames rejected so far (security, malformed archive), and replays/duplicates dropped.
    #[must_use]
    pub fn dropped(&self) -> (u64, u64) {
        (self.rejected, self.replays)
    }

    /// The next verified message, waiting up to `timeout` (without spinning). Frames that
    /// are rejected or replayed are counted and skipped; waiting frames are drained first.
    pub fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Sample<M, S::Frame>>, ReceiveError> {
        // The clock is read only once the queue is found empty with time left to wait, so a
        // polling `try_recv` loop costs no clock reads.
        let mut deadline = None;
        loop {
            let Some(frame) = self
                .port
                .try_recv()
                .map_err(|e| ReceiveError::Transport(boxed(e)))?
            else {
                if timeout.is_zero() {
                    return Ok(None);
                }
                let now = Instant::now();
                let deadline = *deadline.get_or_insert(now + timeout);
                if now >= deadline {
                    return Ok(None);
                }
                if self.busy_spin {
                    std::hint::spin_loop();
                } else {
                    self.port
                        .wait(deadline - now)
                        .map_err(|e| ReceiveError::Transport(boxed(e)))?;
                }
                continue;
            };
            // One clock read per frame: admission and the latency metric share it.
            let now = now_ns();
            match self.accept(frame, now) {
                Accepted::Sample(sample) => {
                    self.metrics.delivered.inc();
                    let age = now.saturating_sub(sample.env.header().timestamp_ns());
                    self.metrics.latency.observe(age as f64 / 1e9);
                    return Ok(Some(sample));
                }
                Accepted::Replay => {
                    self.metrics.replay.inc();
                    self.replays += 1;
                }
                Accepted::Rejected(e) => {
                    tracing::debug!(topic = %self.route.topic_name, reason = e.reason().as_str(), "frame rejected");
                    self.metrics.rejected.inc();
                    self.rejected += 1;
                }
                Accepted::BadArchive => {
                    self.metrics.bad_archive.inc();
                    self.rejected += 1;
                }
                Accepted::Expired => {
                    self.metrics.expired.inc();
                    self.expired += 1;
                }
            }
        }
    }

    /// The next verified message if one is waiting.
    pub fn try_recv(&mut self) -> Result<Option<Sample<M, S::Frame>>, ReceiveError> {
        self.recv_timeout(Duration::ZERO)
    }

    /// The next verified message, waiting for it as long as it takes (without spinning,
    /// unless [`busy_spin`](Self::busy_spin) is on).
    pub fn recv(&mut self) -> Result<Sample<M, S::Frame>, ReceiveError> {
        loop {
            if let Some(sample) = self.recv_timeout(Duration::from_secs(3600))? {
                return Ok(sample);
            }
        }
    }

    /// A blocking iterator over verified messages (`for sample in subscriber.iter()`); it
    /// ends at the first transport error, which it yields.
    pub fn iter(&mut self) -> Incoming<'_, M, S> {
        Incoming {
            subscriber: self,
            failed: false,
        }
    }

    fn accept(&mut self, frame: S::Frame, now: u64) -> Accepted<M, S::Frame> {
        // A frame from another host, verified by this host's daemon, carries its tag.
        let tag = attest::split(frame.as_ref());
        let start = if tag.is_some() { attest::PREFIX_LEN } else { 0 };
        let buf = FrameBuf::hold(frame, start, self.zero_copy, &self.pool);
        let admitted = match tag {
            Some(tag) => {
                // The gate checks the tag once; if it did not accept it (no key yet, or a
                // restarted daemon's new key), the cache reads the key file again soon.
                let attested = self.policy.host_attested_count();
                let host = self.host_key.key();
                let admitted =
                    self.receiver
                        .admit_attested(&self.policy, buf, &tag, host, &self.route, now);
                if self.policy.host_attested_count() == attested {
                    self.host_key.stale();
                }
                admitted
            }
            None => self
                .receiver
                .admit(&self.policy, PeerId(0), buf, &self.route, now),
        };
        let env = match admitted {
            Ok(env) => env,
            Err(e) => return Accepted::Rejected(e),
        };
        let h = env.header();
        if self.replay_check {
            let (verdict, skipped) = self.replay.check_counting_gaps(
                h.publisher(),
                h.topic_id(),
                h.epoch(),
                h.sequence(),
            );
            if verdict != SeqVerdict::Fresh {
                return Accepted::Replay;
            }
            if skipped > 0 {
                self.lost += skipped;
                self.metrics.lost.inc_by(skipped);
            }
        }
        if self
            .lifespan_ns
            .is_some_and(|life| now.saturating_sub(h.timestamp_ns()) > life)
        {
            return Accepted::Expired;
        }
        let copy = match rkyv::access::<M::Zc, RkyvError>(env.payload()) {
            Ok(_) => None,
            Err(_) => {
                // The archive may only be misaligned in transport memory: retry on an aligned
                // copy before rejecting it.
                let mut aligned = AlignedVec::with_capacity(env.payload().len());
                aligned.extend_from_slice(env.payload());
                if rkyv::access::<M::Zc, RkyvError>(&aligned).is_err() {
                    return Accepted::BadArchive;
                }
                Some(aligned)
            }
        };
        Accepted::Sample(Sample {
            env,
            copy,
            shared: self.zero_copy,
            _m: PhantomData,
        })
    }
}

/// A blocking iterator over a subscriber's verified messages ([`Subscriber::iter`]).
#[derive(Debug)]
pub struct Incoming<'s, M, S> {
    subscriber: &'s mut Subscriber<M, S>,
    failed: bool,
}

impl<M: MeshMessage, S: FrameSubscriber> Iterator for Incoming<'_, M, S> {
    type Item = Result<Sample<M, S::Frame>, ReceiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.subscriber.recv();
        self.failed = next.is_err();
        Some(next)
    }
}

/// What became of one received frame.
enum Accepted<M, F> {
    Sample(Sample<M, F>),
    /// Duplicate, replay or older epoch.
    Replay,
    /// Refused by the security layer.
    Rejected(Reject),
    /// Signed correctly, but not a valid archive of the topic's type.
    BadArchive,
    /// Older than the QoS lifespan.
    Expired,
}
