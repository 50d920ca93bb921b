//! Security modes, the ACL matrix (valid, self-signed, expired, wrong pattern, revoked,
//! wrong access), revocation lists, development-mode unsigned traffic, verification budgets,
//! and the rejection counters.

mod common;

use mesh_core::envelope::{Envelope, Unsigned, VerifyError, HEADER_LEN};
use mesh_core::identity::NodeKey;
use mesh_core::security::attest::HostKey;
use mesh_core::security::{
    Access, AclError, Grant, GrantError, PeerId, Reject, RejectReason, RevocationList, Route,
    SecurityConfig, SecurityMode, SecurityPolicy, TopicPattern, TrustStore,
};

const HOUR: u64 = 3_600_000_000_000;
const NOW: u64 = 1_764_000_000_000_000_000;
const TOPIC: &str = "/fleet/amr_1/cmd_vel";

fn policy(mode: SecurityMode, trust: TrustStore) -> SecurityPolicy {
    SecurityPolicy::new(
        SecurityConfig {
            mode,
            ..SecurityConfig::default()
        },
        trust,
    )
}

fn msg(seq: u64) -> Envelope<Unsigned> {
    common::unsigned(TOPIC, seq, 12)
}

fn route() -> Route {
    Route::new(TOPIC, common::TYPE_HASH)
}

fn grant(
    authority: &NodeKey,
    subject: &NodeKey,
    pattern: &str,
    access: Access,
    from: u64,
    to: u64,
) -> Grant {
    Grant::issue(
        authority,
        subject.public(),
        TopicPattern::new(pattern).unwrap(),
        access,
        from,
        to,
    )
}

#[test]
fn acl_matrix() {
    let authority = NodeKey::generate();
    let [valid, expired, wrong_pattern, subscriber, self_signed, revoked] =
        std::array::from_fn(|_| NodeKey::generate());
    let mut trust = TrustStore::new();
    trust.set_authority(authority.public());
    trust
        .add_grant(grant(
            &authority,
            &valid,
            "/fleet/*/cmd_vel",
            Access::Publish,
            NOW - HOUR,
            NOW + HOUR,
        ))
        .unwrap();
    trust
        .add_grant(grant(
            &authority,
            &expired,
            "/fleet/**",
            Access::Publish,
            NOW - 2 * HOUR,
            NOW - HOUR,
        ))
        .unwrap();
    trust
        .add_grant(grant(
            &authority,
            &wrong_pattern,
            "/fleet/*/odom",
            Access::Publish,
            0,
            u64::MAX,
        ))
        .unwrap();
    trust
        .add_grant(grant(
            &authority,
            &subscriber,
            "/fleet/**",
            Access::Subscribe,
            0,
            u64::MAX,
        ))
        .unwrap();
    trust
        .add_grant(grant(
            &authority,
            &revoked,
            "/fleet/**",
            Access::PublishSubscribe,
            0,
            u64::MAX,
        ))
        .unwrap();
    // A grant a node signs for itself is refused outright.
    let own = grant(
        &self_signed,
        &self_signed,
        "/fleet/**",
        Access::Publish,
        0,
        u64::MAX,
    );
    assert_eq!(
        trust.add_grant(own),
        Err(GrantError::WrongIssuer {
            issuer: self_signed.public()
        })
    );
    trust
        .apply_revocations(&RevocationList::issue(
            &authority,
            1,
            vec![revoked.public()],
        ))
        .unwrap();

    let p = policy(SecurityMode::Production, trust);
    let mut rx = p.receiver();
    let mut admit = |key: &NodeKey, seq| {
        rx.admit(
            &p,
            PeerId(1),
            msg(seq).sign(key).into_inner(),
            &route(),
            NOW,
        )
    };
    assert!(admit(&valid, 1).is_ok());
    assert!(matches!(
        admit(&expired, 2),
        Err(Reject::Acl(AclError::OutsideValidity { .. }))
    ));
    assert!(matches!(
        admit(&wrong_pattern, 3),
        Err(Reject::Acl(AclError::NoGrant { .. }))
    ));
    assert!(matches!(
        admit(&subscriber, 4),
        Err(Reject::Acl(AclError::NoGrant {
            access: Access::Publish,
            ..
        }))
    ));
    assert!(matches!(
        admit(&self_signed, 5),
        Err(Reject::UnknownPublisher(_))
    ));
    assert_eq!(admit(&revoked, 6).unwrap_err(), Reject::Revoked);
    let c = p.counters();
    assert_eq!(c.get(RejectReason::AclDenied), 3);
    assert_eq!(c.get(RejectReason::UnknownPublisher), 1);
    assert_eq!(c.get(RejectReason::Revoked), 1);
    // Subscribe checks use the same grants.
    assert!(p
        .trust()
        .authorize(
            &subscriber.public().to_bytes(),
            TOPIC,
            Access::Subscribe,
            NOW
        )
        .is_ok());
    assert!(p
        .trust()
        .authorize(&valid.public().to_bytes(), TOPIC, Access::Subscribe, NOW)
        .is_err());
}

#[test]
fn revocation_lists_must_be_signed_and_newer() {
    let authority = NodeKey::generate();
    let someone = NodeKey::generate();
    let mut trust = TrustStore::new();
    assert_eq!(
        trust.apply_revocations(&RevocationList::issue(&authority, 1, vec![])),
        Err(GrantError::NoAuthority)
    );
    trust.set_authority(authority.public());
    trust
        .apply_revocations(&RevocationList::issue(
            &authority,
            5,
            vec![someone.public()],
        ))
        .unwrap();
    assert!(trust.is_revoked(&someone.public().to_bytes()));
    assert_eq!(
        trust.apply_revocations(&RevocationList::issue(&authority, 5, vec![])),
        Err(GrantError::StaleRevocations {
            serial: 5,
            current: 5
        })
    );
    let forged = RevocationList::issue(&someone, 9, vec![authority.public()]);
    assert!(matches!(
        trust.apply_revocations(&forged),
        Err(GrantError::WrongIssuer { .. })
    ));
}

#[test]
fn lightweight_needs_known_keys_but_no_grants() {
    let known = NodeKey::generate();
    let stranger = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(known.public());
    let p = policy(SecurityMode::Lightweight, trust);
    let mut rx = p.receiver();
    assert!(rx
        .admit(
            &p,
            PeerId(1),
            msg(1).sign(&known).into_inner(),
            &route(),
            NOW
        )
        .is_ok());
    assert!(matches!(
        rx.admit(
            &p,
            PeerId(1),
            msg(2).sign(&stranger).into_inner(),
            &route(),
            NOW
        ),
        Err(Reject::UnknownPublisher(_))
    ));
}

#[test]
fn unsigned_envelopes_only_in_development_and_counted() {
    let key = NodeKey::generate();
    let dev = policy(SecurityMode::Development, TrustStore::new());
    let sealed = dev
        .seal_unsigned(msg(1), &key.public())
        .unwrap()
        .into_inner();
    let mut rx = dev.receiver();
    let delivered = rx
        .admit(&dev, PeerId(1), sealed.as_slice(), &route(), NOW)
        .unwrap();
    assert_eq!(delivered.header().sequence(), 1);
    assert_eq!(dev.counters().dev_unsigned_accepted(), 1);
    // Unknown but valid signed keys are accepted in development mode too.
    assert!(rx
        .admit(
            &dev,
            PeerId(1),
            msg(2).sign(&key).into_inner(),
            &route(),
            NOW
        )
        .is_ok());
    // A corrupted unsigned payload is still caught by its digest.
    let mut corrupt = sealed.clone();
    corrupt[152] ^= 1;
    assert!(rx
        .admit(&dev, PeerId(1), corrupt.as_slice(), &route(), NOW)
        .is_err());

    for mode in [SecurityMode::Lightweight, SecurityMode::Production] {
        let strict = policy(mode, TrustStore::new());
        assert!(strict.seal_unsigned(msg(1), &key.public()).is_err());
        let err = strict
            .receiver()
            .admit(&strict, PeerId(1), sealed.as_slice(), &route(), NOW)
            .unwrap_err();
        assert_eq!(err, Reject::Unsigned);
        assert_eq!(strict.counters().get(RejectReason::Unsigned), 1);
    }
}

#[test]
fn per_peer_verification_budget() {
    let key = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(key.public());
    let config = SecurityConfig {
        mode: SecurityMode::Lightweight,
        verify_burst: 3,
        verify_budget_per_sec: 1,
        ..SecurityConfig::default()
    };
    let p = SecurityPolicy::new(config, trust);
    let mut rx = p.receiver();
    let send = |rx: &mut mesh_core::security::Receiver, peer, seq, now| {
        rx.admit(
            &p,
            PeerId(peer),
            msg(seq).sign(&key).into_inner(),
            &route(),
            now,
        )
    };
    for seq in 0..3 {
        assert!(send(&mut rx, 1, seq, NOW).is_ok());
    }
    assert_eq!(
        send(&mut rx, 1, 3, NOW).unwrap_err(),
        Reject::BudgetExhausted(PeerId(1))
    );
    assert!(
        send(&mut rx, 2, 4, NOW).is_ok(),
        "another peer has its own budget"
    );
    assert!(
        send(&mut rx, 1, 5, NOW + 1_000_000_000).is_ok(),
        "refilled after a second"
    );
    assert_eq!(p.counters().get(RejectReason::BudgetExhausted), 1);
}

#[test]
fn admit_many_verifies_together_and_applies_every_check() {
    let authority = NodeKey::generate();
    let good = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.set_authority(authority.public());
    trust
        .add_grant(grant(
            &authority,
            &good,
            "/fleet/**",
            Access::Publish,
            0,
            u64::MAX,
        ))
        .unwrap();
    let p = policy(SecurityMode::Production, trust);
    let mut rx = p.receiver();
    let mut batch: Vec<Vec<u8>> = (0..16).map(|i| msg(i).sign(&good).into_inner()).collect();
    batch[3][155] ^= 1; // payload
    batch[7] = common::unsigned("/elsewhere", 7, 12)
        .sign(&good)
        .into_inner();
    let results = rx.admit_many(&p, PeerId(1), batch, &route(), NOW);
    let failures: Vec<(usize, RejectReason)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.reason())))
        .collect();
    assert_eq!(
        failures,
        [
            (3, RejectReason::DigestMismatch),
            (7, RejectReason::WrongTopic)
        ]
    );
    assert_eq!(
        rx.ed25519_verifications(),
        1,
        "14 good signatures, one batch equation"
    );
}

#[test]
fn a_host_attestation_replaces_only_the_signature_check() {
    let known = NodeKey::generate();
    let stranger = NodeKey::generate();
    let mut trust = TrustStore::new();
    trust.add_publisher(known.public());
    let p = policy(SecurityMode::Lightweight, trust);
    let mut rx = p.receiver();
    let host = HostKey::generate();
    let other_host = HostKey::generate();
    let signed = msg(1).sign(&known).into_inner();
    let tag = host.tag(&signed[..HEADER_LEN]);
    let counters = p.counters();

    // A good tag: accepted without a signature check, counted as attested.
    let mut bad_sig = signed.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    assert!(rx
        .admit_attested(&p, bad_sig.clone(), &tag, Some(&host), &route(), NOW)
        .is_ok());
    assert_eq!(counters.host_attested(), 1);
    // Another host's key, or none: the signature is checked, and this one fails.
    for key in [Some(&other_host), None] {
        assert!(matches!(
            rx.admit_attested(&p, bad_sig.clone(), &tag, key, &route(), NOW),
            Err(Reject::Verify(_))
        ));
    }
    // A wrong tag on a good envelope: verified as usual, accepted, not counted as attested.
    assert!(rx
        .admit_attested(&p, signed.clone(), &[0; 32], Some(&host), &route(), NOW)
        .is_ok());
    assert_eq!(counters.host_attested(), 1);
    // A good tag cannot carry a changed payload (the digest is still checked) ...
    let mut changed = signed.clone();
    changed[HEADER_LEN] ^= 1;
    assert!(matches!(
        rx.admit_attested(&p, changed, &tag, Some(&host), &route(), NOW),
        Err(Reject::Verify(VerifyError::PayloadDigestMismatch))
    ));
    // ... nor get past the other checks: an unknown publisher stays refused.
    let foreign = msg(2).sign(&stranger).into_inner();
    let foreign_tag = host.tag(&foreign[..HEADER_LEN]);
    assert!(matches!(
        rx.admit_attested(&p, foreign, &foreign_tag, Some(&host), &route(), NOW),
        Err(Reject::UnknownPublisher(_))
    ));
    assert_eq!(counters.host_attested(), 1);
}
