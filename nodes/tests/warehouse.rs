//! The warehouse demo as a system test: `omni-mesh launch launch/warehouse.launch.toml`
//! (12 processes on shared memory) runs for 20 s while the test scrapes the controller's
//! `/metrics`, checks `/readyz`, and runs `omni-mesh topic echo` and `topic hz` against the
//! live fleet; then SIGTERM must end everything cleanly: exit 0, every node process gone,
//! no shared-memory files left (iceoryx2's one persistent management segment per prefix
//! aside, which it keeps by design).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OMNI: &str = env!("CARGO_BIN_EXE_omni-mesh");

/// Parses Prometheus/OpenMetrics text: every line must be a comment or `name{labels} value`.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty()
                    || ["# HELP ", "# TYPE ", "# UNIT ", "# EOF"]
                        .iter()
                        .any(|p| line.starts_with(p)),
                "bad comment line: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unclosed labels: {line}");
            let labels = &series[name_end + 1..series.len() - 1];
            for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                assert!(!k.is_empty() && !v.contains('\n'), "bad label in: {line}");
            }
        }
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in: {line}")),
        };
        out.insert(series.to_owned(), value);
    }
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
    out
}

fn sum(metrics: &BTreeMap<String, f64>, prefix: &str, label: &str) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| k.starts_with(prefix) && k.contains(label))
        .map(|(_, v)| v)
        .sum()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.split_whitespace().nth(2) != Some("Z"))
}

fn shm_files(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix) && !n.ends_with(".global_mgmt"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn warehouse_runs_is_observable_and_stops_cleanly() {
    let prefix = format!("whs{}_", std::process::id());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut launch = Command::new(OMNI)
        .args(["launch", "launch/warehouse.launch.toml"])
        .current_dir(root)
        .env("OMNI_MESH_SHM_PREFIX", &prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let readers: Vec<_> = [
        Box::new(launch.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(launch.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|pipe| {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })
    })
    .collect();
    let started = Instant::now();
    let tool = |args: &[&str]| {
        Command::new(OMNI)
            .args(args)
            .env("OMNI_MESH_SHM_PREFIX", &prefix)
            .output()
            .unwrap()
    };

    // Live data through the inspection commands.
    std::thread::sleep(Duration::from_secs(4));
    let echo = tool(&[
        "topic",
        "echo",
        "/fleet/heartbeat",
        "--count",
        "3",
        "--timeout-s",
        "10",
    ]);
    let echo_out = String::from_utf8_lossy(&echo.stdout);
    assert!(echo.status.success(), "topic echo: {echo:?}");
    assert_eq!(
        echo_out
            .matches("# omni_msgs/msg/Heartbeat from did:key:")
            .count(),
        3,
        "{echo_out}"
    );
    assert!(echo_out.contains("node_name: '/robot_"), "{echo_out}");
    let json = tool(&[
        "topic",
        "echo",
        "/robot_0/state",
        "--count",
        "1",
        "--json",
        "--timeout-s",
        "10",
    ]);
    let record: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&json.stdout).trim()).expect("one JSON line");
    assert_eq!(record["type"], "omni_msgs/msg/RobotState");
    assert_eq!(record["message"]["robot_id"], "robot_0");
    let hz = tool(&["topic", "hz", "/robot_0/state", "--duration-s", "3.5"]);
    let hz_out = String::from_utf8_lossy(&hz.stdout);
    assert!(hz.status.success(), "topic hz: {hz:?}");
    let rates: Vec<f64> = hz_out
        .lines()
        .filter_map(|l| l.strip_prefix("average rate: "))
        .filter_map(|l| l.trim_end_matches(" Hz").parse().ok())
        .collect();
    assert!(rates.len() >= 2, "{hz_out}");
    let last = *rates.last().unwrap();
    assert!(
        (5.0..=15.0).contains(&last),
        "robot state runs at 10 Hz, hz says {last}: {hz_out}"
    );
    let call = tool(&[
        "service",
        "call",
        "/robot_0/assign_task",
        "omni_msgs/srv/AssignTask",
        "{}",
        "--json",
    ]);
    let reply: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&call.stdout).trim())
            .unwrap_or_else(|e| panic!("service call: {e}: {call:?}"));
    assert_eq!(
        reply["accepted"], false,
        "a task without waypoints is refused: {reply}"
    );
    assert!(
        !reply["reason"].as_str().unwrap_or_default().is_empty(),
        "{reply}"
    );
    let nodes = tool(&["node", "list"]);
    let nodes_out = String::from_utf8_lossy(&nodes.stdout);
    for name in [
        "/fleet_controller",
        "/robot_0",
        "/robot_9",
        "/lidar",
        "/monitor",
    ] {
        assert!(
            nodes_out.contains(name),
            "{name} missing from node list: {nodes_out}"
        );
    }

    // Metrics and health while running.
    let controller: std::net::SocketAddr = "127.0.0.1:9464".parse().unwrap();
    let (code, ready) = mesh_core::obs::get(controller, "/readyz").unwrap();
    assert_eq!((code, ready.trim()), (200, "ready"));
    std::thread::sleep(Duration::from_secs(20).saturating_sub(started.elapsed()));
    let (code, text) = mesh_core::obs::get(controller, "/metrics").unwrap();
    assert_eq!(code, 200);
    let metrics = parse_metrics(&text);
    let beats = sum(
        &metrics,
        "omnimesh_delivered_total",
        "topic=\"/fleet/heartbeat\"",
    );
    assert!(
        beats >= 100.0,
        "10 robots at 2 Hz for 20 s: {beats} heartbeats delivered"
    );
    let completed = sum(&metrics, "omnimesh_fleet_tasks_completed_total", "");
    let assigned = sum(&metrics, "omnimesh_fleet_tasks_assigned_total", "");
    assert!(
        assigned >= 10.0 && completed >= 5.0,
        "assigned {assigned}, completed {completed}"
    );
    assert_eq!(sum(&metrics, "omnimesh_fleet_robots_alive", ""), 10.0);
    assert_eq!(sum(&metrics, "omnimesh_security_rejected_total", ""), 0.0);
    assert!(metrics
        .keys()
        .any(|k| k.starts_with("omnimesh_callback_duration_seconds_count")));

    // SIGTERM: a clean, bounded stop.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(launch.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let stop_deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = launch.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < stop_deadline,
            "launch did not stop within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for r in readers {
        r.join().unwrap();
    }
    let out = lines.lock().unwrap().join("\n");
    assert!(status.success(), "launch exit {status:?}\n{out}");

    // Every robot's heartbeat reached the controller and every robot got a task (completions
    // are counted by the controller's metrics above); every node drained.
    for i in 0..10 {
        assert!(
            out.contains(&format!("robot joined: first heartbeat robot=/robot_{i}")),
            "controller never heard robot_{i}\n{out}"
        );
        assert!(
            out.contains(&format!("task assigned robot=/robot_{i} ")),
            "robot_{i} never got a task\n{out}"
        );
    }
    assert!(!out.contains("robot lost"), "{out}");
    let pids: Vec<u32> = out
        .lines()
        .filter_map(|l| l.split("(pid ").nth(1))
        .filter_map(|p| p.trim_end_matches(')').parse().ok())
        .collect();
    assert_eq!(pids.len(), 13, "{out}");
    for name in ["fleet_controller", "robot_0", "lidar", "monitor"] {
        assert!(
            out.contains(&format!("[launch] {name} stopped (exit status: 0)")),
            "{name}\n{out}"
        );
    }
    assert_eq!(out.matches("draining node=").count(), 13, "{out}");
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<u32> = pids.into_iter().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "processes left: {left:?}");
    let files = shm_files(&prefix);
    assert!(files.is_empty(), "shared memory left: {files:?}");
    for f in std::fs::read_dir("/dev/shm").unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(f.path());
        }
    }
}
