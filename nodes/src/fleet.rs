//! Fleet helpers shared by the reference nodes: message stamps, task ids, topic names.

use omni_msgs::builtin_interfaces::msg::Time;
use omni_msgs::unique_identifier_msgs::msg::UUID;

/// Heartbeats of every node of the fleet.
pub const HEARTBEAT_TOPIC: &str = "/fleet/heartbeat";
/// Task progress reported by robots.
pub const TASK_STATUS_TOPIC: &str = "/fleet/task_status";
/// The lidar's point clouds.
pub const LIDAR_TOPIC: &str = "/lidar/points";

/// Now, as a ROS time stamp.
#[must_use]
pub fn now_stamp() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time {
        sec: i32::try_from(d.as_secs()).unwrap_or(i32::MAX),
        nanosec: d.subsec_nanos(),
    }
}

/// A task id from a counter and a node-specific salt (unique within a fleet run).
#[must_use]
pub fn task_id(salt: u64, n: u64) -> UUID {
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&salt.to_le_bytes());
    uuid[8..].copy_from_slice(&n.to_le_bytes());
    UUID { uuid }
}

/// A task id as text (hex).
#[must_use]
pub fn task_text(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A robot's private topic: `/<robot>/<leaf>` (robot given by its fully qualified name).
#[must_use]
pub fn robot_topic(robot_fqn: &str, leaf: &str) -> String {
    format!("{}/{leaf}", robot_fqn.trim_end_matches('/'))
}

/// The QoS of `/lidar/points`: best effort, the newest two clouds.
#[must_use]
pub fn lidar_qos() -> mesh_core::delivery::Qos {
    mesh_core::delivery::Qos::best_effort().with_history(mesh_core::delivery::History::KeepLast(2))
}
