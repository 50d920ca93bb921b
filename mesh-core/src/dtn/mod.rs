//! Delay-tolerant store-and-forward, sans-IO: the custody state machine a host's daemon
//! runs for DTN topics (bundles that must cross links that are never up end to end).
//!
//! - A bundle is a signed envelope with an expiry and a hop count ([`wire`]). Its id is the
//!   hash of the envelope header, the same through every relay.
//! - One host holds custody of a bundle at a time. It offers the bundle to peers that want
//!   its topic (destinations) and to custodians (relays configured to carry bundles), but
//!   never back to the peer it came from. It re-offers every `custody_timeout_ns` until a
//!   peer acknowledges custody, then forgets it.
//! - A receiving host drops what it has seen before (acknowledging again, so the sender
//!   releases it), verifies the envelope through the caller's admission (signature, trust:
//!   a relay cannot alter what it carries), delivers it if its own nodes want the topic,
//!   takes custody and acknowledges. A destination keeps custody only if other hosts want
//!   the topic too.
//! - Expired bundles are dropped and counted. The store is bounded by count and bytes; when
//!   full, the bundle closest to expiry is evicted and counted.
//!
//! The runtime calls [`Dtn::contact`] for connected peers (on link up and periodically),
//! [`Dtn::on_frame`] for DTN frames from peers, [`Dtn::originate`] for local envelopes of
//! DTN topics and [`Dtn::tick`] to expire, and performs the returned [`Action`]s.

pub mod wire;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;

use crate::envelope::TopicId;
use wire::{BundleId, DtnFrame, DtnWireError};

/// A peer host (its daemon's public key).
pub type PeerKey = [u8; 32];

/// Limits and timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtnConfig {
    /// Bundle lifetime from the envelope's timestamp (default 1 h).
    pub ttl_ns: u64,
    /// Most bundles held (default 100,000).
    pub max_bundles: usize,
    /// Most envelope bytes held (default 256 MiB).
    pub max_bytes: usize,
    /// Bundles that went through more daemons are not carried further (default 8).
    pub max_hops: u8,
    /// An offered bundle without a custody acknowledgement is offered again after this
    /// long (default 2 s).
    pub custody_timeout_ns: u64,
}

impl Default for DtnConfig {
    fn default() -> Self {
        Self {
            ttl_ns: 3_600_000_000_000,
            max_bundles: 100_000,
            max_bytes: 256 << 20,
            max_hops: 8,
            custody_timeout_ns: 2_000_000_000,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtnStats {
    /// Local envelopes taken into custody.
    pub originated: u64,
    /// Bundles taken into custody from peers.
    pub accepted: u64,
    /// Bundles handed to local subscribers.
    pub delivered: u64,
    /// Offers sent (first offers and re-offers).
    pub offered: u64,
    /// Bundles released after a peer took custody.
    pub released: u64,
    /// Copies dropped because the bundle was seen before.
    pub duplicates: u64,
    /// Bundles dropped at expiry (held or arriving expired).
    pub expired: u64,
    /// Bundles evicted because the store was full.
    pub evicted: u64,
    /// Bundles refused by admission (bad signature, altered, untrusted): security events.
    pub rejected: u64,
    /// DTN frames that did not parse.
    pub malformed: u64,
}

/// A held bundle as a store keeps it ([`Dtn::take_changes`], [`Dtn::restore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// Its topic.
    pub topic: TopicId,
    /// When it expires.
    pub expires_ns: u64,
    /// Daemons it went through.
    pub hops: u8,
    /// The peer it came from (`None`: published on this host).
    pub from: Option<PeerKey>,
    /// The signed envelope.
    pub envelope: Bytes,
}

impl StoredBundle {
    const FIXED: usize = 8 + 1 + 1 + 32 + 16;

    /// Bytes for the store.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(Self::FIXED + self.envelope.len());
        v.extend_from_slice(&self.expires_ns.to_le_bytes());
        v.push(self.hops);
        v.push(u8::from(self.from.is_some()));
        v.extend_from_slice(&self.from.unwrap_or([0; 32]));
        v.extend_from_slice(&self.topic.0);
        v.extend_from_slice(&self.envelope);
        v
    }

    /// Back from the store; `None` if the bytes are not a stored bundle.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < Self::FIXED + crate::envelope::HEADER_LEN {
            return None;
        }
        let expires_ns = u64::from_le_bytes(bytes[..8].try_into().ok()?);
        let from: [u8; 32] = bytes[10..42].try_into().ok()?;
        Some(Self {
            topic: TopicId(bytes[42..58].try_into().ok()?),
            expires_ns,
            hops: bytes[8],
            from: (bytes[9] == 1).then_some(from),
            envelope: Bytes::copy_from_slice(&bytes[Self::FIXED..]),
        })
    }
}

/// A change of what is held, for the runtime to make durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Now held.
    Held(BundleId, StoredBundle),
    /// No longer held (custody passed on, expired or evicted).
    Released(BundleId),
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `frame` to `peer`.
    Send {
        /// The peer.
        peer: PeerKey,
        /// A bundle or a custody acknowledgement.
        frame: Bytes,
    },
    /// Publish `envelope` to this host's subscribers (it passed admission).
    Deliver {
        /// The verified envelope.
        envelope: Bytes,
    },
}

#[derive(Debug)]
struct Held {
    topic: TopicId,
    expires_ns: u64,
    hops: u8,
    envelope: Bytes,
    /// The peer it came from (never offered back).
    from: Option<PeerKey>,
    /// When it was last offered to each peer.
    offered: HashMap<PeerKey, u64>,
    /// Arrival number: ties in expiry keep arrival order (a link's order).
    arrival: u64,
}

/// The DTN state of one host.
#[derive(Debug)]
pub struct Dtn {
    config: DtnConfig,
    held: HashMap<BundleId, Held>,
    /// (expiry, arrival, id): oldest first, ties in arrival order.
    by_expiry: BTreeSet<(u64, u64, BundleId)>,
    arrivals: u64,
    bytes: usize,
    seen: HashSet<BundleId>,
    seen_order: VecDeque<BundleId>,
    changes: Vec<Change>,
    stats: DtnStats,
}

impl Dtn {
    /// An empty store with `config`.
    #[must_use]
    pub fn new(config: DtnConfig) -> Self {
        Self {
            config,
            held: HashMap::new(),
            by_expiry: BTreeSet::new(),
            arrivals: 0,
            bytes: 0,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            changes: Vec::new(),
            stats: DtnStats::default(),
        }
    }

    /// Holds bundles kept by a store across a restart (not recorded as changes).
    pub fn restore(&mut self, bundles: impl IntoIterator<Item = (BundleId, StoredBundle)>) {
        for (id, b) in bundles {
            self.remember(id);
            self.hold(id, b.topic, b.expires_ns, b.hops, b.envelope, b.from);
        }
        self.changes.clear();
    }

    /// What changed since the last call. A custodian must make these durable before it
    /// sends the acknowledgements that came with them: once acknowledged, the sender
    /// forgets the bundle.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> DtnStats {
        self.stats
    }

    /// Bundles held and their envelope bytes.
    #[must_use]
    pub fn held(&self) -> (usize, usize) {
        (self.held.len(), self.bytes)
    }

    /// Takes a local publisher's `envelope` into custody.
    ///
    /// # Errors
    /// [`DtnWireError::NoEnvelope`] if it is shorter than an envelope header.
    pub fn originate(&mut self, envelope: Bytes, now_ns: u64) -> Result<(), DtnWireError> {
        let (id, header) = match (BundleId::of(&envelope), wire::header_of(&envelope)) {
            (Some(id), Some(h)) => (id, h),
            _ => return Err(DtnWireError::NoEnvelope),
        };
        let expires_ns = header.timestamp_ns().saturating_add(self.config.ttl_ns);
        let topic = header.topic_id();
        if !self.remember(id) {
            return Ok(());
        }
        if expires_ns <= now_ns {
            self.stats.expired += 1;
            return Ok(());
        }
        self.stats.originated += 1;
        self.hold(id, topic, expires_ns, 0, envelope, None);
        Ok(())
    }

    /// A DTN frame from `peer`. `admit` verifies an envelope (signature and trust, as the
    /// router admits envelopes); `wanted_here` says whether this host's nodes subscribe to
    /// a topic, `wanted_elsewhere` whether other known hosts do.
    pub fn on_frame(
        &mut self,
        peer: PeerKey,
        frame: &Bytes,
        now_ns: u64,
        admit: impl FnOnce(&Bytes) -> bool,
        wanted_here: impl Fn(&TopicId) -> bool,
        wanted_elsewhere: impl Fn(&TopicId) -> bool,
    ) -> Vec<Action> {
        let decoded = match wire::decode(frame) {
            Some(Ok(d)) => d,
            Some(Err(_)) | None => {
                self.stats.malformed += 1;
                return Vec::new();
            }
        };
        let (expires_ns, hops, envelope) = match decoded {
            DtnFrame::CustodyAck(id) => {
                if self
                    .held
                    .get(&id)
                    .is_some_and(|h| h.offered.contains_key(&peer))
                {
                    self.release(&id);
                    self.stats.released += 1;
                }
                return Vec::new();
            }
            DtnFrame::Bundle {
                expires_ns,
                hops,
                envelope,
            } => (expires_ns, hops, envelope),
        };
        let Some(id) = BundleId::of(&envelope) else {
            self.stats.malformed += 1;
            return Vec::new();
        };
        let ack = Action::Send {
            peer,
            frame: wire::custody_ack(&id),
        };
        if self.seen.contains(&id) {
            self.stats.duplicates += 1;
            return vec![ack];
        }
        if expires_ns <= now_ns {
            self.stats.expired += 1;
            return Vec::new();
        }
        if !admit(&envelope) {
            self.stats.rejected += 1;
            return Vec::new();
        }
        let Some(topic) = wire::header_of(&envelope).map(|h| h.topic_id()) else {
            self.stats.malformed += 1;
            return Vec::new();
        };
        self.remember(id);
        let mut actions = Vec::new();
        if wanted_here(&topic) {
            self.stats.delivered += 1;
            actions.push(Action::Deliver {
                envelope: envelope.clone(),
            });
        }
        let carry =
            hops < self.config.max_hops && (!wanted_here(&topic) || wanted_elsewhere(&topic));
        if carry {
            self.stats.accepted += 1;
            self.hold(id, topic, expires_ns, hops + 1, envelope, Some(peer));
        }
        actions.push(ack);
        actions
    }

    /// Offers held bundles to a connected `peer`: those whose topic it wants, or all it did
    /// not send us if it is a custodian; each again after the custody timeout.
    pub fn contact(
        &mut self,
        peer: PeerKey,
        wants: impl Fn(&TopicId) -> bool,
        custodian: bool,
        now_ns: u64,
    ) -> Vec<Action> {
        let timeout = self.config.custody_timeout_ns;
        let mut actions = Vec::new();
        // Oldest first: bundles of one publisher leave in the order they were published.
        let order: Vec<BundleId> = self.by_expiry.iter().map(|(_, _, id)| *id).collect();
        for id in order {
            let Some(h) = self.held.get_mut(&id) else {
                continue;
            };
            if h.from == Some(peer) || !(custodian || wants(&h.topic)) {
                continue;
            }
            if h.offered
                .get(&peer)
                .is_some_and(|t| now_ns.saturating_sub(*t) < timeout)
            {
                continue;
            }
            h.offered.insert(peer, now_ns);
            self.stats.offered += 1;
            actions.push(Action::Send {
                peer,
                frame: wire::bundle(h.expires_ns, h.hops, &h.envelope),
            });
        }
        actions
    }

    /// Drops expired bundles.
    pub fn tick(&mut self, now_ns: u64) {
        while let Some(&(expires, _, id)) = self.by_expiry.first() {
            if expires > now_ns {
                break;
            }
            self.release(&id);
            self.stats.expired += 1;
        }
    }

    /// Marks `id` seen (bounded memory: the oldest ids are forgotten first); false if it
    /// was seen already.
    fn remember(&mut self, id: BundleId) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.seen_order.push_back(id);
        let bound = self.config.max_bundles.saturating_mul(4).max(1024);
        while self.seen_order.len() > bound {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    fn hold(
        &mut self,
        id: BundleId,
        topic: TopicId,
        expires_ns: u64,
        hops: u8,
        envelope: Bytes,
        from: Option<PeerKey>,
    ) {
        while !self.held.is_empty()
            && (self.held.len() >= self.config.max_bundles
                || self.bytes + envelope.len() > self.config.max_bytes)
        {
            let Some(&(_, _, victim)) = self.by_expiry.first() else {
                break;
            };
            self.release(&victim);
            self.stats.evicted += 1;
        }
        self.changes.push(Change::Held(
            id,
            StoredBundle {
                topic,
                expires_ns,
                hops,
                from,
                envelope: envelope.clone(),
            },
        ));
        self.bytes += envelope.len();
        self.arrivals += 1;
        self.by_expiry.insert((expires_ns, self.arrivals, id));
        self.held.insert(
            id,
            Held {
                topic,
                expires_ns,
                hops,
                envelope,
                from,
                offered: HashMap::new(),
                arrival: self.arrivals,
            },
        );
    }

    fn release(&mut self, id: &BundleId) {
        if let Some(h) = self.held.remove(id) {
            self.changes.push(Change::Released(*id));
            self.bytes -= h.envelope.len();
            self.by_expiry.remove(&(h.expires_ns, h.arrival, *id));
        }
    }
}
