//! The launch file as written: one TOML table per node (`[[node]]`), unknown keys refused.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A launch file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LaunchFile {
    /// Other launch files (paths relative to this one) whose nodes join this launch.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub include: Vec<Spanned<String>>,
    /// The nodes.
    #[serde(default, rename = "node")]
    #[schemars(with = "Vec<NodeSpec>")]
    pub nodes: Vec<Spanned<NodeSpec>>,
}

/// One `[[node]]` table.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeSpec {
    /// Node name; with `count`, `{i}` in it is replaced by the replica index.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The program: a path (relative to the launch file) or a name looked up next to
    /// `omni-mesh`, then on `PATH`.
    #[schemars(with = "String")]
    pub executable: Spanned<String>,
    /// Namespace (absolute).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Command-line arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Parameters, handed to the node as JSON in `OMNI_MESH_PARAMS`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub params: BTreeMap<String, toml::Value>,
    /// Topic remappings (from -> to), handed over in `OMNI_MESH_REMAP`.
    #[serde(default)]
    pub remap: BTreeMap<String, String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Replicas (default 1).
    #[serde(default = "one")]
    #[schemars(with = "u32", range(min = 1))]
    pub count: Spanned<u32>,
    /// Nodes that must be started first.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub after: Vec<Spanned<String>>,
    /// When to restart.
    #[serde(default)]
    pub restart: Restart,
    /// A failure of a required node stops the launch with a non-zero exit (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Log file for the node's output (also shown prefixed on the terminal).
    #[serde(default)]
    pub log: Option<String>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

fn yes() -> bool {
    true
}

/// When a node that exits is started again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never (default).
    #[default]
    Never,
    /// After a non-zero exit or a signal, with back-off.
    OnFailure,
    /// Whenever it exits, with back-off.
    Always,
}

/// `restart = "on-failure"`, or a table with the back-off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Restart {
    /// Just the policy; back-off from 500 ms doubling to 10 s.
    Policy(RestartPolicy),
    /// The policy with its back-off.
    Detailed {
        /// The policy.
        policy: RestartPolicy,
        /// First delay, milliseconds.
        delay_ms: u64,
        /// Most restarts before the node counts as failed (0 = no limit).
        #[serde(default)]
        max_restarts: u32,
    },
    /// Not given: never.
    #[default]
    #[serde(skip)]
    Default,
}

impl Restart {
    /// The policy.
    #[must_use]
    pub fn policy(&self) -> RestartPolicy {
        match self {
            Self::Policy(p) | Self::Detailed { policy: p, .. } => *p,
            Self::Default => RestartPolicy::Never,
        }
    }

    /// The first back-off delay, milliseconds.
    #[must_use]
    pub fn delay_ms(&self) -> u64 {
        match self {
            Self::Detailed { delay_ms, .. } => *delay_ms,
            _ => 500,
        }
    }

    /// Restarts allowed (0 = no limit).
    #[must_use]
    pub fn max_restarts(&self) -> u32 {
        match self {
            Self::Detailed { max_restarts, .. } => *max_restarts,
            _ => 0,
        }
    }
}
