//! Real processes over iceoryx2 shared memory: 1 MiB envelopes signed in place, verified in
//! place, exactly once and in order; many-to-many; a SIGKILLed publisher restarted with a new
//! epoch; no shared-memory files left behind.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const MIB: &str = "1048576";

fn prefix(case: &str) -> String {
    format!("omsys{}{case}_", std::process::id())
}

fn peer(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shm-peer"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shm-peer starts")
}

fn finish(child: Child, what: &str) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("peer exits");
    let out = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{what} failed: {}{}",
        out,
        String::from_utf8_lossy(&stderr)
    );
    out
}

/// Shared-memory files of this prefix, after removing the stale resources of dead processes.
fn leftovers(prefix: &str) -> Vec<String> {
    drop(mesh_core::transport::shm::ShmTransport::with_prefix(prefix).expect("cleanup transport"));
    let mut files: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.retain(|f| f.starts_with(prefix) && !f.ends_with(".global_mgmt"));
    files
}

fn remove_all(prefix: &str) {
    if let Ok(dir) = std::fs::read_dir("/dev/shm") {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[test]
fn two_processes_1mib_exactly_once_in_order() {
    let p = prefix("two");
    let sub = peer(&["sub", &p, "/sys/two", "1", "1:1:50", "60000"]);
    std::thread::sleep(Duration::from_millis(300));
    let publisher = peer(&["pub", &p, "/sys/two", "1", "1", "50", MIB]);
    finish(publisher, "publisher");
    let summary = finish(sub, "subscriber");
    assert!(summary.contains("(1, 1): 50"), "{summary}");
    assert_eq!(leftovers(&p), Vec::<String>::new());
    remove_all(&p);
}

#[test]
fn four_processes_many_to_many() {
    let p = prefix("four");
    let subs = [
        peer(&["sub", &p, "/sys/four", "1,2", "1:1:20,2:1:20", "60000"]),
        peer(&["sub", &p, "/sys/four", "1,2", "1:1:20,2:1:20", "60000"]),
    ];
    std::thread::sleep(Duration::from_millis(300));
    let pubs = [
        peer(&["pub", &p, "/sys/four", "1", "1", "20", MIB]),
        peer(&["pub", &p, "/sys/four", "2", "1", "20", MIB]),
    ];
    for publisher in pubs {
        finish(publisher, "publisher");
    }
    for sub in subs {
        let summary = finish(sub, "subscriber");
        assert!(
            summary.contains("(1, 1): 20") && summary.contains("(2, 1): 20"),
            "{summary}"
        );
    }
    assert_eq!(leftovers(&p), Vec::<String>::new());
    remove_all(&p);
}

#[test]
fn sigkilled_publisher_restarts_with_a_new_epoch_without_duplicates() {
    let p = prefix("kill");
    let sub = peer(&["sub", &p, "/sys/kill", "1", "1:2:20", "60000"]);
    std::thread::sleep(Duration::from_millis(300));
    let mut doomed = peer(&["pub", &p, "/sys/kill", "1", "1", "100000", "65536", "2000"]);
    // Kill it mid-stream: after its first frame (however long a loaded machine takes to
    // start it), plus a few hundred more.
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(doomed.stdout.as_mut().expect("piped")),
        &mut first,
    )
    .expect("publisher output");
    assert_eq!(first.trim(), "first frame sent");
    std::thread::sleep(Duration::from_millis(500));
    doomed.kill().expect("SIGKILL the publisher");
    let _ = doomed.wait();
    let restarted = peer(&["pub", &p, "/sys/kill", "1", "2", "20", "65536"]);
    finish(restarted, "restarted publisher");
    let summary = finish(sub, "subscriber");
    // The subscriber checked that epoch 1 was 1, 2, 3... up to the kill and epoch 2 was 1..=20.
    assert!(summary.contains("(1, 2): 20"), "{summary}");
    assert!(
        summary.contains("(1, 1): "),
        "frames of the first epoch arrived: {summary}"
    );
    assert_eq!(
        leftovers(&p),
        Vec::<String>::new(),
        "stale resources of the killed publisher are removed"
    );
    remove_all(&p);
}

#[test]
fn late_joiners_in_other_processes_receive_the_history() {
    let p = prefix("late");
    // Every peer of the topic opens it with a history of 8 frames.
    let with_history = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_shm-peer"))
            .args(args)
            .env("OMNI_TEST_HISTORY", "8")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shm-peer")
    };
    // The publisher sends 5 frames with nobody listening, then stays 6 s serving late joiners.
    let publisher = with_history(&["pub", &p, "/sys/late", "1", "1", "5", "1024", "0", "6000"]);
    std::thread::sleep(Duration::from_millis(1500));
    // Two subscribers join afterwards, one after the other: each gets sequences 1..=5 in
    // order, verified (shm-peer checks order, duplicates and signatures).
    for joiner in ["first", "second"] {
        let sub = with_history(&["sub", &p, "/sys/late", "1", "1:1:5", "15000"]);
        let summary = finish(sub, joiner);
        assert!(summary.contains("(1, 1): 5"), "{joiner}: {summary}");
    }
    finish(publisher, "publisher");
    assert_eq!(leftovers(&p), Vec::<String>::new());
    remove_all(&p);
}
