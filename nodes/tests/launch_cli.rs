//! `omni-mesh launch` with real processes: `--check` prints the start order or a located
//! error; a running launch prefixes every node's output, writes log files, hands nodes their
//! name and parameters, stops them in reverse order on SIGTERM and exits 0; a required node
//! that fails (after its restarts) ends the launch with a non-zero exit.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn omni() -> Command {
    Command::new(env!("CARGO_BIN_EXE_omni-mesh"))
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("omni-launch-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

const FLEET: &str = r#"
[[node]]
name = "base"
executable = "/bin/sh"
args = ["-c", "echo hello from $OMNI_MESH_NODE_NAME; exec sleep 30"]
log = "logs/base.log"

[[node]]
name = "robot_{i}"
executable = "/bin/sh"
count = 2
args = ["-c", "echo robot {i} params $OMNI_MESH_PARAMS; exec sleep 30"]
params = { id = "r{i}" }
after = ["base"]
"#;

#[test]
fn check_prints_the_order_or_a_located_error() {
    let d = dir("check");
    let good = d.join("fleet.launch.toml");
    std::fs::write(&good, FLEET).unwrap();
    let out = omni()
        .args(["launch", "--check"])
        .arg(&good)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("3 nodes"), "{text}");
    let (b, r0) = (text.find("base").unwrap(), text.find("robot_0").unwrap());
    assert!(b < r0, "{text}");
    let bad = d.join("bad.launch.toml");
    std::fs::write(
        &bad,
        "[[node]]\nname = \"x\"\nexecutable = \"/bin/sh\"\nafter = [\"nope\"]\n",
    )
    .unwrap();
    let out = omni()
        .args(["launch", "--check"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("{}:4:", bad.display())), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_launch_runs_prefixed_and_stops_cleanly_on_sigterm() {
    let d = dir("run");
    let file = d.join("fleet.launch.toml");
    std::fs::write(&file, FLEET).unwrap();
    let mut sup = omni()
        .arg("launch")
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sup.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut pids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen
        .iter()
        .any(|l: &String| l.starts_with("[base] hello from base"))
        && seen.iter().filter(|l| l.starts_with("[robot_")).count() == 2)
    {
        assert!(Instant::now() < deadline, "{seen:?}");
        let line = lines.next().unwrap().unwrap();
        if let Some(pid) = line.split("(pid ").nth(1) {
            pids.push(pid.trim_end_matches(')').parse::<u32>().unwrap());
        }
        seen.push(line);
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("[robot_1] robot 1 params {\"id\":\"r1\"}")),
        "{seen:?}"
    );
    // SIGTERM: nodes stop in reverse order, the supervisor exits 0.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(sup.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = sup.wait().unwrap();
    assert!(status.success(), "{status:?} {rest:?}");
    let stopped: Vec<&String> = rest.iter().filter(|l| l.contains("stopped")).collect();
    assert_eq!(stopped.len(), 3, "{rest:?}");
    assert!(
        stopped[0].contains("robot_1") && stopped[2].contains("base"),
        "{stopped:?}"
    );
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|p| !alive(*p)), "leftover node processes");
    let log = std::fs::read_to_string(d.join("logs/base.log")).unwrap();
    assert_eq!(log, "hello from base\n");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_failing_required_node_is_restarted_then_fails_the_launch() {
    let d = dir("fail");
    let file = d.join("fail.launch.toml");
    std::fs::write(
        &file,
        r#"
[[node]]
name = "steady"
executable = "/bin/sh"
args = ["-c", "exec sleep 30"]

[[node]]
name = "flaky"
executable = "/bin/sh"
args = ["-c", "echo run; exit 3"]
restart = { policy = "on-failure", delay_ms = 50, max_restarts = 2 }
"#,
    )
    .unwrap();
    let out = omni()
        .arg("launch")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert_eq!(text.matches("[flaky] run").count(), 3, "{text}");
    assert!(
        text.contains("restart 2 in 100 ms"),
        "back-off doubles: {text}"
    );
    assert!(err.contains("required node flaky failed"), "{err}");
    assert!(
        text.contains("steady stopped"),
        "the other node is stopped: {text}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
