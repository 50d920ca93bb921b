//! Subscriber side: one [`Subscription`] per local subscriber, one [`Stream`] per matched
//! remote publisher. In-order delivery, dedup, bounded gap buffering, NACKs (reliable) or
//! reorder timeouts (best effort), tail-loss detection from heartbeats, resync on far-ahead
//! sequences, epoch changes, lifespan, deadline and liveliness. Never a silent skip: every
//! sequence that will not be delivered is reported in a `Lost` event.

use bytes::Bytes;

use super::inbox::{Inbox, InboxConfig, Offer, Overflow};
use super::qos::{Qos, Reliability};
use super::ring::{GapRing, Store};
use super::wire::{Control, StreamId, MAX_NACK_RANGES};
use super::{DeliveryConfig, DeliveryEvent, NodeAddr, Out, ReaderId};
use crate::envelope::{Envelope, Verified};
use crate::security::Route;

type Env = Envelope<Verified, Bytes>;

/// One remote publisher as seen by one subscription.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) addr: NodeAddr,
    pub(crate) publisher: [u8; 32],
    /// The publisher's offered lifespan.
    lifespan_ns: Option<u64>,
    epoch: Option<u64>,
    ring: Option<GapRing<Env>>,
    prestart: Vec<Env>,
    start_due: Option<u64>,
    writer_next: u64,
    writer_first: u64,
    /// Window start seen by the last gap check (the reorder timer restarts when it moves).
    last_base: u64,
    /// The window was opened without a heartbeat (best effort): the first heartbeat reports
    /// what came before it.
    started_blind: bool,
    gap_since: Option<u64>,
    nack_due: Option<u64>,
    nack_interval: u64,
    last_heard: u64,
    alive: bool,
}

/// A local subscriber.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) id: ReaderId,
    pub(crate) route: Route,
    pub(crate) qos: Qos,
    pub(crate) inbox: Inbox<Env>,
    pub(crate) streams: Vec<Stream>,
    last_data_ns: u64,
}

impl Subscription {
    pub(crate) fn new(id: ReaderId, route: Route, qos: Qos, inbox: InboxConfig, now: u64) -> Self {
        Self {
            id,
            route,
            qos,
            inbox: Inbox::new(inbox),
            streams: Vec::new(),
            last_data_ns: now,
        }
    }

    pub(crate) fn add_stream(
        &mut self,
        addr: NodeAddr,
        publisher: [u8; 32],
        offered: &Qos,
        now: u64,
    ) {
        self.streams.push(Stream {
            addr,
            publisher,
            lifespan_ns: offered.lifespan_ns,
            epoch: None,
            ring: None,
            prestart: Vec::new(),
            start_due: None,
            writer_next: 0,
            writer_first: 0,
            last_base: 0,
            started_blind: false,
            gap_since: None,
            nack_due: None,
            nack_interval: 0,
            last_heard: now,
            alive: true,
        });
    }

    pub(crate) fn stream_index(&self, publisher: &[u8; 32]) -> Option<usize> {
        self.streams.iter().position(|s| &s.publisher == publisher)
    }

    fn reliable(&self) -> bool {
        self.qos.reliability == Reliability::Reliable
    }

    fn heard(&mut self, i: usize, out: &mut Out) {
        let id = self.id;
        let s = &mut self.streams[i];
        s.last_heard = out.now;
        if !s.alive {
            s.alive = true;
            out.event(DeliveryEvent::LivelinessChanged {
                reader: id,
                publisher: s.publisher,
                alive: true,
            });
        }
    }

    /// Handles an epoch seen in data or a heartbeat; false when the input is stale.
    fn check_epoch(&mut self, i: usize, epoch: u64, out: &mut Out) -> bool {
        let id = self.id;
        let s = &mut self.streams[i];
        match s.epoch {
            None => s.epoch = Some(epoch),
            Some(e) if epoch < e => {
                out.counters.stale_epoch += 1;
                return false;
            }
            Some(e) if epoch > e => {
                // Publisher restarted: whatever of the old epoch is outstanding is lost.
                if let Some(ring) = &s.ring {
                    let base = ring.base();
                    let end = s.writer_next.max(ring.highest().map_or(0, |h| h + 1));
                    if end > base {
                        out.lost(id, s.publisher, e, base, end - base);
                    }
                }
                out.event(DeliveryEvent::EpochChanged {
                    reader: id,
                    publisher: s.publisher,
                    old: e,
                    new: epoch,
                });
                // Old-epoch messages that waited for a first heartbeat are lost too.
                let waiting = s.prestart.iter().map(|e| e.header().sequence());
                if let (Some(lo), Some(hi)) = (waiting.clone().min(), waiting.max()) {
                    out.lost(id, s.publisher, e, lo, hi - lo + 1);
                }
                s.epoch = Some(epoch);
                s.ring = None;
                s.prestart.clear();
                s.writer_next = 0;
                s.writer_first = 0;
                s.started_blind = false;
                s.gap_since = None;
                s.nack_due = None;
            }
            Some(_) => {}
        }
        true
    }

    pub(crate) fn on_data(&mut self, i: usize, env: Env, cfg: &DeliveryConfig, out: &mut Out) {
        self.heard(i, out);
        let (epoch, seq) = (env.header().epoch(), env.header().sequence());
        if !self.check_epoch(i, epoch, out) {
            return;
        }
        let reliable = self.reliable();
        let s = &mut self.streams[i];
        let Some(ring) = s.ring.as_mut() else {
            if s.prestart.len() < cfg.gap_buffer_messages {
                s.prestart.push(env);
            } else {
                out.counters.gap_buffer_full += 1;
            }
            if !reliable {
                s.start_due.get_or_insert(out.now + cfg.reorder_timeout_ns);
            }
            return;
        };
        let size = env.as_bytes().len();
        if seq >= ring.base() && seq - ring.base() >= ring.capacity() {
            if reliable && s.writer_first <= ring.base() {
                // The publisher still holds what we miss: drop this one, it will be
                // retransmitted once the window has moved; keep asking for the gap.
                out.counters.gap_buffer_full += 1;
                self.deliver(i, cfg, out);
                return;
            }
            let target = seq - ring.capacity() + 1;
            out.event(DeliveryEvent::Resync {
                reader: self.id,
                publisher: s.publisher,
                from: ring.base(),
                to: target,
            });
            self.skip_to(i, target, out);
        }
        let s = &mut self.streams[i];
        let Some(ring) = s.ring.as_mut() else { return };
        match ring.store(seq, env, size) {
            Store::Stored => {}
            Store::Behind | Store::Duplicate => out.counters.duplicates += 1,
            Store::NoRoom | Store::Ahead => out.counters.gap_buffer_full += 1,
        }
        self.deliver(i, cfg, out);
    }

    pub(crate) fn on_heartbeat(
        &mut self,
        i: usize,
        stream: &StreamId,
        (start, first_available, next): (u64, u64, u64),
        cfg: &DeliveryConfig,
        out: &mut Out,
    ) {
        self.heard(i, out);
        if !self.check_epoch(i, stream.epoch, out) {
            return;
        }
        let id = self.id;
        let s = &mut self.streams[i];
        s.writer_next = s.writer_next.max(next);
        s.writer_first = s.writer_first.max(first_available);
        if s.ring.is_none() {
            // Open the window where this reader's stream starts, so anything between the start
            // and what the publisher still holds is reported lost below, not skipped.
            self.start(i, start, cfg, out);
        } else if s.started_blind {
            s.started_blind = false;
            let base = s.ring.as_ref().map_or(0, GapRing::base);
            if start < base {
                out.lost(id, s.publisher, s.epoch.unwrap_or(0), start, base - start);
            }
        }
        let base = self.streams[i].ring.as_ref().map_or(0, GapRing::base);
        if first_available > base {
            // The publisher no longer holds what we miss below `first_available`.
            self.skip_to(i, first_available, out);
        }
        self.deliver(i, cfg, out);
        if self.reliable() {
            self.send_acknack(i, out);
        }
    }

    /// Starts the window at `base`, taking in what arrived before we knew where to start.
    fn start(&mut self, i: usize, base: u64, cfg: &DeliveryConfig, out: &mut Out) {
        let s = &mut self.streams[i];
        let mut ring = GapRing::new(cfg.gap_buffer_messages, cfg.gap_buffer_bytes, base);
        for env in s.prestart.drain(..) {
            let size = env.as_bytes().len();
            match ring.store(env.header().sequence(), env, size) {
                Store::Stored => {}
                Store::Behind | Store::Duplicate => out.counters.duplicates += 1,
                // Beyond the window: dropped, and asked for again by sequence (reliable) or
                // reported when the window reaches it (best effort).
                Store::NoRoom | Store::Ahead => out.counters.gap_buffer_full += 1,
            }
        }
        s.last_base = base;
        s.ring = Some(ring);
        s.start_due = None;
    }

    /// Advances the window to `target`: waiting messages below it are delivered, holes are
    /// reported lost. Bounded work however far `target` is.
    fn skip_to(&mut self, i: usize, target: u64, out: &mut Out) {
        let id = self.id;
        loop {
            let s = &mut self.streams[i];
            let epoch = s.epoch.unwrap_or(0);
            let publisher = s.publisher;
            let Some(ring) = s.ring.as_mut() else { return };
            let base = ring.base();
            if base >= target {
                return;
            }
            match ring.lowest() {
                Some(low) if low < target => {
                    if low > base {
                        out.lost(id, publisher, epoch, base, low - base);
                        ring.jump_to(low);
                    }
                    let lifespan = s.lifespan_ns;
                    if let Some(env) = ring.pop_front() {
                        self.hand_over(env, lifespan, true, out);
                    }
                }
                _ => {
                    out.lost(id, publisher, epoch, base, target - base);
                    ring.jump_to(target);
                    return;
                }
            }
        }
    }

    /// Moves one in-order message to the inbox (or drops it, counted). `forced`: never hold it
    /// back for the block policy (used when skipping).
    fn hand_over(&mut self, env: Env, lifespan_ns: Option<u64>, forced: bool, out: &mut Out) {
        if let Some(lifespan) = lifespan_ns {
            if out.now.saturating_sub(env.header().timestamp_ns()) > lifespan {
                out.counters.expired += 1;
                return;
            }
        }
        self.last_data_ns = out.now;
        match self.inbox.offer(env) {
            Offer::Queued => out.counters.delivered += 1,
            Offer::QueuedDroppedOldest => {
                out.counters.delivered += 1;
                out.counters.inbox_drop_oldest += 1;
            }
            Offer::DroppedNewest => out.counters.inbox_drop_newest += 1,
            Offer::Full(_) => {
                debug_assert!(forced);
                out.counters.block_timeout += 1;
            }
        }
    }

    /// Delivers the in-order run at the front of stream `i`, then updates gap timers.
    pub(crate) fn deliver(&mut self, i: usize, cfg: &DeliveryConfig, out: &mut Out) {
        loop {
            let blocking = matches!(self.inbox.config().overflow, Overflow::Block { .. });
            let lifespan = self.streams[i].lifespan_ns;
            let Some(ring) = self.streams[i].ring.as_mut() else {
                return;
            };
            if ring.front().is_none() {
                break;
            }
            if blocking && self.inbox.is_full() {
                self.inbox.blocked_since.get_or_insert(out.now);
                break;
            }
            if let Some(env) = ring.pop_front() {
                self.hand_over(env, lifespan, false, out);
            }
        }
        let reliable = self.reliable();
        let s = &mut self.streams[i];
        let Some(ring) = s.ring.as_ref() else { return };
        let gap = ring.front().is_none() && (ring.len() > 0 || s.writer_next > ring.base());
        if ring.base() != s.last_base {
            // Progress: a later gap gets its own reorder wait.
            s.last_base = ring.base();
            s.gap_since = None;
        }
        if gap {
            s.gap_since.get_or_insert(out.now);
            if reliable && s.nack_due.is_none() {
                s.nack_due = Some(out.now + cfg.nack_delay_ns);
                s.nack_interval = cfg.nack_delay_ns.max(1);
            }
        } else {
            s.gap_since = None;
            s.nack_due = None;
        }
    }

    fn send_acknack(&mut self, i: usize, out: &mut Out) {
        let s = &self.streams[i];
        let Some(ring) = s.ring.as_ref() else { return };
        let until = s.writer_next.max(ring.highest().map_or(0, |h| h + 1));
        let frame = Control::AckNack {
            stream: StreamId {
                topic: self.route.topic,
                publisher: s.publisher,
                epoch: s.epoch.unwrap_or(0),
            },
            next_expected: ring.base(),
            missing: ring.missing(until, MAX_NACK_RANGES),
        };
        out.counters.acknacks_sent += 1;
        out.send(s.addr, Bytes::from(frame.encode()));
    }

    /// Runs every timer that is due.
    pub(crate) fn on_timeout(&mut self, cfg: &DeliveryConfig, out: &mut Out) {
        let now = out.now;
        if let Overflow::Block { timeout_ns } = self.inbox.config().overflow {
            if self
                .inbox
                .blocked_since
                .is_some_and(|t| now >= t + timeout_ns)
            {
                self.inbox.blocked_since = None;
                // The inbox stayed full for the whole timeout: drop what is held back (counted
                // as block_timeout), so the publisher's history is released.
                for s in &mut self.streams {
                    if let Some(ring) = s.ring.as_mut() {
                        while ring.pop_front().is_some() {
                            out.counters.block_timeout += 1;
                        }
                    }
                }
            }
        }
        for i in 0..self.streams.len() {
            let s = &mut self.streams[i];
            if s.ring.is_none() && s.start_due.is_some_and(|t| now >= t) {
                let lowest = s
                    .prestart
                    .iter()
                    .map(|e| e.header().sequence())
                    .min()
                    .unwrap_or(0);
                self.start(i, lowest, cfg, out);
                self.streams[i].started_blind = true;
            }
            let s = &mut self.streams[i];
            if self.qos.reliability == Reliability::Reliable {
                if s.nack_due.is_some_and(|t| now >= t) {
                    s.nack_interval = s
                        .nack_interval
                        .saturating_mul(2)
                        .min(cfg.nack_max_interval_ns);
                    s.nack_due = Some(now + s.nack_interval);
                    self.send_acknack(i, out);
                }
            } else if s
                .gap_since
                .is_some_and(|t| now >= t + cfg.reorder_timeout_ns)
            {
                let target = s
                    .ring
                    .as_ref()
                    .and_then(GapRing::lowest)
                    .unwrap_or(s.writer_next);
                self.skip_to(i, target, out);
            }
            self.deliver(i, cfg, out);
            let s = &mut self.streams[i];
            if let Some(lease) = self.qos.liveliness_lease_ns {
                if s.alive && now > s.last_heard + lease {
                    s.alive = false;
                    out.event(DeliveryEvent::LivelinessChanged {
                        reader: self.id,
                        publisher: s.publisher,
                        alive: false,
                    });
                }
            }
        }
        if let Some(deadline) = self.qos.deadline_ns {
            if now >= self.last_data_ns + deadline {
                self.last_data_ns = now;
                out.event(DeliveryEvent::DeadlineMissed { reader: self.id });
            }
        }
    }

    /// Earliest time a timer of this subscription needs attention.
    pub(crate) fn next_timeout(&self, cfg: &DeliveryConfig) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut at = |x: u64| t = Some(t.map_or(x, |c| c.min(x)));
        if let (Overflow::Block { timeout_ns }, Some(since)) =
            (self.inbox.config().overflow, self.inbox.blocked_since)
        {
            at(since + timeout_ns);
        }
        for s in &self.streams {
            if let Some(d) = s.start_due {
                at(d);
            }
            match (self.qos.reliability, s.nack_due, s.gap_since) {
                (Reliability::Reliable, Some(d), _) => at(d),
                (Reliability::BestEffort, _, Some(g)) => at(g + cfg.reorder_timeout_ns),
                _ => {}
            }
            if let (Some(lease), true) = (self.qos.liveliness_lease_ns, s.alive) {
                at(s.last_heard + lease + 1);
            }
        }
        if let Some(deadline) = self.qos.deadline_ns {
            at(self.last_data_ns + deadline);
        }
        t
    }

    /// The subscriber takes one message; frees room for held-back messages.
    pub(crate) fn take(&mut self, cfg: &DeliveryConfig, out: &mut Out) -> Option<Env> {
        let env = self.inbox.take()?;
        if self.inbox.blocked_since.is_some() {
            self.inbox.blocked_since = None;
            for i in 0..self.streams.len() {
                self.deliver(i, cfg, out);
            }
        }
        Some(env)
    }
}
