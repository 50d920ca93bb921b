//! Typed node configuration, loaded from TOML (`omni-mesh.toml`). It grows section by section
//! with the features; unknown keys are errors, every key has a documented default.

use serde::{Deserialize, Serialize};

use crate::delivery::DeliveryConfig;
use crate::security::SecurityConfig;

/// The node configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[security]`: mode, limits, verification budgets.
    pub security: SecurityConfig,
    /// `[delivery]`: heartbeat and NACK timing, gap buffer bounds.
    pub delivery: DeliveryConfig,
    /// `[network]`: the per-host daemon's addresses, seeds and link transport.
    pub network: NetworkConfig,
    /// `[store]`: how a node's persistent store commits.
    pub store: crate::store::StoreOptions,
}

/// Which transport links between hosts' daemons use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// TCP with the signed identity handshake (lightweight, unencrypted).
    #[default]
    Tcp,
    /// QUIC: TLS 1.3 bound to the node keys, one stream per topic.
    Quic,
}

/// Compression offered on links between hosts ([`crate::net::compress`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// No compression (the default): frames go as they are.
    #[default]
    Off,
    /// LZ4 block compression for frames of at least `min_bytes`.
    Lz4,
}

/// `[network]`: how this host's daemon meets the others.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Discovery (UDP) address.
    pub gossip: std::net::SocketAddr,
    /// Link address (TCP, or UDP for QUIC).
    pub listen: std::net::SocketAddr,
    /// The link address announced to other hosts (absent: the bound address; an unspecified
    /// IP is replaced by the address peers see).
    pub advertise: Option<std::net::SocketAddr>,
    /// Other daemons' discovery addresses to join through.
    pub seeds: Vec<std::net::SocketAddr>,
    /// An IPv4 multicast group (address and port) to find daemons on the local link through.
    pub multicast: Option<std::net::SocketAddrV4>,
    /// Link transport; every daemon of a fleet uses the same.
    pub transport: LinkKind,
    /// How often the daemon scans the host's shared-memory channels, milliseconds.
    pub scan_period_ms: u64,
    /// Compression offered on links; used only when both ends offer it.
    pub compression: Codec,
    /// Frames shorter than this are never compressed.
    pub compress_min_bytes: usize,
    /// Topics carried delay-tolerantly: stored, carried by relays, delivered when a route
    /// appears, instead of forwarded live.
    pub dtn_topics: Vec<String>,
    /// This host carries other hosts' bundles (a relay).
    pub dtn_relay: bool,
    /// Bundle lifetime, seconds from the envelope's timestamp.
    pub dtn_ttl_s: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            gossip: ([0, 0, 0, 0], 7447).into(),
            listen: ([0, 0, 0, 0], 7448).into(),
            advertise: None,
            seeds: Vec::new(),
            multicast: None,
            transport: LinkKind::Tcp,
            scan_period_ms: 250,
            compression: Codec::Off,
            compress_min_bytes: 4096,
            dtn_topics: Vec::new(),
            dtn_relay: false,
            dtn_ttl_s: 3600,
        }
    }
}

/// The configuration text is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration{}: {message}", location.map(|(l, c)| format!(" at line {l}, column {c}")).unwrap_or_default())]
pub struct ConfigError {
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let location = e.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, str::len) + 1;
                (line, col)
            });
            ConfigError {
                location,
                message: e.message().to_owned(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::SecurityMode;

    #[test]
    fn defaults_and_located_errors() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
        let c = Config::from_toml("[security]\nmode = \"development\"\n").unwrap();
        assert_eq!(c.security.mode, SecurityMode::Development);
        let err = Config::from_toml("[security]\nmode = \"open\"\n").unwrap_err();
        assert_eq!(err.location.map(|l| l.0), Some(2), "{err}");
        let c = Config::from_toml("[delivery]\ngap_buffer_messages = 64\n").unwrap();
        assert_eq!(c.delivery.gap_buffer_messages, 64);
        let c = Config::from_toml(
            "[network]\nseeds = [\"10.0.0.1:7447\"]\ntransport = \"quic\"\nadvertise = \"10.0.0.2:7448\"\n",
        )
        .unwrap();
        assert_eq!(c.network.transport, LinkKind::Quic);
        assert_eq!(
            c.network.seeds,
            ["10.0.0.1:7447".parse::<std::net::SocketAddr>().unwrap()]
        );
        assert_eq!(c.network.advertise, Some("10.0.0.2:7448".parse().unwrap()));
        let err = Config::from_toml("[network]\ntransport = \"udp\"\n").unwrap_err();
        assert_eq!(err.location.map(|l| l.0), Some(2), "{err}");
        let err = Config::from_toml("[security]\nmax_payload = 3\n").unwrap_err();
        assert!(err.message.contains("unknown field"), "{err}");
    }
}

#[cfg(test)]
mod default_file {
    use super::Config;

    const FILE: &str = include_str!("../../config/omni-mesh.toml");

    #[test]
    fn checked_in_file_holds_every_default() {
        assert_eq!(Config::from_toml(FILE).unwrap(), Config::default());
    }

    #[test]
    fn checked_in_file_has_every_key() {
        let file: toml::Table = toml::from_str(FILE).unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        for (section, keys) in &defaults {
            let in_file = file.get(section).and_then(toml::Value::as_table);
            for key in keys.as_table().into_iter().flat_map(|t| t.keys()) {
                assert!(
                    in_file.is_some_and(|t| t.contains_key(key)),
                    "[{section}] {key} is missing from config/omni-mesh.toml"
                );
            }
        }
    }

    #[test]
    fn every_key_is_documented_in_the_checked_in_file() {
        // Every key of every section appears with a comment line right above it (or above the
        // group it belongs to).
        let lines: Vec<&str> = FILE.lines().collect();
        let keys: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(" = ") && !l.starts_with('#'))
            .map(|(i, _)| i)
            .collect();
        assert!(keys.len() >= 12);
        for i in keys {
            let documented = lines[..i]
                .iter()
                .rev()
                .take_while(|l| !l.is_empty())
                .any(|l| l.starts_with('#'));
            assert!(documented, "undocumented key: {}", lines[i]);
        }
    }
}
