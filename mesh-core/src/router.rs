//! The per-host router's decisions, sans-IO: which topics this host offers and wants (from the
//! local shared-memory channels), where a frame published on this host must go (only to peer
//! hosts whose nodes subscribe to its topic), and whether a frame from a peer is admitted and
//! handed to the local subscribers (verified once, delivered once even when it arrives
//! through several peers, never forwarded again, so frames cannot loop between routers).
//! The daemon runtime feeds it the local channel scan, peer interests and frames, and does
//! what it returns.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use bytes::Bytes;

use crate::delivery::{Admission, NodeAddr, SecurityAdmission};
use crate::envelope::{Envelope, Limits, TopicId};
use crate::replay::{ReplayGuard, SeqVerdict};
use crate::security::{Reject, Route, SecurityPolicy};

/// A local channel as the shared-memory scan sees it (the router's own ports excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTopic {
    /// Fully qualified name.
    pub name: String,
    /// Local publishers.
    pub publishers: usize,
    /// Local subscribers.
    pub subscribers: usize,
}

/// What became of a frame from a peer.
#[derive(Debug)]
pub enum Inbound {
    /// Publish it on the local channel `topic` (it is verified).
    Deliver {
        /// The local channel.
        topic: String,
        /// The frame, unchanged.
        frame: Bytes,
    },
    /// Already delivered (it came through another peer, or again).
    Duplicate,
    /// Nobody on this host subscribes to its topic.
    NoSubscriber,
    /// Refused by the security layer (counted there).
    Rejected(Reject),
}

/// Counters of the router.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Local frames sent to peers (one per peer).
    pub forwarded: u64,
    /// Local frames no peer wanted.
    pub unwanted: u64,
    /// Frames from peers delivered locally.
    pub delivered: u64,
    /// Frames from peers dropped as duplicates.
    pub duplicates: u64,
    /// Frames from peers refused.
    pub rejected: u64,
    /// Echoes of delivered frames seen on a local channel and not sent back out.
    pub echoes: u64,
}

/// The router of one host.
#[derive(Debug)]
pub struct Router {
    admission: SecurityAdmission,
    local: BTreeMap<TopicId, LocalTopic>,
    interests: BTreeMap<[u8; 32], BTreeSet<TopicId>>,
    delivered: ReplayGuard,
    /// Publishers whose frames this router delivered from the network: their frames on a
    /// local channel are echoes of our own deliveries.
    remote_publishers: HashSet<[u8; 32]>,
    /// Topics carried delay-tolerantly ([`crate::dtn`]) instead of forwarded live.
    dtn_topics: HashSet<TopicId>,
    /// Durable topics used on this host (they have a local `<topic>/_durable` channel):
    /// their retransmissions must reach the durable subscribers, which deduplicate by
    /// their stored cursors.
    durable: HashSet<TopicId>,
    /// This host carries bundles for others (announced with [`CUSTODIAN`]).
    custodian: bool,
    stats: RouterStats,
}

/// A pseudo-topic a DTN custodian (relay) adds to the topics it announces as wanted.
pub const CUSTODIAN: &str = "/_omni/dtn/custodian";

impl Router {
    /// A router admitting frames from peers with `policy`.
    #[must_use]
    pub fn new(policy: Arc<SecurityPolicy>) -> Self {
        Self {
            admission: SecurityAdmission::new(policy),
            local: BTreeMap::new(),
            interests: BTreeMap::new(),
            delivered: ReplayGuard::default(),
            remote_publishers: HashSet::new(),
            dtn_topics: HashSet::new(),
            durable: HashSet::new(),
            custodian: false,
            stats: RouterStats::default(),
        }
    }

    /// Topics to carry delay-tolerantly, and whether this host is a custodian for others.
    pub fn set_dtn(&mut self, topics: &[String], custodian: bool) {
        self.dtn_topics = topics.iter().map(|t| TopicId::of(t)).collect();
        self.custodian = custodian;
    }

    /// True if a local frame belongs to a DTN topic (it goes into custody, not live).
    #[must_use]
    pub fn is_dtn_frame(&self, frame: &[u8]) -> bool {
        TopicId::of_frame(frame).is_some_and(|t| self.dtn_topics.contains(&t))
    }

    /// The local channel of `topic` if local nodes subscribe to it.
    #[must_use]
    pub fn local_subscribed(&self, topic: &TopicId) -> Option<String> {
        self.local
            .get(topic)
            .filter(|t| t.subscribers > 0)
            .map(|t| t.name.clone())
    }

    /// True if `peer` announced that it wants `topic`.
    #[must_use]
    pub fn peer_wants(&self, peer: &[u8; 32], topic: &TopicId) -> bool {
        self.interests.get(peer).is_some_and(|w| w.contains(topic))
    }

    /// True if any known peer wants `topic`.
    #[must_use]
    pub fn anyone_wants(&self, topic: &TopicId) -> bool {
        self.interests.values().any(|w| w.contains(topic))
    }

    /// True if `peer` announced itself as a DTN custodian.
    #[must_use]
    pub fn is_custodian(&self, peer: &[u8; 32]) -> bool {
        self.peer_wants(peer, &TopicId::of(CUSTODIAN))
    }

    /// Checks an envelope carried in a DTN bundle: the full admission when local nodes use
    /// its topic (signature, trust, ACL), otherwise signature and trust (a relay carries
    /// topics it has no channel for, so no ACL name to check). Refusals are counted by the
    /// security layer.
    pub fn admit_carried(&mut self, envelope: &Bytes, now_ns: u64) -> Result<TopicId, Reject> {
        let policy = self.admission.policy();
        let env = match Envelope::parse(envelope.as_ref(), &policy.limits()) {
            Ok(env) => env,
            Err(e) => {
                let reject = Reject::Malformed(e);
                policy.counters().count(reject.reason());
                return Err(reject);
            }
        };
        let (topic, type_hash) = (env.header().topic_id(), env.header().type_hash());
        if let Some(local) = self.local.get(&topic) {
            let route = Route::new(&local.name, type_hash);
            self.admission
                .admit(NodeAddr(0), envelope.clone(), &route, now_ns)?;
            return Ok(topic);
        }
        let publisher = env.header().publisher();
        let refused = if policy.trust().is_revoked(&publisher) {
            Some(Reject::Revoked)
        } else {
            env.verify(policy.trust()).err().map(Reject::Verify)
        };
        match refused {
            Some(reject) => {
                policy.counters().count(reject.reason());
                Err(reject)
            }
            None => Ok(topic),
        }
    }

    /// Replaces the view of local channels (from a shared-memory scan).
    pub fn set_local_topics(&mut self, topics: impl IntoIterator<Item = LocalTopic>) {
        self.local = topics
            .into_iter()
            .map(|t| (TopicId::of(&t.name), t))
            .collect();
        self.durable = self
            .local
            .values()
            .filter_map(|t| t.name.strip_suffix(crate::node::CONTROL_SUFFIX))
            .map(TopicId::of)
            .collect();
    }

    /// Topics this host publishes and subscribes to: what discovery announces.
    #[must_use]
    pub fn announcement_topics(&self) -> (Vec<TopicId>, Vec<TopicId>) {
        let pick = |f: fn(&LocalTopic) -> bool| {
            self.local
                .iter()
                .filter(|(_, t)| f(t))
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
        };
        let mut wanted = pick(|t| t.subscribers > 0);
        if self.custodian {
            wanted.push(TopicId::of(CUSTODIAN));
        }
        (pick(|t| t.publishers > 0), wanted)
    }

    /// A peer host (by its router's key) subscribes to `wanted` (from its announcement).
    pub fn set_peer_interest(&mut self, peer: [u8; 32], wanted: impl IntoIterator<Item = TopicId>) {
        self.interests.insert(peer, wanted.into_iter().collect());
    }

    /// A peer host is gone.
    pub fn remove_peer(&mut self, peer: &[u8; 32]) {
        self.interests.remove(peer);
    }

    /// Local channels some peer wants: the router must subscribe to them locally.
    #[must_use]
    pub fn topics_to_export(&self) -> Vec<String> {
        self.local
            .iter()
            .filter(|(id, t)| {
                // DTN topics are always taken into custody; live topics only when wanted.
                t.publishers > 0
                    && (self.dtn_topics.contains(id)
                        || self.interests.values().any(|w| w.contains(id)))
            })
            .map(|(_, t)| t.name.clone())
            .collect()
    }

    /// Local channels where frames from peers must be published.
    #[must_use]
    pub fn topics_to_import(&self) -> Vec<String> {
        self.local
            .values()
            .filter(|t| t.subscribers > 0)
            .map(|t| t.name.clone())
            .collect()
    }

    /// A frame seen on a local channel: the peers it must be sent to. Echoes of frames this
    /// router delivered from the network (attested, or from a publisher it delivered for) go
    /// nowhere.
    pub fn on_local_frame(&mut self, frame: &[u8]) -> Vec<[u8; 32]> {
        // Attested frames are the daemon's own deliveries from the network.
        if crate::security::attest::split(frame).is_some() {
            self.stats.echoes += 1;
            return Vec::new();
        }
        let Ok(env) = Envelope::parse(frame, &Limits::default()) else {
            return Vec::new();
        };
        let h = env.header();
        if self.remote_publishers.contains(&h.publisher()) {
            self.stats.echoes += 1;
            return Vec::new();
        }
        let topic = h.topic_id();
        let peers: Vec<[u8; 32]> = self
            .interests
            .iter()
            .filter(|(_, wanted)| wanted.contains(&topic))
            .map(|(peer, _)| *peer)
            .collect();
        if peers.is_empty() {
            self.stats.unwanted += 1;
        }
        self.stats.forwarded += peers.len() as u64;
        peers
    }

    /// A frame from peer `from` (a link number, for the per-peer verification budget): admit
    /// it (signature and policy, once for this host), drop duplicates, and say where it goes.
    pub fn on_remote_frame(&mut self, from: u64, frame: Bytes, now_ns: u64) -> Inbound {
        let policy = self.admission.policy();
        let (topic, type_hash) = match Envelope::parse(frame.as_ref(), &policy.limits()) {
            Ok(env) => (env.header().topic_id(), env.header().type_hash()),
            Err(e) => {
                let reject = Reject::Malformed(e);
                policy.counters().count(reject.reason());
                self.stats.rejected += 1;
                return Inbound::Rejected(reject);
            }
        };
        let Some(local) = self.local.get(&topic).filter(|t| t.subscribers > 0) else {
            return Inbound::NoSubscriber;
        };
        let route = Route::new(&local.name, type_hash);
        let name = local.name.clone();
        let env = match self.admission.admit(NodeAddr(from), frame, &route, now_ns) {
            Ok(env) => env,
            Err(e) => {
                self.stats.rejected += 1;
                return Inbound::Rejected(e);
            }
        };
        let h = env.header();
        let publisher = h.publisher();
        // Durable topics: a retransmission of a frame this router delivered before is how a
        // durable subscriber that crashed before committing gets it again.
        let durable = self.durable.contains(&h.topic_id());
        if !durable
            && self
                .delivered
                .check(publisher, h.topic_id(), h.epoch(), h.sequence())
                != SeqVerdict::Fresh
        {
            self.stats.duplicates += 1;
            return Inbound::Duplicate;
        }
        self.remote_publishers.insert(publisher);
        self.stats.delivered += 1;
        Inbound::Deliver {
            topic: name,
            frame: env.into_inner(),
        }
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> RouterStats {
        self.stats
    }
}
