//! `mesh-bridge-ros2`: selected OMNI-MESH topics to and from ROS 2, over DDS, in pure Rust
//! (RustDDS; no ROS installation needed).
//!
//! A configuration file ([`config`]) maps mesh topics to ROS 2 topics with a direction, a
//! type, QoS and an optional rate limit, and services either way (ROS 2 clients calling mesh
//! servers, mesh clients calling ROS 2 servers; [`rpc`] ties replies to requests as
//! `rmw_cyclonedds` and `rmw_fastrtps` do). The [`Bridge`] runs a mesh node on this host's
//! shared memory and a DDS participant: mesh messages are verified, converted from their
//! archive to CDR by the generated codec (byte-exact with ROS 2) and written to DDS; DDS
//! samples are converted back and published on the mesh signed by the bridge's own key,
//! which vouches for them. Names and types follow ROS 2's DDS conventions ([`names`]), the
//! CDR bytes pass through RustDDS untouched ([`raw_cdr`]), and [`guard`] keeps messages from
//! looping between both directions and between bridges. [`metrics`] counts per mapping,
//! including the mesh senders of what goes to ROS 2.
//!
//! ```no_run
//! use mesh_bridge_ros2::{config::BridgeConfig, Bridge};
//! let config = BridgeConfig::from_file("bridge.toml".as_ref())?;
//! let bridge = Bridge::start(&config)?;
//! println!("bridging as {}", bridge.did());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod announce;
pub mod bridge;
pub mod config;
pub mod dds;
pub mod gate;
pub mod graph;
pub mod guard;
pub mod metrics;
pub mod names;
pub mod raw_cdr;
pub mod rpc;
pub mod runner;
mod service;

pub use bridge::{Bridge, BridgeError};
