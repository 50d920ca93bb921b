//! Discovery, sans-IO: SWIM-style gossip membership. Each protocol period a node pings one
//! member (round robin over a shuffled list), asks `k` others to ping it indirectly when no
//! ack comes in time, and suspects it when nobody could reach it; a suspect that does not
//! refute (by announcing a higher incarnation) within a timeout that grows with log n is
//! declared dead. Membership changes ride on pings and acks as gossip, each retransmitted
//! O(log n) times. Every message is signed by its sender and every announcement by its node
//! (see [`wire`]); messages from keys the security policy does not admit are dropped.
//! Acks are never larger than the ping they answer (no amplification), and the table maps
//! each member's DID to its addresses and the topics it offers and wants, for interest-based
//! routing. The runtime (a UDP socket, or the deterministic simulator in the tests) feeds
//! [`Discovery::handle_input`] and [`Discovery::handle_timeout`] and drains
//! [`Discovery::poll_transmit`].

mod protocol;
#[cfg(feature = "net")]
pub mod udp;
pub mod wire;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::envelope::TopicId;
use crate::identity::{NodeKey, PublicKey};
use wire::{Announcement, Update};

/// Periods between anti-entropy syncs once they stop teaching anything.
const SYNC_IDLE_PERIODS: u32 = 8;

fn prefix(key: &[u8; 32]) -> [u8; 4] {
    [key[0], key[1], key[2], key[3]]
}

/// Timing and size settings (nanoseconds).
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// Protocol period: one direct probe per period.
    pub period_ns: u64,
    /// How long to wait for a direct ack before asking others to probe.
    pub ping_timeout_ns: u64,
    /// Members asked to probe indirectly.
    pub indirect_probes: usize,
    /// Suspicion lasts `suspicion_mult x ceil(log2(n + 1))` periods before death.
    pub suspicion_mult: u64,
    /// Each update is piggybacked `retransmit_mult x ceil(log2(n + 1))` times.
    pub retransmit_mult: u32,
    /// Largest message (fits a UDP datagram without fragmentation on common links).
    pub max_message_bytes: usize,
    /// Dead members are forgotten after this long.
    pub forget_dead_ns: u64,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            period_ns: 1_000_000_000,
            ping_timeout_ns: 300_000_000,
            indirect_probes: 3,
            suspicion_mult: 4,
            retransmit_mult: 3,
            max_message_bytes: 1400,
            forget_dead_ns: 60_000_000_000,
        }
    }
}

/// What the table believes about a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Answering probes.
    Alive,
    /// Failed a probe; may still refute.
    Suspect,
    /// Declared dead.
    Dead,
}

/// One known member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its latest verified announcement.
    pub announcement: Announcement,
    /// Its state.
    pub state: MemberState,
    /// The incarnation the state refers to.
    pub incarnation: u64,
    /// When the state was entered.
    pub since_ns: u64,
    /// Where its messages last came from (its real address when it announced an unspecified
    /// one such as `0.0.0.0`).
    pub observed: Option<SocketAddr>,
}

impl Member {
    /// Where to send it discovery messages: the announced address, or the observed one when
    /// the announced IP is unspecified.
    #[must_use]
    pub fn gossip_addr(&self) -> SocketAddr {
        resolve(self.announcement.gossip, self.observed)
    }

    /// Its link addresses, unspecified IPs replaced by the IP its messages come from.
    #[must_use]
    pub fn link_addrs(&self) -> Vec<SocketAddr> {
        self.announcement
            .addrs
            .iter()
            .map(|a| resolve(*a, self.observed))
            .collect()
    }
}

fn resolve(announced: SocketAddr, observed: Option<SocketAddr>) -> SocketAddr {
    match observed {
        Some(seen) if announced.ip().is_unspecified() => {
            SocketAddr::new(seen.ip(), announced.port())
        }
        _ => announced,
    }
}

/// A change in membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberEvent {
    /// A new member (or a dead one back with a higher incarnation).
    Joined(PublicKey),
    /// New addresses or topics.
    Updated(PublicKey),
    /// Suspected of failure.
    Suspected(PublicKey),
    /// Refuted a suspicion.
    Recovered(PublicKey),
    /// Declared dead.
    Died(PublicKey),
}

/// Counters, for load reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscoveryStats {
    /// Messages sent.
    pub sent: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Messages accepted.
    pub received: u64,
    /// Messages dropped (malformed, bad signature, not admitted).
    pub rejected: u64,
}

#[derive(Debug)]
struct Gossip {
    update: Update,
    sent: u32,
}

#[derive(Debug)]
struct Probe {
    target: PublicKey,
    seq: u64,
    sent_at: u64,
    indirect: bool,
    acked: bool,
}

#[derive(Debug)]
struct Relay {
    requester: SocketAddr,
    requester_seq: u64,
    target: PublicKey,
    seq: u64,
    expires: u64,
}

/// One node's membership protocol.
#[derive(Debug)]
pub struct Discovery {
    key: Arc<NodeKey>,
    me: Announcement,
    config: DiscoveryConfig,
    members: HashMap<[u8; 32], Member>,
    gossip: Vec<Gossip>,
    order: Vec<[u8; 32]>,
    next_in_order: usize,
    probe: Option<Probe>,
    relays: Vec<Relay>,
    seq: u64,
    next_period: u64,
    seeds: Vec<SocketAddr>,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<MemberEvent>,
    rng: u64,
    stats: DiscoveryStats,
    /// Periods until the next anti-entropy sync.
    sync_in: u32,
}

impl Discovery {
    /// A node announcing `gossip` (its discovery address), `addrs` (its link addresses) and
    /// the topics it offers and wants; `seed` makes its random choices reproducible.
    #[must_use]
    pub fn new(
        key: Arc<NodeKey>,
        gossip: SocketAddr,
        addrs: Vec<SocketAddr>,
        topics: (Vec<TopicId>, Vec<TopicId>),
        config: DiscoveryConfig,
        seed: u64,
        now: u64,
    ) -> Self {
        // Incarnations start at the wall clock (milliseconds), so a restarted node outranks what
        // the others remember of its previous run (even a death) without a refutation round.
        let incarnation = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let me = Announcement::sign(&key, incarnation, gossip, addrs, topics.0, topics.1);
        let mut d = Self {
            key,
            me: me.clone(),
            config,
            members: HashMap::new(),
            gossip: Vec::new(),
            order: Vec::new(),
            next_in_order: 0,
            probe: None,
            relays: Vec::new(),
            seq: 0,
            next_period: now,
            seeds: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            stats: DiscoveryStats::default(),
            sync_in: 0,
        };
        d.spread(Update::Alive(me));
        d
    }

    /// Unicast seeds to join through (pinged every period until a member is known).
    pub fn add_seed(&mut self, addr: SocketAddr) {
        if addr != self.me.gossip && !self.seeds.contains(&addr) {
            self.seeds.push(addr);
        }
    }

    /// Changes the topics this node offers and wants (announced with a new incarnation).
    pub fn set_topics(&mut self, offered: Vec<TopicId>, wanted: Vec<TopicId>) {
        let me = &self.me;
        self.me = Announcement::sign(
            &self.key,
            me.incarnation + 1,
            me.gossip,
            me.addrs.clone(),
            offered,
            wanted,
        );
        self.spread(Update::Alive(self.me.clone()));
    }

    /// This node's own announcement.
    #[must_use]
    pub fn me(&self) -> &Announcement {
        &self.me
    }

    /// Every member known (all states).
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// A member by key.
    #[must_use]
    pub fn member(&self, key: &PublicKey) -> Option<&Member> {
        self.members.get(key.as_bytes())
    }

    /// Live members (alive or suspect) count.
    #[must_use]
    pub fn live_count(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.state != MemberState::Dead)
            .count()
    }

    /// The link addresses of a live member (the DID -> address routing table).
    #[must_use]
    pub fn route(&self, key: &PublicKey) -> Option<Vec<SocketAddr>> {
        self.members
            .get(key.as_bytes())
            .filter(|m| m.state != MemberState::Dead)
            .map(Member::link_addrs)
    }

    /// Live members that subscribe to `topic`: where data of `topic` must flow (and nowhere
    /// else).
    #[must_use]
    pub fn interested_in(&self, topic: &TopicId) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self
            .members
            .values()
            .filter(|m| m.state != MemberState::Dead && m.announcement.wanted.contains(topic))
            .map(|m| m.announcement.key)
            .collect();
        keys.sort_by_key(PublicKey::to_bytes);
        keys
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> DiscoveryStats {
        self.stats
    }

    /// A datagram to send.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.out.pop_front()
    }

    /// A membership change.
    pub fn poll_event(&mut self) -> Option<MemberEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut t = self.next_period;
        if let Some(p) = self.probe.as_ref().filter(|p| !p.acked && !p.indirect) {
            t = t.min(p.sent_at + self.config.ping_timeout_ns);
        }
        Some(t)
    }
}
