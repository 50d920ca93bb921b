//! A durable topic across two hosts (each its own shared-memory prefix and daemon, in one
//! process): a subscriber on host B that crashes after its daemon delivered messages it did
//! not commit, and misses messages while it is down, still processes every message once, in
//! order, once it is back (retransmissions from host A's store cross both daemons).
#![cfg(all(feature = "shm", feature = "quic"))]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_core::daemon::{Daemon, DaemonConfig, LinkTransport};
use mesh_core::identity::NodeKey;
use mesh_core::node::{DurablePublisher, DurableSubscriber, Node};
use mesh_core::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};
use mesh_core::store::Store;
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::UInt64;

fn security() -> SecurityConfig {
    SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    }
}

fn trust() -> TrustStore {
    let mut t = TrustStore::new();
    for seed in [71u8, 72, 73, 74] {
        t.add_publisher(NodeKey::from_seed(&[seed; 32]).public());
    }
    t
}

fn config(prefix: &str, seeds: Vec<std::net::SocketAddr>) -> DaemonConfig {
    common::daemon_config(prefix, seeds, LinkTransport::Tcp)
}

fn node(prefix: &str, name: &str, seed: u8, store: &Arc<Store>) -> Node<ShmTransport> {
    Node::builder(name, ShmTransport::with_prefix(prefix).unwrap())
        .key(NodeKey::from_seed(&[seed; 32]))
        .security(security())
        .trust(trust())
        .lossless(true)
        .store(Arc::clone(store))
        .build()
        .unwrap()
}

type Pub = DurablePublisher<UInt64, ShmTransport>;
type Sub = DurableSubscriber<UInt64, ShmTransport>;

/// Drains `sub` (one message per commit) until its cursor reaches `upto` or a callback
/// fails at `fail_at`; serves `publisher` meanwhile.
fn drain(sub: &mut Sub, publisher: &mut Pub, upto: u64, fail_at: Option<u64>) -> u64 {
    let key = NodeKey::from_seed(&[73; 32]).public().to_bytes();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cursor = sub.cursor(&key).unwrap();
        if cursor >= upto {
            return cursor;
        }
        assert!(
            Instant::now() < deadline,
            "stuck at {cursor} (wanted {upto})"
        );
        publisher.serve().unwrap();
        let r = sub.process(1, Duration::from_millis(10), |sample, txn| {
            let value = sample.data.to_native();
            if Some(value) == fail_at {
                return Err(mesh_core::store::StoreError::InUse(
                    "simulated crash".into(),
                ));
            }
            let k = value.to_be_bytes();
            assert!(txn.app(&k).unwrap().is_none(), "{value} processed twice");
            txn.put_app(&k, &[1])
        });
        if r.is_err() {
            return sub.cursor(&key).unwrap();
        }
    }
}

#[test]
fn a_durable_topic_crosses_hosts_exactly_once_through_a_subscriber_crash() {
    let pid = std::process::id();
    let (host_a, host_b) = (format!("omdura{pid}_"), format!("omdurb{pid}_"));
    let dir = std::env::temp_dir().join(format!("omni-daemon-durable-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    let policy = || SecurityPolicy::new(security(), trust());
    let daemon_a = Daemon::start(
        config(&host_a, vec![]),
        Arc::new(NodeKey::from_seed(&[71; 32])),
        policy(),
    )
    .unwrap();
    let daemon_b = Daemon::start(
        config(&host_b, vec![daemon_a.gossip_addr()]),
        Arc::new(NodeKey::from_seed(&[72; 32])),
        policy(),
    )
    .unwrap();
    let store_a = Arc::new(Store::open(&dir.join("talker.redb")).unwrap());
    let talker = node(&host_a, "talker", 73, &store_a);
    let mut publisher = talker.durable_publisher::<UInt64>("/log", 64).unwrap();
    let sub_path = dir.join("logger.redb");
    {
        let store = Arc::new(Store::open(&sub_path).unwrap());
        let logger = node(&host_b, "logger", 74, &store);
        let mut sub = logger
            .durable_subscriber::<UInt64>("/log", 64, "logger")
            .unwrap();
        let batch: Vec<UInt64> = (1..=50).map(|data| UInt64 { data }).collect();
        publisher.publish_all(&batch).unwrap();
        // Processes 1..=45, then "crashes" on 46: its daemon delivered up to 50.
        let cursor = drain(&mut sub, &mut publisher, 50, Some(46));
        assert_eq!(cursor, 45);
    }
    // Down for a while; the publisher goes on.
    let batch: Vec<UInt64> = (51..=120).map(|data| UInt64 { data }).collect();
    publisher.publish_all(&batch).unwrap();
    let store = Arc::new(Store::open(&sub_path).unwrap());
    let logger = node(&host_b, "logger", 74, &store);
    let mut sub = logger
        .durable_subscriber::<UInt64>("/log", 64, "logger")
        .unwrap();
    assert_eq!(drain(&mut sub, &mut publisher, 120, None), 120);
    for value in 1..=120u64 {
        assert!(
            store.app(&value.to_be_bytes()).unwrap().is_some(),
            "{value} lost"
        );
    }
    drop((sub, logger, publisher, talker));
    daemon_b.stop().unwrap();
    daemon_a.stop().unwrap();
    common::remove_shm_prefix(&host_a);
    common::remove_shm_prefix(&host_b);
    let _ = std::fs::remove_dir_all(&dir);
}
