//! Services: request/response between nodes on ROS 2-style names, over typed topics.
//!
//! Requests go to `<service>/_request`. Each client instance receives replies on its own topic
//! `<service>/_reply/c<key>_<epoch>` (the first 8 bytes of the client's key in hex, and the
//! client's own epoch, which is unique per client instance), so nothing needs to be added to
//! the generated request and response types: a reply carries the request's sequence number as
//! its own, and a client matches replies exactly. Requests and replies are signed envelopes
//! like every message: the server learns the verified client DID, the client verifies the
//! server.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mesh_msg_runtime::Service;

use super::pubsub::{
    MeshMessage, NodeError, PublishError, Publisher, ReceiveError, Sample, Subscriber,
};
use super::Node;
use crate::identity::Did;
use crate::transport::Transport;

/// A call did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The request could not be sent.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Receiving failed.
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// No reply within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
}

/// Serving a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Receiving failed.
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// The reply topic could not be opened.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The reply could not be sent.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The topic a client (`client`'s key, the client's `epoch`) receives the replies of
/// `service` on; type-erased clients (`omni-mesh service call`) use it.
#[must_use]
pub fn reply_topic(service: &str, client: &Did, epoch: u64) -> String {
    let key = client.public_key().to_bytes();
    let hex: String = key[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{service}/_reply/c{hex}_{epoch}")
}

/// The server end of service `S`.
pub struct ServiceServer<'n, S: Service, T: Transport> {
    node: &'n Node<T>,
    name: String,
    max_bytes: usize,
    requests: Subscriber<S::Request, T::Subscriber>,
    replies: HashMap<String, Publisher<S::Response, T::Publisher>>,
}

/// The client end of service `S`.
pub struct ServiceClient<S: Service, T: Transport> {
    requests: Publisher<S::Request, T::Publisher>,
    replies: Subscriber<S::Response, T::Subscriber>,
}

impl<S: Service, T: Transport> std::fmt::Debug for ServiceServer<'_, S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceServer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S: Service, T: Transport> std::fmt::Debug for ServiceClient<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient").finish_non_exhaustive()
    }
}

impl<T: Transport> Node<T> {
    /// Serves `S` on `name` (resolved like a topic) for requests and replies whose archives are
    /// at most `max_bytes`.
    pub fn service<S: Service>(
        &self,
        name: &str,
        max_bytes: usize,
    ) -> Result<ServiceServer<'_, S, T>, NodeError>
    where
        S::Request: MeshMessage,
        S::Response: MeshMessage,
    {
        let name = self.resolve(name)?;
        let requests = self.subscriber::<S::Request>(&format!("{name}/_request"), max_bytes)?;
        Ok(ServiceServer {
            node: self,
            name,
            max_bytes,
            requests,
            replies: HashMap::new(),
        })
    }

    /// A client of `S` on `name`.
    pub fn client<S: Service>(
        &self,
        name: &str,
        max_bytes: usize,
    ) -> Result<ServiceClient<S, T>, NodeError>
    where
        S::Request: MeshMessage,
        S::Response: MeshMessage,
    {
        let name = self.resolve(name)?;
        // Each client instance has its own epoch, so its reply topic is its own.
        let epoch = self.epoch + self.clients.fetch_add(1, Ordering::Relaxed);
        let replies =
            self.subscriber::<S::Response>(&reply_topic(&name, &self.did(), epoch), max_bytes)?;
        let mut requests = self.publisher::<S::Request>(&format!("{name}/_request"), max_bytes)?;
        requests.set_epoch(epoch);
        Ok(ServiceClient { requests, replies })
    }
}

impl<S: Service, T: Transport> ServiceServer<'_, S, T>
where
    S::Request: MeshMessage,
    S::Response: MeshMessage,
{
    /// The resolved service name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The request subscriber (executors wait on it).
    pub(crate) fn requests(&self) -> &Subscriber<S::Request, T::Subscriber> {
        &self.requests
    }

    /// The request subscriber, mutably.
    pub(crate) fn requests_mut(&mut self) -> &mut Subscriber<S::Request, T::Subscriber> {
        &mut self.requests
    }

    /// Waits up to `timeout` for one request and answers it with `handler`, which sees the
    /// verified request (and its sender). Returns whether a request was served.
    pub fn serve_once(
        &mut self,
        timeout: Duration,
        handler: impl FnOnce(
            &Sample<S::Request, <T::Subscriber as crate::transport::FrameSubscriber>::Frame>,
        ) -> S::Response,
    ) -> Result<bool, ServeError> {
        let Some(request) = self.requests.recv_timeout(timeout)? else {
            return Ok(false);
        };
        let topic = reply_topic(&self.name, &request.sender(), request.epoch());
        if !self.replies.contains_key(&topic) {
            if self.replies.len() >= 256 {
                self.replies.clear();
            }
            let publisher = self.node.publisher::<S::Response>(&topic, self.max_bytes)?;
            self.replies.insert(topic.clone(), publisher);
        }
        let response = handler(&request);
        if let Some(publisher) = self.replies.get_mut(&topic) {
            publisher.publish_as(&response, request.sequence())?;
        }
        Ok(true)
    }
}

impl<S: Service, T: Transport> ServiceClient<S, T>
where
    S::Request: MeshMessage,
    S::Response: MeshMessage,
{
    /// Sends `request` and waits up to `timeout` for its reply (older replies are skipped).
    pub fn call(
        &mut self,
        request: &S::Request,
        timeout: Duration,
    ) -> Result<
        Sample<S::Response, <T::Subscriber as crate::transport::FrameSubscriber>::Frame>,
        CallError,
    > {
        let sequence = self.requests.next_sequence();
        self.requests.publish(request)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left)? {
                Some(reply) if reply.sequence() == sequence => return Ok(reply),
                Some(_) => {}
                None => return Err(CallError::Timeout(timeout)),
            }
        }
    }
}
