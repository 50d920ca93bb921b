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
