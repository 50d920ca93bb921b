//! `omni-mesh node list|info` and `omni-mesh service list`: the host's node graph, read from
//! shared memory (every node's iceoryx2 node carries its fully qualified name).

use anyhow::{bail, Context as _};
use clap::Subcommand;
use mesh_core::transport::shm_graph::GraphNode;

use crate::tool::{ToolArgs, TOOL_NODE};
use crate::topic_cmd::display_name;

/// `omni-mesh node ...`
#[derive(Subcommand)]
pub enum NodeCommand {
    /// List the nodes running on this host.
    List,
    /// What a node publishes, subscribes and serves.
    Info {
        /// Fully qualified node name (`/robot_3`).
        name: String,
    },
}

/// `omni-mesh service ...`
#[derive(Subcommand)]
pub enum ServiceCommand {
    /// List the services offered on this host, with the nodes that serve them.
    List,
}

fn plain(list: &[String]) -> Vec<&str> {
    list.iter()
        .map(String::as_str)
        .filter(|t| !t.contains("/_request") && !t.contains("/_reply/"))
        .collect()
}

fn visible(n: &GraphNode) -> bool {
    n.name != TOOL_NODE
}

/// Runs a node command.
pub fn run_node(cmd: NodeCommand, tool: &ToolArgs) -> anyhow::Result<()> {
    let node = tool.node()?;
    let graph = node.transport().graph().context("reading the node graph")?;
    match cmd {
        NodeCommand::List => {
            let nodes: Vec<_> = graph.nodes.iter().filter(|n| visible(n)).collect();
            if nodes.is_empty() {
                println!("no nodes on this host (is a fleet running with the same --shm-prefix?)");
            }
            for n in nodes {
                println!(
                    "{:<32} pid {:<8} {} pub, {} sub",
                    display_name(&n.name),
                    n.pid,
                    n.publishes.len(),
                    n.subscribes.len()
                );
            }
            Ok(())
        }
        NodeCommand::Info { name } => {
            let matches: Vec<_> = graph.named(&name).collect();
            if matches.is_empty() {
                bail!("no node {name} on this host (see `omni-mesh node list`)");
            }
            for n in matches {
                println!("{} (pid {})", n.name, n.pid);
                let services: Vec<&str> = n
                    .subscribes
                    .iter()
                    .filter_map(|t| t.strip_suffix("/_request"))
                    .collect();
                let section = |title: &str, items: Vec<&str>| {
                    println!("  {title} ({}):", items.len());
                    for i in items {
                        println!("    {i}");
                    }
                };
                section("publishes", plain(&n.publishes));
                section("subscribes", plain(&n.subscribes));
                section("serves", services);
            }
            Ok(())
        }
    }
}

/// Runs a service command.
pub fn run_service(cmd: ServiceCommand, tool: &ToolArgs) -> anyhow::Result<()> {
    let node = tool.node()?;
    let graph = node.transport().graph().context("reading the node graph")?;
    match cmd {
        ServiceCommand::List => {
            let mut services: Vec<(String, Vec<String>)> = Vec::new();
            for n in graph.nodes.iter().filter(|n| visible(n)) {
                for t in &n.subscribes {
                    if let Some(service) = t.strip_suffix("/_request") {
                        match services.iter_mut().find(|(s, _)| s == service) {
                            Some((_, servers)) => servers.push(n.name.clone()),
                            None => services.push((service.to_owned(), vec![n.name.clone()])),
                        }
                    }
                }
            }
            services.sort();
            if services.is_empty() {
                println!("no services on this host");
            }
            for (service, servers) in services {
                println!("{service:<40} served by {}", servers.join(", "));
            }
            Ok(())
        }
    }
}
