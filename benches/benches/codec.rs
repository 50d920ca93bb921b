//! Serialize / access / decode costs of generated types, side by side in one run:
//! rkyv serialize, rkyv validated access (zero-copy, bytecheck), CDR encode and decode (the ROS 2
//! wire format), and a plain `Vec` clone of the payload as the copy reference.
//!
//! Run: `cargo bench -p mesh-benches --bench codec` (add `-- --quick` for a short run).

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use omni_msgs::geometry_msgs::msg::{ArchivedPose, Pose};
use omni_msgs::rt::rkyv::{self, rancor::Error};
use omni_msgs::rt::Message;
use omni_msgs::sensor_msgs::msg::{ArchivedPointCloud2, PointCloud2};

fn point_cloud(c: &mut Criterion) {
    let cloud = mesh_benches::point_cloud_1mib();
    let archive = rkyv::to_bytes::<Error>(&cloud).unwrap();
    let cdr = cloud.to_cdr().unwrap();
    let mut g = c.benchmark_group("pointcloud2_1mib");
    g.throughput(Throughput::Bytes(cloud.data.len() as u64));
    g.bench_function("reference_clone_payload", |b| {
        b.iter(|| black_box(cloud.data.clone()))
    });
    g.bench_function("rkyv_serialize", |b| {
        b.iter(|| rkyv::to_bytes::<Error>(black_box(&cloud)).unwrap())
    });
    g.bench_function("rkyv_access_validated", |b| {
        b.iter(|| {
            let a = rkyv::access::<ArchivedPointCloud2, Error>(black_box(&archive)).unwrap();
            black_box(a.data.as_slice()[4096])
        });
    });
    g.bench_function("cdr_encode", |b| {
        b.iter(|| black_box(&cloud).to_cdr().unwrap())
    });
    g.bench_function("cdr_decode", |b| {
        b.iter(|| PointCloud2::from_cdr(black_box(&cdr)).unwrap())
    });
    g.finish();
}

fn pose(c: &mut Criterion) {
    let pose = mesh_benches::pose();
    let archive = rkyv::to_bytes::<Error>(&pose).unwrap();
    let cdr = pose.to_cdr().unwrap();
    let mut g = c.benchmark_group("pose");
    g.bench_function("rkyv_serialize", |b| {
        b.iter(|| rkyv::to_bytes::<Error>(black_box(&pose)).unwrap())
    });
    g.bench_function("rkyv_access_validated", |b| {
        b.iter(|| {
            let a = rkyv::access::<ArchivedPose, Error>(black_box(&archive)).unwrap();
            black_box(a.orientation.w.to_native())
        });
    });
    g.bench_function("cdr_encode", |b| {
        b.iter(|| black_box(&pose).to_cdr().unwrap())
    });
    g.bench_function("cdr_decode", |b| {
        b.iter(|| Pose::from_cdr(black_box(&cdr)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, point_cloud, pose);
criterion_main!(benches);
