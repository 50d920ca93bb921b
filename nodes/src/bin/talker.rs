//! `talker`: publishes `std_msgs/String` "hello N" on `/chatter` over shared memory, signed
//! with a node key. Run `listener` in another terminal.
//!
//! ```sh
//! omni-mesh keys new --out talker.key
//! talker --key talker.key            # prints its DID, then publishes twice a second
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use mesh_core::identity::{load_key_file, NodeKey};
use mesh_core::node::Node;
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::String as StringMsg;

#[derive(Parser)]
#[command(about = "Publish \"hello N\" on /chatter")]
struct Args {
    /// Key file (`omni-mesh keys new --out FILE`); a fresh key when omitted.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Messages to send (0 = until interrupted).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Interval between messages, milliseconds.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
    /// Topic.
    #[arg(long, default_value = "/chatter")]
    topic: String,
    /// Shared-memory prefix: processes with the same prefix form one host (the default is
    /// iceoryx2's own; tests run several "hosts" on one machine this way).
    #[arg(long, env = "OMNI_MESH_SHM_PREFIX")]
    shm_prefix: Option<String>,
    /// Wait before the first message, milliseconds, so subscribers (and the host's daemon,
    /// which finds new channels by scanning) can connect first.
    #[arg(long, default_value_t = 200)]
    start_delay_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = match &args.key {
        Some(path) => load_key_file(path).context("loading the key")?,
        None => NodeKey::generate(),
    };
    let transport = match &args.shm_prefix {
        Some(prefix) => ShmTransport::with_prefix(prefix),
        None => ShmTransport::new(),
    }
    .context("opening shared memory")?;
    let node = Node::builder("talker", transport).key(key).build()?;
    println!("talker {}", node.did());
    let mut publisher = node.publisher::<StringMsg>(&args.topic, 4096)?;
    // Give listeners that are already running a moment to connect.
    std::thread::sleep(Duration::from_millis(args.start_delay_ms));
    publisher.update()?;
    // Ctrl-C or SIGTERM ends the loop; the publisher is dropped and the process exits 0.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, std::sync::Arc::clone(&stop))?;
    }
    let mut n = 0;
    while (args.count == 0 || n < args.count) && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        n += 1;
        let msg = StringMsg {
            data: format!("hello {n}"),
        };
        publisher.publish(&msg)?;
        println!("published: {}", msg.data);
        std::thread::sleep(Duration::from_millis(args.interval_ms));
    }
    Ok(())
}
