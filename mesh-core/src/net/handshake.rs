//! The link handshake, sans-IO: both ends prove who they are before any envelope flows.
//!
//! Each side sends `Hello` (magic `OMHS`, version, its Ed25519 public key, a fresh 32-byte
//! nonce, a byte of offered features such as link compression). On the peer's `Hello` a side checks that the key is valid and admitted by its
//! security policy (trusted and not revoked, or any valid key in development mode), then sends
//! `Proof`: an Ed25519 signature over the transcript (a domain tag, both keys, both nonces
//! and both feature bytes in initiator/responder order, and the signer's role). The link uses
//! the features both sides offered; since they are signed, nobody in between can strip one. A side is established when the
//! peer's `Proof` verifies (strict verification). Fresh nonces on both sides make a recorded
//! handshake useless to replay, and the role byte stops a reflected proof.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::identity::{Did, NodeKey, PublicKey};

const MAGIC: &[u8; 4] = b"OMHS";
const VERSION: u8 = 1;
const HELLO_LEN: usize = 4 + 1 + 1 + 32 + 32 + 1;
const PROOF_TAG: u8 = 0x50;
const PROOF_LEN: usize = 1 + 64;
const DOMAIN: &[u8] = b"omni-mesh link handshake v1";

/// Which end of the connection this side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opened the connection.
    Initiator,
    /// Accepted it.
    Responder,
}

impl Role {
    fn byte(self) -> u8 {
        match self {
            Self::Initiator => 1,
            Self::Responder => 2,
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Initiator => Self::Responder,
            Self::Responder => Self::Initiator,
        }
    }
}

/// The handshake failed; the link must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The first frame is not a well-formed `Hello`.
    #[error("malformed hello: {0}")]
    BadHello(&'static str),
    /// The peer speaks another handshake version.
    #[error("peer speaks handshake version {0}, this node speaks {VERSION}")]
    Version(u8),
    /// The peer's key is not admitted by this node's security policy.
    #[error("peer {0} is not trusted here (unknown or revoked)")]
    Untrusted(Did),
    /// The peer's hello claims to be the same role as this side.
    #[error("both ends claim the same role")]
    RoleConflict,
    /// The proof is malformed or its signature does not verify.
    #[error("the peer's proof of identity does not verify")]
    BadProof,
    /// A frame arrived after the handshake ended or out of order.
    #[error("unexpected handshake frame")]
    Unexpected,
}

/// What the runtime must do after feeding a frame.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// A frame to send to the peer.
    pub send: Option<Vec<u8>>,
    /// Set once the peer is authenticated.
    pub established: Option<PublicKey>,
    /// The features both sides offered (valid once established).
    pub negotiated: u8,
}

/// One side's handshake state.
#[derive(Debug)]
pub struct Handshake<'k> {
    role: Role,
    key: &'k NodeKey,
    nonce: [u8; 32],
    features: u8,
    peer: Option<(PublicKey, [u8; 32], u8)>,
    done: bool,
}

impl<'k> Handshake<'k> {
    /// Starts a handshake as `role` with a fresh `nonce`, offering no features; returns the
    /// `Hello` frame to send.
    #[must_use]
    pub fn start(role: Role, key: &'k NodeKey, nonce: [u8; 32]) -> (Self, Vec<u8>) {
        Self::start_offering(role, key, nonce, 0)
    }

    /// As [`start`](Self::start), offering `features` (bits such as
    /// [`FEATURE_LZ4`](super::compress::FEATURE_LZ4)).
    #[must_use]
    pub fn start_offering(
        role: Role,
        key: &'k NodeKey,
        nonce: [u8; 32],
        features: u8,
    ) -> (Self, Vec<u8>) {
        let mut hello = Vec::with_capacity(HELLO_LEN);
        hello.extend_from_slice(MAGIC);
        hello.push(VERSION);
        hello.push(role.byte());
        hello.extend_from_slice(key.public().as_bytes());
        hello.extend_from_slice(&nonce);
        hello.push(features);
        let state = Self {
            role,
            key,
            nonce,
            features,
            peer: None,
            done: false,
        };
        (state, hello)
    }

    /// Feeds one frame from the peer; `admits` is the security policy's peer check.
    ///
    /// # Errors
    /// Any [`HandshakeError`]: the link must be closed.
    pub fn on_frame(
        &mut self,
        frame: &[u8],
        admits: impl Fn(&PublicKey) -> bool,
    ) -> Result<Output, HandshakeError> {
        if self.done {
            return Err(HandshakeError::Unexpected);
        }
        match self.peer {
            None => self.on_hello(frame, admits),
            Some((peer, _, features)) => {
                self.check_proof(frame, &peer)?;
                self.done = true;
                Ok(Output {
                    send: None,
                    established: Some(peer),
                    negotiated: self.features & features,
                })
            }
        }
    }

    fn on_hello(
        &mut self,
        frame: &[u8],
        admits: impl Fn(&PublicKey) -> bool,
    ) -> Result<Output, HandshakeError> {
        if frame.len() != HELLO_LEN {
            return Err(HandshakeError::BadHello("wrong length"));
        }
        if &frame[..4] != MAGIC {
            return Err(HandshakeError::BadHello("wrong magic"));
        }
        if frame[4] != VERSION {
            return Err(HandshakeError::Version(frame[4]));
        }
        if frame[5] != self.role.other().byte() {
            return Err(HandshakeError::RoleConflict);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&frame[6..38]);
        let peer =
            PublicKey::from_bytes(key).map_err(|_| HandshakeError::BadHello("invalid key"))?;
        if !admits(&peer) {
            return Err(HandshakeError::Untrusted(Did::from(peer)));
        }
        let mut nonce = [0u8; 32];
        nonce.copy_from_slice(&frame[38..70]);
        self.peer = Some((peer, nonce, frame[70]));
        let mut proof = Vec::with_capacity(PROOF_LEN);
        proof.push(PROOF_TAG);
        proof.extend_from_slice(&self.key.sign(&self.transcript(self.role)));
        Ok(Output {
            send: Some(proof),
            established: None,
            negotiated: 0,
        })
    }

    fn check_proof(&self, frame: &[u8], peer: &PublicKey) -> Result<(), HandshakeError> {
        if frame.len() != PROOF_LEN || frame[0] != PROOF_TAG {
            return Err(HandshakeError::BadProof);
        }
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&frame[1..]);
        let vk = VerifyingKey::from_bytes(peer.as_bytes()).map_err(|_| HandshakeError::BadProof)?;
        vk.verify_strict(
            &self.transcript(self.role.other()),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| HandshakeError::BadProof)
    }

    /// What `signer` signs: the domain, both keys, nonces and feature bytes (initiator
    /// first), the role.
    fn transcript(&self, signer: Role) -> Vec<u8> {
        let me = (self.key.public().to_bytes(), self.nonce, self.features);
        let peer = self
            .peer
            .map_or(([0; 32], [0; 32], 0), |(k, n, f)| (k.to_bytes(), n, f));
        let (initiator, responder) = match self.role {
            Role::Initiator => (me, peer),
            Role::Responder => (peer, me),
        };
        let mut t = Vec::with_capacity(DOMAIN.len() + 131);
        t.extend_from_slice(DOMAIN);
        for (key, nonce, features) in [initiator, responder] {
            t.extend_from_slice(&key);
            t.extend_from_slice(&nonce);
            t.push(features);
        }
        t.push(signer.byte());
        t
    }
}

/// A fresh random nonce.
#[must_use]
pub fn fresh_nonce() -> [u8; 32] {
    let mut nonce = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        a: &NodeKey,
        b: &NodeKey,
        b_trusts_a: bool,
    ) -> (
        Result<PublicKey, HandshakeError>,
        Result<PublicKey, HandshakeError>,
    ) {
        let (mut init, hello_a) = Handshake::start(Role::Initiator, a, [1; 32]);
        let (mut resp, hello_b) = Handshake::start(Role::Responder, b, [2; 32]);
        let a_pub = a.public();
        let out_b = match resp.on_frame(&hello_a, |k| b_trusts_a || *k != a_pub) {
            Ok(o) => o,
            Err(e) => return (Err(HandshakeError::Unexpected), Err(e)),
        };
        let out_a = init.on_frame(&hello_b, |_| true).unwrap();
        let a_done = init
            .on_frame(&out_b.send.unwrap(), |_| true)
            .map(|o| o.established.unwrap());
        let b_done = resp
            .on_frame(&out_a.send.unwrap(), |_| true)
            .map(|o| o.established.unwrap());
        (a_done, b_done)
    }

    #[test]
    fn both_sides_learn_the_verified_peer() {
        let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
        let (at_a, at_b) = run(&a, &b, true);
        assert_eq!(at_a.unwrap(), b.public());
        assert_eq!(at_b.unwrap(), a.public());
    }

    #[test]
    fn features_both_sides_offer_are_negotiated_and_cannot_be_stripped() {
        let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
        let (mut init, hello_a) = Handshake::start_offering(Role::Initiator, &a, [1; 32], 0b11);
        let (mut resp, hello_b) = Handshake::start_offering(Role::Responder, &b, [2; 32], 0b01);
        let proof_b = resp.on_frame(&hello_a, |_| true).unwrap().send.unwrap();
        let proof_a = init.on_frame(&hello_b, |_| true).unwrap().send.unwrap();
        let at_a = init.on_frame(&proof_b, |_| true).unwrap();
        let at_b = resp.on_frame(&proof_a, |_| true).unwrap();
        assert_eq!((at_a.negotiated, at_b.negotiated), (0b01, 0b01));
        // Someone in between clears A's feature bits: B signs another transcript than A
        // and A's proof fails at B.
        let mut stripped = hello_a.clone();
        *stripped.last_mut().unwrap() = 0;
        let mut init = Handshake::start_offering(Role::Initiator, &a, [1; 32], 0b11).0;
        let mut resp = Handshake::start_offering(Role::Responder, &b, [2; 32], 0b01).0;
        resp.on_frame(&stripped, |_| true).unwrap();
        let proof_a = init.on_frame(&hello_b, |_| true).unwrap().send.unwrap();
        assert_eq!(
            resp.on_frame(&proof_a, |_| true),
            Err(HandshakeError::BadProof)
        );
    }

    #[test]
    fn an_untrusted_peer_is_refused() {
        let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
        let (_, at_b) = run(&a, &b, false);
        assert_eq!(at_b, Err(HandshakeError::Untrusted(a.did())));
    }

    #[test]
    fn forged_and_reflected_proofs_fail() {
        let (a, b) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
        let (mut init, hello_a) = Handshake::start(Role::Initiator, &a, [1; 32]);
        let (mut resp, hello_b) = Handshake::start(Role::Responder, &b, [2; 32]);
        let proof_b = resp.on_frame(&hello_a, |_| true).unwrap().send.unwrap();
        let proof_a = init.on_frame(&hello_b, |_| true).unwrap().send.unwrap();
        // A's own proof reflected back to A: wrong signer and role.
        let mut reflected = Handshake::start(Role::Initiator, &a, [1; 32]).0;
        reflected.on_frame(&hello_b, |_| true).unwrap();
        assert_eq!(
            reflected.on_frame(&proof_a, |_| true),
            Err(HandshakeError::BadProof)
        );
        // One flipped bit in B's proof.
        let mut forged = proof_b.clone();
        forged[10] ^= 1;
        assert_eq!(
            init.on_frame(&forged, |_| true),
            Err(HandshakeError::BadProof)
        );
    }

    #[test]
    fn malformed_hellos_are_typed_errors() {
        let a = NodeKey::from_seed(&[1; 32]);
        let (_, good) = Handshake::start(Role::Initiator, &a, [1; 32]);
        let cases: [(Vec<u8>, HandshakeError); 4] = [
            (
                good[..10].to_vec(),
                HandshakeError::BadHello("wrong length"),
            ),
            (
                [b"XXXX", &good[4..]].concat(),
                HandshakeError::BadHello("wrong magic"),
            ),
            (
                [&good[..4], &[9], &good[5..]].concat(),
                HandshakeError::Version(9),
            ),
            // An initiator's hello sent to another initiator.
            (good.clone(), HandshakeError::RoleConflict),
        ];
        for (frame, want) in cases {
            let b = NodeKey::from_seed(&[2; 32]);
            let mut resp = Handshake::start(Role::Responder, &b, [2; 32]).0;
            if want == HandshakeError::RoleConflict {
                resp = Handshake::start(Role::Initiator, &b, [2; 32]).0;
            }
            assert_eq!(resp.on_frame(&frame, |_| true), Err(want));
        }
    }
}
