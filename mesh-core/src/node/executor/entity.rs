//! What an executor runs besides timers: subscriptions (a subscriber and its callback) and
//! services (a server and its handler), behind one object-safe trait so the executor can poll
//! them, wait on their wake-up sources and clear those wake-ups.

use std::time::Duration;

use mesh_msg_runtime::Service;

use super::SpinError;
use crate::node::pubsub::{MeshMessage, Sample, Subscriber};
use crate::node::service::ServiceServer;
use crate::transport::{FrameSubscriber, Transport};

pub(super) trait Entity {
    /// Hands every waiting item to its callback, waiting up to `wait` for the first one.
    /// Returns how many callbacks ran.
    fn poll(&mut self, wait: Duration) -> Result<usize, SpinError>;

    /// The transport's wake-up source, for multiplexed waiting.
    #[cfg(feature = "shm")]
    fn wake_source(&self) -> Option<&dyn crate::transport::shm::WakeSource>;

    /// Consumes wake-ups already signalled.
    fn clear_wakeups(&mut self) -> Result<(), SpinError>;
}

pub(super) struct Subscription<M, S, F> {
    pub subscriber: Subscriber<M, S>,
    pub callback: F,
}

impl<M, S, F> Entity for Subscription<M, S, F>
where
    M: MeshMessage,
    S: FrameSubscriber,
    F: FnMut(Sample<M, S::Frame>),
{
    fn poll(&mut self, wait: Duration) -> Result<usize, SpinError> {
        let mut handled = 0;
        let mut timeout = wait;
        while let Some(sample) = self.subscriber.recv_timeout(timeout)? {
            (self.callback)(sample);
            handled += 1;
            timeout = Duration::ZERO;
        }
        Ok(handled)
    }

    #[cfg(feature = "shm")]
    fn wake_source(&self) -> Option<&dyn crate::transport::shm::WakeSource> {
        self.subscriber.port().wake_source()
    }

    fn clear_wakeups(&mut self) -> Result<(), SpinError> {
        Ok(self.subscriber.clear_wakeups()?)
    }
}

pub(super) struct Served<'a, S: Service, T: Transport, F> {
    pub server: ServiceServer<'a, S, T>,
    pub handler: F,
}

impl<S, T, F> Entity for Served<'_, S, T, F>
where
    S: Service,
    S::Request: MeshMessage,
    S::Response: MeshMessage,
    T: Transport,
    F: FnMut(&Sample<S::Request, <T::Subscriber as FrameSubscriber>::Frame>) -> S::Response,
{
    fn poll(&mut self, wait: Duration) -> Result<usize, SpinError> {
        let mut handled = 0;
        let mut timeout = wait;
        while self.server.serve_once(timeout, &mut self.handler)? {
            handled += 1;
            timeout = Duration::ZERO;
        }
        Ok(handled)
    }

    #[cfg(feature = "shm")]
    fn wake_source(&self) -> Option<&dyn crate::transport::shm::WakeSource> {
        self.server.requests().port().wake_source()
    }

    fn clear_wakeups(&mut self) -> Result<(), SpinError> {
        Ok(self.server.requests_mut().clear_wakeups()?)
    }
}
