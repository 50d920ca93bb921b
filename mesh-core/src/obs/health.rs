//! A node's health state, shared between its threads and the HTTP endpoint: starting, ready,
//! draining (shutting down: no longer ready, still alive) or failed (not alive).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// Where a node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// Starting: alive, not ready yet.
    Starting,
    /// Serving traffic.
    Ready,
    /// Shutting down: draining queues, no longer ready.
    Draining,
    /// Alive process, unable to do its job.
    Failed,
}

impl HealthState {
    /// Lower-case name, as the endpoint reports it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Draining => "draining",
            Self::Failed => "failed",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Ready,
            2 => Self::Draining,
            3 => Self::Failed,
            _ => Self::Starting,
        }
    }
}

/// Shared, cheap-to-clone health state (starts as [`HealthState::Starting`]).
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<AtomicU8>);

impl Health {
    /// A new state, starting.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> HealthState {
        HealthState::from_u8(self.0.load(Ordering::Acquire))
    }

    /// Ready for traffic (ignored once draining or failed: shutdown is one way).
    pub fn set_ready(&self) {
        let _ = self
            .0
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Shutting down: `/readyz` fails from now on, `/healthz` still succeeds.
    pub fn set_draining(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v != 3).then_some(2)
            });
    }

    /// Failed: both endpoints fail.
    pub fn set_failed(&self) {
        self.0.store(3, Ordering::Release);
    }

    /// `/healthz`: the node is alive and able to work.
    #[must_use]
    pub fn alive(&self) -> bool {
        self.state() != HealthState::Failed
    }

    /// `/readyz`: the node serves traffic.
    #[must_use]
    pub fn ready(&self) -> bool {
        self.state() == HealthState::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_is_one_way() {
        let h = Health::new();
        assert!(h.alive() && !h.ready());
        h.set_ready();
        assert!(h.ready());
        h.set_draining();
        h.set_ready();
        assert_eq!(h.state(), HealthState::Draining);
        h.set_failed();
        h.set_draining();
        assert_eq!(h.state(), HealthState::Failed);
        assert!(!h.alive());
    }
}
