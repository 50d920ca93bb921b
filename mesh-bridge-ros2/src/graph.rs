//! The ROS 2 graph: ROS 2 learns which node owns which DDS endpoints from the
//! `ros_discovery_info` topic (`rmw_dds_common/msg/ParticipantEntitiesInfo`), which every
//! participant publishes. The bridge publishes its own there, naming its node and the GIDs of
//! its bridged readers and writers, so `ros2 node list` and `ros2 node info` can show it.
//!
//! A GID is the endpoint's 16-byte GUID; ROS 2 Humble stores it in 24 bytes (zero-padded),
//! Iron and later in 16 (`[ros] gid_bytes`).

use omni_msgs::rt::cdr::CdrWriter;

use crate::raw_cdr::{RawCdr, RawCdrError};

/// The graph topic's DDS name.
pub const TOPIC: &str = "ros_discovery_info";
/// Its DDS type name.
pub const TYPE: &str = "rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_";

/// One node of a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntities {
    /// ROS namespace (`/`).
    pub namespace: String,
    /// ROS node name.
    pub name: String,
    /// GUIDs of the node's readers.
    pub readers: Vec<[u8; 16]>,
    /// GUIDs of the node's writers.
    pub writers: Vec<[u8; 16]>,
}

fn write_gid(w: &mut CdrWriter, guid: &[u8; 16], gid_bytes: usize) {
    w.write_bytes(guid);
    for _ in 16..gid_bytes {
        w.write_u8(0);
    }
}

/// The CDR of a `ParticipantEntitiesInfo` for `participant` with `nodes`.
///
/// # Errors
/// [`RawCdrError`] when a length does not fit CDR's 32 bits.
pub fn participant_info(
    participant: &[u8; 16],
    nodes: &[NodeEntities],
    gid_bytes: usize,
) -> Result<RawCdr, RawCdrError> {
    let mut w = CdrWriter::new();
    write_gid(&mut w, participant, gid_bytes);
    w.write_len(nodes.len());
    for node in nodes {
        w.write_string(&node.namespace);
        w.write_string(&node.name);
        for gids in [&node.readers, &node.writers] {
            w.write_len(gids.len());
            for gid in gids {
                write_gid(&mut w, gid, gid_bytes);
            }
        }
    }
    let bytes = w.finish().map_err(|e| RawCdrError(e.to_string()))?;
    RawCdr::from_encapsulated(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participant_info_lays_out_as_rmw_dds_common() {
        let node = NodeEntities {
            namespace: "/".into(),
            name: "b".into(),
            readers: vec![[1; 16]],
            writers: vec![],
        };
        let raw = participant_info(&[9; 16], std::slice::from_ref(&node), 16).unwrap();
        let mut expect = vec![9u8; 16];
        expect.extend_from_slice(&1u32.to_le_bytes()); // one node
        expect.extend_from_slice(&2u32.to_le_bytes()); // "/" with its NUL
        expect.extend_from_slice(b"/\0");
        expect.extend_from_slice(&[0, 0]); // align the next length to 4
        expect.extend_from_slice(&2u32.to_le_bytes());
        expect.extend_from_slice(b"b\0");
        expect.extend_from_slice(&[0, 0]);
        expect.extend_from_slice(&1u32.to_le_bytes()); // one reader
        expect.extend_from_slice(&[1; 16]);
        expect.extend_from_slice(&0u32.to_le_bytes()); // no writers
        assert_eq!(raw.body(), expect.as_slice());
        // Humble's 24-byte GIDs: each padded with zeros.
        let humble = participant_info(&[9; 16], &[node], 24).unwrap();
        assert_eq!(&humble.body()[16..24], &[0; 8]);
        assert_eq!(humble.body().len(), expect.len() + 8 + 8);
    }
}
