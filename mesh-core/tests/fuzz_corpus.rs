//! Replays the envelope fuzz corpus through the fuzz target's body, plus freshly signed
//! envelopes of every form and every truncation of them.

mod common;

use std::path::Path;

use mesh_core::envelope::{sign_batch, Envelope};
use mesh_core::fuzzing::parse_and_verify;
use mesh_core::identity::NodeKey;

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/envelope_decode")
}

fn samples() -> Vec<Vec<u8>> {
    let key = NodeKey::from_seed(&[7; 32]);
    let mut out = vec![common::unsigned("/fuzz", 1, 0).sign(&key).into_inner()];
    out.push(common::unsigned("/fuzz", 2, 64).sign(&key).into_inner());
    let batch = (0..3)
        .map(|i| common::unsigned("/fuzz", 10 + i, 8))
        .collect();
    out.extend(
        sign_batch(&key, batch)
            .unwrap()
            .into_iter()
            .map(Envelope::into_inner),
    );
    out
}

#[test]
fn fuzz_corpus_replays_without_panics() {
    let files: Vec<_> = std::fs::read_dir(corpus_dir()).unwrap().flatten().collect();
    assert!(files.len() >= 5, "seed corpus missing");
    for file in files {
        parse_and_verify(&std::fs::read(file.path()).unwrap());
    }
}

#[test]
fn signed_envelopes_and_their_truncations_replay() {
    for sample in samples() {
        for cut in 0..=sample.len() {
            parse_and_verify(&sample[..cut]);
        }
    }
}

/// Regenerates the seed corpus: `cargo test -p mesh-core --test fuzz_corpus -- --ignored`.
#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (i, sample) in samples().into_iter().enumerate() {
        std::fs::write(dir.join(format!("signed_{i}")), &sample).unwrap();
    }
}
