//! Shared pieces of the multi-process system tests: the channel every peer opens, and the key
//! seeds the peers sign with.

use mesh_core::identity::NodeKey;
use mesh_core::transport::ChannelSpec;

/// The channel for 1 MiB envelopes: a lossless queue of 4 and up to 4 ports.
#[must_use]
pub fn channel(topic: &str) -> ChannelSpec {
    ChannelSpec {
        queue_depth: 4,
        max_ports: 4,
        lossless: true,
        ..ChannelSpec::new(topic, (1 << 20) + 1024)
    }
}

/// Key number `n` of the test fleet.
#[must_use]
pub fn key(n: u8) -> NodeKey {
    NodeKey::from_seed(&[n; 32])
}
