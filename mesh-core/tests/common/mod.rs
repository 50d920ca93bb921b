//! Helpers shared by the mesh-core integration tests.

#![allow(dead_code)]

use mesh_core::envelope::{Envelope, EnvelopeFields, TopicId, Unsigned};

/// The type hash every test envelope carries.
pub const TYPE_HASH: [u8; 32] = [0x5a; 32];

/// Envelope fields on `topic` with a given sequence.
pub fn fields(topic: &str, sequence: u64) -> EnvelopeFields {
    EnvelopeFields {
        topic: TopicId::of(topic),
        type_hash: TYPE_HASH,
        epoch: 3,
        sequence,
        timestamp_ns: 1_764_000_000_000_000_000 + sequence,
    }
}

/// An unsigned envelope with a deterministic payload.
pub fn unsigned(topic: &str, sequence: u64, payload_len: usize) -> Envelope<Unsigned> {
    let payload: Vec<u8> = (0..payload_len)
        .map(|i| (i as u64 * 31 + sequence) as u8)
        .collect();
    Envelope::new(fields(topic, sequence), &payload).unwrap()
}

/// Decodes fixed-size hex.
pub fn hex<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// Removes this test's shared-memory files (iceoryx2 keeps one management file per prefix).
pub fn remove_shm_prefix(prefix: &str) {
    for e in std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A lightweight-mode policy (signatures checked, no grants) trusting `trusted`.
pub fn lightweight_policy(
    trusted: &[&mesh_core::identity::NodeKey],
) -> std::sync::Arc<mesh_core::security::SecurityPolicy> {
    use mesh_core::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};
    let mut trust = TrustStore::new();
    for k in trusted {
        trust.add_publisher(k.public());
    }
    let config = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    std::sync::Arc::new(SecurityPolicy::new(config, trust))
}

/// An ephemeral port on the IPv4 loopback.
pub fn loopback() -> std::net::SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// A daemon on loopback for host `prefix` (its own shared-memory prefix), with fast
/// discovery and scans, linking over `transport`.
#[cfg(all(feature = "shm", feature = "quic"))]
pub fn daemon_config(
    prefix: &str,
    seeds: Vec<std::net::SocketAddr>,
    transport: mesh_core::daemon::LinkTransport,
) -> mesh_core::daemon::DaemonConfig {
    use std::time::Duration;
    mesh_core::daemon::DaemonConfig {
        transport,
        shm_prefix: Some(prefix.to_owned()),
        gossip: ([127, 0, 0, 1], 0).into(),
        listen: ([127, 0, 0, 1], 0).into(),
        seeds,
        scan_period: Duration::from_millis(50),
        discovery: mesh_core::discovery::DiscoveryConfig {
            period_ns: 50_000_000,
            ping_timeout_ns: 20_000_000,
            ..mesh_core::discovery::DiscoveryConfig::default()
        },
        ..mesh_core::daemon::DaemonConfig::default()
    }
}
