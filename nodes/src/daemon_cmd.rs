//! `omni-mesh daemon`: the per-host router. Runs until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use mesh_core::config::Config;
use mesh_core::daemon::{Daemon, DaemonConfig, LinkTransport};
use mesh_core::identity::{load_key_file, Did, NodeKey};
use mesh_core::security::{SecurityPolicy, TrustStore};

/// Options of `omni-mesh daemon`.
#[derive(Args)]
pub struct DaemonArgs {
    /// The daemon's key file (`omni-mesh keys new --out FILE`); a fresh key when omitted.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Configuration file (its `[security]` section: mode and limits).
    #[arg(long)]
    config: Option<PathBuf>,
    /// DIDs trusted to open links and publish (other daemons and the fleet's nodes).
    #[arg(long = "trust", value_name = "DID")]
    trust: Vec<String>,
    /// Shared-memory prefix of this host's nodes (iceoryx2's default when omitted).
    #[arg(long, env = "OMNI_MESH_SHM_PREFIX")]
    shm_prefix: Option<String>,
    /// Discovery (UDP) address.
    #[arg(long, default_value = "0.0.0.0:7447")]
    gossip: SocketAddr,
    /// Link (TCP) address.
    #[arg(long, default_value = "0.0.0.0:7448")]
    listen: SocketAddr,
    /// Link address announced to other hosts (default: the bound link address).
    #[arg(long)]
    advertise: Option<SocketAddr>,
    /// Another daemon's discovery address to join through (repeatable).
    #[arg(long = "seed", value_name = "ADDR")]
    seeds: Vec<SocketAddr>,
    /// How often the host's channels are scanned, milliseconds.
    #[arg(long, default_value_t = 250)]
    scan_ms: u64,
    /// Links between daemons: `tcp` (signed handshake, unencrypted) or `quic` (TLS 1.3 bound
    /// to the node keys). Every daemon of a fleet must use the same.
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    transport: Transport,
}

/// `--transport` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Transport {
    Tcp,
    Quic,
}

/// Runs the daemon until a signal stops it.
pub fn run(args: DaemonArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OMNI_MESH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let key = match &args.key {
        Some(path) => load_key_file(path).context("loading the daemon key")?,
        None => {
            eprintln!("omni-mesh daemon: no --key given, using a fresh key for this run");
            NodeKey::generate()
        }
    };
    let security = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Config::from_toml(&text)
                .with_context(|| format!("in {}", path.display()))?
                .security
        }
        None => Config::default().security,
    };
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    for did in &args.trust {
        let did = Did::from_str(did).with_context(|| format!("--trust {did}"))?;
        trust.add_publisher(did.public_key());
    }
    let config = DaemonConfig {
        shm_prefix: args.shm_prefix.clone(),
        gossip: args.gossip,
        listen: args.listen,
        advertise: args.advertise,
        seeds: args.seeds.clone(),
        scan_period: Duration::from_millis(args.scan_ms.max(10)),
        transport: match args.transport {
            Transport::Tcp => LinkTransport::Tcp,
            Transport::Quic => LinkTransport::Quic,
        },
        ..DaemonConfig::default()
    };
    let did = key.did();
    let daemon = Daemon::start(config, Arc::new(key), SecurityPolicy::new(security, trust))
        .context("starting the daemon")?;
    let stop = daemon.stop_flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    println!(
        "omni-mesh daemon {did}: discovery on {}, links on {}",
        daemon.gossip_addr(),
        daemon.link_addr()
    );
    daemon.wait().context("the daemon stopped on an error")?;
    eprintln!("omni-mesh daemon: stopped");
    Ok(())
}
