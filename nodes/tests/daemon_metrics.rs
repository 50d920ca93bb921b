//! A host daemon's observability: `--log-format json` gives one JSON object per line,
//! `--metrics` serves the router and security counters and health; SIGTERM turns it
//! not-ready and stops it with exit 0.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn daemon_serves_metrics_and_logs_json() {
    let prefix = format!("dm{}_", std::process::id());
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_omni-mesh"))
        .args([
            "daemon",
            "--shm-prefix",
            &prefix,
            "--gossip",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        assert!(Instant::now() < deadline, "no metrics line");
        let Some(Ok(line)) = lines.next() else {
            panic!("daemon ended early");
        };
        if !line.starts_with('{') {
            continue; // the no-key notice is plain text by design
        }
        let record: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        assert!(
            record.get("level").is_some() && record.get("timestamp").is_some(),
            "{line}"
        );
        let message = record["message"].as_str().unwrap_or_default();
        if let Some(rest) = message.strip_prefix("metrics on http://") {
            break rest
                .split('/')
                .next()
                .unwrap()
                .parse::<std::net::SocketAddr>()
                .unwrap();
        }
    };
    let (code, body) = mesh_core::obs::get(addr, "/readyz").unwrap();
    assert_eq!((code, body.trim()), (200, "ready"));
    let (code, text) = mesh_core::obs::get(addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(
        text.contains("omnimesh_router_frames_total{event=\"forwarded\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("omnimesh_security_rejected_total{reason=\"bad_signature\"}"),
        "{text}"
    );
    assert_eq!(mesh_core::obs::get(addr, "/nope").unwrap().0, 404);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(daemon.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    for f in std::fs::read_dir("/dev/shm").unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(f.path());
        }
    }
}
