//! `node-loop`: the Rust reference for the Python binding bench (`python/bench/bench_binding.py`
//! runs it in the same run). One thread publishes a message on a shared-memory topic and
//! receives it, N times, and prints nanoseconds per message as JSON for three paths:
//! typed (`Publisher`/`Subscriber`, default flavour), raw archives on the thread-safe flavour
//! (what the Python bindings call), and raw archives plus the dynamic value conversion.
//!
//! ```sh
//! cargo run --release -p mesh-benches --bin node-loop -- 100000
//! ```

use std::time::{Duration, Instant};

use mesh_core::identity::NodeKey;
use mesh_core::node::{Node, NodeBuilder};
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::shm::{ShmTransport, ThreadSafe};
use omni_msgs::rt::value::ToValue as _;
use omni_msgs::rt::Message as _;
use omni_msgs::std_msgs::msg::String as StringMsg;

/// Lightweight security with the node's own key trusted: every signature is checked, as in
/// the Python bench's nodes.
fn lightweight<T: mesh_core::transport::Transport>(builder: NodeBuilder<T>) -> Node<T> {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    builder
        .key(key)
        .trust(trust)
        .security(SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        })
        .max_ports(32)
        .build()
        .expect("node")
}

fn main() {
    let count: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let prefix = format!("nl{}_", std::process::id());
    // 64-byte payload, as in the Python bench.
    let message = StringMsg {
        data: "x".repeat(56),
    };

    let shm = ShmTransport::with_prefix(&prefix).expect("shared memory");
    let node = lightweight(Node::builder("loop", shm));
    let mut publisher = node
        .publisher::<StringMsg>("/bench/typed", 4096)
        .expect("pub");
    let mut subscriber = node
        .subscriber::<StringMsg>("/bench/typed", 4096)
        .expect("sub");
    let start = Instant::now();
    for _ in 0..count {
        publisher.publish(&message).expect("publish");
        let sample = subscriber
            .recv_timeout(Duration::from_secs(1))
            .expect("recv")
            .expect("delivered");
        std::hint::black_box(sample.data.len());
    }
    let typed = start.elapsed().as_nanos() as f64 / f64::from(count);

    let shm = ShmTransport::<ThreadSafe>::named_flavour(Some(&prefix), "/loop_raw").expect("shm");
    let node = lightweight(Node::builder("loop_raw", shm));
    let spec = node
        .channel_spec("/bench/raw", 4096, &node.default_qos())
        .expect("spec");
    let mut raw_pub = node
        .raw_publisher(&spec, StringMsg::TYPE_HASH.value)
        .expect("pub");
    let mut raw_sub = node.raw_subscriber(&spec).expect("sub");
    let ty = omni_msgs::dynamic::by_hash(&StringMsg::TYPE_HASH.value).expect("registered");
    let value = message.to_value();
    let archive = (ty.encode)(&value).expect("encode");
    let start = Instant::now();
    for _ in 0..count {
        raw_pub.publish_archive(&archive).expect("publish");
        let sample = raw_sub
            .recv_timeout(Duration::from_secs(1))
            .expect("recv")
            .expect("delivered");
        std::hint::black_box(sample.payload.len());
    }
    let raw = start.elapsed().as_nanos() as f64 / f64::from(count);

    let start = Instant::now();
    for _ in 0..count {
        let archive = (ty.encode)(&value).expect("encode");
        raw_pub.publish_archive(&archive).expect("publish");
        let sample = raw_sub
            .recv_timeout(Duration::from_secs(1))
            .expect("recv")
            .expect("delivered");
        std::hint::black_box((ty.decode)(&sample.payload).expect("decode"));
    }
    let dynamic = start.elapsed().as_nanos() as f64 / f64::from(count);
    println!(
        "{{\"count\": {count}, \"typed_ns\": {typed:.1}, \"raw_threadsafe_ns\": {raw:.1}, \"raw_dynamic_ns\": {dynamic:.1}}}"
    );
    drop((publisher, subscriber, raw_pub, raw_sub));
    for f in std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
    {
        if f.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(f.path());
        }
    }
}
