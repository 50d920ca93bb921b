//! The documented talker/listener pair, as two real processes over shared memory.

use std::process::{Command, Stdio};

#[test]
fn listener_prints_the_talkers_verified_messages() {
    let dir = std::env::temp_dir().join(format!("omni-talker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("talker.key");
    let out = Command::new(env!("CARGO_BIN_EXE_omni-mesh"))
        .args(["keys", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let did = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let listener = Command::new(env!("CARGO_BIN_EXE_listener"))
        .args([
            "--trust",
            &did,
            "--count",
            "5",
            "--timeout-s",
            "30",
            "--topic",
            &format!("/chatter_{}", std::process::id()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let talker = Command::new(env!("CARGO_BIN_EXE_talker"))
        .arg("--key")
        .arg(&key)
        .args([
            "--count",
            "5",
            "--interval-ms",
            "50",
            "--topic",
            &format!("/chatter_{}", std::process::id()),
        ])
        .output()
        .unwrap();
    assert!(
        talker.status.success(),
        "{}",
        String::from_utf8_lossy(&talker.stderr)
    );
    let heard = listener.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&heard.stdout);
    assert!(
        heard.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&heard.stderr)
    );
    for n in 1..=5 {
        assert!(
            text.contains(&format!("[{did}]")) && text.contains(&format!("#{n}: hello {n}")),
            "{text}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
