//! What a per-host router needs from shared memory besides ordinary ports: the list of this
//! host's channels with their settings and how many publishers and subscribers other
//! processes have on each (the router's own ports excluded), so it can announce what the
//! host offers and wants and open its ports with the settings the channel already has.

use iceoryx2::prelude::*;
use iceoryx2::service::static_config::messaging_pattern::MessagingPattern as Pattern;

use super::shm::{Flavour, ShmError, ShmTransport};
use super::ChannelSpec;

/// Identifies one shared-memory transport's iceoryx2 node (to leave its ports out of scans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmNodeId(iceoryx2::identifiers::UniqueNodeId);

/// A channel found on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalChannel {
    /// Its settings as the channel was created (largest frame: the largest any publisher
    /// declared, at least 64 KiB).
    pub spec: ChannelSpec,
    /// Publishers of other processes' nodes (this transport's own excluded).
    pub publishers: usize,
    /// Subscribers of other processes' nodes (this transport's own excluded).
    pub subscribers: usize,
}

impl<S: Flavour> ShmTransport<S> {
    /// This transport's node, for [`scan_excluding`](Self::scan_excluding).
    #[must_use]
    pub fn node_id(&self) -> ShmNodeId {
        ShmNodeId(*self.node.id())
    }

    /// Every OMNI-MESH channel on this host (of this transport's prefix), leaving out this
    /// transport's own ports.
    ///
    /// # Errors
    /// [`ShmError::Scan`] when the services cannot be listed.
    pub fn scan(&self) -> Result<Vec<LocalChannel>, ShmError> {
        self.scan_excluding(&[])
    }

    /// As [`scan`](Self::scan), also leaving out the ports of the transports `others` (a
    /// router that scans from one thread and holds its ports on another).
    ///
    /// # Errors
    /// [`ShmError::Scan`] when the services cannot be listed.
    pub fn scan_excluding(&self, others: &[ShmNodeId]) -> Result<Vec<LocalChannel>, ShmError> {
        let topics = self.data_services()?;
        let me = *self.node.id();
        let mine = |id: &iceoryx2::identifiers::UniqueNodeId| {
            *id == me || others.iter().any(|o| o.0 == *id)
        };
        let mut channels = Vec::new();
        for (service, topic) in topics {
            let Some(factory) = self.open_existing(&service) else {
                continue;
            };
            let config = factory.static_config();
            let dynamic = factory.dynamic_config();
            let (mut publishers, mut subscribers, mut max_frame) = (0, 0, 64 << 10);
            dynamic.list_publishers(|p| {
                if !mine(&p.node_id) {
                    publishers += 1;
                    max_frame = max_frame.max(p.max_slice_len);
                }
                CallbackProgression::Continue
            });
            dynamic.list_subscribers(|s| {
                if !mine(&s.node_id) {
                    subscribers += 1;
                }
                CallbackProgression::Continue
            });
            channels.push(LocalChannel {
                spec: ChannelSpec {
                    topic,
                    max_frame_bytes: max_frame,
                    queue_depth: config.subscriber_max_buffer_size(),
                    history: config.history_size(),
                    max_ports: config.max_publishers().min(config.max_subscribers()),
                    lossless: !config.has_safe_overflow(),
                    ..ChannelSpec::new("", 0)
                },
                publishers,
                subscribers,
            });
        }
        channels.sort_by(|a, b| a.spec.topic.cmp(&b.spec.topic));
        Ok(channels)
    }

    /// `(iceoryx2 service name, topic)` of every OMNI-MESH data channel of this prefix.
    pub(super) fn data_services(&self) -> Result<Vec<(String, String)>, ShmError> {
        let mut topics = Vec::new();
        S::list(self.node.config(), |details| {
            let name = details.static_details.name().to_string();
            let is_pubsub = matches!(
                details.static_details.messaging_pattern(),
                Pattern::PublishSubscribe(_)
            );
            if let (true, Some(topic)) = (
                is_pubsub,
                name.strip_prefix("omni-mesh")
                    .and_then(|n| n.strip_suffix("/data")),
            ) {
                topics.push((name.clone(), topic.to_owned()));
            }
            CallbackProgression::Continue
        })
        .map_err(|e| ShmError::Scan(format!("{e:?}")))?;
        Ok(topics)
    }

    /// Opens an existing channel with whatever settings it has (`None` when it vanished
    /// since it was listed).
    pub(super) fn open_existing(
        &self,
        service: &str,
    ) -> Option<iceoryx2::service::port_factory::publish_subscribe::PortFactory<S, [u8], ()>> {
        let name = ServiceName::new(service).ok()?;
        self.node
            .service_builder(&name)
            .publish_subscribe::<[u8]>()
            .open()
            .ok()
    }
}
