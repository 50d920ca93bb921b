//! `omni-mesh`: the OMNI-MESH command line: keys, the host daemon, launch files, configuration,
//! stores, and inspection of a running fleet (`topic`, `node`, `service`, `doctor`).

mod bridge_cmd;
mod config_cmd;
mod daemon_cmd;
mod doctor;
mod graph_cmd;
mod keys;
mod launch_cmd;
mod store_cmd;
mod tool;
mod topic_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "omni-mesh",
    version,
    about = "OMNI-MESH: signed pub/sub for robot fleets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    tool: tool::ToolArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Node keys: create and inspect Ed25519 identities.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Run this host's router: discovery, links to other hosts, and the bridge to local
    /// nodes over shared memory (stop with Ctrl-C).
    Daemon(Box<daemon_cmd::DaemonArgs>),
    /// Run a launch file: start its nodes in order, prefix their output, restart them by
    /// policy, stop them in reverse order on Ctrl-C (`--check` only validates).
    Launch(launch_cmd::LaunchArgs),
    /// Configuration files: `omni-mesh config check FILE`, `omni-mesh config default`.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Persistent state of a node: `omni-mesh store stats FILE`.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Topics of this host: `list`, `info`, `echo` (YAML or JSON), `hz`, `bw`, `pub`.
    #[command(subcommand)]
    Topic(topic_cmd::TopicCommand),
    /// Nodes of this host: `list`, `info NAME`.
    #[command(subcommand)]
    Node(graph_cmd::NodeCommand),
    /// Services of this host: `list`.
    #[command(subcommand)]
    Service(graph_cmd::ServiceCommand),
    /// Check this machine: shared memory, ports, keys, clock, configuration.
    Doctor(doctor::DoctorArgs),
    /// Bridges to other middlewares: `omni-mesh bridge ros2 CONFIG`.
    #[command(subcommand)]
    Bridge(bridge_cmd::BridgeCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(cmd) => keys::run(cmd),
        Command::Daemon(args) => daemon_cmd::run(*args),
        Command::Store(cmd) => store_cmd::run(cmd),
        Command::Launch(args) => launch_cmd::run(args),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Topic(cmd) => topic_cmd::run(cmd, &cli.tool),
        Command::Node(cmd) => graph_cmd::run_node(cmd, &cli.tool),
        Command::Service(cmd) => graph_cmd::run_service(cmd, &cli.tool),
        Command::Doctor(args) => doctor::run(&args, &cli.tool),
        Command::Bridge(cmd) => bridge_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omni-mesh: {e:#}");
            ExitCode::FAILURE
        }
    }
}
