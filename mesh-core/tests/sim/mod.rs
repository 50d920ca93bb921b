//! A deterministic fleet simulator for the delivery engine: N nodes, a virtual clock, a seeded
//! network with loss, duplication, reordering, delay, partitions and node restarts. Every node
//! runs the real engine with real signatures (Merkle-batched) and real verification.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use mesh_core::delivery::{
    DeliveryConfig, DeliveryEngine, DeliveryEvent, InboxConfig, NodeAddr, PublishError, Qos,
    ReaderId, SecurityAdmission, WriterId,
};
use mesh_core::envelope::{sign_batch, Envelope, Signed};
use mesh_core::identity::NodeKey;
use mesh_core::security::{Route, SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};

pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;
pub const TYPE_HASH: [u8; 32] = [0x3c; 32];

/// SplitMix64: small, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo + 1)
        }
    }
}

/// How the simulated network treats every frame.
#[derive(Debug, Clone, Copy)]
pub struct NetModel {
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub min_delay_ns: u64,
    pub max_delay_ns: u64,
    /// Extra delay of a reordered frame, up to this.
    pub reorder_delay_ns: u64,
}

impl NetModel {
    pub fn perfect() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            min_delay_ns: MS,
            max_delay_ns: MS,
            reorder_delay_ns: 0,
        }
    }
    pub fn lossy(loss: f64, duplicate: f64, reorder: f64) -> Self {
        Self {
            loss,
            duplicate,
            reorder,
            min_delay_ns: MS,
            max_delay_ns: 3 * MS,
            reorder_delay_ns: 6 * MS,
        }
    }
}

struct Packet {
    at: u64,
    order: u64,
    from: usize,
    to: usize,
    bytes: Bytes,
}

impl PartialEq for Packet {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.order) == (o.at, o.order)
    }
}
impl Eq for Packet {}
impl PartialOrd for Packet {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Packet {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(o.at, o.order))
    }
}

pub struct SimNode {
    pub key: NodeKey,
    pub epoch: u64,
    pub engine: DeliveryEngine<SecurityAdmission>,
    pub up: bool,
}

/// A steady publisher: `batch` messages every `interval_ns` until `remaining` is 0.
struct Plan {
    node: usize,
    writer: WriterId,
    remaining: u64,
    batch: u64,
    interval_ns: u64,
    next_at: u64,
    payload_len: usize,
}

/// A delivered message: (publisher node, epoch, sequence).
pub type Got = (usize, u64, u64);

pub struct Sim {
    pub now: u64,
    pub rng: Rng,
    pub net: NetModel,
    pub config: DeliveryConfig,
    pub nodes: Vec<SimNode>,
    queue: BinaryHeap<Reverse<Packet>>,
    order: u64,
    cut: HashSet<(usize, usize)>,
    readers: Vec<(usize, ReaderId)>,
    /// (node, reader) -> (publisher node, epoch, sequence) in delivery order.
    pub received: HashMap<(usize, usize), Vec<Got>>,
    pub events: Vec<(usize, DeliveryEvent)>,
    pending: HashMap<(usize, usize), VecDeque<Envelope<Signed>>>,
    plans: Vec<Plan>,
    /// Readers that do not take their messages (slow subscribers).
    pub stalled: HashSet<(usize, usize)>,
    trust: TrustStore,
}

fn engine(
    key: &NodeKey,
    trust: &TrustStore,
    config: &DeliveryConfig,
) -> DeliveryEngine<SecurityAdmission> {
    let _ = key;
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        verify_budget_per_sec: u32::MAX,
        verify_burst: u32::MAX,
        ..SecurityConfig::default()
    };
    let policy = SecurityPolicy::new(security, trust.clone());
    DeliveryEngine::new(SecurityAdmission::new(policy), config.clone())
}

impl Sim {
    pub fn new(seed: u64, nodes: usize, net: NetModel) -> Self {
        Self::with_config(seed, nodes, net, DeliveryConfig::default())
    }

    pub fn with_config(seed: u64, n: usize, net: NetModel, config: DeliveryConfig) -> Self {
        let mut rng = Rng::new(seed);
        let keys: Vec<NodeKey> = (0..n)
            .map(|_| {
                let mut seed_bytes = [0u8; 32];
                for chunk in seed_bytes.chunks_mut(8) {
                    chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
                }
                NodeKey::from_seed(&seed_bytes)
            })
            .collect();
        let mut trust = TrustStore::new();
        for k in &keys {
            trust.add_publisher(k.public());
        }
        let nodes = keys
            .into_iter()
            .map(|key| SimNode {
                engine: engine(&key, &trust, &config),
                key,
                epoch: 1,
                up: true,
            })
            .collect();
        Self {
            now: 0,
            rng,
            net,
            config,
            nodes,
            queue: BinaryHeap::new(),
            order: 0,
            cut: HashSet::new(),
            readers: Vec::new(),
            received: HashMap::new(),
            events: Vec::new(),
            pending: HashMap::new(),
            plans: Vec::new(),
            stalled: HashSet::new(),
            trust,
        }
    }

    pub fn route(topic: &str) -> Route {
        Route::new(topic, TYPE_HASH)
    }

    pub fn add_writer(&mut self, node: usize, topic: &str, qos: Qos) -> WriterId {
        let n = &mut self.nodes[node];
        n.engine
            .add_writer(Self::route(topic), n.key.public(), n.epoch, qos)
    }

    pub fn add_reader(
        &mut self,
        node: usize,
        topic: &str,
        qos: Qos,
        inbox: InboxConfig,
    ) -> ReaderId {
        let r = self.nodes[node]
            .engine
            .add_reader(self.now, Self::route(topic), qos, inbox);
        self.readers.push((node, r));
        r
    }

    /// What discovery would do: match writer (node a) and reader (node b) both ways.
    pub fn connect(
        &mut self,
        a: usize,
        w: WriterId,
        wq: Qos,
        b: usize,
        r: ReaderId,
        rq: Qos,
    ) -> bool {
        let key = self.nodes[a].key.public();
        let ok_w = self.nodes[a]
            .engine
            .match_remote_reader(self.now, w, NodeAddr(b as u64), rq);
        let ok_r =
            self.nodes[b]
                .engine
                .match_remote_writer(self.now, r, NodeAddr(a as u64), key, wq);
        ok_w && ok_r
    }

    /// Publishes `count` messages now (signed in Merkle batches of up to 64).
    pub fn publish(&mut self, node: usize, w: WriterId, count: u64, payload_len: usize) {
        let queued = self.pending.get(&(node, w.0)).map_or(0, VecDeque::len) as u64;
        let n = &self.nodes[node];
        let Some(first) = n.engine.next_fields(w, self.now) else {
            return;
        };
        let mut made = 0;
        while made < count {
            let chunk = (count - made).min(64);
            let batch: Vec<_> = (0..chunk)
                .map(|j| {
                    let mut f = first;
                    f.sequence += queued + made + j;
                    let payload: Vec<u8> = (0..payload_len)
                        .map(|i| (f.sequence as usize + i) as u8)
                        .collect();
                    Envelope::new(f, &payload).unwrap()
                })
                .collect();
            let signed = sign_batch(&n.key, batch).unwrap();
            self.pending.entry((node, w.0)).or_default().extend(signed);
            made += chunk;
        }
        self.pump();
    }

    /// Publishes `total` messages, `batch` every `interval_ns`, starting now.
    pub fn publish_steadily(
        &mut self,
        node: usize,
        w: WriterId,
        total: u64,
        batch: u64,
        interval_ns: u64,
        payload_len: usize,
    ) {
        self.plans.push(Plan {
            node,
            writer: w,
            remaining: total,
            batch,
            interval_ns,
            next_at: self.now,
            payload_len,
        });
    }

    fn pump(&mut self) {
        let now = self.now;
        for ((node, w), queue) in &mut self.pending {
            while let Some(env) = queue.pop_front() {
                match self.nodes[*node]
                    .engine
                    .publish(now, WriterId(*w), env.clone())
                {
                    Ok(()) => {}
                    Err(PublishError::HistoryFull { .. }) => {
                        queue.push_front(env);
                        break;
                    }
                    Err(e) => panic!("publish failed: {e}"),
                }
            }
        }
    }

    fn run_plans(&mut self) {
        let now = self.now;
        let mut due = Vec::new();
        for p in &mut self.plans {
            let backlog = self
                .pending
                .get(&(p.node, p.writer.0))
                .map_or(0, VecDeque::len) as u64;
            if p.remaining > 0 && now >= p.next_at {
                p.next_at = now + p.interval_ns;
                // A publisher held back by a full history waits for its backlog to drain.
                if backlog < 4 * p.batch {
                    let n = p.batch.min(p.remaining);
                    p.remaining -= n;
                    due.push((p.node, p.writer, n, p.payload_len));
                }
            }
        }
        for (node, w, n, len) in due {
            self.publish(node, w, n, len);
        }
    }

    /// Sends raw bytes from `from` to `to` (arrives after the minimum delay).
    pub fn inject(&mut self, from: usize, to: usize, bytes: Bytes) {
        self.order += 1;
        let p = Packet {
            at: self.now + self.net.min_delay_ns,
            order: self.order,
            from,
            to,
            bytes,
        };
        self.queue.push(Reverse(p));
    }

    /// Cuts (or heals) the links between the two groups.
    pub fn partition(&mut self, a: &[usize], b: &[usize], cut: bool) {
        for &x in a {
            for &y in b {
                for pair in [(x, y), (y, x)] {
                    if cut {
                        self.cut.insert(pair);
                    } else {
                        self.cut.remove(&pair);
                    }
                }
            }
        }
    }

    /// Restarts a node: a fresh engine with the next epoch and the same key. The caller
    /// re-creates its writers/readers and reconnects them, as the node would at start-up.
    pub fn restart(&mut self, node: usize) {
        let n = &mut self.nodes[node];
        n.epoch += 1;
        n.engine = engine(&n.key, &self.trust, &self.config);
        self.readers.retain(|(x, _)| *x != node);
        self.pending.retain(|(x, _), _| *x != node);
        self.plans.retain(|p| p.node != node);
    }

    pub fn set_up(&mut self, node: usize, up: bool) {
        self.nodes[node].up = up;
    }

    fn flush(&mut self) {
        for from in 0..self.nodes.len() {
            while let Some(t) = self.nodes[from].engine.poll_transmit() {
                let to = t.to.0 as usize;
                if !self.nodes[from].up
                    || self.cut.contains(&(from, to))
                    || self.rng.chance(self.net.loss)
                {
                    continue;
                }
                let copies = if self.rng.chance(self.net.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let mut delay = self.rng.range(self.net.min_delay_ns, self.net.max_delay_ns);
                    if self.rng.chance(self.net.reorder) {
                        delay += self.rng.range(0, self.net.reorder_delay_ns);
                    }
                    self.order += 1;
                    let p = Packet {
                        at: self.now + delay,
                        order: self.order,
                        from,
                        to,
                        bytes: t.bytes.clone(),
                    };
                    self.queue.push(Reverse(p));
                }
            }
            while let Some(e) = self.nodes[from].engine.poll_event() {
                self.events.push((from, e));
            }
        }
    }

    fn drain(&mut self) {
        for &(node, r) in &self.readers {
            if self.stalled.contains(&(node, r.0)) {
                continue;
            }
            while let Some(env) = self.nodes[node].engine.take(self.now, r) {
                let h = env.header();
                let from = self
                    .nodes
                    .iter()
                    .position(|n| n.key.public().to_bytes() == h.publisher())
                    .unwrap_or(usize::MAX);
                self.received
                    .entry((node, r.0))
                    .or_default()
                    .push((from, h.epoch(), h.sequence()));
            }
        }
    }

    fn next_time(&self) -> Option<u64> {
        let packet = self.queue.peek().map(|Reverse(p)| p.at);
        let timer = self
            .nodes
            .iter()
            .filter(|n| n.up)
            .filter_map(|n| n.engine.poll_timeout())
            .min();
        let plan = self
            .plans
            .iter()
            .filter(|p| p.remaining > 0)
            .map(|p| p.next_at)
            .min();
        [packet, timer, plan].into_iter().flatten().min()
    }

    /// Advances to the next thing that happens; false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        self.flush();
        let Some(next) = self.next_time() else {
            return false;
        };
        self.now = self.now.max(next);
        while self.queue.peek().is_some_and(|Reverse(p)| p.at <= self.now) {
            let Some(Reverse(p)) = self.queue.pop() else {
                break;
            };
            if self.nodes[p.to].up {
                self.nodes[p.to]
                    .engine
                    .handle_input(self.now, NodeAddr(p.from as u64), p.bytes);
            }
        }
        for n in self.nodes.iter_mut().filter(|n| n.up) {
            if n.engine.poll_timeout().is_some_and(|t| t <= self.now) {
                n.engine.handle_timeout(self.now);
            }
        }
        self.run_plans();
        self.pump();
        self.drain();
        self.flush();
        true
    }

    /// Runs until virtual time `until` (or until nothing is left to do).
    pub fn run_until(&mut self, until: u64) {
        self.flush();
        let mut steps = 0u64;
        while self.next_time().is_some_and(|t| t <= until) && self.step() {
            steps += 1;
            assert!(steps < 50_000_000, "simulation did not settle");
        }
        self.now = self.now.max(until);
        self.drain();
        self.flush();
    }

    /// Runs until `done` holds (checked after each step) or virtual time `limit`.
    pub fn run_while(&mut self, limit: u64, mut done: impl FnMut(&Sim) -> bool) -> bool {
        self.flush();
        let mut steps = 0u64;
        while !done(self) {
            if self.now > limit || !self.step() {
                return done(self);
            }
            steps += 1;
            assert!(steps < 50_000_000, "simulation did not settle");
        }
        true
    }

    pub fn got(&self, node: usize, r: ReaderId) -> &[Got] {
        self.received.get(&(node, r.0)).map_or(&[], Vec::as_slice)
    }

    /// Sum of `Lost` counts reported to a reader.
    pub fn lost(&self, node: usize, r: ReaderId) -> u64 {
        self.events
            .iter()
            .filter_map(|(n, e)| match e {
                DeliveryEvent::Lost { reader, count, .. } if *n == node && *reader == r => {
                    Some(*count)
                }
                _ => None,
            })
            .sum()
    }
}
