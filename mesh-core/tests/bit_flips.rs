//! Every single-bit flip of 1,000 signed envelopes (single and batch signatures) is rejected.

mod common;

use mesh_core::envelope::{sign_batch, Envelope, Limits, Verifier};
use mesh_core::identity::NodeKey;
use mesh_core::security::TrustStore;

#[test]
fn every_single_bit_flip_of_1000_envelopes_is_rejected() {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let mut envelopes: Vec<Vec<u8>> = Vec::new();
    for i in 0..500u64 {
        envelopes.push(
            common::unsigned("/fleet/amr_1/odom", i, 16)
                .sign(&key)
                .into_inner(),
        );
    }
    for pair in 0..250u64 {
        let batch = vec![
            common::unsigned("/fleet/amr_1/odom", 1000 + 2 * pair, 16),
            common::unsigned("/fleet/amr_1/odom", 1001 + 2 * pair, 16),
        ];
        envelopes.extend(
            sign_batch(&key, batch)
                .unwrap()
                .into_iter()
                .map(Envelope::into_inner),
        );
    }
    assert_eq!(envelopes.len(), 1000);
    let limits = Limits::default();
    let flips_checked: usize = std::thread::scope(|s| {
        let workers: Vec<_> = envelopes
            .chunks(envelopes.len() / 2)
            .map(|chunk| {
                let trust = &trust;
                s.spawn(move || {
                    let mut verifier = Verifier::new(1024);
                    let mut checked = 0;
                    for original in chunk {
                        let ok = Envelope::parse(original.as_slice(), &limits).unwrap();
                        assert!(
                            verifier.verify(ok, trust).is_ok(),
                            "unmodified envelope verifies"
                        );
                        let mut bytes = original.clone();
                        for bit in 0..bytes.len() * 8 {
                            bytes[bit / 8] ^= 1 << (bit % 8);
                            let accepted = Envelope::parse(bytes.as_slice(), &limits)
                                .is_ok_and(|env| verifier.verify(env, trust).is_ok());
                            assert!(!accepted, "flip of bit {bit} was accepted");
                            bytes[bit / 8] ^= 1 << (bit % 8);
                            checked += 1;
                        }
                    }
                    checked
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    // 500 single (152 + 16 + 64 bytes) and 500 batch (152 + 16 + 72 + 32 bytes) envelopes.
    assert_eq!(flips_checked, 500 * 232 * 8 + 500 * 272 * 8);
}
