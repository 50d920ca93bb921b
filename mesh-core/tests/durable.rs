//! Durable topics over real shared memory (iceoryx2) and real stores (redb files): messages
//! processed exactly once and in order although the subscriber stops and starts again and
//! the publisher goes on meanwhile; application state committed with the cursors; epochs
//! that never repeat; the store's own guarantees (history ranges, trimming, cursors) and a
//! damaged store reported with its path and the recovery. The crash test with SIGKILL
//! cycles across processes is `tests/system/tests/durable_crash.rs`.
#![cfg(feature = "shm")]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_core::envelope::TopicId;
use mesh_core::identity::NodeKey;
use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::store::{Store, StoreError};
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::UInt64;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("omni-durable-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn node(prefix: &str, name: &str, seed: u8, store: &Arc<Store>) -> Node<ShmTransport> {
    let mut trust = TrustStore::new();
    trust.add_publisher(NodeKey::from_seed(&[1; 32]).public());
    trust.add_publisher(NodeKey::from_seed(&[2; 32]).public());
    Node::builder(name, ShmTransport::with_prefix(prefix).unwrap())
        .key(NodeKey::from_seed(&[seed; 32]))
        .security(SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        })
        .trust(trust)
        .lossless(true)
        .store(Arc::clone(store))
        .build()
        .unwrap()
}

/// Drains `sub` into the processed log (application state keyed by the value) until it
/// holds `upto`, failing on a duplicate.
fn drain_until(
    sub: &mut mesh_core::node::DurableSubscriber<UInt64, ShmTransport>,
    publisher: &mut mesh_core::node::DurablePublisher<UInt64, ShmTransport>,
    upto: u64,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let key = NodeKey::from_seed(&[1; 32]).public().to_bytes();
    while sub.cursor(&key).unwrap() < upto {
        assert!(
            Instant::now() < deadline,
            "stuck at {}",
            sub.cursor(&key).unwrap()
        );
        publisher.serve().unwrap();
        sub.process(1000, Duration::from_millis(20), |sample, txn| {
            let k = sample.data.to_native().to_be_bytes();
            assert!(txn.app(&k)?.is_none(), "{} processed twice", sample.data);
            txn.put_app(&k, &sample.sequence().to_be_bytes())
        })
        .unwrap();
    }
}

#[test]
fn messages_are_processed_once_in_order_across_a_subscriber_restart() {
    let prefix = format!("omdur{}_", std::process::id());
    let d = dir("restart");
    let pub_store = Arc::new(Store::open(&d.join("talker.redb")).unwrap());
    let talker = node(&prefix, "talker", 1, &pub_store);
    let mut publisher = talker.durable_publisher::<UInt64>("/log", 64).unwrap();
    let sub_path = d.join("listener.redb");
    {
        let store = Arc::new(Store::open(&sub_path).unwrap());
        let listener = node(&prefix, "listener", 2, &store);
        let mut sub = listener
            .durable_subscriber::<UInt64>("/log", 64, "logger")
            .unwrap();
        let batch: Vec<UInt64> = (1..=50).map(|data| UInt64 { data }).collect();
        publisher.publish_all(&batch).unwrap();
        drain_until(&mut sub, &mut publisher, 50);
        assert_eq!(sub.duplicates(), 0);
    }
    // The subscriber is gone; the publisher goes on.
    let batch: Vec<UInt64> = (51..=120).map(|data| UInt64 { data }).collect();
    publisher.publish_all(&batch).unwrap();
    // Back with the same store: it resumes after 50, and gets 51..=120 once.
    let store = Arc::new(Store::open(&sub_path).unwrap());
    let listener = node(&prefix, "listener", 2, &store);
    let mut sub = listener
        .durable_subscriber::<UInt64>("/log", 64, "logger")
        .unwrap();
    drain_until(&mut sub, &mut publisher, 120);
    assert!(publisher.replayed() >= 70, "{}", publisher.replayed());
    for value in 1..=120u64 {
        let seq = store.app(&value.to_be_bytes()).unwrap();
        assert_eq!(seq, Some(value.to_be_bytes().to_vec()), "value {value}");
    }
    assert_eq!(store.stats().unwrap().app_entries, 120);
    drop((sub, listener, publisher, talker));
    common::remove_shm_prefix(&prefix);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_restarted_publisher_continues_its_sequence_under_a_new_epoch() {
    let prefix = format!("omdurp{}_", std::process::id());
    let d = dir("pubrestart");
    let path = d.join("talker.redb");
    let mut epochs = Vec::new();
    for round in 0..3u64 {
        let store = Arc::new(Store::open(&path).unwrap());
        let talker = node(&prefix, "talker", 1, &store);
        epochs.push(talker.epoch());
        let mut publisher = talker.durable_publisher::<UInt64>("/log", 64).unwrap();
        assert_eq!(publisher.next_sequence(), round * 10 + 1);
        let batch: Vec<UInt64> = (0..10).map(|data| UInt64 { data }).collect();
        assert_eq!(publisher.publish_all(&batch).unwrap(), round * 10 + 10);
    }
    assert!(epochs.windows(2).all(|w| w[0] < w[1]), "{epochs:?}");
    let store = Store::open(&path).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.epoch, epochs[2]);
    assert_eq!(stats.history.len(), 1);
    assert_eq!((stats.history[0].1, stats.history[0].3), (30, 30));
    common::remove_shm_prefix(&prefix);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_store_keeps_ranges_trims_and_cursors() {
    let d = dir("store");
    let store = Store::open(&d.join("s.redb")).unwrap();
    let (a, b) = (TopicId::of("/a"), TopicId::of("/b"));
    let mut txn = store.write().unwrap();
    for seq in 1..=100u64 {
        txn.append_history(&a, seq, &seq.to_le_bytes()).unwrap();
    }
    txn.append_history(&b, 7, b"b7").unwrap();
    txn.set_cursor("sub", &[9; 32], &a, 42).unwrap();
    txn.commit().unwrap();
    // Uncommitted work changes nothing.
    let mut txn = store.write().unwrap();
    txn.set_cursor("sub", &[9; 32], &a, 99).unwrap();
    drop(txn);
    assert_eq!(store.cursor("sub", &[9; 32], &a).unwrap(), 42);
    assert_eq!(store.cursor("other", &[9; 32], &a).unwrap(), 0);
    assert_eq!(
        (
            store.last_sequence(&a).unwrap(),
            store.last_sequence(&b).unwrap()
        ),
        (100, 7)
    );
    let after: Vec<u64> = store
        .history_after(&a, 95, 3)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(after, vec![96, 97, 98]);
    let mut txn = store.write().unwrap();
    assert_eq!(txn.trim_history(&a, 10).unwrap(), 90);
    txn.commit().unwrap();
    assert_eq!(store.history_after(&a, 0, 1000).unwrap().len(), 10);
    assert_eq!(
        store.history_after(&b, 0, 10).unwrap(),
        vec![(7, b"b7".to_vec())]
    );
    let first = store.next_epoch(5).unwrap();
    assert!(store.next_epoch(0).unwrap() > first);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_truncated_store_is_reported_with_its_path_and_the_way_out() {
    let d = dir("corrupt");
    let path = d.join("s.redb");
    {
        let store = Store::open(&path).unwrap();
        let mut txn = store.write().unwrap();
        for seq in 1..=200u64 {
            txn.append_history(&TopicId::of("/a"), seq, &[7u8; 512])
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let len = std::fs::metadata(&path).unwrap().len();
    let whole = std::fs::read(&path).unwrap();
    // Cut at several places: in the header, in the first pages, in the middle, at the end.
    for cut in [1, 100, 4096, len / 3, len - 1] {
        std::fs::write(&path, &whole[..usize::try_from(cut).unwrap()]).unwrap();
        let opened = Store::open(&path);
        assert!(
            matches!(opened, Err(StoreError::Corrupt { .. })),
            "cut at {cut} of {len}: {opened:?}"
        );
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { .. }),
        "a truncated file must be reported as damaged: {err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("move it aside"), "{text}");
    // The documented recovery: move it aside, start with an empty store.
    std::fs::rename(&path, d.join("s.redb.damaged")).unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.stats().unwrap().history, vec![]);
    let _ = std::fs::remove_dir_all(&d);
}
