//! `omni-mesh doctor`: checks what a node or daemon needs on this machine and says what to
//! do about each problem: shared memory, the iceoryx2 layer, the default ports, a key file,
//! the clock, real-time scheduling, and a configuration file.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use mesh_core::config::Config;
use mesh_core::security::SecurityMode;

use crate::tool::ToolArgs;

/// `omni-mesh doctor` flags.
#[derive(clap::Args)]
pub struct DoctorArgs {
    /// A node key file to check (readable, private, valid).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Default)]
struct Report {
    failed: usize,
    warned: usize,
}

impl Report {
    fn ok(&mut self, what: &str, detail: &str) {
        println!("ok    {what}: {detail}");
    }
    fn warn(&mut self, what: &str, detail: &str) {
        self.warned += 1;
        println!("warn  {what}: {detail}");
    }
    fn fail(&mut self, what: &str, detail: &str) {
        self.failed += 1;
        println!("FAIL  {what}: {detail}");
    }
}

/// Runs the checks; fails when any check failed.
pub fn run(args: &DoctorArgs, tool: &ToolArgs) -> anyhow::Result<()> {
    let mut r = Report::default();
    shared_memory(&mut r);
    match tool.node() {
        Ok(node) => match node.transport().graph() {
            Ok(g) => r.ok(
                "iceoryx2",
                &format!("node created; {} other node(s) on this host", g.nodes.len()),
            ),
            Err(e) => r.warn("iceoryx2", &format!("node created, graph unreadable: {e}")),
        },
        Err(e) => r.fail("iceoryx2", &format!("{e:#}")),
    }
    let config = match Config::from_file_and_env(tool.config.as_deref(), SecurityMode::Production) {
        Ok(c) => {
            if let Some(path) = &tool.config {
                r.ok("configuration", &format!("{} is valid", path.display()));
            }
            c
        }
        Err(e) => {
            r.fail("configuration", &e.to_string());
            Config::default()
        }
    };
    ports(&mut r, &config);
    if let Some(path) = &args.key {
        key(&mut r, path);
    }
    clock(&mut r);
    realtime(&mut r);
    println!("{} failed, {} warning(s)", r.failed, r.warned);
    if r.failed > 0 {
        anyhow::bail!("{} check(s) failed", r.failed);
    }
    Ok(())
}

fn shared_memory(r: &mut Report) {
    let probe = format!("/dev/shm/omni-mesh-doctor-{}", std::process::id());
    match std::fs::write(&probe, b"probe") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            match nix::sys::statvfs::statvfs("/dev/shm") {
                Ok(s) => {
                    let free = s.blocks_available() as f64 * s.fragment_size() as f64;
                    let gib = free / f64::from(1u32 << 30);
                    if gib < 0.5 {
                        r.warn(
                            "shared memory",
                            &format!("/dev/shm has only {gib:.2} GiB free; large topics (point clouds) need more (docker: --shm-size)"),
                        );
                    } else {
                        r.ok(
                            "shared memory",
                            &format!("/dev/shm writable, {gib:.1} GiB free"),
                        );
                    }
                }
                Err(e) => r.warn("shared memory", &format!("cannot read /dev/shm size: {e}")),
            }
        }
        Err(e) => r.fail(
            "shared memory",
            &format!(
                "cannot write /dev/shm ({e}); nodes on one host need it (mount a tmpfs there)"
            ),
        ),
    }
}

fn ports(r: &mut Report, config: &Config) {
    match UdpSocket::bind(config.network.gossip) {
        Ok(_) => r.ok(
            "discovery port",
            &format!("UDP {} is free", config.network.gossip),
        ),
        Err(e) => r.warn(
            "discovery port",
            &format!(
                "UDP {}: {e} (a daemon already running? set [network] gossip)",
                config.network.gossip
            ),
        ),
    }
    match TcpListener::bind(config.network.listen) {
        Ok(_) => r.ok(
            "link port",
            &format!("TCP {} is free", config.network.listen),
        ),
        Err(e) => r.warn(
            "link port",
            &format!(
                "TCP {}: {e} (a daemon already running? set [network] listen)",
                config.network.listen
            ),
        ),
    }
    let metrics = config
        .obs
        .metrics
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9464)));
    match TcpListener::bind(metrics) {
        Ok(_) => r.ok("metrics port", &format!("TCP {metrics} is free")),
        Err(e) => r.warn(
            "metrics port",
            &format!("TCP {metrics}: {e} (choose another with --metrics)"),
        ),
    }
}

fn key(r: &mut Report, path: &PathBuf) {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            match mesh_core::identity::load_key_file(path) {
                Ok(k) if mode & 0o077 == 0 => {
                    r.ok("key", &format!("{} holds {}", path.display(), k.did()));
                }
                Ok(k) => r.warn(
                    "key",
                    &format!(
                        "{} holds {} but is readable by others (mode {mode:o}); chmod 600 it",
                        path.display(),
                        k.did()
                    ),
                ),
                Err(e) => r.fail("key", &format!("{}: {e}", path.display())),
            }
        }
        Err(e) => r.fail(
            "key",
            &format!(
                "{}: {e} (create one: omni-mesh keys new --out FILE)",
                path.display()
            ),
        ),
    }
}

fn clock(r: &mut Report) {
    // 2024-01-01: a clock before it was never set (envelope timestamps and lifespans use it).
    const FLOOR: u64 = 1_704_067_200;
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) if d.as_secs() >= FLOOR => {
            let source = std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
            r.ok("clock", &format!("wall clock set, clock source {source}; hosts should run NTP or PTP (latency figures across hosts use it)"));
        }
        _ => r.fail(
            "clock",
            "the wall clock is before 2024: set it (NTP); envelope timestamps and lifespans depend on it",
        ),
    }
}

fn realtime(r: &mut Report) {
    let cores = core_count();
    let fifo = std::thread::spawn(|| mesh_core::rt::set_sched_fifo(1))
        .join()
        .unwrap_or(Err(mesh_core::rt::RtError::BadPriority(0)));
    match fifo {
        Ok(()) => r.ok(
            "real time",
            &format!("{cores} core(s); SCHED_FIFO permitted ([rt] sched_fifo, pin_core)"),
        ),
        Err(e) => r.warn("real time", &format!("{cores} core(s); {e}")),
    }
}

fn core_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
