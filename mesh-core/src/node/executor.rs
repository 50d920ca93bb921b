//! A single-threaded executor: timers, subscription callbacks and service handlers on one
//! thread ([`super::ThreadedExecutor`] runs several of them on named threads).
//!
//! `spin_once` runs every due timer, then hands every waiting sample to its callback, then —
//! if nothing was ready — blocks until the next timer is due, a sample may have arrived, or the
//! timeout passes. With one subscription it blocks on that subscription's transport wake-up;
//! with several it waits on each in turn in slices of at most [`Executor::POLL_SLICE`]
//! (multiplexed waiting on one iceoryx2 WaitSet is the next step).

use std::time::{Duration, Instant};

use mesh_msg_runtime::Service;

use super::pubsub::{MeshMessage, ReceiveError, Sample, Subscriber};
use super::service::{ServeError, ServiceServer};
use crate::transport::{FrameSubscriber, Transport};

/// Spinning stopped on an error (rejected frames are not errors: they are counted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpinError {
    /// A subscription's transport failed.
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// A service could not receive a request or send its reply.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

type Poll<'a> = Box<dyn FnMut(Duration) -> Result<usize, SpinError> + 'a>;

struct Timer<'a> {
    period: Duration,
    next: Instant,
    callback: Box<dyn FnMut() + 'a>,
}

/// Runs timers and subscription callbacks.
#[derive(Default)]
pub struct Executor<'a> {
    timers: Vec<Timer<'a>>,
    subscriptions: Vec<Poll<'a>>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("timers", &self.timers.len())
            .field("subscriptions", &self.subscriptions.len())
            .finish()
    }
}

impl<'a> Executor<'a> {
    /// Longest single wait on one subscription when several share the executor.
    pub const POLL_SLICE: Duration = Duration::from_millis(1);

    /// An empty executor.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `callback` every `period` (first call one period from now). A timer that falls
    /// behind runs once and is rescheduled from now, never in a burst.
    pub fn timer(&mut self, period: Duration, callback: impl FnMut() + 'a) {
        let period = period.max(Duration::from_micros(1));
        self.timers.push(Timer {
            period,
            next: Instant::now() + period,
            callback: Box::new(callback),
        });
    }

    /// Calls `callback` with every verified sample of `subscriber`.
    pub fn subscription<M, S>(
        &mut self,
        mut subscriber: Subscriber<M, S>,
        mut callback: impl FnMut(Sample<M, S::Frame>) + 'a,
    ) where
        M: MeshMessage + 'a,
        S: FrameSubscriber + 'a,
    {
        self.subscriptions.push(Box::new(move |wait| {
            let mut handled = 0;
            let mut timeout = wait;
            while let Some(sample) = subscriber
                .recv_timeout(timeout)
                .map_err(SpinError::Receive)?
            {
                callback(sample);
                handled += 1;
                timeout = Duration::ZERO;
            }
            Ok(handled)
        }));
    }

    /// Answers every request to `server` with `handler`, which sees the verified request
    /// (and its sender DID) and returns the response.
    pub fn service<S, T>(
        &mut self,
        mut server: ServiceServer<'a, S, T>,
        mut handler: impl FnMut(&Sample<S::Request, <T::Subscriber as FrameSubscriber>::Frame>) -> S::Response
            + 'a,
    ) where
        S: Service + 'a,
        S::Request: MeshMessage,
        S::Response: MeshMessage,
        T: Transport + 'a,
    {
        self.subscriptions.push(Box::new(move |wait| {
            let mut handled = 0;
            let mut timeout = wait;
            while server.serve_once(timeout, &mut handler)? {
                handled += 1;
                timeout = Duration::ZERO;
            }
            Ok(handled)
        }));
    }

    fn run_timers(&mut self) -> usize {
        let now = Instant::now();
        let mut ran = 0;
        for t in &mut self.timers {
            if now >= t.next {
                (t.callback)();
                ran += 1;
                t.next = if now >= t.next + t.period {
                    now + t.period
                } else {
                    t.next + t.period
                };
            }
        }
        ran
    }

    /// Runs what is ready, waiting up to `timeout` for something to become ready. Returns how
    /// many callbacks ran.
    pub fn spin_once(&mut self, timeout: Duration) -> Result<usize, SpinError> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut ran = self.run_timers();
            for poll in &mut self.subscriptions {
                ran += poll(Duration::ZERO)?;
            }
            if ran > 0 {
                return Ok(ran);
            }
            let now = Instant::now();
            let next_timer = self.timers.iter().map(|t| t.next).min();
            let until = next_timer.map_or(deadline, |t| t.min(deadline));
            if now >= deadline && next_timer.is_none_or(|t| t > now) {
                return Ok(0);
            }
            let budget = until.saturating_duration_since(now);
            match self.subscriptions.as_mut_slice() {
                [] => std::thread::sleep(budget),
                [only] => {
                    let handled = only(budget)?;
                    if handled > 0 {
                        return Ok(handled);
                    }
                }
                many => {
                    let slice =
                        budget.min(Self::POLL_SLICE) / u32::try_from(many.len()).unwrap_or(1);
                    for poll in many.iter_mut() {
                        let handled = poll(slice)?;
                        if handled > 0 {
                            return Ok(handled);
                        }
                    }
                }
            }
        }
    }

    /// Spins until `duration` has passed.
    pub fn spin_for(&mut self, duration: Duration) -> Result<(), SpinError> {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            self.spin_once(end.saturating_duration_since(Instant::now()))?;
        }
        Ok(())
    }
}
