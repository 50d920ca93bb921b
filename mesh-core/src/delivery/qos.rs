//! QoS policies (ROS 2 names and semantics) and the compatibility rules between what a
//! publisher offers and what a subscriber requests.

/// Whether lost messages are recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reliability {
    /// Losses are reported, never recovered; order is kept and duplicates dropped.
    BestEffort,
    /// Losses are recovered by NACK and retransmission from the publisher's history.
    #[default]
    Reliable,
}

/// Whether late joiners receive messages published before they joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// Only messages published after matching.
    #[default]
    Volatile,
    /// A late joiner receives the publisher's history (the last N) once.
    TransientLocal,
}

/// How much a publisher keeps for retransmission and late joiners, and how much a subscriber
/// buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum History {
    /// The last `depth` messages.
    KeepLast(u32),
    /// Everything not yet acknowledged by every reliable reader, up to the limits; a full
    /// history refuses new messages (back-pressure on the publisher).
    KeepAll {
        /// Most messages kept.
        max_messages: u32,
        /// Most payload bytes kept.
        max_bytes: u64,
    },
}

impl Default for History {
    fn default() -> Self {
        Self::KeepLast(10)
    }
}

/// The QoS of a publisher (offered) or subscriber (requested). Durations are nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Qos {
    /// Reliability.
    pub reliability: Reliability,
    /// Durability.
    pub durability: Durability,
    /// History.
    pub history: History,
    /// Longest expected interval between messages (`None`: no deadline).
    pub deadline_ns: Option<u64>,
    /// Messages older than this (by publisher timestamp) are not delivered (`None`: forever).
    pub lifespan_ns: Option<u64>,
    /// Automatic liveliness: the publisher is alive while it is heard from within this lease
    /// (`None`: infinite).
    pub liveliness_lease_ns: Option<u64>,
}

impl Qos {
    /// Reliable, volatile, keep last 10 (the ROS 2 default profile).
    #[must_use]
    pub fn reliable() -> Self {
        Self::default()
    }

    /// Best effort, volatile, keep last 10 (the ROS 2 sensor-data profile uses depth 5).
    #[must_use]
    pub fn best_effort() -> Self {
        Self {
            reliability: Reliability::BestEffort,
            ..Self::default()
        }
    }

    /// This QoS with `history`.
    #[must_use]
    pub fn with_history(mut self, history: History) -> Self {
        self.history = history;
        self
    }

    /// This QoS with transient-local durability.
    #[must_use]
    pub fn transient_local(mut self) -> Self {
        self.durability = Durability::TransientLocal;
        self
    }
}

/// Which policy made a publisher and subscriber incompatible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPolicyKind {
    /// Best-effort publisher, reliable subscriber.
    Reliability,
    /// Volatile publisher, transient-local subscriber.
    Durability,
    /// Publisher's deadline longer than the subscriber's.
    Deadline,
    /// Publisher's lease longer than the subscriber's.
    Liveliness,
}

fn longer(offered: Option<u64>, requested: Option<u64>) -> bool {
    match (offered, requested) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(o), Some(r)) => o > r,
    }
}

/// The policies on which `offered` (publisher) cannot satisfy `requested` (subscriber), with
/// the ROS 2 request-offered rules. Empty means compatible.
#[must_use]
pub fn incompatibilities(offered: &Qos, requested: &Qos) -> Vec<QosPolicyKind> {
    let mut out = Vec::new();
    if offered.reliability == Reliability::BestEffort
        && requested.reliability == Reliability::Reliable
    {
        out.push(QosPolicyKind::Reliability);
    }
    if offered.durability == Durability::Volatile
        && requested.durability == Durability::TransientLocal
    {
        out.push(QosPolicyKind::Durability);
    }
    if longer(offered.deadline_ns, requested.deadline_ns) {
        out.push(QosPolicyKind::Deadline);
    }
    if longer(offered.liveliness_lease_ns, requested.liveliness_lease_ns) {
        out.push(QosPolicyKind::Liveliness);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_offered_rules() {
        let reliable = Qos::reliable();
        let best = Qos::best_effort();
        assert!(
            incompatibilities(&reliable, &best).is_empty(),
            "reliable offers best effort"
        );
        assert_eq!(
            incompatibilities(&best, &reliable),
            [QosPolicyKind::Reliability]
        );
        assert_eq!(
            incompatibilities(&reliable, &reliable.transient_local()),
            [QosPolicyKind::Durability]
        );
        let slow = Qos {
            deadline_ns: Some(200),
            ..reliable
        };
        let fast = Qos {
            deadline_ns: Some(100),
            ..reliable
        };
        assert_eq!(incompatibilities(&slow, &fast), [QosPolicyKind::Deadline]);
        assert!(incompatibilities(&fast, &slow).is_empty());
        assert_eq!(
            incompatibilities(&reliable, &fast),
            [QosPolicyKind::Deadline]
        );
    }
}
