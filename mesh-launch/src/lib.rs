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
