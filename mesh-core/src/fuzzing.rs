//! The body of the envelope decoder fuzz target (`mesh-core/fuzz`), shared with the test that
//! replays its corpus.

use crate::envelope::{Envelope, Limits, Verifier};
use crate::security::{AnyValidKey, TrustStore};

/// Parses arbitrary bytes as an envelope and, when they parse, runs verification. Must never
/// panic.
pub fn parse_and_verify(data: &[u8]) {
    let limits = Limits {
        max_payload: 1 << 20,
    };
    let Ok(env) = Envelope::parse(data, &limits) else {
        return;
    };
    let header = env.header();
    assert!(header.payload_len() as usize <= data.len());
    assert_eq!(env.payload().len(), header.payload_len() as usize);
    let trust = TrustStore::new();
    let mut verifier = Verifier::new(8);
    if let Ok(verified) = verifier.verify(env, &AnyValidKey(&trust)) {
        assert_eq!(verified.as_bytes(), data);
    }
}
