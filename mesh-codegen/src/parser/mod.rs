//! The `.msg`/`.srv`/`.action` parser: bytes in, [`Interface`] or located [`Diagnostic`]s out.
//!
//! It follows ROS 2's reference parser (rosidl_adapter) line by line, as summarised in
//! GRAMMAR-FACTS.md, and reports every bad line rather than stopping at the first.

mod doc;
mod literal;
mod section;
mod types;

pub use literal::{parse_value, python_float, python_int};
pub use types::parse_type;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Problem};
use crate::model::{Interface, Kind, Span, StructDef, TypeName};

/// Parses one interface file's contents.
///
/// `path` is used in diagnostics only; `package`, `kind` and `name` come from the file's place
/// in the package tree (`<package>/<kind>/<name>.<kind>`).
pub fn parse_interface(
    path: &Path,
    package: &str,
    kind: Kind,
    name: &str,
    bytes: &[u8],
) -> Result<Interface, Vec<Diagnostic>> {
    let at = |span: Span, problem: Problem| Diagnostic {
        path: path.to_owned(),
        span,
        problem,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            let span = Span {
                line: to_u32(line),
                col: to_u32(col),
            };
            return Err(vec![at(span, Problem::NotUtf8(e.valid_up_to()))]);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !crate::names::is_valid_type_name(name) {
        return Err(vec![at(
            Span { line: 1, col: 1 },
            Problem::InvalidFileName(name.to_owned()),
        )]);
    }
    let lines = split_lines(text);
    let mut diags = Vec::new();
    let separators: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == "---")
        .map(|(i, _)| i)
        .collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() == "---" && *line != "---" {
            diags.push(at(
                Span {
                    line: to_u32(i + 1),
                    col: 1,
                },
                Problem::SeparatorWithSpaces,
            ));
        }
    }
    let expected = match kind {
        Kind::Msg => 0,
        Kind::Srv => 1,
        Kind::Action => 2,
    };
    if separators.len() != expected {
        let line = separators.get(expected).map_or(1, |i| i + 1);
        diags.push(at(
            Span {
                line: to_u32(line),
                col: 1,
            },
            Problem::SeparatorCount {
                kind: kind.as_str(),
                expected,
                found: separators.len(),
            },
        ));
        return Err(diags);
    }
    let suffixes: &[&str] = match kind {
        Kind::Msg => &[""],
        Kind::Srv => &["_Request", "_Response"],
        Kind::Action => &["_Goal", "_Result", "_Feedback"],
    };
    let mut sections = Vec::new();
    let mut start = 0;
    for (index, suffix) in suffixes.iter().enumerate() {
        let end = separators.get(index).copied().unwrap_or(lines.len());
        let struct_name = TypeName::new(package, kind, &format!("{name}{suffix}"));
        match section::parse_section(&lines[start..end], start, package, struct_name, path) {
            Ok(def) => sections.push(def),
            Err(problems) => {
                diags.extend(
                    problems
                        .into_iter()
                        .map(|(span, problem)| at(span, problem)),
                );
            }
        }
        start = end + 1;
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(assemble(package, kind, name, sections))
}

fn assemble(package: &str, kind: Kind, name: &str, mut s: Vec<StructDef>) -> Interface {
    let name = TypeName::new(package, kind, name);
    match kind {
        Kind::Msg => Interface::Message(s.remove(0)),
        Kind::Srv => {
            let response = s.remove(1);
            let request = s.remove(0);
            Interface::Service {
                name,
                request,
                response,
            }
        }
        Kind::Action => {
            let feedback = s.remove(2);
            let result = s.remove(1);
            let goal = s.remove(0);
            Interface::Action {
                name,
                goal,
                result,
                feedback,
            }
        }
    }
}

/// Splits like Python's `splitlines` for the separators that occur in text files.
fn split_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                out.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                out.push(rest);
                rest = "";
            }
        }
    }
    out
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
