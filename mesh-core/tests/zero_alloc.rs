//! The steady-state publish/receive path over shared memory adds no heap allocation to what
//! iceoryx2 itself does: validate, serialize into the reused buffer, sign in the shared-memory
//! loan, send, wake, receive, verify in place (zero-copy subscriber) or in a pooled private
//! copy (default subscriber), replay check, archive validation, sample drop.
//!
//! iceoryx2 0.10 allocates one small shared-state object per loan (`ChunkMutSharedState`, an
//! `Arc`); the test measures raw iceoryx2 (loan, send, notify, receive) in the same binary and
//! requires our full path to allocate exactly as often.

#![cfg(feature = "shm")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::geometry_msgs::msg::{Point, Pose, Quaternion};

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator and only counts calls. (Test-only unsafe: a
// counting allocator is the way to prove the path allocates nothing.)
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_path_adds_no_allocation_to_iceoryx2() {
    let prefix = format!("omalloc{}_", std::process::id());
    let talker = Node::builder("talker", ShmTransport::with_prefix(&prefix).unwrap())
        .build()
        .unwrap();
    let mut trust = TrustStore::new();
    trust.add_publisher(talker.did().public_key());
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    let listener = Node::builder("listener", ShmTransport::with_prefix(&prefix).unwrap())
        .security(security)
        .trust(trust)
        .build()
        .unwrap();
    // Both kinds of subscriber: zero-copy (verified in shared memory) and the default one,
    // which verifies a private copy in a pooled buffer.
    let mut sub = listener
        .subscriber::<Pose>("/odom", 1024)
        .unwrap()
        .zero_copy(true);
    let mut private = listener.subscriber::<Pose>("/odom", 1024).unwrap();
    let mut publisher = talker.publisher::<Pose>("/odom", 1024).unwrap();
    let mut pose = Pose {
        position: Point {
            x: 0.0,
            y: 1.0,
            z: 2.0,
        },
        orientation: Quaternion::default(),
    };
    let mut cycle = |i: u64| {
        pose.position.x = i as f64;
        publisher.publish(&pose).unwrap();
        let sample = sub
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .expect("sample");
        assert_eq!(sample.sequence(), i);
        assert_eq!(sample.position.x.to_native(), i as f64);
        let copy = private
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .expect("sample");
        assert_eq!(copy.sequence(), i);
        assert!(!copy.in_place());
    };
    for i in 1..=200 {
        cycle(i);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 201..=1200 {
        cycle(i);
    }
    let ours = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let raw = raw_iceoryx2_allocations(&prefix, 1000);
    eprintln!("heap allocations per 1000 messages: raw iceoryx2 {raw}, OMNI-MESH {ours}");
    assert!(
        raw <= 1000,
        "iceoryx2 baseline: at most one allocation per loan ({raw})"
    );
    assert_eq!(
        ours, raw,
        "OMNI-MESH adds no heap allocation to iceoryx2's own"
    );
    common::remove_shm_prefix(&prefix);
}

/// Allocations of raw iceoryx2 for `n` loan + send + notify + receive cycles after warm-up.
fn raw_iceoryx2_allocations(prefix: &str, n: u64) -> u64 {
    use iceoryx2::prelude::*;
    let mut config = Config::global_config().clone();
    config.global.prefix = FileName::new(prefix.as_bytes()).unwrap();
    let node = NodeBuilder::new()
        .config(&config)
        .create::<ipc::Service>()
        .unwrap();
    let data = node
        .service_builder(&"raw/data".try_into().unwrap())
        .publish_subscribe::<[u8]>()
        .open_or_create()
        .unwrap();
    let events = node
        .service_builder(&"raw/events".try_into().unwrap())
        .event()
        .open_or_create()
        .unwrap();
    let publisher = data
        .publisher_builder()
        .initial_max_slice_len(1024)
        .create()
        .unwrap();
    let subscriber = data.subscriber_builder().create().unwrap();
    let notifier = events.notifier_builder().create().unwrap();
    let cycle = || {
        let mut sample = publisher.loan_slice(280).unwrap();
        sample.payload_mut()[0] = 1;
        sample.send().unwrap();
        notifier.notify().unwrap();
        assert!(subscriber.receive().unwrap().is_some());
    };
    for _ in 0..200 {
        cycle();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        cycle();
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}
