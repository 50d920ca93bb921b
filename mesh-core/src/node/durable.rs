//! Durable topics: exactly once, in order, across crashes of publishers and subscribers.
//!
//! - A [`DurablePublisher`] numbers its messages with one sequence that continues across
//!   restarts, stores each signed envelope in the node's [`Store`] (one commit per batch)
//!   *before* sending it, and answers resume requests from its stored history. Its epoch
//!   comes from the store, so no (epoch, sequence) is ever used twice.
//! - A [`DurableSubscriber`] keeps a cursor per publisher (the last sequence it processed)
//!   in its own store. It hands a message to the callback only if it is the next one after
//!   the cursor, and commits the new cursors together with whatever the callbacks wrote
//!   through the transaction, after the callbacks returned. A duplicate (at or below the
//!   cursor) is dropped; a gap (above cursor + 1) is not processed but asked for again.
//! - Both talk on `<topic>/_durable` ([`DeliveryControl`]): publishers send heartbeats with
//!   their newest stored sequence, subscribers send resume requests (publisher, cursor).
//!   Heartbeats reveal messages a subscriber never saw (a crash between storing and sending,
//!   a subscriber that was down); retransmissions are the original signed envelopes, so
//!   they verify against the publisher's key like the first copy.
//!
//! Exactly once holds for effects written through the callback's transaction. Effects
//! outside the store (a motor command, a network call) happen at least once, and can be
//! made idempotent with the message's (publisher, sequence).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use omni_msgs::omni_msgs::msg::DeliveryControl;

use super::Subscriber;
use super::{MeshMessage, Node, NodeError, PublishError, Publisher, ReceiveError, Sample};
use crate::delivery::{History, Qos};
use crate::envelope::TopicId;
use crate::store::{Store, StoreError, StoreTxn};
use crate::transport::{FrameSubscriber, Transport};

/// Messages replayed per resume request (the subscriber asks again for the rest).
const REPLAY_BATCH: usize = 4096;
/// How often a publisher announces its newest stored sequence.
const HEARTBEAT_PERIOD: Duration = Duration::from_millis(100);
/// How often a subscriber repeats a resume request to one publisher.
const RESUME_INTERVAL: Duration = Duration::from_millis(50);

/// A durable endpoint failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError<E = std::convert::Infallible> {
    /// The node was built without a store ([`super::NodeBuilder::store`]).
    #[error("durable topics need a node store (NodeBuilder::store)")]
    NoStore,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Creating an endpoint failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Publishing failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Receiving failed.
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// The callback failed; nothing of this drain was acknowledged.
    #[error("callback: {0}")]
    Callback(E),
}

/// The QoS of durable data and control channels: reliable, deep queues.
fn durable_qos(depth: u32) -> Qos {
    Qos::reliable().with_history(History::KeepLast(depth))
}

/// The suffix of a durable topic's control channel (`<topic>/_durable`).
pub const CONTROL_SUFFIX: &str = "/_durable";

fn control_topic(topic: &str) -> String {
    format!("{}{CONTROL_SUFFIX}", topic.trim_end_matches('/'))
}

impl<T: Transport> Node<T> {
    /// A durable publisher of `M` on `topic` (see the module docs); the node needs a store.
    ///
    /// # Errors
    /// [`DurableError::NoStore`], invalid names, transport or store failures.
    pub fn durable_publisher<M: MeshMessage>(
        &self,
        topic: &str,
        max_bytes: usize,
    ) -> Result<DurablePublisher<M, T>, DurableError> {
        let store = self.store.clone().ok_or(DurableError::NoStore)?;
        let name = self.resolve(topic).map_err(NodeError::from)?;
        let data = self.publisher_with::<M>(&name, max_bytes, &durable_qos(256))?;
        let control = control_topic(&name);
        let qos = durable_qos(64);
        let topic_id = TopicId::of(&name);
        let next = store.last_sequence(&topic_id)? + 1;
        Ok(DurablePublisher {
            control_out: self.publisher_with(&control, 64, &qos)?,
            control_in: self
                .subscriber_with(&control, 64, &qos)?
                .without_replay_check(),
            data,
            store,
            topic: topic_id,
            key: self.key.public().to_bytes(),
            next,
            history_limit: 1_000_000,
            last_heartbeat: None,
            replayed: 0,
        })
    }

    /// A durable subscriber of `M` on `topic`; `subscription` names its cursors in the
    /// store (keep it stable across restarts). The node needs a store.
    ///
    /// # Errors
    /// [`DurableError::NoStore`], invalid names, transport or store failures.
    pub fn durable_subscriber<M: MeshMessage>(
        &self,
        topic: &str,
        max_bytes: usize,
        subscription: &str,
    ) -> Result<DurableSubscriber<M, T>, DurableError> {
        let store = self.store.clone().ok_or(DurableError::NoStore)?;
        let name = self.resolve(topic).map_err(NodeError::from)?;
        let control = control_topic(&name);
        let qos = durable_qos(64);
        Ok(DurableSubscriber {
            data: self
                .subscriber_with::<M>(&name, max_bytes, &durable_qos(256))?
                .without_replay_check(),
            control_out: self.publisher_with(&control, 64, &qos)?,
            control_in: self
                .subscriber_with(&control, 64, &qos)?
                .without_replay_check(),
            store,
            topic: TopicId::of(&name),
            subscription: subscription.to_owned(),
            cursors: HashMap::new(),
            asked: HashMap::new(),
            duplicates: 0,
            gaps: 0,
        })
    }
}

/// Publishes `M` durably (see the module docs).
pub struct DurablePublisher<M, T: Transport> {
    data: Publisher<M, T::Publisher>,
    control_out: Publisher<DeliveryControl, T::Publisher>,
    control_in: Subscriber<DeliveryControl, T::Subscriber>,
    store: Arc<Store>,
    topic: TopicId,
    key: [u8; 32],
    next: u64,
    history_limit: u64,
    last_heartbeat: Option<Instant>,
    replayed: u64,
}

impl<M, T: Transport> std::fmt::Debug for DurablePublisher<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurablePublisher")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<M: MeshMessage, T: Transport> DurablePublisher<M, T> {
    /// Keeps at most `limit` messages of history (oldest removed first; default 1,000,000).
    /// A subscriber that falls further behind misses the removed ones.
    #[must_use]
    pub fn history_limit(mut self, limit: u64) -> Self {
        self.history_limit = limit.max(1);
        self
    }

    /// The sequence number the next message gets (continues across restarts).
    #[must_use]
    pub fn next_sequence(&self) -> u64 {
        self.next
    }

    /// Messages sent again on subscribers' requests so far.
    #[must_use]
    pub fn replayed(&self) -> u64 {
        self.replayed
    }

    /// Stores `msgs` (one durable commit), then sends them; returns the last sequence
    /// number. Once this returns, the messages reach every durable subscriber exactly once,
    /// whatever crashes in between.
    ///
    /// # Errors
    /// Invalid messages (nothing stored), store or transport failures (what was stored is
    /// sent later, on request).
    pub fn publish_all(&mut self, msgs: &[M]) -> Result<u64, DurableError> {
        let mut frames = Vec::with_capacity(msgs.len());
        for (i, msg) in msgs.iter().enumerate() {
            frames.push(self.data.seal_to_vec(msg, self.next + i as u64)?);
        }
        let mut txn = self.store.write()?;
        for (i, frame) in frames.iter().enumerate() {
            txn.append_history(&self.topic, self.next + i as u64, frame)?;
        }
        if (self.next + msgs.len() as u64) % 1024 < msgs.len() as u64 {
            txn.trim_history(&self.topic, self.history_limit)?;
        }
        txn.commit()?;
        for frame in &frames {
            self.data.send_sealed(frame, self.next)?;
            self.next += 1;
        }
        self.serve()?;
        Ok(self.next - 1)
    }

    /// As [`publish_all`](Self::publish_all) for one message.
    ///
    /// # Errors
    /// As [`publish_all`](Self::publish_all).
    pub fn publish(&mut self, msg: M) -> Result<u64, DurableError> {
        self.publish_all(std::slice::from_ref(&msg))
    }

    /// Answers resume requests and sends a heartbeat when one is due; call it while idle
    /// (publishing calls it too). Returns the messages sent again.
    ///
    /// # Errors
    /// Store or transport failures.
    pub fn serve(&mut self) -> Result<usize, DurableError> {
        let mut sent = 0;
        while let Some(request) = self.control_in.try_recv()? {
            let any = request.publisher.iter().all(|b| *b == 0);
            if request.kind != DeliveryControl::KIND_RESUME
                || !(any || request.publisher == self.key)
            {
                continue;
            }
            let after: u64 = request.sequence.into();
            for (seq, frame) in self.store.history_after(&self.topic, after, REPLAY_BATCH)? {
                self.data.send_sealed(&frame, seq)?;
                sent += 1;
            }
        }
        self.replayed += sent as u64;
        let now = Instant::now();
        if self
            .last_heartbeat
            .is_none_or(|t| now.duration_since(t) >= HEARTBEAT_PERIOD)
        {
            self.last_heartbeat = Some(now);
            self.control_out.publish(&DeliveryControl {
                kind: DeliveryControl::KIND_HEARTBEAT,
                publisher: self.key,
                sequence: self.next - 1,
            })?;
        }
        Ok(sent)
    }
}

/// The sample type a durable subscriber's callback gets.
pub type DurableSample<M, T> = Sample<M, <<T as Transport>::Subscriber as FrameSubscriber>::Frame>;

/// Receives `M` durably (see the module docs).
pub struct DurableSubscriber<M, T: Transport> {
    data: Subscriber<M, T::Subscriber>,
    control_out: Publisher<DeliveryControl, T::Publisher>,
    control_in: Subscriber<DeliveryControl, T::Subscriber>,
    store: Arc<Store>,
    topic: TopicId,
    subscription: String,
    cursors: HashMap<[u8; 32], u64>,
    asked: HashMap<[u8; 32], Instant>,
    duplicates: u64,
    gaps: u64,
}

impl<M, T: Transport> std::fmt::Debug for DurableSubscriber<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableSubscriber")
            .field("subscription", &self.subscription)
            .finish_non_exhaustive()
    }
}

impl<M: MeshMessage, T: Transport> DurableSubscriber<M, T> {
    /// Copies dropped because they were already processed (retransmissions) so far.
    #[must_use]
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Messages that arrived ahead of a gap (not processed then; asked for again) so far.
    #[must_use]
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// The last sequence processed from `publisher` (0: none).
    ///
    /// # Errors
    /// Store failures.
    pub fn cursor(&mut self, publisher: &[u8; 32]) -> Result<u64, StoreError> {
        if let Some(c) = self.cursors.get(publisher) {
            return Ok(*c);
        }
        let c = self
            .store
            .cursor(&self.subscription, publisher, &self.topic)?;
        self.cursors.insert(*publisher, c);
        Ok(c)
    }

    /// Waits up to `timeout` for messages, then hands each next-in-order one (at most
    /// `max`) to `f` with the drain's store transaction, and commits the new cursors with
    /// what `f` wrote once all callbacks returned. Returns how many were processed.
    ///
    /// # Errors
    /// [`DurableError::Callback`] when `f` fails (nothing of this drain is acknowledged, so
    /// it is processed again), store and transport failures.
    pub fn process<E>(
        &mut self,
        max: usize,
        timeout: Duration,
        mut f: impl FnMut(&DurableSample<M, T>, &mut StoreTxn) -> Result<(), E>,
    ) -> Result<usize, DurableError<E>> {
        self.read_control().map_err(widen)?;
        let mut txn: Option<StoreTxn> = None;
        let mut advanced: HashMap<[u8; 32], u64> = HashMap::new();
        let mut processed = 0;
        let mut wait = timeout;
        while processed < max {
            let Some(sample) = self.data.recv_timeout(wait)? else {
                break;
            };
            wait = Duration::ZERO;
            let publisher = sample.publisher_key();
            let cursor = match advanced.get(&publisher) {
                Some(c) => *c,
                None => self.cursor(&publisher)?,
            };
            let seq = sample.sequence();
            if seq <= cursor {
                self.duplicates += 1;
                continue;
            }
            if seq > cursor + 1 {
                self.gaps += 1;
                self.ask(publisher, cursor).map_err(widen)?;
                continue;
            }
            let t = match &mut txn {
                Some(t) => t,
                None => txn.insert(self.store.write()?),
            };
            f(&sample, t).map_err(DurableError::Callback)?;
            t.set_cursor(&self.subscription, &publisher, &self.topic, seq)?;
            advanced.insert(publisher, seq);
            processed += 1;
        }
        if let Some(t) = txn {
            t.commit()?;
            self.cursors.extend(advanced);
        }
        Ok(processed)
    }

    /// Reads heartbeats: a publisher with stored messages beyond our cursor is asked for
    /// them.
    fn read_control(&mut self) -> Result<(), DurableError> {
        while let Some(msg) = self.control_in.try_recv()? {
            if msg.kind != DeliveryControl::KIND_HEARTBEAT {
                continue;
            }
            let (publisher, newest) = (msg.publisher, u64::from(msg.sequence));
            let cursor = self.cursor(&publisher)?;
            if newest > cursor {
                self.ask(publisher, cursor)?;
            }
        }
        Ok(())
    }

    /// Asks `publisher` for everything after `cursor` (at most every [`RESUME_INTERVAL`]).
    fn ask(&mut self, publisher: [u8; 32], cursor: u64) -> Result<(), DurableError> {
        let now = Instant::now();
        if self
            .asked
            .get(&publisher)
            .is_some_and(|t| now.duration_since(*t) < RESUME_INTERVAL)
        {
            return Ok(());
        }
        self.asked.insert(publisher, now);
        self.control_out.publish(&DeliveryControl {
            kind: DeliveryControl::KIND_RESUME,
            publisher,
            sequence: cursor,
        })?;
        Ok(())
    }
}

/// An error without a callback failure, as one of a callback's type.
fn widen<E>(e: DurableError) -> DurableError<E> {
    match e {
        DurableError::NoStore => DurableError::NoStore,
        DurableError::Store(e) => DurableError::Store(e),
        DurableError::Node(e) => DurableError::Node(e),
        DurableError::Publish(e) => DurableError::Publish(e),
        DurableError::Receive(e) => DurableError::Receive(e),
        DurableError::Callback(never) => match never {},
    }
}
