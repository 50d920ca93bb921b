//! The delivery guarantees under a simulated network: reliable delivery through loss,
//! duplication and reordering; recovery after a partition; best effort that keeps order,
//! never duplicates and reports every loss; restarts; late joiners; back-pressure.

mod sim;

use mesh_core::delivery::{DeliveryEvent, History, InboxConfig, Overflow, Qos, QosPolicyKind};
use sim::{NetModel, Sim, MS, SEC};

const TOPIC: &str = "/fleet/amr_1/odom";

fn reliable_keep_all() -> Qos {
    Qos::reliable().with_history(History::KeepAll {
        max_messages: 512,
        max_bytes: 64 << 20,
    })
}

/// One publisher (node 0) and one subscriber (node 1), connected.
fn pair(
    seed: u64,
    net: NetModel,
    wq: Qos,
    rq: Qos,
) -> (
    Sim,
    mesh_core::delivery::WriterId,
    mesh_core::delivery::ReaderId,
) {
    let mut sim = Sim::new(seed, 2, net);
    let w = sim.add_writer(0, TOPIC, wq);
    let r = sim.add_reader(
        1,
        TOPIC,
        rq,
        InboxConfig {
            capacity: 1 << 20,
            overflow: Overflow::DropNewest,
        },
    );
    assert!(sim.connect(0, w, wq, 1, r, rq));
    (sim, w, r)
}

fn assert_exact_sequence(got: &[(usize, u64, u64)], epoch: u64, n: u64) {
    let seqs: Vec<u64> = got
        .iter()
        .map(|(_, e, s)| {
            assert_eq!(*e, epoch);
            *s
        })
        .collect();
    if seqs.len() as u64 != n || seqs.iter().zip(1..).any(|(s, want)| *s != want) {
        let first_bad = seqs.iter().zip(1u64..).find(|(s, w)| *s != w);
        panic!(
            "got {} messages, expected 1..={n}; first mismatch {first_bad:?}",
            seqs.len()
        );
    }
}

#[test]
fn reliable_100k_through_loss_duplication_and_reordering() {
    let net = NetModel::lossy(0.10, 0.05, 0.25);
    let (mut sim, w, r) = pair(0x5eed_0001, net, reliable_keep_all(), Qos::reliable());
    sim.publish_steadily(0, w, 100_000, 64, MS / 2, 32);
    let done = sim.run_while(600 * SEC, |s| s.got(1, r).len() >= 100_000);
    assert!(
        done,
        "only {} of 100000 delivered by t={} ms",
        sim.got(1, r).len(),
        sim.now / MS
    );
    sim.run_until(sim.now + SEC);
    assert_exact_sequence(sim.got(1, r), 1, 100_000);
    assert_eq!(sim.lost(1, r), 0);
    let rx = sim.nodes[1].engine.counters().clone();
    let tx = sim.nodes[0].engine.counters().clone();
    assert!(
        rx.duplicates > 1000,
        "duplicates were seen and dropped: {rx:?}"
    );
    assert!(
        tx.retransmitted > 5000,
        "losses were repaired by retransmission: {tx:?}"
    );
}

#[test]
fn partition_of_30_seconds_then_heal_recovers_everything() {
    let net = NetModel::lossy(0.05, 0.01, 0.10);
    let (mut sim, w, r) = pair(0x5eed_0002, net, reliable_keep_all(), Qos::reliable());
    sim.publish_steadily(0, w, 20_000, 32, MS, 16);
    sim.run_until(SEC);
    let before = sim.got(1, r).len();
    sim.partition(&[0], &[1], true);
    sim.run_until(31 * SEC);
    let during = sim.got(1, r).len() - before;
    assert!(
        during < 600,
        "a partition lets (almost) nothing through: {during}"
    );
    sim.partition(&[0], &[1], false);
    assert!(
        sim.run_while(400 * SEC, |s| s.got(1, r).len() >= 20_000),
        "recovered {}",
        sim.got(1, r).len()
    );
    assert_exact_sequence(sim.got(1, r), 1, 20_000);
    assert_eq!(sim.lost(1, r), 0);
}

#[test]
fn best_effort_keeps_order_drops_duplicates_and_reports_every_loss() {
    let net = NetModel::lossy(0.10, 0.05, 0.25);
    let (mut sim, w, r) = pair(0x5eed_0003, net, Qos::best_effort(), Qos::best_effort());
    sim.publish_steadily(0, w, 20_000, 16, MS, 16);
    sim.run_until(60 * SEC);
    let seqs: Vec<u64> = sim.got(1, r).iter().map(|x| x.2).collect();
    assert!(
        seqs.windows(2).all(|p| p[0] < p[1]),
        "strictly increasing: in order, no duplicates"
    );
    let lost = sim.lost(1, r);
    assert!(lost > 1000, "10% loss is reported: {lost}");
    assert_eq!(
        seqs.len() as u64 + lost,
        20_000,
        "every sequence is delivered or reported lost"
    );
}

#[test]
fn transient_local_late_joiner_gets_the_last_n_exactly_once() {
    let wq = Qos::reliable()
        .with_history(History::KeepLast(5))
        .transient_local();
    for net in [NetModel::perfect(), NetModel::lossy(0.1, 0.2, 0.3)] {
        let mut sim = Sim::new(7, 3, net);
        let w = sim.add_writer(0, TOPIC, wq);
        let early = sim.add_reader(1, TOPIC, wq, InboxConfig::default());
        assert!(sim.connect(0, w, wq, 1, early, wq));
        sim.publish(0, w, 20, 8);
        sim.run_until(2 * SEC);
        let late = sim.add_reader(2, TOPIC, wq, InboxConfig::default());
        assert!(sim.connect(0, w, wq, 2, late, wq));
        sim.run_until(10 * SEC);
        let got: Vec<u64> = sim.got(2, late).iter().map(|x| x.2).collect();
        assert_eq!(got, [16, 17, 18, 19, 20]);
        // Keep-last 5 may lose older messages under loss; every one is delivered or reported.
        assert_eq!(sim.got(1, early).len() as u64 + sim.lost(1, early), 20);
        // A volatile late joiner gets only what comes after it joined.
        let vq = Qos::reliable();
        let volatile = sim.add_reader(2, TOPIC, vq, InboxConfig::default());
        assert!(sim.connect(0, w, wq, 2, volatile, vq));
        sim.publish(0, w, 3, 8);
        sim.run_until(20 * SEC);
        let got: Vec<u64> = sim.got(2, volatile).iter().map(|x| x.2).collect();
        assert_eq!(got, [21, 22, 23]);
    }
}

#[test]
fn publisher_restart_starts_a_new_epoch_and_reports_it() {
    let (mut sim, w, r) = pair(
        11,
        NetModel::lossy(0.05, 0.0, 0.1),
        reliable_keep_all(),
        Qos::reliable(),
    );
    sim.publish(0, w, 100, 8);
    sim.run_until(5 * SEC);
    assert_eq!(sim.got(1, r).len(), 100);
    sim.restart(0);
    let w2 = sim.add_writer(0, TOPIC, reliable_keep_all());
    // Discovery re-matches the restarted writer with the existing reader.
    assert!(sim.nodes[0].engine.match_remote_reader(
        sim.now,
        w2,
        mesh_core::delivery::NodeAddr(1),
        Qos::reliable()
    ));
    sim.publish(0, w2, 50, 8);
    sim.run_until(15 * SEC);
    let got = sim.got(1, r);
    assert_eq!(got.len(), 150);
    assert!(got[..100]
        .iter()
        .zip(1..)
        .all(|(x, s)| x.1 == 1 && x.2 == s));
    assert!(got[100..]
        .iter()
        .zip(1..)
        .all(|(x, s)| x.1 == 2 && x.2 == s));
    assert!(sim
        .events
        .iter()
        .any(|(_, e)| matches!(e, DeliveryEvent::EpochChanged { old: 1, new: 2, .. })));
}

#[test]
fn a_slow_subscriber_stays_bounded_and_never_stalls_the_others() {
    let mut sim = Sim::new(21, 3, NetModel::lossy(0.02, 0.0, 0.1));
    let wq = reliable_keep_all();
    let w = sim.add_writer(0, TOPIC, wq);
    let fast = sim.add_reader(1, TOPIC, Qos::reliable(), InboxConfig::default());
    let slow_cfg = InboxConfig {
        capacity: 16,
        overflow: Overflow::Block {
            timeout_ns: 50 * MS,
        },
    };
    let slow = sim.add_reader(2, TOPIC, Qos::reliable(), slow_cfg);
    assert!(sim.connect(0, w, wq, 1, fast, Qos::reliable()));
    assert!(sim.connect(0, w, wq, 2, slow, Qos::reliable()));
    sim.stalled.insert((2, slow.0));
    sim.publish_steadily(0, w, 5_000, 16, MS, 16);
    assert!(sim.run_while(120 * SEC, |s| s.got(1, fast).len() >= 5_000));
    assert_exact_sequence(sim.got(1, fast), 1, 5_000);
    assert_eq!(
        sim.nodes[2].engine.inbox_len(slow),
        16,
        "the slow inbox holds its bound"
    );
    let c = sim.nodes[2].engine.counters();
    assert!(
        c.block_timeout > 0,
        "held messages are dropped after the block timeout, counted: {c:?}"
    );
    // Drop policies: counted, bounded.
    for (overflow, oldest) in [(Overflow::DropOldest, true), (Overflow::DropNewest, false)] {
        let mut sim = Sim::new(22, 2, NetModel::perfect());
        let w = sim.add_writer(0, TOPIC, wq);
        let r = sim.add_reader(
            1,
            TOPIC,
            Qos::reliable(),
            InboxConfig {
                capacity: 10,
                overflow,
            },
        );
        assert!(sim.connect(0, w, wq, 1, r, Qos::reliable()));
        sim.stalled.insert((1, r.0));
        sim.publish(0, w, 100, 4);
        sim.run_until(5 * SEC);
        let c = sim.nodes[1].engine.counters();
        let dropped = if oldest {
            c.inbox_drop_oldest
        } else {
            c.inbox_drop_newest
        };
        assert_eq!(dropped, 90);
        sim.stalled.clear();
        sim.run_until(6 * SEC);
        let first = sim.got(1, r).first().map(|x| x.2);
        assert_eq!(first, Some(if oldest { 91 } else { 1 }));
    }
}

#[test]
fn incompatible_qos_is_reported_not_matched() {
    let mut sim = Sim::new(31, 2, NetModel::perfect());
    let w = sim.add_writer(0, TOPIC, Qos::best_effort());
    let r = sim.add_reader(1, TOPIC, Qos::reliable(), InboxConfig::default());
    assert!(!sim.connect(0, w, Qos::best_effort(), 1, r, Qos::reliable()));
    sim.run_until(SEC);
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        DeliveryEvent::IncompatibleQos { policies, .. } if policies == &[QosPolicyKind::Reliability]
    )));
}

#[test]
fn deadline_and_liveliness_events() {
    let wq = Qos {
        liveliness_lease_ns: Some(100 * MS),
        deadline_ns: Some(50 * MS),
        ..Qos::reliable()
    };
    let rq = Qos {
        liveliness_lease_ns: Some(200 * MS),
        deadline_ns: Some(100 * MS),
        ..Qos::reliable()
    };
    let (mut sim, w, r) = pair(41, NetModel::perfect(), wq, rq);
    sim.publish(0, w, 1, 8);
    sim.run_until(50 * MS);
    assert!(!sim
        .events
        .iter()
        .any(|(_, e)| matches!(e, DeliveryEvent::DeadlineMissed { .. })));
    sim.run_until(400 * MS);
    assert!(sim
        .events
        .iter()
        .any(|(n, e)| *n == 1 && matches!(e, DeliveryEvent::DeadlineMissed { .. })));
    assert!(!sim
        .events
        .iter()
        .any(|(_, e)| matches!(e, DeliveryEvent::LivelinessChanged { alive: false, .. })));
    sim.set_up(0, false);
    sim.run_until(SEC);
    assert!(sim
        .events
        .iter()
        .any(|(_, e)| matches!(e, DeliveryEvent::LivelinessChanged { alive: false, .. })));
    let _ = r;
}

#[test]
fn lifespan_expires_messages_in_transit_and_in_history() {
    // The network takes 1 ms: a 500 us lifespan expires everything on the way, 50 ms nothing.
    for (lifespan, delivered) in [(500_000, 0), (50 * MS, 20)] {
        let wq = Qos {
            lifespan_ns: Some(lifespan),
            ..Qos::reliable()
        };
        let (mut sim, w, r) = pair(51, NetModel::perfect(), wq, Qos::reliable());
        sim.publish(0, w, 20, 8);
        sim.run_until(SEC);
        assert_eq!(sim.got(1, r).len(), delivered);
        assert_eq!(
            sim.nodes[1].engine.counters().expired,
            20 - delivered as u64
        );
    }
    // A transient-local late joiner does not receive history older than the lifespan.
    let wq = Qos {
        lifespan_ns: Some(100 * MS),
        ..Qos::reliable().transient_local()
    };
    let mut sim = Sim::new(52, 2, NetModel::perfect());
    let w = sim.add_writer(0, TOPIC, wq);
    sim.publish(0, w, 5, 8);
    sim.run_until(500 * MS);
    let r = sim.add_reader(1, TOPIC, wq, InboxConfig::default());
    assert!(sim.connect(0, w, wq, 1, r, wq));
    sim.run_until(SEC);
    assert!(sim.got(1, r).is_empty(), "expired history is not replayed");
}
