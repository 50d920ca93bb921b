//! A durable-topic peer process for the crash tests (`tests/durable_crash.rs`).
//!
//! `durable-peer pub PREFIX DIR TOTAL BATCH PERIOD_MS`: publishes the values 1..=TOTAL on
//! `/durable` (value = sequence number), BATCH per durable commit, one batch every
//! PERIOD_MS; after a restart it continues where its store ends. Appends its epoch to
//! `DIR/epochs.log` at start. When all are stored it keeps answering resume requests.
//!
//! `durable-peer sub PREFIX DIR TOTAL`: processes `/durable` durably; the processed log is
//! its store's application state (key: value, 8 bytes BE; entry: epoch and sequence),
//! written in the same commit as the cursor. A value seen twice increments `dups`, a value
//! that is not its sequence number `mismatch`. Prints `recovered MS` when the first message
//! of this run is processed (milliseconds since the process started) and `done` once value
//! TOTAL is processed, then exits 0. Both print `ready MS` once their endpoints exist (store opened and repaired, shared
//! memory joined).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::store::{Store, StoreTxn};
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::UInt64;

const TOPIC: &str = "/durable";

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map_or("", String::as_str)
}

fn num(args: &[String], i: usize) -> u64 {
    arg(args, i).parse().unwrap_or(0)
}

fn main() -> ExitCode {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let result = match arg(&args, 1) {
        "pub" => publish(&args, started),
        "sub" => subscribe(&args, started),
        _ => Err("usage: durable-peer pub|sub ...".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("durable-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn node(prefix: &str, dir: &Path, name: &str, key: u8) -> Result<Node<ShmTransport>, String> {
    let store = Store::open(&dir.join(format!("{name}.redb"))).map_err(|e| e.to_string())?;
    let mut trust = TrustStore::new();
    trust.add_publisher(system_tests::key(1).public());
    trust.add_publisher(system_tests::key(2).public());
    Node::builder(
        name,
        ShmTransport::with_prefix(prefix).map_err(|e| e.to_string())?,
    )
    .key(system_tests::key(key))
    .security(SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    })
    .trust(trust)
    .lossless(true)
    .store(Arc::new(store))
    .build()
    .map_err(|e| e.to_string())
}

fn publish(args: &[String], started: Instant) -> Result<(), String> {
    let (prefix, dir) = (arg(args, 2), Path::new(arg(args, 3)));
    let (total, batch, period) = (num(args, 4), num(args, 5).max(1), num(args, 6));
    let node = node(prefix, dir, "talker", 1)?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("epochs.log"))
        .map_err(|e| e.to_string())?;
    writeln!(log, "{}", node.epoch()).map_err(|e| e.to_string())?;
    let mut publisher = node
        .durable_publisher::<UInt64>(TOPIC, 64)
        .map_err(|e| e.to_string())?;
    println!("ready {}", started.elapsed().as_millis());
    loop {
        let next = publisher.next_sequence();
        if next > total {
            publisher.serve().map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let last = (next + batch - 1).min(total);
        let values: Vec<UInt64> = (next..=last).map(|data| UInt64 { data }).collect();
        publisher.publish_all(&values).map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(period));
    }
}

fn bump(txn: &mut StoreTxn, key: &[u8]) -> Result<(), mesh_core::store::StoreError> {
    let n = txn
        .app(key)?
        .and_then(|v| v.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    txn.put_app(key, &(n + 1).to_be_bytes())
}

fn subscribe(args: &[String], started: Instant) -> Result<(), String> {
    let (prefix, dir, total) = (arg(args, 2), Path::new(arg(args, 3)), num(args, 4));
    let node = node(prefix, dir, "logger", 2)?;
    let mut sub = node
        .durable_subscriber::<UInt64>(TOPIC, 64, "logger")
        .map_err(|e| e.to_string())?;
    println!("ready {}", started.elapsed().as_millis());
    let publisher = system_tests::key(1).public().to_bytes();
    let mut recovered = false;
    while sub.cursor(&publisher).map_err(|e| e.to_string())? < total {
        let n = sub
            .process(1000, Duration::from_millis(20), |sample, txn| {
                let value = sample.data.to_native();
                let key = value.to_be_bytes();
                if txn.app(&key)?.is_some() {
                    return bump(txn, b"dups");
                }
                if value != sample.sequence() {
                    bump(txn, b"mismatch")?;
                }
                let mut entry = sample.epoch().to_be_bytes().to_vec();
                entry.extend_from_slice(&sample.sequence().to_be_bytes());
                txn.put_app(&key, &entry)
            })
            .map_err(|e| e.to_string())?;
        if n > 0 && !recovered {
            recovered = true;
            println!("recovered {}", started.elapsed().as_millis());
        }
    }
    println!("done");
    Ok(())
}
