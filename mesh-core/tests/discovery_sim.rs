//! SWIM discovery in a deterministic simulator: real `Discovery` state machines with real
//! signatures, a virtual clock and an in-memory network (delays and losses drawn from a seed;
//! addresses are loopback labels, nothing is sent). Reports and bounds convergence rounds,
//! dead-node detection time and per-node message load as the fleet grows.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::sync::Arc;

use mesh_core::discovery::{Discovery, DiscoveryConfig, MemberState};
use mesh_core::envelope::TopicId;
use mesh_core::identity::{NodeKey, PublicKey};

const MS: u64 = 1_000_000;
const PERIOD: u64 = 200 * MS;

fn addr(i: usize) -> SocketAddr {
    ([127, 0, 1 + (i / 250) as u8, (i % 250) as u8 + 1], 7000).into()
}

/// In flight: (delivery time, tie-breaker, from, to, bytes).
type InFlight = Reverse<(u64, u64, usize, usize, Vec<u8>)>;

struct Sim {
    nodes: Vec<Discovery>,
    keys: Vec<PublicKey>,
    down: Vec<bool>,
    queue: BinaryHeap<InFlight>,
    index: BTreeMap<SocketAddr, usize>,
    now: u64,
    rng: u64,
    loss_per_mille: u64,
    next_id: u64,
    trusted: Arc<Vec<[u8; 32]>>,
}

impl Sim {
    fn new(n: usize, seed: u64, loss_per_mille: u64) -> Self {
        let config = DiscoveryConfig {
            period_ns: PERIOD,
            ping_timeout_ns: 60 * MS,
            ..DiscoveryConfig::default()
        };
        let keys: Vec<Arc<NodeKey>> = (0..n)
            .map(|i| {
                let mut s = [0u8; 32];
                s[..8].copy_from_slice(&(i as u64 + seed * 1000).to_le_bytes());
                Arc::new(NodeKey::from_seed(&s))
            })
            .collect();
        let nodes = (0..n)
            .map(|i| {
                let wanted = vec![TopicId::of(&format!("/robot_{i}/cmd"))];
                let offered = vec![TopicId::of(&format!("/robot_{i}/odom"))];
                let mut d = Discovery::new(
                    Arc::clone(&keys[i]),
                    addr(i),
                    vec![([127, 0, 0, 1], 9000 + i as u16).into()],
                    (offered, wanted),
                    config.clone(),
                    seed * 7919 + i as u64,
                    // Nodes start within the first period, not in lockstep.
                    (i as u64 * 7_919_993) % PERIOD,
                );
                // Everyone joins through node 0 and node 1.
                d.add_seed(addr(0));
                d.add_seed(addr(1));
                d
            })
            .collect();
        Self {
            trusted: Arc::new(keys.iter().map(|k| k.public().to_bytes()).collect()),
            keys: keys.iter().map(|k| k.public()).collect(),
            nodes,
            down: vec![false; n],
            queue: BinaryHeap::new(),
            index: (0..n).map(|i| (addr(i), i)).collect(),
            now: 0,
            rng: seed,
            loss_per_mille,
            next_id: 0,
        }
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Runs until `until` (virtual nanoseconds); bounded by the step count.
    fn run_until(&mut self, until: u64) {
        for _ in 0..5_000_000 {
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.down[*i])
                .filter_map(|(i, d)| d.poll_timeout().map(|t| (t, i)))
                .min();
            let next_msg = self.queue.peek().map(|Reverse(m)| m.0);
            let t = match (next_timer, next_msg) {
                (Some((a, _)), Some(b)) => a.min(b),
                (Some((a, _)), None) => a,
                (None, Some(b)) => b,
                (None, None) => until,
            };
            if t > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(t);
            if next_msg == Some(t) {
                let Reverse((_, _, from, to, bytes)) = self.queue.pop().expect("peeked");
                if !self.down[to] {
                    let trusted = Arc::clone(&self.trusted);
                    self.nodes[to].handle_input(self.now, addr(from), &bytes, |k| {
                        trusted.contains(&k.to_bytes())
                    });
                }
            } else if let Some((_, i)) = next_timer {
                self.nodes[i].handle_timeout(self.now);
            }
            self.flush();
        }
        panic!("simulation step bound reached");
    }

    fn flush(&mut self) {
        for from in 0..self.nodes.len() {
            while let Some((to, bytes)) = self.nodes[from].poll_transmit() {
                if self.down[from] {
                    continue;
                }
                let Some(&to) = self.index.get(&to) else {
                    continue;
                };
                if self.random() % 1000 < self.loss_per_mille {
                    continue;
                }
                let delay = MS / 2 + self.random() % (2 * MS);
                self.next_id += 1;
                self.queue
                    .push(Reverse((self.now + delay, self.next_id, from, to, bytes)));
            }
        }
    }

    fn converged(&self) -> bool {
        let n = self.nodes.len();
        self.nodes.iter().enumerate().all(|(i, d)| {
            self.down[i]
                || d.members()
                    .filter(|m| m.state == MemberState::Alive)
                    .count()
                    == n - 1 - self.down.iter().filter(|x| **x).count()
        })
    }

    fn all_see_dead(&self, victim: usize) -> bool {
        self.nodes.iter().enumerate().all(|(i, d)| {
            self.down[i]
                || d.member(&self.keys[victim])
                    .is_none_or(|m| m.state == MemberState::Dead)
        })
    }

    fn sent(&self) -> (u64, u64) {
        self.nodes
            .iter()
            .map(|d| (d.stats().sent, d.stats().sent_bytes))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }
}

/// Rounds (periods) until every node knows every other as alive.
fn convergence_rounds(sim: &mut Sim, max_rounds: u64) -> u64 {
    for round in 1..=max_rounds {
        sim.run_until(round * PERIOD);
        if sim.converged() {
            return round;
        }
    }
    panic!("no convergence in {max_rounds} rounds");
}

fn log2(n: usize) -> f64 {
    (n as f64).log2()
}

#[test]
fn a_hundred_nodes_converge_detect_a_death_and_load_grows_slowly() {
    let mut report = Vec::new();
    let mut per_node_round = BTreeMap::new();
    for n in [25usize, 50, 100] {
        let mut sim = Sim::new(n, 3, 0);
        let rounds = convergence_rounds(&mut sim, 200);
        // Steady-state load over 20 rounds after convergence.
        let (m0, b0) = sim.sent();
        let start = sim.now;
        sim.run_until(start + 20 * PERIOD);
        let (m1, b1) = sim.sent();
        let msgs = (m1 - m0) as f64 / (n as f64 * 20.0);
        let bytes = (b1 - b0) as f64 / (n as f64 * 20.0);
        per_node_round.insert(n, (msgs, bytes));
        // Kill one node: how long until everybody declares it dead?
        let victim = n / 2;
        sim.down[victim] = true;
        let killed = sim.now;
        let mut detected = None;
        for step in 1..=400u64 {
            sim.run_until(killed + step * PERIOD / 4);
            if sim.all_see_dead(victim) {
                detected = Some(sim.now - killed);
                break;
            }
        }
        let detected = detected.expect("the dead node is detected");
        report.push(format!(
            "n={n}: converged in {rounds} rounds; {msgs:.2} messages and {bytes:.0} bytes per node per round; dead detected by all in {:.1} s ({:.1} periods)",
            detected as f64 / 1e9,
            detected as f64 / PERIOD as f64
        ));
        // Bounds: convergence in O(log n) rounds from two seeds, detection within the
        // suspicion timeout (4 x log2(n+1) periods) plus a few periods to probe and spread.
        assert!(
            rounds as f64 <= 6.0 * log2(n) + 10.0,
            "n={n}: {rounds} rounds"
        );
        let bound = (4.0 * (log2(n + 1)).ceil() + 12.0) * PERIOD as f64;
        assert!(
            (detected as f64) <= bound,
            "n={n}: detection took {detected} ns"
        );
    }
    for line in &report {
        eprintln!("{line}");
    }
    // Messages per node per round stay constant (SWIM: one probe and its ack), and bytes grow
    // no faster than the O(log n) gossip allowance.
    let (m25, b25) = per_node_round[&25];
    let (m100, b100) = per_node_round[&100];
    assert!(
        m100 <= m25 * 1.5,
        "messages per node per round: {m25:.2} -> {m100:.2}"
    );
    assert!(
        b100 <= b25 * (log2(100) / log2(25)) * 1.5,
        "bytes per node per round: {b25:.0} -> {b100:.0}"
    );
}

#[test]
fn membership_survives_loss_and_tracks_interest() {
    let n = 30;
    let mut sim = Sim::new(n, 11, 50); // 5% loss
    let rounds = convergence_rounds(&mut sim, 300);
    eprintln!("n={n} with 5% loss: converged in {rounds} rounds");
    // Nobody alive is wrongly declared dead after 30 more rounds of lossy probing.
    let start = sim.now;
    sim.run_until(start + 30 * PERIOD);
    for (i, d) in sim.nodes.iter().enumerate() {
        for m in d.members() {
            assert_ne!(m.state, MemberState::Dead, "node {i} buried a live member");
        }
    }
    // Interest-based routing: only node 7 wants /robot_7/cmd; its address is known.
    let topic = TopicId::of("/robot_7/cmd");
    let interested = sim.nodes[3].interested_in(&topic);
    assert_eq!(interested, vec![sim.keys[7]]);
    assert_eq!(
        sim.nodes[3].route(&sim.keys[7]).unwrap(),
        &[SocketAddr::from(([127, 0, 0, 1], 9007))]
    );
}

#[test]
fn an_untrusted_node_cannot_join() {
    let mut sim = Sim::new(10, 5, 0);
    // Node 9 is not in anybody's trust list (and does not trust others either).
    let stranger = sim.keys[9].to_bytes();
    sim.trusted = Arc::new(
        sim.trusted
            .iter()
            .copied()
            .filter(|k| *k != stranger)
            .collect(),
    );
    sim.run_until(40 * PERIOD);
    for (i, d) in sim.nodes.iter().enumerate().take(9) {
        assert!(
            d.member(&sim.keys[9]).is_none(),
            "node {i} admitted the stranger"
        );
        assert_eq!(d.live_count(), 8, "node {i} knows the 8 others");
    }
}

#[test]
fn a_restarted_node_is_accepted_again() {
    let n = 12;
    let mut sim = Sim::new(n, 21, 0);
    convergence_rounds(&mut sim, 100);
    let victim = 5;
    sim.down[victim] = true;
    let start = sim.now;
    for step in 1..=400u64 {
        sim.run_until(start + step * PERIOD / 4);
        if sim.all_see_dead(victim) {
            break;
        }
    }
    assert!(sim.all_see_dead(victim));
    // The same key comes back as a fresh process (new state machine, new incarnation).
    let config = DiscoveryConfig {
        period_ns: PERIOD,
        ping_timeout_ns: 60 * MS,
        ..DiscoveryConfig::default()
    };
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(victim as u64 + 21 * 1000).to_le_bytes());
    let mut fresh = Discovery::new(
        Arc::new(NodeKey::from_seed(&s)),
        addr(victim),
        vec![([127, 0, 0, 1], 9000 + victim as u16).into()],
        (vec![], vec![]),
        config,
        99,
        sim.now,
    );
    fresh.add_seed(addr(0));
    sim.nodes[victim] = fresh;
    sim.down[victim] = false;
    let back = sim.now;
    let rounds = convergence_rounds(&mut sim, 100 + back / PERIOD) - back / PERIOD;
    eprintln!("restarted node accepted by all in {rounds} rounds");
}
