//! What the bridge forwards, decided without I/O: loop prevention and rate limits.
//!
//! - Mesh -> ROS 2: a mesh message signed by this bridge came from ROS 2 through it, and one
//!   signed by a peer bridge (`[loop] peer_bridges`) came from ROS 2 through that one: neither
//!   goes back to DDS.
//! - ROS 2 -> mesh: a DDS sample written by this bridge's own participant went out through
//!   it, and one from another bridge's participant came from the mesh through that bridge:
//!   neither comes back in.
//! - Peer bridges are configured, or learnt from their announcements on the mesh
//!   ([`LoopGuard::learn_peer_bridge`]).
//! - Each mapping and direction may have a rate limit: a token bucket of one second's worth.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A DDS participant, by its GUID prefix.
pub type ParticipantId = [u8; 12];

/// Loop prevention state.
#[derive(Debug, Clone)]
pub struct LoopGuard {
    own_key: [u8; 32],
    peer_keys: HashSet<[u8; 32]>,
    own_participant: ParticipantId,
    peer_participants: HashSet<ParticipantId>,
    dropped_to_ros: u64,
    dropped_from_ros: u64,
}

impl LoopGuard {
    /// The bridge's mesh key and DDS participant, and the mesh keys of peer bridges.
    #[must_use]
    pub fn new(
        own_key: [u8; 32],
        own_participant: ParticipantId,
        peer_keys: impl IntoIterator<Item = [u8; 32]>,
    ) -> Self {
        Self {
            own_key,
            peer_keys: peer_keys.into_iter().collect(),
            own_participant,
            peer_participants: HashSet::new(),
            dropped_to_ros: 0,
            dropped_from_ros: 0,
        }
    }

    /// A DDS participant is another bridge's.
    pub fn learn_peer_participant(&mut self, participant: ParticipantId) {
        if participant != self.own_participant {
            self.peer_participants.insert(participant);
        }
    }

    /// Another bridge announced itself: its mesh key and DDS participant. True when it is
    /// new.
    pub fn learn_peer_bridge(&mut self, key: [u8; 32], participant: ParticipantId) -> bool {
        if key == self.own_key {
            return false;
        }
        self.learn_peer_participant(participant);
        self.peer_keys.insert(key)
    }

    /// Whether `participant` is this bridge's or another bridge's.
    #[must_use]
    pub fn is_bridge(&self, participant: &ParticipantId) -> bool {
        *participant == self.own_participant || self.peer_participants.contains(participant)
    }

    /// Whether a mesh message from `sender` may go to ROS 2.
    pub fn to_ros(&mut self, sender: &[u8; 32]) -> bool {
        let ok = *sender != self.own_key && !self.peer_keys.contains(sender);
        if !ok {
            self.dropped_to_ros += 1;
        }
        ok
    }

    /// Whether a DDS sample written by `participant` may come into the mesh.
    pub fn from_ros(&mut self, participant: &ParticipantId) -> bool {
        let ok =
            *participant != self.own_participant && !self.peer_participants.contains(participant);
        if !ok {
            self.dropped_from_ros += 1;
        }
        ok
    }

    /// Messages held back so far: (mesh -> ROS 2, ROS 2 -> mesh).
    #[must_use]
    pub fn dropped(&self) -> (u64, u64) {
        (self.dropped_to_ros, self.dropped_from_ros)
    }
}

/// Locks state shared by the bridge's threads (the guard, a service's calls); a poisoned
/// lock still guards.
pub fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A token bucket: at most `rate` messages per second, bursts up to one second's worth.
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate: f64,
    tokens: f64,
    last_ns: Option<u64>,
    dropped: u64,
}

impl RateLimit {
    /// `rate` messages per second (must be positive).
    #[must_use]
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            tokens: rate.max(1.0),
            last_ns: None,
            dropped: 0,
        }
    }

    /// Whether a message at `now_ns` (monotonic) may pass.
    pub fn allow(&mut self, now_ns: u64) -> bool {
        if let Some(last) = self.last_ns {
            #[allow(clippy::cast_precision_loss)]
            let elapsed = now_ns.saturating_sub(last) as f64 / 1e9;
            self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        }
        self.last_ns = Some(now_ns);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    /// Messages refused so far.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_and_peer_traffic_does_not_loop() {
        let mut g = LoopGuard::new([1; 32], [9; 12], [[2; 32]]);
        assert!(g.to_ros(&[3; 32]), "an ordinary mesh publisher");
        assert!(!g.to_ros(&[1; 32]), "what this bridge brought in");
        assert!(!g.to_ros(&[2; 32]), "what a peer bridge brought in");
        assert!(g.from_ros(&[5; 12]), "an ordinary ROS 2 publisher");
        assert!(!g.from_ros(&[9; 12]), "what this bridge sent out");
        g.learn_peer_participant([6; 12]);
        g.learn_peer_participant([9; 12]);
        assert!(!g.from_ros(&[6; 12]), "what a peer bridge sent out");
        assert_eq!(g.dropped(), (2, 2));
        // An announcement teaches both at once; this bridge's own is ignored.
        assert!(g.learn_peer_bridge([4; 32], [7; 12]));
        assert!(!g.learn_peer_bridge([4; 32], [7; 12]), "already known");
        assert!(!g.learn_peer_bridge([1; 32], [9; 12]), "this bridge itself");
        assert!(!g.to_ros(&[4; 32]) && !g.from_ros(&[7; 12]));
        assert!(g.is_bridge(&[7; 12]) && g.is_bridge(&[9; 12]) && !g.is_bridge(&[5; 12]));
        assert!(g.from_ros(&[5; 12]));
    }

    #[test]
    fn rate_limits_allow_a_second_of_burst_then_the_rate() {
        let mut r = RateLimit::new(10.0);
        let passed = (0..100).filter(|_| r.allow(1_000_000_000)).count();
        assert_eq!(passed, 10, "a burst of one second's worth");
        // 100 ms later one more token has accrued.
        assert!(r.allow(1_100_000_000));
        assert!(!r.allow(1_100_000_000));
        // Over ten simulated seconds at 100 Hz offered, about 10 Hz pass.
        let mut r = RateLimit::new(10.0);
        let passed = (0..1000u64).filter(|i| r.allow(i * 10_000_000)).count();
        assert!((100..=111).contains(&passed), "{passed}");
        assert_eq!(r.dropped(), 1000 - passed as u64);
        // Slow rates still pass one message at a time.
        let mut r = RateLimit::new(0.5);
        assert!(r.allow(0));
        assert!(!r.allow(1_000_000_000));
        assert!(r.allow(2_000_000_000));
    }
}
