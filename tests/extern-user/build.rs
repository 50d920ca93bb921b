//! Generates `fleet_extras` and takes every package it references from `omni-msgs`.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let ours = manifest.join("interfaces");
    let bundled = manifest.join("../../msg");
    println!("cargo:rerun-if-changed={}", ours.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("interfaces");
    let mut generator = mesh_codegen::Generator::new().root(&ours).root(&bundled);
    for package in [
        "builtin_interfaces",
        "std_msgs",
        "geometry_msgs",
        "omni_msgs",
        "service_msgs",
        "unique_identifier_msgs",
        "action_msgs",
        "sensor_msgs",
        "nav_msgs",
        "std_srvs",
        "example_interfaces",
    ] {
        generator = generator.extern_package(package, &format!("::omni_msgs::{package}"));
    }
    if let Err(e) = generator.generate_rust(&out) {
        panic!("{e}");
    }
}
