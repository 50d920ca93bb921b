//! Shared parts of the reference robot nodes (`robot_sim`, `fleet_controller`, `lidar_sim`,
//! `teleop`, `monitor`) and the `omni-mesh` CLI: the node runtime (launch environment,
//! configuration, logging, metrics and health endpoint, signals and drain) and small fleet
//! helpers.

pub mod fleet;
pub mod runtime;
