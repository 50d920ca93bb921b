//! DTN custody in a deterministic simulation with real signed envelopes and the real
//! admission path: robot -> relay -> base where the two links are up alternately (never both
//! at once); a tampering relay; copies through two relays; expiry; eviction. The system test
//! in network namespaces with daemons comes with the daemon integration.

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use mesh_core::dtn::{Action, Change, Dtn, DtnConfig, PeerKey, StoredBundle};
use mesh_core::envelope::Envelope;
use mesh_core::identity::NodeKey;
use mesh_core::security::{PeerId, RejectReason, Route, SecurityConfig, SecurityMode};
use mesh_core::security::{SecurityPolicy, TrustStore};

const TOPIC: &str = "/robot/telemetry";
const T0: u64 = 1_764_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn robot() -> NodeKey {
    NodeKey::from_seed(&[21; 32])
}

fn policy() -> SecurityPolicy {
    let mut trust = TrustStore::new();
    trust.add_publisher(robot().public());
    SecurityPolicy::new(
        SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        },
        trust,
    )
}

/// The robot's `seq`th signed envelope, stamped `at`.
fn envelope(seq: u64, at: u64) -> Bytes {
    let mut fields = common::fields(TOPIC, seq);
    fields.timestamp_ns = at;
    let payload = seq.to_le_bytes();
    Bytes::from(
        Envelope::new(fields, &payload)
            .unwrap()
            .sign(&robot())
            .into_inner(),
    )
}

/// A host: its DTN state, its admission, whether its nodes want the topic, what it delivered.
struct Host {
    key: PeerKey,
    dtn: Dtn,
    policy: SecurityPolicy,
    wants: bool,
    custodian: bool,
    delivered: Vec<u64>,
    /// Flips a payload byte of every bundle it sends (a tampering relay).
    tamper: bool,
}

impl Host {
    fn new(seed: u8, wants: bool, custodian: bool, config: DtnConfig) -> Self {
        Self {
            key: [seed; 32],
            dtn: Dtn::new(config),
            policy: policy(),
            wants,
            custodian,
            delivered: Vec::new(),
            tamper: false,
        }
    }

    fn receive(&mut self, from: PeerKey, frame: &Bytes, now: u64) -> Vec<Action> {
        let (policy, wants) = (&self.policy, self.wants);
        let mut rx = policy.receiver();
        let route = Route::new(TOPIC, common::TYPE_HASH);
        let actions = self.dtn.on_frame(
            from,
            frame,
            now,
            |env| {
                rx.admit(policy, PeerId(0), env.clone(), &route, now)
                    .is_ok()
            },
            |_| wants,
            |_| false,
        );
        for a in &actions {
            if let Action::Deliver { envelope } = a {
                self.delivered
                    .push(u64::from_le_bytes(envelope[152..160].try_into().unwrap()));
            }
        }
        actions
    }
}

/// Runs the link between hosts `a` and `b` until nothing more moves.
fn exchange(hosts: &mut [Host], a: usize, b: usize, now: u64) {
    // Each direction of a link is FIFO, like a TCP or QUIC stream.
    let mut queue: std::collections::VecDeque<(usize, usize, Bytes)> = Default::default();
    for (from, to) in [(a, b), (b, a)] {
        let (peer, wants, custodian) = (hosts[to].key, hosts[to].wants, hosts[to].custodian);
        for act in hosts[from].dtn.contact(peer, |_| wants, custodian, now) {
            if let Action::Send { frame, .. } = act {
                queue.push_back((from, to, frame));
            }
        }
    }
    let mut rounds = 0;
    while let Some((from, to, mut frame)) = queue.pop_front() {
        rounds += 1;
        assert!(rounds < 1_000_000, "the exchange does not settle");
        if hosts[from].tamper && frame.starts_with(b"OMBD") {
            let mut f = frame.to_vec();
            let last = f.len() - 70; // a payload byte (before the 64-byte signature)
            f[last] ^= 0x01;
            frame = Bytes::from(f);
        }
        let sender = hosts[from].key;
        for act in hosts[to].receive(sender, &frame, now) {
            if let Action::Send { frame, .. } = act {
                queue.push_back((to, from, frame));
            }
        }
    }
}

#[test]
fn bundles_cross_alternating_links_once_in_order_and_verified() {
    let config = DtnConfig::default();
    let mut hosts = vec![
        Host::new(1, false, false, config), // robot
        Host::new(2, false, true, config),  // relay
        Host::new(3, true, false, config),  // base station
    ];
    let mut seq = 0;
    for phase in 0..20u64 {
        let now = T0 + phase * 1000 * MS;
        // The robot keeps publishing, in range or not.
        for _ in 0..25 {
            seq += 1;
            hosts[0]
                .dtn
                .originate(envelope(seq, now + seq * MS), now)
                .unwrap();
        }
        // Even phases: robot-relay up; odd phases: relay-base up. Never both.
        if phase % 2 == 0 {
            exchange(&mut hosts, 0, 1, now);
        } else {
            exchange(&mut hosts, 1, 2, now);
        }
    }
    let base = &hosts[2];
    // Every message published before the last relay-base contact, once, in order.
    let expected: Vec<u64> = (1..=475).collect();
    assert_eq!(base.delivered, expected);
    assert_eq!(base.dtn.stats().rejected, 0);
    // Custody moved on: the robot holds only what it published after its last contact.
    assert_eq!(hosts[0].dtn.held().0, 25);
    assert_eq!(
        hosts[1].dtn.held().0,
        0,
        "the relay released what the base took"
    );
    assert!(hosts[1].dtn.stats().released >= 475);
}

#[test]
fn a_tampering_relay_is_caught_by_the_final_receiver() {
    let config = DtnConfig::default();
    let mut hosts = vec![
        Host::new(1, false, false, config),
        Host::new(2, false, true, config),
        Host::new(3, true, false, config),
    ];
    hosts[1].tamper = true;
    for seq in 1..=10 {
        hosts[0].dtn.originate(envelope(seq, T0), T0).unwrap();
    }
    exchange(&mut hosts, 0, 1, T0);
    exchange(&mut hosts, 1, 2, T0);
    let base = &hosts[2];
    assert!(
        base.delivered.is_empty(),
        "altered bundles must not be delivered"
    );
    assert_eq!(base.dtn.stats().rejected, 10);
    // Counted as security events of the base's policy.
    let counters = base.policy.counters();
    assert_eq!(
        counters.get(RejectReason::DigestMismatch) + counters.get(RejectReason::BadSignature),
        10
    );
    // Not acknowledged: the relay still holds them (until they expire).
    assert_eq!(hosts[1].dtn.held().0, 10);
}

#[test]
fn copies_through_two_relays_are_delivered_once() {
    let config = DtnConfig::default();
    let mut hosts = vec![
        Host::new(1, false, false, config),
        Host::new(2, false, true, config),
        Host::new(4, false, true, config),
        Host::new(3, true, false, config),
    ];
    for seq in 1..=30 {
        hosts[0].dtn.originate(envelope(seq, T0), T0).unwrap();
    }
    // The robot offers to both relays before either acknowledges: both carry copies.
    let mut offers: HashMap<usize, Vec<Bytes>> = HashMap::new();
    for relay in [1, 2] {
        let peer = hosts[relay].key;
        for act in hosts[0].dtn.contact(peer, |_| false, true, T0) {
            if let Action::Send { frame, .. } = act {
                offers.entry(relay).or_default().push(frame);
            }
        }
    }
    for (relay, frames) in offers {
        let robot = hosts[0].key;
        for f in frames {
            hosts[relay].receive(robot, &f, T0);
        }
    }
    exchange(&mut hosts, 1, 3, T0 + MS);
    exchange(&mut hosts, 2, 3, T0 + 2 * MS);
    let base = &hosts[3];
    assert_eq!(base.delivered, (1..=30).collect::<Vec<_>>());
    assert_eq!(base.dtn.stats().duplicates, 30);
    // The duplicate acknowledgement released the second relay's copies too.
    assert_eq!((hosts[1].dtn.held().0, hosts[2].dtn.held().0), (0, 0));
}

#[test]
fn expired_bundles_are_dropped_and_a_full_store_evicts_the_oldest() {
    let config = DtnConfig {
        ttl_ns: 10 * MS,
        max_bundles: 5,
        ..DtnConfig::default()
    };
    let mut dtn = Dtn::new(config);
    for seq in 1..=8 {
        dtn.originate(envelope(seq, T0 + seq * MS), T0).unwrap();
    }
    assert_eq!(dtn.held().0, 5);
    assert_eq!(dtn.stats().evicted, 3);
    dtn.tick(T0 + 15 * MS); // sequences 6..=8 expire at 16..=18 ms
    assert_eq!((dtn.held().0, dtn.stats().expired), (3, 2));
    dtn.tick(T0 + 20 * MS);
    assert_eq!((dtn.held().0, dtn.stats().expired), (0, 5));
    // Arriving already expired: dropped, not acknowledged.
    let mut late = Dtn::new(config);
    let frame = mesh_core::dtn::wire::bundle(T0, 0, &envelope(1, T0));
    let actions = late.on_frame([9; 32], &frame, T0 + MS, |_| true, |_| true, |_| false);
    assert!(actions.is_empty());
    assert_eq!(late.stats().expired, 1);
    // Garbage is counted, not a panic.
    let junk = Bytes::from_static(b"OMBD\x01");
    assert!(late
        .on_frame([9; 32], &junk, T0, |_| true, |_| true, |_| false)
        .is_empty());
    assert_eq!(late.stats().malformed, 1);
}

#[test]
fn custody_changes_survive_a_restart_through_restore() {
    let mut relay = Dtn::new(DtnConfig::default());
    let robot_host = [1; 32];
    let mut frames = Vec::new();
    for seq in 1..=3 {
        let env = envelope(seq, T0 + seq);
        frames.push(mesh_core::dtn::wire::bundle(T0 + HOUR, 0, &env));
    }
    for f in &frames {
        let acts = relay.on_frame(robot_host, f, T0, |_| true, |_| false, |_| true);
        assert!(
            acts.iter().any(|a| matches!(a, Action::Send { .. })),
            "acknowledged"
        );
    }
    let changes = relay.take_changes();
    assert_eq!(changes.len(), 3);
    // What a store would keep, through its byte form.
    let kept: Vec<_> = changes
        .into_iter()
        .map(|c| match c {
            Change::Held(id, b) => (id, StoredBundle::decode(&b.encode()).unwrap()),
            other => panic!("{other:?}"),
        })
        .collect();
    let mut restarted = Dtn::new(DtnConfig::default());
    restarted.restore(kept);
    assert_eq!(restarted.held().0, 3);
    assert!(
        restarted.take_changes().is_empty(),
        "restoring is not a change"
    );
    // Already seen: a re-offer from the robot is acknowledged, not taken twice.
    let acts = restarted.on_frame(robot_host, &frames[0], T0, |_| true, |_| false, |_| true);
    assert_eq!(restarted.stats().duplicates, 1);
    assert_eq!(acts.len(), 1);
    // Offered on to the base (never back to the robot), released on its acknowledgement.
    let base = [3; 32];
    assert!(restarted
        .contact(robot_host, |_| false, false, T0)
        .is_empty());
    let offers = restarted.contact(base, |_| true, false, T0);
    assert_eq!(offers.len(), 3);
    let first = mesh_core::dtn::wire::BundleId::of(&envelope(1, T0 + 1)).unwrap();
    let ack = mesh_core::dtn::wire::custody_ack(&first);
    restarted.on_frame(base, &ack, T0, |_| true, |_| false, |_| false);
    assert_eq!(restarted.take_changes(), vec![Change::Released(first)]);
    assert!(StoredBundle::decode(b"short").is_none());
}

const HOUR: u64 = 3_600_000_000_000;
