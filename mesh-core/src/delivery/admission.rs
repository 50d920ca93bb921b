//! How the delivery engine turns received data bytes into verified envelopes: the security
//! layer's receive path ([`SecurityAdmission`]), behind a trait so the engine stays sans-IO
//! and independent of key management.

use std::sync::Arc;

use bytes::Bytes;

use super::NodeAddr;
use crate::envelope::{Envelope, Verified};
use crate::security::{PeerId, Receiver, Reject, Route, SecurityPolicy};

/// Verifies received data for a subscription's route.
pub trait Admission {
    /// Admits `bytes` received from `from` for `route`, or says why not.
    fn admit(
        &mut self,
        from: NodeAddr,
        bytes: Bytes,
        route: &Route,
        now_ns: u64,
    ) -> Result<Envelope<Verified, Bytes>, Reject>;
}

/// Admission through a [`SecurityPolicy`] and its [`Receiver`] (root cache, budgets, counters).
#[derive(Debug)]
pub struct SecurityAdmission {
    policy: Arc<SecurityPolicy>,
    receiver: Receiver,
}

impl SecurityAdmission {
    /// Admission enforcing `policy` (owned, or shared with the rest of a node or daemon).
    #[must_use]
    pub fn new(policy: impl Into<Arc<SecurityPolicy>>) -> Self {
        let policy = policy.into();
        let receiver = policy.receiver();
        Self { policy, receiver }
    }

    /// The policy (for counters and trust updates).
    #[must_use]
    pub fn policy(&self) -> &SecurityPolicy {
        &self.policy
    }
}

impl Admission for SecurityAdmission {
    fn admit(
        &mut self,
        from: NodeAddr,
        bytes: Bytes,
        route: &Route,
        now_ns: u64,
    ) -> Result<Envelope<Verified, Bytes>, Reject> {
        self.receiver
            .admit(&self.policy, PeerId(from.0), bytes, route, now_ns)
    }
}
