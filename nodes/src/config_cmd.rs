//! `omni-mesh config`: check a configuration file (errors with their line and column) and
//! print the documented defaults to start one from.

use std::path::PathBuf;

use clap::Subcommand;
use mesh_core::config::Config;
use mesh_core::security::SecurityMode;

/// The documented default configuration (every key, with its comment).
const DEFAULT: &str = include_str!("../../config/omni-mesh.toml");

/// `omni-mesh config ...`
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check FILE: unknown keys, wrong types and bad values are reported with their line.
    Check {
        /// The configuration file (`omni-mesh.toml`).
        file: PathBuf,
    },
    /// Print the default configuration, every key documented (`> omni-mesh.toml`).
    Default,
    /// Print the JSON Schema of the configuration file (for editors and CI checks).
    Schema,
}

/// Runs a config command.
pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Default => {
            print!("{DEFAULT}");
            Ok(())
        }
        ConfigCommand::Schema => {
            print!("{}", Config::json_schema());
            Ok(())
        }
        ConfigCommand::Check { file } => {
            // What a node would run with: the file, its preset and OMNI_MESH_* overrides.
            let config = Config::from_file_and_env(Some(&file), SecurityMode::Production)?;
            println!(
                "{}: ok (preset {}, security mode {:?}, links over {:?}, {} seeds, {} DTN \
                 topics, metrics {})",
                file.display(),
                config
                    .mode
                    .map_or("none".to_owned(), |m| format!("{m:?}").to_lowercase()),
                config.security.mode,
                config.network.transport,
                config.network.seeds.len(),
                config.network.dtn_topics.len(),
                config
                    .obs
                    .metrics
                    .map_or("off".to_owned(), |a| a.to_string())
            );
            Ok(())
        }
    }
}
