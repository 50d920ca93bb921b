//! `omni-mesh config default` prints a file that parses to the defaults; `config check`
//! accepts it and locates mistakes to the line.

use mesh_core::config::Config;

mod common;

fn omni(args: &[&str]) -> std::process::Output {
    common::run(env!("CARGO_BIN_EXE_omni-mesh"), args)
}

#[test]
fn default_parses_check_accepts_it_and_locates_mistakes() {
    let out = omni(&["config", "default"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(Config::from_toml(&text).unwrap(), Config::default());
    let dir = std::env::temp_dir().join(format!("omni-config-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, &text).unwrap();
    let out = omni(&["config", "check", good.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok (preset none, security mode Production")
    );
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[security]\nmode = \"lightweight\"\n\n[network]\ncompresion = \"lz4\"\n",
    )
    .unwrap();
    let out = omni(&["config", "check", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("{}:5:", bad.display())), "{err}");
    assert!(err.contains("compresion"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checked_in_schemas_are_current() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = omni(&["config", "schema"]);
    assert!(out.status.success());
    let config = std::fs::read_to_string(format!("{root}/config/omni-mesh.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        config,
        "config/omni-mesh.schema.json is stale: omni-mesh config schema > config/omni-mesh.schema.json"
    );
    let out = omni(&["launch", "--print-schema"]);
    assert!(out.status.success());
    let launch = std::fs::read_to_string(format!("{root}/launch/launch.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        launch,
        "launch/launch.schema.json is stale: omni-mesh launch --print-schema > launch/launch.schema.json"
    );
    let schema: serde_json::Value = serde_json::from_str(&launch).unwrap();
    let node = &schema["$defs"]["NodeSpec"]["properties"];
    for key in [
        "name",
        "executable",
        "count",
        "after",
        "restart",
        "params",
        "log",
    ] {
        assert!(
            node.get(key).is_some(),
            "{key} missing from the launch schema"
        );
    }
}
