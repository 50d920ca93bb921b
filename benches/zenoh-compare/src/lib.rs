//! The Zenoh path of the comparative link bench, run the way Zenoh's own `z_ping`/`z_pong`
//! run: two processes, each with one Zenoh session in peer mode, over TCP on loopback
//! (multicast scouting off; the pong process listens, the ping process connects). The pong
//! process is this bench binary started again with `--zenoh-pong`; each process pins itself
//! (and so the runtime threads Zenoh starts) to its side's core.
//!
//! - RTT: ping-pong with `CongestionControl::Block` and `express` (no batching); the pong is
//!   sent from the subscriber callback, as `z_pong` does.
//! - 64 B rate: [`STREAM`] frames with Zenoh's default batching; the pong process answers
//!   on a `done` key when it has counted them all.
//!
//! The bench (`benches/zenoh_compare.rs`) runs this next to `mesh_benches::net_paths` in
//! one run.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_benches::net_paths::{Placement, Side, STREAM};
use zenoh::qos::CongestionControl;
use zenoh::{Config, Session, Wait};

/// The flag that makes the bench binary the pong process.
pub const PONG_FLAG: &str = "--zenoh-pong";

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

fn session(endpoint_key: &str, endpoint: &str) -> Session {
    let mut config = Config::default();
    for (key, value) in [
        ("mode", "\"peer\"".to_owned()),
        ("scouting/multicast/enabled", "false".to_owned()),
        (endpoint_key, format!("[\"{endpoint}\"]")),
    ] {
        config.insert_json5(key, &value).expect("zenoh config");
    }
    zenoh::open(config).wait().expect("zenoh session")
}

/// The pong process: `--zenoh-pong ENDPOINT CORE`. Echoes pings, counts the stream, says
/// `ready` on stdout once declared, and exits when stdin closes.
pub fn pong_main(args: &[String]) {
    let (endpoint, core) = match args {
        [endpoint, core, ..] => (endpoint.clone(), core.parse().expect("core")),
        _ => panic!("usage: {PONG_FLAG} ENDPOINT CORE"),
    };
    assert!(
        core_affinity_pin(core),
        "pong process: cannot pin to core {core}"
    );
    let b = session("listen/endpoints", &endpoint);
    let pong = b
        .declare_publisher("omni/bench/pong")
        .congestion_control(CongestionControl::Block)
        .express(true)
        .wait()
        .expect("pong publisher");
    let _echo = b
        .declare_subscriber("omni/bench/ping")
        .callback(move |sample| {
            pong.put(sample.payload().clone()).wait().expect("pong");
        })
        .wait()
        .expect("ping subscriber");
    let done = b
        .declare_publisher("omni/bench/done")
        .congestion_control(CongestionControl::Block)
        .express(true)
        .wait()
        .expect("done publisher");
    let count = Arc::new(AtomicUsize::new(0));
    let _sink = b
        .declare_subscriber("omni/bench/stream")
        .callback(move |_| {
            if count.fetch_add(1, Ordering::Relaxed) + 1 == STREAM {
                done.put(vec![1u8]).wait().expect("done");
            }
        })
        .wait()
        .expect("stream subscriber");
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    // Runs until the ping process closes our stdin (or ends).
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
    b.close().wait().expect("close");
}

fn core_affinity_pin(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

/// Starts the pong process listening on `endpoint`, pinned to `core`; returns once ready.
fn spawn_pong(endpoint: &str, core: usize) -> Child {
    let exe = std::env::current_exe().expect("bench executable");
    let mut child = Command::new(exe)
        .args([PONG_FLAG, endpoint, &core.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pong process");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("pong ready");
    assert_eq!(line.trim(), "ready", "pong process did not start");
    child
}

/// RTT samples (us, sorted) for `len`-byte pings and, for 64 B, the one-way streaming rate
/// (msg/s): the same measurement as the other paths of `mesh_benches::net_paths`.
#[must_use]
pub fn zenoh_path(len: usize, rounds: usize, placement: Placement) -> (Vec<f64>, f64) {
    placement.pin(Side::Ping);
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut pong = spawn_pong(&endpoint, placement.core(Side::Pong));
    let a = session("connect/endpoints", &endpoint);
    let ping = a
        .declare_publisher("omni/bench/ping")
        .congestion_control(CongestionControl::Block)
        .express(true)
        .wait()
        .expect("ping publisher");
    let pongs = a
        .declare_subscriber("omni/bench/pong")
        .wait()
        .expect("pong subscriber");
    let payload = zenoh::bytes::ZBytes::from(vec![7u8; len]);
    // Declarations propagate asynchronously: ping until the first pong comes back.
    let matched = (0..200).any(|_| {
        ping.put(payload.clone()).wait().expect("ping");
        matches!(pongs.recv_timeout(Duration::from_millis(50)), Ok(Some(_)))
    });
    assert!(matched, "zenoh: no pong within 10 s");
    while let Ok(Some(_)) = pongs.try_recv() {}
    let mut rtts = Vec::with_capacity(rounds);
    for i in 0..rounds + 20 {
        let t = Instant::now();
        ping.put(payload.clone()).wait().expect("ping");
        let sample = pongs
            .recv_timeout(Duration::from_secs(10))
            .expect("pong channel")
            .unwrap_or_else(|| panic!("zenoh: pong {i} lost"));
        assert_eq!(sample.payload().len(), len);
        if i >= 20 {
            rtts.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    rtts.sort_by(f64::total_cmp);
    let rate = if len == 64 { stream(&a, len) } else { 0.0 };
    a.close().wait().expect("close");
    drop(pong.stdin.take()); // ends the pong process
    let _ = pong.wait();
    (rtts, rate)
}

/// Streams [`STREAM`] frames (Zenoh's default batching) and returns msg/s from the first
/// put to the pong process's `done`.
fn stream(a: &Session, len: usize) -> f64 {
    let done = a
        .declare_subscriber("omni/bench/done")
        .wait()
        .expect("done subscriber");
    let publisher = a
        .declare_publisher("omni/bench/stream")
        .congestion_control(CongestionControl::Block)
        .wait()
        .expect("stream publisher");
    // Wait until the pong's stream subscriber is known here.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !publisher
        .matching_status()
        .wait()
        .expect("matching")
        .matching()
    {
        assert!(
            Instant::now() < deadline,
            "zenoh: stream subscriber never matched"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let payload = zenoh::bytes::ZBytes::from(vec![7u8; len]);
    let start = Instant::now();
    for _ in 0..STREAM {
        publisher.put(payload.clone()).wait().expect("put");
    }
    done.recv_timeout(Duration::from_secs(60))
        .expect("done channel")
        .expect("zenoh: the pong process never counted the whole stream");
    STREAM as f64 / start.elapsed().as_secs_f64()
}
