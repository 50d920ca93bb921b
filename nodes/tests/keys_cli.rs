//! `omni-mesh keys new/show` as a user runs them.

use std::process::Command;

fn omni_mesh(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_omni-mesh"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn new_then_show_prints_the_same_did() {
    let dir = std::env::temp_dir().join(format!("omni-mesh-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("robot.key");
    let path = file.to_str().unwrap();
    let (ok, created, err) = omni_mesh(&["keys", "new", "--out", path]);
    assert!(ok, "{err}");
    assert!(created.trim().starts_with("did:key:z6Mk"), "{created}");
    let (ok, shown, err) = omni_mesh(&["keys", "show", path]);
    assert!(ok, "{err}");
    assert_eq!(shown, created);
    // Never overwrites.
    let (ok, _, err) = omni_mesh(&["keys", "new", "--out", path]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    // Refuses a key others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, err) = omni_mesh(&["keys", "show", path]);
        assert!(!ok);
        assert!(err.contains("chmod 600"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
