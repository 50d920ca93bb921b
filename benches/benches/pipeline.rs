//! The signing pipeline with real threads: publisher (the bench thread) -> queue -> signer
//! thread (`AdaptiveSigner`: alone when idle, Merkle batches when messages queue up) ->
//! verifier thread (parse + `Verifier` with its root cache) -> acknowledgement.
//!
//! In one run, for 64-byte payloads:
//! - `throughput/adaptive`: 100k messages pushed as fast as the publisher can;
//! - `throughput/single_only`: the same pipeline forced to one signature per message
//!   (2k messages, the reference the ≥25x goal is measured against);
//! - `idle_latency/{adaptive,single_only}`: one message at a time through the idle pipeline,
//!   publish to verified (threads block on channels: expect cross-core wake-up costs).
//!
//! Run: `cargo bench -p mesh-benches --bench pipeline`.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mesh_benches::envelopes::unsigned;
use mesh_core::envelope::{AdaptiveSigner, Envelope, Limits, Signed, Unsigned, Verifier};
use mesh_core::identity::NodeKey;
use mesh_core::security::TrustStore;

const PAYLOAD: [u8; 64] = [0x77; 64];

struct Pipeline {
    input: Option<Sender<Envelope<Unsigned>>>,
    acks: Receiver<usize>,
    threads: Vec<JoinHandle<()>>,
    next_seq: u64,
}

impl Pipeline {
    fn start(signer: AdaptiveSigner) -> Self {
        let key = Arc::new(NodeKey::from_seed(&[5; 32]));
        let mut trust = TrustStore::new();
        trust.add_publisher(key.public());
        let (input, queue) = channel::<Envelope<Unsigned>>();
        let (to_verifier, signed) = channel::<Vec<Envelope<Signed>>>();
        let (ack, acks) = channel::<usize>();
        let signer_thread = std::thread::spawn(move || {
            while let Ok(first) = queue.recv() {
                let mut waiting = vec![first];
                waiting.extend(queue.try_iter().take(4095));
                if to_verifier.send(signer.sign(&key, waiting)).is_err() {
                    return;
                }
            }
        });
        let verifier_thread = std::thread::spawn(move || {
            let limits = Limits::default();
            let mut verifier = Verifier::new(1024);
            for batch in signed {
                let n = batch.len();
                for env in batch {
                    let wire = env.into_inner();
                    let received = Envelope::parse(wire.as_slice(), &limits).expect("well formed");
                    assert!(
                        verifier.verify(received, &trust).is_ok(),
                        "pipeline envelope verifies"
                    );
                }
                if ack.send(n).is_err() {
                    return;
                }
            }
        });
        Self {
            input: Some(input),
            acks,
            threads: vec![signer_thread, verifier_thread],
            next_seq: 0,
        }
    }

    /// Publishes `n` envelopes and waits until all are verified.
    fn run(&mut self, n: usize) -> Duration {
        let start = Instant::now();
        let input = self.input.as_ref().expect("running");
        for _ in 0..n {
            self.next_seq += 1;
            input
                .send(unsigned(self.next_seq, &PAYLOAD))
                .expect("signer alive");
        }
        let mut done = 0;
        while done < n {
            done += self.acks.recv().expect("verifier alive");
        }
        start.elapsed()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.input.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("throughput");
    g.sample_size(10);
    for (name, signer, n) in [
        ("adaptive", AdaptiveSigner::default(), 100_000usize),
        ("single_only", AdaptiveSigner::new(1), 2_000),
    ] {
        let mut pipeline = Pipeline::start(signer);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| pipeline.run(n)).sum());
        });
    }
    g.finish();
}

fn idle_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("idle_latency");
    for (name, signer) in [
        ("adaptive", AdaptiveSigner::default()),
        ("single_only", AdaptiveSigner::new(1)),
    ] {
        let mut pipeline = Pipeline::start(signer);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| pipeline.run(1)).sum());
        });
    }
    g.finish();
}

criterion_group!(benches, throughput, idle_latency);
criterion_main!(benches);
