//! The transport conformance suite: every `Transport` implementation passes the same checks
//! (in-process and iceoryx2 shared memory).

mod common;

use std::time::{Duration, Instant};

use mesh_core::envelope::{Envelope, Limits};
use mesh_core::identity::NodeKey;
use mesh_core::security::TrustStore;
use mesh_core::transport::inproc::InProcTransport;
use mesh_core::transport::{ChannelSpec, FramePublisher, FrameSubscriber, Transport};

fn topic(case: &str) -> String {
    format!("/conformance/{}/{case}", std::process::id())
}

fn verify(frame: &[u8], trust: &TrustStore) -> (u64, Vec<u8>) {
    let env = Envelope::parse(frame, &Limits::default()).expect("a whole envelope arrives");
    let v = env
        .verify(trust)
        .expect("signature verifies after transport");
    (v.header().sequence(), v.payload().to_vec())
}

fn recv_all<S: FrameSubscriber>(sub: &mut S, n: usize, trust: &TrustStore) -> Vec<(u64, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        if let Some(f) = sub.recv_timeout(Duration::from_millis(200)).unwrap() {
            out.push(verify(f.as_ref(), trust));
        }
    }
    out
}

fn one_to_one_in_order<T: Transport>(t: &T) {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let spec = ChannelSpec::new(&topic("one_to_one"), 4096);
    let mut sub = t.subscriber(&spec).unwrap();
    let mut publisher = t.publisher(&spec).unwrap();
    for seq in 1..=20u64 {
        let env = common::unsigned(&spec.topic, seq, 100).sign(&key);
        publisher.send(&env).unwrap();
    }
    let got = recv_all(&mut sub, 20, &trust);
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
}

fn signed_in_place_large_frames<T: Transport>(t: &T) {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let len = 1 << 20;
    let spec = ChannelSpec {
        queue_depth: 4,
        ..ChannelSpec::new(&topic("large"), len + 256)
    };
    let mut sub = t.subscriber(&spec).unwrap();
    let mut publisher = t.publisher(&spec).unwrap();
    for seq in 1..=3u64 {
        let fields = common::fields(&spec.topic, seq);
        publisher
            .send_signed_in_place(&key, fields, len, &mut |p| p.fill(seq as u8))
            .unwrap();
    }
    let got = recv_all(&mut sub, 3, &trust);
    assert_eq!(got.len(), 3);
    for (i, (seq, payload)) in got.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(payload.len(), len);
        assert!(payload.iter().all(|b| *b == *seq as u8));
    }
    // A frame over the channel maximum is a typed error, not a panic.
    let err = publisher.send_signed_in_place(
        &key,
        common::fields(&spec.topic, 9),
        len + 1024,
        &mut |_| {},
    );
    assert!(err.is_err());
}

fn many_to_many<T: Transport>(t: &T) {
    let keys = [NodeKey::generate(), NodeKey::generate()];
    let mut trust = TrustStore::new();
    for k in &keys {
        trust.add_publisher(k.public());
    }
    let spec = ChannelSpec::new(&topic("many"), 1024);
    let mut subs = [t.subscriber(&spec).unwrap(), t.subscriber(&spec).unwrap()];
    let mut pubs = [t.publisher(&spec).unwrap(), t.publisher(&spec).unwrap()];
    for seq in 1..=10u64 {
        for (p, k) in pubs.iter_mut().zip(&keys) {
            p.send(&common::unsigned(&spec.topic, seq, 8).sign(k))
                .unwrap();
        }
    }
    for sub in &mut subs {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut per_publisher: std::collections::HashMap<[u8; 32], Vec<u64>> = Default::default();
        let mut n = 0;
        while n < 20 && Instant::now() < deadline {
            if let Some(f) = sub.recv_timeout(Duration::from_millis(200)).unwrap() {
                let env = Envelope::parse(f.as_ref(), &Limits::default())
                    .unwrap()
                    .verify(&trust)
                    .unwrap();
                per_publisher
                    .entry(env.header().publisher())
                    .or_default()
                    .push(env.header().sequence());
                n += 1;
            }
        }
        assert_eq!(per_publisher.len(), 2);
        for seqs in per_publisher.values() {
            assert_eq!(seqs, &(1..=10).collect::<Vec<_>>(), "per-publisher order");
        }
    }
}

fn late_joiner_gets_history<T: Transport>(t: &T) {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let spec = ChannelSpec {
        history: 3,
        ..ChannelSpec::new(&topic("history"), 1024)
    };
    let mut publisher = t.publisher(&spec).unwrap();
    let _early = t.subscriber(&spec).unwrap();
    for seq in 1..=5u64 {
        publisher
            .send(&common::unsigned(&spec.topic, seq, 8).sign(&key))
            .unwrap();
    }
    let mut late = t.subscriber(&spec).unwrap();
    publisher.update().unwrap();
    let got: Vec<u64> = recv_all(&mut late, 3, &trust)
        .into_iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(got, [3, 4, 5]);
}

fn waiting_times_out_and_wakes<T: Transport>(t: &T) {
    let spec = ChannelSpec::new(&topic("wait"), 1024);
    let mut sub = t.subscriber(&spec).unwrap();
    let start = Instant::now();
    assert!(sub
        .recv_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    assert!(start.elapsed() >= Duration::from_millis(90));
    let key = NodeKey::generate();
    let mut publisher = t.publisher(&spec).unwrap();
    publisher
        .send(&common::unsigned(&spec.topic, 1, 8).sign(&key))
        .unwrap();
    let start = Instant::now();
    assert!(sub.recv_timeout(Duration::from_secs(5)).unwrap().is_some());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "woken by the frame, not the timeout"
    );
}

fn slow_subscriber_queue_is_bounded<T: Transport>(t: &T) {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let spec = ChannelSpec {
        queue_depth: 4,
        ..ChannelSpec::new(&topic("bounded"), 1024)
    };
    let mut slow = t.subscriber(&spec).unwrap();
    let mut publisher = t.publisher(&spec).unwrap();
    for seq in 1..=50u64 {
        publisher
            .send(&common::unsigned(&spec.topic, seq, 8).sign(&key))
            .unwrap();
    }
    let mut got = Vec::new();
    while let Some(f) = slow.recv_timeout(Duration::from_millis(300)).unwrap() {
        got.push(verify(f.as_ref(), &trust).0);
    }
    assert!(
        !got.is_empty() && got.len() <= 5,
        "the queue keeps its bound: {got:?}"
    );
    assert_eq!(got.last(), Some(&50), "the newest frames survive");
}

/// A lossless publisher waits for a full queue only up to the stall deadline, then drops that
/// frame for that subscriber (counted); the frames already queued are kept, in order.
fn stalled_subscriber_cannot_block_a_lossless_publisher<T: Transport>(t: &T) {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let spec = ChannelSpec {
        queue_depth: 2,
        lossless: true,
        stall_deadline: Duration::from_millis(100),
        ..ChannelSpec::new(&topic("stall"), 1024)
    };
    let mut sub = t.subscriber(&spec).unwrap();
    let mut publisher = t.publisher(&spec).unwrap();
    // The subscriber has polled once: its end of the channel is connected (iceoryx2 connects a
    // receiver when it first receives).
    assert!(sub.try_recv().unwrap().is_none());
    let started = Instant::now();
    for seq in 1..=4u64 {
        publisher
            .send(&common::unsigned(&spec.topic, seq, 8).sign(&key))
            .unwrap();
    }
    let waited = started.elapsed();
    assert_eq!(
        publisher.stalled_drops(),
        2,
        "frames 3 and 4 dropped for the stalled reader"
    );
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(10),
        "each dropped frame waited about the deadline: {waited:?}"
    );
    let got: Vec<u64> = recv_all(&mut sub, 2, &trust)
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(got, [1, 2]);
    assert!(sub.try_recv().unwrap().is_none());
}

fn suite<T: Transport>(t: &T) {
    one_to_one_in_order(t);
    signed_in_place_large_frames(t);
    many_to_many(t);
    late_joiner_gets_history(t);
    waiting_times_out_and_wakes(t);
    slow_subscriber_queue_is_bounded(t);
    stalled_subscriber_cannot_block_a_lossless_publisher(t);
}

#[test]
fn inproc_transport_conforms() {
    suite(&InProcTransport::new());
}

#[cfg(feature = "shm")]
#[test]
fn shm_transport_conforms() {
    let prefix = format!("omtest{}_", std::process::id());
    let t = mesh_core::transport::shm::ShmTransport::with_prefix(&prefix).unwrap();
    suite(&t);
    drop(t);
    common::remove_shm_prefix(&prefix);
}

fn lossless_channel_waits_for_a_slow_subscriber<T: Transport>(t: &T)
where
    T::Subscriber: Send + 'static,
{
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let spec = ChannelSpec {
        queue_depth: 2,
        lossless: true,
        ..ChannelSpec::new(&topic("lossless"), 1024)
    };
    let mut sub = t.subscriber(&spec).unwrap();
    let mut publisher = t.publisher(&spec).unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        // Poll once so this subscriber's end of the channel is connected (iceoryx2 attaches a
        // receiver when it first receives; until then a full queue drops, not waits).
        assert!(sub.try_recv().unwrap().is_none());
        ready_tx.send(()).unwrap();
        let mut seqs = Vec::new();
        while seqs.len() < 40 {
            std::thread::sleep(Duration::from_millis(1));
            if let Some(f) = sub.recv_timeout(Duration::from_secs(5)).unwrap() {
                seqs.push(verify(f.as_ref(), &trust).0);
            } else {
                break;
            }
        }
        seqs
    });
    ready_rx.recv().unwrap();
    for seq in 1..=40u64 {
        publisher
            .send(&common::unsigned(&spec.topic, seq, 8).sign(&key))
            .unwrap();
    }
    assert_eq!(reader.join().unwrap(), (1..=40).collect::<Vec<_>>());
}

#[test]
fn inproc_lossless() {
    lossless_channel_waits_for_a_slow_subscriber(&InProcTransport::new());
}

#[cfg(feature = "shm")]
#[test]
fn shm_thread_safe_transport_conforms_and_is_lossless() {
    let prefix = format!("omtsafe{}_", std::process::id());
    let t =
        mesh_core::transport::shm::ThreadSafeShmTransport::with_prefix_flavour(&prefix).unwrap();
    suite(&t);
    // Its subscribers are `Send`: the slow reader runs on another thread.
    lossless_channel_waits_for_a_slow_subscriber(&t);
    drop(t);
    common::remove_shm_prefix(&prefix);
}

#[cfg(feature = "shm")]
#[test]
fn a_router_scans_the_hosts_channels_without_counting_itself() {
    use mesh_core::transport::shm::ShmTransport;
    let prefix = format!("omscan{}_", std::process::id());
    let app = ShmTransport::with_prefix(&prefix).unwrap();
    let reliable = ChannelSpec {
        lossless: true,
        queue_depth: 4,
        history: 2,
        max_ports: 6,
        ..ChannelSpec::new("/scan/odom", 4096)
    };
    let _odom = app.publisher(&reliable).unwrap();
    let _cmd = app
        .subscriber(&ChannelSpec::new("/scan/cmd", 1024))
        .unwrap();
    let router = ShmTransport::with_prefix(&prefix).unwrap();
    let before = router.scan().unwrap();
    // The router opens ports with the channel's own settings, which it then does not count.
    let mut found = before
        .iter()
        .find(|c| c.spec.topic == "/scan/odom")
        .unwrap()
        .clone();
    let _export = router.subscriber(&found.spec).unwrap();
    let after = router.scan().unwrap();
    assert_eq!(before, after, "the router's own ports are not counted");
    let odom = &after[1];
    assert_eq!(odom.spec.topic, "/scan/odom");
    assert_eq!((odom.publishers, odom.subscribers), (1, 0));
    assert_eq!(
        (odom.spec.queue_depth, odom.spec.history, odom.spec.lossless),
        (4, 2, true)
    );
    assert!(odom.spec.max_frame_bytes >= 4096);
    let cmd = &after[0];
    assert_eq!(
        (cmd.spec.topic.as_str(), cmd.publishers, cmd.subscribers),
        ("/scan/cmd", 0, 1)
    );
    found.spec.lossless = false;
    assert!(
        router.publisher(&found.spec).is_err(),
        "settings must match the channel's"
    );
    common::remove_shm_prefix(&prefix);
}
