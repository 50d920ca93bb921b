//! Fuzzes the interface parser and the whole generation pipeline behind it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mesh_codegen::fuzzing::parse_and_generate(data);
});
