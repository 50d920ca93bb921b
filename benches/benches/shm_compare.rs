//! Comparative shared-memory harness: OMNI-MESH node pub/sub (signed, and unsigned in
//! development mode) against raw iceoryx2, in one run, same payloads, same waiting strategy
//! (busy-spin on `try_recv`, one thread per side on the 2 cores), same channel settings.
//!
//! - latency: a ping of N bytes and a 64-byte pong, round trip / 2, p50 and p99;
//! - throughput: N-byte messages streamed over a lossless channel, messages per second;
//! - raw sign+verify: the envelope crypto of the same one-way trip with no transport, the
//!   reference for the signed overhead;
//! - memory: RSS of an idle node with 10 topics (a publisher and a subscriber each).
//!
//! Run: `cargo bench -p mesh-benches --bench shm_compare` (prints a markdown table).

// A custom harness; main prints the results.
#![allow(missing_docs, clippy::print_stdout)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use iceoryx2::prelude::*;
use mesh_benches::envelopes::unsigned;
use mesh_core::envelope::{Envelope, Limits};
use mesh_core::identity::NodeKey;
use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::UInt8MultiArray;

const SIZES: [(usize, &str, usize); 3] = [
    (64, "64 B", 3000),
    (4096, "4 KiB", 3000),
    (1 << 20, "1 MiB", 300),
];

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Raw iceoryx2, copying the N-byte payload from an application buffer into the loan.
    Raw,
    /// Raw iceoryx2, zeroed loan with only the 8-byte counter written (a floor: no payload
    /// is produced).
    RawTouch,
    Unsigned,
    Signed,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn prefix(tag: &str) -> String {
    format!("ombench{}{tag}_", std::process::id())
}

fn raw_node(prefix: &str) -> iceoryx2::node::Node<ipc::Service> {
    let mut config = Config::global_config().clone();
    config.global.prefix = FileName::new(prefix.as_bytes()).expect("prefix");
    NodeBuilder::new()
        .config(&config)
        .create::<ipc::Service>()
        .expect("node")
}

fn raw_pubsub(
    node: &iceoryx2::node::Node<ipc::Service>,
    name: &str,
) -> iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, [u8], ()> {
    node.service_builder(&ServiceName::new(name).expect("name"))
        .publish_subscribe::<[u8]>()
        .max_publishers(8)
        .max_subscribers(8)
        .subscriber_max_buffer_size(8)
        .enable_safe_overflow(false)
        .open_or_create()
        .expect("service")
}

/// One side of a ping-pong or stream, generic over the three modes.
struct Side {
    send: Box<dyn FnMut(usize, u64)>,
    recv: Box<dyn FnMut() -> Option<u64>>,
}

fn dev() -> SecurityConfig {
    SecurityConfig {
        mode: SecurityMode::Development,
        max_payload_bytes: 4 << 20,
        ..SecurityConfig::default()
    }
}

fn lightweight() -> SecurityConfig {
    SecurityConfig {
        mode: SecurityMode::Lightweight,
        max_payload_bytes: 4 << 20,
        ..SecurityConfig::default()
    }
}

/// Builds a side that publishes on `out` (frames up to `max`) and receives on `inp`.
fn side(mode: Mode, pfx: &str, me: u8, peer: u8, out: &str, inp: &str, max: usize) -> Side {
    if matches!(mode, Mode::Raw | Mode::RawTouch) {
        let node = Box::leak(Box::new(raw_node(pfx)));
        let tx = raw_pubsub(node, out);
        let rx = raw_pubsub(node, inp);
        let publisher = tx
            .publisher_builder()
            .initial_max_slice_len(max + 512)
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create()
            .expect("pub");
        let subscriber = rx
            .subscriber_builder()
            .buffer_size(8)
            .create()
            .expect("sub");
        let mut payload = Vec::new();
        return Side {
            send: Box::new(move |len, seq| {
                if mode == Mode::RawTouch {
                    let mut s = publisher.loan_slice(len.max(8)).expect("loan");
                    s.payload_mut()[..8].copy_from_slice(&seq.to_le_bytes());
                    s.send().expect("send");
                } else {
                    payload.resize(len.max(8), 0);
                    payload[..8].copy_from_slice(&seq.to_le_bytes());
                    let s = publisher.loan_slice_uninit(len.max(8)).expect("loan");
                    s.write_from_slice(&payload).send().expect("send");
                }
            }),
            recv: Box::new(move || {
                subscriber
                    .receive()
                    .expect("receive")
                    .map(|s| u64::from_le_bytes(s.payload()[..8].try_into().expect("8 bytes")))
            }),
        };
    }
    let mut trust = TrustStore::new();
    trust.add_publisher(NodeKey::from_seed(&[peer; 32]).public());
    let security = if mode == Mode::Signed {
        lightweight()
    } else {
        dev()
    };
    let node = Box::leak(Box::new(
        Node::builder(
            &format!("n{me}"),
            ShmTransport::with_prefix(pfx).expect("shm"),
        )
        .key(NodeKey::from_seed(&[me; 32]))
        .security(security)
        .trust(trust)
        .lossless(true)
        .build()
        .expect("node"),
    ));
    let mut publisher = node
        .publisher::<UInt8MultiArray>(out, max + 256)
        .expect("publisher");
    if mode == Mode::Unsigned {
        publisher = publisher.unsigned(node.policy().development_mode().expect("dev"));
    }
    // Zero-copy: the same trust assumption as raw iceoryx2 (every local process trusted).
    let mut subscriber = node
        .subscriber::<UInt8MultiArray>(inp, max + 256)
        .expect("subscriber")
        .zero_copy(true);
    let mut msg = UInt8MultiArray::default();
    Side {
        send: Box::new(move |len, seq| {
            msg.data.resize(len.max(8), 0);
            msg.data[..8].copy_from_slice(&seq.to_le_bytes());
            publisher.publish(&msg).expect("publish");
        }),
        recv: Box::new(move || {
            subscriber.try_recv().expect("recv").map(|s| {
                let d = s.data.as_slice();
                u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
            })
        }),
    }
}

fn spin(side: &mut Side) -> u64 {
    loop {
        if let Some(v) = (side.recv)() {
            return v;
        }
        std::hint::spin_loop();
    }
}

/// Round-trip/2 samples in microseconds: N-byte pings, 64-byte pongs.
fn latency(mode: Mode, len: usize, rounds: usize, tag: &str) -> Vec<f64> {
    let pfx = prefix(tag);
    let (ready_tx, ready_rx) = mpsc::channel();
    let pfx2 = pfx.clone();
    let ponger = std::thread::Builder::new()
        .name("pong".into())
        .spawn(move || {
            let mut s = side(mode, &pfx2, 2, 1, "/bench/pong", "/bench/ping", 1 << 20);
            ready_tx.send(()).expect("ready");
            for _ in 0..rounds + 50 {
                let v = spin(&mut s);
                (s.send)(64, v);
            }
        })
        .expect("thread");
    let mut s = side(mode, &pfx, 1, 2, "/bench/ping", "/bench/pong", 1 << 20);
    ready_rx.recv().expect("pong ready");
    std::thread::sleep(Duration::from_millis(100));
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds + 50 {
        let t = Instant::now();
        (s.send)(len, i as u64);
        let v = spin(&mut s);
        assert_eq!(v, i as u64);
        if i >= 50 {
            samples.push(t.elapsed().as_secs_f64() * 1e6 / 2.0);
        }
    }
    ponger.join().expect("pong");
    samples.sort_by(f64::total_cmp);
    samples
}

/// Messages per second for `n` N-byte messages over a lossless channel.
fn throughput(mode: Mode, len: usize, n: usize, tag: &str) -> f64 {
    let pfx = prefix(tag);
    let (ready_tx, ready_rx) = mpsc::channel();
    let pfx2 = pfx.clone();
    let consumer = std::thread::Builder::new()
        .name("consumer".into())
        .spawn(move || {
            let mut s = side(mode, &pfx2, 2, 1, "/bench/back", "/bench/stream", 1 << 20);
            ready_tx.send(()).expect("ready");
            let start = Instant::now();
            for i in 0..n {
                assert_eq!(spin(&mut s), i as u64, "lossless and in order");
            }
            start.elapsed()
        })
        .expect("thread");
    let mut s = side(mode, &pfx, 1, 2, "/bench/stream", "/bench/back", 1 << 20);
    ready_rx.recv().expect("consumer ready");
    std::thread::sleep(Duration::from_millis(100));
    for i in 0..n {
        (s.send)(len, i as u64);
    }
    let elapsed = consumer.join().expect("consumer");
    n as f64 / elapsed.as_secs_f64()
}

/// The raw crypto of one signed one-way trip, without any transport: sign and verify an
/// N-byte envelope and a 64-byte one (the pong), halved; microseconds, sorted.
fn raw_sign_verify(len: usize, rounds: usize) -> Vec<f64> {
    let key = NodeKey::from_seed(&[7; 32]);
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let limits = Limits::default();
    let (ping, pong) = (vec![0x5au8; len], vec![0xa5u8; 64]);
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds + 50 {
        let t = Instant::now();
        for payload in [&ping, &pong] {
            let wire = unsigned(i as u64 + 1, payload).sign(&key).into_inner();
            let env =
                Envelope::parse(std::hint::black_box(wire.as_slice()), &limits).expect("parse");
            assert!(env.verify(&trust).is_ok(), "signed by a trusted key");
        }
        if i >= 50 {
            samples.push(t.elapsed().as_secs_f64() * 1e6 / 2.0);
        }
    }
    samples.sort_by(f64::total_cmp);
    samples
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn idle_node_rss() -> (u64, u64) {
    let before = rss_kib();
    let pfx = prefix("idle");
    let node = Node::builder("idle", ShmTransport::with_prefix(&pfx).expect("shm"))
        .build()
        .expect("node");
    let mut ports = Vec::new();
    for i in 0..10 {
        let t = format!("/idle/topic_{i}");
        ports.push((
            node.publisher::<UInt8MultiArray>(&t, 4096).expect("pub"),
            node.subscriber::<UInt8MultiArray>(&t, 4096).expect("sub"),
        ));
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    drop(ports);
    (before, after)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let modes = [
        (Mode::Raw, "raw"),
        (Mode::RawTouch, "rawtouch"),
        (Mode::Unsigned, "unsigned"),
        (Mode::Signed, "signed"),
    ];
    println!("| payload | path | one-way p50 (us) | one-way p99 (us) | throughput (msg/s) |");
    println!("|---|---|---|---|---|");
    let mut ratios = Vec::new();
    // OMNI_BENCH_SIZES=64,4096 limits the run to those payload sizes.
    let only: Option<Vec<usize>> = std::env::var("OMNI_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    // OMNI_BENCH_PATHS=raw,unsigned,signed,crypto limits the run to those paths.
    let paths: Option<Vec<String>> = std::env::var("OMNI_BENCH_PATHS")
        .ok()
        .map(|v| v.split(',').map(|p| p.trim().to_owned()).collect());
    for (len, label, rounds) in SIZES {
        if only.as_ref().is_some_and(|o| !o.contains(&len)) {
            continue;
        }
        let mut p50 = [0.0; 4];
        for (k, (mode, name)) in modes.iter().enumerate() {
            if paths.as_ref().is_some_and(|o| !o.iter().any(|p| p == name)) {
                continue;
            }
            let lat = latency(*mode, len, rounds, &format!("l{len}{k}"));
            let tp = throughput(*mode, len, rounds * 3, &format!("t{len}{k}"));
            println!(
                "| {label} | {} | {:.2} | {:.2} | {:.0} |",
                match mode {
                    Mode::Raw => "raw iceoryx2 (payload copied in)",
                    Mode::RawTouch => "raw iceoryx2 (zeroed loan, 8 B written)",
                    Mode::Unsigned => "OMNI-MESH unsigned (development)",
                    Mode::Signed => "OMNI-MESH signed",
                },
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                tp
            );
            p50[k] = percentile(&lat, 0.5);
        }
        if paths
            .as_ref()
            .is_some_and(|o| !o.iter().any(|p| p == "crypto"))
        {
            continue;
        }
        let crypto = raw_sign_verify(len, rounds);
        println!(
            "| {label} | raw sign+verify, no transport | {:.2} | {:.2} | - |",
            percentile(&crypto, 0.5),
            percentile(&crypto, 0.99)
        );
        ratios.push(format!(
            "{label}: unsigned / raw iceoryx2 = {:.2}x (/ zeroed-loan floor = {:.2}x); signed / raw sign+verify = {:.2}x",
            p50[2] / p50[0],
            p50[2] / p50[1],
            p50[3] / percentile(&crypto, 0.5)
        ));
    }
    println!("\np50 ratios:");
    for r in &ratios {
        println!("- {r}");
    }
    let (before, after) = idle_node_rss();
    println!("\nidle node with 10 topics (publisher + subscriber each): RSS {} KiB before, {} KiB after ({} KiB added)", before, after, after.saturating_sub(before));
    mesh_benches::remove_shm_files(&format!("ombench{}", std::process::id()));
}
