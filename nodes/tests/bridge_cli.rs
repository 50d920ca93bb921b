//! `omni-mesh bridge ros2 CONFIG --check` validates a bridge configuration: the shipped
//! example passes, a mistake is located to its line and column and fails the command.

mod common;

fn omni(args: &[&str]) -> std::process::Output {
    common::run(env!("CARGO_BIN_EXE_omni-mesh"), args)
}

#[test]
fn bridge_configurations_are_checked() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/ros2-bridge.example.toml"
    );
    let out = omni(&["bridge", "ros2", example, "--check"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 topic(s) and 1 service(s) mapped"));

    let dir = std::env::temp_dir().join(format!("omni-bridge-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[topic]]\nmesh = \"/chat\"\ntype = \"std_msgs/msg/Strin\"\ndirection = \"both\"\n",
    )
    .unwrap();
    let out = omni(&["bridge", "ros2", bad.to_str().unwrap(), "--check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3:8: unknown message type \"std_msgs/msg/Strin\""),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
