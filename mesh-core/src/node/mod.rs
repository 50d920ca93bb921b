//! Nodes: a named, namespaced participant with a key, an epoch and a transport, that creates
//! typed publishers and subscribers on ROS 2-style names.
//!
//! End-to-end examples: `mesh-core/tests/node_pubsub.rs` (typed publish/receive, verified
//! sender DID, zero allocations in steady state) and the `talker` / `listener` pair in `nodes/`.

mod durable;
mod executor;
mod host_key;
mod metrics;
pub mod names;
mod pool;
mod publisher;
mod pubsub;
mod raw;
mod service;
mod threaded;

use std::sync::Arc;

pub use durable::{
    DurableError, DurablePublisher, DurableSample, DurableSubscriber, CONTROL_SUFFIX,
};
pub use executor::{Executor, SpinError};
pub use metrics::{DropLabels, DropReason, NodeMetrics, TopicLabels};
pub use pool::PooledBuf;
pub(crate) use publisher::now_ns;
pub use pubsub::{
    ArchiveSink, FrameBuf, Incoming, MeshMessage, NodeError, PublishError, Publisher, ReceiveError,
    Sample, Subscriber,
};
pub use raw::{RawPublisher, RawSample, RawSubscriber};
pub use service::reply_topic as service_reply_topic;
pub use service::{
    CallError, RawReplies, ServeError, ServiceClient, ServiceServer, MAX_REPLY_PORTS,
};
pub use threaded::{RunningExecutor, ThreadedError, ThreadedExecutor};

use crate::identity::{Did, NodeKey};
use crate::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};
use crate::transport::Transport;

/// A node: identity, names, security policy and transport.
#[derive(Debug)]
pub struct Node<T> {
    name: String,
    namespace: String,
    key: Arc<NodeKey>,
    epoch: u64,
    policy: Arc<SecurityPolicy>,
    transport: T,
    lossless: bool,
    stall_deadline: std::time::Duration,
    max_ports: usize,
    metrics: Arc<NodeMetrics>,
    /// Service clients created so far (each gets its own epoch).
    clients: std::sync::atomic::AtomicU64,
    /// Persistent state (durable topics, epochs), if the node has a store.
    store: Option<Arc<crate::store::Store>>,
}

/// Builds a [`Node`].
#[derive(Debug)]
#[must_use]
pub struct NodeBuilder<T> {
    name: String,
    namespace: String,
    transport: T,
    key: Option<NodeKey>,
    epoch: Option<u64>,
    security: SecurityConfig,
    trust: TrustStore,
    lossless: bool,
    stall_deadline: std::time::Duration,
    max_ports: usize,
    store: Option<Arc<crate::store::Store>>,
}

impl<T: Transport> Node<T> {
    /// A builder for node `name` on `transport`.
    pub fn builder(name: &str, transport: T) -> NodeBuilder<T> {
        NodeBuilder {
            name: name.to_owned(),
            namespace: "/".to_owned(),
            transport,
            key: None,
            epoch: None,
            security: SecurityConfig::default(),
            trust: TrustStore::new(),
            lossless: false,
            stall_deadline: std::time::Duration::from_secs(1),
            max_ports: 8,
            store: None,
        }
    }

    /// Node name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Namespace (absolute).
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The node's identity.
    #[must_use]
    pub fn did(&self) -> Did {
        self.key.did()
    }

    /// The epoch this node's publishers use (greater than any earlier run's).
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The security policy (counters, trust).
    #[must_use]
    pub fn policy(&self) -> &SecurityPolicy {
        &self.policy
    }

    /// The node's transport (tools scan the host through it).
    #[must_use]
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The node's metric families; register them with `metrics().register(&mut registry)`.
    #[must_use]
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// Registers everything this node counts: its data path ([`NodeMetrics`]) and its
    /// security rejections (`omnimesh_security_rejected_total{reason}`), under the labels
    /// `node` (fully qualified name) and `did`.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        let fqn = names::resolve("~", &self.namespace, &self.name).unwrap_or_default();
        let sub = registry.sub_registry_with_labels(
            [
                (
                    std::borrow::Cow::Borrowed("node"),
                    std::borrow::Cow::Owned(fqn),
                ),
                (
                    std::borrow::Cow::Borrowed("did"),
                    std::borrow::Cow::Owned(self.did().to_string()),
                ),
            ]
            .into_iter(),
        );
        self.metrics.register(sub);
        sub.register_collector(Box::new(crate::obs::RejectCollector(
            self.policy.counters(),
        )));
    }

    /// Resolves a topic name the ROS 2 way (absolute, relative to the namespace, `~` private).
    pub fn resolve(&self, topic: &str) -> Result<String, names::NameError> {
        names::resolve(topic, &self.namespace, &self.name)
    }
}

impl<T: Transport> NodeBuilder<T> {
    /// Namespace (`/fleet/amr_1`); the root by default.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = ns.to_owned();
        self
    }

    /// The node's key (a fresh one by default).
    pub fn key(mut self, key: NodeKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The epoch (by default the current Unix time in nanoseconds, which grows across restarts;
    /// nodes with persistent state use `replay::next_epoch`).
    pub fn epoch(mut self, epoch: u64) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Security configuration.
    pub fn security(mut self, config: SecurityConfig) -> Self {
        self.security = config;
        self
    }

    /// Applies a loaded configuration file (`omni-mesh.toml`): its security section (mode,
    /// limits, budgets). Trust and keys are set separately.
    pub fn config(mut self, config: &crate::config::Config) -> Self {
        self.security = config.security.clone();
        self
    }

    /// Trusted publishers, authority, grants.
    pub fn trust(mut self, trust: TrustStore) -> Self {
        self.trust = trust;
        self
    }

    /// Channels of this node make publishers wait for full subscriber queues instead of
    /// overwriting the oldest frame (lossless and in order on one host). A subscriber that
    /// stops reading stalls a publish for at most the [stall
    /// deadline](Self::stall_deadline), after which that frame is dropped for it and counted
    /// (`omnimesh_stall_drops_total`). Default: overwrite.
    pub fn lossless(mut self, lossless: bool) -> Self {
        self.lossless = lossless;
        self
    }

    /// Persistent state: the node takes its epoch from `store` (so it never repeats across
    /// restarts, whatever the clock does) and keeps durable topics there
    /// ([`Node::durable_publisher`], [`Node::durable_subscriber`]).
    pub fn store(mut self, store: Arc<crate::store::Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Shared memory: the publishers and the subscribers (each) a topic this node creates
    /// admits (default 8). The first endpoint of a topic sets it; every node of a fleet
    /// should use the same value (a topic with more publishers, such as a fleet-wide
    /// heartbeat, needs a larger one). Shared memory per publisher grows with it.
    pub fn max_ports(mut self, ports: usize) -> Self {
        self.max_ports = ports.max(1);
        self
    }

    /// Lossless channels: the longest one publish waits for a full subscriber queue
    /// (default 1 s).
    pub fn stall_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.stall_deadline = deadline;
        self
    }

    /// Validates names and builds the node.
    pub fn build(self) -> Result<Node<T>, NodeError> {
        names::validate_node_name(&self.name)?;
        let namespace = names::normalize_namespace(&self.namespace)?;
        let key = self.key.unwrap_or_else(NodeKey::generate);
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let epoch = match (&self.store, self.epoch) {
            (_, Some(epoch)) => epoch,
            (Some(store), None) => store.next_epoch(clock)?,
            (None, None) => clock,
        };
        let mut trust = self.trust;
        if self.security.mode != SecurityMode::Development {
            // A node always trusts its own publishers.
            trust.add_publisher(key.public());
        }
        Ok(Node {
            name: self.name,
            namespace,
            key: Arc::new(key),
            epoch,
            policy: Arc::new(SecurityPolicy::new(self.security, trust)),
            transport: self.transport,
            lossless: self.lossless,
            stall_deadline: self.stall_deadline,
            max_ports: self.max_ports,
            metrics: Arc::default(),
            clients: std::sync::atomic::AtomicU64::new(0),
            store: self.store,
        })
    }
}
