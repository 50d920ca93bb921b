//! Envelope costs beside the raw primitives they are built on, in one run, for 64 B, 4 KiB and
//! 1 MiB payloads:
//! - `raw/blake3_payload`, `raw/ed25519_sign`, `raw/ed25519_verify_strict` (ed25519-dalek on
//!   a 184-byte message, the size of what an envelope signs);
//! - `envelope/build` (header encode + payload copy + BLAKE3), `envelope/sign` (build + sign),
//!   `envelope/parse` (header checks), `envelope/verify` (parse + digest + strict verify);
//! - `batch64/`: 64 single-signed envelopes through `Verifier::verify_many` vs raw
//!   `ed25519_dalek::verify_batch` of 64, and through a batch signature with the root cache;
//! - `local_admit/`: what a local subscriber pays per envelope from another host: the full
//!   receive path (`Receiver::admit`: checks, digest, signature) vs the same path on the host
//!   daemon's attestation (`Receiver::admit_attested`: checks, digest, keyed BLAKE3 tag).
//!
//! Run: `cargo bench -p mesh-benches --bench envelope`; `scripts/bench-table` prints ratios.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ed25519_dalek::{Signer as _, SigningKey};
use mesh_benches::envelopes::unsigned;
use mesh_core::envelope::{sign_batch, Envelope, Limits, Verifier, HEADER_LEN};
use mesh_core::identity::NodeKey;
use mesh_core::security::attest::HostKey;
use mesh_core::security::{
    PeerId, Route, SecurityConfig, SecurityMode, SecurityPolicy, TrustStore,
};

const SIZES: [(usize, &str); 3] = [(64, "64B"), (4096, "4KiB"), (1 << 20, "1MiB")];

fn single(c: &mut Criterion) {
    let seed = [9u8; 32];
    let key = NodeKey::from_seed(&seed);
    let raw = SigningKey::from_bytes(&seed);
    let raw_vk = raw.verifying_key();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let limits = Limits::default();
    let signed_msg = [0x5au8; 184];
    let raw_sig = raw.sign(&signed_msg);
    let mut g = c.benchmark_group("envelope");
    for (len, label) in SIZES {
        let payload = vec![0xa5u8; len];
        let wire = unsigned(1, &payload).sign(&key).into_inner();
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("raw_blake3_payload", label), |b| {
            b.iter(|| blake3::hash(black_box(&payload)));
        });
        g.bench_function(BenchmarkId::new("raw_ed25519_sign_184B", label), |b| {
            b.iter(|| raw.sign(black_box(&signed_msg)));
        });
        g.bench_function(
            BenchmarkId::new("raw_ed25519_verify_strict_184B", label),
            |b| {
                b.iter(|| {
                    raw_vk
                        .verify_strict(black_box(&signed_msg), &raw_sig)
                        .is_ok()
                });
            },
        );
        g.bench_function(BenchmarkId::new("build", label), |b| {
            b.iter(|| unsigned(1, black_box(&payload)));
        });
        g.bench_function(BenchmarkId::new("sign", label), |b| {
            b.iter(|| unsigned(1, black_box(&payload)).sign(&key));
        });
        g.bench_function(BenchmarkId::new("parse", label), |b| {
            b.iter(|| Envelope::parse(black_box(wire.as_slice()), &limits).is_ok());
        });
        g.bench_function(BenchmarkId::new("verify", label), |b| {
            b.iter(|| {
                let env = Envelope::parse(black_box(wire.as_slice()), &limits).unwrap();
                env.verify(&trust).is_ok()
            });
        });
    }
    g.finish();
}

fn batches(c: &mut Criterion) {
    let key = NodeKey::from_seed(&[3; 32]);
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let limits = Limits::default();
    let payload = [0x11u8; 64];
    let singles: Vec<Vec<u8>> = (0..64)
        .map(|i| unsigned(i, &payload).sign(&key).into_inner())
        .collect();
    let batch: Vec<Vec<u8>> = sign_batch(&key, (0..64).map(|i| unsigned(i, &payload)).collect())
        .unwrap()
        .into_iter()
        .map(Envelope::into_inner)
        .collect();
    let raw = SigningKey::from_bytes(&[3; 32]);
    let msgs: Vec<[u8; 184]> = (0..64u8).map(|i| [i; 184]).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let sigs: Vec<_> = msgs.iter().map(|m| raw.sign(m)).collect();
    let vks = vec![raw.verifying_key(); 64];
    let mut g = c.benchmark_group("batch64");
    g.throughput(Throughput::Elements(64));
    g.bench_function("raw_ed25519_verify_batch", |b| {
        b.iter(|| ed25519_dalek::verify_batch(black_box(&refs), &sigs, &vks).is_ok());
    });
    g.bench_function("verify_many_single_signed", |b| {
        b.iter(|| {
            let parsed = singles
                .iter()
                .map(|w| Envelope::parse(w.as_slice(), &limits).unwrap())
                .collect();
            Verifier::new(16).verify_many(parsed, &trust).len()
        });
    });
    g.bench_function("batch_signed_cold_cache", |b| {
        b.iter(|| {
            let mut v = Verifier::new(16);
            batch
                .iter()
                .filter(|w| {
                    v.verify(Envelope::parse(w.as_slice(), &limits).unwrap(), &trust)
                        .is_ok()
                })
                .count()
        });
    });
    g.bench_function("sign_batch", |b| {
        b.iter(|| {
            sign_batch(&key, (0..64).map(|i| unsigned(i, &payload)).collect())
                .unwrap()
                .len()
        });
    });
    g.finish();
}

fn local_admit(c: &mut Criterion) {
    let key = NodeKey::from_seed(&[9u8; 32]);
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let config = SecurityConfig {
        mode: SecurityMode::Lightweight,
        // Unbounded here: the bench measures the work, not the budget.
        verify_budget_per_sec: u32::MAX,
        verify_burst: u32::MAX,
        ..SecurityConfig::default()
    };
    let policy = SecurityPolicy::new(config, trust);
    let route = Route::new("/fleet/amr_1/odom", [0x42; 32]);
    let host = HostKey::generate();
    let now = 1_764_000_000_000_000_000;
    let mut g = c.benchmark_group("local_admit");
    for (len, label) in SIZES {
        let wire = unsigned(1, &vec![0xa5u8; len]).sign(&key).into_inner();
        let tag = host.tag(&wire[..HEADER_LEN]);
        let mut rx = policy.receiver();
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("signature", label), |b| {
            b.iter(|| {
                rx.admit(&policy, PeerId(0), black_box(wire.as_slice()), &route, now)
                    .is_ok()
            });
        });
        g.bench_function(BenchmarkId::new("host_attestation", label), |b| {
            b.iter(|| {
                rx.admit_attested(
                    &policy,
                    black_box(wire.as_slice()),
                    &tag,
                    Some(&host),
                    &route,
                    now,
                )
                .is_ok()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, single, batches, local_admit);
criterion_main!(benches);
