//! The delivery engine: exactly-once, ordered delivery per (publisher, topic) with QoS, as a
//! sans-IO state machine. It owns no threads, sockets or clocks: the runtime (or the
//! deterministic simulator in the tests) feeds it with
//! [`handle_input`](DeliveryEngine::handle_input) and
//! [`handle_timeout`](DeliveryEngine::handle_timeout), and drains
//! [`poll_transmit`](DeliveryEngine::poll_transmit), [`poll_event`](DeliveryEngine::poll_event)
//! and [`poll_timeout`](DeliveryEngine::poll_timeout). Time is nanoseconds on any monotonic
//! clock.
//!
//! Data travels as signed envelopes; received data goes through an [`Admission`] (the security
//! layer) so only `Envelope<Verified>` reaches a subscriber. Control frames (heartbeats,
//! ACKNACKs) are described in [`wire`].

mod admission;
mod inbox;
pub mod qos;
mod reader;
mod ring;
pub mod wire;
mod writer;

use std::collections::VecDeque;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use admission::{Admission, SecurityAdmission};
pub use inbox::{InboxConfig, Overflow};
pub use qos::{Durability, History, Qos, QosPolicyKind, Reliability};
pub use writer::PublishError;

use crate::envelope::{Envelope, EnvelopeFields, Sendable, Verified};
use crate::identity::PublicKey;
use crate::security::Route;
use reader::Subscription;
use wire::Control;
use writer::Writer;

/// A peer engine's address, as the runtime names it (a shared-memory port, a connection...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr(pub u64);

/// A local publisher of this engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriterId(pub usize);

/// A local subscriber of this engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderId(pub usize);

/// Bytes to send to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: NodeAddr,
    /// Frame (an envelope, or a control frame).
    pub bytes: Bytes,
}

/// Something a user or operator must know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// These sequences of a publisher will never be delivered to this reader.
    Lost {
        /// Reader.
        reader: ReaderId,
        /// Publisher key.
        publisher: [u8; 32],
        /// Epoch of the lost sequences.
        epoch: u64,
        /// First lost sequence.
        first: u64,
        /// How many.
        count: u64,
    },
    /// A sequence far beyond the gap buffer arrived: the window jumped (losses reported).
    Resync {
        /// Reader.
        reader: ReaderId,
        /// Publisher key.
        publisher: [u8; 32],
        /// Old window start.
        from: u64,
        /// New window start.
        to: u64,
    },
    /// The publisher restarted (new epoch).
    EpochChanged {
        /// Reader.
        reader: ReaderId,
        /// Publisher key.
        publisher: [u8; 32],
        /// Previous epoch.
        old: u64,
        /// New epoch.
        new: u64,
    },
    /// A publisher and a subscriber could not be matched.
    IncompatibleQos {
        /// Topic.
        topic: String,
        /// The policies that differ.
        policies: Vec<QosPolicyKind>,
    },
    /// No message within the requested deadline.
    DeadlineMissed {
        /// Reader.
        reader: ReaderId,
    },
    /// A publisher stopped (or resumed) being heard within its liveliness lease.
    LivelinessChanged {
        /// Reader.
        reader: ReaderId,
        /// Publisher key.
        publisher: [u8; 32],
        /// Alive now?
        alive: bool,
    },
}

/// Engine counters: every drop is counted with its reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DeliveryCounters {
    pub published: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub stale_epoch: u64,
    pub lost: u64,
    pub gap_buffer_full: u64,
    pub inbox_drop_oldest: u64,
    pub inbox_drop_newest: u64,
    pub block_timeout: u64,
    pub expired: u64,
    pub rejected: u64,
    pub malformed_frames: u64,
    pub unmatched: u64,
    pub retransmitted: u64,
    pub heartbeats_sent: u64,
    pub acknacks_sent: u64,
}

/// Timing and buffer bounds (`[delivery]` in the configuration). Nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Heartbeat period while reliable data is unacknowledged (default 20 ms).
    pub heartbeat_period_ns: u64,
    /// Wait before the first NACK for a gap (default 1 ms; reordering usually fills it).
    pub nack_delay_ns: u64,
    /// Longest interval between repeated NACKs (doubling backoff; default 200 ms).
    pub nack_max_interval_ns: u64,
    /// Best effort: how long a gap may wait for reordered messages (default 20 ms).
    pub reorder_timeout_ns: u64,
    /// Gap buffer bound per stream, messages (default 1024).
    pub gap_buffer_messages: usize,
    /// Gap buffer bound per stream, bytes (default 64 MiB).
    pub gap_buffer_bytes: usize,
    /// Most retransmissions per ACKNACK (default 256).
    pub retransmit_burst: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            heartbeat_period_ns: 20_000_000,
            nack_delay_ns: 1_000_000,
            nack_max_interval_ns: 200_000_000,
            reorder_timeout_ns: 20_000_000,
            gap_buffer_messages: 1024,
            gap_buffer_bytes: 64 << 20,
            retransmit_burst: 256,
        }
    }
}

/// Output collected while handling one input.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub(crate) now: u64,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<DeliveryEvent>,
    pub(crate) counters: DeliveryCounters,
}

impl Out {
    pub(crate) fn send(&mut self, to: NodeAddr, bytes: Bytes) {
        self.transmits.push_back(Transmit { to, bytes });
    }

    pub(crate) fn event(&mut self, e: DeliveryEvent) {
        self.events.push_back(e);
    }

    pub(crate) fn lost(
        &mut self,
        reader: ReaderId,
        publisher: [u8; 32],
        epoch: u64,
        first: u64,
        count: u64,
    ) {
        self.counters.lost = self.counters.lost.saturating_add(count);
        self.event(DeliveryEvent::Lost {
            reader,
            publisher,
            epoch,
            first,
            count,
        });
    }
}

/// The delivery engine of one node.
#[derive(Debug)]
pub struct DeliveryEngine<A> {
    admission: A,
    config: DeliveryConfig,
    writers: Vec<Writer>,
    readers: Vec<Subscription>,
    out: Out,
}

impl<A: Admission> DeliveryEngine<A> {
    /// An engine admitting received data through `admission`.
    pub fn new(admission: A, mut config: DeliveryConfig) -> Self {
        // Zero periods would make timers due forever: clamp to 1 us.
        config.heartbeat_period_ns = config.heartbeat_period_ns.max(1_000);
        config.nack_delay_ns = config.nack_delay_ns.max(1_000);
        config.nack_max_interval_ns = config.nack_max_interval_ns.max(config.nack_delay_ns);
        Self {
            admission,
            config,
            writers: Vec::new(),
            readers: Vec::new(),
            out: Out::default(),
        }
    }

    /// The admission (e.g. to read security counters).
    pub fn admission(&self) -> &A {
        &self.admission
    }

    /// Counters so far.
    #[must_use]
    pub fn counters(&self) -> &DeliveryCounters {
        &self.out.counters
    }

    /// Adds a local publisher of `route` signing as `publisher` in `epoch`.
    pub fn add_writer(
        &mut self,
        route: Route,
        publisher: PublicKey,
        epoch: u64,
        qos: Qos,
    ) -> WriterId {
        self.writers.push(Writer::new(route, publisher, epoch, qos));
        WriterId(self.writers.len() - 1)
    }

    /// Adds a local subscriber of `route`.
    pub fn add_reader(&mut self, now: u64, route: Route, qos: Qos, inbox: InboxConfig) -> ReaderId {
        let id = ReaderId(self.readers.len());
        self.readers
            .push(Subscription::new(id, route, qos, inbox, now));
        id
    }

    /// Matches a local writer with a remote reader at `addr` (what discovery reports). False
    /// and an `IncompatibleQos` event when their QoS cannot match.
    pub fn match_remote_reader(
        &mut self,
        now: u64,
        w: WriterId,
        addr: NodeAddr,
        requested: Qos,
    ) -> bool {
        self.out.now = now;
        let Some(writer) = self.writers.get_mut(w.0) else {
            return false;
        };
        let problems = qos::incompatibilities(&writer.qos, &requested);
        if !problems.is_empty() {
            let topic = writer.route.topic_name.clone();
            self.out.event(DeliveryEvent::IncompatibleQos {
                topic,
                policies: problems,
            });
            return false;
        }
        writer.add_reader(addr, &requested, &self.config, &mut self.out);
        true
    }

    /// Matches a local reader with a remote writer at `addr` publishing as `publisher`.
    pub fn match_remote_writer(
        &mut self,
        now: u64,
        r: ReaderId,
        addr: NodeAddr,
        publisher: PublicKey,
        offered: Qos,
    ) -> bool {
        self.out.now = now;
        let Some(reader) = self.readers.get_mut(r.0) else {
            return false;
        };
        let problems = qos::incompatibilities(&offered, &reader.qos);
        if !problems.is_empty() {
            let topic = reader.route.topic_name.clone();
            self.out.event(DeliveryEvent::IncompatibleQos {
                topic,
                policies: problems,
            });
            return false;
        }
        reader.add_stream(addr, publisher.to_bytes(), &offered, now);
        true
    }

    /// Envelope fields for the next message of writer `w` (its next sequence number).
    pub fn next_fields(&self, w: WriterId, now: u64) -> Option<EnvelopeFields> {
        self.writers.get(w.0).map(|writer| writer.fields(now))
    }

    /// Publishes the signed envelope built from [`next_fields`](Self::next_fields).
    pub fn publish<S: Sendable>(
        &mut self,
        now: u64,
        w: WriterId,
        env: Envelope<S, Vec<u8>>,
    ) -> Result<(), PublishError> {
        self.out.now = now;
        let writer = self
            .writers
            .get_mut(w.0)
            .ok_or(PublishError::UnknownWriter)?;
        writer.publish(env, &self.config, &mut self.out)
    }

    /// Feeds bytes received from `from`.
    pub fn handle_input(&mut self, now: u64, from: NodeAddr, bytes: Bytes) {
        self.out.now = now;
        if wire::is_data(&bytes) {
            self.handle_data(now, from, bytes);
            return;
        }
        match Control::decode(&bytes) {
            Ok(Control::Heartbeat {
                stream,
                start,
                first_available,
                next,
            }) => {
                for reader in self
                    .readers
                    .iter_mut()
                    .filter(|r| r.route.topic == stream.topic)
                {
                    if let Some(i) = reader.stream_index(&stream.publisher) {
                        let window = (start, first_available, next);
                        reader.on_heartbeat(i, &stream, window, &self.config, &mut self.out);
                    }
                }
            }
            Ok(Control::AckNack {
                stream,
                next_expected,
                missing,
            }) => {
                for w in self.writers.iter_mut().filter(|w| {
                    w.route.topic == stream.topic
                        && w.publisher.to_bytes() == stream.publisher
                        && w.epoch == stream.epoch
                }) {
                    w.on_acknack(from, next_expected, &missing, &self.config, &mut self.out);
                }
            }
            Err(_) => self.out.counters.malformed_frames += 1,
        }
    }

    fn handle_data(&mut self, now: u64, from: NodeAddr, bytes: Bytes) {
        // The topic id is read before verification only to find the subscribers; admission
        // verifies it against each subscriber's route.
        let topic = match Envelope::parse(
            bytes.as_ref(),
            &crate::envelope::Limits {
                max_payload: u32::MAX,
            },
        ) {
            Ok(env) => (env.header().topic_id(), env.header().publisher()),
            Err(_) => {
                self.out.counters.malformed_frames += 1;
                return;
            }
        };
        let mut verified: Option<Envelope<Verified, Bytes>> = None;
        let mut matched = false;
        for ri in 0..self.readers.len() {
            let reader = &self.readers[ri];
            if reader.route.topic != topic.0 {
                continue;
            }
            let Some(i) = reader.stream_index(&topic.1) else {
                continue;
            };
            matched = true;
            let env = match &verified {
                Some(env) if env.header().type_hash() == reader.route.type_hash => env.clone(),
                _ => match self
                    .admission
                    .admit(from, bytes.clone(), &reader.route, now)
                {
                    Ok(env) => {
                        verified = Some(env.clone());
                        env
                    }
                    Err(_) => {
                        self.out.counters.rejected += 1;
                        continue;
                    }
                },
            };
            self.readers[ri].on_data(i, env, &self.config, &mut self.out);
        }
        if !matched {
            self.out.counters.unmatched += 1;
        }
    }

    /// Runs timers due at `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        self.out.now = now;
        for w in &mut self.writers {
            w.on_timeout(&self.config, &mut self.out);
        }
        for r in &mut self.readers {
            if r.next_timeout(&self.config).is_some_and(|t| t <= now) {
                r.on_timeout(&self.config, &mut self.out);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        let writers = self.writers.iter().filter_map(Writer::next_timeout);
        let readers = self
            .readers
            .iter()
            .filter_map(|r| r.next_timeout(&self.config));
        writers.chain(readers).min()
    }

    /// Next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<DeliveryEvent> {
        self.out.events.pop_front()
    }

    /// The subscriber takes its next message (in order per publisher, exactly once).
    pub fn take(&mut self, now: u64, r: ReaderId) -> Option<Envelope<Verified, Bytes>> {
        self.out.now = now;
        let reader = self.readers.get_mut(r.0)?;
        reader.take(&self.config, &mut self.out)
    }

    /// Messages waiting in a subscriber's inbox.
    #[must_use]
    pub fn inbox_len(&self, r: ReaderId) -> usize {
        self.readers.get(r.0).map_or(0, |reader| reader.inbox.len())
    }
}
