//! [`Envelope<Unverified>`] -> [`Envelope<Verified>`]: payload digest, then the signature with
//! strict Ed25519 semantics (canonical `s`, no small-order `R` or key). [`Verifier`] adds a cache
//! of verified batch roots (a batch costs one Ed25519 verification per receiver) and batch
//! verification of single signatures that arrive together.

use std::collections::{HashMap, VecDeque};

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};

use super::header::{FLAG_BATCH, FLAG_UNSIGNED, HEADER_LEN};
use super::merkle::{leaf, root_from_path, root_message};
use super::sign::{single_message, SIGNATURE_LEN};
use super::{Envelope, Unverified, Verified};

/// Where verification finds publisher keys (the trust store, or a development-mode resolver).
pub trait PublisherKeys {
    /// The prepared key for `publisher`, if it may publish at all.
    fn verifying_key(&self, publisher: &[u8; 32]) -> Option<VerifyingKey>;
}

/// An envelope failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The envelope carries no signature (only the development-mode path accepts it).
    #[error("envelope is unsigned")]
    Unsigned,
    /// The publisher is not known (or not allowed) here.
    #[error("unknown publisher")]
    UnknownPublisher,
    /// The payload does not match the digest the publisher signed.
    #[error("payload digest mismatch")]
    PayloadDigestMismatch,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

struct Checked {
    key: VerifyingKey,
    signature: Signature,
}

impl<B: AsRef<[u8]>> Envelope<Unverified, B> {
    /// Checks digest and signature against `keys`; batch envelopes are checked through their
    /// inclusion path (use a [`Verifier`] to cache verified roots).
    pub fn verify(self, keys: &impl PublisherKeys) -> Result<Envelope<Verified, B>, VerifyError> {
        let checked = self.precheck(keys)?;
        if self.header().flags() & FLAG_BATCH != 0 {
            let (_, message) = self.batch_root();
            strict(&checked, &message)?;
        } else {
            strict(&checked, &single_message(&self.as_bytes()[..HEADER_LEN]))?;
        }
        Ok(Envelope::with_state(self.buf))
    }

    /// Cheap checks shared by every path: signature present, publisher known, digest matches.
    fn precheck(&self, keys: &impl PublisherKeys) -> Result<Checked, VerifyError> {
        let header = self.header();
        if header.flags() & FLAG_UNSIGNED != 0 {
            return Err(VerifyError::Unsigned);
        }
        let key = keys
            .verifying_key(&header.publisher())
            .ok_or(VerifyError::UnknownPublisher)?;
        if blake3::hash(self.payload()).as_bytes() != &header.payload_digest() {
            return Err(VerifyError::PayloadDigestMismatch);
        }
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(&self.trailer()[..SIGNATURE_LEN]);
        Ok(Checked {
            key,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// The Merkle root this batch envelope proves membership in, and the message signed over
    /// that root.
    fn batch_root(&self) -> ([u8; 32], [u8; 65]) {
        let trailer = self.trailer();
        let index = u32::from_le_bytes([trailer[64], trailer[65], trailer[66], trailer[67]]);
        let depth = trailer[68];
        let root = root_from_path(leaf(&self.as_bytes()[..HEADER_LEN]), index, &trailer[72..]);
        (root, root_message(depth, &root))
    }
}

fn strict(c: &Checked, message: &[u8]) -> Result<(), VerifyError> {
    c.key
        .verify_strict(message, &c.signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// True when a signature passes the checks `verify_strict` adds beyond the batch equation:
/// canonical `s`, and `R` a valid point not of small order. Keys in a [`PublisherKeys`] are
/// validated when added.
fn strict_shape(signature: &Signature) -> bool {
    let r = CompressedEdwardsY(*signature.r_bytes());
    let s_canonical = bool::from(Scalar::from_canonical_bytes(*signature.s_bytes()).is_some());
    s_canonical && r.decompress().is_some_and(|point| !point.is_small_order())
}

/// Verified batch roots: root -> (publisher, signature) that proved it. The default (randomly
/// seeded) hasher: roots can be ground by a publisher to collide in an unkeyed hash.
type RootCache = HashMap<[u8; 32], ([u8; 32], [u8; 64])>;

/// Verifies envelopes with a cache of verified batch roots.
#[derive(Default)]
pub struct Verifier {
    roots: RootCache,
    order: VecDeque<[u8; 32]>,
    capacity: usize,
    ed25519_verifications: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("cached_roots", &self.roots.len())
            .field("ed25519_verifications", &self.ed25519_verifications)
            .finish()
    }
}

impl Verifier {
    /// A verifier remembering up to `capacity` verified batch roots.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ..Self::default()
        }
    }

    /// Ed25519 verifications performed so far (cache hits and batch checks save them).
    #[must_use]
    pub fn ed25519_verifications(&self) -> u64 {
        self.ed25519_verifications
    }

    fn remember(&mut self, root: [u8; 32], publisher: [u8; 32], signature: [u8; 64]) {
        if self.roots.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.roots.remove(&old);
            }
        }
        if self.roots.insert(root, (publisher, signature)).is_none() {
            self.order.push_back(root);
        }
    }

    /// Verifies one envelope; a batch envelope whose root (with the same publisher and
    /// signature) was verified before costs no Ed25519 operation.
    pub fn verify<B: AsRef<[u8]>>(
        &mut self,
        env: Envelope<Unverified, B>,
        keys: &impl PublisherKeys,
    ) -> Result<Envelope<Verified, B>, VerifyError> {
        let checked = env.precheck(keys)?;
        self.verify_checked(env, &checked)
    }

    /// The signature part of [`Verifier::verify`], after `precheck`.
    fn verify_checked<B: AsRef<[u8]>>(
        &mut self,
        env: Envelope<Unverified, B>,
        checked: &Checked,
    ) -> Result<Envelope<Verified, B>, VerifyError> {
        let header = env.header();
        if header.flags() & FLAG_BATCH == 0 {
            self.ed25519_verifications += 1;
            strict(checked, &single_message(&env.as_bytes()[..HEADER_LEN]))?;
            return Ok(Envelope::with_state(env.buf));
        }
        let (root, message) = env.batch_root();
        let publisher = header.publisher();
        let signature = checked.signature.to_bytes();
        if self.roots.get(&root) == Some(&(publisher, signature)) {
            return Ok(Envelope::with_state(env.buf));
        }
        self.ed25519_verifications += 1;
        strict(checked, &message)?;
        self.remember(root, publisher, signature);
        Ok(Envelope::with_state(env.buf))
    }

    /// Verifies several waiting envelopes. Single signatures are checked together with one
    /// Ed25519 batch equation (falling back to one-by-one when the batch fails, to find the
    /// bad ones); batch envelopes go through the root cache.
    pub fn verify_many<B: AsRef<[u8]>>(
        &mut self,
        envelopes: Vec<Envelope<Unverified, B>>,
        keys: &impl PublisherKeys,
    ) -> Vec<Result<Envelope<Verified, B>, VerifyError>> {
        let mut results: Vec<Option<Result<Envelope<Verified, B>, VerifyError>>> = Vec::new();
        let mut pending: Vec<(usize, Envelope<Unverified, B>, Checked)> = Vec::new();
        for (i, env) in envelopes.into_iter().enumerate() {
            results.push(None);
            let single = env.header().flags() & FLAG_BATCH == 0;
            match env.precheck(keys) {
                Err(e) => results[i] = Some(Err(e)),
                Ok(c) if single && strict_shape(&c.signature) => pending.push((i, env, c)),
                Ok(_) if single => results[i] = Some(Err(VerifyError::BadSignature)),
                Ok(c) => results[i] = Some(self.verify_checked(env, &c)),
            }
        }
        if !pending.is_empty() {
            let messages: Vec<_> = pending
                .iter()
                .map(|(_, e, _)| single_message(&e.as_bytes()[..HEADER_LEN]))
                .collect();
            let refs: Vec<&[u8]> = messages.iter().map(<[u8; 184]>::as_slice).collect();
            let sigs: Vec<Signature> = pending.iter().map(|(_, _, c)| c.signature).collect();
            let vks: Vec<VerifyingKey> = pending.iter().map(|(_, _, c)| c.key).collect();
            self.ed25519_verifications += 1;
            let all_good = ed25519_dalek::verify_batch(&refs, &sigs, &vks).is_ok();
            for ((i, env, c), msg) in pending.into_iter().zip(&messages) {
                let outcome = if all_good {
                    Ok(())
                } else {
                    self.ed25519_verifications += 1;
                    strict(&c, msg)
                };
                results[i] = Some(outcome.map(|()| Envelope::with_state(env.buf)));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(VerifyError::BadSignature)))
            .collect()
    }
}
