//! The per-host router (`omni-mesh daemon`): it owns the network side of a host (discovery
//! and links to the other hosts' daemons) and connects it to the host's nodes over shared
//! memory. Nodes need nothing to use it: the daemon scans the host's shared-memory channels,
//! announces which topics the host offers and wants, subscribes locally to the topics other
//! hosts want and sends their frames only to those hosts, and publishes the frames it
//! receives (verified once for the host) on the local channels, where every local subscriber
//! reads them. Without a daemon, nodes on one host still talk over shared memory.
//!
//! Two threads: `omni-daemon-shm` owns the iceoryx2 ports (which stay on their thread) and
//! waits on one `WaitSet`; `omni-daemon-net` runs a tokio runtime with discovery (UDP) and
//! the TCP links. The [`Router`] between them decides where frames go.

mod dtn_side;
mod links;
mod net_side;
mod shm_side;

pub use links::LinkTransport;

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::discovery::DiscoveryConfig;
use crate::identity::NodeKey;
use crate::net::tcp::LinkConfig;
use crate::router::{Router, RouterStats};
use crate::security::SecurityPolicy;

/// Settings of a daemon.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The host's shared-memory prefix (`None`: iceoryx2's default, as nodes use).
    pub shm_prefix: Option<String>,
    /// Where discovery listens (UDP).
    pub gossip: SocketAddr,
    /// Where links to other daemons are accepted (TCP).
    pub listen: SocketAddr,
    /// The link address announced to others (default: the bound `listen` address).
    pub advertise: Option<SocketAddr>,
    /// Discovery seeds (other daemons' gossip addresses).
    pub seeds: Vec<SocketAddr>,
    /// An IPv4 multicast group to find daemons on the local link through (off by default).
    pub multicast: Option<SocketAddrV4>,
    /// How often the host's channels are scanned.
    pub scan_period: Duration,
    /// Discovery timing.
    pub discovery: DiscoveryConfig,
    /// Link settings.
    pub link: LinkConfig,
    /// The transport of links between daemons.
    pub transport: LinkTransport,
    /// Delay-tolerant topics and custody.
    pub dtn: DtnSettings,
    /// The daemon's store (DTN custody survives restarts); `None`: custody in memory.
    pub store: Option<std::path::PathBuf>,
}

/// Which topics a daemon carries delay-tolerantly ([`crate::dtn`]) and how.
#[derive(Debug, Clone, Default)]
pub struct DtnSettings {
    /// Topics carried as bundles (store-and-forward with custody) instead of live.
    pub topics: Vec<String>,
    /// This host carries bundles for others (a relay); announced to the fleet.
    pub relay: bool,
    /// Lifetimes, limits, custody timeout.
    pub config: crate::dtn::DtnConfig,
    /// Fault injection for tests: flip a payload byte of every bundle sent (a tampering
    /// relay). Never set it in a fleet.
    pub fault_tamper: bool,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            shm_prefix: None,
            gossip: ([0, 0, 0, 0], 7447).into(),
            listen: ([0, 0, 0, 0], 7448).into(),
            advertise: None,
            seeds: Vec::new(),
            multicast: None,
            scan_period: Duration::from_millis(250),
            discovery: DiscoveryConfig::default(),
            link: LinkConfig::default(),
            transport: LinkTransport::Tcp,
            dtn: DtnSettings::default(),
            store: None,
        }
    }
}

/// The daemon could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// Shared memory could not be opened.
    #[error("shared memory: {0}")]
    Shm(#[from] crate::transport::shm::ShmError),
    /// A socket could not be bound.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// A thread could not be started or failed.
    #[error("daemon thread {0}")]
    Thread(String),
    /// The daemon's store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The host attestation key could not be written.
    #[error(transparent)]
    HostKey(#[from] crate::security::attest::HostKeyError),
    /// The links failed.
    #[error(transparent)]
    Link(#[from] crate::net::tcp::LinkError),
}

/// A running daemon: stop it with [`Daemon::stop`] (or drop).
#[derive(Debug)]
pub struct Daemon {
    stop: Arc<AtomicBool>,
    router: Arc<Mutex<Router>>,
    policy: Arc<SecurityPolicy>,
    shm: Option<std::thread::JoinHandle<Result<(), DaemonError>>>,
    net: Option<std::thread::JoinHandle<Result<(), DaemonError>>>,
    gossip: SocketAddr,
    listen: SocketAddr,
}

impl Daemon {
    /// Starts the daemon's threads.
    ///
    /// # Errors
    /// Sockets that cannot be bound, shared memory that cannot be opened.
    pub fn start(
        config: DaemonConfig,
        key: Arc<NodeKey>,
        policy: SecurityPolicy,
    ) -> Result<Self, DaemonError> {
        let stop = Arc::new(AtomicBool::new(false));
        let policy = Arc::new(policy);
        let mut router = Router::new(Arc::clone(&policy));
        router.set_dtn(&config.dtn.topics, config.dtn.relay);
        let router = Arc::new(Mutex::new(router));
        let (to_net, from_shm) = tokio::sync::mpsc::channel(4096);
        let (to_shm, from_net) = std::sync::mpsc::sync_channel(4096);
        let wake = shm_side::wake_name(&key);
        let shm = shm_side::spawn(shm_side::ShmSide {
            prefix: config.shm_prefix.clone(),
            scan_period: config.scan_period,
            router: Arc::clone(&router),
            outbound: to_net,
            inbound: from_net,
            wake: wake.clone(),
            stop: Arc::clone(&stop),
        })?;
        let (net, gossip, listen) = net_side::spawn(net_side::NetSide {
            config,
            key,
            policy: Arc::clone(&policy),
            router: Arc::clone(&router),
            outbound: from_shm,
            inbound: to_shm,
            wake,
            stop: Arc::clone(&stop),
        })?;
        Ok(Self {
            stop,
            router,
            policy,
            shm: Some(shm),
            net: Some(net),
            gossip,
            listen,
        })
    }

    /// The bound discovery address.
    #[must_use]
    pub fn gossip_addr(&self) -> SocketAddr {
        self.gossip
    }

    /// The bound link address.
    #[must_use]
    pub fn link_addr(&self) -> SocketAddr {
        self.listen
    }

    /// Router counters.
    #[must_use]
    pub fn stats(&self) -> RouterStats {
        self.router
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stats()
    }

    /// Registers the host's metrics: router counters (`omnimesh_router_frames_total`) and
    /// security rejections (`omnimesh_security_rejected_total`).
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register_collector(Box::new(crate::obs::RouterCollector(Arc::clone(
            &self.router,
        ))));
        registry.register_collector(Box::new(crate::obs::RejectCollector(
            self.policy.counters(),
        )));
    }

    /// A flag that stops the daemon when set (for signal handlers).
    #[must_use]
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Stops both threads and reports the first failure.
    ///
    /// # Errors
    /// What stopped a thread.
    pub fn stop(mut self) -> Result<(), DaemonError> {
        self.join()
    }

    /// Waits until the daemon stops (its stop flag is set), then reports the first failure.
    ///
    /// # Errors
    /// What stopped a thread.
    pub fn wait(mut self) -> Result<(), DaemonError> {
        while !self.stop.load(Ordering::Acquire) {
            let finished = self
                .shm
                .as_ref()
                .is_some_and(std::thread::JoinHandle::is_finished)
                || self
                    .net
                    .as_ref()
                    .is_some_and(std::thread::JoinHandle::is_finished);
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.join()
    }

    fn join(&mut self) -> Result<(), DaemonError> {
        self.stop.store(true, Ordering::Release);
        let mut first = Ok(());
        for handle in [self.shm.take(), self.net.take()].into_iter().flatten() {
            let outcome = handle
                .join()
                .unwrap_or_else(|_| Err(DaemonError::Thread("panicked".into())));
            if first.is_ok() {
                first = outcome;
            }
        }
        first
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Err(e) = self.join() {
            tracing::error!(error = %e, "daemon stopped on an error");
        }
    }
}
