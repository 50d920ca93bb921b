//! `mesh-codegen`: ROS 2 interface files (`.msg`, `.srv`, `.action`) to Rust.
//!
//! The pipeline is split by responsibility:
//! - [`parser`]: bytes -> [`model::Interface`], with located [`Diagnostic`]s for bad input;
//! - [`resolve`]: package roots -> [`Registry`] (service/action expansion in [`expand`],
//!   reference resolution, cycle detection);
//! - [`hash`]: RIHS01 type hashes identical to ROS 2's;
//! - [`emit`]: Rust source (rkyv types, CDR codec, bounds checks) and JSON Schemas.
//!
//! From a build script:
//!
//! ```no_run
//! let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("interfaces");
//! mesh_codegen::Generator::new()
//!     .root("msg")
//!     .generate_rust(&out)
//!     .expect("interface files are valid");
//! // then, in the crate: include!(concat!(env!("OUT_DIR"), "/interfaces/mod.rs"));
//! ```
//!
//! Checking files and printing hashes:
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("mesh-codegen-doc-{}", std::process::id()));
//! std::fs::create_dir_all(dir.join("demo_msgs/msg")).unwrap();
//! std::fs::write(dir.join("demo_msgs/msg/Ping.msg"), "uint64 seq\nstring note\n").unwrap();
//! let registry = mesh_codegen::Generator::new().root(&dir).load().unwrap();
//! let hashes = mesh_codegen::type_hashes(&registry);
//! assert_eq!(hashes[0].0, "demo_msgs/msg/Ping");
//! assert!(hashes[0].1.starts_with("RIHS01_"));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod diagnostic;
pub mod emit;
pub mod expand;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod model;
pub mod names;
pub mod parser;
pub mod resolve;

pub use diagnostic::{Diagnostic, Problem};
pub use emit::rust::{RustOptions, WriteError};
pub use resolve::{LoadError, Registry};

use std::path::{Path, PathBuf};

/// Configures a code generation run: package roots and output options.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Generator {
    roots: Vec<PathBuf>,
    options: RustOptions,
}

impl Generator {
    /// A generator with no roots and default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a package root: a package directory or a directory of packages.
    pub fn root(mut self, path: impl AsRef<Path>) -> Self {
        self.roots.push(path.as_ref().to_owned());
        self
    }

    /// Uses types of `package` from an existing Rust module path (e.g.
    /// `::omni_msgs::std_msgs`) instead of generating them.
    pub fn extern_package(mut self, package: &str, rust_path: &str) -> Self {
        self.options
            .externs
            .insert(package.to_owned(), rust_path.to_owned());
        self
    }

    /// Loads and checks every interface under the roots.
    pub fn load(&self) -> Result<Registry, LoadError> {
        resolve::load(&self.roots)
    }

    /// Loads the roots and writes the Rust module tree into `out_dir` (`mod.rs` + one file per
    /// package). Files are only rewritten when their content changes.
    pub fn generate_rust(&self, out_dir: &Path) -> Result<Registry, WriteError> {
        let registry = self.load()?;
        emit::rust::write_tree(&registry, &self.options, out_dir)?;
        Ok(registry)
    }

    /// The package roots, for `cargo:rerun-if-changed` lines.
    #[must_use]
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }
}

/// `(pkg/kind/Name, RIHS01_<hex>)` for every message, service and action, sorted by name.
#[must_use]
pub fn type_hashes(registry: &Registry) -> Vec<(String, String)> {
    registry
        .hashable_names()
        .into_iter()
        .filter_map(|n| {
            hash::type_hash(registry, n).map(|h| (n.to_string(), hash::rihs01_text(&h)))
        })
        .collect()
}
