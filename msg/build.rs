//! Generates the interface types from the packages beside this file.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("interfaces");
    let generator = mesh_codegen::Generator::new().root(&manifest);
    for package in std::fs::read_dir(&manifest)
        .expect("manifest dir is readable")
        .flatten()
    {
        println!("cargo:rerun-if-changed={}", package.path().display());
    }
    if let Err(e) = generator.generate_rust(&out) {
        // Located `path:line:col: error:` lines, so editors can jump to them.
        panic!("interface generation failed:\n{e}");
    }
}
