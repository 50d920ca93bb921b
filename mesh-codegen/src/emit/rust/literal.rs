//! Rendering values and comments as Rust source.

use crate::model::{BaseType, Doc, Primitive, Value};

/// Rust type of a primitive.
#[must_use]
pub fn primitive_type(p: Primitive) -> &'static str {
    match p {
        Primitive::Bool => "bool",
        Primitive::Byte | Primitive::Char | Primitive::UInt8 => "u8",
        Primitive::Int8 => "i8",
        Primitive::Int16 => "i16",
        Primitive::UInt16 => "u16",
        Primitive::Int32 => "i32",
        Primitive::UInt32 => "u32",
        Primitive::Int64 => "i64",
        Primitive::UInt64 => "u64",
        Primitive::Float32 => "f32",
        Primitive::Float64 => "f64",
    }
}

/// A Rust expression for a scalar value of `p`.
#[must_use]
pub fn primitive_literal(p: Primitive, v: &Value) -> String {
    let ty = primitive_type(p);
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) if p.is_float() => float_literal(ty, *i as f64),
        Value::Int(i) => format!("{i}{ty}"),
        Value::Float(f) => float_literal(ty, *f),
        Value::String(_) | Value::Array(_) => format!("{ty}::default()"),
    }
}

#[allow(clippy::cast_possible_truncation)]
fn float_literal(ty: &str, f: f64) -> String {
    if f.is_nan() {
        format!("{ty}::NAN")
    } else if f.is_infinite() {
        format!(
            "{ty}::{}",
            if f > 0.0 { "INFINITY" } else { "NEG_INFINITY" }
        )
    } else if ty == "f32" {
        format!("{:?}f32", f as f32)
    } else {
        format!("{f:?}f64")
    }
}

/// A Rust expression for a non-array default of `base` (not a message type).
#[must_use]
pub fn scalar_expr(base: &BaseType, v: &Value, rt: &str) -> String {
    match (base, v) {
        (BaseType::Primitive(p), _) => primitive_literal(*p, v),
        (BaseType::String { .. }, Value::String(s)) => {
            format!("::std::string::String::from({s:?})")
        }
        (BaseType::WString { .. }, Value::String(s)) => format!("{rt}::WString::from({s:?})"),
        _ => "::core::default::Default::default()".to_owned(),
    }
}

/// `///` lines for a doc, escaped so rustdoc never sees code blocks or links in ROS comments.
#[must_use]
pub fn doc_lines(indent: &str, doc: &Doc, extra: &[String]) -> String {
    let mut lines: Vec<String> = doc.text.lines().map(escape_doc_line).collect();
    if let Some(unit) = &doc.unit {
        push_para(&mut lines, format!("Unit: `{}`.", unit.replace('`', "'")));
    }
    for e in extra {
        push_para(&mut lines, e.clone());
    }
    lines
        .iter()
        .map(|l| {
            if l.is_empty() {
                format!("{indent}///\n")
            } else {
                format!("{indent}/// {l}\n")
            }
        })
        .collect()
}

fn push_para(lines: &mut Vec<String>, text: String) {
    if !lines.is_empty() {
        lines.push(String::new());
    }
    lines.push(text);
}

fn escape_doc_line(line: &str) -> String {
    let mut out = String::new();
    for c in line.trim().chars() {
        match c {
            '[' | ']' | '<' | '>' | '`' | '*' | '_' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(
            primitive_literal(Primitive::Float64, &Value::Int(1)),
            "1.0f64"
        );
        assert_eq!(
            primitive_literal(Primitive::Float32, &Value::Float(0.1)),
            "0.1f32"
        );
        assert_eq!(primitive_literal(Primitive::Int8, &Value::Int(-2)), "-2i8");
        assert_eq!(
            primitive_literal(Primitive::Float32, &Value::Float(f64::NEG_INFINITY)),
            "f32::NEG_INFINITY"
        );
        let doc = Doc {
            text: "    indented `code`\n[x]".into(),
            unit: Some("m".into()),
        };
        assert_eq!(
            doc_lines("", &doc, &[]),
            "/// indented \\`code\\`\n/// \\[x\\]\n///\n/// Unit: `m`.\n"
        );
    }
}
