//! The node runtime every reference node starts with: it reads what the launch supervisor
//! hands over (name, namespace, parameters, remappings), loads the configuration (file,
//! `mode` preset, `OMNI_MESH_*` overrides, then command-line flags), sets up logging (text or
//! JSON), applies `[rt]` placement, serves `/metrics` `/healthz` `/readyz`, and turns
//! SIGINT/SIGTERM into a graceful drain: not ready first, then queues drained, then exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mesh_core::config::{Config, LogFormat};
use mesh_core::identity::{load_key_file, NodeKey};
use mesh_core::node::{Executor, Node};
use mesh_core::obs::{Health, ObsServer};
use mesh_core::rt::Wcet;
use mesh_core::security::SecurityMode;
use mesh_core::transport::shm::ShmTransport;
use mesh_launch::NodeEnv;
use prometheus_client::registry::Registry;

/// Publishers and subscribers per topic for the reference nodes: room for a fleet of 24
/// robots on one heartbeat topic plus tools.
pub const FLEET_PORTS: usize = 32;

/// Flags every reference node accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// Configuration file (`omni-mesh.toml`); `OMNI_MESH_*` variables override it, these
    /// flags override both.
    #[arg(long, env = "OMNI_MESH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Node key file (`omni-mesh keys new --out FILE`); a fresh key when omitted.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Serve `/metrics`, `/healthz` and `/readyz` here (port 0: any free port, logged).
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Log format: `text` or `json`.
    #[arg(long, value_parser = parse_log_format)]
    pub log_format: Option<LogFormat>,
    /// Shared-memory prefix: processes with the same prefix form one host.
    #[arg(long, env = "OMNI_MESH_SHM_PREFIX")]
    pub shm_prefix: Option<String>,
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("`{other}` is not a log format (text or json)")),
    }
}

/// Sets up `tracing` output on stderr in `format` (`OMNI_MESH_LOG` filters, default info).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OMNI_MESH_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

/// A running node's surroundings.
#[derive(Debug)]
pub struct NodeRuntime {
    /// Node name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The configuration in force.
    pub config: Config,
    /// Health state (served on `/healthz`, `/readyz`).
    pub health: Health,
    env: NodeEnv,
    args: NodeArgs,
    stop: Arc<AtomicBool>,
    wcet: Wcet,
    registry: Option<Registry>,
    obs: Option<ObsServer>,
}

impl NodeRuntime {
    /// Reads the environment, configuration and flags, sets up logging, signals and `[rt]`
    /// placement. `default_name` is used when the node was not launched.
    ///
    /// # Errors
    /// A malformed launch environment, an unreadable or invalid configuration, or signal
    /// handlers that cannot be installed.
    pub fn init(default_name: &str, args: &NodeArgs) -> anyhow::Result<Self> {
        let env = NodeEnv::from_env()?;
        let mut config =
            Config::from_file_and_env(args.config.as_deref(), SecurityMode::Production)?;
        if let Some(addr) = args.metrics {
            config.obs.metrics = Some(addr);
        }
        if let Some(format) = args.log_format {
            config.obs.log_format = format;
        }
        init_logging(config.obs.log_format);
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, Arc::clone(&stop))
                .context("installing signal handlers")?;
        }
        for refusal in mesh_core::rt::apply_to_current_thread(&config.rt) {
            tracing::warn!("{refusal}");
        }
        Ok(Self {
            name: env.name.clone().unwrap_or_else(|| default_name.to_owned()),
            namespace: env.namespace.clone().unwrap_or_else(|| "/".to_owned()),
            wcet: Wcet::new(config.rt.clone()),
            config,
            health: Health::new(),
            env,
            args: args.clone(),
            stop,
            registry: Some(Registry::default()),
            obs: None,
        })
    }

    /// The node's fully qualified name (`/ns/name`).
    #[must_use]
    pub fn fqn(&self) -> String {
        mesh_core::node::names::resolve("~", &self.namespace, &self.name)
            .unwrap_or_else(|_| format!("/{}", self.name))
    }

    /// Creates the node on shared memory (its iceoryx2 node named after it, so `omni-mesh
    /// node list` shows it), with the configured security.
    ///
    /// # Errors
    /// An unreadable key, or a node that cannot be created.
    pub fn node(&self) -> anyhow::Result<Node<ShmTransport>> {
        let key = match &self.args.key {
            Some(path) => load_key_file(path).context("loading the key")?,
            None => NodeKey::generate(),
        };
        let transport = ShmTransport::named(self.args.shm_prefix.as_deref(), &self.fqn())
            .context("opening shared memory")?;
        let node = Node::builder(&self.name, transport)
            .namespace(&self.namespace)
            .key(key)
            .config(&self.config)
            .max_ports(FLEET_PORTS)
            .build()?;
        Ok(node)
    }

    /// A registry to add node-specific metrics to before [`serve`](Self::serve).
    pub fn registry(&mut self) -> &mut Registry {
        self.registry.get_or_insert_with(Registry::default)
    }

    /// Registers `node`'s metrics and the WCET guards, and starts the endpoint if an
    /// address is configured (logged with its real port).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn serve(&mut self, node: &Node<ShmTransport>) -> anyhow::Result<Option<SocketAddr>> {
        let mut registry = self.registry.take().unwrap_or_default();
        node.register_metrics(&mut registry);
        self.wcet.register(&mut registry);
        let Some(addr) = self.config.obs.metrics else {
            return Ok(None);
        };
        let server = ObsServer::start(addr, registry, self.health.clone())?;
        let bound = server.local_addr();
        tracing::info!(node = %self.fqn(), "metrics on http://{bound}/metrics (health: /healthz, /readyz)");
        self.obs = Some(server);
        Ok(Some(bound))
    }

    /// An executor whose callbacks run under the configured WCET guards.
    #[must_use]
    pub fn executor<'a>(&self) -> Executor<'a> {
        Executor::with_wcet(self.wcet.clone())
    }

    /// Marks the node ready (`/readyz` answers 200).
    pub fn ready(&self, did: &mesh_core::identity::Did) {
        self.health.set_ready();
        tracing::info!(node = %self.fqn(), %did, "ready");
    }

    /// False once SIGINT or SIGTERM arrived.
    #[must_use]
    pub fn running(&self) -> bool {
        !self.stop.load(Ordering::Acquire)
    }

    /// The stop flag (set by SIGINT/SIGTERM), for loops on other threads.
    #[must_use]
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Spins `executor` until a signal arrives, then drains: `/readyz` turns 503, what is
    /// already queued is handled (for at most `drain`), and the function returns so the
    /// caller drops its ports and exits 0.
    ///
    /// # Errors
    /// A failed spin.
    pub fn spin(&self, executor: &mut Executor<'_>, drain: Duration) -> anyhow::Result<()> {
        while self.running() {
            executor.spin_once(Duration::from_millis(100))?;
        }
        self.health.set_draining();
        tracing::info!(node = %self.fqn(), "draining");
        let end = Instant::now() + drain;
        while Instant::now() < end && executor.spin_once(Duration::ZERO)? > 0 {}
        tracing::info!(node = %self.fqn(), "stopped");
        Ok(())
    }

    /// Parameter `key` as a number, or `default`.
    #[must_use]
    pub fn param_f64(&self, key: &str, default: f64) -> f64 {
        self.env
            .params
            .get(key)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(default)
    }

    /// Parameter `key` as an unsigned integer, or `default`.
    #[must_use]
    pub fn param_u64(&self, key: &str, default: u64) -> u64 {
        self.env
            .params
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(default)
    }

    /// Parameter `key` as text, or `default`.
    #[must_use]
    pub fn param_str(&self, key: &str, default: &str) -> String {
        self.env
            .params
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or(default)
            .to_owned()
    }

    /// `topic` after the launch file's remappings.
    #[must_use]
    pub fn topic(&self, topic: &str) -> String {
        self.env
            .remap
            .get(topic)
            .cloned()
            .unwrap_or_else(|| topic.to_owned())
    }
}
