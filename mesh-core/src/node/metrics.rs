//! Prometheus metrics of a node's data path (prometheus-client): messages published and
//! delivered per topic, drops per topic and reason, frames a lossless publisher dropped for a
//! stalled subscriber, and publish-to-delivery latency. Handles
//! are created once per publisher/subscriber, so counting allocates nothing per message.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of per-topic metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// Resolved topic name.
    pub topic: String,
}

/// Why a subscriber dropped a received frame.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum DropReason {
    /// Refused by the security layer (see the security counters for the detail).
    Rejected,
    /// Duplicate, replay or older epoch.
    Replay,
    /// Signed correctly but not a valid archive of the topic's type.
    BadArchive,
    /// Older than the subscriber's QoS lifespan.
    Expired,
}

/// Labels of drop counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    /// Resolved topic name.
    pub topic: String,
    /// Why.
    pub reason: DropReason,
}

fn latency_histogram() -> Histogram {
    // 1 us .. ~8 s.
    Histogram::new(exponential_buckets(1e-6, 2.0, 24))
}

/// The metric families of one node.
#[derive(Debug)]
pub struct NodeMetrics {
    pub(crate) published: Family<TopicLabels, Counter>,
    pub(crate) delivered: Family<TopicLabels, Counter>,
    pub(crate) dropped: Family<DropLabels, Counter>,
    pub(crate) stall_drops: Family<TopicLabels, Counter>,
    pub(crate) lost: Family<TopicLabels, Counter>,
    pub(crate) latency: Family<TopicLabels, Histogram, fn() -> Histogram>,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self {
            published: Family::default(),
            delivered: Family::default(),
            dropped: Family::default(),
            stall_drops: Family::default(),
            lost: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl NodeMetrics {
    /// Registers every family under `omnimesh_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "omnimesh_published",
            "Messages published, per topic",
            self.published.clone(),
        );
        registry.register(
            "omnimesh_delivered",
            "Verified messages handed to subscribers, per topic",
            self.delivered.clone(),
        );
        registry.register(
            "omnimesh_dropped",
            "Received frames dropped, per topic and reason",
            self.dropped.clone(),
        );
        registry.register(
            "omnimesh_stall_drops",
            "Frames a lossless publisher dropped for a subscriber whose full queue outlasted \
             the stall deadline, per topic",
            self.stall_drops.clone(),
        );
        registry.register(
            "omnimesh_lost",
            "Messages a subscriber never received: sequence numbers skipped within a \
             publisher's epoch (overwritten in a full queue, or dropped for a stall), per topic",
            self.lost.clone(),
        );
        registry.register(
            "omnimesh_delivery_latency_seconds",
            "Publisher timestamp to delivery, per topic (clocks of two hosts may differ)",
            self.latency.clone(),
        );
    }
}

/// Metric handles of one subscriber (created once).
#[derive(Debug, Clone)]
pub(crate) struct SubscriberMetrics {
    pub(crate) delivered: Counter,
    pub(crate) rejected: Counter,
    pub(crate) replay: Counter,
    pub(crate) bad_archive: Counter,
    pub(crate) expired: Counter,
    pub(crate) lost: Counter,
    pub(crate) latency: Histogram,
}

impl SubscriberMetrics {
    pub(crate) fn new(m: &NodeMetrics, topic: &str) -> Self {
        let labels = TopicLabels {
            topic: topic.to_owned(),
        };
        let drop = |reason| {
            m.dropped.get_or_create_owned(&DropLabels {
                topic: topic.to_owned(),
                reason,
            })
        };
        Self {
            delivered: m.delivered.get_or_create_owned(&labels),
            rejected: drop(DropReason::Rejected),
            replay: drop(DropReason::Replay),
            bad_archive: drop(DropReason::BadArchive),
            expired: drop(DropReason::Expired),
            lost: m.lost.get_or_create_owned(&labels),
            latency: m.latency.get_or_create_owned(&labels),
        }
    }
}
