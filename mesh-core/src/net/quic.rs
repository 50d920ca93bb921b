//! QUIC links (quinn + rustls, TLS 1.3 only): each node's TLS certificate is self-signed with
//! its own Ed25519 key, and both ends verify the other's certificate by identity instead of a
//! CA: the certificate's key must be a DID the security policy admits, and the TLS handshake
//! signature must verify with it. Mutual authentication, encryption, and the same envelopes.
//!
//! Stream use (the choice the issue asks for): every topic gets its own unidirectional stream
//! per direction, opened on first use, so frames of one topic stay in order while a lost
//! packet of one topic never holds up another (no head-of-line blocking across topics);
//! control frames use their own stream. Best-effort data may go as QUIC datagrams
//! ([`QuicLink::send_datagram`]): unordered, unreliable, no retransmission, bounded by the
//! path's datagram size.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, Mutex};

use super::compress::{Codec, CompressionConfig, Compressor, FEATURE_LZ4};
use super::frame::{prefix, FrameDecoder};
use super::quic_writer::write_loop;
use crate::identity::{Did, NodeKey, PublicKey};
use crate::security::SecurityPolicy;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Largest UDP payload path MTU discovery tries (a 9000-byte jumbo frame less IPv6 and UDP
/// headers).
const JUMBO_UDP_PAYLOAD: u16 = 8952;

/// ALPN of OMNI-MESH links.
const ALPN: &[u8] = b"omni-mesh/1";
/// ALPN of OMNI-MESH links with LZ4 compression, offered first when compression is on: the
/// TLS handshake (authenticated) picks it only if both ends offer it.
const ALPN_LZ4: &[u8] = b"omni-mesh/1+lz4";

/// A QUIC endpoint or link failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// The node's TLS identity could not be built.
    #[error("cannot build the TLS identity: {0}")]
    Identity(String),
    /// TLS or QUIC configuration failed.
    #[error("QUIC configuration: {0}")]
    Config(String),
    /// The UDP socket could not be opened.
    #[error("cannot open the QUIC endpoint on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// Connecting failed (including a peer that refused our identity).
    #[error("connecting to {addr}: {reason}")]
    Connect {
        /// Address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The peer is not the node that was expected at that address.
    #[error("{addr} is {found}, expected {expected}")]
    WrongPeer {
        /// Address.
        addr: SocketAddr,
        /// Who answered.
        found: Did,
        /// Who was expected.
        expected: Did,
    },
    /// The endpoint was closed.
    #[error("the QUIC endpoint is closed")]
    Closed,
    /// A stream or datagram failed.
    #[error("sending on the link: {0}")]
    Send(String),
    /// A frame that cannot be sent.
    #[error(transparent)]
    Frame(#[from] super::frame::FrameError),
}

/// Settings of QUIC links.
#[derive(Debug, Clone)]
pub struct QuicConfig {
    /// Largest frame accepted or sent.
    pub max_frame: usize,
    /// Received frames queued before readers wait.
    pub queue: usize,
    /// A link without traffic for this long is closed (keep-alives are sent at a third).
    pub idle_timeout: Duration,
    /// Compression offered to the peer (off by default).
    pub compression: CompressionConfig,
}

impl Default for QuicConfig {
    fn default() -> Self {
        Self {
            max_frame: 16 << 20,
            queue: 1024,
            idle_timeout: Duration::from_secs(10),
            compression: CompressionConfig::default(),
        }
    }
}

/// The Ed25519 key of a certificate's SubjectPublicKeyInfo (parsed by webpki, not searched).
fn certificate_key(cert: &CertificateDer<'_>) -> Option<PublicKey> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    let spki = parsed.subject_public_key_info();
    let der = spki.as_ref();
    if der.len() != 44 || der[..12] != ED25519_SPKI_PREFIX {
        return None;
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&der[12..]);
    PublicKey::from_bytes(key).ok()
}

/// Checks certificates by identity (for both the client and the server side).
#[derive(Debug)]
struct IdentityVerifier {
    policy: Arc<SecurityPolicy>,
    provider: Arc<CryptoProvider>,
}

impl IdentityVerifier {
    fn check(&self, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        let key = certificate_key(cert).ok_or_else(|| {
            rustls::Error::General("peer certificate is not an Ed25519 node identity".into())
        })?;
        if self.policy.admits_peer(&key) {
            Ok(())
        } else {
            Err(rustls::Error::General(format!(
                "peer {} is not trusted here",
                Did::from(key)
            )))
        }
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
}

/// The handshake-signature methods both verifier traits share: TLS 1.3 only, Ed25519 only,
/// checked by [`IdentityVerifier::tls13`].
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("TLS 1.2 is not allowed".into()))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.tls13(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![SignatureScheme::ED25519]
        }
    };
}

impl ServerCertVerifier for IdentityVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

impl ClientCertVerifier for IdentityVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// The node's self-signed TLS certificate and its private key (the node key itself).
fn tls_identity(
    key: &NodeKey,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), QuicError> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let pkcs8 = key
        .signing_key()
        .to_pkcs8_der()
        .map_err(|e| QuicError::Identity(e.to_string()))?;
    let der = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
    let pair = rcgen::KeyPair::try_from(&der).map_err(|e| QuicError::Identity(e.to_string()))?;
    let params = rcgen::CertificateParams::new(vec!["omni-mesh".to_owned()])
        .map_err(|e| QuicError::Identity(e.to_string()))?;
    let cert = params
        .self_signed(&pair)
        .map_err(|e| QuicError::Identity(e.to_string()))?;
    Ok((vec![cert.der().clone()], PrivateKeyDer::Pkcs8(der)))
}

/// A node's QUIC endpoint: accepts and opens links.
#[derive(Debug)]
pub struct QuicEndpoint {
    endpoint: quinn::Endpoint,
    config: QuicConfig,
}

impl QuicEndpoint {
    /// Opens an endpoint on `addr` (port 0 picks one) that proves `key` and admits peers by
    /// `policy`.
    ///
    /// # Errors
    /// Identity, configuration or socket failures.
    pub fn bind(
        addr: SocketAddr,
        key: &NodeKey,
        policy: Arc<SecurityPolicy>,
        config: QuicConfig,
    ) -> Result<Self, QuicError> {
        let socket =
            std::net::UdpSocket::bind(addr).map_err(|source| QuicError::Bind { addr, source })?;
        Self::from_std(socket, key, policy, config)
    }

    /// An endpoint on an already bound UDP socket (bind first to learn the port). Must be
    /// called inside a tokio runtime.
    ///
    /// # Errors
    /// Identity, configuration or socket failures.
    pub fn from_std(
        socket: std::net::UdpSocket,
        key: &NodeKey,
        policy: Arc<SecurityPolicy>,
        config: QuicConfig,
    ) -> Result<Self, QuicError> {
        let addr = socket
            .local_addr()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(IdentityVerifier {
            policy,
            provider: Arc::clone(&provider),
        });
        let cfg = |e: rustls::Error| QuicError::Config(e.to_string());
        let (certs, private) = tls_identity(key)?;
        let mut server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(cfg)?
            .with_client_cert_verifier(verifier.clone())
            .with_single_cert(certs.clone(), private.clone_key())
            .map_err(cfg)?;
        let alpn = match config.compression.codec {
            Codec::Lz4 => vec![ALPN_LZ4.to_vec(), ALPN.to_vec()],
            Codec::Off => vec![ALPN.to_vec()],
        };
        server.alpn_protocols = alpn.clone();
        let mut client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(cfg)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(certs, private)
            .map_err(cfg)?;
        client.alpn_protocols = alpn;
        let quic = |e: &dyn std::fmt::Display| QuicError::Config(e.to_string());
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_idle_timeout(Some(config.idle_timeout.try_into().map_err(|e| quic(&e))?))
            .keep_alive_interval(Some(config.idle_timeout / 3))
            .datagram_receive_buffer_size(Some(1 << 20));
        // Path MTU discovery may grow packets up to jumbo frames where the path allows them
        // (quinn's default stops at 1452 bytes); it probes, so other paths keep their MTU.
        let mut mtu = quinn::MtuDiscoveryConfig::default();
        mtu.upper_bound(JUMBO_UDP_PAYLOAD);
        transport.mtu_discovery_config(Some(mtu));
        let transport = Arc::new(transport);
        let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(
            QuicServerConfig::try_from(server).map_err(|e| quic(&e))?,
        ));
        server_config.transport_config(Arc::clone(&transport));
        let mut client_config = quinn::ClientConfig::new(Arc::new(
            QuicClientConfig::try_from(client).map_err(|e| quic(&e))?,
        ));
        client_config.transport_config(transport);
        let runtime = quinn::default_runtime().ok_or_else(|| QuicError::Bind {
            addr,
            source: std::io::Error::other("no async runtime"),
        })?;
        let mut endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server_config),
            socket,
            runtime,
        )
        .map_err(|source| QuicError::Bind { addr, source })?;
        endpoint.set_default_client_config(client_config);
        Ok(Self { endpoint, config })
    }

    /// The bound address.
    ///
    /// # Errors
    /// The socket cannot say.
    pub fn local_addr(&self) -> Result<SocketAddr, QuicError> {
        let addr = ([0, 0, 0, 0], 0).into();
        self.endpoint
            .local_addr()
            .map_err(|source| QuicError::Bind { addr, source })
    }

    /// Opens a link to `addr`; with `expected`, the peer must be that node.
    ///
    /// # Errors
    /// Connection or TLS failures (an untrusted peer on either side), or a different peer.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        expected: Option<PublicKey>,
    ) -> Result<QuicLink, QuicError> {
        let failed = |reason: String| QuicError::Connect { addr, reason };
        let connecting = self
            .endpoint
            .connect(addr, "omni-mesh")
            .map_err(|e| failed(e.to_string()))?;
        let conn = connecting.await.map_err(|e| failed(e.to_string()))?;
        let link = QuicLink::start(conn, &self.config)?;
        if let Some(expected) = expected.filter(|e| *e != link.peer) {
            link.conn.close(0u32.into(), b"wrong peer");
            return Err(QuicError::WrongPeer {
                addr,
                found: Did::from(link.peer),
                expected: Did::from(expected),
            });
        }
        Ok(link)
    }

    /// Accepts the next link. An error concerns that connection only; keep accepting.
    ///
    /// # Errors
    /// [`QuicError::Closed`] once the endpoint is closed, or the connection's failure.
    pub async fn accept(&self) -> Result<QuicLink, QuicError> {
        let incoming = self.endpoint.accept().await.ok_or(QuicError::Closed)?;
        let addr = incoming.remote_address();
        let conn = incoming.await.map_err(|e| QuicError::Connect {
            addr,
            reason: e.to_string(),
        })?;
        QuicLink::start(conn, &self.config)
    }
}

/// An authenticated, encrypted link to one peer.
#[derive(Debug)]
pub struct QuicLink {
    conn: quinn::Connection,
    peer: PublicKey,
    max_frame: usize,
    compressor: Compressor,
    out: mpsc::Sender<([u8; 16], Bytes)>,
    writer: Option<tokio::task::JoinHandle<()>>,
    rx: Mutex<mpsc::Receiver<Bytes>>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Drop for QuicLink {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl QuicLink {
    fn start(conn: quinn::Connection, config: &QuicConfig) -> Result<Self, QuicError> {
        let peer = conn
            .peer_identity()
            .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
            .and_then(|certs| certs.first().and_then(certificate_key))
            .ok_or_else(|| QuicError::Connect {
                addr: conn.remote_address(),
                reason: "the peer presented no node identity".into(),
            })?;
        let lz4 = conn
            .handshake_data()
            .and_then(|any| any.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .is_some_and(|data| data.protocol.as_deref() == Some(ALPN_LZ4));
        let compressor = config
            .compression
            .negotiate(if lz4 { FEATURE_LZ4 } else { 0 });
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let reading = Reading {
            compressor,
            max_frame: config.max_frame,
        };
        let acceptor = tokio::spawn(accept_streams(conn.clone(), tx, reading));
        let (out, queue) = mpsc::channel(config.queue.max(1));
        let writer = tokio::spawn(write_loop(conn.clone(), queue, compressor));
        Ok(Self {
            conn,
            peer,
            max_frame: config.max_frame,
            compressor,
            out,
            writer: Some(writer),
            rx: Mutex::new(rx),
            acceptor,
        })
    }

    /// The authenticated peer.
    #[must_use]
    pub fn peer(&self) -> PublicKey {
        self.peer
    }

    /// The peer's address.
    #[must_use]
    pub fn remote(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// True if both ends offered compression, so large frames are compressed.
    #[must_use]
    pub fn compressed(&self) -> bool {
        self.compressor.is_on()
    }

    /// Queues `frame` to be sent reliably, in order with the other frames of its topic (an
    /// envelope's topic id picks the stream; control frames share one stream). Waits while
    /// the link's queue is full (back-pressure from QUIC flow control); the writer task sends
    /// what is queued in batches.
    ///
    /// # Errors
    /// Empty or oversized frames, or a closed link.
    pub async fn send(&self, frame: Bytes) -> Result<(), QuicError> {
        prefix(frame.len(), self.max_frame)?;
        self.out
            .send((topic_of(&frame), frame))
            .await
            .map_err(|_| QuicError::Send("the link is closed".into()))
    }

    /// Sends `frame` as one unreliable, unordered QUIC datagram (best-effort topics).
    ///
    /// # Errors
    /// A frame larger than the path allows, or a closed link.
    pub fn send_datagram(&self, frame: Bytes) -> Result<(), QuicError> {
        let max = self.conn.max_datagram_size().unwrap_or(0);
        if frame.len() > max {
            return Err(QuicError::Send(format!(
                "frame of {} bytes exceeds the {max}-byte datagram limit",
                frame.len()
            )));
        }
        self.conn
            .send_datagram(frame)
            .map_err(|e| QuicError::Send(e.to_string()))
    }

    /// The next frame (from any stream or datagram); `None` once the link has ended.
    pub async fn recv(&self) -> Option<Bytes> {
        self.rx.lock().await.recv().await
    }

    /// Why the link ended, if it has.
    #[must_use]
    pub fn end_reason(&self) -> Option<String> {
        self.conn.close_reason().map(|e| e.to_string())
    }

    /// Closes the link: what is queued is sent and read by the peer (up to a few seconds),
    /// then the connection is closed.
    pub async fn close(mut self) {
        // Replacing the only sender ends the writer once the queue is drained.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.out, closed));
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
        self.conn.close(0u32.into(), b"closed");
    }
}

/// The stream an outgoing frame belongs to: its topic id if it is an envelope.
fn topic_of(frame: &[u8]) -> [u8; 16] {
    crate::envelope::TopicId::of_frame(frame).map_or([0; 16], |t| t.0)
}

/// How received stream frames are read: their limit and the link's decompression.
#[derive(Debug, Clone, Copy)]
struct Reading {
    compressor: Compressor,
    max_frame: usize,
}

async fn accept_streams(conn: quinn::Connection, tx: mpsc::Sender<Bytes>, reading: Reading) {
    let datagrams = {
        let (conn, tx) = (conn.clone(), tx.clone());
        tokio::spawn(async move {
            while let Ok(d) = conn.read_datagram().await {
                if tx.send(d).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut readers = Vec::new();
    while let Ok(stream) = conn.accept_uni().await {
        readers.push(tokio::spawn(read_stream(stream, tx.clone(), reading)));
    }
    datagrams.abort();
    for r in readers {
        r.abort();
    }
}

async fn read_stream(mut stream: quinn::RecvStream, tx: mpsc::Sender<Bytes>, reading: Reading) {
    let mut decoder = FrameDecoder::new(reading.max_frame);
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => {
                let frame = match reading.compressor.decompress(frame, reading.max_frame) {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::warn!(error = %e, "closing a QUIC stream: bad compressed frame");
                        let _ = stream.stop(1u32.into());
                        return;
                    }
                };
                if tx.send(frame).await.is_err() {
                    return;
                }
            }
            Ok(None) => match stream.read_buf(decoder.read_buf()).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            Err(e) => {
                tracing::warn!(error = %e, "closing a QUIC stream: bad frame");
                let _ = stream.stop(1u32.into());
                return;
            }
        }
    }
}
