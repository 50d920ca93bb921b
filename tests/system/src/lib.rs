//! Shared pieces of the multi-process system tests: the channel every peer opens, and the key
//! seeds the peers sign with.

use mesh_core::identity::NodeKey;
use mesh_core::transport::ChannelSpec;

/// The channel for 1 MiB envelopes: a lossless queue of 4 and up to 4 ports. Every peer of a
/// topic must open it with the same settings: `OMNI_TEST_HISTORY=N` (set for all peers of a
/// test) keeps the last N frames for late joiners.
#[must_use]
pub fn channel(topic: &str) -> ChannelSpec {
    let history = std::env::var("OMNI_TEST_HISTORY")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(0);
    ChannelSpec {
        // A subscriber's queue must hold the whole history.
        queue_depth: history.max(4),
        max_ports: 4,
        history,
        lossless: true,
        ..ChannelSpec::new(topic, (1 << 20) + 1024)
    }
}

/// Key number `n` of the test fleet.
#[must_use]
pub fn key(n: u8) -> NodeKey {
    NodeKey::from_seed(&[n; 32])
}
