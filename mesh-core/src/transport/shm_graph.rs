//! The host's node graph as shared memory shows it: every live node (its name and process)
//! and the topics it publishes and subscribes. `omni-mesh node list|info` and `topic info`
//! read it; nothing is announced for it, so it is always current.

use std::collections::BTreeMap;

use iceoryx2::node::NodeView as _;
use iceoryx2::prelude::*;

use super::shm::{Flavour, ShmError, ShmTransport};

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphNode {
    /// Its name (a node's fully qualified name; empty for unnamed transports, such as
    /// tools and the daemon).
    pub name: String,
    /// Its process.
    pub pid: u32,
    /// Topics it publishes on (services appear as `<service>/_request` and
    /// `<service>/_reply/...`).
    pub publishes: Vec<String>,
    /// Topics it subscribes to.
    pub subscribes: Vec<String>,
}

/// The host's graph: nodes by their iceoryx2 id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    /// Live nodes, sorted by name then process.
    pub nodes: Vec<GraphNode>,
}

impl Graph {
    /// Nodes whose name is `name`.
    pub fn named<'g>(&'g self, name: &'g str) -> impl Iterator<Item = &'g GraphNode> + 'g {
        self.nodes.iter().filter(move |n| n.name == name)
    }

    /// `(publishers, subscribers)` of `topic`, by node name.
    #[must_use]
    pub fn endpoints(&self, topic: &str) -> (Vec<&GraphNode>, Vec<&GraphNode>) {
        let has = |list: &Vec<String>| list.iter().any(|t| t == topic);
        (
            self.nodes.iter().filter(|n| has(&n.publishes)).collect(),
            self.nodes.iter().filter(|n| has(&n.subscribes)).collect(),
        )
    }
}

impl<S: Flavour> ShmTransport<S> {
    /// The host's live nodes and their endpoints (this transport's own node left out).
    ///
    /// # Errors
    /// [`ShmError::Scan`] when nodes or services cannot be listed.
    pub fn graph(&self) -> Result<Graph, ShmError> {
        let me = *self.node.id();
        let mut nodes: BTreeMap<u128, GraphNode> = BTreeMap::new();
        Node::<S>::list(self.node.config(), |state| {
            if let NodeState::Alive(view) = state {
                if *view.id() != me {
                    let (name, pid) = view.details().as_ref().map_or((String::new(), 0), |d| {
                        (d.name().to_string(), d.process_id().value() as u32)
                    });
                    nodes.insert(
                        view.id().value(),
                        GraphNode {
                            name,
                            pid,
                            ..GraphNode::default()
                        },
                    );
                }
            }
            CallbackProgression::Continue
        })
        .map_err(|e| ShmError::Scan(format!("{e:?}")))?;
        for (service, topic) in self.data_services()? {
            let Some(factory) = self.open_existing(&service) else {
                continue;
            };
            let dynamic = factory.dynamic_config();
            dynamic.list_publishers(|p| {
                if let Some(node) = nodes.get_mut(&p.node_id.value()) {
                    node.publishes.push(topic.to_owned());
                }
                CallbackProgression::Continue
            });
            dynamic.list_subscribers(|s| {
                if let Some(node) = nodes.get_mut(&s.node_id.value()) {
                    node.subscribes.push(topic.to_owned());
                }
                CallbackProgression::Continue
            });
        }
        let mut nodes: Vec<GraphNode> = nodes.into_values().collect();
        for n in &mut nodes {
            n.publishes.sort();
            n.publishes.dedup();
            n.subscribes.sort();
            n.subscribes.dedup();
        }
        nodes.sort_by(|a, b| (&a.name, a.pid).cmp(&(&b.name, b.pid)));
        Ok(Graph { nodes })
    }
}
