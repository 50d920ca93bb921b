//! Security modes and their configuration.

use serde::{Deserialize, Serialize};

/// How strict a node is about who may send what.
///
/// | mode | signatures | unknown publishers | topic grants |
/// |---|---|---|---|
/// | `development` | verified when present; unsigned envelopes accepted through a logged, counted path | accepted (any valid key) | not checked |
/// | `lightweight` | required | rejected | not checked |
/// | `production` | required | rejected | required (signed by the fleet authority, unexpired, unrevoked) |
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SecurityMode {
    /// For a developer's machine: says so loudly.
    Development,
    /// Signed traffic from known keys.
    Lightweight,
    /// Signed traffic from known keys with authority grants per topic.
    #[default]
    Production,
}

/// The `[security]` section of the node configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Mode (default `production`).
    pub mode: SecurityMode,
    /// Largest envelope payload accepted, bytes (default 16 MiB).
    pub max_payload_bytes: u32,
    /// Signature verifications granted to one link peer per second (default 200000).
    pub verify_budget_per_sec: u32,
    /// Burst of verifications a peer may use at once (default 20000).
    pub verify_burst: u32,
    /// Verified batch roots remembered (default 4096).
    pub root_cache_size: usize,
    /// Accept the host daemon's attestation of a frame from the network instead of checking
    /// its signature again ([`super::attest`]; default on).
    pub host_attestation: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            mode: SecurityMode::Production,
            max_payload_bytes: 16 << 20,
            verify_budget_per_sec: 200_000,
            verify_burst: 20_000,
            root_cache_size: 4096,
            host_attestation: true,
        }
    }
}
