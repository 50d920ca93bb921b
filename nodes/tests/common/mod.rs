//! Helpers shared by the system tests of the `omni-mesh` binaries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Creates `DIR/NAME.key` with `omni-mesh keys new` and returns it with its DID.
pub fn new_key(omni_mesh: &str, dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.key"));
    let out = Command::new(omni_mesh)
        .args(["keys", "new", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "keys new: {out:?}");
    (
        path,
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

/// Runs `omni-mesh ARGS` (the binary at `omni_mesh`) to completion.
pub fn run(omni_mesh: &str, args: &[&str]) -> std::process::Output {
    Command::new(omni_mesh).args(args).output().unwrap()
}
