//! The bridge's Prometheus metrics, per mapping: messages forwarded each way, held back
//! (loops, rate limits), malformed, service calls forgotten unanswered, and the mesh senders
//! of what went to ROS 2 (the bridge signs what comes in; what goes out keeps its sender
//! here). Served with the bridge node's own metrics when the mesh configuration names an
//! address (`[obs] metrics`), next to `/healthz` and `/readyz`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mesh_core::identity::Did;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::bridge::Counters;

type Labels = Vec<(String, String)>;

/// Every mapping's counters (cheap to clone: the families are shared).
#[derive(Debug, Clone, Default)]
pub struct BridgeMetrics {
    forwarded: Family<Labels, Counter>,
    held_back: Family<Labels, Counter>,
    malformed: Family<Labels, Counter>,
    unanswered: Family<Labels, Counter>,
    senders: Family<Labels, Counter>,
    totals: Arc<Counters>,
}

impl BridgeMetrics {
    /// Metrics adding up into `totals` too.
    #[must_use]
    pub fn new(totals: Arc<Counters>) -> Self {
        Self {
            totals,
            ..Self::default()
        }
    }

    /// Adds the families to `registry` (prefix `omnimesh_bridge_`, as the node's are `omnimesh_`).
    pub fn register(&self, registry: &mut Registry) {
        let families = [
            (
                "forwarded",
                "Messages and service calls forwarded, by mapping and direction",
                &self.forwarded,
            ),
            (
                "held_back",
                "Messages held back by loop prevention, rate limits or a wrong type",
                &self.held_back,
            ),
            (
                "malformed",
                "Messages that could not be converted",
                &self.malformed,
            ),
            (
                "calls_unanswered",
                "Service calls forgotten without a reply",
                &self.unanswered,
            ),
            (
                "sent_to_ros",
                "Mesh messages forwarded to ROS 2, by mapping and mesh sender",
                &self.senders,
            ),
        ];
        for (name, help, family) in families {
            registry.register(format!("omnimesh_bridge_{name}"), help, family.clone());
        }
    }

    /// The tally of one mapping (`mesh` name, `ros` name).
    #[must_use]
    pub fn mapping(&self, mesh: &str, ros: &str) -> Tally {
        let labels = |extra: &[(&str, &str)]| -> Labels {
            [("mesh", mesh), ("ros", ros)]
                .iter()
                .chain(extra)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        // One statement per counter: a family's read guard lives to the end of its
        // statement, and creating the next label set needs the write lock.
        let counter = |family: &Family<Labels, Counter>, extra: &[(&str, &str)]| {
            let counter = family.get_or_create(&labels(extra)).clone();
            counter
        };
        let to_ros = counter(&self.forwarded, &[("direction", "to_ros")]);
        let from_ros = counter(&self.forwarded, &[("direction", "from_ros")]);
        let held_back = counter(&self.held_back, &[]);
        let malformed = counter(&self.malformed, &[]);
        let unanswered = counter(&self.unanswered, &[]);
        Tally {
            to_ros,
            from_ros,
            held_back,
            malformed,
            unanswered,
            senders: self.senders.clone(),
            sender_counters: HashMap::new(),
            labels: labels(&[]),
            totals: self.totals.clone(),
        }
    }
}

/// One mapping's counters (and the bridge's totals).
#[derive(Debug, Clone)]
pub struct Tally {
    to_ros: Counter,
    from_ros: Counter,
    held_back: Counter,
    malformed: Counter,
    unanswered: Counter,
    senders: Family<Labels, Counter>,
    sender_counters: HashMap<[u8; 32], Counter>,
    labels: Labels,
    totals: Arc<Counters>,
}

/// Senders remembered per mapping; past this, counts go to `sender="other"`.
const MAX_SENDERS: usize = 256;

impl Tally {
    /// A message (or call) went to ROS 2, sent on the mesh by `sender` when known.
    pub fn to_ros(&mut self, sender: Option<&Did>) {
        self.to_ros.inc();
        self.totals.to_ros.fetch_add(1, Ordering::Relaxed);
        if let Some(did) = sender {
            let key = did.public_key().to_bytes();
            let known = self.sender_counters.len() < MAX_SENDERS;
            let counter = self.sender_counters.entry(key).or_insert_with(|| {
                let mut labels = self.labels.clone();
                let name = if known {
                    did.to_string()
                } else {
                    "other".into()
                };
                labels.push(("sender".into(), name));
                self.senders.get_or_create(&labels).clone()
            });
            counter.inc();
        }
    }

    /// A message (or call) came from ROS 2.
    pub fn from_ros(&self) {
        self.from_ros.inc();
        self.totals.from_ros.fetch_add(1, Ordering::Relaxed);
    }

    /// A message was held back.
    pub fn held_back(&self) {
        self.held_back.inc();
        self.totals.held_back.fetch_add(1, Ordering::Relaxed);
    }

    /// A message could not be converted.
    pub fn malformed(&self) {
        self.malformed.inc();
        self.totals.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` service calls were forgotten unanswered.
    pub fn unanswered(&self, n: usize) {
        if n > 0 {
            let n = n as u64;
            self.unanswered.inc_by(n);
            self.totals.unanswered.fetch_add(n, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn tallies_label_mappings_directions_and_senders() {
        let totals = Arc::new(Counters::default());
        let metrics = BridgeMetrics::new(totals.clone());
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut odom = metrics.mapping("/robot_0/odom", "/odom");
        let did = Did::from(mesh_core::identity::NodeKey::generate().public());
        odom.to_ros(Some(&did));
        odom.to_ros(Some(&did));
        odom.from_ros();
        odom.held_back();
        odom.unanswered(2);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains(&format!(
            "omnimesh_bridge_sent_to_ros_total{{mesh=\"/robot_0/odom\",ros=\"/odom\",sender=\"{did}\"}} 2"
        )), "{text}");
        assert!(text.contains("omnimesh_bridge_forwarded_total{mesh=\"/robot_0/odom\",ros=\"/odom\",direction=\"from_ros\"} 1"), "{text}");
        assert!(
            text.contains(
                "omnimesh_bridge_calls_unanswered_total{mesh=\"/robot_0/odom\",ros=\"/odom\"} 2"
            ),
            "{text}"
        );
        assert_eq!(totals.to_ros.load(Ordering::Relaxed), 2);
        assert_eq!(totals.held_back.load(Ordering::Relaxed), 1);
    }
}
