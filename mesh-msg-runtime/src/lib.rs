//! Runtime support for the Rust types that `mesh-codegen` generates from ROS 2 interface files.
//!
//! Generated code depends only on this crate. It owns:
//! - the traits every generated type implements ([`Message`], [`Service`], [`Action`],
//!   [`Sample`]),
//! - the classic CDR codec (XCDR1 with the 4-byte encapsulation header) that makes the types
//!   byte-compatible with ROS 2 DDS middlewares ([`cdr`]),
//! - bounds errors for `string<=N` and `T[<=N]` ([`BoundsError`]),
//! - RIHS01 type hashes ([`TypeHash`]),
//! - the UTF-16 `wstring` type ([`WString`]),
//! - dynamic values for tools ([`value`]),
//! - walking archived messages in place ([`visit`]),
//! - a re-export of `rkyv`, which generated types derive for zero-copy access.
//!
//! ```
//! use mesh_msg_runtime::{cdr::CdrWriter, cdr::CdrReader, cdr::Cdr};
//! let mut w = CdrWriter::new();
//! 7u8.encode(&mut w);
//! 1.5f64.encode(&mut w); // padded to an 8-byte boundary after the header
//! let bytes = w.finish().unwrap();
//! assert_eq!(bytes.len(), 4 + 8 + 8);
//! let mut r = CdrReader::new(&bytes).unwrap();
//! assert_eq!(u8::decode(&mut r).unwrap(), 7);
//! assert_eq!(f64::decode(&mut r).unwrap(), 1.5);
//! ```

pub mod bounds;
pub mod cdr;
pub mod hash;
mod sample;
mod traits;
pub mod value;
pub mod visit;
mod wstring;

pub use bounds::{BoundsError, BoundsViolation};
pub use hash::{ParseTypeHashError, TypeHash};
pub use rkyv;
pub use sample::{sample_string, Sample};
pub use traits::{Action, Message, Service, ZeroCopyError};
pub use wstring::WString;
