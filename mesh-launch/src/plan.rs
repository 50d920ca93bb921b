//! From launch files to a plan: includes followed, replicas expanded, executables found,
//! nodes ordered by `after`; every error located to its file, line and column.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::model::{LaunchFile, NodeSpec, Restart};

/// A launch file is wrong: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct LaunchError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A node to run, with everything resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNode {
    /// Its name (replicas numbered).
    pub name: String,
    /// The program found.
    pub executable: PathBuf,
    /// Namespace (`/` by default).
    pub namespace: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Parameters as a JSON object (for `OMNI_MESH_PARAMS`).
    pub params: serde_json::Value,
    /// Remappings (for `OMNI_MESH_REMAP`).
    pub remap: BTreeMap<String, String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Restart policy and back-off.
    pub restart: Restart,
    /// Its failure fails the launch.
    pub required: bool,
    /// Log file (relative paths resolved against the launch file's directory).
    pub log: Option<PathBuf>,
    /// Nodes it starts after (expanded names).
    pub after: Vec<String>,
}

/// The nodes of a launch in start order: each after everything it names in `after`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Start order; stop in reverse.
    pub nodes: Vec<PlannedNode>,
}

/// A file's text, for locating byte offsets.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> LaunchError {
        let at = span.map_or(0, |s| s.start.min(self.text.len()));
        let before = &self.text[..at];
        LaunchError {
            file: self.path.clone(),
            line: before.matches('\n').count() + 1,
            column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            message: message.into(),
        }
    }
}

/// A node spec with the file it came from.
struct Found {
    source: usize,
    spec: Spanned<NodeSpec>,
}

/// Reads `path` and its includes, and builds the plan. Executables named without a path are
/// looked up in `search` first, then on `PATH`.
///
/// # Errors
/// The first [`LaunchError`] found, located.
pub fn load(path: &Path, search: &[PathBuf]) -> Result<Plan, LaunchError> {
    let mut sources = Vec::new();
    let mut found = Vec::new();
    read(path, &mut Vec::new(), &mut sources, &mut found, None)?;
    build(&sources, found, search)
}

/// Reads one file (and, first, its includes) into `found`.
fn read(
    path: &Path,
    stack: &mut Vec<PathBuf>,
    sources: &mut Vec<Source>,
    found: &mut Vec<Found>,
    included_at: Option<LaunchError>,
) -> Result<(), LaunchError> {
    let text = std::fs::read_to_string(path).map_err(|e| match &included_at {
        Some(at) => LaunchError {
            message: format!("cannot read included {}: {e}", path.display()),
            ..at.clone()
        },
        None => LaunchError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        },
    })?;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    if let Some(at) = included_at.filter(|_| stack.contains(&canonical)) {
        let chain: Vec<String> = stack
            .iter()
            .chain([&canonical])
            .map(|p| p.display().to_string())
            .collect();
        return Err(LaunchError {
            message: format!("include cycle: {}", chain.join(" -> ")),
            ..at
        });
    }
    let source = Source {
        path: path.to_owned(),
        text,
    };
    let file: LaunchFile =
        toml::from_str(&source.text).map_err(|e| source.error(e.span(), e.message()))?;
    let index = sources.len();
    sources.push(source);
    stack.push(canonical);
    let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    for include in &file.include {
        let at = sources[index].error(Some(include.span()), "");
        read(
            &dir.join(include.get_ref()),
            stack,
            sources,
            found,
            Some(at),
        )?;
    }
    stack.pop();
    found.extend(file.nodes.into_iter().map(|spec| Found {
        source: index,
        spec,
    }));
    Ok(())
}

/// Replaces `{i}` in every string of a TOML value.
fn substitute(value: &toml::Value, i: &str) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.replace("{i}", i)),
        toml::Value::Array(a) => a.iter().map(|v| substitute(v, i)).collect(),
        toml::Value::Table(t) => t
            .iter()
            .map(|(k, v)| (k.clone(), substitute(v, i)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
    }
}

/// Finds an executable: a path (relative to `dir`) if it has a slash, else in `search`
/// then on `PATH`.
fn find_executable(name: &str, dir: &Path, search: &[PathBuf]) -> Result<PathBuf, String> {
    if name.contains('/') {
        let p = dir.join(name);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("executable {} does not exist", p.display()))
        };
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for d in search.iter().chain(&path_dirs) {
        let p = d.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!(
        "executable `{name}` not found next to omni-mesh or on PATH"
    ))
}

fn build(sources: &[Source], found: Vec<Found>, search: &[PathBuf]) -> Result<Plan, LaunchError> {
    let mut nodes: Vec<PlannedNode> = Vec::new();
    // Where each expanded node was defined, and which names a template stands for.
    let mut defined: HashMap<String, (usize, Range<usize>)> = HashMap::new();
    let mut templates: HashMap<String, Vec<String>> = HashMap::new();
    let mut wanted: Vec<Vec<(usize, Spanned<String>)>> = Vec::new();
    for Found { source, spec } in found {
        let src = &sources[source];
        let spec = spec.into_inner();
        let count = *spec.count.get_ref();
        if count == 0 {
            return Err(src.error(Some(spec.count.span()), "count must be at least 1"));
        }
        let template = spec.name.get_ref().clone();
        if count > 1 && !template.contains("{i}") {
            return Err(src.error(
                Some(spec.name.span()),
                format!("`{template}` has count = {count}: put {{i}} in the name"),
            ));
        }
        let dir = src.path.parent().unwrap_or(Path::new("."));
        let executable = find_executable(spec.executable.get_ref(), dir, search)
            .map_err(|m| src.error(Some(spec.executable.span()), m))?;
        for i in 0..count {
            let i = i.to_string();
            let name = template.replace("{i}", &i);
            if let Some((first_src, first_span)) = defined.get(&name) {
                let first = sources[*first_src].error(Some(first_span.clone()), "");
                return Err(src.error(
                    Some(spec.name.span()),
                    format!(
                        "node `{name}` is defined twice (first at {}:{})",
                        first.file.display(),
                        first.line
                    ),
                ));
            }
            defined.insert(name.clone(), (source, spec.name.span()));
            templates
                .entry(template.clone())
                .or_default()
                .push(name.clone());
            let params = spec
                .params
                .iter()
                .map(|(k, v)| (k.clone(), substitute(v, &i)))
                .collect::<serde_json::Map<_, _>>();
            nodes.push(PlannedNode {
                name,
                executable: executable.clone(),
                namespace: spec.namespace.clone().unwrap_or_else(|| "/".into()),
                args: spec.args.iter().map(|a| a.replace("{i}", &i)).collect(),
                params: params.into(),
                remap: spec.remap.clone(),
                env: spec
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{i}", &i)))
                    .collect(),
                restart: spec.restart,
                required: spec.required,
                log: spec.log.as_ref().map(|l| dir.join(l.replace("{i}", &i))),
                after: Vec::new(),
            });
            wanted.push(spec.after.iter().map(|a| (source, a.clone())).collect());
        }
    }
    // Resolve `after`: a node name, or a replicated template (all its replicas).
    for (node, afters) in nodes.iter_mut().zip(&wanted) {
        for (source, after) in afters {
            let name = after.get_ref();
            let names = match templates.get(name) {
                Some(all) => all.clone(),
                None if defined.contains_key(name) => vec![name.clone()],
                None => {
                    return Err(sources[*source].error(
                        Some(after.span()),
                        format!("`after` names `{name}`, which no node of this launch is"),
                    ))
                }
            };
            node.after.extend(names);
        }
    }
    order(nodes, &defined, sources)
}

/// Orders nodes so each comes after its `after` (file order otherwise); a cycle is an
/// error located at one of its nodes.
fn order(
    nodes: Vec<PlannedNode>,
    defined: &HashMap<String, (usize, Range<usize>)>,
    sources: &[Source],
) -> Result<Plan, LaunchError> {
    let mut done: Vec<PlannedNode> = Vec::with_capacity(nodes.len());
    let mut left = nodes;
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|n| n.after.iter().all(|a| done.iter().any(|d| &d.name == a)));
        match ready {
            Some(i) => done.push(left.remove(i)),
            None => {
                let stuck = &left[0];
                let mut chain = vec![stuck.name.clone()];
                let mut at = stuck;
                // Follow unmet dependencies until a name repeats.
                while let Some(next) = at
                    .after
                    .iter()
                    .find_map(|a| left.iter().find(|n| &n.name == a))
                {
                    let repeat = chain.contains(&next.name);
                    chain.push(next.name.clone());
                    if repeat {
                        break;
                    }
                    at = next;
                }
                let (source, span) = defined[&stuck.name].clone();
                return Err(sources[source].error(
                    Some(span),
                    format!("dependency cycle: {}", chain.join(" -> ")),
                ));
            }
        }
    }
    Ok(Plan { nodes: done })
}
