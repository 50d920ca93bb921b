//! The daemon's links, whichever transport carries them: TCP links (signed handshake) or
//! QUIC links (TLS 1.3 bound to node keys), behind one small interface for the network
//! thread: accept, dial, send, receive.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use crate::identity::{NodeKey, PublicKey};
use crate::net::quic::{QuicConfig, QuicEndpoint, QuicLink};
use crate::net::tcp::{connect, Link, LinkConfig, LinkListener, LinkSender};
use crate::security::SecurityPolicy;

/// Which transport links between daemons use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkTransport {
    /// TCP with the signed identity handshake (lightweight, unencrypted).
    #[default]
    Tcp,
    /// QUIC: TLS 1.3 with certificates from node keys, one stream per topic.
    Quic,
}

/// Where links are accepted.
pub(super) enum Listening {
    Tcp(LinkListener),
    Quic(Arc<QuicEndpoint>),
}

/// One link.
pub(super) enum AnyLink {
    Tcp(Link),
    Quic(Arc<QuicLink>),
}

/// Sends on one link.
#[derive(Clone)]
pub(super) enum PeerSender {
    Tcp(LinkSender),
    Quic(Arc<QuicLink>),
}

impl Listening {
    /// Accepts the next link (an error concerns that connection only).
    pub(super) async fn accept(&self) -> Result<AnyLink, String> {
        match self {
            Self::Tcp(l) => l
                .accept()
                .await
                .map(AnyLink::Tcp)
                .map_err(|e| e.to_string()),
            Self::Quic(e) => e
                .accept()
                .await
                .map(|l| AnyLink::Quic(Arc::new(l)))
                .map_err(|e| e.to_string()),
        }
    }

    /// Opens a link to `peer` at `addr`.
    pub(super) async fn dial(
        &self,
        addr: SocketAddr,
        peer: PublicKey,
        key: &Arc<NodeKey>,
        policy: &Arc<SecurityPolicy>,
        config: &LinkConfig,
    ) -> Result<AnyLink, String> {
        match self {
            Self::Tcp(_) => {
                let link = connect(addr, key, policy, config)
                    .await
                    .map_err(|e| e.to_string())?;
                if link.peer() == peer {
                    Ok(AnyLink::Tcp(link))
                } else {
                    Err(format!("{addr} is {}, expected {peer}", link.peer()))
                }
            }
            Self::Quic(e) => e
                .connect(addr, Some(peer))
                .await
                .map(|l| AnyLink::Quic(Arc::new(l)))
                .map_err(|e| e.to_string()),
        }
    }
}

impl AnyLink {
    pub(super) fn peer(&self) -> PublicKey {
        match self {
            Self::Tcp(l) => l.peer(),
            Self::Quic(l) => l.peer(),
        }
    }

    pub(super) fn remote(&self) -> SocketAddr {
        match self {
            Self::Tcp(l) => l.remote(),
            Self::Quic(l) => l.remote(),
        }
    }

    pub(super) fn sender(&self) -> PeerSender {
        match self {
            Self::Tcp(l) => PeerSender::Tcp(l.sender()),
            Self::Quic(l) => PeerSender::Quic(Arc::clone(l)),
        }
    }

    pub(super) async fn recv(&mut self) -> Option<Bytes> {
        match self {
            Self::Tcp(l) => l.recv().await,
            Self::Quic(l) => l.recv().await,
        }
    }

    pub(super) fn end_reason(&self) -> Option<String> {
        match self {
            Self::Tcp(l) => l.end_reason(),
            Self::Quic(l) => l.end_reason(),
        }
    }
}

impl PeerSender {
    pub(super) async fn send(&self, frame: Bytes) -> Result<(), String> {
        match self {
            Self::Tcp(s) => s.send(frame).await.map_err(|e| e.to_string()),
            Self::Quic(l) => l.send(frame).await.map_err(|e| e.to_string()),
        }
    }
}

/// QUIC settings matching the TCP link settings.
pub(super) fn quic_config(link: &LinkConfig) -> QuicConfig {
    QuicConfig {
        max_frame: link.max_frame,
        queue: link.queue,
        compression: link.compression,
        ..QuicConfig::default()
    }
}
