//! Python message classes: one module per package (`<pkg>.py`), one `@dataclass(slots=True)`
//! per struct type with its fields, defaults and constants, and a `FIELDS` table that the
//! native codec reads instances through (it encodes the same rkyv archives Rust nodes send,
//! and builds received messages by calling the class with the fields in order). Received
//! arrays of primitives are memoryviews over the received bytes, so the classes compare
//! through `Message.__eq__` (by value, views and lists alike) rather than dataclass `eq`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use super::rust::names::type_ident;
use crate::model::{ArrayKind, BaseType, Field, Primitive, StructDef, TypeName, Value};
use crate::{Registry, WriteError};

const PY_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The Python attribute of a ROS field name (keywords get a trailing `_`).
#[must_use]
pub fn attr(name: &str) -> String {
    if PY_KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// A Python string literal: a JSON string is one (same escapes, `\uXXXX` included).
fn py_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn is_bytes(p: Primitive) -> bool {
    matches!(p, Primitive::Byte | Primitive::UInt8 | Primitive::Char)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "float(\"nan\")".into(),
        Value::Float(f) if f.is_infinite() => {
            format!("float(\"{}inf\")", if *f < 0.0 { "-" } else { "" })
        }
        Value::Float(f) => format!("{f:?}"),
        Value::String(s) => py_string(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn zero(base: &BaseType, module: &str) -> String {
    match base {
        BaseType::Primitive(Primitive::Bool) => "False".into(),
        BaseType::Primitive(p) if p.is_float() => "0.0".into(),
        BaseType::Primitive(_) => "0".into(),
        BaseType::String { .. } | BaseType::WString { .. } => "\"\"".into(),
        BaseType::Named(n) => format!("{}()", class_ref(n, module)),
    }
}

fn class_ref(n: &TypeName, module: &str) -> String {
    if n.package == module {
        type_ident(&n.name)
    } else {
        format!("_{}.{}", n.package, type_ident(&n.name))
    }
}

fn annotation(f: &Field, module: &str) -> String {
    let base = match &f.ty.base {
        BaseType::Primitive(Primitive::Bool) => "bool".to_owned(),
        BaseType::Primitive(p) if p.is_float() => "float".to_owned(),
        BaseType::Primitive(_) => "int".to_owned(),
        BaseType::String { .. } | BaseType::WString { .. } => "str".to_owned(),
        BaseType::Named(n) => class_ref(n, module),
    };
    match (&f.ty.base, f.ty.array) {
        (_, ArrayKind::Single) => base,
        // Received arrays of primitives are memoryviews over the received bytes.
        (BaseType::Primitive(p), _) if is_bytes(*p) => "bytes | memoryview".to_owned(),
        (BaseType::Primitive(_), _) => format!("list[{base}] | memoryview"),
        _ => format!("list[{base}]"),
    }
}

/// `= default` or `= dataclasses.field(default_factory=...)`.
fn default(f: &Field, module: &str) -> String {
    let base = &f.ty.base;
    let bytes = matches!(base, BaseType::Primitive(p) if is_bytes(*p));
    match (f.ty.array, &f.default) {
        (ArrayKind::Single, Some(v)) => scalar(v),
        (ArrayKind::Single, None) => match base {
            BaseType::Named(_) => format!(
                "dataclasses.field(default_factory=lambda: {})",
                zero(base, module)
            ),
            _ => zero(base, module),
        },
        (_, Some(Value::Array(items))) if bytes => {
            let list = items.iter().map(scalar).collect::<Vec<_>>().join(", ");
            format!("dataclasses.field(default_factory=lambda: bytes([{list}]))")
        }
        (_, Some(v)) => format!("dataclasses.field(default_factory=lambda: {})", scalar(v)),
        (ArrayKind::Fixed(n), None) if bytes => {
            format!("dataclasses.field(default_factory=lambda: bytes({n}))")
        }
        (ArrayKind::Fixed(n), None) => format!(
            "dataclasses.field(default_factory=lambda: [{} for _ in range({n})])",
            zero(base, module)
        ),
        (_, None) if bytes => "b\"\"".into(),
        (_, None) => "dataclasses.field(default_factory=list)".into(),
    }
}

/// `("ros_name", "attr", "pkg/msg/T" or None, is_sequence)`.
fn field_entry(f: &Field) -> String {
    let nested = match &f.ty.base {
        BaseType::Named(n) => py_string(&n.to_string()),
        _ => "None".into(),
    };
    let seq = if matches!(f.ty.array, ArrayKind::Single) {
        "False"
    } else {
        "True"
    };
    format!(
        "({}, {}, {nested}, {seq})",
        py_string(&f.name),
        py_string(&attr(&f.name))
    )
}

fn render_struct(reg: &Registry, s: &StructDef, module: &str) -> String {
    let mut o = String::new();
    let ty = type_ident(&s.name.name);
    let hash = crate::hash::type_hash(reg, &s.name)
        .map(|h| crate::hash::rihs01_text(&h))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "\n\n@dataclasses.dataclass(slots=True, eq=False)\nclass {ty}(Message):"
    );
    let text = s.doc.text.trim();
    let doc = if text.is_empty() {
        format!("ROS type `{}`.", s.name)
    } else {
        format!("{}\n\nROS type `{}`.", text, s.name)
    };
    let doc = doc
        .replace('\\', "\\\\")
        .replace("\"\"\"", "'''")
        .lines()
        .collect::<Vec<_>>()
        .join("\n    ")
        .replace("\n    \n", "\n\n");
    let _ = writeln!(o, "    \"\"\"{doc}\n    \"\"\"\n");
    let _ = writeln!(
        o,
        "    TYPE_NAME: ClassVar[str] = {}",
        py_string(&s.name.to_string())
    );
    let _ = writeln!(o, "    TYPE_HASH: ClassVar[str] = {}", py_string(&hash));
    let entries: Vec<String> = s.fields.iter().map(field_entry).collect();
    let _ = writeln!(
        o,
        "    FIELDS: ClassVar[tuple[tuple[str, str, str | None, bool], ...]] = ({}{})",
        entries.join(", "),
        if entries.len() == 1 { "," } else { "" }
    );
    for c in &s.constants {
        let kind = match &c.value {
            Value::Bool(_) => "bool",
            Value::Float(_) => "float",
            Value::String(_) => "str",
            _ => "int",
        };
        let _ = writeln!(o, "    {}: ClassVar[{kind}] = {}", c.name, scalar(&c.value));
    }
    for f in &s.fields {
        let _ = writeln!(
            o,
            "    {}: {} = {}",
            attr(&f.name),
            annotation(f, module),
            default(f, module)
        );
    }
    o
}

/// Generated files: relative path -> content (`__init__.py` and one module per package).
pub fn render_tree(reg: &Registry) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut init = String::from(
        "# @generated by mesh-codegen from ROS 2 interface files. Do not edit.\n\"\"\"Message \
         classes, one module per interface package.\"\"\"\n\n__all__ = [",
    );
    let packages: Vec<&String> = reg.packages.keys().collect();
    init.push_str(
        &packages
            .iter()
            .map(|p| py_string(p))
            .collect::<Vec<_>>()
            .join(", "),
    );
    init.push_str("]\n");
    files.push(("__init__.py".to_owned(), init));
    for package in packages {
        let structs: Vec<&StructDef> = reg
            .structs
            .values()
            .filter(|s| &s.name.package == package)
            .collect();
        let deps: BTreeSet<&str> = structs
            .iter()
            .flat_map(|s| &s.fields)
            .filter_map(|f| match &f.ty.base {
                BaseType::Named(n) if &n.package != package => Some(n.package.as_str()),
                _ => None,
            })
            .collect();
        let mut body = format!(
            "# @generated by mesh-codegen from package `{package}`. Do not edit.\n\"\"\"`{package}` \
             message classes.\"\"\"\n\nfrom __future__ import annotations\n\nimport dataclasses\n\
             from typing import ClassVar\n\nfrom omnimesh._message import Message, Service\n"
        );
        for dep in deps {
            let _ = writeln!(body, "from . import {dep} as _{dep}");
        }
        let services: Vec<_> = reg
            .services
            .iter()
            .filter(|(n, _)| &n.package == package)
            .collect();
        let names: Vec<String> = structs
            .iter()
            .map(|s| py_string(&type_ident(&s.name.name)))
            .chain(
                services
                    .iter()
                    .map(|(n, _)| py_string(&type_ident(&n.name))),
            )
            .collect();
        let _ = writeln!(body, "\n__all__ = [{}]", names.join(", "));
        for s in structs {
            body.push_str(&render_struct(reg, s, package));
        }
        for (name, parts) in services {
            let _ = writeln!(
                body,
                "\n\nclass {}(Service):\n    \"\"\"Service `{name}`.\"\"\"\n\n    \
                 TYPE_NAME: ClassVar[str] = {}\n    Request = {}\n    Response = {}",
                type_ident(&name.name),
                py_string(&name.to_string()),
                class_ref(&parts.request, package),
                class_ref(&parts.response, package),
            );
        }
        files.push((format!("{package}.py"), body));
    }
    files
}

/// Writes the modules into `out_dir`, rewriting only files whose content changed.
///
/// # Errors
/// [`WriteError::Io`] when a file cannot be written.
pub fn write_tree(reg: &Registry, out_dir: &Path) -> Result<(), WriteError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| WriteError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    for (rel, content) in render_tree(reg) {
        let path = out_dir.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            std::fs::write(&path, content).map_err(io(&path))?;
        }
    }
    Ok(())
}
