//! Loading package roots into a [`Registry`]: package discovery, parsing, expansion, reference
//! resolution, and cycle detection.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Problem};
use crate::expand::{expand, ActionParts, ServiceParts};
use crate::model::{BaseType, FieldType, Interface, Kind, Span, StructDef, TypeName};
use crate::names::is_valid_snake;
use crate::parser::parse_interface;

/// Every interface found under a set of package roots, expanded and resolved.
#[derive(Debug, Default)]
pub struct Registry {
    /// Package name -> its directory.
    pub packages: BTreeMap<String, PathBuf>,
    /// Interfaces as parsed, in package and file order.
    pub interfaces: Vec<Interface>,
    /// Every struct (messages and generated service/action parts).
    pub structs: BTreeMap<TypeName, StructDef>,
    /// Services, including the two of each action.
    pub services: BTreeMap<TypeName, ServiceParts>,
    /// Actions.
    pub actions: BTreeMap<TypeName, ActionParts>,
}

/// The package roots could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// One or more files are invalid; every problem is listed.
    #[error("{} problem(s) in interface files:\n{}", .0.len(), render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl LoadError {
    /// Every located problem.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Invalid(d) => d,
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn diag(path: &Path, span: Span, problem: Problem) -> Diagnostic {
    Diagnostic {
        path: path.to_owned(),
        span,
        problem,
    }
}

const KINDS: [(&str, Kind); 3] = [
    ("msg", Kind::Msg),
    ("srv", Kind::Srv),
    ("action", Kind::Action),
];

fn is_package_dir(dir: &Path) -> bool {
    KINDS.iter().any(|(k, _)| dir.join(k).is_dir())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| diag(dir, Span { line: 1, col: 1 }, Problem::Io(e.to_string())))?;
    let mut out: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    out.sort();
    Ok(out)
}

/// Finds packages: a root is either a package itself (it has `msg/`, `srv/` or `action/`) or a
/// directory of packages.
fn discover(roots: &[PathBuf], diags: &mut Vec<Diagnostic>) -> BTreeMap<String, PathBuf> {
    let mut packages: BTreeMap<String, PathBuf> = BTreeMap::new();
    for root in roots {
        let candidates = if is_package_dir(root) {
            vec![root.clone()]
        } else {
            match sorted_entries(root) {
                Ok(entries) => entries.into_iter().filter(|p| is_package_dir(p)).collect(),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            }
        };
        for dir in candidates {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let at = Span { line: 1, col: 1 };
            if !is_valid_snake(&name) {
                diags.push(diag(&dir, at, Problem::InvalidPackageName(name)));
            } else if let Some(other) = packages.get(&name) {
                let other = other.display().to_string();
                diags.push(diag(
                    &dir,
                    at,
                    Problem::DuplicatePackage {
                        package: name,
                        other,
                    },
                ));
            } else {
                packages.insert(name, dir);
            }
        }
    }
    packages
}

/// Loads every interface under `roots`.
pub fn load(roots: &[PathBuf]) -> Result<Registry, LoadError> {
    let mut diags = Vec::new();
    let packages = discover(roots, &mut diags);
    if packages.is_empty() && diags.is_empty() {
        let at = roots.first().cloned().unwrap_or_default();
        diags.push(diag(&at, Span { line: 1, col: 1 }, Problem::NoPackages));
    }
    let mut reg = Registry {
        packages: packages.clone(),
        ..Registry::default()
    };
    for (package, dir) in &packages {
        for (kind_dir, kind) in KINDS {
            let sub = dir.join(kind_dir);
            if !sub.is_dir() {
                continue;
            }
            let files = match sorted_entries(&sub) {
                Ok(f) => f,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            for file in files {
                if file.extension().and_then(|e| e.to_str()) != Some(kind_dir) {
                    continue;
                }
                let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
                let bytes = match std::fs::read(&file) {
                    Ok(b) => b,
                    Err(e) => {
                        diags.push(diag(
                            &file,
                            Span { line: 1, col: 1 },
                            Problem::Io(e.to_string()),
                        ));
                        continue;
                    }
                };
                match parse_interface(&file, package, kind, &stem.unwrap_or_default(), &bytes) {
                    Ok(interface) => reg.interfaces.push(interface),
                    Err(d) => diags.extend(d),
                }
            }
        }
    }
    if !diags.is_empty() {
        return Err(LoadError::Invalid(diags));
    }
    Registry::from_interfaces(packages, reg.interfaces)
}

impl Registry {
    /// Expands and resolves already parsed interfaces; `packages` names the known packages
    /// (for error hints only).
    pub fn from_interfaces(
        packages: BTreeMap<String, PathBuf>,
        interfaces: Vec<Interface>,
    ) -> Result<Self, LoadError> {
        let mut reg = Registry {
            packages,
            ..Registry::default()
        };
        for interface in &interfaces {
            let expanded = expand(interface.clone());
            reg.structs
                .extend(expanded.structs.into_iter().map(|s| (s.name.clone(), s)));
            reg.services.extend(expanded.services);
            reg.actions.extend(expanded.actions);
        }
        reg.interfaces = interfaces;
        let mut diags = Vec::new();
        check_references(&reg, &mut diags);
        if diags.is_empty() {
            check_cycles(&reg, &mut diags);
        }
        if diags.is_empty() {
            Ok(reg)
        } else {
            Err(LoadError::Invalid(diags))
        }
    }
}

fn check_references(reg: &Registry, diags: &mut Vec<Diagnostic>) {
    for s in reg.structs.values() {
        for f in &s.fields {
            let BaseType::Named(target) = &f.ty.base else {
                continue;
            };
            if reg.structs.contains_key(target) {
                continue;
            }
            let hint = if !reg.packages.contains_key(&target.package) {
                match target.package.as_str() {
                    "service_msgs" => " (services need the service_msgs package; add its root)",
                    "unique_identifier_msgs" | "builtin_interfaces" => {
                        " (actions need this package; add its root)"
                    }
                    _ => " (no such package under the given roots)",
                }
            } else {
                " (no such message in that package)"
            };
            diags.push(diag(
                &s.source,
                f.span,
                Problem::UnknownType(target.to_string(), hint),
            ));
        }
    }
}

/// Message types that (transitively) contain themselves cannot be encoded.
fn check_cycles(reg: &Registry, diags: &mut Vec<Diagnostic>) {
    let mut done: BTreeSet<&TypeName> = BTreeSet::new();
    for start in reg.structs.keys() {
        let mut stack: Vec<&TypeName> = Vec::new();
        visit(reg, start, &mut stack, &mut done, diags);
    }
}

fn visit<'a>(
    reg: &'a Registry,
    name: &'a TypeName,
    stack: &mut Vec<&'a TypeName>,
    done: &mut BTreeSet<&'a TypeName>,
    diags: &mut Vec<Diagnostic>,
) {
    if done.contains(name) {
        return;
    }
    if let Some(pos) = stack.iter().position(|n| *n == name) {
        let mut chain: Vec<String> = stack[pos..].iter().map(ToString::to_string).collect();
        chain.push(name.to_string());
        let closing = reg.structs.get(stack[stack.len() - 1]);
        let (path, span) = closing
            .and_then(|s| {
                s.fields
                    .iter()
                    .find(|f| f.ty.base == BaseType::Named(name.clone()))
                    .map(|f| (s.source.clone(), f.span))
            })
            .unwrap_or_default();
        diags.push(diag(&path, span, Problem::TypeCycle(chain.join(" -> "))));
        return;
    }
    stack.push(name);
    if let Some(s) = reg.structs.get(name) {
        for f in &s.fields {
            if let BaseType::Named(target) = &f.ty.base {
                visit(reg, target, stack, done, diags);
            }
        }
    }
    stack.pop();
    done.insert(name);
}

impl Registry {
    /// The fields that describe `name` for hashing: a struct's own fields, or the
    /// pseudo-struct of a service or action (GRAMMAR-FACTS J.52).
    #[must_use]
    pub fn description(&self, name: &TypeName) -> Option<Vec<(String, FieldType)>> {
        let nested = |n: &TypeName| FieldType {
            base: BaseType::Named(n.clone()),
            array: crate::model::ArrayKind::Single,
        };
        if let Some(s) = self.structs.get(name) {
            return Some(
                s.fields
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect(),
            );
        }
        if let Some(p) = self.services.get(name) {
            return Some(vec![
                ("request_message".into(), nested(&p.request)),
                ("response_message".into(), nested(&p.response)),
                ("event_message".into(), nested(&p.event)),
            ]);
        }
        self.actions.get(name).map(|p| {
            vec![
                ("goal".into(), nested(&p.goal)),
                ("result".into(), nested(&p.result)),
                ("feedback".into(), nested(&p.feedback)),
                ("send_goal_service".into(), nested(&p.send_goal)),
                ("get_result_service".into(), nested(&p.get_result)),
                ("feedback_message".into(), nested(&p.feedback_message)),
            ]
        })
    }

    /// Every name that has a type hash: structs, services and actions, sorted.
    #[must_use]
    pub fn hashable_names(&self) -> Vec<&TypeName> {
        let mut names: Vec<&TypeName> = self
            .structs
            .keys()
            .chain(self.services.keys())
            .chain(self.actions.keys())
            .collect();
        names.sort();
        names
    }
}
