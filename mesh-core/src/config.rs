//! Typed node configuration, loaded from TOML (`omni-mesh.toml`): sections, the `mode`
//! presets, environment overrides (`OMNI_MESH_<SECTION>_<KEY>`) and the JSON Schema. Unknown
//! keys are errors, every key has a documented default.
//!
//! ```
//! use mesh_core::config::{Config, LinkKind, Mode};
//! use mesh_core::security::SecurityMode;
//!
//! // A preset chooses defaults; keys written in the file win over it.
//! let text = "mode = \"development\"\n[network]\ntransport = \"quic\"\n";
//! let config = Config::from_toml(text).unwrap();
//! assert_eq!(config.mode, Some(Mode::Development));
//! assert_eq!(config.security.mode, SecurityMode::Development);
//! assert_eq!(config.network.transport, LinkKind::Quic);
//!
//! // The environment wins over both.
//! let env = [("OMNI_MESH_SECURITY_MODE".to_owned(), "lightweight".to_owned())];
//! let config = Config::load(text, env).unwrap();
//! assert_eq!(config.security.mode, SecurityMode::Lightweight);
//! ```

use serde::{Deserialize, Serialize};

use crate::delivery::DeliveryConfig;
use crate::security::SecurityConfig;

/// The node configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A preset (`development`, `lightweight`, `production`) that chooses defaults for the
    /// keys the file does not set; absent: the plain defaults.
    pub mode: Option<Mode>,
    /// `[security]`: mode, limits, verification budgets.
    pub security: SecurityConfig,
    /// `[delivery]`: heartbeat and NACK timing, gap buffer bounds.
    pub delivery: DeliveryConfig,
    /// `[network]`: the per-host daemon's addresses, seeds and link transport.
    pub network: NetworkConfig,
    /// `[store]`: how a node's persistent store commits.
    pub store: crate::store::StoreOptions,
    /// `[obs]`: metrics and health endpoint, log format.
    pub obs: ObsConfig,
    /// `[rt]`: WCET budgets, CPU pinning, `SCHED_FIFO`.
    pub rt: crate::rt::RtConfig,
}

/// The `mode` presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A developer's machine: development security (unsigned and unknown publishers
    /// accepted, loudly), TCP links, text logs.
    Development,
    /// A trusted lab or a small fleet: signatures from known keys, TCP links with LZ4.
    Lightweight,
    /// A deployed fleet: authority grants per topic, QUIC links (TLS 1.3), JSON logs, the
    /// metrics endpoint on `127.0.0.1:9464`.
    Production,
}

impl Mode {
    /// The keys this preset sets, as a TOML table of sections.
    #[must_use]
    pub fn preset(self) -> toml::Table {
        let text = match self {
            Self::Development => {
                "[security]\nmode = \"development\"\n[network]\ntransport = \"tcp\"\n\
                 [obs]\nlog_format = \"text\"\n"
            }
            Self::Lightweight => {
                "[security]\nmode = \"lightweight\"\n[network]\ntransport = \"tcp\"\n\
                 compression = \"lz4\"\n[obs]\nlog_format = \"text\"\n"
            }
            Self::Production => {
                "[security]\nmode = \"production\"\n[network]\ntransport = \"quic\"\n\
                 [obs]\nlog_format = \"json\"\nmetrics = \"127.0.0.1:9464\"\n"
            }
        };
        text.parse().unwrap_or_default()
    }
}

/// Log output format.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

/// `[obs]`: how a node or daemon reports on itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ObsConfig {
    /// Address of the `/metrics`, `/healthz` and `/readyz` endpoint (absent: none; port 0:
    /// any free port, logged at start).
    pub metrics: Option<std::net::SocketAddr>,
    /// Log format.
    pub log_format: LogFormat,
}

/// Which transport links between hosts' daemons use.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// TCP with the signed identity handshake (lightweight, unencrypted).
    #[default]
    Tcp,
    /// QUIC: TLS 1.3 bound to the node keys, one stream per topic.
    Quic,
}

/// Compression offered on links between hosts ([`crate::net::compress`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// No compression (the default): frames go as they are.
    #[default]
    Off,
    /// LZ4 block compression for frames of at least `min_bytes`.
    Lz4,
}

/// `[network]`: how this host's daemon meets the others.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
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

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file (or the environment) holds a mistake.
    #[error("{}{}: {}", path.as_ref().map_or("configuration".to_owned(), |p| p.display().to_string()), error.location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(), error.message)]
    Invalid {
        /// The file (absent: the mistake is in the environment).
        path: Option<std::path::PathBuf>,
        /// The mistake.
        error: ConfigError,
    },
}

/// Sections an environment variable can address.
const SECTIONS: [&str; 6] = ["security", "delivery", "network", "store", "obs", "rt"];
/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "OMNI_MESH_";

impl Config {
    /// Parses TOML text, applying the `mode` preset to the keys it does not set.
    ///
    /// # Errors
    /// [`ConfigError`] with the line and column of the mistake.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::load(text, std::iter::empty())
    }

    /// As [`from_toml`](Self::from_toml), then applies environment overrides from `env`:
    /// `OMNI_MESH_MODE` and `OMNI_MESH_<SECTION>_<KEY>` (e.g. `OMNI_MESH_SECURITY_MODE=
    /// lightweight`, `OMNI_MESH_NETWORK_SEEDS='["10.0.0.1:7447"]'`); a value is read as TOML
    /// when it parses as a TOML value, else as a string. Variables that name no section
    /// (such as `OMNI_MESH_NODE_NAME`) are not configuration and are ignored.
    ///
    /// # Errors
    /// [`ConfigError`]: for the file with its line and column, for a variable with its name.
    pub fn load(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let parsed = Self::parse_located(text)?;
        let mut table: toml::Table = text.parse().map_err(|_| ConfigError {
            location: None,
            message: "not a TOML table".into(),
        })?;
        let mut overridden = false;
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            let value = env_value(&value);
            if rest == "mode" {
                table.insert("mode".into(), value);
                overridden = true;
                continue;
            }
            let Some(section) = SECTIONS
                .iter()
                .find(|s| rest.strip_prefix(*s).is_some_and(|k| k.starts_with('_')))
            else {
                continue;
            };
            let key = &rest[section.len() + 1..];
            let entry = table
                .entry((*section).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                t.insert(key.to_owned(), value);
            }
            overridden = true;
        }
        if !overridden && parsed.mode.is_none() {
            return Ok(parsed);
        }
        let mode: Option<Mode> = match table.get("mode") {
            Some(v) => Some(
                v.clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| ConfigError {
                        location: None,
                        message: format!("{ENV_PREFIX}MODE: {}", e.message()),
                    })?,
            ),
            None => None,
        };
        if let Some(mode) = mode {
            for (section, keys) in mode.preset() {
                let entry = table
                    .entry(section)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let (toml::Value::Table(t), toml::Value::Table(keys)) = (entry, keys) {
                    for (k, v) in keys {
                        t.entry(k).or_insert(v);
                    }
                }
            }
        }
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError {
                location: None,
                message: format!(
                    "after the mode preset and {ENV_PREFIX}* environment overrides: {}",
                    e.message()
                ),
            })
    }

    /// Loads `text` with the process environment's overrides.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn from_toml_and_env(text: &str) -> Result<Self, ConfigError> {
        Self::load(text, std::env::vars())
    }

    /// What a process runs with: the file at `path` (absent: none), its preset and the
    /// process environment's overrides. When neither the file nor the environment chooses a
    /// security mode (`mode`, `[security] mode`, `OMNI_MESH_MODE`, `OMNI_MESH_SECURITY_MODE`),
    /// `security_default` applies (tools and Python nodes use development; the library
    /// default is production).
    ///
    /// # Errors
    /// [`ConfigFileError`]: an unreadable file, or a mistake located as `FILE:LINE:COLUMN`.
    pub fn from_file_and_env(
        path: Option<&std::path::Path>,
        security_default: crate::security::SecurityMode,
    ) -> Result<Self, ConfigFileError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigFileError::Read {
                path: p.to_owned(),
                source,
            })?,
            None => String::new(),
        };
        let mut config =
            Self::from_toml_and_env(&text).map_err(|error| ConfigFileError::Invalid {
                path: path.map(std::path::Path::to_path_buf),
                error,
            })?;
        let table: toml::Table = text.parse().unwrap_or_default();
        let in_file = table.contains_key("mode")
            || table
                .get("security")
                .and_then(toml::Value::as_table)
                .is_some_and(|t| t.contains_key("mode"));
        let in_env = ["MODE", "SECURITY_MODE"]
            .iter()
            .any(|k| std::env::var_os(format!("{ENV_PREFIX}{k}")).is_some());
        if !in_file && !in_env {
            config.security.mode = security_default;
        }
        Ok(config)
    }

    /// The JSON Schema (draft 2020-12) of the configuration file, pretty-printed.
    #[must_use]
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Config);
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }

    fn parse_located(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError {
            location: e.span().map(|span| line_col(text, span.start)),
            message: e.message().to_owned(),
        })
    }
}

/// 1-based line and column of byte `offset` in `text` (for located TOML errors).
#[must_use]
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, str::len) + 1;
    (line, col)
}

/// An environment value: TOML when it parses as a TOML value, else the text itself.
fn env_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
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

    #[test]
    fn presets_and_environment_overrides() {
        let c = Config::from_toml("mode = \"production\"\n").unwrap();
        assert_eq!(c.network.transport, LinkKind::Quic);
        assert_eq!(c.obs.log_format, LogFormat::Json);
        assert_eq!(c.obs.metrics, Some("127.0.0.1:9464".parse().unwrap()));
        let c = Config::from_toml("mode = \"lightweight\"\n[network]\ncompression = \"off\"\n")
            .unwrap();
        assert_eq!(c.security.mode, SecurityMode::Lightweight);
        assert_eq!(
            c.network.compression,
            Codec::Off,
            "the file wins over the preset"
        );
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let c = Config::load(
            "",
            env(&[
                ("OMNI_MESH_MODE", "development"),
                ("OMNI_MESH_NETWORK_SEEDS", "[\"10.0.0.1:7447\"]"),
                ("OMNI_MESH_RT_DEFAULT_BUDGET_US", "250"),
                ("OMNI_MESH_NODE_NAME", "not configuration"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.security.mode, SecurityMode::Development);
        assert_eq!(c.network.seeds.len(), 1);
        assert_eq!(c.rt.default_budget_us, 250);
        let err = Config::load("", env(&[("OMNI_MESH_SECURITY_MOOD", "x")])).unwrap_err();
        assert!(err.message.contains("mood"), "{err}");
        let err = Config::load("", env(&[("OMNI_MESH_MODE", "fast")])).unwrap_err();
        assert!(err.message.contains("OMNI_MESH_MODE"), "{err}");
    }

    #[test]
    fn a_file_that_chooses_no_security_mode_gets_the_callers_default() {
        use crate::security::SecurityMode;
        let dir = std::env::temp_dir().join(format!("omni-config-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (plain, chosen, bad) = (
            dir.join("plain.toml"),
            dir.join("chosen.toml"),
            dir.join("bad.toml"),
        );
        std::fs::write(&plain, "[network]\ntransport = \"quic\"\n").unwrap();
        std::fs::write(&chosen, "[security]\nmode = \"lightweight\"\n").unwrap();
        std::fs::write(&bad, "[network]\n\ntransport = \"udp\"\n").unwrap();
        let dev = SecurityMode::Development;
        let c = Config::from_file_and_env(Some(&plain), dev).unwrap();
        assert_eq!(
            (c.security.mode, c.network.transport),
            (dev, LinkKind::Quic)
        );
        let c = Config::from_file_and_env(Some(&chosen), dev).unwrap();
        assert_eq!(c.security.mode, SecurityMode::Lightweight);
        assert_eq!(
            Config::from_file_and_env(None, dev).unwrap().security.mode,
            dev
        );
        let err = Config::from_file_and_env(Some(&bad), dev)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("{}:3:", bad.display())), "{err}");
        let missing = Config::from_file_and_env(Some(&dir.join("none.toml")), dev).unwrap_err();
        assert!(matches!(missing, ConfigFileError::Read { .. }), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn schema_describes_every_section() {
        let schema: serde_json::Value = serde_json::from_str(&Config::json_schema()).unwrap();
        let props = schema["properties"].as_object().unwrap();
        for section in SECTIONS.iter().chain(&["mode"]) {
            assert!(
                props.contains_key(*section),
                "{section} missing from the schema"
            );
        }
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
