//! Comparative link harness over loopback, in one run: OMNI-MESH QUIC links (quinn, TLS 1.3,
//! certificates from node keys) and TCP links (identity
//! handshake, length-prefixed frames, batched vectored writes, tokio) against raw `std` TCP
//! ping-pong with the same framing (4-byte length + payload in one write, `TCP_NODELAY`,
//! blocking reads; buffered reads and writes when streaming).
//!
//! - RTT p50/p99 for 64 B and 1 MiB frames (the pong is the same size as the ping);
//! - 64 B throughput: frames streamed one way, counted at the receiver.
//!
//! Each side runs on its own thread (2 cores); ours uses one current-thread tokio runtime per
//! side. Run: `cargo bench -p mesh-benches --bench net_compare` (prints a markdown table).

// A custom harness; main prints the results.
#![allow(missing_docs, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mesh_core::identity::NodeKey;
use mesh_core::net::quic::{QuicConfig, QuicEndpoint};
use mesh_core::net::tcp::{connect, LinkConfig, LinkListener};
use mesh_core::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};

const SIZES: [(usize, &str, usize); 2] = [(64, "64 B", 5000), (1 << 20, "1 MiB", 200)];
const STREAM: usize = 200_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
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
fn ours_peer(echo: usize, count: usize) -> (SocketAddr, std::thread::JoinHandle<f64>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("net-peer".into())
        .spawn(move || {
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

fn ours(len: usize, rounds: usize) -> (Vec<f64>, f64) {
    let (addr, peer) = ours_peer(rounds + 20, if len == 64 { STREAM } else { 0 });
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
fn quic(len: usize, rounds: usize) -> (Vec<f64>, f64) {
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

fn raw(len: usize, rounds: usize) -> (Vec<f64>, f64) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stream = if len == 64 { STREAM } else { 0 };
    let peer = std::thread::Builder::new()
        .name("raw-peer".into())
        .spawn(move || {
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

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("| payload | path | RTT p50 (us) | RTT p99 (us) | 64 B throughput (msg/s) |");
    println!("|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (len, label, rounds) in SIZES {
        let (raw_rtt, raw_rate) = raw(len, rounds);
        let (our_rtt, our_rate) = ours(len, rounds);
        let (quic_rtt, quic_rate) = quic(len, rounds);
        for (name, rtt, rate) in [
            ("raw TCP (std, same framing)", &raw_rtt, raw_rate),
            ("OMNI-MESH TCP link", &our_rtt, our_rate),
            ("OMNI-MESH QUIC link (TLS 1.3)", &quic_rtt, quic_rate),
        ] {
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
        ratios.push(format!(
            "{label}: RTT p50 TCP link / raw = {:.2}x, QUIC link / raw = {:.2}x",
            percentile(&our_rtt, 0.5) / percentile(&raw_rtt, 0.5),
            percentile(&quic_rtt, 0.5) / percentile(&raw_rtt, 0.5)
        ));
        if len == 64 {
            ratios.push(format!(
                "64 B throughput ours / raw = {:.2}x",
                our_rate / raw_rate
            ));
        }
    }
    println!();
    for r in ratios {
        println!("- {r}");
    }
}
