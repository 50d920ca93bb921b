//! Exactly once across crashes, with real processes: a durable publisher process streams
//! 100,000 values while the test SIGKILLs the publisher or the subscriber process 200 times
//! at random moments and starts it again on the same store. Afterwards the subscriber's
//! processed log (application state committed with its cursor) must hold every value once:
//! 0 lost, 0 duplicated, every value under its own sequence number, epochs never reused;
//! recovery times after restarts are reported.
//!
//! `OMNI_CRASH_CYCLES` and `OMNI_CRASH_TOTAL` change the defaults (200 and 100000).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mesh_core::store::Store;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts a peer; its stdout lines go to `lines` tagged with `run`.
fn spawn(args: &[&str], lines: &mpsc::Sender<(u32, String)>, run: u32) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_durable-peer"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("durable-peer");
    let out = child.stdout.take().expect("stdout");
    let tx = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((run, line)).is_err() {
                return;
            }
        }
    });
    child
}

fn kill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

/// xorshift64: reproducible "random" moments and victims.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

struct Cleanup {
    dir: PathBuf,
    prefix: String,
    children: Vec<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.children {
            kill(c);
        }
        for e in std::fs::read_dir("/dev/shm")
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with(&self.prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the peers said.
#[derive(Default)]
struct Seen {
    done: bool,
    /// Subscriber restarts: milliseconds from process start to the first message processed.
    recoveries: Vec<u64>,
    /// Restarts of either peer: milliseconds from process start to endpoints ready.
    startups: Vec<u64>,
}

fn note(seen: &mut Seen, run: u32, line: &str, sub_runs: &BTreeSet<u32>) {
    if let Some(ms) = line.strip_prefix("recovered ") {
        if run != 0 && sub_runs.contains(&run) {
            seen.recoveries.push(ms.parse().unwrap_or(0));
        }
    }
    if let Some(ms) = line.strip_prefix("ready ") {
        if run != 0 {
            seen.startups.push(ms.parse().unwrap_or(0));
        }
    }
    seen.done |= line == "done";
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn exactly_once_through_sigkill_cycles_of_publisher_and_subscriber() {
    let cycles = env_or("OMNI_CRASH_CYCLES", 200);
    let total = env_or("OMNI_CRASH_TOTAL", 100_000);
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("omni-crash-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = format!("omcrash{pid}_");
    let dir_s = dir.display().to_string();
    let total_s = total.to_string();
    // Pace the stream so it spans the kill cycles: 50 values every 25 ms.
    let pub_args = ["pub", &prefix, &dir_s, &total_s, "50", "25"];
    let sub_args = ["sub", &prefix, &dir_s, &total_s];
    let (tx, lines) = mpsc::channel();
    let mut guard = Cleanup {
        dir: dir.clone(),
        prefix: prefix.clone(),
        children: Vec::new(),
    };
    let mut run = 0u32;
    guard.children.push(spawn(&sub_args, &tx, run)); // [0] subscriber
    guard.children.push(spawn(&pub_args, &tx, run)); // [1] publisher
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let (mut pub_kills, mut sub_kills) = (0u32, 0u32);
    let started = Instant::now();
    let mut seen = Seen::default();
    let mut sub_runs = BTreeSet::from([0u32]);
    let mut waiting_for = None;
    for cycle in 0..cycles {
        // Most kills land while the stream flows (after the last restarted process is
        // ready); every tenth lands during a start.
        if let Some(r) = waiting_for.take().filter(|_| cycle % 10 != 9) {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut ready = false;
            while !ready {
                let remaining = deadline.saturating_duration_since(Instant::now());
                assert!(
                    !remaining.is_zero(),
                    "restarted peer {r} never became ready"
                );
                if let Ok((from, line)) = lines.recv_timeout(remaining) {
                    ready |= from == r && line.starts_with("ready ");
                    note(&mut seen, from, &line, &sub_runs);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20 + next(&mut rng) % 100));
        for (r, line) in lines.try_iter() {
            note(&mut seen, r, &line, &sub_runs);
        }
        let victim = usize::from(next(&mut rng) % 2 == 0);
        kill(&mut guard.children[victim]);
        run += 1;
        let args: &[&str] = if victim == 0 {
            sub_kills += 1;
            sub_runs.insert(run);
            &sub_args
        } else {
            pub_kills += 1;
            &pub_args
        };
        guard.children[victim] = spawn(args, &tx, run);
        waiting_for = Some(run);
    }
    let killing = started.elapsed();
    // Let the last runs finish the stream.
    let deadline = Instant::now() + Duration::from_secs(180);
    while !seen.done {
        let remaining = deadline.saturating_duration_since(Instant::now());
        assert!(
            !remaining.is_zero(),
            "the subscriber never processed value {total}"
        );
        if let Ok((r, line)) = lines.recv_timeout(remaining) {
            note(&mut seen, r, &line, &sub_runs);
        }
    }
    let _ = guard.children[0].wait(); // the subscriber exits after `done`
    kill(&mut guard.children[1]);
    seen.startups.sort_unstable();
    eprintln!(
        "restarted peers ready (process start to store open and endpoints created): p50 {} ms, \
         max {} ms over {} restarts",
        percentile(&seen.startups, 0.5),
        percentile(&seen.startups, 1.0),
        seen.startups.len()
    );
    verify(
        &dir,
        total,
        pub_kills,
        sub_kills,
        killing,
        &mut seen.recoveries,
    );
}

fn verify(
    dir: &Path,
    total: u64,
    pub_kills: u32,
    sub_kills: u32,
    killing: Duration,
    recoveries: &mut [u64],
) {
    let store = Store::open(&dir.join("logger.redb")).unwrap();
    let read = |key: &[u8]| store.app(key).unwrap();
    let count = |key: &[u8]| {
        read(key)
            .and_then(|v| v.try_into().ok())
            .map_or(0, u64::from_be_bytes)
    };
    let (dups, mismatches) = (count(b"dups"), count(b"mismatch"));
    let mut lost = Vec::new();
    let mut last_epoch = 0;
    let mut epoch_went_back = 0;
    for value in 1..=total {
        match read(&value.to_be_bytes()) {
            None => lost.push(value),
            Some(entry) => {
                let epoch = u64::from_be_bytes(entry[..8].try_into().unwrap());
                let seq = u64::from_be_bytes(entry[8..16].try_into().unwrap());
                assert_eq!(seq, value, "value {value} arrived as sequence {seq}");
                if epoch < last_epoch {
                    epoch_went_back += 1;
                }
                last_epoch = epoch;
            }
        }
    }
    let epochs: Vec<u64> = std::fs::read_to_string(dir.join("epochs.log"))
        .unwrap()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    let distinct: BTreeSet<u64> = epochs.iter().copied().collect();
    recoveries.sort_unstable();
    eprintln!(
        "durable crash test: {total} values, {} SIGKILLs ({pub_kills} publisher, {sub_kills} \
         subscriber) in {:.1} s; lost {}, duplicated {dups}, mismatched {mismatches}, \
         publisher runs {} with {} distinct epochs; subscriber recovery (process start to \
         first message processed) p50 {} ms, max {} ms over {} restarts",
        pub_kills + sub_kills,
        killing.as_secs_f64(),
        lost.len(),
        epochs.len(),
        distinct.len(),
        percentile(recoveries, 0.5),
        percentile(recoveries, 1.0),
        recoveries.len()
    );
    assert!(
        lost.is_empty(),
        "lost {} values, first {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert_eq!(dups, 0, "values processed twice");
    assert_eq!(mismatches, 0);
    assert_eq!(
        distinct.len(),
        epochs.len(),
        "an epoch was reused: {epochs:?}"
    );
    assert!(
        epochs.windows(2).all(|w| w[0] < w[1]),
        "epochs went back: {epochs:?}"
    );
    assert_eq!(
        epoch_went_back, 0,
        "a later value carried an older epoch than an earlier one"
    );
    assert!(pub_kills > 0 && sub_kills > 0);
}
