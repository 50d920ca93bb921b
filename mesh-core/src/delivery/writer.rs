//! Publisher side: sequence numbers, the history (keep-last / keep-all with limits, lifespan),
//! fan-out to matched readers, heartbeats, NACK-driven retransmission, and late-joiner replay
//! for transient-local durability.

use std::collections::VecDeque;

use bytes::Bytes;

use super::qos::{Durability, History, Qos, Reliability};
use super::wire::{Control, StreamId};
use super::{DeliveryConfig, NodeAddr, Out};
use crate::envelope::{Envelope, EnvelopeFields, Sendable};
use crate::identity::PublicKey;
use crate::security::Route;

/// A message could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Keep-all history is full of messages some reliable reader has not acknowledged.
    #[error("history full ({messages} messages, {bytes} bytes unacknowledged)")]
    HistoryFull {
        /// Messages held.
        messages: usize,
        /// Bytes held.
        bytes: u64,
    },
    /// The envelope is not the next one of this writer (sequence, topic, epoch or publisher).
    #[error("envelope does not continue this writer's stream (expected sequence {expected})")]
    OutOfStream {
        /// The sequence the writer expected.
        expected: u64,
    },
    /// No such writer.
    #[error("unknown writer")]
    UnknownWriter,
}

#[derive(Debug)]
struct RemoteReader {
    addr: NodeAddr,
    reliable: bool,
    start: u64,
    acked: u64,
}

#[derive(Debug)]
struct Sample {
    seq: u64,
    bytes: Bytes,
    timestamp_ns: u64,
}

/// A local publisher.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) route: Route,
    pub(crate) publisher: PublicKey,
    pub(crate) epoch: u64,
    pub(crate) qos: Qos,
    next_seq: u64,
    history: VecDeque<Sample>,
    history_bytes: u64,
    readers: Vec<RemoteReader>,
    hb_due: Option<u64>,
}

impl Writer {
    pub(crate) fn new(route: Route, publisher: PublicKey, epoch: u64, qos: Qos) -> Self {
        Self {
            route,
            publisher,
            epoch,
            qos,
            next_seq: 1,
            history: VecDeque::new(),
            history_bytes: 0,
            readers: Vec::new(),
            hb_due: None,
        }
    }

    fn stream(&self) -> StreamId {
        StreamId {
            topic: self.route.topic,
            publisher: self.publisher.to_bytes(),
            epoch: self.epoch,
        }
    }

    /// Fields for the next envelope (its sequence is the writer's next).
    pub(crate) fn fields(&self, now: u64) -> EnvelopeFields {
        EnvelopeFields {
            topic: self.route.topic,
            type_hash: self.route.type_hash,
            epoch: self.epoch,
            sequence: self.next_seq,
            timestamp_ns: now,
        }
    }

    fn first_available(&self) -> u64 {
        self.history.front().map_or(self.next_seq, |s| s.seq)
    }

    /// Drops what no reader needs any more: expired samples, and for keep-all what every
    /// reliable reader acknowledged.
    /// The lowest acknowledgement among reliable readers (`None`: no reliable reader).
    fn min_reliable_ack(&self) -> Option<u64> {
        self.readers
            .iter()
            .filter(|r| r.reliable)
            .map(|r| r.acked)
            .min()
    }

    fn release(&mut self, now: u64) {
        let lifespan = self.qos.lifespan_ns;
        let acked = self.min_reliable_ack();
        let keep_all = matches!(self.qos.history, History::KeepAll { .. });
        while let Some(front) = self.history.front() {
            let expired = lifespan.is_some_and(|l| now.saturating_sub(front.timestamp_ns) > l);
            let acknowledged = keep_all
                && self.qos.durability == Durability::Volatile
                && acked.is_none_or(|a| front.seq < a);
            if !(expired || acknowledged) {
                break;
            }
            self.pop_oldest();
        }
    }

    pub(crate) fn publish<S: Sendable>(
        &mut self,
        env: Envelope<S, Vec<u8>>,
        cfg: &DeliveryConfig,
        out: &mut Out,
    ) -> Result<(), PublishError> {
        let h = env.header();
        if h.sequence() != self.next_seq
            || h.epoch() != self.epoch
            || h.topic_id() != self.route.topic
            || h.publisher() != self.publisher.to_bytes()
        {
            return Err(PublishError::OutOfStream {
                expected: self.next_seq,
            });
        }
        let timestamp_ns = h.timestamp_ns();
        self.release(out.now);
        let bytes = Bytes::from(env.into_inner());
        match self.qos.history {
            History::KeepAll {
                max_messages,
                max_bytes,
            } => {
                // Make room by dropping what every reliable reader acknowledged (everything
                // when there is none); what some reliable reader still needs is kept, and then
                // the publisher must wait.
                let acked = self.min_reliable_ack();
                let len = bytes.len() as u64;
                while self.history.len() >= max_messages.max(1) as usize
                    || (self.history_bytes + len > max_bytes && !self.history.is_empty())
                {
                    match self.history.front() {
                        Some(f) if acked.is_none_or(|a| f.seq < a) => self.pop_oldest(),
                        _ => {
                            return Err(PublishError::HistoryFull {
                                messages: self.history.len(),
                                bytes: self.history_bytes,
                            })
                        }
                    }
                }
            }
            History::KeepLast(depth) => {
                while self.history.len() >= depth.max(1) as usize {
                    self.pop_oldest();
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        for r in &self.readers {
            if seq >= r.start {
                out.send(r.addr, bytes.clone());
            }
        }
        out.counters.published += 1;
        self.history_bytes += bytes.len() as u64;
        self.history.push_back(Sample {
            seq,
            bytes,
            timestamp_ns,
        });
        self.hb_due
            .get_or_insert(out.now + self.heartbeat_period(cfg));
        Ok(())
    }

    fn pop_oldest(&mut self) {
        if let Some(s) = self.history.pop_front() {
            self.history_bytes -= s.bytes.len() as u64;
        }
    }

    fn heartbeat_to(&self, addr: NodeAddr, start: u64, out: &mut Out) {
        let first_available = self.first_available().max(start);
        let frame = Control::Heartbeat {
            stream: self.stream(),
            start: start.min(first_available),
            first_available,
            next: self.next_seq,
        };
        out.counters.heartbeats_sent += 1;
        out.send(addr, Bytes::from(frame.encode()));
    }

    /// A new remote reader: transient-local readers get the history now, every reader a
    /// heartbeat telling it where its stream starts.
    pub(crate) fn add_reader(
        &mut self,
        addr: NodeAddr,
        requested: &Qos,
        cfg: &DeliveryConfig,
        out: &mut Out,
    ) {
        self.release(out.now);
        let late_joiner = requested.durability == Durability::TransientLocal
            && self.qos.durability == Durability::TransientLocal;
        let start = if late_joiner {
            self.first_available()
        } else {
            self.next_seq
        };
        if late_joiner {
            for s in &self.history {
                out.send(addr, s.bytes.clone());
            }
        }
        let reliable = requested.reliability == Reliability::Reliable
            && self.qos.reliability == Reliability::Reliable;
        // A reader that restarted at the same address replaces its old self.
        self.readers.retain(|r| r.addr != addr);
        self.readers.push(RemoteReader {
            addr,
            reliable,
            start,
            acked: start,
        });
        self.heartbeat_to(addr, start, out);
        self.hb_due
            .get_or_insert(out.now + self.heartbeat_period(cfg));
    }

    pub(crate) fn on_acknack(
        &mut self,
        from: NodeAddr,
        next_expected: u64,
        missing: &[(u64, u32)],
        cfg: &DeliveryConfig,
        out: &mut Out,
    ) {
        let Some(ri) = self.readers.iter().position(|r| r.addr == from) else {
            return;
        };
        // Expired samples are neither kept nor retransmitted.
        self.release(out.now);
        let next_seq = self.next_seq;
        let reader = &mut self.readers[ri];
        // A reader cannot have seen more than was published (control frames are not signed).
        reader.acked = reader.acked.max(next_expected.min(next_seq));
        let start = reader.start;
        let first = self.first_available();
        let mut budget = cfg.retransmit_burst;
        let mut gone = false;
        // Work is bounded by the ranges and the burst, whatever the ranges say.
        for &(begin, len) in missing {
            gone |= begin < first;
            let end = begin.saturating_add(u64::from(len)).min(next_seq);
            let mut seq = begin.max(first);
            while seq < end && budget > 0 {
                if let Some(s) = self.history.get((seq - first) as usize) {
                    out.send(from, s.bytes.clone());
                    out.counters.retransmitted += 1;
                    budget -= 1;
                }
                seq += 1;
            }
        }
        if gone || next_expected < first {
            self.heartbeat_to(from, start, out);
        }
        self.release(out.now);
    }

    /// The configured heartbeat period, shortened to a third of the liveliness lease so
    /// readers never see a live writer lapse.
    fn heartbeat_period(&self, cfg: &DeliveryConfig) -> u64 {
        let period = cfg.heartbeat_period_ns;
        self.qos
            .liveliness_lease_ns
            .map_or(period, |lease| period.min((lease / 3).max(1_000)))
    }

    pub(crate) fn next_timeout(&self) -> Option<u64> {
        self.hb_due
    }

    pub(crate) fn on_timeout(&mut self, cfg: &DeliveryConfig, out: &mut Out) {
        if self.hb_due.is_none_or(|t| out.now < t) {
            return;
        }
        self.release(out.now);
        let mut any_pending = false;
        for r in &self.readers {
            let pending = r.reliable && r.acked < self.next_seq;
            any_pending |= pending;
            if pending || !r.reliable || self.qos.liveliness_lease_ns.is_some() {
                self.heartbeat_to(r.addr, r.start, out);
            }
        }
        let keep_beating = any_pending || self.qos.liveliness_lease_ns.is_some();
        self.hb_due = keep_beating.then_some(out.now + self.heartbeat_period(cfg));
    }
}
