//! OMNI-MESH interface types, generated at build time by `mesh-codegen` from the `.msg`,
//! `.srv` and `.action` files in this crate's directory.
//!
//! The mirrored ROS 2 packages (`builtin_interfaces`, `std_msgs`, `geometry_msgs`,
//! `sensor_msgs`, `nav_msgs`, `unique_identifier_msgs`, `action_msgs`, `service_msgs`,
//! `std_srvs`, and `example_interfaces`'s `AddTwoInts`) have the same fields, CDR bytes and RIHS01 type hashes as ROS 2's; `omni_msgs`
//! holds the fleet types.
//!
//! Every struct is an rkyv archive type (zero-copy access), has a CDR codec, a `Default`
//! honouring declared defaults, associated constants, and its ROS name and type hash:
//!
//! ```
//! use omni_msgs::geometry_msgs::msg::Quaternion;
//! use omni_msgs::omni_msgs::msg::RobotState;
//! use omni_msgs::rt::Message;
//!
//! // Declared defaults: `float64 w 1`.
//! assert_eq!(Quaternion::default().w, 1.0);
//! assert_eq!(Quaternion::TYPE_NAME, "geometry_msgs/msg/Quaternion");
//!
//! // CDR round trip, bytes as ROS 2 puts them on the wire.
//! let mut state = RobotState::default();
//! state.robot_id = "amr-7".into();
//! state.mode = RobotState::MODE_AUTONOMOUS;
//! let bytes = state.to_cdr().unwrap();
//! assert_eq!(RobotState::from_cdr(&bytes).unwrap(), state);
//!
//! // Declared bounds are enforced: `string<=64 robot_id`.
//! state.robot_id = "x".repeat(65);
//! assert!(state.to_cdr().is_err());
//!
//! // Zero-copy: read fields straight from the archived bytes.
//! state.robot_id = "amr-7".into();
//! let archived_bytes = omni_msgs::rt::rkyv::to_bytes::<omni_msgs::rt::rkyv::rancor::Error>(&state).unwrap();
//! let archived = omni_msgs::rt::rkyv::access::<
//!     omni_msgs::omni_msgs::msg::ArchivedRobotState,
//!     omni_msgs::rt::rkyv::rancor::Error,
//! >(&archived_bytes)
//! .unwrap();
//! assert_eq!(archived.robot_id.as_str(), "amr-7");
//! ```

pub use mesh_msg_runtime as rt;

pub mod dynamic;

/// Directory holding this crate's interface packages (`<pkg>/msg/*.msg` ...), for build
/// scripts of other crates that reference these types (pass it to
/// `mesh_codegen::Generator::root` together with `extern_package`).
pub const INTERFACES_DIR: &str = env!("CARGO_MANIFEST_DIR");

include!(concat!(env!("OUT_DIR"), "/interfaces/mod.rs"));
