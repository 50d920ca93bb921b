//! Keeping a link up: [`Backoff`] (sans-IO jittered exponential back-off) and [`Redial`],
//! which reconnects to one address with it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::tcp::{connect, Link, LinkConfig, LinkError};
use crate::identity::NodeKey;
use crate::security::SecurityPolicy;

/// Jittered exponential back-off (sans-IO): `initial`, doubling up to `max`, each delay drawn
/// uniformly from its upper half so reconnecting peers do not move in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Back-off from `initial` to `max`.
    #[must_use]
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            next: initial,
        }
    }

    /// The next delay, given a random value in `0.0..1.0`.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let ceiling = self.next;
        self.next = (self.next * 2).min(self.max);
        ceiling.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
    }

    /// Starts over (after a success).
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Keeps (re)connecting to one address.
#[derive(Debug)]
pub struct Redial {
    addr: SocketAddr,
    key: Arc<NodeKey>,
    policy: Arc<SecurityPolicy>,
    config: LinkConfig,
    backoff: Backoff,
}

impl Redial {
    /// Dials `addr`, backing off from 100 ms to 5 s between failed attempts.
    #[must_use]
    pub fn new(
        addr: SocketAddr,
        key: Arc<NodeKey>,
        policy: Arc<SecurityPolicy>,
        config: LinkConfig,
    ) -> Self {
        Self {
            addr,
            key,
            policy,
            config,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
        }
    }

    /// Uses `backoff` between attempts.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// A link, after at most `attempts` tries (waiting the back-off between them).
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn connect(&mut self, attempts: u32) -> Result<Link, LinkError> {
        let mut last = LinkError::Closed;
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                let random = f64::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng))
                    / f64::from(u32::MAX);
                tokio::time::sleep(self.backoff.next_delay(random)).await;
            }
            match connect(self.addr, &self.key, &self.policy, &self.config).await {
                Ok(link) => {
                    self.backoff.reset();
                    return Ok(link);
                }
                Err(e) => {
                    tracing::debug!(addr = %self.addr, attempt, error = %e, "dial failed");
                    last = e;
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let highs: Vec<u128> = (0..6).map(|_| b.next_delay(1.0).as_millis()).collect();
        assert_eq!(highs, [100, 200, 400, 800, 800, 800]);
        assert_eq!(
            b.next_delay(0.0),
            Duration::from_millis(400),
            "lower half of 800"
        );
        b.reset();
        assert_eq!(b.next_delay(1.0), Duration::from_millis(100));
    }
}
