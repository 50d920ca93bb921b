//! A single-threaded executor: timers, subscription callbacks and service handlers on one
//! thread ([`super::ThreadedExecutor`] runs several of them on named threads).
//!
//! `spin_once` runs every due timer, then hands every waiting sample or request to its
//! callback, then — if nothing was ready — blocks until the next timer is due, something may
//! have arrived, or the timeout passes. One subscription blocks on its own transport wake-up;
//! several shared-memory subscriptions block together on one iceoryx2 `WaitSet` (no polling).
//! Subscriptions whose transport has no wake-up source to multiplex (the in-process one) are
//! waited on in turn, in slices of at most [`Executor::POLL_SLICE`].

mod entity;

use std::time::{Duration, Instant};

use mesh_msg_runtime::Service;

use super::pubsub::{MeshMessage, ReceiveError, Sample, Subscriber};
use super::service::{ServeError, ServiceServer};
use crate::transport::{FrameSubscriber, Transport};
use entity::{Entity, Served, Subscription};

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
    /// Waiting on several subscriptions at once failed.
    #[error("multiplexed wait failed: {0}")]
    Wait(String),
}

struct Timer<'a> {
    period: Duration,
    next: Instant,
    callback: Box<dyn FnMut() + 'a>,
}

/// Runs timers, subscription callbacks and service handlers.
#[derive(Default)]
pub struct Executor<'a> {
    timers: Vec<Timer<'a>>,
    entities: Vec<Box<dyn Entity + 'a>>,
    /// Times every callback against its budget, when set.
    wcet: Option<crate::rt::Wcet>,
    #[cfg(feature = "shm")]
    waitset: Option<iceoryx2::prelude::WaitSet<iceoryx2::prelude::ipc::Service>>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("timers", &self.timers.len())
            .field("entities", &self.entities.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Executor<'a> {
    /// Longest single wait on one subscription when several share the executor and cannot be
    /// multiplexed.
    pub const POLL_SLICE: Duration = Duration::from_millis(1);

    /// An empty executor.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An executor whose callbacks run under WCET guards ([`crate::rt`]): each run is
    /// timed against the callback's budget (by topic, service or timer name), overruns are
    /// counted and logged.
    #[must_use]
    pub fn with_wcet(wcet: crate::rt::Wcet) -> Self {
        Self {
            wcet: Some(wcet),
            ..Self::default()
        }
    }

    /// Calls `callback` every `period` (first call one period from now). A timer that falls
    /// behind runs once and is rescheduled from now, never in a burst. Its WCET name is
    /// `timer<N>` (N counts timers from 0); [`named_timer`](Self::named_timer) names it.
    pub fn timer(&mut self, period: Duration, callback: impl FnMut() + 'a) {
        let name = format!("timer{}", self.timers.len());
        self.named_timer(&name, period, callback);
    }

    /// As [`timer`](Self::timer), with a name for its WCET budget and metrics.
    pub fn named_timer(&mut self, name: &str, period: Duration, mut callback: impl FnMut() + 'a) {
        let period = period.max(Duration::from_micros(1));
        let callback: Box<dyn FnMut() + 'a> = match &self.wcet {
            Some(wcet) => {
                let mut guard = wcet.guard(name);
                Box::new(move || guard.run(&mut callback))
            }
            None => Box::new(callback),
        };
        self.timers.push(Timer {
            period,
            next: Instant::now() + period,
            callback,
        });
    }

    /// Calls `callback` with every verified sample of `subscriber`.
    pub fn subscription<M, S>(
        &mut self,
        subscriber: Subscriber<M, S>,
        mut callback: impl FnMut(Sample<M, S::Frame>) + 'a,
    ) where
        M: MeshMessage + 'a,
        S: FrameSubscriber + 'a,
    {
        let mut guard = self.wcet.as_ref().map(|w| w.guard(subscriber.topic()));
        let callback = move |sample| match &mut guard {
            Some(guard) => guard.run(|| callback(sample)),
            None => callback(sample),
        };
        self.entities.push(Box::new(Subscription {
            subscriber,
            callback,
        }));
    }

    /// Answers every request to `server` with `handler`, which sees the verified request
    /// (and its sender DID) and returns the response.
    pub fn service<S, T>(
        &mut self,
        server: ServiceServer<'a, S, T>,
        handler: impl FnMut(&Sample<S::Request, <T::Subscriber as FrameSubscriber>::Frame>) -> S::Response
            + 'a,
    ) where
        S: Service + 'a,
        S::Request: MeshMessage,
        S::Response: MeshMessage,
        T: Transport + 'a,
    {
        let mut handler = handler;
        let mut guard = self.wcet.as_ref().map(|w| w.guard(server.name()));
        let handler = move |request: &Sample<S::Request, _>| match &mut guard {
            Some(guard) => guard.run(|| handler(request)),
            None => handler(request),
        };
        self.entities.push(Box::new(Served { server, handler }));
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

    fn poll_all(&mut self) -> Result<usize, SpinError> {
        let mut ran = 0;
        for entity in &mut self.entities {
            ran += entity.poll(Duration::ZERO)?;
        }
        Ok(ran)
    }

    /// Runs what is ready, waiting up to `timeout` for something to become ready. Returns how
    /// many callbacks ran.
    pub fn spin_once(&mut self, timeout: Duration) -> Result<usize, SpinError> {
        let deadline = Instant::now() + timeout;
        loop {
            let ran = self.run_timers() + self.poll_all()?;
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
            if let Some(handled) = self.wait(budget)? {
                if handled > 0 {
                    return Ok(handled);
                }
            }
        }
    }

    /// Blocks up to `budget` until something may be ready; returns callbacks run meanwhile.
    fn wait(&mut self, budget: Duration) -> Result<Option<usize>, SpinError> {
        match self.entities.as_mut_slice() {
            [] => {
                std::thread::sleep(budget);
                Ok(None)
            }
            [only] => only.poll(budget).map(Some),
            _ => {
                #[cfg(feature = "shm")]
                if self.wait_multiplexed(budget)? {
                    return Ok(None);
                }
                let slice =
                    budget.min(Self::POLL_SLICE) / u32::try_from(self.entities.len()).unwrap_or(1);
                for entity in &mut self.entities {
                    let handled = entity.poll(slice)?;
                    if handled > 0 {
                        return Ok(Some(handled));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Waits on every entity's wake-up source at once (one iceoryx2 `WaitSet`), then consumes
    /// the wake-ups of those that fired. False when some entity has no wake-up source.
    #[cfg(feature = "shm")]
    fn wait_multiplexed(&mut self, budget: Duration) -> Result<bool, SpinError> {
        use crate::transport::shm_wait;

        let Some(sources) = self
            .entities
            .iter()
            .map(|e| e.wake_source())
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(false);
        };
        if self.waitset.is_none() {
            let waitset = shm_wait::waitset().map_err(|e| SpinError::Wait(e.0))?;
            self.waitset = Some(waitset);
        }
        let Some(waitset) = self.waitset.as_ref() else {
            return Ok(false);
        };
        let fired =
            shm_wait::wait_once(waitset, &sources, budget).map_err(|e| SpinError::Wait(e.0))?;
        drop(sources);
        for (entity, hit) in self.entities.iter_mut().zip(fired) {
            if hit {
                entity.clear_wakeups()?;
            }
        }
        Ok(true)
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
