//! The interface model: what a parsed `.msg`/`.srv`/`.action` means, independent of syntax.
//!
//! The parser produces it, the resolver links and expands it, and every emitter (Rust, CDR,
//! JSON Schema, type hash, later Python) reads only this.

use std::fmt;
use std::path::PathBuf;

/// A primitive field type and its CDR/Rust meaning (GRAMMAR-FACTS D.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `bool`
    Bool,
    /// `byte` (IDL octet, 0..=255)
    Byte,
    /// `char` (IDL uint8 in ROS 2, 0..=255)
    Char,
    /// `int8`
    Int8,
    /// `uint8`
    UInt8,
    /// `int16`
    Int16,
    /// `uint16`
    UInt16,
    /// `int32`
    Int32,
    /// `uint32`
    UInt32,
    /// `int64`
    Int64,
    /// `uint64`
    UInt64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
}

impl Primitive {
    /// All primitives with their `.msg` keyword.
    pub const ALL: [(&'static str, Primitive); 13] = [
        ("bool", Self::Bool),
        ("byte", Self::Byte),
        ("char", Self::Char),
        ("int8", Self::Int8),
        ("uint8", Self::UInt8),
        ("int16", Self::Int16),
        ("uint16", Self::UInt16),
        ("int32", Self::Int32),
        ("uint32", Self::UInt32),
        ("int64", Self::Int64),
        ("uint64", Self::UInt64),
        ("float32", Self::Float32),
        ("float64", Self::Float64),
    ];

    /// Looks up a `.msg` keyword.
    #[must_use]
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL.iter().find(|(k, _)| *k == word).map(|(_, p)| *p)
    }

    /// The `.msg` keyword.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(k, _)| k)
    }

    /// Inclusive integer range of the type, `None` for bool and floats.
    #[must_use]
    pub fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            Self::Byte | Self::Char | Self::UInt8 => (0, 255),
            Self::Int8 => (-128, 127),
            Self::Int16 => (i16::MIN.into(), i16::MAX.into()),
            Self::UInt16 => (0, u16::MAX.into()),
            Self::Int32 => (i32::MIN.into(), i32::MAX.into()),
            Self::UInt32 => (0, u32::MAX.into()),
            Self::Int64 => (i64::MIN.into(), i64::MAX.into()),
            Self::UInt64 => (0, u64::MAX.into()),
            Self::Bool | Self::Float32 | Self::Float64 => return None,
        })
    }

    /// True for `float32` and `float64`.
    #[must_use]
    pub fn is_float(self) -> bool {
        matches!(self, Self::Float32 | Self::Float64)
    }
}

/// The element type of a field, before any array suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseType {
    /// A primitive number or bool.
    Primitive(Primitive),
    /// `string` or `string<=N`.
    String {
        /// `Some(N)` for `string<=N`.
        bound: Option<u32>,
    },
    /// `wstring` or `wstring<=N`.
    WString {
        /// `Some(N)` for `wstring<=N`.
        bound: Option<u32>,
    },
    /// A message type, always in some package's `msg/` namespace.
    Named(TypeName),
}

/// The array suffix of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrayKind {
    /// No suffix.
    Single,
    /// `T[N]`
    Fixed(u32),
    /// `T[<=N]`
    Bounded(u32),
    /// `T[]`
    Unbounded,
}

/// A field's complete type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// Element type.
    pub base: BaseType,
    /// Array suffix.
    pub array: ArrayKind,
}

/// Which namespace of a package a type lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `pkg/msg/...`
    Msg,
    /// `pkg/srv/...`
    Srv,
    /// `pkg/action/...`
    Action,
}

impl Kind {
    /// `msg`, `srv` or `action`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Msg => "msg",
            Self::Srv => "srv",
            Self::Action => "action",
        }
    }
}

/// A fully qualified interface name such as `std_msgs/msg/String` or
/// `example_interfaces/srv/AddTwoInts_Request`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeName {
    /// ROS package.
    pub package: String,
    /// Namespace inside the package.
    pub kind: Kind,
    /// Type name inside the namespace; generated types carry ROS's `_Request`-style suffixes.
    pub name: String,
}

impl TypeName {
    /// Builds a name.
    #[must_use]
    pub fn new(package: &str, kind: Kind, name: &str) -> Self {
        Self {
            package: package.to_owned(),
            kind,
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.package, self.kind.as_str(), self.name)
    }
}

/// A literal value from a default or constant, already checked against its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// Any integer type (range-checked).
    Int(i128),
    /// `float32`/`float64`.
    Float(f64),
    /// `string`/`wstring`, with quotes and escapes resolved.
    String(String),
    /// An array default.
    Array(Vec<Value>),
}

/// A 1-based position in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Span {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

/// Documentation attached to a type, field or constant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    /// Comment text with `#` markers removed and dedented.
    pub text: String,
    /// A `[unit]` annotation pulled out of the comment, if any.
    pub unit: Option<String>,
}

/// A field of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name as written.
    pub name: String,
    /// Type.
    pub ty: FieldType,
    /// Declared default, if any.
    pub default: Option<Value>,
    /// Attached comments.
    pub doc: Doc,
    /// Where the type token starts.
    pub span: Span,
}

/// The type of a constant: a plain primitive or an unbounded (w)string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstType {
    /// A number or bool.
    Primitive(Primitive),
    /// `string`
    String,
    /// `wstring`
    WString,
}

/// A named constant of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Constant name.
    pub name: String,
    /// Type.
    pub ty: ConstType,
    /// Value.
    pub value: Value,
    /// Attached comments.
    pub doc: Doc,
    /// Where the line starts.
    pub span: Span,
}

/// One struct: a message or one generated part of a service or action.
#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    /// Fully qualified name.
    pub name: TypeName,
    /// The section's file-level comment.
    pub doc: Doc,
    /// Fields in wire order. Empty sections get the dummy member during resolution.
    pub fields: Vec<Field>,
    /// Constants in file order.
    pub constants: Vec<Constant>,
    /// File the struct came from.
    pub source: PathBuf,
}

/// The member a struct without fields gets (GRAMMAR-FACTS H.39).
pub const DUMMY_MEMBER: &str = "structure_needs_at_least_one_member";

/// A parsed interface file.
#[derive(Debug, Clone, PartialEq)]
pub enum Interface {
    /// `.msg`
    Message(StructDef),
    /// `.srv`: request and response sections.
    Service {
        /// `pkg/srv/S`
        name: TypeName,
        /// `S_Request`
        request: StructDef,
        /// `S_Response`
        response: StructDef,
    },
    /// `.action`: goal, result and feedback sections.
    Action {
        /// `pkg/action/A`
        name: TypeName,
        /// `A_Goal`
        goal: StructDef,
        /// `A_Result`
        result: StructDef,
        /// `A_Feedback`
        feedback: StructDef,
    },
}

impl Interface {
    /// The interface's own name (`pkg/msg/T`, `pkg/srv/S` or `pkg/action/A`).
    #[must_use]
    pub fn name(&self) -> &TypeName {
        match self {
            Self::Message(s) => &s.name,
            Self::Service { name, .. } | Self::Action { name, .. } => name,
        }
    }

    /// The sections as written in the file.
    #[must_use]
    pub fn sections(&self) -> Vec<&StructDef> {
        match self {
            Self::Message(s) => vec![s],
            Self::Service {
                request, response, ..
            } => vec![request, response],
            Self::Action {
                goal,
                result,
                feedback,
                ..
            } => vec![goal, result, feedback],
        }
    }
}
