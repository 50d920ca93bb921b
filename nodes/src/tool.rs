//! What the inspection commands (`topic`, `node`, `service`) share: a tool node on this
//! host's shared memory and its security settings.
//!
//! Tools verify every signature. Unless the configuration file or the environment chooses a
//! security mode (`mode`, `[security] mode`, `OMNI_MESH_MODE`, `OMNI_MESH_SECURITY_MODE`),
//! they run in development
//! mode: any key is accepted and its DID shown, so a fleet can be inspected without its
//! trust list.

use std::path::PathBuf;

use anyhow::Context as _;
use mesh_core::config::Config;
use mesh_core::node::Node;
use mesh_core::security::SecurityMode;
use mesh_core::transport::shm::ShmTransport;
use mesh_core::transport::shm_scan::LocalChannel;

/// Name of tool nodes (left out of `node list`).
pub const TOOL_NODE: &str = "_omni_mesh_tool";

/// Flags of the inspection commands.
#[derive(clap::Args, Debug, Clone)]
pub struct ToolArgs {
    /// Configuration file whose `[security]` the tool uses (default: development mode).
    #[arg(long, env = "OMNI_MESH_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Shared-memory prefix of the host's fleet.
    #[arg(long, env = "OMNI_MESH_SHM_PREFIX", global = true)]
    pub shm_prefix: Option<String>,
}

impl ToolArgs {
    /// The tool's node.
    ///
    /// # Errors
    /// An unreadable configuration or shared memory that cannot be opened.
    pub fn node(&self) -> anyhow::Result<Node<ShmTransport>> {
        let config = Config::from_file_and_env(self.config.as_deref(), SecurityMode::Development)?;
        let transport = ShmTransport::named(self.shm_prefix.as_deref(), TOOL_NODE)
            .context("opening shared memory")?;
        // Channels a tool creates (a reply topic, a new topic) admit as many ports as the
        // reference nodes' (a channel's first endpoint fixes it).
        Ok(Node::builder(TOOL_NODE, transport)
            .config(&config)
            .max_ports(omni_mesh_nodes::runtime::FLEET_PORTS)
            .build()?)
    }
}

/// The channel of `topic` on this host, if any node uses it.
///
/// # Errors
/// The host's channels cannot be listed.
pub fn find_channel(
    node: &Node<ShmTransport>,
    topic: &str,
) -> anyhow::Result<Option<LocalChannel>> {
    Ok(node
        .transport()
        .scan()
        .context("listing shared-memory channels")?
        .into_iter()
        .find(|c| c.spec.topic == topic))
}

/// Type name of a hash, as the registry knows it.
#[must_use]
pub fn type_name(hash: &[u8; 32]) -> String {
    omni_msgs::dynamic::by_hash(hash).map_or_else(
        || {
            let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("<unknown type RIHS01_{hex}...>")
        },
        |t| t.name.to_owned(),
    )
}
