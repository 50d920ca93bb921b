//! One generated struct (fields, constants, `Default`, `Cdr`, `Message`, `Sample`) and the
//! marker types of services and actions.

use std::fmt::Write as _;

use super::literal::{doc_lines, primitive_type, scalar_expr};
use super::names::{ident, raw_string, type_ident};
use super::Ctx;
use crate::expand::{ActionParts, ServiceParts};
use crate::hash::type_hash;
use crate::model::{ArrayKind, BaseType, ConstType, Field, StructDef, TypeName, Value};

const I: &str = "    ";

fn hash_expr(ctx: &Ctx<'_>, name: &TypeName) -> String {
    let digest = type_hash(ctx.reg, name).unwrap_or_default();
    let bytes: Vec<String> = digest.iter().map(|b| format!("0x{b:02x}")).collect();
    format!("{}::TypeHash::rihs01([{}])", ctx.rt(), bytes.join(", "))
}

/// Default value expression of a field.
fn default_expr(ctx: &Ctx<'_>, f: &Field) -> String {
    let rt = ctx.rt();
    let elem = |v: &Value| scalar_expr(&f.ty.base, v, rt);
    match (&f.default, f.ty.array) {
        (Some(Value::Array(items)), ArrayKind::Fixed(_)) => {
            format!(
                "[{}]",
                items.iter().map(elem).collect::<Vec<_>>().join(", ")
            )
        }
        (Some(Value::Array(items)), _) => {
            format!(
                "::std::vec![{}]",
                items.iter().map(elem).collect::<Vec<_>>().join(", ")
            )
        }
        (Some(v), ArrayKind::Single) => elem(v),
        (_, ArrayKind::Fixed(n)) => match &f.ty.base {
            BaseType::Primitive(p) => format!("[{}; {n}]", zero(primitive_type(*p))),
            _ => "::core::array::from_fn(|_| ::core::default::Default::default())".to_owned(),
        },
        _ => "::core::default::Default::default()".to_owned(),
    }
}

fn zero(ty: &str) -> String {
    match ty {
        "bool" => "false".to_owned(),
        "f32" | "f64" => format!("0.0{ty}"),
        _ => format!("0{ty}"),
    }
}

/// Expression sampling one element with seed expression `seed`.
fn sample_elem(ctx: &Ctx<'_>, base: &BaseType, seed: &str) -> String {
    let rt = ctx.rt();
    match base {
        BaseType::String { bound: Some(n) } => format!("{rt}::sample_string({seed}, Some({n}))"),
        BaseType::WString { bound: Some(n) } => {
            format!("{rt}::WString({rt}::sample_string({seed}, Some({n})))")
        }
        _ => format!("<{} as {rt}::Sample>::sample({seed})", ctx.base_type(base)),
    }
}

fn sample_expr(ctx: &Ctx<'_>, f: &Field, k: usize) -> String {
    let seed = format!("seed.wrapping_add({k})");
    match f.ty.array {
        ArrayKind::Single => sample_elem(ctx, &f.ty.base, &seed),
        ArrayKind::Fixed(_) => format!(
            "::core::array::from_fn(|i| {})",
            sample_elem(ctx, &f.ty.base, &format!("{seed}.wrapping_add(i as u64)"))
        ),
        ArrayKind::Bounded(_) | ArrayKind::Unbounded => {
            let n = match f.ty.array {
                ArrayKind::Bounded(b) => b.min(3),
                _ => 3,
            };
            format!(
                "(0..{n}u64).map(|i| {}).collect()",
                sample_elem(ctx, &f.ty.base, &format!("{seed}.wrapping_add(i)"))
            )
        }
    }
}

/// `validate` statements for one field (empty when it cannot break a bound).
fn validate_stmts(ctx: &Ctx<'_>, f: &Field) -> String {
    let rt = ctx.rt();
    let name = ident(&f.name);
    let label = &f.name;
    let mut out = String::new();
    if let ArrayKind::Bounded(max) = f.ty.array {
        let _ = writeln!(
            out,
            "{I}{I}{rt}::bounds::check_sequence(T, {label:?}, self.{name}.len(), {max})?;"
        );
    }
    let check = |value: &str, path: &str| -> Option<String> {
        match &f.ty.base {
            BaseType::String { bound: Some(max) } => Some(format!(
                "{rt}::bounds::check_string(T, {path}, {value}, {max})?;"
            )),
            BaseType::WString { bound: Some(max) } => Some(format!(
                "{rt}::bounds::check_wstring(T, {path}, {value}, {max})?;"
            )),
            BaseType::Named(n) if ctx.bounded.contains(n) => Some(format!(
                "{rt}::Message::validate({value}).map_err(|e| e.within(T, {path}))?;"
            )),
            _ => None,
        }
    };
    if f.ty.array == ArrayKind::Single {
        if let Some(stmt) = check(&format!("&self.{name}"), &format!("{label:?}")) {
            let _ = writeln!(out, "{I}{I}{stmt}");
        }
    } else if let Some(stmt) = check("item", &format!("&::std::format!(\"{label}[{{i}}]\")")) {
        let _ = writeln!(
            out,
            "{I}{I}for (i, item) in self.{name}.iter().enumerate() {{\n{I}{I}{I}{stmt}\n{I}{I}}}"
        );
    }
    out
}

fn field_extra_docs(f: &Field) -> Vec<String> {
    let mut extra = Vec::new();
    if let Some(v) = &f.default {
        extra.push(format!("Default: `{}`.", show_value(v)));
    }
    extra
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::String(s) => format!("{s:?}").replace('`', "'"),
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(show_value).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

/// Everything generated for one struct.
pub fn render_struct(ctx: &Ctx<'_>, s: &StructDef) -> String {
    let rt = ctx.rt();
    let ty = type_ident(&s.name.name);
    let mut o = String::new();
    let extra = vec![format!("ROS type `{}`.", s.name)];
    o.push_str(&doc_lines(I, &s.doc, &extra));
    let _ = writeln!(
        o,
        "{I}#[derive(Debug, Clone, PartialEq, {rt}::rkyv::Archive, {rt}::rkyv::Serialize, \
         {rt}::rkyv::Deserialize)]\n{I}#[rkyv(crate = {rt}::rkyv)]\n{I}pub struct {ty} {{"
    );
    for f in &s.fields {
        o.push_str(&doc_lines(&format!("{I}{I}"), &f.doc, &field_extra_docs(f)));
        let _ = writeln!(
            o,
            "{I}{I}pub {}: {},",
            ident(&f.name),
            ctx.field_type(&f.ty)
        );
    }
    let _ = writeln!(o, "{I}}}\n");
    if !s.constants.is_empty() {
        let _ = writeln!(o, "{I}impl {ty} {{");
        for c in &s.constants {
            o.push_str(&doc_lines(&format!("{I}{I}"), &c.doc, &[]));
            let (cty, value) = match (c.ty, &c.value) {
                (ConstType::Primitive(p), v) => (
                    primitive_type(p).to_owned(),
                    super::literal::primitive_literal(p, v),
                ),
                (_, Value::String(text)) => ("&'static str".to_owned(), format!("{text:?}")),
                (_, _) => ("&'static str".to_owned(), "\"\"".to_owned()),
            };
            let _ = writeln!(o, "{I}{I}pub const {}: {cty} = {value};", c.name);
        }
        let _ = writeln!(o, "{I}}}\n");
    }
    // Default
    let _ = writeln!(
        o,
        "{I}impl ::core::default::Default for {ty} {{\n{I}{I}fn default() -> Self {{\n{I}{I}{I}Self {{"
    );
    for f in &s.fields {
        let _ = writeln!(
            o,
            "{I}{I}{I}{I}{}: {},",
            ident(&f.name),
            default_expr(ctx, f)
        );
    }
    let _ = writeln!(o, "{I}{I}{I}}}\n{I}{I}}}\n{I}}}\n");
    // Cdr
    let _ = writeln!(
        o,
        "{I}impl {rt}::cdr::Cdr for {ty} {{\n{I}{I}fn encode(&self, w: &mut {rt}::cdr::CdrWriter) {{"
    );
    for f in &s.fields {
        let _ = writeln!(
            o,
            "{I}{I}{I}{rt}::cdr::Cdr::encode(&self.{}, w);",
            ident(&f.name)
        );
    }
    let _ = writeln!(
        o,
        "{I}{I}}}\n{I}{I}fn decode(r: &mut {rt}::cdr::CdrReader<'_>) -> ::core::result::Result<Self, \
         {rt}::cdr::CdrDecodeError> {{\n{I}{I}{I}::core::result::Result::Ok(Self {{"
    );
    for f in &s.fields {
        let _ = writeln!(
            o,
            "{I}{I}{I}{I}{}: {rt}::cdr::Cdr::decode(r)?,",
            ident(&f.name)
        );
    }
    let _ = writeln!(o, "{I}{I}{I}}})\n{I}{I}}}\n{I}}}\n");
    o.push_str(&render_value_impls(ctx, s, &ty));
    // Message
    let schema = crate::emit::schema::schema_text(ctx.reg, &s.name);
    let checks: String = s.fields.iter().map(|f| validate_stmts(ctx, f)).collect();
    let _ = writeln!(
        o,
        "{I}impl {rt}::Message for {ty} {{\n{I}{I}const TYPE_NAME: &'static str = \"{}\";\n\
         {I}{I}const TYPE_HASH: {rt}::TypeHash = {};\n{I}{I}const JSON_SCHEMA: &'static str = {};\n\
         {I}{I}fn validate(&self) -> ::core::result::Result<(), {rt}::BoundsError> {{",
        s.name,
        hash_expr(ctx, &s.name),
        raw_string(&schema)
    );
    if !checks.is_empty() {
        let _ = writeln!(o, "{I}{I}const T: &str = \"{}\";", s.name);
        o.push_str(&checks);
    }
    let _ = writeln!(
        o,
        "{I}{I}{I}::core::result::Result::Ok(())\n{I}{I}}}\n{I}}}\n"
    );
    // Sample
    let _ = writeln!(
        o,
        "{I}impl {rt}::Sample for {ty} {{\n{I}{I}fn sample(seed: u64) -> Self {{\n{I}{I}{I}Self {{"
    );
    for (k, f) in s.fields.iter().enumerate() {
        let _ = writeln!(
            o,
            "{I}{I}{I}{I}{}: {},",
            ident(&f.name),
            sample_expr(ctx, f, k)
        );
    }
    let _ = writeln!(o, "{I}{I}{I}}}\n{I}{I}}}\n{I}}}\n");
    o
}

/// `ToValue` / `FromValue`: the dynamic form tools print and parse (ROS field names).
fn render_value_impls(ctx: &Ctx<'_>, s: &StructDef, ty: &str) -> String {
    let rt = ctx.rt();
    let v = format!("{rt}::value");
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{I}impl {v}::ToValue for {ty} {{\n{I}{I}fn to_value(&self) -> {v}::Value {{\n\
         {I}{I}{I}{v}::Value::Struct(::std::vec![",
    );
    for f in &s.fields {
        let _ = writeln!(
            o,
            "{I}{I}{I}{I}(::std::string::String::from(\"{}\"), {v}::ToValue::to_value(&self.{})),",
            f.name,
            ident(&f.name)
        );
    }
    let _ = writeln!(o, "{I}{I}{I}])\n{I}{I}}}\n{I}}}\n");
    o.push_str(&render_visit_impl(ctx, s, ty));
    let _ = writeln!(
        o,
        "{I}impl {v}::FromValue for {ty} {{\n{I}{I}fn from_value(value: &{v}::Value) -> \
         ::core::result::Result<Self, {v}::ValueError> {{\n\
         {I}{I}{I}#[allow(unused_mut)]\n{I}{I}{I}let mut out = <Self as ::core::default::Default>::default();\n\
         {I}{I}{I}for (name, field) in value.fields(\"{}\")? {{\n{I}{I}{I}{I}match name.as_str() {{",
        s.name
    );
    for f in &s.fields {
        let _ = writeln!(
            o,
            "{I}{I}{I}{I}{I}\"{n}\" => out.{id} = {v}::FromValue::from_value(field).map_err(|e| e.at(\"{n}\"))?,",
            n = f.name,
            id = ident(&f.name)
        );
    }
    let _ = writeln!(
        o,
        "{I}{I}{I}{I}{I}other => return ::core::result::Result::Err({v}::ValueError::new(\
         ::std::format!(\"{} has no field `{{other}}`\"))),\n\
         {I}{I}{I}{I}}}\n{I}{I}{I}}}\n{I}{I}{I}::core::result::Result::Ok(out)\n{I}{I}}}\n{I}}}\n",
        s.name
    );
    o
}

/// `Visit` for the archived struct: its fields in order, where they lie.
fn render_visit_impl(ctx: &Ctx<'_>, s: &StructDef, ty: &str) -> String {
    let v = format!("{}::visit", ctx.rt());
    let names = s
        .fields
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut o = format!(
        "{I}impl {v}::Visit for Archived{ty} {{\n{I}{I}fn visit(&self, v: &mut dyn {v}::Visitor) {{\n\
         {I}{I}{I}v.begin_struct(\"{}\", &[{names}]);\n",
        s.name
    );
    for f in &s.fields {
        let _ = writeln!(
            o,
            "{I}{I}{I}{v}::Visit::visit(&self.{}, v);",
            ident(&f.name)
        );
    }
    let _ = writeln!(o, "{I}{I}{I}v.end_struct();\n{I}{I}}}\n{I}}}\n");
    o
}

fn marker(name: &TypeName, what: &str) -> String {
    format!(
        "{I}/// The {what} `{name}`.\n{I}#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]\n\
         {I}pub struct {};\n\n",
        type_ident(&name.name)
    )
}

/// The marker type of a service.
pub fn render_service(ctx: &Ctx<'_>, name: &TypeName, parts: &ServiceParts) -> String {
    let rt = ctx.rt();
    let mut o = marker(name, "service");
    let _ = writeln!(
        o,
        "{I}impl {rt}::Service for {} {{\n{I}{I}type Request = {};\n{I}{I}type Response = {};\n\
         {I}{I}type Event = {};\n{I}{I}const TYPE_NAME: &'static str = \"{name}\";\n\
         {I}{I}const TYPE_HASH: {rt}::TypeHash = {};\n{I}}}\n",
        type_ident(&name.name),
        ctx.type_path(&parts.request),
        ctx.type_path(&parts.response),
        ctx.type_path(&parts.event),
        hash_expr(ctx, name),
    );
    o
}

/// The marker type of an action.
pub fn render_action(ctx: &Ctx<'_>, name: &TypeName, p: &ActionParts) -> String {
    let rt = ctx.rt();
    let mut o = marker(name, "action");
    let _ = writeln!(
        o,
        "{I}impl {rt}::Action for {} {{\n{I}{I}type Goal = {};\n{I}{I}type Result = {};\n\
         {I}{I}type Feedback = {};\n{I}{I}type SendGoal = {};\n{I}{I}type GetResult = {};\n\
         {I}{I}type FeedbackMessage = {};\n{I}{I}const TYPE_NAME: &'static str = \"{name}\";\n\
         {I}{I}const TYPE_HASH: {rt}::TypeHash = {};\n{I}}}\n",
        type_ident(&name.name),
        ctx.type_path(&p.goal),
        ctx.type_path(&p.result),
        ctx.type_path(&p.feedback),
        ctx.type_path(&p.send_goal),
        ctx.type_path(&p.get_result),
        ctx.type_path(&p.feedback_message),
        hash_expr(ctx, name),
    );
    o
}
