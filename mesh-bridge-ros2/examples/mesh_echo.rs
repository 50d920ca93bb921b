//! `mesh_echo`: the mesh side of the bridge bench (`tests/bridge/bench_bridge.py`). A mesh
//! node on this host's shared memory that either echoes every `sensor_msgs/PointCloud2`
//! from `/ping` back on `/pong` (its verified archive, forwarded undecoded and signed by the
//! echo), or counts what arrives on `/ping` and prints the rate. Run with the bridge's
//! shared-memory prefix in `OMNI_MESH_SHM_PREFIX`:
//!
//! ```sh
//! cargo run --release -p mesh-bridge-ros2 --example mesh_echo -- echo 30 0 64 1200000
//! cargo run --release -p mesh-bridge-ros2 --example mesh_echo -- count 30 2000 2000 4096
//! ```
//!
//! Arguments: mode, seconds to run, messages to count (0: no limit), and the topics' depth
//! and largest message in bytes (the bridge's mapping must say the same).

use std::time::{Duration, Instant};

use mesh_core::config::Config;
use mesh_core::node::Node;
use mesh_core::security::SecurityMode;
use mesh_core::transport::shm::{ShmTransport, ThreadSafe};
use omni_msgs::rt::Message as _;
use omni_msgs::sensor_msgs::msg::PointCloud2;

/// How long a count waits for more once messages have come.
const IDLE: Duration = Duration::from_secs(5);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("echo", String::as_str);
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let expected: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(u64::MAX);
    let depth: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let max_bytes: usize = args
        .get(4)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_200_000);
    let prefix = std::env::var("OMNI_MESH_SHM_PREFIX").ok();
    let shm = ShmTransport::<ThreadSafe>::named_flavour(prefix.as_deref(), "/mesh_echo")?;
    let settings = Config::from_file_and_env(None, SecurityMode::Development)?;
    let node = Node::builder("mesh_echo", shm).config(&settings).build()?;
    let qos = mesh_core::delivery::Qos::reliable()
        .with_history(mesh_core::delivery::History::KeepLast(depth));
    let ping = node.channel_spec("/ping", max_bytes, &qos)?;
    let pong = node.channel_spec("/pong", max_bytes, &qos)?;
    let mut sub = node.raw_subscriber(&ping)?.zero_copy(true);
    let mut publisher = node.raw_publisher(&pong, PointCloud2::TYPE_HASH.value)?;
    println!("ready");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut count, mut first, mut last) = (0_u64, None, Instant::now());
    while Instant::now() < deadline && count < expected {
        publisher.update()?;
        let Some(sample) = sub.recv_timeout(Duration::from_millis(100))? else {
            // Counting: once messages came, 5 s of silence means the rest will not.
            if first.is_some() && last.elapsed() > IDLE {
                break;
            }
            continue;
        };
        if mode == "echo" {
            publisher.publish_archive(sample.payload())?;
        }
        count += 1;
        last = Instant::now();
        first.get_or_insert(last);
    }
    if mode == "count" {
        let span = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
        println!("{{\"received\": {count}, \"seconds\": {span}}}");
    }
    Ok(())
}
