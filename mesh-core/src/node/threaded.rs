//! A multi-threaded executor: timers, subscriptions and services spread over several named
//! threads, each running its own [`Executor`]. A callback is bound to one thread (round robin,
//! or the group chosen with [`ThreadedExecutor::in_group`]), so it never runs concurrently with
//! itself and needs no lock; callbacks on different threads run in parallel. Entities must be
//! `Send`: use a thread-safe transport (`ThreadSafeShmTransport` or the in-process one).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use mesh_msg_runtime::Service;

use super::executor::{Executor, SpinError};
use super::pubsub::{MeshMessage, Sample, Subscriber};
use super::service::ServiceServer;
use crate::transport::{FrameSubscriber, Transport};

type Registration = Box<dyn FnOnce(&mut Executor<'static>) + Send>;

/// How often a worker thread checks whether it was asked to stop while idle.
const STOP_CHECK: Duration = Duration::from_millis(20);

/// A worker thread stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThreadedError {
    /// A worker thread could not be started.
    #[error("cannot start executor thread `{thread}`: {source}")]
    Spawn {
        /// Thread name.
        thread: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A worker's executor failed.
    #[error("executor thread `{thread}` stopped: {source}")]
    Spin {
        /// Thread name.
        thread: String,
        /// What failed.
        source: SpinError,
    },
    /// A callback panicked on a worker thread.
    #[error("a callback panicked on executor thread `{thread}`")]
    Panicked {
        /// Thread name.
        thread: String,
    },
}

/// Collects callbacks, then runs them on `threads` named worker threads.
pub struct ThreadedExecutor {
    prefix: String,
    groups: Vec<Vec<Registration>>,
    next: usize,
    pinned: Option<usize>,
}

impl std::fmt::Debug for ThreadedExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedExecutor")
            .field("prefix", &self.prefix)
            .field("threads", &self.groups.len())
            .finish_non_exhaustive()
    }
}

impl ThreadedExecutor {
    /// An executor with `threads` workers (at least one), named `omni-exec-0`, `omni-exec-1`...
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Self {
            prefix: "omni-exec".to_owned(),
            groups: (0..threads.max(1)).map(|_| Vec::new()).collect(),
            next: 0,
            pinned: None,
        }
    }

    /// Names the worker threads `<prefix>-<index>` (Linux shows the first 15 bytes).
    #[must_use]
    pub fn thread_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// Puts the callbacks added next on worker `group` (modulo the thread count) instead of
    /// spreading them round robin; `None` returns to round robin. Callbacks in one group never
    /// run concurrently with each other.
    pub fn in_group(&mut self, group: Option<usize>) -> &mut Self {
        self.pinned = group.map(|g| g % self.groups.len());
        self
    }

    fn push(&mut self, registration: Registration) {
        let group = self.pinned.unwrap_or_else(|| {
            let g = self.next % self.groups.len();
            self.next += 1;
            g
        });
        self.groups[group].push(registration);
    }

    /// Calls `callback` every `period` on one worker.
    pub fn timer(&mut self, period: Duration, callback: impl FnMut() + Send + 'static) {
        self.push(Box::new(move |exec| exec.timer(period, callback)));
    }

    /// Calls `callback` with every verified sample of `subscriber`, on one worker.
    pub fn subscription<M, S>(
        &mut self,
        subscriber: Subscriber<M, S>,
        callback: impl FnMut(Sample<M, S::Frame>) + Send + 'static,
    ) where
        M: MeshMessage + 'static,
        S: FrameSubscriber + 'static,
        Subscriber<M, S>: Send,
    {
        self.push(Box::new(move |exec| {
            exec.subscription(subscriber, callback)
        }));
    }

    /// Answers requests to `server` with `handler`, on one worker. The server must not borrow
    /// a shorter-lived node (for example, create the node in an `Arc` leaked for the process
    /// lifetime, or keep services on a single-threaded [`Executor`]).
    pub fn service<S, T>(
        &mut self,
        server: ServiceServer<'static, S, T>,
        handler: impl FnMut(&Sample<S::Request, <T::Subscriber as FrameSubscriber>::Frame>) -> S::Response
            + Send
            + 'static,
    ) where
        S: Service + 'static,
        S::Request: MeshMessage,
        S::Response: MeshMessage,
        T: Transport + 'static,
        ServiceServer<'static, S, T>: Send,
    {
        self.push(Box::new(move |exec| exec.service(server, handler)));
    }

    /// Starts the workers. Each builds its [`Executor`] from its callbacks and spins until
    /// [`RunningExecutor::stop`] (or drop).
    pub fn start(self) -> Result<RunningExecutor, ThreadedError> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut running = RunningExecutor {
            stop: Arc::clone(&stop),
            threads: Vec::new(),
        };
        for (i, group) in self.groups.into_iter().enumerate() {
            let thread = format!("{}-{i}", self.prefix);
            let stop = Arc::clone(&stop);
            let handle = std::thread::Builder::new()
                .name(thread.clone())
                .spawn(move || worker(group, &stop))
                .map_err(|source| ThreadedError::Spawn {
                    thread: thread.clone(),
                    source,
                })?;
            running.threads.push((thread, handle));
        }
        Ok(running)
    }
}

fn worker(group: Vec<Registration>, stop: &AtomicBool) -> Result<(), SpinError> {
    let mut exec = Executor::new();
    for register in group {
        register(&mut exec);
    }
    while !stop.load(Ordering::Acquire) {
        exec.spin_once(STOP_CHECK)?;
    }
    Ok(())
}

/// Worker threads at work; stopping (or dropping) joins them.
#[derive(Debug)]
pub struct RunningExecutor {
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<Result<(), SpinError>>)>,
}

impl RunningExecutor {
    /// A flag that stops the workers when set (for signal handlers or other threads).
    #[must_use]
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The worker thread names.
    #[must_use]
    pub fn thread_names(&self) -> Vec<&str> {
        self.threads.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Asks every worker to stop after its current callback, joins them all, and returns the
    /// first failure.
    pub fn stop(mut self) -> Result<(), ThreadedError> {
        self.join_all()
    }

    fn join_all(&mut self) -> Result<(), ThreadedError> {
        self.stop.store(true, Ordering::Release);
        let mut first = Ok(());
        for (thread, handle) in self.threads.drain(..) {
            let outcome = match handle.join() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(source)) => Err(ThreadedError::Spin { thread, source }),
                Err(_) => Err(ThreadedError::Panicked { thread }),
            };
            if first.is_ok() {
                first = outcome;
            }
        }
        first
    }
}

impl Drop for RunningExecutor {
    fn drop(&mut self) {
        if let Err(e) = self.join_all() {
            tracing::error!(error = %e, "executor thread failed");
        }
    }
}
