//! Emitters: turn a [`crate::Registry`] into source files.
//!
//! - [`rust`]: one readable module tree (`pkg::msg::T`, `pkg::srv::...`, `pkg::action::...`) of
//!   rkyv types with CDR codecs, defaults, constants, bounds checks and type hashes;
//! - [`schema`]: a JSON Schema (draft 2020-12) per type;
//! - [`python`]: one Python module of dataclasses per package.

pub mod python;
pub mod rust;
pub mod schema;
