//! Located problems in interface files, printed as `path:line:col: error: message`.

use std::fmt;
use std::path::PathBuf;

use crate::model::Span;

/// One problem found in an interface file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The file.
    pub path: PathBuf,
    /// Where in the file (1-based).
    pub span: Span,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.path.display(),
            self.span.line,
            self.span.col,
            self.problem
        )
    }
}

/// Everything that can be wrong with an interface file or a set of them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The file is not UTF-8.
    #[error("file is not valid UTF-8 (byte offset {0})")]
    NotUtf8(usize),
    /// The file stem is not a valid type name.
    #[error("file name `{0}` is not a valid type name (expected CamelCase like `RobotState`)")]
    InvalidFileName(String),
    /// A package directory name is invalid.
    #[error("package name `{0}` is invalid (expected lower_snake_case like `geometry_msgs`)")]
    InvalidPackageName(String),
    /// The same package appears under two roots.
    #[error("package `{package}` is also defined in `{other}`")]
    DuplicatePackage {
        /// Package name.
        package: String,
        /// The other directory.
        other: String,
    },
    /// A definition line starts with whitespace.
    #[error("definition lines must start in column 1 (only comment lines may be indented)")]
    Indented,
    /// A line has a type but no name.
    #[error("expected `TYPE NAME`, `TYPE NAME DEFAULT` or `TYPE NAME=VALUE` after type `{0}`")]
    MissingName(String),
    /// A type token is neither a primitive nor a valid message reference.
    #[error("invalid type `{0}`: expected a primitive or `Type`/`pkg/Type` in CamelCase")]
    InvalidType(String),
    /// A type reference has more than one `/`.
    #[error("type reference `{0}` has more than one `/` (expected `pkg/Type`)")]
    TooManySlashes(String),
    /// `time` or `duration` (ROS 1 builtins).
    #[error("`{0}` is a ROS 1 builtin without a ROS 2 mapping; use `builtin_interfaces/{1}`")]
    LegacyTime(String, &'static str),
    /// A malformed `[...]` suffix.
    #[error(
        "invalid array suffix `{0}`: expected `[N]`, `[<=N]` or `[]` with N a positive integer"
    )]
    InvalidArraySuffix(String),
    /// A `[0]` or `[<=0]` suffix.
    #[error("array size must be at least 1, got `{0}`")]
    ZeroArraySize(String),
    /// A malformed `string<=N`.
    #[error("invalid string bound in `{0}`: expected `string<=N` or `wstring<=N` with N >= 1")]
    InvalidStringBound(String),
    /// A `<=` bound on a type other than string/wstring.
    #[error("only `string` and `wstring` take a `<=N` bound, not `{0}`")]
    BoundOnNonString(String),
    /// A field name breaks the naming rule.
    #[error("invalid field name `{0}`: use lower_snake_case starting with a letter, no `__`, not ending in `_`")]
    InvalidFieldName(String),
    /// A constant name breaks the naming rule.
    #[error("invalid constant name `{0}`: use UPPER_SNAKE_CASE, no `__`, not ending in `_`")]
    InvalidConstantName(String),
    /// A field name repeats within a section.
    #[error("duplicate field name `{0}`")]
    DuplicateField(String),
    /// A constant name repeats within a section.
    #[error("duplicate constant name `{0}`")]
    DuplicateConstant(String),
    /// A default on a message-typed field.
    #[error("field of message type `{0}` cannot have a default value")]
    DefaultOnNested(String),
    /// A constant of a type that constants cannot have.
    #[error("constant type must be a plain primitive, `string` or `wstring`, not `{0}`")]
    InvalidConstantType(String),
    /// A constant without a value.
    #[error("constant `{0}` has no value after `=`")]
    MissingConstantValue(String),
    /// A literal does not parse as its type or is out of range.
    #[error("invalid {ty} value `{value}`: {reason}")]
    InvalidValue {
        /// The type keyword.
        ty: String,
        /// The literal text.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An array default not in `[...]`.
    #[error("array default must start with `[` and end with `]`, got `{0}`")]
    ArrayLiteralSyntax(String),
    /// A fixed array default with the wrong number of elements.
    #[error("array default has {found} elements, the type needs exactly {expected}")]
    ArrayLengthMismatch {
        /// N of `T[N]`.
        expected: u32,
        /// Elements given.
        found: usize,
    },
    /// A bounded sequence default over its bound.
    #[error("sequence default has {found} elements, the bound is {max}")]
    ArrayTooLong {
        /// N of `T[<=N]`.
        max: u32,
        /// Elements given.
        found: usize,
    },
    /// A string default over its bound.
    #[error("string default has {len} characters, the bound is {max}")]
    StringTooLong {
        /// N of `string<=N`.
        max: u32,
        /// Characters given.
        len: usize,
    },
    /// A quoted string with an unescaped inner quote.
    #[error("quote inside quoted string `{0}` must be escaped with `\\`")]
    UnescapedQuote(String),
    /// A malformed element list in a string-array default.
    #[error("malformed string array default `{0}`: {1}")]
    StringArraySyntax(String, &'static str),
    /// Wrong number of `---` separators.
    #[error("a .{kind} file needs exactly {expected} `---` separator line(s), found {found}")]
    SeparatorCount {
        /// `msg`, `srv` or `action`.
        kind: &'static str,
        /// Required count.
        expected: usize,
        /// Count found.
        found: usize,
    },
    /// A separator line with surrounding whitespace.
    #[error("separator must be exactly `---` with no surrounding spaces")]
    SeparatorWithSpaces,
    /// A reference to a type that no root defines.
    #[error("unknown type `{0}`{1}")]
    UnknownType(String, &'static str),
    /// Message types that contain each other.
    #[error("type cycle: {0}")]
    TypeCycle(String),
    /// No package was found under the given roots.
    #[error("no interface packages found (expected DIR/<pkg>/msg|srv|action/*.msg|.srv|.action)")]
    NoPackages,
}
