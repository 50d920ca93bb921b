//! The bridge's configuration file: which mesh topics map to which ROS 2 topics, in which
//! direction, with which type and QoS; the mesh node the bridge runs as; the DDS domain.
//! Every mistake is reported with its file, line and column.
//!
//! ```
//! let config = mesh_bridge_ros2::config::BridgeConfig::from_toml(r#"
//!     [ros]
//!     domain_id = 7
//!
//!     [[topic]]
//!     mesh = "/chatter"
//!     type = "std_msgs/msg/String"
//!     direction = "both"
//! "#).unwrap();
//! assert_eq!(config.topics[0].ros_name(), "/chatter");
//! assert!(mesh_bridge_ros2::config::BridgeConfig::from_toml("[[topic]]\nmesh = 3").is_err());
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::names;
use crate::rpc::Rmw;

/// Which way a topic is bridged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Mesh publishers reach ROS 2 subscribers.
    ToRos,
    /// ROS 2 publishers reach mesh subscribers.
    FromRos,
    /// Both ways (the bridge never sends a message back where it came from).
    Both,
}

impl Direction {
    /// Whether mesh messages go to ROS 2.
    #[must_use]
    pub fn to_ros(self) -> bool {
        matches!(self, Self::ToRos | Self::Both)
    }

    /// Whether ROS 2 messages come into the mesh.
    #[must_use]
    pub fn from_ros(self) -> bool {
        matches!(self, Self::FromRos | Self::Both)
    }
}

/// DDS reliability (and the mesh topic's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reliability {
    /// Retransmitted until acknowledged (ROS 2's default).
    #[default]
    Reliable,
    /// Sent once.
    BestEffort,
}

/// DDS durability (and the mesh topic's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Only subscribers present at publication get a message (ROS 2's default).
    #[default]
    Volatile,
    /// Late joiners get the last `depth` messages.
    TransientLocal,
}

/// One bridged topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicMap {
    /// Mesh topic (absolute, or relative to `[mesh] namespace`).
    pub mesh: Spanned<String>,
    /// ROS 2 topic (absolute, or relative to `[ros] namespace`); the mesh name by default.
    #[serde(default)]
    pub ros: Option<Spanned<String>>,
    /// Interface type, `pkg/msg/Type`.
    #[serde(rename = "type")]
    pub type_name: Spanned<String>,
    /// Which way.
    pub direction: Direction,
    /// Reliability on both sides.
    #[serde(default)]
    pub reliability: Reliability,
    /// Durability on both sides.
    #[serde(default)]
    pub durability: Durability,
    /// History depth on both sides.
    #[serde(default = "default_depth")]
    pub depth: Spanned<u32>,
    /// Largest message on the mesh side, bytes (shared-memory frame size).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// At most this many messages per second each way (none: no limit).
    #[serde(default)]
    pub rate_limit_hz: Option<Spanned<f64>>,
    /// The resolved ROS name (set by validation).
    #[serde(skip)]
    ros_resolved: String,
    /// The resolved mesh name (set by validation).
    #[serde(skip)]
    mesh_resolved: String,
}

impl TopicMap {
    /// The absolute ROS 2 name.
    #[must_use]
    pub fn ros_name(&self) -> &str {
        &self.ros_resolved
    }

    /// The absolute mesh name.
    #[must_use]
    pub fn mesh_name(&self) -> &str {
        &self.mesh_resolved
    }
}

fn default_depth() -> Spanned<u32> {
    Spanned::new(0..0, 10)
}

fn default_max_bytes() -> usize {
    65_536
}

/// Where a bridged service's server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerSide {
    /// A ROS 2 node serves; mesh clients call it through the bridge.
    Ros,
    /// A mesh node serves; ROS 2 clients call it through the bridge.
    Mesh,
}

/// One bridged service (ROS 2's service QoS on DDS: reliable, volatile, depth 10).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceMap {
    /// Mesh service name (absolute, or relative to `[mesh] namespace`).
    pub mesh: Spanned<String>,
    /// ROS 2 service name (absolute, or relative to `[ros] namespace`); the mesh name by default.
    #[serde(default)]
    pub ros: Option<Spanned<String>>,
    /// Service type, `pkg/srv/Type`.
    #[serde(rename = "type")]
    pub type_name: Spanned<String>,
    /// Which side serves.
    pub server: ServerSide,
    /// The ROS 2 server's middleware (needed when `server = "ros"`: middlewares match replies
    /// to requests differently). Requests from ROS 2 clients are recognised per request.
    #[serde(default)]
    pub rmw: Option<Spanned<Rmw>>,
    /// Largest request or reply on the mesh side, bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// How long a call may wait for its reply before the bridge forgets it, milliseconds.
    #[serde(default = "default_call_timeout_ms")]
    pub timeout_ms: Spanned<u64>,
    /// The resolved ROS name (set by validation).
    #[serde(skip)]
    ros_resolved: String,
    /// The resolved mesh name (set by validation).
    #[serde(skip)]
    mesh_resolved: String,
}

impl ServiceMap {
    /// The absolute ROS 2 name.
    #[must_use]
    pub fn ros_name(&self) -> &str {
        &self.ros_resolved
    }

    /// The absolute mesh name.
    #[must_use]
    pub fn mesh_name(&self) -> &str {
        &self.mesh_resolved
    }

    /// The request and response type names (`pkg/srv/Type_Request`, `..._Response`).
    #[must_use]
    pub fn part_types(&self) -> [String; 2] {
        let ty = self.type_name.get_ref();
        [format!("{ty}_Request"), format!("{ty}_Response")]
    }
}

fn default_call_timeout_ms() -> Spanned<u64> {
    Spanned::new(0..0, 10_000)
}

/// The mesh node the bridge runs as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshSide {
    /// Node name.
    pub node: String,
    /// Namespace relative mesh names resolve in.
    pub namespace: String,
    /// Shared-memory prefix of the host (default: `OMNI_MESH_SHM_PREFIX`, else iceoryx2's).
    pub shm_prefix: Option<String>,
    /// The bridge's key file (a new key each start when absent).
    pub key_file: Option<PathBuf>,
    /// Mesh configuration file (security mode, trust); `OMNI_MESH_*` variables apply.
    pub config: Option<PathBuf>,
    /// Publisher DIDs trusted besides the bridge's own key.
    pub trust: Vec<String>,
}

impl Default for MeshSide {
    fn default() -> Self {
        Self {
            node: "ros2_bridge".into(),
            namespace: "/".into(),
            shm_prefix: None,
            key_file: None,
            config: None,
            trust: Vec::new(),
        }
    }
}

/// The DDS side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RosSide {
    /// DDS domain (`ROS_DOMAIN_ID`).
    pub domain_id: u16,
    /// Namespace relative ROS names resolve in.
    pub namespace: String,
    /// The bridge's ROS 2 node name (what `ros2 node list` shows).
    pub node: String,
    /// Bytes of an endpoint GID in the ROS 2 graph: 16 (Iron and later) or 24 (Humble).
    pub gid_bytes: usize,
}

impl Default for RosSide {
    fn default() -> Self {
        Self {
            domain_id: 0,
            namespace: "/".into(),
            node: "omni_mesh_bridge".into(),
            gid_bytes: 16,
        }
    }
}

/// Loop prevention between bridges.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoopSide {
    /// DIDs of other bridges on this mesh: what they brought in from ROS 2 is not sent back.
    pub peer_bridges: Vec<String>,
    /// Their keys (set by validation).
    #[serde(skip)]
    peer_keys: Vec<[u8; 32]>,
}

impl LoopSide {
    /// The peer bridges' mesh keys.
    #[must_use]
    pub fn peer_keys(&self) -> &[[u8; 32]] {
        &self.peer_keys
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// The mesh node.
    #[serde(default)]
    pub mesh: MeshSide,
    /// The DDS side.
    #[serde(default)]
    pub ros: RosSide,
    /// Loop prevention.
    #[serde(default, rename = "loop")]
    pub loop_guard: LoopSide,
    /// Bridged topics.
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicMap>,
    /// Bridged services.
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceMap>,
}

/// The configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeConfigError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A mistake, located when it can be.
    #[error("{}{}: {message}", path.as_ref().map_or("bridge configuration".to_owned(), |p| p.display().to_string()), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// 1-based line and column.
        location: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
    },
}

impl BridgeConfig {
    /// Reads and checks a configuration file.
    ///
    /// # Errors
    /// [`BridgeConfigError`], located to line and column.
    pub fn from_file(path: &Path) -> Result<Self, BridgeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| BridgeConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            BridgeConfigError::Invalid {
                location, message, ..
            } => BridgeConfigError::Invalid {
                path: Some(path.to_owned()),
                location,
                message,
            },
            other => other,
        })
    }

    /// Parses and checks configuration text.
    ///
    /// # Errors
    /// [`BridgeConfigError::Invalid`], located to line and column.
    pub fn from_toml(text: &str) -> Result<Self, BridgeConfigError> {
        let invalid =
            |span: Option<std::ops::Range<usize>>, message: String| BridgeConfigError::Invalid {
                path: None,
                location: span.map(|s| mesh_core::config::line_col(text, s.start)),
                message,
            };
        let mut config: Self =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().to_owned()))?;
        let mut seen = std::collections::HashSet::new();
        for topic in &mut config.topics {
            let ty = topic.type_name.get_ref();
            if omni_msgs::dynamic::by_name(ty).is_none() || names::dds_type(ty).is_none() {
                return Err(invalid(
                    Some(topic.type_name.span()),
                    format!("unknown message type {ty:?} (expected pkg/msg/Type, one of omni_msgs::dynamic)"),
                ));
            }
            let (mesh, ros) =
                resolve_names((&config.mesh, &config.ros), &topic.mesh, topic.ros.as_ref())
                    .map_err(|(span, message)| invalid(Some(span), message))?;
            if *topic.depth.get_ref() == 0 {
                return Err(invalid(
                    Some(topic.depth.span()).filter(|s| !s.is_empty()),
                    "depth must be at least 1".into(),
                ));
            }
            if let Some(rate) = &topic.rate_limit_hz {
                if !(rate.get_ref().is_finite() && *rate.get_ref() > 0.0) {
                    return Err(invalid(
                        Some(rate.span()),
                        "rate_limit_hz must be a positive number".into(),
                    ));
                }
            }
            if !seen.insert((mesh.clone(), ros.clone())) {
                return Err(invalid(
                    Some(topic.mesh.span()),
                    format!("{mesh} <-> {ros} is mapped twice"),
                ));
            }
            topic.mesh_resolved = mesh;
            topic.ros_resolved = ros;
        }
        let mut services = std::mem::take(&mut config.services);
        let mut seen = std::collections::HashSet::new();
        for service in &mut services {
            check_service(&config, service, &mut seen)
                .map_err(|(span, message)| invalid(span, message))?;
        }
        config.services = services;
        if !matches!(config.ros.gid_bytes, 16 | 24) {
            return Err(invalid(
                None,
                format!(
                    "[ros] gid_bytes must be 16 (ROS 2 Iron and later) or 24 (Humble), not {}",
                    config.ros.gid_bytes
                ),
            ));
        }
        for did in &config.loop_guard.peer_bridges {
            let parsed = did
                .parse::<mesh_core::identity::Did>()
                .map_err(|e| invalid(None, format!("[loop] peer_bridges: {did}: {e}")))?;
            config
                .loop_guard
                .peer_keys
                .push(parsed.public_key().to_bytes());
        }
        Ok(config)
    }
}

/// A mistake: where (a span of the text) and what.
type Located = (std::ops::Range<usize>, String);

/// Resolves a mapping's mesh name and its ROS name (the mesh name when not given).
fn resolve_names(
    (mesh_side, ros_side): (&MeshSide, &RosSide),
    mesh: &Spanned<String>,
    ros: Option<&Spanned<String>>,
) -> Result<(String, String), Located> {
    let resolved =
        mesh_core::node::names::resolve(mesh.get_ref(), &mesh_side.namespace, &mesh_side.node)
            .map_err(|e| (mesh.span(), format!("mesh name: {e}")))?;
    let (ros, ros_span) = match ros {
        Some(r) => (r.get_ref().clone(), r.span()),
        None => (resolved.clone(), mesh.span()),
    };
    let ros = names::absolute(&ros_side.namespace, &ros);
    mesh_core::node::names::resolve(&ros, "/", &ros_side.node)
        .map_err(|e| (ros_span, format!("ROS name: {e}")))?;
    Ok((resolved, ros))
}

fn check_service(
    config: &BridgeConfig,
    service: &mut ServiceMap,
    seen: &mut std::collections::HashSet<(String, String)>,
) -> Result<(), (Option<std::ops::Range<usize>>, String)> {
    let ty = service.type_name.get_ref();
    let known = service
        .part_types()
        .iter()
        .all(|part| omni_msgs::dynamic::by_name(part).is_some() && names::dds_type(part).is_some());
    if !known || !ty.contains("/srv/") {
        return Err((
            Some(service.type_name.span()),
            format!(
                "unknown service type {ty:?} (expected pkg/srv/Type, one of omni_msgs::dynamic)"
            ),
        ));
    }
    let (mesh, ros) = resolve_names(
        (&config.mesh, &config.ros),
        &service.mesh,
        service.ros.as_ref(),
    )
    .map_err(|(span, message)| (Some(span), message))?;
    match (service.server, &service.rmw) {
        (ServerSide::Ros, None) => {
            return Err((
                Some(service.mesh.span()),
                format!("service {mesh}: server = \"ros\" needs rmw = \"fastdds\" or \"cyclonedds\" (the ROS 2 server's middleware; they match replies to requests differently)"),
            ));
        }
        (ServerSide::Mesh, Some(rmw)) => {
            return Err((
                Some(rmw.span()),
                "rmw applies to server = \"ros\" only: requests from ROS 2 clients are recognised per request".into(),
            ));
        }
        _ => {}
    }
    if *service.timeout_ms.get_ref() == 0 {
        return Err((
            Some(service.timeout_ms.span()).filter(|s| !s.is_empty()),
            "timeout_ms must be at least 1".into(),
        ));
    }
    if !seen.insert((mesh.clone(), ros.clone())) {
        return Err((
            Some(service.mesh.span()),
            format!("{mesh} <-> {ros} is mapped twice"),
        ));
    }
    service.mesh_resolved = mesh;
    service.ros_resolved = ros;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        BridgeConfig::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn mappings_resolve_names_and_defaults() {
        let c = BridgeConfig::from_toml(
            r#"
            [mesh]
            namespace = "/fleet"
            [ros]
            namespace = "/ros_side"
            [[topic]]
            mesh = "cmd_vel"
            type = "geometry_msgs/msg/Twist"
            direction = "from_ros"
            [[topic]]
            mesh = "/lidar/points"
            ros = "/points"
            type = "sensor_msgs/msg/PointCloud2"
            direction = "to_ros"
            reliability = "best_effort"
            durability = "transient_local"
            depth = 2
            max_bytes = 2000000
            rate_limit_hz = 5.0
            "#,
        )
        .unwrap();
        assert_eq!(c.topics[0].mesh_name(), "/fleet/cmd_vel");
        assert_eq!(c.topics[0].ros_name(), "/fleet/cmd_vel");
        assert_eq!(*c.topics[0].depth.get_ref(), 10);
        assert_eq!(c.topics[0].reliability, Reliability::Reliable);
        assert_eq!(c.topics[1].ros_name(), "/points");
        assert_eq!(c.topics[1].durability, Durability::TransientLocal);
        assert!(c.topics[1].direction.to_ros() && !c.topics[1].direction.from_ros());
        assert_eq!(c.ros.node, "omni_mesh_bridge");
        let peer = mesh_core::identity::NodeKey::generate().public();
        let did = mesh_core::identity::Did::from(peer);
        let c = BridgeConfig::from_toml(&format!("[loop]\npeer_bridges = [\"{did}\"]\n")).unwrap();
        assert_eq!(c.loop_guard.peer_keys(), [peer.to_bytes()]);
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let c =
            BridgeConfig::from_toml(include_str!("../../config/ros2-bridge.example.toml")).unwrap();
        assert_eq!(c.topics.len(), 4);
        assert_eq!(c.services[0].server, ServerSide::Mesh);
        assert_eq!(c.topics[3].ros_name(), "/goal_pose");
    }

    #[test]
    fn mistakes_are_located() {
        let e =
            err("[[topic]]\nmesh = \"/a\"\ntype = \"std_msgs/msg/Nope\"\ndirection = \"both\"\n");
        assert!(e.contains(":3:8: unknown message type"), "{e}");
        let e = err(
            "[[topic]]\nmesh = \"/a\"\ntype = \"std_msgs/msg/String\"\ndirection = \"sideways\"\n",
        );
        assert!(e.contains(":4:"), "{e}");
        let e = err("[ros]\ndomain = 3\n");
        assert!(e.contains(":2:1") && e.contains("unknown field"), "{e}");
        let e = err("[[topic]]\nmesh = \"bad name!\"\ntype = \"std_msgs/msg/String\"\ndirection = \"both\"\n");
        assert!(e.contains(":2:8: mesh name"), "{e}");
        let twice =
            "[[topic]]\nmesh = \"/a\"\ntype = \"std_msgs/msg/String\"\ndirection = \"to_ros\"\n";
        let e = err(&format!("{twice}{twice}"));
        assert!(e.contains(":6:8") && e.contains("mapped twice"), "{e}");
        let e = err("[[topic]]\nmesh = \"/a\"\ntype = \"std_msgs/msg/String\"\ndirection = \"both\"\nrate_limit_hz = -1.0\n");
        assert!(e.contains(":5:17: rate_limit_hz"), "{e}");
        let e = err("[ros]\ngid_bytes = 20\n");
        assert!(e.contains("gid_bytes must be 16"), "{e}");
        let e = err("[loop]\npeer_bridges = [\"did:key:nope\"]\n");
        assert!(e.contains("peer_bridges"), "{e}");
    }

    #[test]
    fn services_name_their_types_and_the_server_side() {
        let c = BridgeConfig::from_toml(
            "[[service]]\nmesh = \"add\"\nros = \"/add_two_ints\"\ntype = \"example_interfaces/srv/AddTwoInts\"\nserver = \"ros\"\nrmw = \"cyclonedds\"\n\
             [[service]]\nmesh = \"/set_mode\"\ntype = \"omni_msgs/srv/SetMode\"\nserver = \"mesh\"\n",
        )
        .unwrap();
        let add = &c.services[0];
        assert_eq!((add.mesh_name(), add.ros_name()), ("/add", "/add_two_ints"));
        assert_eq!(
            add.rmw.as_ref().map(|r| *r.get_ref()),
            Some(Rmw::Cyclonedds)
        );
        assert_eq!(
            add.part_types()[1],
            "example_interfaces/srv/AddTwoInts_Response"
        );
        assert_eq!(*c.services[1].timeout_ms.get_ref(), 10_000);
        let service = |body: &str| err(&format!("[[service]]\nmesh = \"/s\"\n{body}"));
        let e = service("type = \"std_msgs/msg/String\"\nserver = \"mesh\"\n");
        assert!(e.contains(":3:8: unknown service type"), "{e}");
        let e = service("type = \"std_srvs/srv/Trigger\"\nserver = \"ros\"\n");
        assert!(e.contains(":2:8") && e.contains("needs rmw"), "{e}");
        let e = service("type = \"std_srvs/srv/Trigger\"\nserver = \"mesh\"\nrmw = \"fastdds\"\n");
        assert!(e.contains(":5:7: rmw applies"), "{e}");
        let e = service("type = \"std_srvs/srv/Trigger\"\nserver = \"mesh\"\ntimeout_ms = 0\n");
        assert!(e.contains(":5:14: timeout_ms"), "{e}");
        let e = service("type = \"std_srvs/srv/Trigger\"\nserver = \"both\"\n");
        assert!(e.contains(":4:"), "{e}");
    }
}
