//! Property tests over seeds and network conditions, gaps beyond the buffer bound, and
//! sequence numbers far ahead.

mod sim;

use bytes::Bytes;
use mesh_core::delivery::wire::{Control, StreamId};
use mesh_core::delivery::{
    DeliveryConfig, DeliveryEvent, History, InboxConfig, Qos, ReaderId, WriterId,
};
use mesh_core::envelope::Envelope;
use proptest::prelude::*;
use sim::{NetModel, Sim, MS, SEC};

const TOPIC: &str = "/fleet/amr_2/scan";

/// A reliable keep-all writer (history of `history` messages) on node 0 connected to a
/// reliable reader with a large inbox on node 1.
fn keep_all_pair(sim: &mut Sim, history: u32) -> (WriterId, ReaderId) {
    let wq = Qos::reliable().with_history(History::KeepAll {
        max_messages: history,
        max_bytes: 1 << 20,
    });
    let w = sim.add_writer(0, TOPIC, wq);
    let inbox = InboxConfig {
        capacity: 1 << 20,
        ..InboxConfig::default()
    };
    let r = sim.add_reader(1, TOPIC, Qos::reliable(), inbox);
    sim.connect(0, w, wq, 1, r, Qos::reliable());
    (w, r)
}

/// Runs `n` reliable messages through a network and checks exactly-once, in-order delivery.
fn reliable_run(seed: u64, net: NetModel, n: u64) -> Result<(), String> {
    let mut sim = Sim::new(seed, 2, net);
    let (w, r) = keep_all_pair(&mut sim, 256);
    sim.publish_steadily(0, w, n, 32, MS, 8);
    sim.run_while(300 * SEC, |s| s.got(1, r).len() as u64 >= n);
    sim.run_until(sim.now + SEC);
    let seqs: Vec<u64> = sim.got(1, r).iter().map(|x| x.2).collect();
    let expected: Vec<u64> = (1..=n).collect();
    if seqs != expected {
        return Err(format!(
            "delivered {} of {n}, first wrong index {:?}",
            seqs.len(),
            seqs.iter().zip(&expected).position(|(a, b)| a != b)
        ));
    }
    if sim.lost(1, r) != 0 {
        return Err(format!("{} reported lost", sim.lost(1, r)));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// On failure proptest prints the minimal failing input; add its seed to `known_seeds`
    /// below to replay it for ever.
    #[test]
    fn reliable_is_exactly_once_in_order_for_any_seed(
        seed in any::<u64>(),
        loss in 0.0..0.25f64,
        duplicate in 0.0..0.15f64,
        reorder in 0.0..0.5f64,
    ) {
        let net = NetModel::lossy(loss, duplicate, reorder);
        let result = reliable_run(seed, net, 3_000);
        prop_assert!(result.is_ok(), "replay: reliable_run({seed:#x}, NetModel::lossy({loss}, {duplicate}, {reorder}), 3000): {:?}", result);
    }
}

#[test]
fn known_seeds() {
    for (seed, loss, dup, reorder) in [
        (0, 0.2, 0.1, 0.5),
        (1, 0.0, 0.0, 0.0),
        (0xdead_beef, 0.25, 0.15, 0.5),
    ] {
        reliable_run(seed, NetModel::lossy(loss, dup, reorder), 3_000).unwrap();
    }
}

fn small_buffer() -> DeliveryConfig {
    DeliveryConfig {
        gap_buffer_messages: 64,
        ..DeliveryConfig::default()
    }
}

#[test]
fn a_gap_larger_than_the_buffer_is_reported_not_stalled() {
    for qos in [Qos::best_effort(), Qos::reliable()] {
        let wq = qos.with_history(History::KeepLast(16));
        let mut sim = Sim::with_config(5, 2, NetModel::perfect(), small_buffer());
        let w = sim.add_writer(0, TOPIC, wq);
        let r = sim.add_reader(1, TOPIC, qos, InboxConfig::default());
        sim.connect(0, w, wq, 1, r, qos);
        sim.publish(0, w, 10, 8);
        sim.run_until(SEC);
        sim.partition(&[0], &[1], true);
        sim.publish(0, w, 200, 8);
        sim.run_until(2 * SEC);
        sim.partition(&[0], &[1], false);
        sim.publish(0, w, 10, 8);
        sim.run_until(10 * SEC);
        let seqs: Vec<u64> = sim.got(1, r).iter().map(|x| x.2).collect();
        assert!(seqs.windows(2).all(|p| p[0] < p[1]));
        assert_eq!(&seqs[..10], &(1..=10).collect::<Vec<_>>()[..]);
        assert_eq!(
            *seqs.last().unwrap(),
            220,
            "{qos:?}: the stream continues after the gap"
        );
        assert_eq!(
            seqs.len() as u64 + sim.lost(1, r),
            220,
            "{qos:?}: every sequence delivered or reported"
        );
        assert!(sim.lost(1, r) >= 184, "{qos:?}");
    }
}

#[test]
fn a_sequence_two_to_the_forty_ahead_is_bounded_work() {
    let far = 1u64 << 40;
    for qos in [Qos::best_effort(), Qos::reliable()] {
        let mut sim = Sim::with_config(9, 2, NetModel::perfect(), small_buffer());
        let w = sim.add_writer(0, TOPIC, qos);
        let r = sim.add_reader(1, TOPIC, qos, InboxConfig::default());
        sim.connect(0, w, qos, 1, r, qos);
        sim.publish(0, w, 5, 8);
        sim.run_until(SEC);
        // A validly signed envelope from the same publisher, 2^40 ahead.
        let mut fields = sim.nodes[0].engine.next_fields(w, sim.now).unwrap();
        fields.sequence = far;
        let env = Envelope::new(fields, b"far ahead")
            .unwrap()
            .sign(&sim.nodes[0].key);
        sim.inject(0, 1, Bytes::from(env.into_inner()));
        let stream = StreamId {
            topic: Sim::route(TOPIC).topic,
            publisher: sim.nodes[0].key.public().to_bytes(),
            epoch: 1,
        };
        let hb = Control::Heartbeat {
            stream,
            start: 1,
            first_available: far,
            next: far + 1,
        };
        sim.inject(0, 1, Bytes::from(hb.encode()));
        sim.run_until(3 * SEC);
        let lost = sim.lost(1, r);
        assert!(
            lost >= far - 6 - 64,
            "{qos:?}: the jump is reported as lost ({lost})"
        );
        let seqs: Vec<u64> = sim.got(1, r).iter().map(|x| x.2).collect();
        assert_eq!(&seqs[..5], [1, 2, 3, 4, 5]);
        if qos == Qos::best_effort() {
            assert_eq!(
                seqs.last(),
                Some(&far),
                "best effort delivers the far message after the gap"
            );
            assert!(sim
                .events
                .iter()
                .any(|(_, e)| matches!(e, DeliveryEvent::Resync { .. })));
        }
    }
}

#[test]
fn a_lost_first_heartbeat_and_evicted_history_are_reported_not_skipped() {
    for qos in [Qos::reliable(), Qos::best_effort()] {
        let wq = qos.with_history(History::KeepLast(3));
        let mut sim = Sim::new(13, 2, NetModel::perfect());
        let w = sim.add_writer(0, TOPIC, wq);
        let r = sim.add_reader(1, TOPIC, qos, InboxConfig::default());
        // The match-time heartbeat and the first 10 messages are lost; keep-last 3 evicts 1..7.
        sim.partition(&[0], &[1], true);
        sim.connect(0, w, wq, 1, r, qos);
        sim.publish(0, w, 10, 8);
        sim.run_until(10 * MS);
        sim.partition(&[0], &[1], false);
        sim.publish(0, w, 2, 8);
        sim.run_until(5 * SEC);
        let got = sim.got(1, r).len() as u64;
        assert_eq!(
            got + sim.lost(1, r),
            12,
            "{qos:?}: every sequence delivered or reported"
        );
        assert!(sim.lost(1, r) >= 7, "{qos:?}: lost {}", sim.lost(1, r));
    }
}

#[test]
fn reliable_completes_when_the_byte_bound_holds_few_messages() {
    // 2 KiB gap buffer, ~400-byte frames, 20% loss: the base message is always admitted, so the
    // stream never stalls behind a full buffer.
    let config = DeliveryConfig {
        gap_buffer_bytes: 2048,
        ..DeliveryConfig::default()
    };
    let mut sim = Sim::with_config(17, 2, NetModel::lossy(0.2, 0.05, 0.3), config);
    let (w, r) = keep_all_pair(&mut sim, 64);
    sim.publish_steadily(0, w, 500, 8, MS, 200);
    assert!(
        sim.run_while(300 * SEC, |s| s.got(1, r).len() >= 500),
        "delivered {}",
        sim.got(1, r).len()
    );
    let seqs: Vec<u64> = sim.got(1, r).iter().map(|x| x.2).collect();
    assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
}

#[test]
fn keep_all_transient_local_keeps_publishing_once_acknowledged() {
    let wq = Qos::reliable()
        .transient_local()
        .with_history(History::KeepAll {
            max_messages: 8,
            max_bytes: 1 << 20,
        });
    let mut sim = Sim::new(19, 2, NetModel::perfect());
    let w = sim.add_writer(0, TOPIC, wq);
    let r = sim.add_reader(1, TOPIC, wq, InboxConfig::default());
    sim.connect(0, w, wq, 1, r, wq);
    sim.publish_steadily(0, w, 100, 4, 5 * MS, 8);
    assert!(
        sim.run_while(60 * SEC, |s| s.got(1, r).len() >= 100),
        "delivered {}",
        sim.got(1, r).len()
    );
}

#[test]
fn inconsistent_heartbeats_are_malformed() {
    let stream = StreamId {
        topic: Sim::route(TOPIC).topic,
        publisher: [1; 32],
        epoch: 1,
    };
    for (start, first_available, next) in [(5, 4, 9), (1, 10, 9)] {
        let hb = Control::Heartbeat {
            stream,
            start,
            first_available,
            next,
        };
        assert!(Control::decode(&hb.encode()).is_err());
    }
}
