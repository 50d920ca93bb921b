//! The link paths of the comparative network benches (`net_compare`, and the Zenoh member's
//! `zenoh_compare`), over loopback: OMNI-MESH TCP and QUIC links against raw `std` TCP with
//! the same framing. Each returns sorted RTT samples (microseconds) and, for 64 B, the
//! one-way streaming rate.
//!
//! Each side runs on its own thread (2 cores); ours uses one current-thread tokio runtime per
//! side.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mesh_core::identity::NodeKey;
use mesh_core::net::quic::{QuicConfig, QuicEndpoint};
use mesh_core::net::tcp::{connect, LinkConfig, LinkListener};
use mesh_core::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};

/// Payload sizes with their labels and ping-pong rounds.
pub const SIZES: [(usize, &str, usize); 2] = [(64, "64 B", 5000), (1 << 20, "1 MiB", 200)];
/// Frames streamed one way for the 64 B throughput.
pub const STREAM: usize = 200_000;

/// The `p` percentile of sorted samples.
#[must_use]
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn policy(peer: &NodeKey) -> Arc<SecurityPolicy> {
    let mut trust = TrustStore::new();
    trust.add_publisher(peer.public());
    let config = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    Arc::new(SecurityPolicy::new(config, trust))
}

fn config() -> LinkConfig {
    LinkConfig {
        max_frame: 2 << 20,
        ..LinkConfig::default()
    }
}

/// Starts an OMNI-MESH peer on its own thread: it echoes `echo` frames, or counts `count`
/// frames and reports the elapsed seconds. Returns its address and a handle.
fn ours_peer(
    echo: usize,
    count: usize,
    placement: Placement,
) -> (SocketAddr, std::thread::JoinHandle<f64>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("net-peer".into())
        .spawn(move || {
            placement.pin(Side::Pong);
            runtime().block_on(async move {
                let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
                let listener = LinkListener::bind(
                    ([127, 0, 0, 1], 0).into(),
                    Arc::new(b),
                    policy(&a),
                    config(),
                )
                .await
                .expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("addr");
                let mut link = listener.accept().await.expect("accept");
                for _ in 0..echo {
                    let Some(f) = link.recv().await else {
                        panic!("peer: ping lost: {:?}", link.end_reason())
                    };
                    link.send(f).await.expect("pong");
                }
                let start = Instant::now();
                for _ in 0..count {
                    link.recv().await.expect("frame");
                }
                let secs = start.elapsed().as_secs_f64();
                // Send what is still queued (the last pong) before the runtime ends.
                link.close(std::time::Duration::from_secs(5)).await;
                secs
            })
        })
        .expect("thread");
    (rx.recv().expect("addr"), handle)
}

/// RTT samples and 64 B rate over an OMNI-MESH TCP link.
#[must_use]
pub fn tcp_link(len: usize, rounds: usize, placement: Placement) -> (Vec<f64>, f64) {
    placement.pin(Side::Ping);
    let (addr, peer) = ours_peer(rounds + 20, if len == 64 { STREAM } else { 0 }, placement);
    runtime().block_on(async move {
        let (a, b) = (
            Arc::new(NodeKey::from_seed(&[1; 32])),
            NodeKey::from_seed(&[2; 32]),
        );
        let mut link = connect(addr, &a, &policy(&b), &config())
            .await
            .expect("connect");
        let ping = Bytes::from(vec![7u8; len]);
        let mut rtts = Vec::with_capacity(rounds);
        for i in 0..rounds + 20 {
            let t = Instant::now();
            link.send(ping.clone()).await.expect("send");
            let Some(pong) = link.recv().await else {
                panic!("pong {i}: {:?}", link.end_reason())
            };
            assert_eq!(pong.len(), len);
            if i >= 20 {
                rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        let mut rate = 0.0;
        if len == 64 {
            for _ in 0..STREAM {
                link.send(ping.clone()).await.expect("send");
            }
            let secs = tokio::task::spawn_blocking(move || peer.join().expect("peer"))
                .await
                .expect("join");
            rate = STREAM as f64 / secs;
        } else {
            drop(link);
            let _ = tokio::task::spawn_blocking(move || peer.join()).await;
        }
        rtts.sort_by(f64::total_cmp);
        (rtts, rate)
    })
}

/// The same exchange over an OMNI-MESH QUIC link (TLS 1.3, one stream per topic).
#[must_use]
pub fn quic_link(len: usize, rounds: usize, placement: Placement) -> (Vec<f64>, f64) {
    placement.pin(Side::Ping);
    let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
    let (tx, rx) = std::sync::mpsc::channel();
    let stream = if len == 64 { STREAM } else { 0 };
    let config = QuicConfig {
        max_frame: 2 << 20,
        ..QuicConfig::default()
    };
    let server_config = config.clone();
    let peer = std::thread::Builder::new()
        .name("quic-peer".into())
        .spawn(move || {
            placement.pin(Side::Pong);
            runtime().block_on(async move {
                let endpoint =
                    QuicEndpoint::bind(([127, 0, 0, 1], 0).into(), &b, policy(&a), server_config)
                        .expect("bind");
                tx.send(endpoint.local_addr().expect("addr")).expect("addr");
                let link = endpoint.accept().await.expect("accept");
                for _ in 0..rounds + 20 {
                    let f = link.recv().await.expect("ping");
                    link.send(f).await.expect("pong");
                }
                let start = Instant::now();
                for _ in 0..stream {
                    link.recv().await.expect("frame");
                }
                let secs = start.elapsed().as_secs_f64();
                link.close().await;
                secs
            })
        })
        .expect("thread");
    let addr = rx.recv().expect("addr");
    runtime().block_on(async move {
        let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
        let endpoint =
            QuicEndpoint::bind(([127, 0, 0, 1], 0).into(), &a, policy(&b), config).expect("bind");
        let link = endpoint
            .connect(addr, Some(b.public()))
            .await
            .expect("connect");
        let ping = Bytes::from(vec![7u8; len]);
        let mut rtts = Vec::with_capacity(rounds);
        for i in 0..rounds + 20 {
            let t = Instant::now();
            link.send(ping.clone()).await.expect("send");
            let pong = link.recv().await.expect("pong");
            assert_eq!(pong.len(), len);
            if i >= 20 {
                rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        for _ in 0..stream {
            link.send(ping.clone()).await.expect("send");
        }
        let secs = tokio::task::spawn_blocking(move || peer.join().expect("peer"))
            .await
            .expect("join");
        rtts.sort_by(f64::total_cmp);
        (
            rtts,
            if stream > 0 {
                stream as f64 / secs
            } else {
                0.0
            },
        )
    })
}

fn read_frame(s: &mut impl Read, buf: &mut Vec<u8>) {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).expect("head");
    buf.resize(u32::from_le_bytes(head) as usize, 0);
    s.read_exact(buf).expect("body");
}

/// One write per frame: the length and the payload gathered in `out` first.
fn write_frame(s: &mut TcpStream, frame: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&u32::try_from(frame.len()).expect("len").to_le_bytes());
    out.extend_from_slice(frame);
    s.write_all(out).expect("frame");
}

/// The same exchange over raw `std` TCP with the same framing (4-byte length + payload in
/// one write, `TCP_NODELAY`, blocking reads; buffered reads and writes when streaming).
#[must_use]
pub fn raw_tcp(len: usize, rounds: usize, placement: Placement) -> (Vec<f64>, f64) {
    placement.pin(Side::Ping);
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stream = if len == 64 { STREAM } else { 0 };
    let peer = std::thread::Builder::new()
        .name("raw-peer".into())
        .spawn(move || {
            placement.pin(Side::Pong);
            let (mut s, _) = listener.accept().expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let (mut buf, mut out) = (Vec::new(), Vec::new());
            for _ in 0..rounds + 20 {
                read_frame(&mut s, &mut buf);
                write_frame(&mut s, &buf, &mut out);
            }
            // Streaming: a buffered reader, the fair counterpart of our framed reads.
            let mut r = std::io::BufReader::with_capacity(256 << 10, s);
            let start = Instant::now();
            for _ in 0..stream {
                read_frame(&mut r, &mut buf);
            }
            start.elapsed().as_secs_f64()
        })
        .expect("thread");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let ping = vec![7u8; len];
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    let mut rtts = Vec::with_capacity(rounds);
    for i in 0..rounds + 20 {
        let t = Instant::now();
        write_frame(&mut s, &ping, &mut out);
        read_frame(&mut s, &mut buf);
        if i >= 20 {
            rtts.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    // Raw streaming: a buffered writer, the fair counterpart of batched writes.
    let mut w = std::io::BufWriter::with_capacity(256 << 10, s.try_clone().expect("clone"));
    for _ in 0..stream {
        w.write_all(&u32::try_from(len).expect("len").to_le_bytes())
            .expect("head");
        w.write_all(&ping).expect("body");
    }
    w.flush().expect("flush");
    let secs = peer.join().expect("peer");
    rtts.sort_by(f64::total_cmp);
    (
        rtts,
        if stream > 0 {
            stream as f64 / secs
        } else {
            0.0
        },
    )
}

/// Where the two sides of a path run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Ping on core 0, pong on core 1: every hop wakes a thread on the other core.
    CrossCore,
    /// Both on core 0: wake-ups stay on one core (cheap on this VM, see DESIGN.md 8).
    SameCore,
}

/// Which side of a path a thread belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The measuring side.
    Ping,
    /// The echoing (or counting) side.
    Pong,
}

impl Placement {
    /// Both placements, the order tables are printed in.
    pub const ALL: [Placement; 2] = [Placement::CrossCore, Placement::SameCore];

    /// The core a side runs on.
    #[must_use]
    pub fn core(self, side: Side) -> usize {
        match (self, side) {
            (Self::CrossCore, Side::Pong) => 1,
            _ => 0,
        }
    }

    /// Pins the calling thread (and the threads it starts later) to `side`'s core.
    pub fn pin(self, side: Side) {
        let id = self.core(side);
        assert!(
            core_affinity::set_for_current(core_affinity::CoreId { id }),
            "cannot pin a thread to core {id}"
        );
    }

    /// A label for tables.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::CrossCore => "sides pinned to cores 0 and 1",
            Self::SameCore => "both sides pinned to core 0",
        }
    }
}

/// The placements to run: `OMNI_BENCH_PLACEMENT=cross|same` narrows them (default both).
#[must_use]
pub fn placements() -> Vec<Placement> {
    match std::env::var("OMNI_BENCH_PLACEMENT").as_deref() {
        Ok("cross") => vec![Placement::CrossCore],
        Ok("same") => vec![Placement::SameCore],
        _ => Placement::ALL.to_vec(),
    }
}

/// A path measured by [`run`]: payload length, rounds and placement in; sorted RTTs (us)
/// and the 64 B streaming rate (msg/s, 0 for other sizes) out.
pub type PathFn = fn(usize, usize, Placement) -> (Vec<f64>, f64);

/// Measures raw TCP, our TCP and QUIC links and the `extra` paths, placement by placement
/// and size by size in one run, and prints markdown tables and the ratios (ours / raw, ours
/// / each extra path).
pub fn run(extra: &[(&str, PathFn)]) {
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        println!("(one core only: the cross-core placement is skipped)");
    }
    for placement in placements() {
        if placement == Placement::CrossCore
            && std::thread::available_parallelism().map_or(1, usize::from) < 2
        {
            continue;
        }
        run_placement(extra, placement);
    }
}

fn run_placement(extra: &[(&str, PathFn)], placement: Placement) {
    println!("\n### {}\n", placement.label());
    println!("| payload | path | RTT p50 (us) | RTT p99 (us) | 64 B throughput (msg/s) |");
    println!("|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (len, label, rounds) in SIZES {
        let mut paths: Vec<(&str, (Vec<f64>, f64))> = vec![
            (
                "raw TCP (std, same framing)",
                raw_tcp(len, rounds, placement),
            ),
            ("OMNI-MESH TCP link", tcp_link(len, rounds, placement)),
            (
                "OMNI-MESH QUIC link (TLS 1.3)",
                quic_link(len, rounds, placement),
            ),
        ];
        for (name, path) in extra {
            paths.push((name, path(len, rounds, placement)));
        }
        for (name, (rtt, rate)) in &paths {
            let rate = if len == 64 {
                format!("{rate:.0}")
            } else {
                "-".to_owned()
            };
            println!(
                "| {label} | {name} | {:.1} | {:.1} | {rate} |",
                percentile(rtt, 0.5),
                percentile(rtt, 0.99)
            );
        }
        let p50 = |i: usize| percentile(&paths[i].1 .0, 0.5);
        ratios.push(format!(
            "{label}: RTT p50 TCP link / raw = {:.2}x, QUIC link / raw = {:.2}x",
            p50(1) / p50(0),
            p50(2) / p50(0)
        ));
        for (i, (name, _)) in paths.iter().enumerate().skip(3) {
            ratios.push(format!(
                "{label}: RTT p50 TCP link / {name} = {:.2}x, QUIC link / {name} = {:.2}x",
                p50(1) / p50(i),
                p50(2) / p50(i)
            ));
        }
        if len == 64 {
            let rate = |i: usize| paths[i].1 .1;
            ratios.push(format!(
                "64 B throughput TCP link / raw = {:.2}x",
                rate(1) / rate(0)
            ));
            for (i, (name, _)) in paths.iter().enumerate().skip(3) {
                ratios.push(format!(
                    "64 B throughput TCP link / {name} = {:.2}x, QUIC link / {name} = {:.2}x",
                    rate(1) / rate(i),
                    rate(2) / rate(i)
                ));
            }
        }
    }
    println!();
    for r in ratios {
        println!("- {r}");
    }
}
