//! Typed publish/subscribe through nodes: in-process and over iceoryx2 shared memory, verified
//! sender DIDs, archives read in place, bounds, replays dropped, ROS 2 names.

mod common;

use std::time::Duration;

use mesh_core::envelope::{signed_len, Envelope, EnvelopeFields, TopicId};
use mesh_core::identity::NodeKey;
use mesh_core::node::{names::NameProblem, Node, NodeError, PublishError};
use mesh_core::security::RejectReason;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::inproc::InProcTransport;
use mesh_core::transport::Transport;
use mesh_core::transport::{ChannelSpec, FramePublisher as _};
use omni_msgs::geometry_msgs::msg::{Point, Pose, Quaternion};
use omni_msgs::omni_msgs::msg::RobotState;
use omni_msgs::rt::Message;

fn pair<T: Transport + Clone>(t: T) -> (Node<T>, Node<T>) {
    let talker = Node::builder("talker", t.clone())
        .namespace("/fleet/amr_1")
        .build()
        .unwrap();
    let mut trust = TrustStore::new();
    trust.add_publisher(talker.did().public_key());
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    let listener = Node::builder("listener", t)
        .namespace("/fleet/amr_1")
        .security(security)
        .trust(trust)
        .build()
        .unwrap();
    (talker, listener)
}

/// A node in the same namespace that nobody trusts.
fn stranger(t: InProcTransport) -> Node<InProcTransport> {
    Node::builder("stranger", t)
        .namespace("/fleet/amr_1")
        .build()
        .unwrap()
}

fn pose(i: u64) -> Pose {
    Pose {
        position: Point {
            x: i as f64,
            y: 2.0,
            z: 3.0,
        },
        orientation: Quaternion::default(),
    }
}

#[test]
fn inproc_typed_round_trip_with_verified_sender() {
    let (talker, listener) = pair(InProcTransport::new());
    let mut sub = listener.subscriber::<Pose>("pose", 1024).unwrap();
    let mut publisher = talker.publisher::<Pose>("pose", 1024).unwrap();
    assert_eq!(publisher.topic(), "/fleet/amr_1/pose");
    for i in 1..=5 {
        publisher.publish(&pose(i)).unwrap();
    }
    for i in 1..=5u64 {
        let sample = sub
            .recv_timeout(Duration::from_secs(1))
            .unwrap()
            .expect("a sample");
        assert_eq!(sample.sender(), talker.did());
        assert_eq!(sample.sequence(), i);
        assert_eq!(sample.epoch(), talker.epoch());
        assert_eq!(sample.position.x.to_native(), i as f64);
        assert_eq!(sample.orientation.w.to_native(), 1.0);
        assert_eq!(sample.to_owned_message().unwrap(), pose(i));
    }
    assert!(sub.try_recv().unwrap().is_none());
    // Blocking forms: `recv` and the iterator.
    for i in 6..=8 {
        publisher.publish(&pose(i)).unwrap();
    }
    assert_eq!(sub.recv().unwrap().sequence(), 6);
    let rest: Vec<u64> = sub.iter().take(2).map(|s| s.unwrap().sequence()).collect();
    assert_eq!(rest, [7, 8]);
}

#[test]
fn bounds_and_names_are_typed_errors() {
    let (talker, _) = pair(InProcTransport::new());
    let mut publisher = talker.publisher::<RobotState>("~/state", 4096).unwrap();
    assert_eq!(publisher.topic(), "/fleet/amr_1/talker/state");
    let state = RobotState {
        robot_id: "x".repeat(65),
        ..Default::default()
    };
    assert!(matches!(
        publisher.publish(&state),
        Err(PublishError::Bounds(_))
    ));
    let err = talker.publisher::<Pose>("bad//name", 64).unwrap_err();
    assert!(
        matches!(err, NodeError::Name(ref e) if e.reason == NameProblem::Empty),
        "{err}"
    );
    assert!(Node::builder("bad name", InProcTransport::new())
        .build()
        .is_err());
    assert!(Node::builder("n", InProcTransport::new())
        .namespace("relative")
        .build()
        .is_err());
}

#[test]
fn untrusted_publishers_and_duplicates_are_dropped() {
    let t = InProcTransport::new();
    let (talker, listener) = pair(t.clone());
    let stranger = stranger(t);
    let mut sub = listener.subscriber::<Pose>("pose", 1024).unwrap();
    stranger
        .publisher::<Pose>("pose", 1024)
        .unwrap()
        .publish(&pose(1))
        .unwrap();
    assert!(sub
        .recv_timeout(Duration::from_millis(50))
        .unwrap()
        .is_none());
    assert_eq!(sub.dropped(), (1, 0), "the stranger's message is rejected");
    // A second publisher of the same node and epoch repeats sequence 1: a duplicate.
    let mut fresh = talker.publisher::<Pose>("pose", 1024).unwrap();
    fresh.publish(&pose(1)).unwrap();
    assert!(sub
        .recv_timeout(Duration::from_millis(50))
        .unwrap()
        .is_some());
    let mut duplicate = talker.publisher::<Pose>("pose", 1024).unwrap();
    duplicate.publish(&pose(1)).unwrap();
    assert!(sub
        .recv_timeout(Duration::from_millis(50))
        .unwrap()
        .is_none());
    assert_eq!(sub.dropped(), (1, 1));
}

#[test]
fn an_older_epoch_of_the_same_key_is_dropped_as_a_replay() {
    let t = InProcTransport::new();
    let seed = [4u8; 32];
    let mut trust = TrustStore::new();
    trust.add_publisher(NodeKey::from_seed(&seed).public());
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    let listener = Node::builder("listener", t.clone())
        .security(security)
        .trust(trust)
        .build()
        .unwrap();
    let mut sub = listener.subscriber::<Pose>("/p", 1024).unwrap();
    let node = |epoch| {
        Node::builder("talker", t.clone())
            .key(NodeKey::from_seed(&seed))
            .epoch(epoch)
            .build()
            .unwrap()
    };
    node(7)
        .publisher::<Pose>("/p", 1024)
        .unwrap()
        .publish(&pose(1))
        .unwrap();
    assert_eq!(
        sub.recv_timeout(Duration::from_millis(50))
            .unwrap()
            .map(|s| s.epoch()),
        Some(7)
    );
    // The same key restarted with an older epoch (a replayed or stale process).
    node(6)
        .publisher::<Pose>("/p", 1024)
        .unwrap()
        .publish(&pose(2))
        .unwrap();
    assert!(sub
        .recv_timeout(Duration::from_millis(50))
        .unwrap()
        .is_none());
    assert_eq!(sub.dropped(), (0, 1));
}
#[cfg(feature = "shm")]
#[test]
fn shm_point_cloud_is_read_in_place() {
    use omni_msgs::sensor_msgs::msg::PointCloud2;
    #[derive(Clone)]
    struct Shared(std::rc::Rc<mesh_core::transport::shm::ShmTransport>);
    impl Transport for Shared {
        type Error = mesh_core::transport::shm::ShmError;
        type Publisher = mesh_core::transport::shm::ShmPublisher;
        type Subscriber = mesh_core::transport::shm::ShmSubscriber;
        fn publisher(&self, s: &ChannelSpec) -> Result<Self::Publisher, Self::Error> {
            self.0.publisher(s)
        }
        fn subscriber(&self, s: &ChannelSpec) -> Result<Self::Subscriber, Self::Error> {
            self.0.subscriber(s)
        }
    }
    let prefix = format!("omnode{}_", std::process::id());
    let shm = mesh_core::transport::shm::ShmTransport::with_prefix(&prefix).unwrap();
    let (talker, listener) = pair(Shared(std::rc::Rc::new(shm)));
    let max = (1 << 20) + 4096;
    let mut sub = listener
        .subscriber::<PointCloud2>("cloud", max)
        .unwrap()
        .zero_copy(true);
    let mut private = listener.subscriber::<PointCloud2>("cloud", max).unwrap();
    let spec = listener
        .channel_spec("cloud", max, &listener.default_qos())
        .unwrap();
    let mut raw = listener.raw_subscriber(&spec).unwrap().zero_copy(true);
    let mut raw_private = listener.raw_subscriber(&spec).unwrap();
    let mut publisher = talker.publisher::<PointCloud2>("cloud", max).unwrap();
    let cloud = PointCloud2 {
        height: 1,
        width: 65536,
        point_step: 16,
        data: vec![7; 1 << 20],
        ..Default::default()
    };
    publisher.publish(&cloud).unwrap();
    let sample = sub
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("the cloud arrives");
    assert!(sample.in_place(), "read from shared memory, not copied");
    assert_eq!(sample.data.len(), 1 << 20);
    assert_eq!(sample.width.to_native(), 65536);
    assert_eq!(sample.sender(), talker.did());
    // The default subscriber verifies and reads a private copy.
    let copied = private
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("the cloud arrives");
    assert!(!copied.in_place());
    assert_eq!(copied.data.len(), 1 << 20);
    // Type-erased subscribers too: in place when asked, else a private copy.
    for (port, in_place) in [(&mut raw, true), (&mut raw_private, false)] {
        let s = port
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .expect("the cloud arrives");
        assert_eq!(s.in_place(), in_place);
        assert_eq!(s.sender(), talker.did());
        assert!(s.payload().len() > 1 << 20);
    }
    drop((sample, copied, private, raw, raw_private));
    // Edit the archived cloud in shared memory before it is signed: the signature covers the
    // edit, and the subscriber reads it in place.
    publisher
        .loan(&cloud, |archived| {
            use mesh_msg_runtime::rkyv::{munge::munge, vec::ArchivedVec};
            use omni_msgs::sensor_msgs::msg::ArchivedPointCloud2;
            // munge's field projection expands to an `unsafe` block (sound: it only
            // projects the sealed reference onto a field).
            #[allow(unsafe_code)]
            let data = {
                munge!(let ArchivedPointCloud2 { data, .. } = archived);
                data
            };
            ArchivedVec::as_slice_seal(data).unseal()[..4].copy_from_slice(&[1, 2, 3, 4]);
        })
        .unwrap();
    let edited = sub
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("the edited cloud arrives, signature verified");
    assert_eq!(&edited.data[..5], &[1, 2, 3, 4, 7]);
    assert_eq!(edited.sender(), talker.did());
    assert_eq!(sub.dropped(), (0, 0));
    drop(edited);
    drop((sub, publisher, talker, listener));
    common::remove_shm_prefix(&prefix);
}

#[test]
fn unsigned_publishing_only_in_development_mode() {
    let t = InProcTransport::new();
    let dev = SecurityConfig {
        mode: SecurityMode::Development,
        ..SecurityConfig::default()
    };
    let talker = Node::builder("talker", t.clone())
        .security(dev.clone())
        .build()
        .unwrap();
    let listener = Node::builder("listener", t.clone())
        .security(dev)
        .build()
        .unwrap();
    let mut sub = listener.subscriber::<Pose>("/p", 1024).unwrap();
    let token = talker.policy().development_mode().unwrap();
    let mut publisher = talker
        .publisher::<Pose>("/p", 1024)
        .unwrap()
        .unsigned(token);
    publisher.publish(&pose(7)).unwrap();
    let sample = sub
        .recv_timeout(Duration::from_secs(1))
        .unwrap()
        .expect("accepted in development mode");
    assert_eq!(sample.position.x.to_native(), 7.0);
    assert_eq!(listener.policy().counters().dev_unsigned_accepted(), 1);
    // Outside development mode there is no token, and unsigned frames are rejected, even from
    // a trusted key.
    let mut trust = TrustStore::new();
    trust.add_publisher(talker.did().public_key());
    let strict = Node::builder("strict", t.clone())
        .trust(trust)
        .build()
        .unwrap();
    assert!(strict.policy().development_mode().is_err());
    let mut strict_sub = strict.subscriber::<Pose>("/p", 1024).unwrap();
    publisher.publish(&pose(8)).unwrap();
    assert!(strict_sub
        .recv_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    assert_eq!(strict.policy().counters().get(RejectReason::Unsigned), 1);
    assert_eq!(strict_sub.dropped().0, 1);
    while sub
        .recv_timeout(Duration::from_millis(20))
        .unwrap()
        .is_some()
    {}
    // Even in development mode an unsigned frame must name a valid key (samples name their
    // sender): an all-zero (small-order) publisher field is refused.
    let fields = EnvelopeFields {
        topic: TopicId::of("/p"),
        type_hash: <Pose as Message>::TYPE_HASH.value,
        epoch: 1,
        sequence: 1,
        timestamp_ns: 0,
    };
    let env = Envelope::new(fields, &[0u8; 8]).unwrap();
    let mut forged = talker
        .policy()
        .seal_unsigned(env, &talker.did().public_key())
        .unwrap()
        .into_inner();
    forged[56..88].fill(0);
    let mut raw = t
        .publisher(&ChannelSpec::new("/p", signed_len(1024)))
        .unwrap();
    raw.write_frame_from(&forged).unwrap();
    let before = sub.dropped().0;
    assert!(sub
        .recv_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    assert_eq!(sub.dropped().0, before + 1, "invalid publisher key refused");
}

#[test]
fn metrics_count_published_delivered_and_dropped_per_topic() {
    let t = InProcTransport::new();
    let (talker, listener) = pair(t.clone());
    let stranger = stranger(t);
    let mut sub = listener.subscriber::<Pose>("pose", 1024).unwrap();
    let mut publisher = talker.publisher::<Pose>("pose", 1024).unwrap();
    for i in 1..=3 {
        publisher.publish(&pose(i)).unwrap();
    }
    stranger
        .publisher::<Pose>("pose", 1024)
        .unwrap()
        .publish(&pose(9))
        .unwrap();
    while sub
        .recv_timeout(Duration::from_millis(50))
        .unwrap()
        .is_some()
    {}
    let mut registry = prometheus_client::registry::Registry::default();
    talker.metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"omnimesh_published_total{topic="/fleet/amr_1/pose"} 3"#),
        "{text}"
    );
    let mut registry = prometheus_client::registry::Registry::default();
    listener.metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"omnimesh_delivered_total{topic="/fleet/amr_1/pose"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"omnimesh_dropped_total{topic="/fleet/amr_1/pose",reason="Rejected"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"omnimesh_delivery_latency_seconds_count{topic="/fleet/amr_1/pose"} 3"#),
        "{text}"
    );
}

#[test]
fn busy_spinning_subscriber_receives_and_times_out() {
    let (talker, listener) = pair(InProcTransport::new());
    let mut sub = listener
        .subscriber::<Pose>("pose", 1024)
        .unwrap()
        .busy_spin(true);
    let mut publisher = talker.publisher::<Pose>("pose", 1024).unwrap();
    let start = std::time::Instant::now();
    assert!(sub
        .recv_timeout(Duration::from_millis(30))
        .unwrap()
        .is_none());
    assert!(start.elapsed() >= Duration::from_millis(30));
    publisher.publish(&pose(3)).unwrap();
    let sample = sub
        .recv_timeout(Duration::from_secs(1))
        .unwrap()
        .expect("spun until it came");
    assert_eq!(sample.position.x.to_native(), 3.0);
}

#[cfg(feature = "shm")]
#[test]
fn losses_are_counted_overwritten_and_stalled() {
    use mesh_core::transport::shm::ShmTransport;
    use omni_msgs::std_msgs::msg::UInt64;
    let prefix = format!("omloss{}_", std::process::id());
    let build = |name: &str, lossless: bool| {
        let key = NodeKey::from_seed(&[42; 32]);
        let mut trust = TrustStore::new();
        trust.add_publisher(key.public());
        Node::builder(name, ShmTransport::with_prefix(&prefix).unwrap())
            .key(key)
            .security(SecurityConfig {
                mode: SecurityMode::Lightweight,
                ..SecurityConfig::default()
            })
            .trust(trust)
            .lossless(lossless)
            .stall_deadline(Duration::from_millis(50))
            .build()
            .unwrap()
    };
    let drain = |sub: &mut mesh_core::node::Subscriber<UInt64, _>| {
        let mut got = Vec::new();
        while let Some(s) = sub.try_recv().unwrap() {
            got.push(s.data.to_native());
        }
        got
    };

    // Overwrite-oldest (the default): a subscriber that falls 20 behind a queue of 8 loses 12,
    // and says so.
    let node = build("overwrite", false);
    let mut publisher = node.publisher::<UInt64>("/loss/overwrite", 64).unwrap();
    let mut sub = node.subscriber::<UInt64>("/loss/overwrite", 64).unwrap();
    publisher.publish(&UInt64 { data: 1 }).unwrap();
    assert_eq!(drain(&mut sub), [1]);
    for i in 2..=21 {
        publisher.publish(&UInt64 { data: i }).unwrap();
    }
    assert_eq!(drain(&mut sub), (14..=21).collect::<Vec<_>>());
    assert_eq!(sub.lost(), 12);

    // Lossless with a stall deadline: the publisher waits 50 ms per frame for the full queue,
    // then drops it for this subscriber; both ends count it.
    let node = build("lossless", true);
    let mut publisher = node.publisher::<UInt64>("/loss/stall", 64).unwrap();
    let mut sub = node.subscriber::<UInt64>("/loss/stall", 64).unwrap();
    for i in 1..=10 {
        publisher.publish(&UInt64 { data: i }).unwrap();
    }
    assert_eq!(publisher.stalled_drops(), 2);
    assert_eq!(drain(&mut sub), (1..=8).collect::<Vec<_>>());
    publisher.publish(&UInt64 { data: 11 }).unwrap();
    assert_eq!(drain(&mut sub), [11]);
    assert_eq!(sub.lost(), 2, "9 and 10 never arrived");
    let mut registry = prometheus_client::registry::Registry::default();
    node.metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("omnimesh_stall_drops_total{topic=\"/loss/stall\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("omnimesh_lost_total{topic=\"/loss/stall\"} 2"),
        "{text}"
    );
    drop((publisher, sub, node));
    common::remove_shm_prefix(&prefix);
}

#[cfg(feature = "shm")]
#[test]
fn qos_maps_onto_shared_memory_topics() {
    use mesh_core::delivery::{History, Qos};
    use mesh_core::transport::shm::ShmTransport;
    use omni_msgs::std_msgs::msg::UInt64;
    let prefix = format!("omqos{}_", std::process::id());
    let key = NodeKey::from_seed(&[43; 32]);
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let node = Node::builder("qos", ShmTransport::with_prefix(&prefix).unwrap())
        .key(key)
        .security(SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        })
        .trust(trust)
        .build()
        .unwrap();

    // Transient local, keep last 4: a subscriber created after 6 messages gets the last 4.
    let latched = Qos::reliable()
        .transient_local()
        .with_history(History::KeepLast(4));
    let mut publisher = node
        .publisher_with::<UInt64>("/qos/latched", 64, &latched)
        .unwrap();
    for i in 1..=6 {
        publisher.publish(&UInt64 { data: i }).unwrap();
    }
    let mut late = node
        .subscriber_with::<UInt64>("/qos/latched", 64, &latched)
        .unwrap();
    publisher.update().unwrap();
    let mut got = Vec::new();
    while let Some(s) = late.recv_timeout(Duration::from_millis(200)).unwrap() {
        got.push(s.data.to_native());
    }
    assert_eq!(got, [3, 4, 5, 6]);
    assert_eq!(late.lost(), 0, "a late joiner has lost nothing");

    // A deeper queue than the topic has, or another reliability: typed errors that say so.
    let err = node
        .subscriber_with::<UInt64>("/qos/latched", 64, &Qos::reliable())
        .unwrap_err();
    assert!(err.to_string().contains("smaller history depth"), "{err}");
    let err = node
        .subscriber_with::<UInt64>(
            "/qos/latched",
            64,
            &Qos::best_effort().with_history(History::KeepLast(4)),
        )
        .unwrap_err();
    assert!(err.to_string().contains("same reliability"), "{err}");

    // Lifespan: a message older than 1 ms when received is dropped as expired.
    let short = Qos {
        lifespan_ns: Some(1_000_000),
        ..Qos::best_effort()
    };
    let mut publisher = node
        .publisher_with::<UInt64>("/qos/life", 64, &short)
        .unwrap();
    let mut sub = node
        .subscriber_with::<UInt64>("/qos/life", 64, &short)
        .unwrap();
    publisher.publish(&UInt64 { data: 1 }).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert!(sub.try_recv().unwrap().is_none());
    assert_eq!(sub.expired(), 1);
    publisher.publish(&UInt64 { data: 2 }).unwrap();
    assert_eq!(sub.try_recv().unwrap().expect("fresh").data.to_native(), 2);
    drop((publisher, sub, late, node));
    common::remove_shm_prefix(&prefix);
}

#[test]
fn a_node_takes_its_security_from_a_config_file() {
    let config =
        mesh_core::config::Config::from_toml("[security]\nmode = \"development\"\n").unwrap();
    let node = Node::builder("configured", InProcTransport::new())
        .config(&config)
        .build()
        .unwrap();
    assert!(node.policy().development_mode().is_ok());
    let production = Node::builder("default", InProcTransport::new())
        .build()
        .unwrap();
    assert!(production.policy().development_mode().is_err());
}
