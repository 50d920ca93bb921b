//! Fuzzes the envelope decoder and the verification behind it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mesh_core::fuzzing::parse_and_verify(data);
});
