//! `mesh-codegen`: check ROS 2 interface files, print their RIHS01 type hashes, and generate
//! Rust code or JSON Schemas from them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mesh_codegen::{Generator, LoadError};

#[derive(Parser)]
#[command(
    name = "mesh-codegen",
    version,
    about = "ROS 2 interface files to Rust, CDR, JSON Schema and Python"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every interface under the roots; print `path:line:col: error: message` per problem.
    Check {
        /// Package roots: a package directory or a directory of packages.
        #[arg(required = true)]
        roots: Vec<PathBuf>,
    },
    /// Print `pkg/kind/Type<TAB>RIHS01_<hex>` for every message, service and action type.
    Hash {
        /// Package roots.
        #[arg(required = true)]
        roots: Vec<PathBuf>,
    },
    /// Write the Rust module tree (`mod.rs` + one file per package) into a directory.
    Rust {
        /// Package roots.
        #[arg(required = true)]
        roots: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Take a package from an existing Rust path instead of generating it: `pkg=::path`.
        #[arg(long = "extern", value_name = "PKG=PATH")]
        externs: Vec<String>,
    },
    /// Write Python message classes (one module per package, dataclasses) into a directory,
    /// for the `omnimesh` Python package (`omnimesh/msg/`) or your own packages.
    Python {
        /// Package roots.
        #[arg(required = true)]
        roots: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write one `pkg/kind/Type.schema.json` per struct type into a directory.
    Schema {
        /// Package roots.
        #[arg(required = true)]
        roots: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

fn generator(roots: &[PathBuf]) -> Generator {
    roots.iter().fold(Generator::new(), Generator::root)
}

/// Prints diagnostics and returns exit code 1 for invalid input.
fn report(err: &LoadError) -> ExitCode {
    let diags = err.diagnostics();
    for d in diags {
        eprintln!("{d}");
    }
    eprintln!("mesh-codegen: {} problem(s) found", diags.len());
    ExitCode::from(1)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { roots } => match generator(&roots).load() {
            Ok(reg) => {
                let files = reg.interfaces.len();
                let types = mesh_codegen::type_hashes(&reg).len();
                eprintln!(
                    "ok: {} packages, {files} files, {types} types",
                    reg.packages.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&e)),
        },
        Command::Hash { roots } => match generator(&roots).load() {
            Ok(reg) => {
                for (name, hash) in mesh_codegen::type_hashes(&reg) {
                    println!("{name}\t{hash}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&e)),
        },
        Command::Rust {
            roots,
            out,
            externs,
        } => {
            let mut generator = generator(&roots);
            for spec in &externs {
                let (pkg, path) = spec
                    .split_once('=')
                    .with_context(|| format!("--extern {spec}: expected PKG=PATH"))?;
                generator = generator.extern_package(pkg, path);
            }
            match generator.generate_rust(&out) {
                Ok(reg) => {
                    eprintln!("wrote {} packages to {}", reg.packages.len(), out.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(mesh_codegen::WriteError::Load(e)) => Ok(report(&e)),
                Err(e) => Err(e.into()),
            }
        }
        Command::Python { roots, out } => match generator(&roots).load() {
            Ok(reg) => {
                mesh_codegen::emit::python::write_tree(&reg, &out)?;
                eprintln!("wrote {} packages to {}", reg.packages.len(), out.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&e)),
        },
        Command::Schema { roots, out } => match generator(&roots).load() {
            Ok(reg) => {
                for name in reg.structs.keys() {
                    let path = out.join(format!("{name}.schema.json"));
                    let schema = mesh_codegen::emit::schema::schema(&reg, name)
                        .context("struct without schema")?;
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                    }
                    std::fs::write(&path, serde_json::to_string_pretty(&schema)?)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                eprintln!("wrote {} schemas to {}", reg.structs.len(), out.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&e)),
        },
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mesh-codegen: {e:#}");
            ExitCode::from(2)
        }
    }
}
