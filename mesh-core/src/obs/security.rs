//! Exports a node's security rejection counters ([`RejectCounters`]) as the Prometheus
//! counter family `omnimesh_security_rejected_total{reason}`, read at scrape time.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use crate::security::RejectCounters;

/// The collector; register it with `Registry::register_collector`.
#[derive(Debug)]
pub struct RejectCollector(pub Arc<RejectCounters>);

impl Collector for RejectCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let rejected = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "omnimesh_security_rejected",
            "Envelopes refused by the security layer, per reason",
            None,
            rejected.metric_type(),
        )?;
        for (reason, count) in self.0.snapshot() {
            let labels = [("reason", reason)];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        let attested = ConstCounter::new(self.0.host_attested());
        attested.encode(encoder.encode_descriptor(
            "omnimesh_host_attested",
            "Envelopes accepted on the host daemon's attestation",
            None,
            attested.metric_type(),
        )?)?;
        Ok(())
    }
}
