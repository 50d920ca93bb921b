//! The per-host router's decisions: interest-based forwarding, verification of frames from
//! peers, one delivery per frame however many peers carry it, no echo back out (no loops).

mod common;

use std::sync::Arc;

use bytes::Bytes;
use mesh_core::envelope::{Envelope, EnvelopeFields, TopicId};
use mesh_core::identity::NodeKey;
use mesh_core::router::{Inbound, LocalTopic, Router};
use mesh_core::security::{Reject, SecurityPolicy};

fn policy(trusted: &[&NodeKey]) -> Arc<SecurityPolicy> {
    common::lightweight_policy(trusted)
}

fn frame(key: &NodeKey, topic: &str, seq: u64) -> Bytes {
    let fields = EnvelopeFields {
        topic: TopicId::of(topic),
        type_hash: [4; 32],
        epoch: 1,
        sequence: seq,
        timestamp_ns: 1,
    };
    Bytes::from(
        Envelope::new(fields, b"payload")
            .unwrap()
            .sign(key)
            .into_inner(),
    )
}

fn topic(name: &str, publishers: usize, subscribers: usize) -> LocalTopic {
    LocalTopic {
        name: name.into(),
        publishers,
        subscribers,
    }
}

#[test]
fn frames_go_only_where_subscribers_are_and_arrive_once() {
    let robot = NodeKey::from_seed(&[1; 32]); // a node on host A
    let (host_b, host_c) = ([0xb; 32], [0xc; 32]);
    let mut a = Router::new(policy(&[&robot]));
    a.set_local_topics([
        topic("/odom", 1, 0),
        topic("/cmd", 0, 1),
        topic("/log", 1, 0),
    ]);
    let (offered, wanted) = a.announcement_topics();
    assert_eq!(offered.len(), 2);
    assert_eq!(wanted, [TopicId::of("/cmd")]);
    a.set_peer_interest(host_b, [TopicId::of("/odom")]);
    a.set_peer_interest(host_c, [TopicId::of("/odom"), TopicId::of("/other")]);
    assert_eq!(a.topics_to_export(), ["/odom"]);
    assert_eq!(a.topics_to_import(), ["/cmd"]);
    assert_eq!(
        a.on_local_frame(&frame(&robot, "/odom", 1)),
        [host_b, host_c]
    );
    assert!(
        a.on_local_frame(&frame(&robot, "/log", 1)).is_empty(),
        "nobody wants /log"
    );
    a.remove_peer(&host_c);
    assert_eq!(a.on_local_frame(&frame(&robot, "/odom", 2)), [host_b]);

    // Host B receives the frame from A and, again, from C (a second path).
    let mut b = Router::new(policy(&[&robot]));
    b.set_local_topics([topic("/odom", 0, 2)]);
    b.set_peer_interest([0xa; 32], [TopicId::of("/odom")]);
    let f = frame(&robot, "/odom", 7);
    match b.on_remote_frame(1, f.clone(), 10) {
        Inbound::Deliver { topic, frame } => {
            assert_eq!((topic.as_str(), frame), ("/odom", f.clone()))
        }
        other => panic!("not delivered: {other:?}"),
    }
    assert!(matches!(
        b.on_remote_frame(2, f.clone(), 11),
        Inbound::Duplicate
    ));
    // B's own export subscriber sees the delivered frame on its local channel: an echo, it
    // goes nowhere (A wants /odom, but it came from A's side).
    assert!(b.on_local_frame(&f).is_empty());
    let stats = b.stats();
    assert_eq!((stats.delivered, stats.duplicates, stats.echoes), (1, 1, 1));
    // Frames for a topic with no local subscriber are not even verified.
    assert!(matches!(
        b.on_remote_frame(1, frame(&robot, "/nobody", 1), 12),
        Inbound::NoSubscriber
    ));
}

#[test]
fn forged_and_untrusted_frames_are_refused() {
    let robot = NodeKey::from_seed(&[1; 32]);
    let stranger = NodeKey::from_seed(&[2; 32]);
    let mut b = Router::new(policy(&[&robot]));
    b.set_local_topics([topic("/cmd", 0, 1)]);
    let mut forged = frame(&robot, "/cmd", 1).to_vec();
    let last = forged.len() - 70;
    forged[last] ^= 1;
    assert!(matches!(
        b.on_remote_frame(1, Bytes::from(forged), 1),
        Inbound::Rejected(Reject::Verify(_))
    ));
    assert!(matches!(
        b.on_remote_frame(1, frame(&stranger, "/cmd", 1), 1),
        Inbound::Rejected(Reject::UnknownPublisher(_))
    ));
    assert!(matches!(
        b.on_remote_frame(1, Bytes::from_static(b"garbage"), 1),
        Inbound::Rejected(Reject::Malformed(_))
    ));
    assert_eq!(b.stats().rejected, 3);
}

#[test]
fn dtn_topics_go_to_custody_and_carried_envelopes_are_checked() {
    let robot = NodeKey::from_seed(&[1; 32]);
    let stranger = NodeKey::from_seed(&[2; 32]);
    let mut robot_host = Router::new(policy(&[&robot]));
    robot_host.set_dtn(&["/telemetry".to_owned()], false);
    robot_host.set_local_topics([topic("/telemetry", 1, 0), topic("/odom", 1, 0)]);
    // A DTN topic is exported although nobody wants it yet, and its frames are recognized.
    assert_eq!(robot_host.topics_to_export(), vec!["/telemetry".to_owned()]);
    assert!(robot_host.is_dtn_frame(&frame(&robot, "/telemetry", 1)));
    assert!(!robot_host.is_dtn_frame(&frame(&robot, "/odom", 1)));

    // A relay announces itself as custodian, and checks what it carries without a channel.
    let mut relay = Router::new(policy(&[&robot]));
    relay.set_dtn(&["/telemetry".to_owned()], true);
    assert!(relay
        .announcement_topics()
        .1
        .contains(&TopicId::of(mesh_core::router::CUSTODIAN)));
    assert_eq!(
        relay.admit_carried(&frame(&robot, "/telemetry", 1), 1),
        Ok(TopicId::of("/telemetry"))
    );
    let mut altered = frame(&robot, "/telemetry", 2).to_vec();
    altered[152] ^= 1;
    assert!(matches!(
        relay.admit_carried(&Bytes::from(altered), 1),
        Err(Reject::Verify(_))
    ));
    assert!(relay
        .admit_carried(&frame(&stranger, "/telemetry", 1), 1)
        .is_err());
    // A host that knows the custodian's announcement sees it as one.
    let mut base = Router::new(policy(&[&robot]));
    base.set_peer_interest([9; 32], relay.announcement_topics().1);
    assert!(base.is_custodian(&[9; 32]) && !base.is_custodian(&[8; 32]));
}
