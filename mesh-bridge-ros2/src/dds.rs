//! The DDS side: one RustDDS participant in the configured domain, and a raw-CDR writer or
//! reader per bridged topic, named and typed as ROS 2's middlewares name them, with the
//! mapping's QoS.

use rustdds::no_key::{DataWriter, SimpleDataReader};
use rustdds::policy::{Durability, History, Reliability};
use rustdds::{DomainParticipant, QosPolicies, QosPolicyBuilder, RTPSEntity, TopicKind};

use crate::config::{self, TopicMap};
use crate::graph;
use crate::guard::ParticipantId;
use crate::names::{self, Kind};
use crate::raw_cdr::{RawCdr, RawCdrAdapter};

/// A raw-CDR DDS writer.
pub type RawWriter = DataWriter<RawCdr, RawCdrAdapter>;
/// A raw-CDR DDS reader.
pub type RawReader = SimpleDataReader<RawCdr, RawCdrAdapter>;

/// The DDS side could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DdsError {
    /// The participant could not be created (no usable network interface, ports taken).
    #[error("cannot join DDS domain {domain}: {cause}")]
    Participant {
        /// The domain.
        domain: u16,
        /// RustDDS's reason.
        cause: String,
    },
    /// A topic, writer or reader could not be created.
    #[error("cannot open DDS topic {topic}: {cause}")]
    Endpoint {
        /// The DDS topic name.
        topic: String,
        /// RustDDS's reason.
        cause: String,
    },
}

/// ROS 2's QoS for a mapping: reliability, durability, keep-last depth.
#[must_use]
pub fn qos_of(topic: &TopicMap) -> QosPolicies {
    let depth = i32::try_from(*topic.depth.get_ref()).unwrap_or(i32::MAX);
    let builder = QosPolicyBuilder::new()
        .history(History::KeepLast { depth })
        .durability(match topic.durability {
            config::Durability::Volatile => Durability::Volatile,
            config::Durability::TransientLocal => Durability::TransientLocal,
        });
    match topic.reliability {
        config::Reliability::Reliable => builder.reliability(Reliability::Reliable {
            max_blocking_time: rustdds::Duration::from_millis(100),
        }),
        config::Reliability::BestEffort => builder.reliability(Reliability::BestEffort),
    }
    .build()
}

/// The bridge's DDS participant.
pub struct DdsSide {
    participant: DomainParticipant,
    publisher: rustdds::Publisher,
    subscriber: rustdds::Subscriber,
    /// The `ros_discovery_info` writer, once the graph is published.
    graph: Option<RawWriter>,
}

impl std::fmt::Debug for DdsSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DdsSide")
            .field("domain", &self.participant.domain_id())
            .finish_non_exhaustive()
    }
}

impl DdsSide {
    /// Joins `domain`.
    ///
    /// # Errors
    /// [`DdsError::Participant`].
    pub fn join(domain: u16) -> Result<Self, DdsError> {
        let fail = |cause: String| DdsError::Participant { domain, cause };
        let participant = DomainParticipant::new(domain).map_err(|e| fail(e.to_string()))?;
        let qos = QosPolicyBuilder::new().build();
        let publisher = participant
            .create_publisher(&qos)
            .map_err(|e| fail(e.to_string()))?;
        let subscriber = participant
            .create_subscriber(&qos)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            participant,
            publisher,
            subscriber,
            graph: None,
        })
    }

    /// Publishes this participant's entry of the ROS 2 graph (`ros_discovery_info`,
    /// transient local so that tools starting later see it too).
    ///
    /// # Errors
    /// [`DdsError::Endpoint`].
    pub fn publish_graph(
        &mut self,
        nodes: &[graph::NodeEntities],
        gid_bytes: usize,
    ) -> Result<(), DdsError> {
        let fail = |cause: String| DdsError::Endpoint {
            topic: graph::TOPIC.into(),
            cause,
        };
        let qos = QosPolicyBuilder::new()
            .history(History::KeepLast { depth: 1 })
            .durability(Durability::TransientLocal)
            .reliability(Reliability::Reliable {
                max_blocking_time: rustdds::Duration::from_millis(100),
            })
            .build();
        let info = graph::participant_info(&self.participant.guid().to_bytes(), nodes, gid_bytes)
            .map_err(|e| fail(e.to_string()))?;
        if self.graph.is_none() {
            let topic = self
                .participant
                .create_topic(
                    graph::TOPIC.into(),
                    graph::TYPE.into(),
                    &qos,
                    TopicKind::NoKey,
                )
                .map_err(|e| fail(e.to_string()))?;
            let writer = self
                .publisher
                .create_datawriter_no_key::<RawCdr, RawCdrAdapter>(&topic, Some(qos))
                .map_err(|e| fail(e.to_string()))?;
            self.graph = Some(writer);
        }
        if let Some(writer) = &self.graph {
            writer.write(info, None).map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    }

    /// This participant's GUID prefix (what its writers' GUIDs start with).
    #[must_use]
    pub fn participant_id(&self) -> ParticipantId {
        prefix_of(&self.participant.guid())
    }

    fn topic(
        &self,
        name: &str,
        type_name: &str,
        qos: &QosPolicies,
    ) -> Result<rustdds::Topic, DdsError> {
        let dds_type = names::dds_type(type_name).unwrap_or_default();
        self.participant
            .create_topic(name.to_owned(), dds_type, qos, TopicKind::NoKey)
            .map_err(|e| DdsError::Endpoint {
                topic: name.to_owned(),
                cause: e.to_string(),
            })
    }

    /// A writer on DDS topic `name` (already mangled) of interface type `type_name`.
    ///
    /// # Errors
    /// [`DdsError::Endpoint`].
    pub fn writer_on(
        &self,
        name: &str,
        type_name: &str,
        qos: QosPolicies,
    ) -> Result<RawWriter, DdsError> {
        let topic = self.topic(name, type_name, &qos)?;
        self.publisher
            .create_datawriter_no_key::<RawCdr, RawCdrAdapter>(&topic, Some(qos))
            .map_err(|e| DdsError::Endpoint {
                topic: name.to_owned(),
                cause: e.to_string(),
            })
    }

    /// A reader on DDS topic `name` (already mangled) of interface type `type_name`.
    ///
    /// # Errors
    /// [`DdsError::Endpoint`].
    pub fn reader_on(
        &self,
        name: &str,
        type_name: &str,
        qos: QosPolicies,
    ) -> Result<RawReader, DdsError> {
        let topic = self.topic(name, type_name, &qos)?;
        self.subscriber
            .create_simple_datareader_no_key::<RawCdr, RawCdrAdapter>(&topic, Some(qos))
            .map_err(|e| DdsError::Endpoint {
                topic: name.to_owned(),
                cause: e.to_string(),
            })
    }

    /// A writer for a mapping that goes to ROS 2.
    ///
    /// # Errors
    /// [`DdsError::Endpoint`].
    pub fn writer(&self, map: &TopicMap) -> Result<RawWriter, DdsError> {
        let name = names::dds_topic(map.ros_name(), Kind::Topic);
        self.writer_on(&name, map.type_name.get_ref(), qos_of(map))
    }

    /// A reader for a mapping that comes from ROS 2.
    ///
    /// # Errors
    /// [`DdsError::Endpoint`].
    pub fn reader(&self, map: &TopicMap) -> Result<RawReader, DdsError> {
        let name = names::dds_topic(map.ros_name(), Kind::Topic);
        self.reader_on(&name, map.type_name.get_ref(), qos_of(map))
    }
}

/// ROS 2's default QoS for services: reliable, volatile, keep last 10.
#[must_use]
pub fn service_qos() -> QosPolicies {
    QosPolicyBuilder::new()
        .history(History::KeepLast { depth: 10 })
        .durability(Durability::Volatile)
        .reliability(Reliability::Reliable {
            max_blocking_time: rustdds::Duration::from_millis(100),
        })
        .build()
}

/// The next sample waiting in `reader`, if any (call `drain_read_notifications` first in
/// each round). A sample RustDDS cannot read is logged under `name`, counted as malformed,
/// and ends the round.
pub(crate) fn next_sample(
    reader: &RawReader,
    name: &str,
    tally: &crate::metrics::Tally,
) -> Option<rustdds::no_key::DeserializedCacheChange<RawCdr>> {
    reader.try_take_one().unwrap_or_else(|e| {
        tracing::warn!(mapping = %name, error = %e, "DDS sample not readable");
        tally.malformed();
        None
    })
}

/// The participant part of a GUID.
#[must_use]
pub fn prefix_of(guid: &rustdds::GUID) -> ParticipantId {
    let bytes = guid.to_bytes();
    let mut prefix = [0; 12];
    prefix.copy_from_slice(&bytes[..12]);
    prefix
}
