//! Envelope v1: round trips, transplant attempts, RFC 8032 vectors, strict Ed25519 semantics,
//! truncation and oversized lengths (with an allocation counter proving nothing large is
//! allocated), batch signatures and the root cache, batch verification.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use mesh_core::envelope::{
    sign_batch, Envelope, Limits, ParseError, Verifier, VerifyError, HEADER_LEN,
};
use mesh_core::identity::NodeKey;
use mesh_core::security::{
    PeerId, Reject, RejectReason, Route, SecurityConfig, SecurityMode, SecurityPolicy, TrustStore,
};

/// Records the largest single allocation made on this thread while armed.
struct Tracking;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
thread_local!(static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });

// SAFETY: forwards to the system allocator; only records sizes. (Test-only unsafe: a
// counting allocator is the one way to prove that parsing allocates nothing.)
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(std::cell::Cell::get) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

fn largest_allocation_during(f: impl FnOnce()) -> usize {
    LARGEST.store(0, Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    LARGEST.load(Ordering::Relaxed)
}

fn trust_for(key: &NodeKey) -> TrustStore {
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    trust
}

#[test]
fn single_and_batch_round_trip() {
    let key = NodeKey::generate();
    let trust = trust_for(&key);
    for len in [0, 1, 64, 4096, 1 << 20] {
        let signed = common::unsigned("/a", 1, len).sign(&key);
        let env = Envelope::parse(signed.as_bytes(), &Limits::default()).unwrap();
        let verified = env.verify(&trust).unwrap();
        assert_eq!(verified.payload().len(), len);
        assert_eq!(verified.header().publisher(), key.public().to_bytes());
    }
    for n in [1, 2, 3, 7, 64, 257] {
        let batch: Vec<_> = (0..n).map(|i| common::unsigned("/a", i, 32)).collect();
        let signed = sign_batch(&key, batch).unwrap();
        let mut verifier = Verifier::new(16);
        for (i, s) in signed.iter().enumerate() {
            // Each one verifies on its own, without the others.
            let alone = Envelope::parse(s.as_bytes(), &Limits::default()).unwrap();
            assert!(alone.verify(&trust).is_ok(), "batch of {n}, envelope {i}");
            let env = Envelope::parse(s.as_bytes(), &Limits::default()).unwrap();
            assert_eq!(
                verifier.verify(env, &trust).unwrap().header().sequence(),
                i as u64
            );
        }
        assert_eq!(
            verifier.ed25519_verifications(),
            1,
            "one Ed25519 check per batch of {n}"
        );
    }
}

#[test]
fn transplants_to_another_topic_or_type_are_rejected() {
    let key = NodeKey::generate();
    let policy = SecurityPolicy::new(
        SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        },
        trust_for(&key),
    );
    let mut rx = policy.receiver();
    let signed = common::unsigned("/fleet/amr_1/cmd_vel", 7, 24)
        .sign(&key)
        .into_inner();
    let cmd = Route::new("/fleet/amr_1/cmd_vel", common::TYPE_HASH);
    let other_topic = Route::new("/fleet/amr_2/cmd_vel", common::TYPE_HASH);
    let other_type = Route::new("/fleet/amr_1/cmd_vel", [0x11; 32]);
    let now = 1;
    assert!(rx
        .admit(&policy, PeerId(1), signed.as_slice(), &cmd, now)
        .is_ok());
    assert_eq!(
        rx.admit(&policy, PeerId(1), signed.as_slice(), &other_topic, now)
            .unwrap_err(),
        Reject::WrongTopic
    );
    assert_eq!(
        rx.admit(&policy, PeerId(1), signed.as_slice(), &other_type, now)
            .unwrap_err(),
        Reject::WrongType
    );
    // Rewriting the topic id or type hash inside the header breaks the signature.
    let mut moved = signed.clone();
    moved[8..24].copy_from_slice(&other_topic.topic.0);
    assert_eq!(
        rx.admit(&policy, PeerId(1), moved.as_slice(), &other_topic, now)
            .unwrap_err(),
        Reject::Verify(VerifyError::BadSignature)
    );
    let mut retyped = signed;
    retyped[24..56].copy_from_slice(&[0x11; 32]);
    assert_eq!(
        rx.admit(&policy, PeerId(1), retyped.as_slice(), &other_type, now)
            .unwrap_err(),
        Reject::Verify(VerifyError::BadSignature)
    );
    let counters = policy.counters();
    assert_eq!(counters.get(RejectReason::WrongTopic), 1);
    assert_eq!(counters.get(RejectReason::WrongType), 1);
    assert_eq!(counters.get(RejectReason::BadSignature), 2);
}

/// RFC 8032 section 7.1, TESTs 1-3: (secret key, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

#[test]
fn rfc8032_vectors() {
    for (sk, pk, msg, sig) in RFC8032 {
        let key = NodeKey::from_seed(&common::hex::<32>(sk));
        assert_eq!(key.public().to_bytes(), common::hex::<32>(pk));
        let message: Vec<u8> = (0..msg.len() / 2)
            .map(|i| u8::from_str_radix(&msg[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(key.sign(&message), common::hex::<64>(sig));
    }
}

/// Ed25519 group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_l(s: &mut [u8]) {
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let v = u16::from(*b) + u16::from(l) + carry;
        *b = v as u8;
        carry = v >> 8;
    }
}

#[test]
fn non_canonical_and_small_order_signatures_are_rejected() {
    let key = NodeKey::generate();
    let trust = trust_for(&key);
    let signed = common::unsigned("/a", 1, 8).sign(&key).into_inner();
    let sig_at = signed.len() - 64;
    // s + L: same value mod L, non-canonical encoding.
    let mut malleated = signed.clone();
    add_l(&mut malleated[sig_at + 32..]);
    let env = Envelope::parse(malleated.as_slice(), &Limits::default()).unwrap();
    assert_eq!(env.verify(&trust).unwrap_err(), VerifyError::BadSignature);
    // R = identity (small order), s = 0.
    let mut small_r = signed.clone();
    small_r[sig_at..].fill(0);
    small_r[sig_at] = 1;
    let env = Envelope::parse(small_r.as_slice(), &Limits::default()).unwrap();
    assert_eq!(env.verify(&trust).unwrap_err(), VerifyError::BadSignature);
    // A small-order publisher key with the signature (R = identity, s = 0) satisfies the
    // cofactorless equation for every message; it must never be accepted, not even in
    // development mode where any valid key may publish.
    let mut forged = small_r;
    forged[56..88].fill(0);
    forged[56] = 1;
    let dev = SecurityPolicy::new(
        SecurityConfig {
            mode: SecurityMode::Development,
            ..SecurityConfig::default()
        },
        TrustStore::new(),
    );
    let route = Route::new("/a", common::TYPE_HASH);
    let err = dev
        .receiver()
        .admit(&dev, PeerId(9), forged.as_slice(), &route, 0)
        .unwrap_err();
    assert_eq!(err, Reject::Verify(VerifyError::UnknownPublisher));
}

#[test]
fn truncation_and_hostile_lengths_are_typed_errors_without_large_allocations() {
    let key = NodeKey::generate();
    let signed = common::unsigned("/a", 1, 100).sign(&key).into_inner();
    let limits = Limits::default();
    let largest = largest_allocation_during(|| {
        for cut in 0..signed.len() {
            let err = Envelope::parse(&signed[..cut], &limits).unwrap_err();
            assert!(
                matches!(err, ParseError::Truncated { .. }),
                "cut {cut}: {err}"
            );
        }
        let mut longer = Vec::with_capacity(signed.len() + 1);
        longer.extend_from_slice(&signed);
        longer.push(0);
        assert!(matches!(
            Envelope::parse(longer.as_slice(), &limits),
            Err(ParseError::TrailingBytes { extra: 1, .. })
        ));
        for (at, value) in [(112, u32::MAX), (112, (16 << 20) + 1), (116, u32::MAX)] {
            let mut hostile = signed.clone();
            hostile[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let err = Envelope::parse(hostile.as_slice(), &limits).unwrap_err();
            assert!(
                matches!(
                    err,
                    ParseError::PayloadTooLarge { .. } | ParseError::Truncated { .. }
                ),
                "{err}"
            );
        }
    });
    // The clones above are the only allocations: nothing sized by a hostile length.
    assert!(
        largest <= signed.len() + 1,
        "largest allocation {largest} bytes"
    );
    let mut bad = signed.clone();
    bad[0] = b'X';
    assert!(matches!(
        Envelope::parse(bad.as_slice(), &limits),
        Err(ParseError::BadMagic { .. })
    ));
    let mut bad = signed.clone();
    bad[4] = 2;
    assert!(matches!(
        Envelope::parse(bad.as_slice(), &limits),
        Err(ParseError::UnsupportedVersion { found: 2 })
    ));
    let mut bad = signed;
    bad[5] = 0x80;
    assert!(matches!(
        Envelope::parse(bad.as_slice(), &limits),
        Err(ParseError::BadFlags { .. })
    ));
    assert_eq!(HEADER_LEN, 152);
}

#[test]
fn verify_many_batches_good_signatures_and_finds_bad_ones() {
    let key = NodeKey::generate();
    let trust = trust_for(&key);
    let mut wire: Vec<Vec<u8>> = (0..32)
        .map(|i| common::unsigned("/a", i, 64).sign(&key).into_inner())
        .collect();
    let mut verifier = Verifier::new(4);
    let parsed: Vec<_> = wire
        .iter()
        .map(|b| Envelope::parse(b.as_slice(), &Limits::default()).unwrap())
        .collect();
    assert!(verifier
        .verify_many(parsed, &trust)
        .iter()
        .all(Result::is_ok));
    assert_eq!(
        verifier.ed25519_verifications(),
        1,
        "32 signatures, one batch equation"
    );
    let last = wire[5].len() - 1;
    wire[5][last] ^= 1;
    wire[9][40] ^= 1; // header (type hash)
    let parsed: Vec<_> = wire
        .iter()
        .map(|b| Envelope::parse(b.as_slice(), &Limits::default()).unwrap())
        .collect();
    let results = verifier.verify_many(parsed, &trust);
    let bad: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(bad, [5, 9]);
}

#[test]
fn signing_in_place_equals_signing_a_built_envelope() {
    use mesh_core::envelope::{sign_in_place, signed_len, BuildError};
    let key = NodeKey::generate();
    let payload = [7u8; 100];
    let built = Envelope::new(common::fields("/a", 4), &payload)
        .unwrap()
        .sign(&key)
        .into_inner();
    let mut buf = vec![0u8; signed_len(payload.len())];
    sign_in_place(&mut buf, common::fields("/a", 4), &key, |p| {
        p.copy_from_slice(&payload)
    })
    .unwrap();
    assert_eq!(buf, built, "Ed25519 is deterministic: same bytes");
    let mut short = [0u8; 100];
    assert_eq!(
        sign_in_place(&mut short, common::fields("/a", 4), &key, |_| {}),
        Err(BuildError::WrongBufferLength { len: 100 })
    );
}
