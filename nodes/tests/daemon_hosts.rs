//! Two hosts on one machine (two shared-memory prefixes), as real processes: an
//! `omni-mesh daemon` per host, `talker` on host A, `listener` on host B. The daemons find
//! each other through discovery (B seeds from A), link over TCP on loopback, and the listener
//! prints the talker's messages with its verified DID. Both daemons stop cleanly on SIGTERM
//! and leave no shared-memory files behind.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn new_key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    common::new_key(env!("CARGO_BIN_EXE_omni-mesh"), dir, name)
}

/// Starts a daemon and returns it with its discovery address (from its first line).
fn daemon(
    key: &std::path::Path,
    prefix: &str,
    trust: &[&str],
    seed: Option<&str>,
) -> (Child, String) {
    // Lightweight security: trusted keys, signatures checked, no authority grants needed.
    let config = key.with_extension("toml");
    std::fs::write(&config, "[security]\nmode = \"lightweight\"\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_omni-mesh"));
    cmd.arg("daemon")
        .arg("--key")
        .arg(key)
        .arg("--config")
        .arg(&config)
        .args([
            "--shm-prefix",
            prefix,
            "--gossip",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--scan-ms", "50"])
        .env("OMNI_MESH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for did in trust {
        cmd.args(["--trust", did]);
    }
    if let Some(seed) = seed {
        cmd.args(["--seed", seed]);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "omni-mesh daemon did:key:...: discovery on 127.0.0.1:PORT, links on ..."
    let gossip = line
        .split("discovery on ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (child, gossip)
}

/// Kills, by PID, the processes this test started if the test fails before stopping them.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for pid in &self.0 {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// SIGTERM to a process this test started, by PID.
fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn shm_files(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && !n.ends_with(".global_mgmt"))
        .collect()
}

#[test]
fn a_talker_on_one_host_is_heard_on_another_through_the_daemons() {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("omni-hosts-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (host_a, host_b) = (format!("omha{pid}_"), format!("omhb{pid}_"));
    let (key_a, did_a) = new_key(&dir, "daemon_a");
    let (key_b, did_b) = new_key(&dir, "daemon_b");
    let (talker_key, talker_did) = new_key(&dir, "talker");
    let all = [did_a.as_str(), did_b.as_str(), talker_did.as_str()];
    let (mut daemon_a, seed) = daemon(&key_a, &host_a, &all, None);
    let (mut daemon_b, _) = daemon(&key_b, &host_b, &all, Some(&seed));
    let mut reaper = Reaper(vec![daemon_a.id(), daemon_b.id()]);
    let topic = format!("/chatter_hosts_{pid}");
    let listener = Command::new(env!("CARGO_BIN_EXE_listener"))
        .args(["--trust", &talker_did, "--count", "5", "--timeout-s", "60"])
        .args(["--topic", &topic, "--shm-prefix", &host_b])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The talker keeps talking until the listener is done (the first messages may go out
    // before host B's interest has reached host A).
    let mut talker = Command::new(env!("CARGO_BIN_EXE_talker"))
        .arg("--key")
        .arg(&talker_key)
        .args(["--count", "0", "--interval-ms", "50", "--topic", &topic])
        .args(["--shm-prefix", &host_a])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    reaper.0.extend([talker.id(), listener.id()]);
    let heard = listener.wait_with_output().unwrap();
    terminate(&talker);
    let _ = talker.wait();
    let text = String::from_utf8_lossy(&heard.stdout).into_owned();
    assert!(
        heard.status.success(),
        "listener on host B: {text}{}",
        String::from_utf8_lossy(&heard.stderr)
    );
    let numbers: Vec<u64> = text
        .lines()
        .filter(|l| l.contains(&format!("[{talker_did}]")))
        .filter_map(|l| l.rsplit("hello ").next()?.trim().parse().ok())
        .collect();
    assert_eq!(numbers.len(), 5, "{text}");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive messages from the talker across hosts: {numbers:?}"
    );
    for d in [&mut daemon_a, &mut daemon_b] {
        terminate(d);
        let out = d.wait().unwrap();
        assert!(out.success(), "a daemon failed to stop cleanly: {out:?}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(shm_files(&host_a), Vec::<String>::new());
    assert_eq!(shm_files(&host_b), Vec::<String>::new());
    for prefix in [&host_a, &host_b] {
        for e in std::fs::read_dir("/dev/shm")
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with(prefix.as_str()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
