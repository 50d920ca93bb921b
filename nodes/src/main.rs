//! `omni-mesh`: the OMNI-MESH command line. Today: key management (`keys new`, `keys show`).

mod keys;

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
}

#[derive(Subcommand)]
enum Command {
    /// Node keys: create and inspect Ed25519 identities.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(cmd) => keys::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omni-mesh: {e:#}");
            ExitCode::FAILURE
        }
    }
}
