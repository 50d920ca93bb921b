//! `omni-mesh-ros2-bridge CONFIG [--check]`: runs the ROS 2 bridge until SIGINT or SIGTERM
//! (the same as `omni-mesh bridge ros2`).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Bridges OMNI-MESH topics to and from ROS 2 (DDS)")]
struct Args {
    /// The bridge configuration (TOML; docs/ros2-bridge.md).
    config: PathBuf,
    /// Check the configuration and exit.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rustdds=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    mesh_bridge_ros2::runner::run(&args.config, args.check, &stop, &mut std::io::stdout())?;
    Ok(())
}
