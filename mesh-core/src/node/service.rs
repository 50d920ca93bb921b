//! Services: request/response between nodes on ROS 2-style names, over typed topics.
//!
//! Requests go to `<service>/_request`. Each client instance receives replies on its own topic
//! `<service>/_reply/c<key>_<epoch>` (the first 8 bytes of the client's key in hex, and the
//! client's own epoch, which is unique per client instance), so nothing needs to be added to
//! the generated request and response types: a reply carries the request's sequence number as
//! its own, and a client matches replies exactly. Requests and replies are signed envelopes
//! like every message: the server learns the verified client DID, the client verifies the
//! server.

use std::collections::hash_map::Entry;
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

/// Most reply publishers a server keeps (one per client instance it has answered).
pub const MAX_REPLY_PORTS: usize = 256;

/// The reply publishers of a type-erased service server (the Python binding, the ROS 2
/// bridge): one per client instance, on its [`reply_topic`], opened on its first request;
/// at most [`MAX_REPLY_PORTS`] are kept.
pub struct RawReplies<P> {
    service: String,
    max_bytes: usize,
    qos: crate::delivery::Qos,
    type_hash: [u8; 32],
    ports: HashMap<String, super::RawPublisher<P>>,
}

impl<P> std::fmt::Debug for RawReplies<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawReplies")
            .field("service", &self.service)
            .field("ports", &self.ports.len())
            .finish_non_exhaustive()
    }
}

impl<P: crate::transport::FramePublisher> RawReplies<P> {
    /// Replies of `service` (resolved name) of the type `type_hash`, archives of at most
    /// `max_bytes`, on channels with `qos` (the clients' reply subscriptions').
    #[must_use]
    pub fn new(
        service: &str,
        max_bytes: usize,
        qos: crate::delivery::Qos,
        type_hash: [u8; 32],
    ) -> Self {
        Self {
            service: service.to_owned(),
            max_bytes,
            qos,
            type_hash,
            ports: HashMap::new(),
        }
    }

    /// The publisher for the client instance (`client`, `epoch`), opened on `node` if new.
    ///
    /// # Errors
    /// [`NodeError`] when the port cannot be opened.
    pub fn port<T: Transport<Publisher = P>>(
        &mut self,
        node: &Node<T>,
        client: &Did,
        epoch: u64,
    ) -> Result<&mut super::RawPublisher<P>, NodeError> {
        let topic = reply_topic(&self.service, client, epoch);
        if !self.ports.contains_key(&topic) && self.ports.len() >= MAX_REPLY_PORTS {
            self.ports.clear();
        }
        Ok(match self.ports.entry(topic) {
            Entry::Occupied(port) => port.into_mut(),
            Entry::Vacant(slot) => {
                let spec = node.channel_spec(slot.key(), self.max_bytes, &self.qos)?;
                slot.insert(node.raw_publisher(&spec, self.type_hash)?)
            }
        })
    }
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
            if self.replies.len() >= MAX_REPLY_PORTS {
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
