//! `omni-mesh daemon`: the per-host router. Runs until SIGINT or SIGTERM.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use mesh_core::config::{Config, LinkKind};
use mesh_core::daemon::{Daemon, DaemonConfig, DtnSettings, LinkTransport};
use mesh_core::dtn::DtnConfig;
use mesh_core::identity::{load_key_file, Did, NodeKey};
use mesh_core::net::compress::CompressionConfig;
use mesh_core::net::tcp::LinkConfig;
use mesh_core::security::{SecurityMode, SecurityPolicy, TrustStore};

/// Options of `omni-mesh daemon`.
#[derive(Args)]
pub struct DaemonArgs {
    /// The daemon's key file (`omni-mesh keys new --out FILE`); a fresh key when omitted.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Configuration file: its `[security]` (mode, limits) and `[network]` sections (the
    /// flags below override `[network]`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// DIDs trusted to open links and publish (other daemons and the fleet's nodes).
    #[arg(long = "trust", value_name = "DID")]
    trust: Vec<String>,
    /// Shared-memory prefix of this host's nodes (iceoryx2's default when omitted).
    #[arg(long, env = "OMNI_MESH_SHM_PREFIX")]
    shm_prefix: Option<String>,
    /// Discovery (UDP) address [config: network.gossip, default 0.0.0.0:7447].
    #[arg(long)]
    gossip: Option<SocketAddr>,
    /// Link address [config: network.listen, default 0.0.0.0:7448].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Link address announced to other hosts (default: the bound link address).
    #[arg(long)]
    advertise: Option<SocketAddr>,
    /// Another daemon's discovery address to join through (repeatable; replaces
    /// network.seeds).
    #[arg(long = "seed", value_name = "ADDR")]
    seeds: Vec<SocketAddr>,
    /// An IPv4 multicast group (e.g. 239.255.0.47:7446) to find daemons on the local link
    /// without seeds [config: network.multicast, default off].
    #[arg(long, value_name = "GROUP")]
    multicast: Option<SocketAddrV4>,
    /// A topic carried delay-tolerantly (repeatable; replaces network.dtn_topics).
    #[arg(long = "dtn-topic", value_name = "TOPIC")]
    dtn_topics: Vec<String>,
    /// Carry other hosts' bundles (a relay) [config: network.dtn_relay].
    #[arg(long)]
    dtn_relay: bool,
    /// The daemon's store file: DTN custody survives restarts (created if missing).
    #[arg(long, value_name = "FILE")]
    store: Option<PathBuf>,
    /// Fault injection for tests: flip a payload byte of every bundle this daemon sends.
    #[arg(long, hide = true)]
    fault_tamper_dtn: bool,
    /// How often the host's channels are scanned, milliseconds [config:
    /// network.scan_period_ms, default 250].
    #[arg(long)]
    scan_ms: Option<u64>,
    /// Links between daemons: `tcp` (signed handshake, unencrypted) or `quic` (TLS 1.3 bound
    /// to the node keys); every daemon of a fleet must use the same [config:
    /// network.transport, default tcp].
    #[arg(long, value_enum)]
    transport: Option<Transport>,
    /// Serve this host's `/metrics`, `/healthz` and `/readyz` here [config: obs.metrics].
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Log format: text or json [config: obs.log_format].
    #[arg(long, value_parser = ["text", "json"])]
    log_format: Option<String>,
}

/// `--transport` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Transport {
    Tcp,
    Quic,
}

/// Runs the daemon until a signal stops it.
pub fn run(args: DaemonArgs) -> anyhow::Result<()> {
    let file = Config::from_file_and_env(args.config.as_deref(), SecurityMode::Production)?;
    let format = match args.log_format.as_deref() {
        Some("json") => mesh_core::config::LogFormat::Json,
        Some(_) => mesh_core::config::LogFormat::Text,
        None => file.obs.log_format,
    };
    omni_mesh_nodes::runtime::init_logging(format);
    let key = match &args.key {
        Some(path) => load_key_file(path).context("loading the daemon key")?,
        None => {
            eprintln!("omni-mesh daemon: no --key given, using a fresh key for this run");
            NodeKey::generate()
        }
    };
    let metrics = args.metrics.or(file.obs.metrics);
    let (security, network) = (file.security, file.network);
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    for did in &args.trust {
        let did = Did::from_str(did).with_context(|| format!("--trust {did}"))?;
        trust.add_publisher(did.public_key());
    }
    let transport = match args.transport {
        Some(Transport::Tcp) => LinkTransport::Tcp,
        Some(Transport::Quic) => LinkTransport::Quic,
        None => match network.transport {
            LinkKind::Tcp => LinkTransport::Tcp,
            LinkKind::Quic => LinkTransport::Quic,
        },
    };
    let config = DaemonConfig {
        shm_prefix: args.shm_prefix.clone(),
        gossip: args.gossip.unwrap_or(network.gossip),
        listen: args.listen.unwrap_or(network.listen),
        advertise: args.advertise.or(network.advertise),
        seeds: if args.seeds.is_empty() {
            network.seeds
        } else {
            args.seeds.clone()
        },
        multicast: args.multicast.or(network.multicast),
        dtn: DtnSettings {
            topics: if args.dtn_topics.is_empty() {
                network.dtn_topics.clone()
            } else {
                args.dtn_topics.clone()
            },
            relay: args.dtn_relay || network.dtn_relay,
            config: DtnConfig {
                ttl_ns: network.dtn_ttl_s.saturating_mul(1_000_000_000),
                ..DtnConfig::default()
            },
            fault_tamper: args.fault_tamper_dtn,
        },
        store: args.store.clone(),
        scan_period: Duration::from_millis(args.scan_ms.unwrap_or(network.scan_period_ms).max(10)),
        transport,
        link: LinkConfig {
            compression: CompressionConfig {
                codec: network.compression,
                min_bytes: network.compress_min_bytes,
            },
            ..LinkConfig::default()
        },
        ..DaemonConfig::default()
    };
    let did = key.did();
    let daemon = Daemon::start(config, Arc::new(key), SecurityPolicy::new(security, trust))
        .context("starting the daemon")?;
    let health = mesh_core::obs::Health::new();
    let _endpoint = match metrics {
        Some(addr) => {
            let mut registry = prometheus_client::registry::Registry::default();
            daemon.register_metrics(&mut registry);
            let server = mesh_core::obs::ObsServer::start(addr, registry, health.clone())?;
            tracing::info!(
                "metrics on http://{}/metrics (health: /healthz, /readyz)",
                server.local_addr()
            );
            Some(server)
        }
        None => None,
    };
    health.set_ready();
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
    let result = daemon.wait();
    health.set_draining();
    result.context("the daemon stopped on an error")?;
    eprintln!("omni-mesh daemon: stopped");
    Ok(())
}
