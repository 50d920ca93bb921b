//! Inputs shared by the benches (a 1 MiB `sensor_msgs/PointCloud2`, a small
//! `geometry_msgs/Pose`, test envelopes), shared-memory clean-up, and the link paths of the
//! network comparisons ([`net_paths`]).

pub mod net_paths;

use omni_msgs::geometry_msgs::msg::{Point, Pose, Quaternion};
use omni_msgs::sensor_msgs::msg::{PointCloud2, PointField};
use omni_msgs::std_msgs::msg::Header;

/// A 1 MiB cloud of 65536 points (x, y, z, intensity as f32).
#[must_use]
pub fn point_cloud_1mib() -> PointCloud2 {
    let field = |name: &str, offset| PointField {
        name: name.into(),
        offset,
        datatype: PointField::FLOAT32,
        count: 1,
    };
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    PointCloud2 {
        header: Header {
            frame_id: "lidar".into(),
            ..Default::default()
        },
        height: 1,
        width: 65536,
        fields: vec![
            field("x", 0),
            field("y", 4),
            field("z", 8),
            field("intensity", 12),
        ],
        is_bigendian: false,
        point_step: 16,
        row_step: 16 * 65536,
        data,
        is_dense: true,
    }
}

/// A pose (56 bytes of payload).
#[must_use]
pub fn pose() -> Pose {
    Pose {
        position: Point {
            x: 1.0,
            y: 2.0,
            z: 3.0,
        },
        orientation: Quaternion {
            x: 0.0,
            y: 0.0,
            z: 0.382,
            w: 0.924,
        },
    }
}

/// Envelope inputs for the envelope and pipeline benches.
pub mod envelopes {
    use mesh_core::envelope::{Envelope, EnvelopeFields, TopicId, Unsigned};

    /// Fields of the `sequence`th envelope on a fixed topic.
    #[must_use]
    pub fn fields(sequence: u64) -> EnvelopeFields {
        EnvelopeFields {
            topic: TopicId::of("/fleet/amr_1/odom"),
            type_hash: [0x42; 32],
            epoch: 1,
            sequence,
            timestamp_ns: 1_764_000_000_000_000_000 + sequence,
        }
    }

    /// An unsigned envelope with `len` payload bytes.
    #[must_use]
    pub fn unsigned(sequence: u64, payload: &[u8]) -> Envelope<Unsigned> {
        Envelope::new(fields(sequence), payload).expect("payload fits")
    }
}

/// Removes this bench process's shared-memory files: those whose name starts with `prefix`.
pub fn remove_shm_files(prefix: &str) {
    for e in std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
