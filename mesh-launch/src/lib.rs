//! Launch files (`launch/*.launch.toml`): the nodes of a fleet, how many of each, in which
//! order they start, how they restart. This crate reads them ([`load`]), checks them with
//! errors located to the file, line and column ([`LaunchError`]), follows `include`s,
//! expands replicas (`count = 10` makes `robot_{i}` into `robot_0` ... `robot_9`, with `{i}`
//! replaced in arguments, parameters, environment and log paths) and orders the nodes so
//! every node starts after the ones it names in `after` ([`Plan`]). Running the plan is the
//! supervisor's job (`omni-mesh launch`).
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("mesh-launch-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let file = dir.join("demo.launch.toml");
//! std::fs::write(&file, r#"
//! [[node]]
//! name = "monitor"
//! executable = "/bin/true"
//!
//! [[node]]
//! name = "robot_{i}"
//! executable = "/bin/true"
//! count = 3
//! args = ["--id", "{i}"]
//! after = ["monitor"]
//! "#).unwrap();
//! let plan = mesh_launch::load(&file, &[]).unwrap();
//! let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
//! assert_eq!(names, ["monitor", "robot_0", "robot_1", "robot_2"]);
//! assert_eq!(plan.nodes[2].args, ["--id", "1"]);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod model;
mod plan;

pub use model::{Restart, RestartPolicy};
pub use plan::{load, LaunchError, Plan, PlannedNode};

/// The JSON Schema (draft 2020-12) of launch files, pretty-printed (checked in as
/// `launch/launch.schema.json` for editors).
#[must_use]
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(model::LaunchFile);
    schema.insert("title".into(), "OMNI-MESH launch file".into());
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

/// What the supervisor hands a node in its environment (`OMNI_MESH_NODE_NAME`,
/// `OMNI_MESH_NAMESPACE`, `OMNI_MESH_PARAMS`, `OMNI_MESH_REMAP`); a node started by hand has
/// none of them, so every field has a default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeEnv {
    /// Node name (`None`: not launched; the node picks its own).
    pub name: Option<String>,
    /// Namespace (`None`: the root).
    pub namespace: Option<String>,
    /// Parameters (a JSON object; empty when none).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Topic remappings, from -> to.
    pub remap: std::collections::BTreeMap<String, String>,
}

/// The environment does not hold what the supervisor hands over.
#[derive(Debug, thiserror::Error)]
#[error("{variable} is not valid JSON of the expected shape: {source}")]
pub struct NodeEnvError {
    /// The variable.
    pub variable: &'static str,
    /// Why.
    pub source: serde_json::Error,
}

impl NodeEnv {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`NodeEnvError`] when `OMNI_MESH_PARAMS` or `OMNI_MESH_REMAP` is malformed.
    pub fn from_env() -> Result<Self, NodeEnvError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get`.
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, NodeEnvError> {
        let json = |variable: &'static str| -> Result<Option<serde_json::Value>, NodeEnvError> {
            get(variable)
                .filter(|v| !v.is_empty())
                .map(|v| serde_json::from_str(&v))
                .transpose()
                .map_err(|source| NodeEnvError { variable, source })
        };
        let params = match json("OMNI_MESH_PARAMS")? {
            Some(v) => serde_json::from_value(v).map_err(|source| NodeEnvError {
                variable: "OMNI_MESH_PARAMS",
                source,
            })?,
            None => serde_json::Map::new(),
        };
        let remap = match json("OMNI_MESH_REMAP")? {
            Some(v) => serde_json::from_value(v).map_err(|source| NodeEnvError {
                variable: "OMNI_MESH_REMAP",
                source,
            })?,
            None => std::collections::BTreeMap::new(),
        };
        Ok(Self {
            name: get("OMNI_MESH_NODE_NAME").filter(|v| !v.is_empty()),
            namespace: get("OMNI_MESH_NAMESPACE").filter(|v| !v.is_empty()),
            params,
            remap,
        })
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn reads_what_the_supervisor_hands_over() {
        let vars = |name: &str| match name {
            "OMNI_MESH_NODE_NAME" => Some("robot_3".to_owned()),
            "OMNI_MESH_PARAMS" => Some(r#"{"speed": 2.5}"#.to_owned()),
            "OMNI_MESH_REMAP" => Some(r#"{"/cmd": "/robot_3/cmd"}"#.to_owned()),
            _ => None,
        };
        let env = NodeEnv::from_vars(vars).unwrap();
        assert_eq!(env.name.as_deref(), Some("robot_3"));
        assert_eq!(env.params["speed"], 2.5);
        assert_eq!(env.remap["/cmd"], "/robot_3/cmd");
        let bad = NodeEnv::from_vars(|n| (n == "OMNI_MESH_PARAMS").then(|| "[1]".to_owned()));
        assert_eq!(bad.unwrap_err().variable, "OMNI_MESH_PARAMS");
        assert_eq!(NodeEnv::from_vars(|_| None).unwrap(), NodeEnv::default());
    }
}
