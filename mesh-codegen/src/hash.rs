//! RIHS01 type hashes, computed exactly as ROS 2 does (GRAMMAR-FACTS J.46-53): SHA-256 over a
//! JSON text of the type description and every type it references, sorted by name.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::model::{ArrayKind, BaseType, FieldType, Primitive, TypeName};
use crate::resolve::Registry;

/// `type_id`, `capacity`, `string_capacity` and `nested_type_name` of a field type.
#[must_use]
pub fn field_type_ids(ty: &FieldType) -> (u32, u32, u32, String) {
    let (base_id, string_capacity, nested) = match &ty.base {
        BaseType::Primitive(p) => (primitive_id(*p), 0, String::new()),
        BaseType::String { bound: None } => (17, 0, String::new()),
        BaseType::String { bound: Some(n) } => (21, *n, String::new()),
        BaseType::WString { bound: None } => (18, 0, String::new()),
        BaseType::WString { bound: Some(n) } => (22, *n, String::new()),
        BaseType::Named(name) => (1, 0, name.to_string()),
    };
    let (offset, capacity) = match ty.array {
        ArrayKind::Single => (0, 0),
        ArrayKind::Fixed(n) => (48, n),
        ArrayKind::Bounded(n) => (96, n),
        ArrayKind::Unbounded => (144, 0),
    };
    (base_id + offset, capacity, string_capacity, nested)
}

fn primitive_id(p: Primitive) -> u32 {
    match p {
        Primitive::Int8 => 2,
        Primitive::UInt8 | Primitive::Char => 3,
        Primitive::Int16 => 4,
        Primitive::UInt16 => 5,
        Primitive::Int32 => 6,
        Primitive::UInt32 => 7,
        Primitive::Int64 => 8,
        Primitive::UInt64 => 9,
        Primitive::Float32 => 10,
        Primitive::Float64 => 11,
        Primitive::Bool => 15,
        Primitive::Byte => 16,
    }
}

/// Writes `s` as a JSON string with non-ASCII escaped (Python `json.dumps` defaults).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for unit in s.encode_utf16() {
        match unit {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(char::from(u8::try_from(unit).unwrap_or(b'?'))),
            _ => {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out.push('"');
}

fn individual(out: &mut String, name: &TypeName, fields: &[(String, FieldType)]) {
    out.push_str("{\"type_name\": ");
    json_str(out, &name.to_string());
    out.push_str(", \"fields\": [");
    for (i, (field, ty)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let (id, cap, scap, nested) = field_type_ids(ty);
        out.push_str("{\"name\": ");
        json_str(out, field);
        let _ = write!(
            out,
            ", \"type\": {{\"type_id\": {id}, \"capacity\": {cap}, \"string_capacity\": {scap}, \"nested_type_name\": "
        );
        json_str(out, &nested);
        out.push_str("}}");
    }
    out.push_str("]}");
}

/// Every type reachable from `name` (not including `name`), sorted.
fn referenced(reg: &Registry, name: &TypeName) -> BTreeSet<TypeName> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.clone()];
    while let Some(next) = todo.pop() {
        for (_, ty) in reg.description(&next).unwrap_or_default() {
            if let BaseType::Named(n) = ty.base {
                if seen.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
    }
    seen.remove(name);
    seen
}

/// The exact JSON text that is hashed for `name`; `None` if the registry does not know it.
#[must_use]
pub fn hash_input(reg: &Registry, name: &TypeName) -> Option<String> {
    let fields = reg.description(name)?;
    let mut out = String::from("{\"type_description\": ");
    individual(&mut out, name, &fields);
    out.push_str(", \"referenced_type_descriptions\": [");
    for (i, r) in referenced(reg, name).iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        individual(&mut out, r, &reg.description(r).unwrap_or_default());
    }
    out.push_str("]}");
    Some(out)
}

/// The RIHS01 digest of `name`.
#[must_use]
pub fn type_hash(reg: &Registry, name: &TypeName) -> Option<[u8; 32]> {
    hash_input(reg, name).map(|text| Sha256::digest(text.as_bytes()).into())
}

/// `RIHS01_<hex>` text of a digest.
#[must_use]
pub fn rihs01_text(digest: &[u8; 32]) -> String {
    let mut s = String::from("RIHS01_");
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}
