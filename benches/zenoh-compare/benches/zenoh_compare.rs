//! Comparative link bench in one run: raw TCP, OMNI-MESH TCP and QUIC links
//! (`mesh_benches::net_paths`) and Zenoh (peer mode, TCP, loopback, its pong side in a second
//! process as Zenoh's own `z_pong`): RTT p50/p99 for 64 B and 1 MiB and 64 B one-way
//! throughput, with the two sides on different cores and on one core. Run:
//! `cargo bench -p mesh-zenoh-bench --bench zenoh_compare` (prints markdown tables;
//! `OMNI_BENCH_PLACEMENT=cross|same` runs one placement).

// A custom harness; main prints the results.
#![allow(missing_docs, clippy::print_stdout)]

use mesh_zenoh_bench::{pong_main, zenoh_path, PONG_FLAG};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == PONG_FLAG) {
        pong_main(&args[i + 1..]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    mesh_benches::net_paths::run(&[("Zenoh (peer, TCP, 2 processes)", zenoh_path)]);
}
