//! JSON Schema (draft 2020-12) for each struct, built from the model: integer ranges, string
//! and sequence bounds, fixed array lengths, declared defaults, docs and units, with nested
//! types under `$defs`.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value as Json};

use crate::model::{ArrayKind, BaseType, Field, Primitive, StructDef, TypeName, Value};
use crate::resolve::Registry;

fn def_key(name: &TypeName) -> String {
    name.to_string().replace('/', ".")
}

fn literal(v: &Value) -> Json {
    match v {
        Value::Bool(b) => json!(b),
        Value::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
            (Ok(v), _) => json!(v),
            (_, Ok(v)) => json!(v),
            // Literals are range-checked against 64-bit types, so this is unreachable.
            _ => json!(i.to_string()),
        },
        Value::Float(f) if f.is_finite() => json!(f),
        Value::Float(f) => json!(f.to_string()),
        Value::String(s) => json!(s),
        Value::Array(items) => Json::Array(items.iter().map(literal).collect()),
    }
}

fn base_schema(base: &BaseType, refs: &mut BTreeSet<TypeName>) -> Json {
    match base {
        BaseType::Primitive(Primitive::Bool) => json!({"type": "boolean"}),
        BaseType::Primitive(p) if p.is_float() => json!({"type": "number"}),
        BaseType::Primitive(p) => {
            let (lo, hi) = p.int_range().unwrap_or((0, 0));
            let lo = i64::try_from(lo).unwrap_or(i64::MIN);
            let hi = u64::try_from(hi).unwrap_or(0);
            json!({"type": "integer", "minimum": lo, "maximum": hi})
        }
        BaseType::String { bound } | BaseType::WString { bound } => match bound {
            Some(n) => json!({"type": "string", "maxLength": n}),
            None => json!({"type": "string"}),
        },
        BaseType::Named(n) => {
            refs.insert(n.clone());
            json!({"$ref": format!("#/$defs/{}", def_key(n))})
        }
    }
}

fn field_schema(f: &Field, refs: &mut BTreeSet<TypeName>) -> Json {
    let elem = base_schema(&f.ty.base, refs);
    let mut schema = match f.ty.array {
        ArrayKind::Single => elem,
        ArrayKind::Fixed(n) => {
            json!({"type": "array", "items": elem, "minItems": n, "maxItems": n})
        }
        ArrayKind::Bounded(n) => json!({"type": "array", "items": elem, "maxItems": n}),
        ArrayKind::Unbounded => json!({"type": "array", "items": elem}),
    };
    if let Json::Object(map) = &mut schema {
        let mut text = f.doc.text.clone();
        if let Some(unit) = &f.doc.unit {
            text = format!("{text} [{unit}]").trim().to_owned();
        }
        if !text.is_empty() {
            map.insert("description".into(), json!(text));
        }
        if let Some(v) = &f.default {
            map.insert("default".into(), literal(v));
        }
    }
    schema
}

fn object_schema(s: &StructDef, refs: &mut BTreeSet<TypeName>) -> Map<String, Json> {
    let mut props = Map::new();
    for f in &s.fields {
        props.insert(f.name.clone(), field_schema(f, refs));
    }
    let required: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    let mut obj = Map::new();
    obj.insert("title".into(), json!(s.name.to_string()));
    if !s.doc.text.is_empty() {
        obj.insert("description".into(), json!(s.doc.text));
    }
    obj.insert("type".into(), json!("object"));
    obj.insert("properties".into(), Json::Object(props));
    obj.insert("required".into(), json!(required));
    obj.insert("additionalProperties".into(), json!(false));
    if !s.constants.is_empty() {
        let consts: Map<String, Json> = s
            .constants
            .iter()
            .map(|c| (c.name.clone(), literal(&c.value)))
            .collect();
        obj.insert("x-ros-constants".into(), Json::Object(consts));
    }
    obj
}

/// The schema of struct `name` as a JSON value; `None` if it is not a struct.
#[must_use]
pub fn schema(reg: &Registry, name: &TypeName) -> Option<Json> {
    let top = reg.structs.get(name)?;
    let mut refs = BTreeSet::new();
    let mut root = object_schema(top, &mut refs);
    let mut defs = Map::new();
    let mut done = BTreeSet::new();
    while let Some(next) = refs.iter().find(|r| !done.contains(*r)).cloned() {
        done.insert(next.clone());
        if let Some(s) = reg.structs.get(&next) {
            defs.insert(def_key(&next), Json::Object(object_schema(s, &mut refs)));
        }
    }
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    out.append(&mut root);
    if !defs.is_empty() {
        out.insert("$defs".into(), Json::Object(defs));
    }
    Some(Json::Object(out))
}

/// The schema of `name` as compact JSON text (empty object if unknown).
#[must_use]
pub fn schema_text(reg: &Registry, name: &TypeName) -> String {
    schema(reg, name).map_or_else(|| "{}".to_owned(), |s| s.to_string())
}
