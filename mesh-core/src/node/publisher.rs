//! Typed publishers: a message is serialized (rkyv) straight into a loan of transport memory
//! (an iceoryx2 shared-memory sample on the shm transport), between the envelope header and
//! the signature, and the envelope is signed in place. A first pass over the message only
//! counts bytes, so the loan has the exact frame length and no intermediate buffer exists.

use std::marker::PhantomData;
use std::sync::Arc;

use mesh_msg_runtime::rkyv::rancor::{Error as RkyvError, Source as _};
use mesh_msg_runtime::rkyv::ser::allocator::Arena;
use mesh_msg_runtime::rkyv::ser::{Positional, Writer};
use mesh_msg_runtime::rkyv::{self, seal::Seal};

use super::pubsub::{MeshMessage, PublishError};
use crate::envelope::{seal_unsigned_in_place, sign_in_place, BuildError, EnvelopeFields, TopicId};
use crate::envelope::{HEADER_LEN, SIGNATURE_LEN};
use crate::identity::NodeKey;
use crate::transport::{write_zeros, FramePublisher, FrameWriter};

/// Where a publisher's archive goes: first only counted (to size the loan exactly), then
/// written into the loaned frame. Positions are frame offsets in both passes, so rkyv's
/// alignment padding, and with it the length, is the same.
#[derive(Debug)]
pub enum ArchiveSink<'s, 'b> {
    /// Counts bytes; holds the position.
    Count(usize),
    /// Writes into a frame.
    Write(&'s mut FrameWriter<'b>),
}

impl Positional for ArchiveSink<'_, '_> {
    fn pos(&self) -> usize {
        match self {
            Self::Count(n) => *n,
            Self::Write(w) => w.pos(),
        }
    }
}

impl Writer<RkyvError> for ArchiveSink<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), RkyvError> {
        match self {
            Self::Count(n) => {
                *n = n
                    .checked_add(bytes.len())
                    .ok_or_else(|| RkyvError::new(SizeOverflow))?;
                Ok(())
            }
            Self::Write(w) => Writer::<RkyvError>::write(&mut **w, bytes),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("archive size overflows usize")]
struct SizeOverflow;

/// What a node hands a new publisher.
pub(crate) struct PublisherParts<P> {
    pub published: prometheus_client::metrics::counter::Counter,
    pub stall_drops: prometheus_client::metrics::counter::Counter,
    pub port: P,
    pub key: Arc<NodeKey>,
    pub topic: TopicId,
    pub name: String,
    pub epoch: u64,
}

/// Publishes `M` on one topic.
pub struct Publisher<M, P> {
    published: prometheus_client::metrics::counter::Counter,
    stall_drops: prometheus_client::metrics::counter::Counter,
    stalled_seen: u64,
    port: P,
    unsigned: Option<crate::security::DevelopmentMode>,
    key: Arc<NodeKey>,
    topic: TopicId,
    name: String,
    epoch: u64,
    next: u64,
    arena: Arena,
    _m: PhantomData<fn(M)>,
}

impl<M, P> std::fmt::Debug for Publisher<M, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.name)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<M: MeshMessage, P: FramePublisher> Publisher<M, P> {
    pub(crate) fn new(parts: PublisherParts<P>) -> Self {
        Self {
            published: parts.published,
            stall_drops: parts.stall_drops,
            stalled_seen: 0,
            port: parts.port,
            unsigned: None,
            key: parts.key,
            topic: parts.topic,
            name: parts.name,
            epoch: parts.epoch,
            next: 1,
            arena: Arena::new(),
            _m: PhantomData,
        }
    }

    /// The resolved topic name.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.name
    }

    /// Validates bounds, serializes `msg` straight into transport memory (a shared-memory
    /// sample on the shm transport) and signs the envelope there: the message bytes are
    /// written once, where subscribers read them. No heap allocation once rkyv's scratch
    /// arena has grown.
    pub fn publish(&mut self, msg: &M) -> Result<(), PublishError> {
        self.write(msg, None::<fn(Seal<'_, M::Zc>)>)
    }

    /// Zero-copy publishing with in-place edits: serializes `msg` into a loan of transport
    /// memory, lets `edit` change the archived message there (for example fill a camera
    /// frame or point cloud straight from a driver into a buffer `msg` sized), then signs
    /// the envelope over the edited bytes and publishes it. Bounds are checked on `msg`;
    /// `edit` can change values but not lengths.
    ///
    /// ```
    /// # use mesh_core::node::Node;
    /// # use mesh_core::transport::inproc::InProcTransport;
    /// # use mesh_msg_runtime::rkyv::{munge::munge, vec::ArchivedVec};
    /// # use omni_msgs::std_msgs::msg::{ArchivedUInt8MultiArray, UInt8MultiArray};
    /// # use mesh_core::{identity::NodeKey, security::{SecurityConfig, SecurityMode, TrustStore}};
    /// # let key = NodeKey::generate();
    /// # let mut trust = TrustStore::new();
    /// # trust.add_publisher(key.public());
    /// # let security = SecurityConfig { mode: SecurityMode::Lightweight, ..Default::default() };
    /// # let node = Node::builder("camera", InProcTransport::new())
    /// #     .key(key).security(security).trust(trust).build().unwrap();
    /// let mut publisher = node.publisher::<UInt8MultiArray>("image", 1 << 20).unwrap();
    /// let mut subscriber = node.subscriber::<UInt8MultiArray>("image", 1 << 20).unwrap();
    /// let frame = UInt8MultiArray { data: vec![0; 640 * 480], ..Default::default() };
    /// publisher
    ///     .loan(&frame, |archived| {
    ///         // Project the sealed archive onto its `data` field (rkyv's `munge!`; it
    ///         // expands to an `unsafe` block, so crates that deny `unsafe_code` allow it
    ///         // here), then write the pixels in transport memory.
    ///         #[allow(unsafe_code)]
    ///         let data = {
    ///             munge!(let ArchivedUInt8MultiArray { data, .. } = archived);
    ///             data
    ///         };
    ///         let pixels = ArchivedVec::as_slice_seal(data).unseal();
    ///         pixels[0] = 255;
    ///     })
    ///     .unwrap();
    /// let sample = subscriber.try_recv().unwrap().expect("published");
    /// assert_eq!((sample.data[0], sample.data.len()), (255, 640 * 480));
    /// ```
    pub fn loan(
        &mut self,
        msg: &M,
        edit: impl FnOnce(Seal<'_, M::Zc>),
    ) -> Result<(), PublishError> {
        self.write(msg, Some(edit))
    }

    /// Serializes `msg` into a loan, applies `edit` in place (validating the archive only
    /// then), seals and publishes.
    fn write(
        &mut self,
        msg: &M,
        edit: Option<impl FnOnce(Seal<'_, M::Zc>)>,
    ) -> Result<(), PublishError> {
        msg.validate()?;
        let fields = self.fields(self.next);
        let sealer = Sealer {
            key: &self.key,
            unsigned: self.unsigned.is_some(),
            arena: &mut self.arena,
            fields,
        };
        build_frame(&mut self.port, sealer, msg, edit)?;
        self.sent();
        Ok(())
    }

    /// The envelope fields of message `sequence`, stamped now.
    fn fields(&self, sequence: u64) -> EnvelopeFields {
        EnvelopeFields {
            topic: self.topic,
            type_hash: M::TYPE_HASH.value,
            epoch: self.epoch,
            sequence,
            timestamp_ns: now_ns(),
        }
    }

    /// Counts a sent frame and the stall drops the port reports.
    fn sent(&mut self) {
        self.next += 1;
        self.published.inc();
        let stalled = self.port.stalled_drops();
        if stalled > self.stalled_seen {
            self.stall_drops.inc_by(stalled - self.stalled_seen);
            self.stalled_seen = stalled;
        }
    }

    /// Builds the sealed envelope of `msg` as message `sequence` in memory, without sending
    /// it (durable topics store it first).
    pub(crate) fn seal_to_vec(&mut self, msg: &M, sequence: u64) -> Result<Vec<u8>, PublishError> {
        msg.validate()?;
        let mut memory = MemoryFrame::default();
        let fields = self.fields(sequence);
        let sealer = Sealer {
            key: &self.key,
            unsigned: self.unsigned.is_some(),
            arena: &mut self.arena,
            fields,
        };
        build_frame(&mut memory, sealer, msg, None::<fn(Seal<'_, M::Zc>)>)?;
        Ok(memory.frame)
    }

    /// Sends an already sealed envelope (a durable topic's stored message) unchanged; the
    /// next sequence number moves past it.
    pub(crate) fn send_sealed(&mut self, frame: &[u8], sequence: u64) -> Result<(), PublishError> {
        self.port
            .write_frame_from(frame)
            .map_err(|e| PublishError::Transport(Box::new(e)))?;
        self.next = self.next.max(sequence);
        self.sent();
        Ok(())
    }

    /// Frames dropped for subscribers whose full queue outlasted the stall deadline
    /// (lossless nodes only; see [`super::NodeBuilder::lossless`]).
    #[must_use]
    pub fn stalled_drops(&self) -> u64 {
        self.port.stalled_drops()
    }

    /// The sequence number the next message will carry.
    #[must_use]
    pub fn next_sequence(&self) -> u64 {
        self.next
    }

    /// Uses `epoch` instead of the node's (service clients: one epoch per instance).
    pub(crate) fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// Publishes with an explicit sequence number (service replies carry their request's).
    pub(crate) fn publish_as(&mut self, msg: &M, sequence: u64) -> Result<(), PublishError> {
        self.next = sequence;
        self.publish(msg)
    }

    /// Development mode only: publish without signatures (logged and counted by receivers).
    pub fn unsigned(mut self, dev: crate::security::DevelopmentMode) -> Self {
        self.unsigned = Some(dev);
        self
    }

    /// Serves late joiners; call periodically while idle.
    pub fn update(&mut self) -> Result<(), PublishError> {
        self.port
            .update()
            .map_err(|e| PublishError::Transport(Box::new(e)))
    }
}

/// Wall-clock nanoseconds since the Unix epoch (envelope timestamps).
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// What an envelope is made of besides the message.
struct Sealer<'a> {
    key: &'a NodeKey,
    unsigned: bool,
    arena: &'a mut Arena,
    fields: EnvelopeFields,
}

/// Serializes `msg` into a frame of `port` sized exactly (a counting pass first), applies
/// `edit` in place, and signs (or seals, unsigned) the envelope there.
fn build_frame<M: MeshMessage, P: FramePublisher>(
    port: &mut P,
    sealer: Sealer<'_>,
    msg: &M,
    mut edit: Option<impl FnOnce(Seal<'_, M::Zc>)>,
) -> Result<(), PublishError> {
    let Sealer {
        key,
        unsigned,
        arena,
        fields,
    } = sealer;
    let counted = rkyv::api::high::to_bytes_in_with_alloc::<_, _, RkyvError>(
        msg,
        ArchiveSink::Count(HEADER_LEN),
        arena.acquire(),
    )
    .map_err(PublishError::Serialize)?;
    let archive_len = counted.pos() - HEADER_LEN;
    let trailer = if unsigned { 0 } else { SIGNATURE_LEN };
    let frame_len = HEADER_LEN + archive_len + trailer;
    let mut failure = None;
    let sent = port.write_frame_with(frame_len, &mut |writer| {
        let step = write_zeros(writer, HEADER_LEN)
            .and_then(|()| {
                rkyv::api::high::to_bytes_in_with_alloc::<_, _, RkyvError>(
                    msg,
                    ArchiveSink::Write(&mut *writer),
                    arena.acquire(),
                )
                .map(|_| ())
            })
            .and_then(|()| write_zeros(writer, trailer))
            .map_err(PublishError::Serialize);
        if let Err(e) = step {
            failure = Some(e);
            return;
        }
        let frame: &mut [u8] = writer;
        if frame.len() != frame_len {
            return; // reported by the transport as an incomplete frame
        }
        if let Some(edit) = edit.take() {
            let archive = &mut frame[HEADER_LEN..HEADER_LEN + archive_len];
            match rkyv::access_mut::<M::Zc, RkyvError>(archive) {
                Ok(sealed) => edit(sealed),
                Err(e) => {
                    failure = Some(PublishError::Serialize(e));
                    return;
                }
            }
        }
        let sealed = if unsigned {
            seal_unsigned_in_place(frame, fields, &key.public(), |_| {})
        } else {
            sign_in_place(frame, fields, key, |_| {})
        };
        if let Err(e) = sealed {
            failure = Some(PublishError::Envelope(e));
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    sent.map_err(|e| PublishError::Transport(Box::new(e)))
}

/// A frame built in memory instead of transport memory.
#[derive(Debug, Default)]
struct MemoryFrame {
    frame: Vec<u8>,
}

impl FramePublisher for MemoryFrame {
    type Error = BuildError;

    fn write_frame_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut FrameWriter<'_>),
    ) -> Result<(), BuildError> {
        self.frame = vec![0u8; len];
        let written = {
            let mut writer = FrameWriter::from(self.frame.as_mut_slice());
            fill(&mut writer);
            writer.pos()
        };
        if written == len {
            Ok(())
        } else {
            Err(BuildError::Incomplete { written, len })
        }
    }

    fn frame_error(&self, len: usize, cause: Option<BuildError>) -> BuildError {
        cause.unwrap_or(BuildError::Incomplete { written: 0, len })
    }
}
