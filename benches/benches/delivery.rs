//! Delivery engine cost per message: a publisher engine and a subscriber engine wired back to
//! back (no network), 10k pre-signed 64-byte messages (Merkle batches of 64) per iteration.
//! Timed: publish (history, fan-out), receive (admission with the verified-root cache,
//! ordering, dedup, gap buffer), take. Cases: in order, and with 10% of frames reordered
//! (swapped with a frame up to 8 positions later). Signing happens in the untimed setup.
//!
//! Run: `cargo bench -p mesh-benches --bench delivery`.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mesh_core::delivery::{
    DeliveryConfig, DeliveryEngine, History, InboxConfig, NodeAddr, Qos, ReaderId,
    SecurityAdmission, WriterId,
};
use mesh_core::envelope::{sign_batch, Envelope, Signed};
use mesh_core::identity::NodeKey;
use mesh_core::security::{Route, SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};

const N: u64 = 10_000;

struct Setup {
    writer: DeliveryEngine<SecurityAdmission>,
    reader: DeliveryEngine<SecurityAdmission>,
    w: WriterId,
    r: ReaderId,
    signed: Vec<Envelope<Signed>>,
}

fn engine(trust: &TrustStore) -> DeliveryEngine<SecurityAdmission> {
    let config = SecurityConfig {
        mode: SecurityMode::Lightweight,
        verify_budget_per_sec: u32::MAX,
        verify_burst: u32::MAX,
        ..SecurityConfig::default()
    };
    let policy = SecurityPolicy::new(config, trust.clone());
    DeliveryEngine::new(SecurityAdmission::new(policy), DeliveryConfig::default())
}

fn setup() -> Setup {
    let key = NodeKey::from_seed(&[1; 32]);
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let route = Route::new("/bench/topic", [9; 32]);
    let qos = Qos::reliable().with_history(History::KeepLast(64));
    let mut writer = engine(&trust);
    let mut reader = engine(&trust);
    let w = writer.add_writer(route.clone(), key.public(), 1, qos);
    let r = reader.add_reader(
        0,
        route,
        qos,
        InboxConfig {
            capacity: N as usize,
            ..InboxConfig::default()
        },
    );
    writer.match_remote_reader(0, w, NodeAddr(1), qos);
    reader.match_remote_writer(0, r, NodeAddr(0), key.public(), qos);
    while let Some(t) = writer.poll_transmit() {
        reader.handle_input(0, NodeAddr(0), t.bytes);
    }
    let first = writer.next_fields(w, 0).expect("writer exists");
    let mut signed = Vec::with_capacity(N as usize);
    for chunk in 0..N / 64 {
        let batch = (0..64)
            .map(|j| {
                let mut f = first;
                f.sequence += chunk * 64 + j;
                Envelope::new(f, &[0x33; 64]).expect("fits")
            })
            .collect();
        signed.extend(sign_batch(&key, batch).expect("batch"));
    }
    Setup {
        writer,
        reader,
        w,
        r,
        signed,
    }
}

fn run(mut s: Setup, reorder: bool) -> usize {
    let mut frames: Vec<Bytes> = Vec::with_capacity(s.signed.len());
    for env in s.signed.drain(..) {
        s.writer.publish(1, s.w, env).expect("in stream");
        while let Some(t) = s.writer.poll_transmit() {
            frames.push(t.bytes);
        }
    }
    if reorder {
        // Deterministic 10%: every tenth frame swaps with one up to 8 positions later.
        for i in (0..frames.len().saturating_sub(8)).step_by(10) {
            frames.swap(i, i + 1 + i % 8);
        }
    }
    let mut got = 0;
    for f in frames {
        s.reader.handle_input(2, NodeAddr(0), f);
        while s.reader.take(2, s.r).is_some() {
            got += 1;
        }
    }
    assert_eq!(got as u64, N - N % 64);
    got
}

fn delivery(c: &mut Criterion) {
    let mut g = c.benchmark_group("delivery_engine");
    g.throughput(Throughput::Elements(N - N % 64));
    g.sample_size(20);
    g.bench_function("in_order", |b| {
        b.iter_batched(setup, |s| run(s, false), BatchSize::LargeInput)
    });
    g.bench_function("reordered_10pct", |b| {
        b.iter_batched(setup, |s| run(s, true), BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, delivery);
criterion_main!(benches);
