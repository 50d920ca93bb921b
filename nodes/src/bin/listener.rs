//! `listener`: prints every verified `std_msgs/String` on `/chatter` with its sender's DID.
//!
//! ```sh
//! listener --trust did:key:z6Mk...   # the DID `talker` printed
//! listener --dev                     # development mode: any valid key, loudly
//! ```

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use mesh_core::identity::Did;
use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::String as StringMsg;

#[derive(Parser)]
#[command(about = "Print verified messages from /chatter")]
struct Args {
    /// DIDs whose messages are accepted.
    #[arg(long)]
    trust: Vec<String>,
    /// Development mode: accept any valid key.
    #[arg(long)]
    dev: bool,
    /// Stop after this many messages (0 = never).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Give up after this many seconds without finishing (0 = never).
    #[arg(long, default_value_t = 0)]
    timeout_s: u64,
    /// Topic.
    #[arg(long, default_value = "/chatter")]
    topic: String,
    /// Shared-memory prefix: processes with the same prefix form one host (the default is
    /// iceoryx2's own; tests run several "hosts" on one machine this way).
    #[arg(long, env = "OMNI_MESH_SHM_PREFIX")]
    shm_prefix: Option<String>,
    /// Reliable subscription: publishers (and the host's daemon) wait for this listener
    /// instead of overwriting messages it has not read (bursts, e.g. delivered bundles).
    #[arg(long)]
    reliable: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut trust = TrustStore::new();
    for did in &args.trust {
        let did: Did = did.parse().with_context(|| format!("--trust {did}"))?;
        trust.add_publisher(did.public_key());
    }
    let mode = if args.dev {
        SecurityMode::Development
    } else {
        SecurityMode::Lightweight
    };
    let transport = match &args.shm_prefix {
        Some(prefix) => ShmTransport::with_prefix(prefix),
        None => ShmTransport::new(),
    }
    .context("opening shared memory")?;
    let node = Node::builder("listener", transport)
        .security(SecurityConfig {
            mode,
            ..SecurityConfig::default()
        })
        .trust(trust)
        .lossless(args.reliable)
        .build()?;
    let mut sub = node.subscriber::<StringMsg>(&args.topic, 4096)?;
    let started = Instant::now();
    // Ctrl-C or SIGTERM ends the loop; the subscriber is dropped and the process exits 0.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, std::sync::Arc::clone(&stop))?;
    }
    let mut received = 0;
    while (args.count == 0 || received < args.count)
        && !stop.load(std::sync::atomic::Ordering::Relaxed)
    {
        if args.timeout_s > 0 && started.elapsed() > Duration::from_secs(args.timeout_s) {
            anyhow::bail!("timed out after {received} messages");
        }
        if let Some(sample) = sub.recv_timeout(Duration::from_millis(500))? {
            received += 1;
            println!(
                "[{}] {}#{}: {}",
                sample.sender(),
                sample.epoch(),
                sample.sequence(),
                sample.data.as_str()
            );
        }
    }
    Ok(())
}
