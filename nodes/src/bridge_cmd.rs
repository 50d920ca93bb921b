//! `omni-mesh bridge ros2 CONFIG [--check]`: the ROS 2 bridge (crate `mesh-bridge-ros2`) in
//! the foreground until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Subcommand;

/// Bridges to other middlewares.
#[derive(Subcommand)]
pub enum BridgeCommand {
    /// Bridge topics to and from ROS 2 over DDS (docs/ros2-bridge.md).
    Ros2 {
        /// The bridge configuration (TOML).
        config: PathBuf,
        /// Check the configuration and exit.
        #[arg(long)]
        check: bool,
    },
}

/// Runs a bridge command.
pub fn run(cmd: BridgeCommand) -> anyhow::Result<()> {
    let BridgeCommand::Ros2 { config, check } = cmd;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    mesh_bridge_ros2::runner::run(&config, check, &stop, &mut std::io::stdout())?;
    Ok(())
}
