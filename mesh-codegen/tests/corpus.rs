//! The 238-file ROS 2 corpus in `../shared`: every file is valid, the published RIHS01 test
//! vectors hold, and our own `msg/` packages hash exactly like the ROS 2 files they mirror.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mesh_codegen::Generator;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus() -> PathBuf {
    std::env::var_os("OMNI_ROS2_CORPUS").map_or_else(
        || workspace().join("../shared/ros2-interfaces"),
        PathBuf::from,
    )
}

fn hashes(root: PathBuf) -> BTreeMap<String, String> {
    let reg = Generator::new()
        .root(root)
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    mesh_codegen::type_hashes(&reg).into_iter().collect()
}

#[test]
fn whole_corpus_is_valid() {
    let reg = Generator::new()
        .root(corpus())
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reg.interfaces.len(), 238);
    assert_eq!(reg.packages.len(), 24);
    // 30 files with constants (GRAMMAR-FACTS L.65), counted over sections.
    let files_with_constants = reg
        .interfaces
        .iter()
        .filter(|i| i.sections().iter().any(|s| !s.constants.is_empty()))
        .count();
    assert_eq!(files_with_constants, 30);
}

#[test]
fn published_test_vectors() {
    let h = hashes(corpus());
    let vectors = [
        (
            "std_msgs/msg/String",
            "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
        ),
        (
            "std_msgs/msg/Empty",
            "RIHS01_20b625256f32d5dbc0d04fee44f43c41e51c70d3502f84b4a08e7a9c26a96312",
        ),
        (
            "std_msgs/msg/Header",
            "RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01",
        ),
        (
            "example_interfaces/srv/AddTwoInts",
            "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a",
        ),
        (
            "example_interfaces/action/Fibonacci",
            "RIHS01_9508051da1ea4658de144b09bd0690ff3de52104683d847aed764d2915906f51",
        ),
    ];
    for (name, expected) in vectors {
        assert_eq!(h.get(name).map(String::as_str), Some(expected), "{name}");
    }
}

#[test]
fn hashed_text_matches_the_documented_example() {
    let reg = Generator::new().root(corpus()).load().unwrap();
    let name =
        mesh_codegen::model::TypeName::new("std_msgs", mesh_codegen::model::Kind::Msg, "String");
    assert_eq!(
        mesh_codegen::hash::hash_input(&reg, &name).unwrap(),
        r#"{"type_description": {"type_name": "std_msgs/msg/String", "fields": [{"name": "data", "type": {"type_id": 17, "capacity": 0, "string_capacity": 0, "nested_type_name": ""}}]}, "referenced_type_descriptions": []}"#
    );
}

#[test]
fn our_mirrored_packages_hash_like_ros2() {
    let ros = hashes(corpus());
    let ours = hashes(workspace().join("msg"));
    let mut compared = 0;
    for (name, hash) in &ours {
        if name.starts_with("omni_msgs/") {
            continue;
        }
        let upstream = ros
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in the ROS 2 corpus"));
        assert_eq!(hash, upstream, "{name}");
        compared += 1;
    }
    assert!(compared >= 130, "compared only {compared}");
    assert!(ours.contains_key("omni_msgs/action/NavigateTo"));
    assert!(ours.contains_key("omni_msgs/action/NavigateTo_SendGoal_Event"));
}

#[test]
fn cli_check_and_hash_over_the_corpus() {
    let bin = env!("CARGO_BIN_EXE_mesh-codegen");
    let check = std::process::Command::new(bin)
        .arg("check")
        .arg(corpus())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = std::process::Command::new(bin)
        .arg("hash")
        .arg(corpus())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // One line per struct, service and action type (391 for the 238 files).
    assert_eq!(lines.len(), hashes(corpus()).len());
    assert_eq!(lines.len(), 391);
    for line in [
        "std_msgs/msg/String\tRIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
        "example_interfaces/srv/AddTwoInts\tRIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a",
        "example_interfaces/action/Fibonacci\tRIHS01_9508051da1ea4658de144b09bd0690ff3de52104683d847aed764d2915906f51",
    ] {
        assert!(lines.contains(&line), "missing {line}");
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("example_interfaces/action/Fibonacci_SendGoal_Event\tRIHS01_")));
}
