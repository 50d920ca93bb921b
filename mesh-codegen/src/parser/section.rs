//! One section of an interface file (a message, or one part of a service or action): its
//! fields, constants and comments.

use std::collections::HashSet;
use std::path::Path;

use super::doc::build_doc;
use super::literal::parse_value;
use super::to_u32;
use super::types::parse_type;
use crate::diagnostic::Problem;
use crate::model::{ArrayKind, BaseType, ConstType, Constant, Field, Span, StructDef, TypeName};
use crate::names::{is_valid_constant_name, is_valid_snake};

type Located = (Span, Problem);

/// The element most recently defined, so indented comments can continue its doc.
enum Last {
    None,
    Field(usize),
    Constant(usize),
}

/// Raw doc lines per element, turned into [`crate::model::Doc`]s at the end.
struct Pending {
    file_doc: Vec<String>,
    field_docs: Vec<Vec<String>>,
    const_docs: Vec<Vec<String>>,
}

/// Parses `lines` (the section's lines; `first_line` is the 0-based index of the first).
pub fn parse_section(
    lines: &[&str],
    first_line: usize,
    package: &str,
    name: TypeName,
    path: &Path,
) -> Result<StructDef, Vec<Located>> {
    let mut problems = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut constants: Vec<Constant> = Vec::new();
    let mut docs = Pending {
        file_doc: Vec::new(),
        field_docs: Vec::new(),
        const_docs: Vec::new(),
    };
    let mut comments: Vec<String> = Vec::new();
    let mut in_file_doc = true;
    let mut last = Last::None;
    for (i, raw) in lines.iter().enumerate() {
        let line_no = to_u32(first_line + i + 1);
        let line = raw.replace('\t', " ");
        let line = line.trim_end();
        if line.is_empty() {
            in_file_doc = false;
            continue;
        }
        let hash = line.find('#');
        if hash == Some(0) {
            if in_file_doc {
                docs.file_doc.push(line.to_owned());
            } else {
                comments.push(line.to_owned());
            }
            continue;
        }
        in_file_doc = false;
        let (code, trailing) = match hash {
            Some(h) => (line[..h].trim_end(), Some(line[h..].to_owned())),
            None => (line, None),
        };
        if code.is_empty() {
            // An indented comment continues the previous element's doc.
            let target = match last {
                Last::Field(i) => &mut docs.field_docs[i],
                Last::Constant(i) => &mut docs.const_docs[i],
                Last::None => &mut comments,
            };
            target.extend(trailing);
            continue;
        }
        if code.starts_with(' ') {
            problems.push((
                Span {
                    line: line_no,
                    col: 1,
                },
                Problem::Indented,
            ));
            continue;
        }
        let mut doc_lines = std::mem::take(&mut comments);
        doc_lines.extend(trailing);
        match parse_element(code, line_no, package) {
            Ok(Element::Field(f)) => {
                fields.push(f);
                docs.field_docs.push(doc_lines);
                last = Last::Field(fields.len() - 1);
            }
            Ok(Element::Constant(c)) => {
                constants.push(c);
                docs.const_docs.push(doc_lines);
                last = Last::Constant(constants.len() - 1);
            }
            Err(p) => problems.push(p),
        }
    }
    check_unique(&fields, &constants, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    for (f, d) in fields.iter_mut().zip(&docs.field_docs) {
        f.doc = build_doc(d);
    }
    for (c, d) in constants.iter_mut().zip(&docs.const_docs) {
        c.doc = build_doc(d);
    }
    Ok(StructDef {
        name,
        doc: build_doc(&docs.file_doc),
        fields,
        constants,
        source: path.to_owned(),
    })
}

fn check_unique(fields: &[Field], constants: &[Constant], problems: &mut Vec<Located>) {
    let mut seen = HashSet::new();
    for f in fields {
        if !seen.insert(f.name.as_str()) {
            problems.push((f.span, Problem::DuplicateField(f.name.clone())));
        }
    }
    let mut seen = HashSet::new();
    for c in constants {
        if !seen.insert(c.name.as_str()) {
            problems.push((c.span, Problem::DuplicateConstant(c.name.clone())));
        }
    }
}

enum Element {
    Field(Field),
    Constant(Constant),
}

fn col_of(line: &str, byte: usize) -> u32 {
    to_u32(line[..byte].chars().count() + 1)
}

/// Parses a definition line with comments already removed.
fn parse_element(code: &str, line: u32, package: &str) -> Result<Element, Located> {
    let type_span = Span { line, col: 1 };
    let (type_token, rest) = code.split_once(' ').unwrap_or((code, ""));
    let rest_trimmed = rest.trim_start();
    let rest_at = code.len() - rest_trimmed.len();
    if rest_trimmed.is_empty() {
        return Err((type_span, Problem::MissingName(type_token.to_owned())));
    }
    let name_span = Span {
        line,
        col: col_of(code, rest_at),
    };
    let ty = parse_type(type_token, package).map_err(|p| (type_span, p))?;
    if let Some(eq) = rest_trimmed.find('=') {
        let name = rest_trimmed[..eq].trim_end();
        let value = rest_trimmed[eq + 1..].trim_start();
        let value_span = Span {
            line,
            col: col_of(code, code.len() - value.len()),
        };
        let cty = match (&ty.base, ty.array) {
            (BaseType::Primitive(p), ArrayKind::Single) => ConstType::Primitive(*p),
            (BaseType::String { bound: None }, ArrayKind::Single) => ConstType::String,
            (BaseType::WString { bound: None }, ArrayKind::Single) => ConstType::WString,
            _ => {
                return Err((
                    type_span,
                    Problem::InvalidConstantType(type_token.to_owned()),
                ))
            }
        };
        if !is_valid_constant_name(name) {
            return Err((name_span, Problem::InvalidConstantName(name.to_owned())));
        }
        if value.is_empty() {
            return Err((value_span, Problem::MissingConstantValue(name.to_owned())));
        }
        let value = parse_value(&ty.base, ty.array, value).map_err(|p| (value_span, p))?;
        return Ok(Element::Constant(Constant {
            name: name.to_owned(),
            ty: cty,
            value,
            doc: Default::default(),
            span: type_span,
        }));
    }
    let (name, default) = rest_trimmed.split_once(' ').unwrap_or((rest_trimmed, ""));
    if !is_valid_snake(name) {
        return Err((name_span, Problem::InvalidFieldName(name.to_owned())));
    }
    let default = default.trim_start();
    let default = if default.is_empty() {
        None
    } else {
        let span = Span {
            line,
            col: col_of(code, code.len() - default.len()),
        };
        Some(parse_value(&ty.base, ty.array, default).map_err(|p| (span, p))?)
    };
    Ok(Element::Field(Field {
        name: name.to_owned(),
        ty,
        default,
        doc: Default::default(),
        span: type_span,
    }))
}
