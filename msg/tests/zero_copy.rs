//! Zero-copy access: a 1 MiB `sensor_msgs/PointCloud2` is read from its rkyv archive in place
//! (the data slice points into the archive buffer), and corrupt archives are refused.

use omni_msgs::rt::rkyv::{self, rancor::Error};
use omni_msgs::rt::Message;
use omni_msgs::sensor_msgs::msg::{ArchivedPointCloud2, PointCloud2, PointField};
use omni_msgs::std_msgs::msg::Header;

const MIB: usize = 1 << 20;

fn cloud() -> PointCloud2 {
    let point_step = 16u32;
    let width = u32::try_from(MIB).unwrap() / point_step;
    let field = |name: &str, offset| PointField {
        name: name.into(),
        offset,
        datatype: PointField::FLOAT32,
        count: 1,
    };
    let mut data = vec![0u8; MIB];
    for (i, point) in data.chunks_exact_mut(16).enumerate() {
        let x = i as f32 * 0.01;
        point[..4].copy_from_slice(&x.to_le_bytes());
    }
    PointCloud2 {
        header: Header {
            frame_id: "lidar".into(),
            ..Default::default()
        },
        height: 1,
        width,
        fields: vec![
            field("x", 0),
            field("y", 4),
            field("z", 8),
            field("intensity", 12),
        ],
        is_bigendian: false,
        point_step,
        row_step: point_step * width,
        data,
        is_dense: true,
    }
}

#[test]
fn one_mib_point_cloud_is_read_in_place() {
    let cloud = cloud();
    let bytes = rkyv::to_bytes::<Error>(&cloud).unwrap();
    let archived = rkyv::access::<ArchivedPointCloud2, Error>(&bytes).unwrap();
    let data: &[u8] = archived.data.as_slice();
    assert_eq!(data.len(), MIB);
    // The slice is a view into the archive buffer: no copy was made.
    let buffer = bytes.as_ptr_range();
    let view = data.as_ptr_range();
    assert!(
        buffer.start <= view.start && view.end <= buffer.end,
        "data lies inside the buffer"
    );
    assert_eq!(data, cloud.data.as_slice());
    // Typed fields in place, and a point decoded straight from the archived bytes.
    assert_eq!(archived.width.to_native(), cloud.width);
    assert_eq!(archived.header.frame_id.as_str(), "lidar");
    assert_eq!(archived.fields[3].name.as_str(), "intensity");
    let step = archived.point_step.to_native() as usize;
    let x_of_point_100 = f32::from_le_bytes(data[100 * step..100 * step + 4].try_into().unwrap());
    assert_eq!(x_of_point_100, 100.0 * 0.01);
}

#[test]
fn corrupt_archive_is_refused_not_read() {
    let bytes = rkyv::to_bytes::<Error>(&cloud()).unwrap();
    let mut corrupt = rkyv::util::AlignedVec::<16>::new();
    corrupt.extend_from_slice(&bytes);
    let root = size_of::<ArchivedPointCloud2>();
    let len = corrupt.len();
    for b in &mut corrupt[len - root..] {
        *b = 0xff;
    }
    assert!(rkyv::access::<ArchivedPointCloud2, Error>(&corrupt).is_err());
    assert!(rkyv::access::<ArchivedPointCloud2, Error>(&bytes[..bytes.len() / 2]).is_err());
}

#[test]
fn cdr_of_the_same_cloud_round_trips() {
    let cloud = cloud();
    let cdr = cloud.to_cdr().unwrap();
    assert!(cdr.len() > MIB);
    assert_eq!(PointCloud2::from_cdr(&cdr).unwrap(), cloud);
}
