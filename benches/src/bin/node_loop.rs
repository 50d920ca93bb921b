//! `node-loop`: the Rust reference for the Python binding bench (`python/bench/bench_binding.py`
//! runs it in the same run). One thread publishes a message on a shared-memory topic and
//! receives it, N times, and prints nanoseconds per message as JSON for three paths:
//! typed (`Publisher`/`Subscriber`, default flavour), raw archives on the thread-safe flavour
//! (what the Python bindings call), and raw archives plus the dynamic value conversion; and
//! for 1 MiB point clouds received in place by a zero-copy subscriber.
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
use omni_msgs::sensor_msgs::msg::PointCloud2;
use omni_msgs::std_msgs::msg::String as StringMsg;

/// The large-payload case: a 1 MiB point cloud.
const CLOUD_BYTES: usize = 1 << 20;

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
        std::hint::black_box(sample.payload().len());
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
        std::hint::black_box((ty.decode)(sample.payload()).expect("decode"));
    }
    let dynamic = start.elapsed().as_nanos() as f64 / f64::from(count);

    // 1 MiB point clouds: a pre-encoded archive published raw, received by a zero-copy typed
    // subscriber that reads the data in shared memory (the Python bench does the same with a
    // `zero_copy` subscription and a memoryview).
    let clouds = (count / 100).max(200);
    let cloud = PointCloud2 {
        height: 1,
        width: 65_536,
        point_step: 16,
        row_step: CLOUD_BYTES as u32,
        data: vec![7; CLOUD_BYTES],
        ..PointCloud2::default()
    };
    let cloud_archive = omni_msgs::rt::rkyv::to_bytes::<omni_msgs::rt::rkyv::rancor::Error>(&cloud)
        .expect("archive");
    let spec = node
        .channel_spec("/bench/cloud", CLOUD_BYTES + 4096, &node.default_qos())
        .expect("spec");
    let mut cloud_pub = node
        .raw_publisher(&spec, PointCloud2::TYPE_HASH.value)
        .expect("pub");
    let mut cloud_sub = node
        .subscriber::<PointCloud2>("/bench/cloud", CLOUD_BYTES + 4096)
        .expect("sub")
        .zero_copy(true);
    let start = Instant::now();
    for _ in 0..clouds {
        cloud_pub.publish_archive(&cloud_archive).expect("publish");
        let sample = cloud_sub
            .recv_timeout(Duration::from_secs(1))
            .expect("recv")
            .expect("delivered");
        std::hint::black_box(sample.data.len());
    }
    let cloud_ns = start.elapsed().as_nanos() as f64 / f64::from(clouds);
    println!(
        "{{\"count\": {count}, \"typed_ns\": {typed:.1}, \"raw_threadsafe_ns\": {raw:.1}, \"raw_dynamic_ns\": {dynamic:.1}, \"clouds\": {clouds}, \"cloud_zero_copy_ns\": {cloud_ns:.1}}}"
    );
    drop((
        publisher, subscriber, raw_pub, raw_sub, cloud_pub, cloud_sub,
    ));
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
