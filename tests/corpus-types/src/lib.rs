//! Rust types generated from the whole ROS 2 interface corpus (238 files in 24 packages),
//! so tests can prove the generator's output compiles, round-trips and matches ROS 2 bytes.

/// Directory the corpus was generated from.
pub const CORPUS_DIR: &str = env!("OMNI_ROS2_CORPUS_DIR");

include!(concat!(env!("OUT_DIR"), "/corpus/mod.rs"));

#[cfg(test)]
mod cdr_vectors;
#[cfg(test)]
mod roundtrip;
