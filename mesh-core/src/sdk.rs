//! The point-to-point SDK facade: a client that sends letters to other nodes by DID and
//! receives its own, over a node with a per-node inbox topic (`/omni/inbox/c<key8>`). Letters
//! are `omni_msgs/msg/Letter` (a kind and bytes) in signed envelopes, so every received letter
//! names its verified sender.
//!
//! ```no_run
//! use std::time::Duration;
//! use mesh_core::sdk::OmnimeshClient;
//!
//! let robot = "did:key:z6Mk...".parse()?;
//! let mut me = OmnimeshClient::builder().name("operator").trust(&robot).build()?;
//! me.send(&robot, "text", b"go to dock 3")?;
//! if let Some(letter) = me.receive_timeout(Duration::from_secs(1))? {
//!     println!("{} says {:?}", letter.from, String::from_utf8_lossy(&letter.body));
//! }
//! println!("{:?}", me.health());
//! me.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use omni_msgs::omni_msgs::msg::Letter;

use crate::config::Config;
use crate::identity::{Did, NodeKey};
use crate::node::{Node, NodeError, PublishError, Publisher, ReceiveError, Subscriber};
use crate::security::TrustStore;
use crate::transport::Transport;

/// Largest letter body accepted (1 MiB).
pub const MAX_BODY: usize = 1 << 20;

/// A client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The node or a port could not be created.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Sending failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Receiving failed.
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// The shared-memory transport could not be opened.
    #[error("transport: {0}")]
    Transport(Box<dyn std::error::Error + Send + Sync>),
    /// A body over [`MAX_BODY`].
    #[error("letter body of {0} bytes exceeds {MAX_BODY}")]
    TooLarge(usize),
}

/// A received letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The verified sender.
    pub from: Did,
    /// The application's kind label.
    pub kind: String,
    /// The bytes.
    pub body: Vec<u8>,
}

/// A snapshot of the client's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// This client's identity.
    pub did: Did,
    /// Time since the client was built.
    pub uptime: Duration,
    /// Letters sent.
    pub sent: u64,
    /// Letters received.
    pub received: u64,
    /// Frames rejected (untrusted, forged, malformed) and replays dropped.
    pub dropped: (u64, u64),
}

/// Builds an [`OmnimeshClient`].
#[derive(Debug, Default)]
#[must_use]
pub struct OmnimeshClientBuilder {
    config: Config,
    name: Option<String>,
    key: Option<NodeKey>,
    trust: TrustStore,
}

impl OmnimeshClientBuilder {
    /// Node configuration (security mode, limits).
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Node name (default `client`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The client's key (default: a fresh one).
    pub fn key(mut self, key: NodeKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Trusts letters from `did`.
    pub fn trust(mut self, did: &Did) -> Self {
        self.trust.add_publisher(did.public_key());
        self
    }

    /// Builds the client on iceoryx2 shared memory.
    #[cfg(feature = "shm")]
    pub fn build(self) -> Result<OmnimeshClient<crate::transport::shm::ShmTransport>, SdkError> {
        let transport = crate::transport::shm::ShmTransport::new()
            .map_err(|e| SdkError::Transport(Box::new(e)))?;
        self.build_on(transport)
    }

    /// Builds the client on `transport`.
    pub fn build_on<T: Transport>(self, transport: T) -> Result<OmnimeshClient<T>, SdkError> {
        let mut node = Node::builder(self.name.as_deref().unwrap_or("client"), transport)
            .security(self.config.security)
            .trust(self.trust);
        if let Some(key) = self.key {
            node = node.key(key);
        }
        let node = node.build()?;
        let inbox = node.subscriber::<Letter>(&inbox_topic(&node.did()), MAX_BODY + 256)?;
        Ok(OmnimeshClient {
            node,
            inbox,
            outboxes: HashMap::new(),
            started: Instant::now(),
            sent: 0,
            received: 0,
        })
    }
}

fn inbox_topic(did: &Did) -> String {
    let key = did.public_key().to_bytes();
    let hex: String = key[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("/omni/inbox/c{hex}")
}

/// A point-to-point client over a node.
pub struct OmnimeshClient<T: Transport> {
    node: Node<T>,
    inbox: Subscriber<Letter, T::Subscriber>,
    outboxes: HashMap<Did, Publisher<Letter, T::Publisher>>,
    started: Instant,
    sent: u64,
    received: u64,
}

impl<T: Transport> std::fmt::Debug for OmnimeshClient<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmnimeshClient")
            .field("did", &self.node.did().to_string())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "shm")]
impl OmnimeshClient<crate::transport::shm::ShmTransport> {
    /// A builder (the client runs on shared memory; `OmnimeshClientBuilder::build_on` takes
    /// any transport).
    pub fn builder() -> OmnimeshClientBuilder {
        OmnimeshClientBuilder::default()
    }
}

impl<T: Transport> OmnimeshClient<T> {
    /// This client's DID (give it to peers so they can trust and address it).
    #[must_use]
    pub fn did(&self) -> Did {
        self.node.did()
    }

    /// Sends a letter to `to`'s inbox.
    pub fn send(&mut self, to: &Did, kind: &str, body: &[u8]) -> Result<(), SdkError> {
        if body.len() > MAX_BODY {
            return Err(SdkError::TooLarge(body.len()));
        }
        if !self.outboxes.contains_key(to) {
            let publisher = self
                .node
                .publisher::<Letter>(&inbox_topic(to), MAX_BODY + 256)?;
            self.outboxes.insert(*to, publisher);
        }
        let letter = Letter {
            kind: kind.to_owned(),
            body: body.to_vec(),
        };
        if let Some(out) = self.outboxes.get_mut(to) {
            out.publish(&letter)?;
            self.sent += 1;
        }
        Ok(())
    }

    /// The next letter, waiting up to `timeout`.
    pub fn receive_timeout(&mut self, timeout: Duration) -> Result<Option<Received>, SdkError> {
        let Some(sample) = self.inbox.recv_timeout(timeout)? else {
            return Ok(None);
        };
        self.received += 1;
        Ok(Some(Received {
            from: sample.sender(),
            kind: sample.kind.as_str().to_owned(),
            body: sample.body.as_slice().to_vec(),
        }))
    }

    /// Counters and identity.
    #[must_use]
    pub fn health(&self) -> Health {
        Health {
            did: self.did(),
            uptime: self.started.elapsed(),
            sent: self.sent,
            received: self.received,
            dropped: self.inbox.dropped(),
        }
    }

    /// Closes every port and the node (shared-memory resources are released).
    pub fn shutdown(self) {
        drop(self);
    }
}
