//! The receive path: cheap rejection first (structure and size, route, revocation, unknown
//! key, per-peer verification budget), then signature verification, then the topic ACL. Every
//! rejection is counted by reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::attest::{accept_attested, HostKey};
use super::grant::Access;
use super::mode::{SecurityConfig, SecurityMode};
use super::trust::{AclError, AnyValidKey, TrustStore};
use crate::envelope::{
    DevUnsigned, Envelope, Limits, ParseError, TopicId, Unsigned, Unverified, Verified, Verifier,
    VerifyError, FLAG_UNSIGNED, HEADER_LEN,
};
use crate::identity::PublicKey;

/// Why an envelope was rejected; one counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Not a well-formed envelope.
    Malformed,
    /// Payload over the configured maximum.
    TooLarge,
    /// Addressed to another topic.
    WrongTopic,
    /// Carries another interface type.
    WrongType,
    /// Publisher key revoked.
    Revoked,
    /// Publisher not in the trust store.
    UnknownPublisher,
    /// The link peer used up its verification budget.
    BudgetExhausted,
    /// Unsigned outside development mode.
    Unsigned,
    /// Payload does not match the signed digest.
    DigestMismatch,
    /// Signature does not verify.
    BadSignature,
    /// No valid grant for the topic.
    AclDenied,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 11] = [
        Self::Malformed,
        Self::TooLarge,
        Self::WrongTopic,
        Self::WrongType,
        Self::Revoked,
        Self::UnknownPublisher,
        Self::BudgetExhausted,
        Self::Unsigned,
        Self::DigestMismatch,
        Self::BadSignature,
        Self::AclDenied,
    ];

    /// Metric label.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::WrongTopic => "wrong_topic",
            Self::WrongType => "wrong_type",
            Self::Revoked => "revoked",
            Self::UnknownPublisher => "unknown_publisher",
            Self::BudgetExhausted => "budget_exhausted",
            Self::Unsigned => "unsigned",
            Self::DigestMismatch => "digest_mismatch",
            Self::BadSignature => "bad_signature",
            Self::AclDenied => "acl_denied",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// An envelope was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reject {
    /// Structure or size.
    #[error(transparent)]
    Malformed(#[from] ParseError),
    /// Addressed to another topic.
    #[error("envelope is addressed to another topic")]
    WrongTopic,
    /// Carries another interface type.
    #[error("envelope carries another interface type")]
    WrongType,
    /// Publisher key revoked.
    #[error("publisher key is revoked")]
    Revoked,
    /// Publisher not trusted (key bytes; formatted only when displayed).
    #[error("unknown publisher {}", short_hex(.0))]
    UnknownPublisher([u8; 32]),
    /// The link peer used up its verification budget.
    #[error("peer {0:?} exceeded its verification budget")]
    BudgetExhausted(PeerId),
    /// Unsigned outside development mode.
    #[error("unsigned envelope rejected (only development mode accepts them)")]
    Unsigned,
    /// Digest or signature.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Topic ACL.
    #[error(transparent)]
    Acl(#[from] AclError),
}

impl Reject {
    /// The counter this rejection increments.
    #[must_use]
    pub fn reason(&self) -> RejectReason {
        match self {
            Self::Malformed(ParseError::PayloadTooLarge { .. }) => RejectReason::TooLarge,
            Self::Malformed(_) => RejectReason::Malformed,
            Self::WrongTopic => RejectReason::WrongTopic,
            Self::WrongType => RejectReason::WrongType,
            Self::Revoked | Self::Acl(AclError::Revoked) => RejectReason::Revoked,
            Self::UnknownPublisher(_) | Self::Verify(VerifyError::UnknownPublisher) => {
                RejectReason::UnknownPublisher
            }
            Self::BudgetExhausted(_) => RejectReason::BudgetExhausted,
            Self::Unsigned | Self::Verify(VerifyError::Unsigned) => RejectReason::Unsigned,
            Self::Verify(VerifyError::PayloadDigestMismatch) => RejectReason::DigestMismatch,
            Self::Verify(_) => RejectReason::BadSignature,
            Self::Acl(_) => RejectReason::AclDenied,
        }
    }
}

fn short_hex(key: &[u8; 32]) -> String {
    key[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        + "..."
}

/// Rejection counters (exported as metrics by the node).
#[derive(Debug, Default)]
pub struct RejectCounters {
    counts: [AtomicU64; RejectReason::ALL.len()],
    dev_unsigned_accepted: AtomicU64,
    host_attested: AtomicU64,
}

impl RejectCounters {
    /// Rejections for `reason` so far.
    #[must_use]
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// Unsigned envelopes accepted in development mode so far.
    #[must_use]
    pub fn dev_unsigned_accepted(&self) -> u64 {
        self.dev_unsigned_accepted.load(Ordering::Relaxed)
    }

    /// Envelopes accepted on the host daemon's attestation, without a signature check here
    /// ([`super::attest`]).
    #[must_use]
    pub fn host_attested(&self) -> u64 {
        self.host_attested.load(Ordering::Relaxed)
    }

    pub(super) fn count_attested(&self) {
        self.host_attested.fetch_add(1, Ordering::Relaxed);
    }

    /// `(label, count)` for every reason.
    #[must_use]
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        RejectReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.get(*r)))
            .collect()
    }

    pub(crate) fn count(&self, reason: RejectReason) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// The link peer an envelope arrived from (not necessarily its publisher, after relays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId(pub u64);

/// Where a subscriber expects envelopes: topic name (for the ACL), its id and payload type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Fully qualified topic name.
    pub topic_name: String,
    /// Its id.
    pub topic: TopicId,
    /// RIHS01 digest of the expected type.
    pub type_hash: [u8; 32],
}

impl Route {
    /// A route for `topic_name` carrying `type_hash`.
    #[must_use]
    pub fn new(topic_name: &str, type_hash: [u8; 32]) -> Self {
        Self {
            topic_name: topic_name.to_owned(),
            topic: TopicId::of(topic_name),
            type_hash,
        }
    }
}

/// A development-mode operation was asked for outside development mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsigned envelopes are only allowed in development mode (mode is {0:?})")]
pub struct NotDevelopmentMode(pub SecurityMode);

/// Proof that the policy is in development mode: the only way to send unsigned envelopes.
#[derive(Debug, Clone, Copy)]
pub struct DevelopmentMode(());

/// Mode, trust store and counters shared by the senders and receivers of a node.
#[derive(Debug)]
pub struct SecurityPolicy {
    config: SecurityConfig,
    trust: TrustStore,
    counters: Arc<RejectCounters>,
}

impl SecurityPolicy {
    /// A policy with `config` and `trust`.
    #[must_use]
    pub fn new(config: SecurityConfig, trust: TrustStore) -> Self {
        if config.mode == SecurityMode::Development {
            tracing::warn!("security mode is DEVELOPMENT: unsigned envelopes and unknown publishers are accepted");
        }
        Self {
            config,
            trust,
            counters: Arc::default(),
        }
    }

    /// Envelopes accepted on a host attestation so far (a plain read, for hot paths).
    #[must_use]
    pub fn host_attested_count(&self) -> u64 {
        self.counters.host_attested()
    }

    /// True if local subscribers may accept the host daemon's attestation.
    #[must_use]
    pub fn host_attestation(&self) -> bool {
        self.config.host_attestation
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> SecurityMode {
        self.config.mode
    }

    /// The trust store.
    #[must_use]
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Whether a peer with `key` may open a link to this node: any valid key in development
    /// mode, otherwise a key the trust store knows and has not revoked.
    #[must_use]
    pub fn admits_peer(&self, key: &PublicKey) -> bool {
        let bytes = key.to_bytes();
        if self.trust.is_revoked(&bytes) {
            return false;
        }
        self.config.mode == SecurityMode::Development || self.trust.knows(&bytes)
    }

    /// The trust store, for adding keys, grants and revocations.
    pub fn trust_mut(&mut self) -> &mut TrustStore {
        &mut self.trust
    }

    /// Rejection counters.
    #[must_use]
    pub fn counters(&self) -> Arc<RejectCounters> {
        Arc::clone(&self.counters)
    }

    /// Parse limits from the configuration.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits {
            max_payload: self.config.max_payload_bytes,
        }
    }

    /// Development mode only: seals an envelope without a signature so it can be sent.
    pub fn seal_unsigned(
        &self,
        mut env: Envelope<Unsigned>,
        publisher: &PublicKey,
    ) -> Result<Envelope<DevUnsigned>, NotDevelopmentMode> {
        if self.config.mode != SecurityMode::Development {
            return Err(NotDevelopmentMode(self.config.mode));
        }
        env.seal_header(publisher, FLAG_UNSIGNED, 0);
        Ok(env.finish(&[]))
    }

    /// The development-mode token (unsigned sending), or why not.
    pub fn development_mode(&self) -> Result<DevelopmentMode, NotDevelopmentMode> {
        if self.config.mode == SecurityMode::Development {
            Ok(DevelopmentMode(()))
        } else {
            Err(NotDevelopmentMode(self.config.mode))
        }
    }

    /// A receiver with its own root cache and per-peer budgets.
    #[must_use]
    pub fn receiver(&self) -> Receiver {
        Receiver {
            verifier: Verifier::new(self.config.root_cache_size),
            budgets: HashMap::new(),
            valid_keys: ValidKeys::default(),
        }
    }
}

#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    last_ns: u64,
}

/// Admits received envelopes for one subscriber or one daemon link (sans-IO: the caller
/// passes the time).
#[derive(Debug)]
pub struct Receiver {
    verifier: Verifier,
    budgets: HashMap<PeerId, TokenBucket>,
    valid_keys: ValidKeys,
}

/// Publisher keys recently found valid (a curve point decompression costs ~8 us, more than
/// the whole unsigned development path), so an unsigned stream validates its key once.
#[derive(Debug, Default)]
struct ValidKeys {
    keys: [[u8; 32]; 4],
    len: usize,
    next: usize,
}

impl ValidKeys {
    fn check(&mut self, key: &[u8; 32]) -> bool {
        if self.keys[..self.len].contains(key) {
            return true;
        }
        if PublicKey::from_bytes(*key).is_err() {
            return false;
        }
        self.keys[self.next] = *key;
        self.next = (self.next + 1) % self.keys.len();
        self.len = (self.len + 1).min(self.keys.len());
        true
    }
}

impl Receiver {
    /// Ed25519 verifications done so far.
    #[must_use]
    pub fn ed25519_verifications(&self) -> u64 {
        self.verifier.ed25519_verifications()
    }

    /// Runs the whole receive path on one envelope.
    pub fn admit<B: AsRef<[u8]>>(
        &mut self,
        policy: &SecurityPolicy,
        peer: PeerId,
        bytes: B,
        route: &Route,
        now_ns: u64,
    ) -> Result<Envelope<Verified, B>, Reject> {
        let result = self.admit_inner(policy, peer, bytes, None, route, now_ns);
        if let Err(e) = &result {
            policy.counters.count(e.reason());
        }
        result
    }

    /// As [`admit`](Self::admit), for the envelope of an attested frame (its bytes after the
    /// [`PREFIX_LEN`](super::attest::PREFIX_LEN)-byte prefix) with the prefix's `tag`. With
    /// the `host` key and a tag that verifies, the daemon's signature check stands in for
    /// this one (the payload digest is still checked); otherwise the envelope is verified
    /// as usual, so a wrong or stale tag costs a verification, never a wrong admission.
    pub fn admit_attested<B: AsRef<[u8]>>(
        &mut self,
        policy: &SecurityPolicy,
        bytes: B,
        tag: &[u8; 32],
        host: Option<&HostKey>,
        route: &Route,
        now_ns: u64,
    ) -> Result<Envelope<Verified, B>, Reject> {
        let attestation = host.map(|h| (h, tag));
        let result = self.admit_inner(policy, PeerId(0), bytes, attestation, route, now_ns);
        if let Err(e) = &result {
            policy.counters.count(e.reason());
        }
        result
    }

    fn admit_inner<B: AsRef<[u8]>>(
        &mut self,
        policy: &SecurityPolicy,
        peer: PeerId,
        bytes: B,
        attestation: Option<(&HostKey, &[u8; 32])>,
        route: &Route,
        now_ns: u64,
    ) -> Result<Envelope<Verified, B>, Reject> {
        let env = Envelope::parse(bytes, &policy.limits())?;
        let publisher = self.cheap_checks(policy, peer, &env, route, now_ns)?;
        let attested =
            attestation.is_some_and(|(host, tag)| host.verify(tag, &env.as_bytes()[..HEADER_LEN]));
        let verified = if attested {
            accept_attested(policy, env)?
        } else if env.header().flags() & FLAG_UNSIGNED != 0 {
            accept_unsigned(policy, env, &mut self.valid_keys)?
        } else if policy.mode() == SecurityMode::Development {
            self.verifier.verify(env, &AnyValidKey(&policy.trust))?
        } else {
            self.verifier.verify(env, &policy.trust)?
        };
        if policy.mode() == SecurityMode::Production {
            policy
                .trust
                .authorize(&publisher, &route.topic_name, Access::Publish, now_ns)?;
        }
        Ok(verified)
    }

    /// Checks that cost no hashing: route, revocation, known key, unsigned policy, budget.
    fn cheap_checks<B: AsRef<[u8]>>(
        &mut self,
        policy: &SecurityPolicy,
        peer: PeerId,
        env: &Envelope<Unverified, B>,
        route: &Route,
        now_ns: u64,
    ) -> Result<[u8; 32], Reject> {
        let header = env.header();
        if header.topic_id() != route.topic {
            return Err(Reject::WrongTopic);
        }
        if header.type_hash() != route.type_hash {
            return Err(Reject::WrongType);
        }
        let publisher = header.publisher();
        if policy.trust.is_revoked(&publisher) {
            return Err(Reject::Revoked);
        }
        let development = policy.mode() == SecurityMode::Development;
        let unsigned = header.flags() & FLAG_UNSIGNED != 0;
        if unsigned && !development {
            return Err(Reject::Unsigned);
        }
        if !development && !policy.trust.knows(&publisher) {
            return Err(Reject::UnknownPublisher(publisher));
        }
        // The budget bounds verification work; unsigned development frames cost none.
        if !unsigned {
            self.take_budget(&policy.config, peer, now_ns)?;
        }
        Ok(publisher)
    }

    fn take_budget(
        &mut self,
        config: &SecurityConfig,
        peer: PeerId,
        now_ns: u64,
    ) -> Result<(), Reject> {
        let burst = f64::from(config.verify_burst);
        let bucket = self.budgets.entry(peer).or_insert(TokenBucket {
            tokens: burst,
            last_ns: now_ns,
        });
        let elapsed = now_ns.saturating_sub(bucket.last_ns) as f64 / 1e9;
        bucket.tokens =
            (bucket.tokens + elapsed * f64::from(config.verify_budget_per_sec)).min(burst);
        bucket.last_ns = bucket.last_ns.max(now_ns);
        if bucket.tokens < 1.0 {
            return Err(Reject::BudgetExhausted(peer));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Admits several envelopes that arrived together: cheap checks one by one, then one
    /// batch verification for the single-signed ones, then the ACL.
    pub fn admit_many<B: AsRef<[u8]>>(
        &mut self,
        policy: &SecurityPolicy,
        peer: PeerId,
        batch: Vec<B>,
        route: &Route,
        now_ns: u64,
    ) -> Vec<Result<Envelope<Verified, B>, Reject>> {
        if policy.mode() == SecurityMode::Development {
            return batch
                .into_iter()
                .map(|b| self.admit(policy, peer, b, route, now_ns))
                .collect();
        }
        let mut out: Vec<Option<Result<Envelope<Verified, B>, Reject>>> = Vec::new();
        let mut waiting = Vec::new();
        let mut slots = Vec::new();
        for bytes in batch {
            out.push(None);
            let checked = Envelope::parse(bytes, &policy.limits())
                .map_err(Reject::from)
                .and_then(|env| {
                    self.cheap_checks(policy, peer, &env, route, now_ns)
                        .map(|_| env)
                });
            match checked {
                Ok(env) => {
                    slots.push(out.len() - 1);
                    waiting.push(env);
                }
                Err(e) => *out.last_mut().unwrap_or(&mut None) = Some(Err(e)),
            }
        }
        let verified = self.verifier.verify_many(waiting, &policy.trust);
        for (slot, result) in slots.into_iter().zip(verified) {
            out[slot] = Some(result.map_err(Reject::from).and_then(|env| {
                if policy.mode() == SecurityMode::Production {
                    let publisher = env.header().publisher();
                    policy.trust.authorize(
                        &publisher,
                        &route.topic_name,
                        Access::Publish,
                        now_ns,
                    )?;
                }
                Ok(env)
            }));
        }
        out.into_iter()
            .map(|r| {
                let r = r.unwrap_or(Err(Reject::Verify(VerifyError::BadSignature)));
                if let Err(e) = &r {
                    policy.counters.count(e.reason());
                }
                r
            })
            .collect()
    }
}

/// The explicit development-mode path for unsigned envelopes: payload integrity is still
/// checked; every acceptance is counted and logged.
fn accept_unsigned<B: AsRef<[u8]>>(
    policy: &SecurityPolicy,
    env: Envelope<Unverified, B>,
    valid_keys: &mut ValidKeys,
) -> Result<Envelope<Verified, B>, Reject> {
    if policy.mode() != SecurityMode::Development {
        return Err(Reject::Unsigned);
    }
    // Even unsigned, the claimed publisher must be a valid key (samples name their sender).
    if !valid_keys.check(&env.header().publisher()) {
        return Err(Reject::UnknownPublisher(env.header().publisher()));
    }
    // An all-zero digest means the development fast path did not compute one.
    let digest = env.header().payload_digest();
    if digest != [0; 32] && blake3::hash(env.payload()).as_bytes() != &digest {
        return Err(Reject::Verify(VerifyError::PayloadDigestMismatch));
    }
    let n = policy
        .counters
        .dev_unsigned_accepted
        .fetch_add(1, Ordering::Relaxed);
    // Every acceptance is counted; the warning is logged for the 1st, 2nd, 4th, 8th... so a
    // development fleet does not drown its logs.
    if n.is_power_of_two() || n == 0 {
        tracing::warn!(
            accepted = n + 1,
            "accepting UNSIGNED envelope (development mode)"
        );
    }
    Ok(env.into_verified_unchecked())
}
