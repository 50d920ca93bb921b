//! Generates Rust for the shared ROS 2 interface corpus (`../shared/ros2-interfaces` beside
//! the project, or `$OMNI_ROS2_CORPUS`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=OMNI_ROS2_CORPUS");
    let corpus = corpus_dir();
    println!("cargo:rerun-if-changed={}", corpus.display());
    println!("cargo:rustc-env=OMNI_ROS2_CORPUS_DIR={}", corpus.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("corpus");
    if let Err(e) = mesh_codegen::Generator::new()
        .root(&corpus)
        .generate_rust(&out)
    {
        panic!("generating the corpus failed:\n{e}");
    }
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OMNI_ROS2_CORPUS") {
        return dir.into();
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = manifest.join("../../../shared/ros2-interfaces");
    assert!(
        dir.is_dir(),
        "ROS 2 interface corpus not found at {}; put the shared/ folder beside the project or set OMNI_ROS2_CORPUS",
        dir.display()
    );
    dir
}
