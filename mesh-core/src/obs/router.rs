//! Exports a host router's counters ([`crate::router::RouterStats`]) as
//! `omnimesh_router_frames_total{event}`, read at scrape time.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use crate::router::Router;

/// The collector of one daemon's router; register it with `Registry::register_collector`.
#[derive(Debug)]
pub struct RouterCollector(pub Arc<Mutex<Router>>);

impl Collector for RouterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stats();
        let probe = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "omnimesh_router_frames",
            "Frames the host router handled, per event (forwarded to peers, unwanted, \
             delivered locally, duplicates, rejected, echoes)",
            None,
            probe.metric_type(),
        )?;
        for (event, count) in [
            ("forwarded", s.forwarded),
            ("unwanted", s.unwanted),
            ("delivered", s.delivered),
            ("duplicate", s.duplicates),
            ("rejected", s.rejected),
            ("echo", s.echoes),
        ] {
            ConstCounter::new(count).encode(family.encode_family(&[("event", event)])?)?;
        }
        Ok(())
    }
}
