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
    /// Call a service with a request given as JSON and print the reply, e.g.
    /// `omni-mesh service call /robot_0/assign_task omni_msgs/srv/AssignTask '{"robot_id": "robot_0"}'`.
    Call {
        /// Service name.
        name: String,
        /// Service type (`pkg/srv/Type`).
        type_name: String,
        /// The request as JSON; missing fields keep their defaults.
        #[arg(default_value = "{}")]
        request: String,
        /// How long to wait for the reply, seconds.
        #[arg(long, default_value_t = 2.0)]
        timeout_s: f64,
        /// Print the reply as JSON instead of YAML.
        #[arg(long)]
        json: bool,
    },
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
        ServiceCommand::Call {
            name,
            type_name,
            request,
            timeout_s,
            json,
        } => call(&node, &name, &type_name, &request, timeout_s, json),
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

fn call(
    node: &mesh_core::node::Node<mesh_core::transport::shm::ShmTransport>,
    service: &str,
    type_name: &str,
    request: &str,
    timeout_s: f64,
    json: bool,
) -> anyhow::Result<()> {
    use std::time::{Duration, Instant};

    let service = node.resolve(service)?;
    let part = |suffix: &str| {
        omni_msgs::dynamic::by_name(&format!("{type_name}_{suffix}")).with_context(|| {
            format!("unknown service type {type_name} (expected pkg/srv/Type, e.g. std_srvs/srv/Trigger)")
        })
    };
    let (req_t, resp_t) = (part("Request")?, part("Response")?);
    let value: serde_json::Value = serde_json::from_str(request)
        .with_context(|| format!("the request is not JSON: {request}"))?;
    let archive = (req_t.encode)(&crate::topic_cmd::from_json(&value))
        .map_err(|e| anyhow::anyhow!("not a valid {}: {e}", req_t.name))?;
    let request_topic = format!("{service}/_request");
    let Some(channel) = crate::tool::find_channel(node, &request_topic)? else {
        bail!("no service {service} on this host (see `omni-mesh service list`)");
    };
    // Subscribe to our reply topic before the request goes out.
    let reply = mesh_core::node::service_reply_topic(&service, &node.did(), node.epoch());
    let spec = node.channel_spec(&reply, 64 << 10, &node.default_qos())?;
    let mut replies = node.raw_subscriber(&spec)?;
    let mut requests = node.raw_publisher(&channel.spec, req_t.hash)?;
    std::thread::sleep(Duration::from_millis(100));
    requests.update()?;
    requests.publish_archive(&archive)?;
    let deadline = Instant::now() + Duration::from_secs_f64(timeout_s.max(0.0));
    while let Some(sample) =
        replies.recv_timeout(deadline.saturating_duration_since(Instant::now()))?
    {
        if sample.sequence() != 1 || sample.type_hash() != resp_t.hash {
            continue;
        }
        let value = (resp_t.decode)(sample.payload()).map_err(|e| anyhow::anyhow!(e))?;
        let sender = sample.sender().to_string();
        if json {
            println!("{}", value.to_json());
        } else {
            println!("# {} from {sender}", resp_t.name);
            print!("{}", value.to_yaml(16));
        }
        return Ok(());
    }
    bail!("no reply from {service} within {timeout_s} s")
}
