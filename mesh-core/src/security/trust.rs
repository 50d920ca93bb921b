//! The trust store: known publisher keys, the fleet authority, verified grants, revocations,
//! and topic ACL decisions.

use std::collections::{HashMap, HashSet};

use ed25519_dalek::VerifyingKey;

use super::grant::{Access, Grant, GrantError, RevocationList};
use crate::envelope::PublisherKeys;
use crate::identity::PublicKey;

/// An ACL check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// The publisher is not in the trust store.
    #[error("unknown publisher")]
    UnknownPublisher,
    /// The key is revoked.
    #[error("key is revoked")]
    Revoked,
    /// No grant covers this topic and access.
    #[error("no grant allows {access:?} on `{topic}`")]
    NoGrant {
        /// Topic asked for.
        topic: String,
        /// Access asked for.
        access: Access,
    },
    /// Grants cover the topic, but none is valid now.
    #[error("grant for `{topic}` is not valid now (expired or not yet valid)")]
    OutsideValidity {
        /// Topic asked for.
        topic: String,
    },
}

/// Known publishers, the fleet authority, grants and revocations.
#[derive(Debug, Default, Clone)]
pub struct TrustStore {
    publishers: HashMap<[u8; 32], VerifyingKey>,
    authority: Option<PublicKey>,
    grants: HashMap<[u8; 32], Vec<Grant>>,
    revoked: HashSet<[u8; 32]>,
    revocation_serial: Option<u64>,
}

impl TrustStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` as a publisher.
    pub fn add_publisher(&mut self, key: PublicKey) {
        if let Ok(vk) = key.verifying_key() {
            self.publishers.insert(key.to_bytes(), vk);
        }
    }

    /// True when `key` is a known, unrevoked publisher.
    #[must_use]
    pub fn knows(&self, key: &[u8; 32]) -> bool {
        self.publishers.contains_key(key) && !self.revoked.contains(key)
    }

    /// Sets the fleet authority whose grants and revocations are accepted.
    pub fn set_authority(&mut self, authority: PublicKey) {
        self.authority = Some(authority);
    }

    /// The fleet authority, if configured.
    #[must_use]
    pub fn authority(&self) -> Option<PublicKey> {
        self.authority
    }

    /// Adds a grant after checking the authority signed it; its subject becomes a known
    /// publisher.
    pub fn add_grant(&mut self, grant: Grant) -> Result<(), GrantError> {
        let authority = self.authority.ok_or(GrantError::NoAuthority)?;
        grant.verify(&authority)?;
        self.add_publisher(grant.subject);
        self.grants
            .entry(grant.subject.to_bytes())
            .or_default()
            .push(grant);
        Ok(())
    }

    /// Applies a newer revocation list signed by the authority.
    pub fn apply_revocations(&mut self, list: &RevocationList) -> Result<(), GrantError> {
        let authority = self.authority.ok_or(GrantError::NoAuthority)?;
        list.verify(&authority)?;
        if let Some(current) = self.revocation_serial {
            if list.serial <= current {
                return Err(GrantError::StaleRevocations {
                    serial: list.serial,
                    current,
                });
            }
        }
        self.revocation_serial = Some(list.serial);
        self.revoked = list.revoked.iter().map(PublicKey::to_bytes).collect();
        Ok(())
    }

    /// True when `key` is revoked.
    #[must_use]
    pub fn is_revoked(&self, key: &[u8; 32]) -> bool {
        self.revoked.contains(key)
    }

    /// Decides whether `key` may use `topic` with `access` at `now_ns`.
    pub fn authorize(
        &self,
        key: &[u8; 32],
        topic: &str,
        access: Access,
        now_ns: u64,
    ) -> Result<(), AclError> {
        if self.revoked.contains(key) {
            return Err(AclError::Revoked);
        }
        if !self.publishers.contains_key(key) {
            return Err(AclError::UnknownPublisher);
        }
        let covering: Vec<&Grant> = self
            .grants
            .get(key)
            .into_iter()
            .flatten()
            .filter(|g| g.access.allows(access) && g.pattern.matches(topic))
            .collect();
        if covering.iter().any(|g| g.is_valid_at(now_ns)) {
            Ok(())
        } else if covering.is_empty() {
            Err(AclError::NoGrant {
                topic: topic.to_owned(),
                access,
            })
        } else {
            Err(AclError::OutsideValidity {
                topic: topic.to_owned(),
            })
        }
    }
}

impl PublisherKeys for TrustStore {
    fn verifying_key(&self, publisher: &[u8; 32]) -> Option<VerifyingKey> {
        if self.revoked.contains(publisher) {
            return None;
        }
        self.publishers.get(publisher).copied()
    }
}

/// Development mode: any well-formed, unrevoked key may publish; known keys skip decoding.
#[derive(Debug)]
pub struct AnyValidKey<'a>(pub &'a TrustStore);

impl PublisherKeys for AnyValidKey<'_> {
    fn verifying_key(&self, publisher: &[u8; 32]) -> Option<VerifyingKey> {
        if self.0.is_revoked(publisher) {
            return None;
        }
        self.0.verifying_key(publisher).or_else(|| {
            PublicKey::from_bytes(*publisher)
                .ok()
                .and_then(|k| k.verifying_key().ok())
        })
    }
}
