//! `lidar_sim`: a spinning 3D lidar that publishes sensor_msgs/PointCloud2 on `/lidar/points`
//! (x, y, z, intensity as float32; 65536 points = 1 MiB by default) at `rate_hz`, over shared
//! memory: each cloud is written once into shared memory and read in place by subscribers.
//!
//! Parameters: `rate_hz` (5), `points` (65536), `frame_id` ("lidar").

use std::time::Duration;

use clap::Parser;
use omni_mesh_nodes::fleet::{lidar_qos, now_stamp, LIDAR_TOPIC};
use omni_mesh_nodes::runtime::{NodeArgs, NodeRuntime};
use omni_msgs::sensor_msgs::msg::{PointCloud2, PointField};
use omni_msgs::std_msgs::msg::Header;

#[derive(Parser)]
#[command(about = "A simulated lidar publishing large point clouds over shared memory")]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
}

/// Bytes per point: x, y, z, intensity as float32.
const POINT_STEP: u32 = 16;

fn field(name: &str, offset: u32) -> PointField {
    PointField {
        name: name.into(),
        offset,
        datatype: PointField::FLOAT32,
        count: 1,
    }
}

/// Fills `data` with one revolution of a 16-beam scan of a round room, rotated by `phase`.
fn scan(data: &mut [u8], phase: f32) {
    let points = data.len() / POINT_STEP as usize;
    let per_beam = (points / 16).max(1);
    for (i, p) in data.chunks_exact_mut(POINT_STEP as usize).enumerate() {
        let beam = (i / per_beam) as f32;
        let angle = phase + (i % per_beam) as f32 / per_beam as f32 * std::f32::consts::TAU;
        let range = 8.0 + (angle * 3.0).sin();
        let elevation = (beam - 8.0) * 0.035;
        let values = [
            range * angle.cos(),
            range * angle.sin(),
            range * elevation.sin(),
            100.0 - range,
        ];
        for (k, v) in values.iter().enumerate() {
            p[k * 4..k * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = NodeRuntime::init("lidar", &args.node)?;
    let node = rt.node()?;
    let rate = rt.param_f64("rate_hz", 5.0).clamp(0.1, 100.0);
    let points = u32::try_from(rt.param_u64("points", 65_536).clamp(16, 4 << 20))?;
    let frame_id = rt.param_str("frame_id", "lidar");
    let bytes = (points * POINT_STEP) as usize;
    let mut publisher =
        node.publisher_with::<PointCloud2>(&rt.topic(LIDAR_TOPIC), bytes + 4096, &lidar_qos())?;
    rt.serve(&node)?;
    let mut cloud = PointCloud2 {
        header: Header {
            frame_id,
            ..Header::default()
        },
        height: 1,
        width: points,
        fields: vec![
            field("x", 0),
            field("y", 4),
            field("z", 8),
            field("intensity", 12),
        ],
        is_bigendian: false,
        point_step: POINT_STEP,
        row_step: points * POINT_STEP,
        data: vec![0; bytes],
        is_dense: true,
    };
    let mut exec = rt.executor();
    let mut phase = 0.0f32;
    exec.named_timer("scan", Duration::from_secs_f64(1.0 / rate), move || {
        phase += 0.1;
        cloud.header.stamp = now_stamp();
        scan(&mut cloud.data, phase);
        if let Err(e) = publisher.publish(&cloud) {
            tracing::warn!("publishing a cloud: {e}");
        }
    });
    tracing::info!(points, bytes, rate_hz = rate, "lidar spinning");
    rt.ready(&node.did());
    rt.spin(&mut exec, Duration::from_millis(200))?;
    Ok(())
}
