//! Typed node configuration, loaded from TOML (`omni-mesh.toml`). It grows section by section
//! with the features; unknown keys are errors, every key has a documented default.

use serde::Deserialize;

use crate::security::SecurityConfig;

/// The node configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[security]`: mode, limits, verification budgets.
    pub security: SecurityConfig,
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
        let err = Config::from_toml("[security]\nmax_payload = 3\n").unwrap_err();
        assert!(err.message.contains("unknown field"), "{err}");
    }
}
