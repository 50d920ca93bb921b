//! The SWIM protocol steps of [`Discovery`]: probing (direct, then indirect), suspicion and
//! death, anti-entropy syncs, piggybacked gossip within a byte budget, and the precedence
//! rules that apply gossip to the member table.

use std::net::SocketAddr;

use super::wire::{self, Announcement, Kind, Message, Update, BASE_LEN};
use super::{
    prefix, Discovery, Gossip, Member, MemberEvent, MemberState, Probe, Relay, SYNC_IDLE_PERIODS,
};
use crate::identity::PublicKey;

impl Discovery {
    pub(super) fn random(&mut self) -> u64 {
        // splitmix64: reproducible from the seed.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn log_n(&self) -> u64 {
        let n = self.live_count() as u64 + 1;
        u64::from(64 - n.leading_zeros()).max(1)
    }

    /// Runs due timers: indirect probes, the end of a period (suspicion of an unanswered
    /// target, the next probe), suspicion timeouts, forgetting the long dead.
    pub fn handle_timeout(&mut self, now: u64) {
        if let Some(p) = self.probe.as_mut() {
            if !p.acked && !p.indirect && now >= p.sent_at + self.config.ping_timeout_ns {
                p.indirect = true;
                let (target, seq) = (p.target, p.seq);
                self.indirect_probe(target, seq);
            }
        }
        if now >= self.next_period {
            self.end_period(now);
            self.next_period = now + self.config.period_ns;
            self.start_period(now);
        }
        self.expire(now);
    }

    pub(super) fn end_period(&mut self, now: u64) {
        if let Some(p) = self.probe.take() {
            if !p.acked {
                let inc = self.member(&p.target).map(|m| m.incarnation);
                if let Some(incarnation) = inc {
                    self.apply(
                        now,
                        Update::Suspect {
                            key: p.target,
                            incarnation,
                        },
                    );
                }
            }
        }
    }

    pub(super) fn start_period(&mut self, now: u64) {
        if self.live_count() == 0 {
            for seed in self.seeds.clone() {
                self.send_ping(seed, None, now);
            }
            return;
        }
        self.maybe_sync();
        let Some(target) = self.next_target() else {
            return;
        };
        let Some(addr) = self.members.get(&target).map(Member::gossip_addr) else {
            return;
        };
        let key = self.members[&target].announcement.key;
        let seq = self.send_ping(addr, Some(key), now);
        self.probe = Some(Probe {
            target: key,
            seq,
            sent_at: now,
            indirect: false,
            acked: false,
        });
    }

    /// Round robin over a shuffled list of live members, reshuffled after each pass.
    pub(super) fn next_target(&mut self) -> Option<[u8; 32]> {
        for _ in 0..2 {
            while self.next_in_order < self.order.len() {
                let k = self.order[self.next_in_order];
                self.next_in_order += 1;
                if self
                    .members
                    .get(&k)
                    .is_some_and(|m| m.state != MemberState::Dead)
                {
                    return Some(k);
                }
            }
            let mut keys: Vec<[u8; 32]> = self
                .members
                .iter()
                .filter(|(_, m)| m.state != MemberState::Dead)
                .map(|(k, _)| *k)
                .collect();
            keys.sort_unstable();
            for i in (1..keys.len()).rev() {
                let j = (self.random() % (i as u64 + 1)) as usize;
                keys.swap(i, j);
            }
            self.order = keys;
            self.next_in_order = 0;
        }
        None
    }

    /// Anti-entropy: every period while syncs keep teaching this node something, otherwise
    /// every [`SYNC_IDLE_PERIODS`], ask a random live member for the announcements it lacks.
    pub(super) fn maybe_sync(&mut self) {
        if self.sync_in > 0 {
            self.sync_in -= 1;
            return;
        }
        self.sync_in = SYNC_IDLE_PERIODS;
        let alive: Vec<SocketAddr> = {
            let mut v: Vec<(&[u8; 32], SocketAddr)> = self
                .members
                .iter()
                .filter(|(_, m)| m.state == MemberState::Alive)
                .map(|(k, m)| (k, m.gossip_addr()))
                .collect();
            v.sort_unstable();
            v.into_iter().map(|(_, a)| a).collect()
        };
        if alive.is_empty() {
            return;
        }
        let to = alive[(self.random() % alive.len() as u64) as usize];
        let room = self.config.max_message_bytes.saturating_sub(BASE_LEN);
        let mut known: Vec<[u8; 4]> = self.members.keys().map(prefix).collect();
        known.push(prefix(self.me.key.as_bytes()));
        known.sort_unstable();
        known.truncate(room / 4);
        let padding = room - known.len() * 4;
        self.seq += 1;
        let msg = Message {
            kind: Kind::Sync,
            sender: self.me.key,
            seq: self.seq,
            target: None,
            updates: Vec::new(),
            known,
            padding,
        };
        // The request carries no gossip: its size is what the reply may use.
        let bytes = msg.encode(&self.key);
        self.stats.sent += 1;
        self.stats.sent_bytes += bytes.len() as u64;
        self.out.push_back((to, bytes));
    }

    pub(super) fn answer_sync(&mut self, from: SocketAddr, request: &Message, budget: usize) {
        let mut lacking: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.state != MemberState::Dead)
            .filter(|m| {
                request
                    .known
                    .binary_search(&prefix(m.announcement.key.as_bytes()))
                    .is_err()
            })
            .collect();
        lacking.sort_by_key(|m| m.announcement.key.to_bytes());
        let mut updates = Vec::new();
        let mut size = BASE_LEN;
        for m in lacking {
            let u = Update::Alive(m.announcement.clone());
            let len = u.encoded_len();
            if size + len > budget || updates.len() >= wire::MAX_UPDATES {
                break;
            }
            size += len;
            updates.push(u);
        }
        let reply = Message {
            kind: Kind::SyncReply,
            sender: self.me.key,
            seq: request.seq,
            target: None,
            updates,
            known: Vec::new(),
            padding: 0,
        };
        let bytes = reply.encode(&self.key);
        self.stats.sent += 1;
        self.stats.sent_bytes += bytes.len() as u64;
        self.out.push_back((from, bytes));
    }

    pub(super) fn indirect_probe(&mut self, target: PublicKey, seq: u64) {
        let mut helpers: Vec<SocketAddr> = self
            .members
            .values()
            .filter(|m| m.state == MemberState::Alive && m.announcement.key != target)
            .map(Member::gossip_addr)
            .collect();
        helpers.sort_unstable();
        for i in (1..helpers.len()).rev() {
            let j = (self.random() % (i as u64 + 1)) as usize;
            helpers.swap(i, j);
        }
        helpers.truncate(self.config.indirect_probes);
        for addr in helpers {
            let msg = Message {
                kind: Kind::PingReq,
                sender: self.me.key,
                seq,
                target: Some(target),
                updates: Vec::new(),
                known: Vec::new(),
                padding: 0,
            };
            self.send(addr, msg, self.config.max_message_bytes);
        }
    }

    pub(super) fn expire(&mut self, now: u64) {
        let suspicion = self.config.suspicion_mult * self.log_n() * self.config.period_ns;
        let overdue: Vec<(PublicKey, u64)> = self
            .members
            .values()
            .filter(|m| m.state == MemberState::Suspect && now >= m.since_ns + suspicion)
            .map(|m| (m.announcement.key, m.incarnation))
            .collect();
        for (key, incarnation) in overdue {
            self.apply(now, Update::Dead { key, incarnation });
        }
        let forget = self.config.forget_dead_ns;
        self.members
            .retain(|_, m| !(m.state == MemberState::Dead && now >= m.since_ns + forget));
        self.relays.retain(|r| r.expires > now);
    }

    pub(super) fn send_ping(
        &mut self,
        addr: SocketAddr,
        target: Option<PublicKey>,
        _now: u64,
    ) -> u64 {
        self.seq += 1;
        let msg = Message {
            kind: Kind::Ping,
            sender: self.me.key,
            seq: self.seq,
            target,
            updates: Vec::new(),
            known: Vec::new(),
            padding: 0,
        };
        self.send(addr, msg, self.config.max_message_bytes);
        self.seq
    }

    /// Signs and queues `msg` with as much gossip as fits `budget` bytes (this node's own
    /// announcement first when it is not otherwise due, so peers can always reach it).
    pub(super) fn send(&mut self, addr: SocketAddr, mut msg: Message, budget: usize) {
        let mut size = BASE_LEN;
        let limit = u32::try_from(u64::from(self.config.retransmit_mult) * self.log_n())
            .unwrap_or(u32::MAX);
        self.gossip.sort_by_key(|g| g.sent);
        for g in &mut self.gossip {
            if msg.updates.len() >= wire::MAX_UPDATES {
                break;
            }
            let len = g.update.encoded_len();
            if size + len > budget {
                continue;
            }
            size += len;
            g.sent += 1;
            msg.updates.push(g.update.clone());
        }
        self.gossip.retain(|g| g.sent < limit);
        let me = Update::Alive(self.me.clone());
        let me_len = me.encoded_len();
        if !msg.updates.iter().any(|u| u.key() == self.me.key) && size + me_len <= budget {
            msg.updates.push(me);
        }
        let bytes = msg.encode(&self.key);
        self.stats.sent += 1;
        self.stats.sent_bytes += bytes.len() as u64;
        self.out.push_back((addr, bytes));
    }

    pub(super) fn spread(&mut self, update: Update) {
        let key = update.key();
        self.gossip.retain(|g| g.update.key() != key);
        self.gossip.push(Gossip { update, sent: 0 });
    }

    /// Feeds a datagram from `from`; `admits` is the security policy's peer check.
    pub fn handle_input(
        &mut self,
        now: u64,
        from: SocketAddr,
        bytes: &[u8],
        admits: impl Fn(&PublicKey) -> bool,
    ) {
        let members = &self.members;
        let decoded = Message::decode_with(bytes, &mut |a| {
            members
                .get(a.key.as_bytes())
                .is_some_and(|m| m.announcement == *a)
        });
        let msg = match decoded {
            // Our own multicast ping, looped back: not an attack, nothing to do.
            Ok(m) if m.sender == self.me.key => return,
            Ok(m) if admits(&m.sender) => m,
            Ok(_) | Err(_) => {
                self.stats.rejected += 1;
                return;
            }
        };
        self.stats.received += 1;
        let before = self.members.len();
        for u in msg.updates.iter().cloned() {
            if admits(&u.key()) {
                self.apply(now, u);
            }
        }
        if let Some(m) = self.members.get_mut(msg.sender.as_bytes()) {
            m.observed = Some(from);
        }
        if msg.kind == Kind::SyncReply && self.members.len() > before {
            self.sync_in = 0; // it taught us something: sync again next period
        }
        match msg.kind {
            Kind::Ping => {
                let ack = Message {
                    kind: Kind::Ack,
                    sender: self.me.key,
                    seq: msg.seq,
                    target: None,
                    updates: Vec::new(),
                    known: Vec::new(),
                    padding: 0,
                };
                // Never answer with more bytes than the request had.
                self.send(from, ack, bytes.len().min(self.config.max_message_bytes));
            }
            Kind::Ack => self.on_ack(&msg, now),
            Kind::Sync => {
                // Never answer with more bytes than the request had.
                self.answer_sync(from, &msg, bytes.len().min(self.config.max_message_bytes));
            }
            Kind::SyncReply => {}
            Kind::PingReq => {
                let Some(target) = msg.target else { return };
                let Some(addr) = self.member(&target).map(Member::gossip_addr) else {
                    return;
                };
                let seq = self.send_ping(addr, Some(target), now);
                self.relays.push(Relay {
                    requester: from,
                    requester_seq: msg.seq,
                    target,
                    seq,
                    expires: now + self.config.period_ns,
                });
            }
        }
    }

    pub(super) fn on_ack(&mut self, msg: &Message, now: u64) {
        let target = msg.target.unwrap_or(msg.sender);
        if let Some(p) = self.probe.as_mut() {
            if p.seq == msg.seq && p.target == target {
                p.acked = true;
            }
        }
        if msg.target.is_none() {
            if let Some(i) = self
                .relays
                .iter()
                .position(|r| r.seq == msg.seq && r.target == msg.sender)
            {
                let r = self.relays.swap_remove(i);
                let relayed = Message {
                    kind: Kind::Ack,
                    sender: self.me.key,
                    seq: r.requester_seq,
                    target: Some(r.target),
                    updates: Vec::new(),
                    known: Vec::new(),
                    padding: 0,
                };
                self.send(r.requester, relayed, self.config.max_message_bytes);
            }
        }
        let _ = now;
    }

    /// Applies one piece of gossip with SWIM's precedence rules.
    pub(super) fn apply(&mut self, now: u64, update: Update) {
        let key = update.key();
        if key == self.me.key {
            // Someone suspects or buried this node: refute with a higher incarnation.
            if let Update::Suspect { incarnation, .. } | Update::Dead { incarnation, .. } = update {
                if incarnation >= self.me.incarnation {
                    let me = self.me.clone();
                    self.me = Announcement::sign(
                        &self.key,
                        incarnation + 1,
                        me.gossip,
                        me.addrs,
                        me.offered,
                        me.wanted,
                    );
                    self.spread(Update::Alive(self.me.clone()));
                }
            }
            return;
        }
        let existing = self.members.get(key.as_bytes()).cloned();
        let event = match (&update, existing) {
            (Update::Alive(a), None) => {
                self.insert(a.clone(), MemberState::Alive, a.incarnation, now);
                Some(MemberEvent::Joined(key))
            }
            (Update::Alive(a), Some(m)) if a.incarnation > m.incarnation => {
                let event = match m.state {
                    MemberState::Dead => MemberEvent::Joined(key),
                    MemberState::Suspect => MemberEvent::Recovered(key),
                    MemberState::Alive => MemberEvent::Updated(key),
                };
                self.insert(a.clone(), MemberState::Alive, a.incarnation, now);
                Some(event)
            }
            (Update::Suspect { incarnation, .. }, Some(m))
                if m.state == MemberState::Alive && *incarnation >= m.incarnation =>
            {
                self.set_state(&key, MemberState::Suspect, *incarnation, now);
                Some(MemberEvent::Suspected(key))
            }
            (Update::Dead { incarnation, .. }, Some(m))
                if m.state != MemberState::Dead && *incarnation >= m.incarnation =>
            {
                self.set_state(&key, MemberState::Dead, *incarnation, now);
                Some(MemberEvent::Died(key))
            }
            _ => None,
        };
        if let Some(e) = event {
            self.events.push_back(e);
            self.spread(update);
        }
    }

    pub(super) fn insert(
        &mut self,
        announcement: Announcement,
        state: MemberState,
        incarnation: u64,
        now: u64,
    ) {
        let key = announcement.key.to_bytes();
        let observed = self.members.get(&key).and_then(|m| m.observed);
        self.members.insert(
            key,
            Member {
                announcement,
                state,
                incarnation,
                since_ns: now,
                observed,
            },
        );
    }

    pub(super) fn set_state(
        &mut self,
        key: &PublicKey,
        state: MemberState,
        incarnation: u64,
        now: u64,
    ) {
        if let Some(m) = self.members.get_mut(key.as_bytes()) {
            m.state = state;
            m.incarnation = incarnation;
            m.since_ns = now;
        }
    }
}
