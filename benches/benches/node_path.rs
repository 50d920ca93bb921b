//! CPU cost of one message through our shared-memory path, in one thread (no hand-off, no
//! waiting): publish then receive a 64-byte `UInt8MultiArray`, beside raw iceoryx2 doing the
//! same loan/send/receive of a 64-byte slice, in the same run, and our path again on
//! iceoryx2's thread-safe flavour (`ThreadSafeShmTransport`). Unsigned (development mode)
//! so the numbers show the middleware's own per-message work, not the crypto.
//!
//! Run: `cargo bench -p mesh-benches --bench node_path`.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use iceoryx2::prelude::*;
use mesh_core::identity::NodeKey;
use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode};
use mesh_core::transport::shm::{ShmTransport, ThreadSafeShmTransport};
use mesh_core::transport::Transport;
use omni_msgs::std_msgs::msg::UInt8MultiArray;

fn prefix(tag: &str) -> String {
    format!("ompath{}{tag}_", std::process::id())
}

fn raw(c: &mut Criterion) {
    let mut config = Config::global_config().clone();
    config.global.prefix = FileName::new(prefix("raw").as_bytes()).expect("prefix");
    let node = NodeBuilder::new()
        .config(&config)
        .create::<ipc::Service>()
        .expect("node");
    let service = node
        .service_builder(&ServiceName::new("/path/raw").expect("name"))
        .publish_subscribe::<[u8]>()
        .max_publishers(8)
        .max_subscribers(8)
        .subscriber_max_buffer_size(8)
        .open_or_create()
        .expect("service");
    let publisher = service
        .publisher_builder()
        .initial_max_slice_len(1024)
        .create()
        .expect("publisher");
    let subscriber = service
        .subscriber_builder()
        .buffer_size(8)
        .create()
        .expect("subscriber");
    let payload = [7u8; 64];
    c.bench_function("node_path/raw_iceoryx2_64B", |b| {
        b.iter(|| {
            let s = publisher.loan_slice_uninit(64).expect("loan");
            s.write_from_slice(&payload).send().expect("send");
            let r = subscriber.receive().expect("receive").expect("a sample");
            criterion::black_box(r.payload()[0])
        });
    });
}

fn ours_on<T: Transport>(c: &mut Criterion, transport: T, label: &str) {
    let security = SecurityConfig {
        mode: SecurityMode::Development,
        ..SecurityConfig::default()
    };
    let node = Node::builder("path", transport)
        .key(NodeKey::from_seed(&[1; 32]))
        .security(security)
        .build()
        .expect("node");
    let dev = node.policy().development_mode().expect("development");
    let topic = format!("/path/{label}");
    let mut publisher = node
        .publisher::<UInt8MultiArray>(&topic, 1024)
        .expect("publisher")
        .unsigned(dev);
    let mut subscriber = node
        .subscriber::<UInt8MultiArray>(&topic, 1024)
        .expect("subscriber")
        .zero_copy(true);
    let msg = UInt8MultiArray {
        data: vec![7; 64],
        ..Default::default()
    };
    c.bench_function(&format!("node_path/{label}_unsigned_64B"), |b| {
        b.iter(|| {
            publisher.publish(&msg).expect("publish");
            let s = subscriber.try_recv().expect("receive").expect("a sample");
            criterion::black_box(s.data[0])
        });
    });
}

fn ours(c: &mut Criterion) {
    let shm = ShmTransport::with_prefix(&prefix("ours")).expect("shm");
    ours_on(c, shm, "omni_mesh");
}

/// The same path on iceoryx2's thread-safe flavour (ports are `Send`, one lock per step).
fn ours_thread_safe(c: &mut Criterion) {
    let shm = ThreadSafeShmTransport::with_prefix_flavour(&prefix("safe")).expect("shm");
    ours_on(c, shm, "omni_mesh_thread_safe");
}

fn cleanup(_: &mut Criterion) {
    mesh_benches::remove_shm_files(&format!("ompath{}", std::process::id()));
}

criterion_group!(benches, raw, ours, ours_thread_safe, cleanup);
criterion_main!(benches);
