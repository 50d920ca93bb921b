//! Walking a message where it lies: every generated archived type implements [`Visit`],
//! which reports its fields in declaration order to a [`Visitor`]. Arrays and sequences of
//! primitives arrive whole, as [`Prims`] slices of the archive itself, so a visitor can
//! expose them without copying (the Python binding hands out memoryviews over them); others
//! copy what they need ([`ValueBuilder`] makes a [`Value`]).
//!
//! ```
//! use mesh_msg_runtime::value::Value;
//! use mesh_msg_runtime::visit::{Prims, Visit, ValueBuilder, Visitor};
//! use mesh_msg_runtime::rkyv::{self, rancor::Error, vec::ArchivedVec};
//!
//! let bytes = rkyv::to_bytes::<Error>(&vec![1.5f32, 2.5]).unwrap();
//! let archived = rkyv::access::<ArchivedVec<rkyv::Archived<f32>>, Error>(&bytes).unwrap();
//! let mut builder = ValueBuilder::default();
//! archived.visit(&mut builder);
//! assert_eq!(builder.finish(), Some(Value::List(vec![Value::Float(1.5), Value::Float(2.5)])));
//!
//! // The primitives are reported as one slice of the archive:
//! struct Spans(Vec<(usize, usize, &'static str)>);
//! impl Visitor for Spans {
//!     fn prims(&mut self, items: Prims<'_>) {
//!         self.0.push((items.addr(), items.len(), items.format()));
//!     }
//!     fn bool(&mut self, _: bool) {}
//!     fn int(&mut self, _: i64) {}
//!     fn uint(&mut self, _: u64) {}
//!     fn float(&mut self, _: f64) {}
//!     fn string(&mut self, _: &str) {}
//!     fn begin_list(&mut self, _: usize) {}
//!     fn end_list(&mut self) {}
//!     fn begin_struct(&mut self, _: &'static str, _: &'static [&'static str]) {}
//!     fn end_struct(&mut self) {}
//! }
//! let mut spans = Spans(Vec::new());
//! archived.visit(&mut spans);
//! assert_eq!(spans.0, [(archived.as_slice().as_ptr() as usize, 2, "f")]);
//! ```

use rkyv::rend::{f32_le, f64_le, i16_le, i32_le, i64_le, u16_le, u32_le, u64_le};
use rkyv::string::ArchivedString;
use rkyv::vec::ArchivedVec;

use crate::value::Value;

/// A run of primitives inside an archive, little-endian (rkyv's layout on every host).
#[derive(Debug, Clone, Copy)]
pub enum Prims<'a> {
    /// `bool[]`.
    Bool(&'a [bool]),
    /// `uint8[]`, `byte[]`, `char[]`.
    U8(&'a [u8]),
    /// `int8[]`.
    I8(&'a [i8]),
    /// `int16[]`.
    I16(&'a [i16_le]),
    /// `uint16[]`.
    U16(&'a [u16_le]),
    /// `int32[]`.
    I32(&'a [i32_le]),
    /// `uint32[]`.
    U32(&'a [u32_le]),
    /// `int64[]`.
    I64(&'a [i64_le]),
    /// `uint64[]`.
    U64(&'a [u64_le]),
    /// `float32[]`.
    F32(&'a [f32_le]),
    /// `float64[]`.
    F64(&'a [f64_le]),
}

macro_rules! each_prims {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Prims::Bool($s) => $e,
            Prims::U8($s) => $e,
            Prims::I8($s) => $e,
            Prims::I16($s) => $e,
            Prims::U16($s) => $e,
            Prims::I32($s) => $e,
            Prims::U32($s) => $e,
            Prims::I64($s) => $e,
            Prims::U64($s) => $e,
            Prims::F32($s) => $e,
            Prims::F64($s) => $e,
        }
    };
}

impl Prims<'_> {
    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        each_prims!(self, s => s.len())
    }

    /// No elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Address of the first element (inside the archive).
    #[must_use]
    pub fn addr(&self) -> usize {
        each_prims!(self, s => s.as_ptr() as usize)
    }

    /// Bytes per element.
    #[must_use]
    pub fn elem_size(&self) -> usize {
        match self {
            Self::Bool(_) | Self::U8(_) | Self::I8(_) => 1,
            Self::I16(_) | Self::U16(_) => 2,
            Self::I32(_) | Self::U32(_) | Self::F32(_) => 4,
            Self::I64(_) | Self::U64(_) | Self::F64(_) => 8,
        }
    }

    /// The element's format code in Python's `struct` module (native sizes, which equal the
    /// archive's on little-endian hosts).
    #[must_use]
    pub fn format(&self) -> &'static str {
        match self {
            Self::Bool(_) => "?",
            Self::U8(_) => "B",
            Self::I8(_) => "b",
            Self::I16(_) => "h",
            Self::U16(_) => "H",
            Self::I32(_) => "i",
            Self::U32(_) => "I",
            Self::I64(_) => "q",
            Self::U64(_) => "Q",
            Self::F32(_) => "f",
            Self::F64(_) => "d",
        }
    }

    /// The elements as a value: `uint8` runs are [`Value::Bytes`], others lists (as the
    /// owned types' [`ToValue`](crate::value::ToValue) makes them).
    #[must_use]
    pub fn to_value(&self) -> Value {
        fn list<T: Copy>(s: &[T], f: impl Fn(T) -> Value) -> Value {
            Value::List(s.iter().map(|x| f(*x)).collect())
        }
        match *self {
            Self::Bool(s) => list(s, Value::Bool),
            Self::U8(s) => Value::Bytes(s.to_vec()),
            Self::I8(s) => list(s, |x| Value::Int(x.into())),
            Self::I16(s) => list(s, |x| Value::Int(x.to_native().into())),
            Self::U16(s) => list(s, |x| Value::UInt(x.to_native().into())),
            Self::I32(s) => list(s, |x| Value::Int(x.to_native().into())),
            Self::U32(s) => list(s, |x| Value::UInt(x.to_native().into())),
            Self::I64(s) => list(s, |x| Value::Int(x.to_native())),
            Self::U64(s) => list(s, |x| Value::UInt(x.to_native())),
            Self::F32(s) => list(s, |x| Value::Float(x.to_native().into())),
            Self::F64(s) => list(s, |x| Value::Float(x.to_native())),
        }
    }
}

/// Receives a message's parts in declaration order.
pub trait Visitor {
    /// A `bool`.
    fn bool(&mut self, v: bool);
    /// A signed integer.
    fn int(&mut self, v: i64);
    /// An unsigned integer.
    fn uint(&mut self, v: u64);
    /// A float.
    fn float(&mut self, v: f64);
    /// A `string` or `wstring`.
    fn string(&mut self, v: &str);
    /// An array or sequence of primitives, in place.
    fn prims(&mut self, items: Prims<'_>);
    /// An array or sequence of strings or messages: `len` items follow, then
    /// [`end_list`](Self::end_list).
    fn begin_list(&mut self, len: usize);
    /// The end of a list.
    fn end_list(&mut self);
    /// A message of type `type_name` (`pkg/msg/Type`): one item per field follows, then
    /// [`end_struct`](Self::end_struct).
    fn begin_struct(&mut self, type_name: &'static str, fields: &'static [&'static str]);
    /// The end of a message.
    fn end_struct(&mut self);
}

/// An archived value that reports itself to a [`Visitor`].
pub trait Visit {
    /// Reports this value.
    fn visit(&self, v: &mut dyn Visitor);

    /// Reports a run of these values (primitives override it to hand the run over whole).
    fn visit_seq(items: &[Self], v: &mut dyn Visitor)
    where
        Self: Sized,
    {
        v.begin_list(items.len());
        for item in items {
            item.visit(v);
        }
        v.end_list();
    }
}

macro_rules! visit_prim {
    ($($t:ty => $variant:ident, $method:ident, $conv:expr;)*) => {$(
        impl Visit for $t {
            fn visit(&self, v: &mut dyn Visitor) {
                #[allow(clippy::redundant_closure_call)]
                v.$method(($conv)(*self));
            }
            fn visit_seq(items: &[Self], v: &mut dyn Visitor) {
                v.prims(Prims::$variant(items));
            }
        }
    )*};
}

visit_prim! {
    bool => Bool, bool, |x| x;
    u8 => U8, uint, u64::from;
    i8 => I8, int, i64::from;
    i16_le => I16, int, |x: i16_le| i64::from(x.to_native());
    u16_le => U16, uint, |x: u16_le| u64::from(x.to_native());
    i32_le => I32, int, |x: i32_le| i64::from(x.to_native());
    u32_le => U32, uint, |x: u32_le| u64::from(x.to_native());
    i64_le => I64, int, |x: i64_le| x.to_native();
    u64_le => U64, uint, |x: u64_le| x.to_native();
    f32_le => F32, float, |x: f32_le| f64::from(x.to_native());
    f64_le => F64, float, |x: f64_le| x.to_native();
}

impl Visit for ArchivedString {
    fn visit(&self, v: &mut dyn Visitor) {
        v.string(self.as_str());
    }
}

impl Visit for crate::wstring::ArchivedWString {
    fn visit(&self, v: &mut dyn Visitor) {
        v.string(self.0.as_str());
    }
}

impl<T: Visit> Visit for ArchivedVec<T> {
    fn visit(&self, v: &mut dyn Visitor) {
        T::visit_seq(self.as_slice(), v);
    }
}

impl<T: Visit, const N: usize> Visit for [T; N] {
    fn visit(&self, v: &mut dyn Visitor) {
        T::visit_seq(self, v);
    }
}

/// Builds a [`Value`] from a visit (what [`ToValue`](crate::value::ToValue) makes of the
/// owned message).
#[derive(Debug, Default)]
pub struct ValueBuilder {
    stack: Vec<Open>,
    done: Option<Value>,
}

#[derive(Debug)]
enum Open {
    List(Vec<Value>),
    Struct(&'static [&'static str], Vec<(String, Value)>),
}

impl ValueBuilder {
    /// The value built, once the outermost item has ended.
    #[must_use]
    pub fn finish(self) -> Option<Value> {
        self.done
    }

    fn put(&mut self, value: Value) {
        match self.stack.last_mut() {
            Some(Open::List(items)) => items.push(value),
            Some(Open::Struct(names, fields)) => {
                let name = names.get(fields.len()).copied().unwrap_or("?");
                fields.push((name.to_owned(), value));
            }
            None => self.done = Some(value),
        }
    }
}

impl Visitor for ValueBuilder {
    fn bool(&mut self, v: bool) {
        self.put(Value::Bool(v));
    }
    fn int(&mut self, v: i64) {
        self.put(Value::Int(v));
    }
    fn uint(&mut self, v: u64) {
        self.put(Value::UInt(v));
    }
    fn float(&mut self, v: f64) {
        self.put(Value::Float(v));
    }
    fn string(&mut self, v: &str) {
        self.put(Value::String(v.to_owned()));
    }
    fn prims(&mut self, items: Prims<'_>) {
        self.put(items.to_value());
    }
    fn begin_list(&mut self, len: usize) {
        self.stack.push(Open::List(Vec::with_capacity(len)));
    }
    fn end_list(&mut self) {
        if let Some(Open::List(items)) = self.stack.pop() {
            self.put(Value::List(items));
        }
    }
    fn begin_struct(&mut self, _type_name: &'static str, fields: &'static [&'static str]) {
        self.stack
            .push(Open::Struct(fields, Vec::with_capacity(fields.len())));
    }
    fn end_struct(&mut self) {
        if let Some(Open::Struct(_, fields)) = self.stack.pop() {
            self.put(Value::Struct(fields));
        }
    }
}
