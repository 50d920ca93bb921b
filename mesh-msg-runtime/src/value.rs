//! Dynamic message values: every generated type converts to and from a [`Value`] tree
//! ([`ToValue`], [`FromValue`]), so tools can print messages of types they only know at run
//! time (`omni-mesh topic echo`) and build them from text (`topic pub`, `service call`).
//! Field names are the ROS names; `uint8[]`/`byte[]` sequences are [`Value::Bytes`].
//!
//! ```
//! use mesh_msg_runtime::value::{FromValue, ToValue, Value};
//! let v = Value::Struct(vec![("data".into(), Value::String("hi".into()))]);
//! assert_eq!(v.to_json(), r#"{"data":"hi"}"#);
//! assert_eq!(<Vec<u8>>::from_value(&Value::List(vec![Value::UInt(7)])).unwrap(), [7]);
//! assert_eq!(7u8.to_value(), Value::UInt(7));
//! assert!(u8::from_value(&Value::Int(-1)).is_err());
//! ```

use std::fmt::Write as _;

/// A message value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// Signed integers.
    Int(i64),
    /// Unsigned integers (and `byte`, `char`).
    UInt(u64),
    /// `float32`, `float64`.
    Float(f64),
    /// `string`, `wstring`.
    String(String),
    /// `uint8[]`, `byte[]` and their fixed and bounded forms.
    Bytes(Vec<u8>),
    /// Other arrays and sequences.
    List(Vec<Value>),
    /// A message: its fields in declaration order.
    Struct(Vec<(String, Value)>),
}

/// A value does not fit the type it is converted to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ValueError {
    /// Field path (`pose.position.x`, `points[3]`), empty at the top.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ValueError {
    /// An error about the value itself.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            path: String::new(),
            message: message.into(),
        }
    }

    /// The same error, inside field `field`.
    #[must_use]
    pub fn at(mut self, field: &str) -> Self {
        self.path = match (self.path.is_empty(), self.path.starts_with('[')) {
            (true, _) => field.to_owned(),
            (false, true) => format!("{field}{}", self.path),
            (false, false) => format!("{field}.{}", self.path),
        };
        self
    }

    fn expected(what: &str, got: &Value) -> Self {
        Self::new(format!("expected {what}, got {}", got.kind()))
    }
}

impl Value {
    /// What kind of value this is, for messages.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bool(_) => "a boolean",
            Self::Int(_) | Self::UInt(_) => "an integer",
            Self::Float(_) => "a number",
            Self::String(_) => "a string",
            Self::Bytes(_) | Self::List(_) => "a list",
            Self::Struct(_) => "a message",
        }
    }

    /// The fields of a message value (for `type_name`'s generated converter).
    ///
    /// # Errors
    /// [`ValueError`] when this is not a message.
    pub fn fields(&self, type_name: &str) -> Result<&[(String, Value)], ValueError> {
        match self {
            Self::Struct(fields) => Ok(fields),
            other => Err(Self::not(type_name, other)),
        }
    }

    fn not(type_name: &str, got: &Value) -> ValueError {
        ValueError::new(format!(
            "expected a {type_name} message (a table of fields), got {}",
            got.kind()
        ))
    }

    /// Compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Self::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            Self::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f:?}");
            }
            Self::Float(f) => {
                let _ = write!(out, "\"{f}\"");
            }
            Self::String(s) => json_string(out, s),
            Self::Bytes(b) => {
                out.push('[');
                for (i, v) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{v}");
                }
                out.push(']');
            }
            Self::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Self::Struct(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_string(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// YAML as `ros2 topic echo` prints it; arrays longer than `max_items` are summarized
    /// (`<1048576 bytes>`, `<...>` after the first items).
    #[must_use]
    pub fn to_yaml(&self, max_items: usize) -> String {
        let mut out = String::new();
        match self {
            Self::Struct(fields) => yaml_fields(&mut out, fields, 0, max_items),
            other => {
                yaml_scalar(&mut out, other, max_items);
                out.push('\n');
            }
        }
        out
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn yaml_fields(out: &mut String, fields: &[(String, Value)], depth: usize, max: usize) {
    let pad = "  ".repeat(depth);
    for (k, v) in fields {
        match v {
            Value::Struct(inner) if !inner.is_empty() => {
                let _ = writeln!(out, "{pad}{k}:");
                yaml_fields(out, inner, depth + 1, max);
            }
            Value::List(items) if items.iter().any(|i| matches!(i, Value::Struct(_))) => {
                let _ = writeln!(out, "{pad}{k}:");
                for item in items.iter().take(max) {
                    match item {
                        Value::Struct(inner) => {
                            let _ = writeln!(out, "{pad}- ");
                            yaml_fields(out, inner, depth + 1, max);
                        }
                        other => {
                            let _ = write!(out, "{pad}- ");
                            yaml_scalar(out, other, max);
                            out.push('\n');
                        }
                    }
                }
                if items.len() > max {
                    let _ = writeln!(out, "{pad}- '<{} more>'", items.len() - max);
                }
            }
            other => {
                let _ = write!(out, "{pad}{k}: ");
                yaml_scalar(out, other, max);
                out.push('\n');
            }
        }
    }
}

fn yaml_scalar(out: &mut String, v: &Value, max: usize) {
    match v {
        Value::String(s) => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
        Value::Bytes(b) if b.len() > max => {
            let _ = write!(out, "'<{} bytes>'", b.len());
        }
        Value::List(items) if items.len() > max => {
            out.push('[');
            for item in items.iter().take(max) {
                yaml_scalar(out, item, max);
                out.push_str(", ");
            }
            let _ = write!(out, "'<{} more>']", items.len() - max);
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                yaml_scalar(out, item, max);
            }
            out.push(']');
        }
        Value::Struct(f) if f.is_empty() => out.push_str("{}"),
        other => other.write_json(out),
    }
}

/// Converts a value of a generated type (or a field type) to a [`Value`].
pub trait ToValue {
    /// This value.
    fn to_value(&self) -> Value;

    /// A sequence of such values (bytes become [`Value::Bytes`]).
    fn seq_to_value(items: &[Self]) -> Value
    where
        Self: Sized,
    {
        Value::List(items.iter().map(ToValue::to_value).collect())
    }
}

/// Builds a generated type (or a field type) from a [`Value`].
pub trait FromValue: Sized {
    /// This type from `value`.
    ///
    /// # Errors
    /// [`ValueError`] naming the field path and the mismatch.
    fn from_value(value: &Value) -> Result<Self, ValueError>;

    /// A sequence of such values.
    ///
    /// # Errors
    /// As [`from_value`](Self::from_value), with the index in the path.
    fn seq_from_value(value: &Value) -> Result<Vec<Self>, ValueError> {
        match value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Self::from_value(v).map_err(|e| e.at(&format!("[{i}]"))))
                .collect(),
            Value::Bytes(bytes) => bytes
                .iter()
                .map(|b| Self::from_value(&Value::UInt(u64::from(*b))))
                .collect(),
            other => Err(ValueError::expected("a list", other)),
        }
    }
}

macro_rules! int_value {
    ($variant:ident, $wide:ty, $($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::$variant(<$wide>::from(*self))
            }
        }
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self, ValueError> {
                let out_of_range = || ValueError::new(format!(
                    "{} is out of range for {}", value.to_json(), stringify!($t)));
                match value {
                    Value::Int(i) => <$t>::try_from(*i).map_err(|_| out_of_range()),
                    Value::UInt(u) => <$t>::try_from(*u).map_err(|_| out_of_range()),
                    Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                        <$t>::try_from(*f as i64).map_err(|_| out_of_range())
                    }
                    Value::Bool(b) => Ok(<$t>::from(*b)),
                    other => Err(ValueError::expected("an integer", other)),
                }
            }
        }
    )*};
}

int_value!(Int, i64, i8, i16, i32, i64);
int_value!(UInt, u64, u16, u32, u64);

impl ToValue for u8 {
    fn to_value(&self) -> Value {
        Value::UInt(u64::from(*self))
    }

    fn seq_to_value(items: &[Self]) -> Value {
        Value::Bytes(items.to_vec())
    }
}

impl FromValue for u8 {
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Int(i) => u8::try_from(*i).ok(),
            Value::UInt(u) => u8::try_from(*u).ok(),
            Value::Bool(b) => Some(u8::from(*b)),
            Value::String(s) if s.len() == 1 => Some(s.as_bytes()[0]),
            other => return Err(ValueError::expected("an integer 0-255", other)),
        }
        .ok_or_else(|| ValueError::new(format!("{} is out of range for u8", value.to_json())))
    }

    fn seq_from_value(value: &Value) -> Result<Vec<Self>, ValueError> {
        match value {
            Value::Bytes(b) => Ok(b.clone()),
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| u8::from_value(v).map_err(|e| e.at(&format!("[{i}]"))))
                .collect(),
            other => Err(ValueError::expected("a list of bytes", other)),
        }
    }
}

macro_rules! float_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Float(f64::from(*self))
            }
        }
        impl FromValue for $t {
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            fn from_value(value: &Value) -> Result<Self, ValueError> {
                match value {
                    Value::Float(f) => Ok(*f as $t),
                    Value::Int(i) => Ok(*i as $t),
                    Value::UInt(u) => Ok(*u as $t),
                    Value::String(s) => s.parse().map_err(|_| ValueError::expected("a number", value)),
                    other => Err(ValueError::expected("a number", other)),
                }
            }
        }
    )*};
}

float_value!(f32, f64);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) | Value::UInt(0) => Ok(false),
            Value::Int(1) | Value::UInt(1) => Ok(true),
            other => Err(ValueError::expected("true or false", other)),
        }
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            other => Err(ValueError::expected("a string", other)),
        }
    }
}

impl ToValue for crate::WString {
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl FromValue for crate::WString {
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        String::from_value(value).map(crate::WString)
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        T::seq_to_value(self)
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        T::seq_from_value(value)
    }
}

impl<T: ToValue, const N: usize> ToValue for [T; N] {
    fn to_value(&self) -> Value {
        T::seq_to_value(self)
    }
}

impl<T: FromValue, const N: usize> FromValue for [T; N] {
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        let items = T::seq_from_value(value)?;
        let len = items.len();
        items
            .try_into()
            .map_err(|_| ValueError::new(format!("expected exactly {N} items, got {len}")))
    }
}
