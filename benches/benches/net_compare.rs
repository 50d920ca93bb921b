//! Comparative link harness over loopback, in one run: OMNI-MESH QUIC links (quinn, TLS 1.3,
//! certificates from node keys) and TCP links (identity handshake, length-prefixed frames,
//! batched vectored writes, tokio) against raw `std` TCP ping-pong with the same framing
//! (4-byte length + payload in one write, `TCP_NODELAY`, blocking reads; buffered reads and
//! writes when streaming). The paths live in `mesh_benches::net_paths`; the Zenoh member's
//! `zenoh_compare` runs the same paths next to Zenoh.
//!
//! - RTT p50/p99 for 64 B and 1 MiB frames (the pong is the same size as the ping);
//! - 64 B throughput: frames streamed one way, counted at the receiver.
//!
//! Each side runs on its own thread (2 cores); ours uses one current-thread tokio runtime per
//! side. Run: `cargo bench -p mesh-benches --bench net_compare` (prints a markdown table).

// A custom harness; main prints the results.
#![allow(missing_docs, clippy::print_stdout)]

use mesh_benches::net_paths;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    net_paths::run(&[]);
}
