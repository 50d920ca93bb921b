//! Batch signatures: one Ed25519 signature over the Merkle root of up to [`MAX_BATCH`]
//! envelope headers. Each envelope carries its leaf index and inclusion path, so it stays
//! verifiable on its own after relays and store-and-forward hops.
//!
//! Trailer of a batch envelope: `signature[64] | leaf_index u32 LE | depth u8 | 0 0 0 |
//! siblings[depth][32]`. Leaves are keyed BLAKE3 of the header, inner nodes keyed BLAKE3 of
//! `left | right`, missing leaves of the last level a fixed padding hash; the signed message is
//! `BATCH_TAG | depth | root`.

use std::sync::OnceLock;

use super::header::{FLAG_BATCH, HEADER_LEN};
use super::sign::SIGNATURE_LEN;
use super::{Envelope, Signed, Unsigned};
use crate::identity::NodeKey;

/// Deepest tree: `2^16` envelopes per signature.
pub const MAX_BATCH_DEPTH: u8 = 16;
/// Most envelopes one batch signature covers.
pub const MAX_BATCH: usize = 1 << MAX_BATCH_DEPTH;
/// Signature, leaf index, depth and reserved bytes.
pub(crate) const BATCH_FIXED_LEN: usize = SIGNATURE_LEN + 8;
const BATCH_TAG: &[u8; 32] = b"omni-mesh/envelope/v1/batch-root";

/// Trailer length of a batch envelope with a path of `depth` siblings.
pub(crate) fn batch_trailer_len(depth: u8) -> usize {
    BATCH_FIXED_LEN + 32 * usize::from(depth)
}

struct Keys {
    leaf: [u8; 32],
    node: [u8; 32],
    padding: [u8; 32],
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        leaf: blake3::derive_key("omni-mesh envelope v1 merkle leaf", &[]),
        node: blake3::derive_key("omni-mesh envelope v1 merkle node", &[]),
        padding: blake3::derive_key("omni-mesh envelope v1 merkle padding", &[]),
    })
}

/// Leaf hash of a header.
pub(crate) fn leaf(header: &[u8]) -> [u8; 32] {
    *blake3::keyed_hash(&keys().leaf, header).as_bytes()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(left);
    both[32..].copy_from_slice(right);
    *blake3::keyed_hash(&keys().node, &both).as_bytes()
}

/// The message a batch signature covers.
pub(crate) fn root_message(depth: u8, root: &[u8; 32]) -> [u8; 65] {
    let mut msg = [0u8; 65];
    msg[..32].copy_from_slice(BATCH_TAG);
    msg[32] = depth;
    msg[33..].copy_from_slice(root);
    msg
}

/// Recomputes the root from a leaf and its path.
pub(crate) fn root_from_path(mut hash: [u8; 32], index: u32, siblings: &[u8]) -> [u8; 32] {
    for (level, sibling) in siblings.chunks_exact(32).enumerate() {
        let mut s = [0u8; 32];
        s.copy_from_slice(sibling);
        hash = if (index >> level) & 1 == 0 {
            node(&hash, &s)
        } else {
            node(&s, &hash)
        };
    }
    hash
}

/// A batch could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// Nothing to sign.
    #[error("empty batch")]
    Empty,
    /// More envelopes than one signature may cover.
    #[error("batch of {len} envelopes exceeds the maximum {MAX_BATCH}")]
    TooLarge {
        /// Envelopes given.
        len: usize,
    },
}

fn depth_for(n: usize) -> u8 {
    let mut depth = 0u8;
    while (1usize << depth) < n {
        depth += 1;
    }
    depth
}

/// Signs `envelopes` with one signature over their Merkle root.
pub fn sign_batch(
    key: &NodeKey,
    mut envelopes: Vec<Envelope<Unsigned>>,
) -> Result<Vec<Envelope<Signed>>, BatchError> {
    let n = envelopes.len();
    if n == 0 {
        return Err(BatchError::Empty);
    }
    if n > MAX_BATCH {
        return Err(BatchError::TooLarge { len: n });
    }
    let depth = depth_for(n);
    let publisher = key.public();
    let mut level: Vec<[u8; 32]> = envelopes
        .iter_mut()
        .map(|e| {
            e.seal_header(&publisher, FLAG_BATCH, batch_trailer_len(depth));
            leaf(&e.as_bytes()[..HEADER_LEN])
        })
        .collect();
    level.resize(1 << depth, keys().padding);
    let mut levels = vec![level];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().map(Vec::as_slice).unwrap_or_default();
        let above: Vec<[u8; 32]> = below.chunks_exact(2).map(|p| node(&p[0], &p[1])).collect();
        levels.push(above);
    }
    let root = levels
        .last()
        .and_then(|l| l.first())
        .copied()
        .unwrap_or_default();
    let signature = key.sign(&root_message(depth, &root));
    let mut path = Vec::with_capacity(32 * usize::from(depth));
    Ok(envelopes
        .into_iter()
        .enumerate()
        .map(|(i, env)| {
            path.clear();
            for (l, nodes) in levels[..usize::from(depth)].iter().enumerate() {
                path.extend_from_slice(&nodes[(i >> l) ^ 1]);
            }
            let index = u32::try_from(i).unwrap_or(u32::MAX).to_le_bytes();
            env.finish(&[&signature, &index, &[depth, 0, 0, 0], &path])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_ceil_log2() {
        assert_eq!(depth_for(1), 0);
        assert_eq!(depth_for(2), 1);
        assert_eq!(depth_for(3), 2);
        assert_eq!(depth_for(1024), 10);
        assert_eq!(depth_for(1025), 11);
    }
}
