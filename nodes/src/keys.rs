//! `omni-mesh keys new --out FILE` and `omni-mesh keys show FILE`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use mesh_core::identity::{load_key_file, write_key_file, NodeKey};

/// Key subcommands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new Ed25519 node key (PKCS#8 PEM, mode 0600) and print its DID.
    New {
        /// Where to write the key; an existing file is never replaced.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the DID of a key file.
    Show {
        /// The key file.
        file: PathBuf,
    },
}

/// Runs a key subcommand.
pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::New { out } => {
            let key = NodeKey::generate();
            write_key_file(&out, &key).context("cannot create the key file")?;
            println!("{}", key.did());
            eprintln!("wrote {} (mode 0600)", out.display());
        }
        KeysCommand::Show { file } => {
            let key = load_key_file(&file).context("cannot load the key file")?;
            println!("{}", key.did());
        }
    }
    Ok(())
}
