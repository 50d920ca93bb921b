//! Adaptive signing: a message published into an idle queue is signed alone (lowest latency);
//! messages that queued up while the signer was busy are signed together under one Merkle
//! root (highest throughput). The caller drains its queue and hands over whatever is there.

use super::merkle::{sign_batch, MAX_BATCH};
use super::{Envelope, Signed, Unsigned};
use crate::identity::NodeKey;

/// Picks the signature form from how many envelopes are waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveSigner {
    max_batch: usize,
}

impl Default for AdaptiveSigner {
    /// Batches of up to 256 (an 8-level path, 328-byte trailer).
    fn default() -> Self {
        Self { max_batch: 256 }
    }
}

impl AdaptiveSigner {
    /// A signer that puts at most `max_batch` envelopes under one signature (1 = always single).
    #[must_use]
    pub fn new(max_batch: usize) -> Self {
        Self {
            max_batch: max_batch.clamp(1, MAX_BATCH),
        }
    }

    /// Signs everything that was waiting: one envelope alone, more in batches of up to
    /// `max_batch`, in order.
    #[must_use]
    pub fn sign(
        &self,
        key: &NodeKey,
        mut waiting: Vec<Envelope<Unsigned>>,
    ) -> Vec<Envelope<Signed>> {
        if waiting.len() <= 1 || self.max_batch == 1 {
            return waiting.into_iter().map(|e| e.sign(key)).collect();
        }
        let mut out = Vec::with_capacity(waiting.len());
        while !waiting.is_empty() {
            let rest = waiting.split_off(waiting.len().min(self.max_batch));
            let chunk = std::mem::replace(&mut waiting, rest);
            if chunk.len() == 1 {
                out.extend(chunk.into_iter().map(|e| e.sign(key)));
            } else {
                // A chunk is never empty nor larger than MAX_BATCH.
                out.extend(sign_batch(key, chunk).unwrap_or_default());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{EnvelopeFields, TopicId, FLAG_BATCH};

    fn env(seq: u64) -> Envelope<Unsigned> {
        let fields = EnvelopeFields {
            topic: TopicId::of("/t"),
            type_hash: [0; 32],
            epoch: 1,
            sequence: seq,
            timestamp_ns: 0,
        };
        Envelope::new(fields, b"x").unwrap()
    }

    #[test]
    fn idle_is_single_busy_is_batched_in_order() {
        let key = NodeKey::generate();
        let signer = AdaptiveSigner::new(4);
        let one = signer.sign(&key, vec![env(0)]);
        assert_eq!(one[0].header().flags() & FLAG_BATCH, 0);
        let many = signer.sign(&key, (0..9).map(env).collect());
        let seqs: Vec<u64> = many.iter().map(|e| e.header().sequence()).collect();
        assert_eq!(seqs, (0..9).collect::<Vec<_>>());
        let batched = many
            .iter()
            .filter(|e| e.header().flags() & FLAG_BATCH != 0)
            .count();
        assert_eq!(batched, 8, "two batches of 4, the ninth alone");
    }
}
