//! Bridges announce themselves on the mesh (`omni_msgs/msg/BridgeAnnouncement` on
//! [`ANNOUNCE_TOPIC`], once a second, with history so a new bridge learns the others at
//! once) and learn each other from the announcements: their mesh keys and DDS participants
//! go into the [`LoopGuard`], so no bridge forwards what another brought across.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use mesh_core::delivery::{History, Qos};
use omni_msgs::omni_msgs::msg::BridgeAnnouncement;
use omni_msgs::rt::value::FromValue as _;
use omni_msgs::rt::Message as _;

use crate::bridge::{BridgeError, MeshNode, MeshPub, MeshSub};
use crate::config::BridgeConfig;
use crate::dds::DdsSide;
use crate::guard::{lock, LoopGuard};

/// Where bridges announce themselves on the mesh.
pub const ANNOUNCE_TOPIC: &str = "/omni_mesh/ros2_bridges";
/// How often a bridge announces itself.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);

/// Announces this bridge on the mesh and learns the other bridges from theirs.
pub(crate) struct Announcer {
    pub(crate) sub: MeshSub,
    publisher: MeshPub,
    archive: Vec<u8>,
    domain: u16,
    next: Instant,
}

impl Announcer {
    pub(crate) fn open(
        node: &MeshNode,
        dds: &DdsSide,
        config: &BridgeConfig,
    ) -> Result<Self, BridgeError> {
        let mesh = |e: &dyn std::fmt::Display| BridgeError::Mesh(e.to_string());
        // History, so a bridge that starts learns the others at once.
        let qos = Qos::best_effort()
            .with_history(History::KeepLast(16))
            .transient_local();
        let spec = node
            .channel_spec(ANNOUNCE_TOPIC, 1024, &qos)
            .map_err(|e| mesh(&e))?;
        let announcement = BridgeAnnouncement {
            domain_id: config.ros.domain_id,
            dds_participant: dds.participant_id(),
            node_name: node.name().to_owned(),
        };
        let archive =
            omni_msgs::rt::rkyv::to_bytes::<omni_msgs::rt::rkyv::rancor::Error>(&announcement)
                .map_err(|e| mesh(&e))?
                .to_vec();
        Ok(Self {
            sub: node.raw_subscriber(&spec).map_err(|e| mesh(&e))?,
            publisher: node
                .raw_publisher(&spec, BridgeAnnouncement::TYPE_HASH.value)
                .map_err(|e| mesh(&e))?,
            archive,
            domain: config.ros.domain_id,
            next: Instant::now(),
        })
    }

    /// Announces when due, serves late joiners, and learns from the announcements waiting.
    pub(crate) fn tick(&mut self, guard: &Mutex<LoopGuard>) -> Result<(), BridgeError> {
        if Instant::now() >= self.next {
            self.next = Instant::now() + ANNOUNCE_EVERY;
            self.publisher
                .publish_archive(&self.archive)
                .map_err(|e| BridgeError::Thread(format!("announcement: {e}")))?;
        }
        let _ = self.publisher.update();
        while let Some(sample) = self
            .sub
            .recv_timeout(Duration::ZERO)
            .map_err(|e| BridgeError::Thread(e.to_string()))?
        {
            if sample.type_hash() != BridgeAnnouncement::TYPE_HASH.value {
                continue;
            }
            let Some(peer) = omni_msgs::dynamic::by_hash(&sample.type_hash())
                .and_then(|t| (t.decode)(sample.payload()).ok())
                .and_then(|v| BridgeAnnouncement::from_value(&v).ok())
            else {
                continue;
            };
            if peer.domain_id == self.domain
                && lock(guard).learn_peer_bridge(sample.publisher(), peer.dds_participant)
            {
                tracing::info!(peer = %sample.sender(), node = %peer.node_name, "learnt a peer bridge: no loops through it");
            }
        }
        Ok(())
    }
}
