//! The running bridge: a mesh node on this host's shared memory and a DDS participant, with
//! two threads. `to_ros` waits on every bridged mesh subscription at once (one iceoryx2
//! `WaitSet`), converts each verified archive to CDR with the generated codec and writes it
//! to DDS; until a topic's DDS writer has matched its first reader (plus a 250 ms grace for
//! that reader to discover the writer), the last `depth` messages wait rather than vanish. `from_ros` waits on every DDS reader at once (one mio
//! `Poll`), converts each sample to an archive and publishes it on the mesh, signed with the
//! bridge's key: the bridge vouches for what it brings in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mesh_core::config::Config;
use mesh_core::delivery::{History, Qos};
use mesh_core::identity::{load_key_file, Did, NodeKey};
use mesh_core::node::{Node, RawPublisher, RawSubscriber};
use mesh_core::obs::{Health, ObsServer};
use mesh_core::security::{SecurityMode, TrustStore};
use mesh_core::transport::shm::{ShmPublisher, ShmSubscriber, ShmTransport, ThreadSafe};
use mesh_core::transport::shm_wait;
use omni_msgs::dynamic::DynType;
use prometheus_client::registry::Registry;
use rustdds::mio1::{Events, Interest, Poll, Token, Waker};
use rustdds::RTPSEntity;

use crate::announce::Announcer;
use crate::config::{self, BridgeConfig, TopicMap};
use crate::dds::{next_sample, prefix_of, DdsSide, RawReader, RawWriter};
use crate::gate::FirstMatch;
use crate::graph::NodeEntities;
use crate::guard::{lock, LoopGuard, RateLimit};
use crate::metrics::{BridgeMetrics, Tally};
use crate::raw_cdr::RawCdr;
use crate::service::{self, DdsEnd, MeshEnd};

type Shm = ShmTransport<ThreadSafe>;
/// The bridge's mesh node.
pub(crate) type MeshNode = Node<Shm>;
/// A mesh subscription of the bridge.
pub(crate) type MeshSub = RawSubscriber<ShmSubscriber<ThreadSafe>>;
/// A mesh publisher of the bridge.
pub(crate) type MeshPub = RawPublisher<ShmPublisher<ThreadSafe>>;

/// How long a thread waits before looking at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// The bridge could not start or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The mesh node could not be set up (configuration, key, shared memory).
    #[error("mesh side: {0}")]
    Mesh(String),
    /// The DDS side could not be set up.
    #[error(transparent)]
    Dds(#[from] crate::dds::DdsError),
    /// A bridge thread failed.
    #[error("{0}")]
    Thread(String),
}

/// Messages forwarded and held back, per direction.
#[derive(Debug, Default)]
pub struct Counters {
    /// Mesh messages written to DDS.
    pub to_ros: AtomicU64,
    /// DDS samples published on the mesh.
    pub from_ros: AtomicU64,
    /// Messages that could not be converted (bad archive or CDR, broken bounds).
    pub malformed: AtomicU64,
    /// Messages held back by loop prevention or rate limits.
    pub held_back: AtomicU64,
    /// Service calls forgotten without a reply (timed out, or too many in flight).
    pub unanswered: AtomicU64,
}

/// A running bridge; dropping it (or [`Bridge::stop`]) stops and joins its threads.
pub struct Bridge {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    threads: Vec<JoinHandle<Result<(), BridgeError>>>,
    counters: Arc<Counters>,
    health: Health,
    obs: Option<ObsServer>,
    did: Did,
    // Keeps the mesh node's shared-memory registration alive while the threads run.
    _node: Arc<MeshNode>,
    _dds: DdsSide,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("did", &self.did.to_string())
            .finish_non_exhaustive()
    }
}

fn mesh_qos(map: &TopicMap) -> Qos {
    let base = match map.reliability {
        config::Reliability::Reliable => Qos::reliable(),
        config::Reliability::BestEffort => Qos::best_effort(),
    };
    let qos = base.with_history(History::KeepLast(*map.depth.get_ref()));
    match map.durability {
        config::Durability::Volatile => qos,
        config::Durability::TransientLocal => qos.transient_local(),
    }
}

fn mesh_node(config: &BridgeConfig) -> Result<(Node<Shm>, Config), BridgeError> {
    let fail = |e: &dyn std::fmt::Display| BridgeError::Mesh(e.to_string());
    let mesh = &config.mesh;
    let settings = Config::from_file_and_env(mesh.config.as_deref(), SecurityMode::Development)
        .map_err(|e| fail(&e))?;
    let key = match &mesh.key_file {
        Some(path) => load_key_file(path).map_err(|e| fail(&e))?,
        None => NodeKey::generate(),
    };
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    for did in &mesh.trust {
        let did: Did = did
            .parse()
            .map_err(|e| fail(&format!("trust {did}: {e}")))?;
        trust.add_publisher(did.public_key());
    }
    let fqn =
        mesh_core::node::names::resolve("~", &mesh.namespace, &mesh.node).map_err(|e| fail(&e))?;
    // The host's prefix: the file's, else the one every node reads from the environment.
    let prefix = mesh
        .shm_prefix
        .clone()
        .or_else(|| std::env::var("OMNI_MESH_SHM_PREFIX").ok());
    let shm = Shm::named_flavour(prefix.as_deref(), &fqn).map_err(|e| fail(&e))?;
    let node = Node::builder(&mesh.node, shm)
        .namespace(&mesh.namespace)
        .key(key)
        .config(&settings)
        .trust(trust)
        .max_ports(32)
        .build()
        .map_err(|e| fail(&e))?;
    Ok((node, settings))
}

/// Serves the bridge node's metrics and the bridge's on the configured address, if any.
fn serve_metrics(
    settings: &Config,
    node: &MeshNode,
    metrics: &BridgeMetrics,
    health: &Health,
) -> Result<Option<ObsServer>, BridgeError> {
    let Some(addr) = settings.obs.metrics else {
        return Ok(None);
    };
    let mut registry = Registry::default();
    node.register_metrics(&mut registry);
    metrics.register(&mut registry);
    let server = ObsServer::start(addr, registry, health.clone())
        .map_err(|e| BridgeError::Mesh(e.to_string()))?;
    tracing::info!(
        "metrics on http://{}/metrics (health: /healthz, /readyz)",
        server.local_addr()
    );
    Ok(Some(server))
}

fn rate(map: &TopicMap) -> Option<RateLimit> {
    map.rate_limit_hz
        .as_ref()
        .map(|r| RateLimit::new(*r.get_ref()))
}

/// One mapping towards ROS 2.
struct Outbound {
    name: String,
    ty: &'static DynType,
    sub: MeshSub,
    writer: RawWriter,
    rate: Option<RateLimit>,
    /// Messages waiting for the writer's first match (at most `depth`), with their senders.
    gate: FirstMatch<(RawCdr, Did)>,
    tally: Tally,
}

/// One mapping from ROS 2.
struct Inbound {
    name: String,
    ty: &'static DynType,
    reader: RawReader,
    publisher: MeshPub,
    rate: Option<RateLimit>,
    tally: Tally,
}

impl Bridge {
    /// Starts the bridge described by `config`.
    ///
    /// # Errors
    /// [`BridgeError`] when either side cannot be set up.
    pub fn start(config: &BridgeConfig) -> Result<Self, BridgeError> {
        let (node, settings) = mesh_node(config)?;
        let node = Arc::new(node);
        let mut dds = DdsSide::join(config.ros.domain_id)?;
        let guard = Arc::new(Mutex::new(LoopGuard::new(
            node.did().public_key().to_bytes(),
            dds.participant_id(),
            config.loop_guard.peer_keys().iter().copied(),
        )));
        let announcer = Announcer::open(&node, &dds, config)?;
        let counters = Arc::new(Counters::default());
        let metrics = BridgeMetrics::new(counters.clone());
        let mut outbound = Vec::new();
        let mut inbound = Vec::new();
        for map in &config.topics {
            let ty = omni_msgs::dynamic::by_name(map.type_name.get_ref()).ok_or_else(|| {
                BridgeError::Mesh(format!("unknown type {}", map.type_name.get_ref()))
            })?;
            let spec = node
                .channel_spec(map.mesh_name(), map.max_bytes, &mesh_qos(map))
                .map_err(|e| BridgeError::Mesh(e.to_string()))?;
            if map.direction.to_ros() {
                outbound.push(Outbound {
                    name: format!("{} -> ROS {}", map.mesh_name(), map.ros_name()),
                    ty,
                    sub: node
                        .raw_subscriber(&spec)
                        .map_err(|e| BridgeError::Mesh(e.to_string()))?,
                    writer: dds.writer(map)?,
                    rate: rate(map),
                    gate: FirstMatch::new(*map.depth.get_ref() as usize),
                    tally: metrics.mapping(map.mesh_name(), map.ros_name()),
                });
            }
            if map.direction.from_ros() {
                inbound.push(Inbound {
                    name: format!("ROS {} -> {}", map.ros_name(), map.mesh_name()),
                    ty,
                    reader: dds.reader(map)?,
                    publisher: node
                        .raw_publisher(&spec, ty.hash)
                        .map_err(|e| BridgeError::Mesh(e.to_string()))?,
                    rate: rate(map),
                    tally: metrics.mapping(map.mesh_name(), map.ros_name()),
                });
            }
        }
        let mut readers: Vec<_> = inbound.iter().map(|m| m.reader.guid().to_bytes()).collect();
        let mut writers: Vec<_> = outbound
            .iter()
            .map(|m| m.writer.guid().to_bytes())
            .collect();
        let (mut mesh_ends, mut dds_ends) = (Vec::new(), Vec::new());
        for map in &config.services {
            let tally = metrics.mapping(map.mesh_name(), map.ros_name());
            let (mesh_end, dds_end, [reader, writer]) = service::open(map, &node, &dds, tally)?;
            mesh_ends.push(mesh_end);
            dds_ends.push(dds_end);
            readers.push(reader.to_bytes());
            writers.push(writer.to_bytes());
        }
        dds.publish_graph(
            &[NodeEntities {
                namespace: config.ros.namespace.clone(),
                name: config.ros.node.clone(),
                readers,
                writers,
            }],
            config.ros.gid_bytes,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let health = Health::new();
        let obs = serve_metrics(&settings, &node, &metrics, &health)?;
        let poll = Poll::new().map_err(|e| BridgeError::Thread(format!("mio poll: {e}")))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKE)
                .map_err(|e| BridgeError::Thread(format!("mio waker: {e}")))?,
        );
        let mut threads = Vec::new();
        {
            // The mesh side always runs: it announces the bridge and learns its peers.
            let (stop, guard) = (stop.clone(), guard.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("bridge-mesh".into())
                    .spawn(move || to_ros(outbound, mesh_ends, announcer, &guard, &stop))
                    .map_err(|e| BridgeError::Thread(e.to_string()))?,
            );
        }
        if !inbound.is_empty() || !dds_ends.is_empty() {
            let stop = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("bridge-from-ros".into())
                    .spawn(move || from_ros(inbound, dds_ends, &guard, poll, &stop))
                    .map_err(|e| BridgeError::Thread(e.to_string()))?,
            );
        }
        health.set_ready();
        Ok(Self {
            stop,
            waker,
            threads,
            counters,
            health,
            obs,
            did: node.did(),
            _node: node,
            _dds: dds,
        })
    }

    /// The bridge's mesh identity (what mesh subscribers must trust for messages from ROS 2).
    #[must_use]
    pub fn did(&self) -> &Did {
        &self.did
    }

    /// What has been forwarded so far.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Where the metrics endpoint listens (with `[obs] metrics` in the mesh configuration).
    #[must_use]
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.obs.as_ref().map(ObsServer::local_addr)
    }

    /// Whether every bridge thread still runs.
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.threads.iter().all(|t| !t.is_finished())
    }

    /// Stops and joins the threads; the first thread error, if any.
    ///
    /// # Errors
    /// [`BridgeError::Thread`] when a thread failed.
    pub fn stop(mut self) -> Result<(), BridgeError> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), BridgeError> {
        self.health.set_draining();
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        let mut first = Ok(());
        for t in self.threads.drain(..) {
            let result = t
                .join()
                .unwrap_or_else(|_| Err(BridgeError::Thread("a bridge thread panicked".into())));
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

const WAKE: Token = Token(usize::MAX);

fn now_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn to_ros(
    mut maps: Vec<Outbound>,
    mut services: Vec<MeshEnd>,
    mut announcer: Announcer,
    guard: &Mutex<LoopGuard>,
    stop: &AtomicBool,
) -> Result<(), BridgeError> {
    let start = Instant::now();
    let waitset = shm_wait::waitset().map_err(|e| BridgeError::Thread(e.0))?;
    while !stop.load(Ordering::SeqCst) {
        announcer.tick(guard)?;
        let fired = {
            let sources = std::iter::once(&announcer.sub)
                .chain(maps.iter().map(|m| &m.sub))
                .chain(services.iter().map(|s| &s.sub))
                .map(RawSubscriber::wake_source)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| BridgeError::Thread("mesh ports have no wake-up source".into()))?;
            shm_wait::wait_once(&waitset, &sources, TICK).map_err(|e| BridgeError::Thread(e.0))?
        };
        if fired.first() == Some(&true) {
            announcer
                .sub
                .clear_wakeups()
                .map_err(|e| BridgeError::Thread(e.to_string()))?;
        }
        let mut fired = fired.into_iter().skip(1);
        for (map, hit) in maps.iter_mut().zip(fired.by_ref()) {
            if hit {
                map.sub
                    .clear_wakeups()
                    .map_err(|e| BridgeError::Thread(e.to_string()))?;
            }
            map.flush_if_matched(guard);
            while let Some(sample) = map
                .sub
                .recv_timeout(Duration::ZERO)
                .map_err(|e| BridgeError::Thread(e.to_string()))?
            {
                if sample.type_hash() != map.ty.hash
                    || !lock(guard).to_ros(&sample.publisher())
                    || !map.rate.as_mut().is_none_or(|r| r.allow(now_ns(start)))
                {
                    map.tally.held_back();
                    continue;
                }
                let cdr = (map.ty.to_cdr)(sample.payload())
                    .map_err(|e| e.to_string())
                    .and_then(|b| RawCdr::from_encapsulated(b).map_err(|e| e.to_string()));
                match cdr {
                    Ok(raw) => map.send(raw, sample.sender(), guard),
                    Err(e) => {
                        tracing::warn!(mapping = %map.name, sender = %sample.sender(), error = %e, "mesh message not forwarded");
                        map.tally.malformed();
                    }
                }
            }
        }
        let now = now_ns(start);
        for (MeshEnd { sub, link }, hit) in services.iter_mut().zip(fired) {
            if hit {
                sub.clear_wakeups()
                    .map_err(|e| BridgeError::Thread(e.to_string()))?;
            }
            link.tick(guard, now);
            while let Some(sample) = sub
                .recv_timeout(Duration::ZERO)
                .map_err(|e| BridgeError::Thread(e.to_string()))?
            {
                link.on_mesh_sample(&sample, guard, now);
            }
        }
    }
    Ok(())
}

impl Outbound {
    /// Writes `raw`, or keeps it until the writer's first match.
    fn send(&mut self, raw: RawCdr, sender: Did, guard: &Mutex<LoopGuard>) {
        match self.gate.admit((raw, sender)) {
            Some((raw, sender)) => self.write(raw, &sender),
            None => self.flush_if_matched(guard),
        }
    }

    /// Writes what waited once the writer has matched a reader.
    fn flush_if_matched(&mut self, guard: &Mutex<LoopGuard>) {
        for (raw, sender) in self.gate.observe(&self.writer, guard, &self.name) {
            self.write(raw, &sender);
        }
    }

    fn write(&mut self, raw: RawCdr, sender: &Did) {
        match self.writer.write(raw, None) {
            Ok(()) => self.tally.to_ros(Some(sender)),
            Err(e) => tracing::warn!(mapping = %self.name, %sender, error = %e, "DDS write failed"),
        }
    }
}

fn from_ros(
    mut maps: Vec<Inbound>,
    mut services: Vec<DdsEnd>,
    guard: &Mutex<LoopGuard>,
    mut poll: Poll,
    stop: &AtomicBool,
) -> Result<(), BridgeError> {
    let start = Instant::now();
    let readers = maps
        .iter_mut()
        .map(|m| &mut m.reader)
        .chain(services.iter_mut().map(|s| &mut s.reader));
    for (i, reader) in readers.enumerate() {
        poll.registry()
            .register(reader, Token(i), Interest::READABLE)
            .map_err(|e| BridgeError::Thread(format!("mio register: {e}")))?;
    }
    let mut events = Events::with_capacity(64);
    // Every wake-up (and every tick) reads every reader: RustDDS's readiness events can fall
    // behind a fast writer, and a keep-last reader left unread drops what it holds. Samples
    // may be waiting before the first wait too (transient-local history).
    while !stop.load(Ordering::SeqCst) {
        for map in &mut maps {
            map.drain(guard, start);
            // Late mesh subscribers get the topic's history (transient local) from here.
            if let Err(e) = map.publisher.update() {
                tracing::warn!(mapping = %map.name, error = %e, "mesh publisher update failed");
            }
        }
        for service in &mut services {
            service.drain(guard, now_ns(start));
            service.update();
        }
        match poll.poll(&mut events, Some(TICK)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BridgeError::Thread(format!("mio poll: {e}"))),
        }
    }
    Ok(())
}

impl Inbound {
    fn drain(&mut self, guard: &Mutex<LoopGuard>, start: Instant) {
        self.reader.drain_read_notifications();
        while let Some(change) = next_sample(&self.reader, &self.name, &self.tally) {
            if !lock(guard).from_ros(&prefix_of(&change.writer_guid))
                || !self.rate.as_mut().is_none_or(|r| r.allow(now_ns(start)))
            {
                self.tally.held_back();
                continue;
            }
            let archive = (self.ty.from_cdr)(change.sample.encapsulated());
            match archive.map(|a| self.publisher.publish_archive(&a)) {
                Ok(Ok(())) => self.tally.from_ros(),
                Ok(Err(e)) => {
                    tracing::warn!(mapping = %self.name, error = %e, "mesh publish failed");
                }
                Err(e) => {
                    tracing::warn!(mapping = %self.name, error = %e, "DDS sample not forwarded");
                    self.tally.malformed();
                }
            }
        }
    }
}
