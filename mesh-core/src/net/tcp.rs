//! TCP links (tokio): a connection, the identity handshake over it, then two tasks: a writer
//! that drains a bounded queue and sends frames in batches with vectored writes (one syscall
//! for many small frames), and a reader that splits the stream into frames (lengths checked
//! before allocation) into a bounded queue. Both queues are bounded, so a slow peer pushes
//! back through TCP flow control to the sender's `send().await`. Frames are compressed when
//! both ends offered it in the handshake ([`super::compress`]). [`Redial`] (in
//! [`super::redial`]) keeps a link to an address up, reconnecting with jittered exponential
//! back-off.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::compress::{CompressionConfig, Compressor};
use super::frame::{prefix, FrameDecoder, FrameError, LEN_PREFIX};
use super::handshake::{fresh_nonce, Handshake, HandshakeError, Role};
use crate::identity::{NodeKey, PublicKey};
use crate::security::SecurityPolicy;

/// Settings of a link.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Largest frame accepted or sent (an envelope with its payload).
    pub max_frame: usize,
    /// Frames queued per direction before `send` waits (back-pressure).
    pub queue: usize,
    /// Most bytes the writer gathers into one vectored write.
    pub batch_bytes: usize,
    /// Longest the handshake may take.
    pub handshake_timeout: Duration,
    /// Compression offered to the peer (off by default).
    pub compression: CompressionConfig,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            max_frame: 16 << 20,
            queue: 1024,
            batch_bytes: 256 << 10,
            handshake_timeout: Duration::from_secs(5),
            compression: CompressionConfig::default(),
        }
    }
}

/// A link could not be opened, or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// A socket operation failed.
    #[error("{op} {addr}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The address involved.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The peer sent a frame that cannot be decoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The peer failed the identity handshake.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// The handshake did not finish in time.
    #[error("handshake with {0} timed out")]
    HandshakeTimeout(String),
    /// The peer closed the connection before the handshake finished (it may not trust us).
    #[error("{0} closed the connection during the handshake (is this node trusted there?)")]
    ClosedInHandshake(String),
    /// The link has ended; see [`Link::end_reason`].
    #[error("link closed")]
    Closed,
}

fn io(op: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> LinkError {
    move |source| LinkError::Io {
        op,
        addr: addr.to_string(),
        source,
    }
}

/// An authenticated connection to one peer.
#[derive(Debug)]
pub struct Link {
    peer: PublicKey,
    remote: SocketAddr,
    tx: mpsc::Sender<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    ended: Arc<Mutex<Option<String>>>,
    reader: JoinHandle<()>,
    writer: Option<JoinHandle<()>>,
    compressor: Compressor,
    counters: Arc<WireCounters>,
}

/// Bytes a link has sent: as handed to it, and as written to the socket (after
/// compression, with length prefixes).
#[derive(Debug, Default)]
struct WireCounters {
    frame_bytes: AtomicU64,
    wire_bytes: AtomicU64,
}

/// What a link has sent so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    /// Bytes of the frames handed to the link.
    pub frame_bytes_sent: u64,
    /// Bytes written to the socket (compressed frames and length prefixes).
    pub wire_bytes_sent: u64,
}

/// How long a dropped link keeps sending what was queued before it is cut.
const LINGER: Duration = Duration::from_secs(5);

impl Link {
    /// The authenticated peer.
    #[must_use]
    pub fn peer(&self) -> PublicKey {
        self.peer
    }

    /// The peer's socket address.
    #[must_use]
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Queues `frame` for sending, waiting while the queue is full (back-pressure).
    ///
    /// # Errors
    /// [`LinkError::Frame`] for an empty or oversized frame, [`LinkError::Closed`] once the
    /// link has ended.
    pub async fn send(&self, frame: Bytes) -> Result<(), LinkError> {
        self.sender().send(frame).await
    }

    /// A handle for sending from other tasks.
    #[must_use]
    pub fn sender(&self) -> LinkSender {
        LinkSender {
            tx: self.tx.clone(),
        }
    }

    /// The next frame from the peer; `None` once the link has ended.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }

    /// True if both ends offered compression, so large frames are compressed.
    #[must_use]
    pub fn compressed(&self) -> bool {
        self.compressor.is_on()
    }

    /// Bytes sent so far.
    #[must_use]
    pub fn stats(&self) -> LinkStats {
        LinkStats {
            frame_bytes_sent: self.counters.frame_bytes.load(Ordering::Relaxed),
            wire_bytes_sent: self.counters.wire_bytes.load(Ordering::Relaxed),
        }
    }

    /// Why the link ended (`None` while it is up or after a clean close by the peer).
    #[must_use]
    pub fn end_reason(&self) -> Option<String> {
        self.ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Link {
    /// Closes the link gracefully: frames already queued are sent (up to `timeout`), then the
    /// connection is shut down.
    pub async fn close(mut self, timeout: Duration) {
        let Some(writer) = self.writer.take() else {
            return;
        };
        let abort = writer.abort_handle();
        // Dropping every sender ends the writer once the queue is drained.
        let (closed_tx, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed_tx));
        if tokio::time::timeout(timeout, writer).await.is_err() {
            abort.abort();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
        // The writer drains what was queued (the queue closes with the last sender), for at
        // most LINGER; outside a runtime it is cut at once.
        if let Some(writer) = self.writer.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move {
                        let abort = writer.abort_handle();
                        if tokio::time::timeout(LINGER, writer).await.is_err() {
                            abort.abort();
                        }
                    });
                }
                Err(_) => writer.abort(),
            }
        }
    }
}

/// Sends on a link from any task.
#[derive(Debug, Clone)]
pub struct LinkSender {
    tx: mpsc::Sender<Bytes>,
}

impl LinkSender {
    /// As [`Link::send`].
    ///
    /// # Errors
    /// As [`Link::send`].
    pub async fn send(&self, frame: Bytes) -> Result<(), LinkError> {
        if frame.is_empty() {
            return Err(FrameError::Empty.into());
        }
        self.tx.send(frame).await.map_err(|_| LinkError::Closed)
    }
}

/// Opens a link to `addr` as this node.
///
/// # Errors
/// Connection failures, handshake failures (including an untrusted peer) and timeouts.
pub async fn connect(
    addr: SocketAddr,
    key: &Arc<NodeKey>,
    policy: &Arc<SecurityPolicy>,
    config: &LinkConfig,
) -> Result<Link, LinkError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(io("connect to", addr))?;
    establish(stream, addr, Role::Initiator, key, policy, config).await
}

/// Accepts links.
#[derive(Debug)]
pub struct LinkListener {
    listener: TcpListener,
    key: Arc<NodeKey>,
    policy: Arc<SecurityPolicy>,
    config: LinkConfig,
}

impl LinkListener {
    /// Listens on `addr` (port 0 picks a free port).
    ///
    /// # Errors
    /// [`LinkError::Io`] when the address cannot be bound.
    pub async fn bind(
        addr: SocketAddr,
        key: Arc<NodeKey>,
        policy: Arc<SecurityPolicy>,
        config: LinkConfig,
    ) -> Result<Self, LinkError> {
        let listener = TcpListener::bind(addr).await.map_err(io("bind", addr))?;
        Ok(Self {
            listener,
            key,
            policy,
            config,
        })
    }

    /// Accepts links on an already bound listener (bind it first to learn the port).
    ///
    /// # Errors
    /// [`LinkError::Io`] when tokio cannot take the socket.
    pub fn from_std(
        listener: std::net::TcpListener,
        key: Arc<NodeKey>,
        policy: Arc<SecurityPolicy>,
        config: LinkConfig,
    ) -> Result<Self, LinkError> {
        let unknown: SocketAddr = ([0, 0, 0, 0], 0).into();
        let addr = listener.local_addr().unwrap_or(unknown);
        listener
            .set_nonblocking(true)
            .map_err(io("set non-blocking", addr))?;
        let listener = TcpListener::from_std(listener).map_err(io("listen on", addr))?;
        Ok(Self {
            listener,
            key,
            policy,
            config,
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// [`LinkError::Io`] if the socket cannot say.
    pub fn local_addr(&self) -> Result<SocketAddr, LinkError> {
        let unknown: SocketAddr = ([0, 0, 0, 0], 0).into();
        self.listener
            .local_addr()
            .map_err(io("local address of", unknown))
    }

    /// Accepts one connection and runs the handshake. An error concerns that connection
    /// only (for example an untrusted peer, refused and closed); keep accepting.
    ///
    /// # Errors
    /// As [`connect`].
    pub async fn accept(&self) -> Result<Link, LinkError> {
        let unknown: SocketAddr = ([0, 0, 0, 0], 0).into();
        let (stream, addr) = self
            .listener
            .accept()
            .await
            .map_err(io("accept on", unknown))?;
        establish(
            stream,
            addr,
            Role::Responder,
            &self.key,
            &self.policy,
            &self.config,
        )
        .await
    }
}

async fn establish(
    stream: TcpStream,
    addr: SocketAddr,
    role: Role,
    key: &Arc<NodeKey>,
    policy: &Arc<SecurityPolicy>,
    config: &LinkConfig,
) -> Result<Link, LinkError> {
    stream
        .set_nodelay(true)
        .map_err(io("set TCP_NODELAY on", addr))?;
    let (mut read, mut write) = stream.into_split();
    let mut decoder = FrameDecoder::new(config.max_frame);
    let offered = config.compression.features();
    let handshake = handshake(
        &mut read,
        &mut write,
        &mut decoder,
        addr,
        role,
        key,
        policy,
        offered,
    );
    let (peer, negotiated) = tokio::time::timeout(config.handshake_timeout, handshake)
        .await
        .map_err(|_| LinkError::HandshakeTimeout(addr.to_string()))??;
    let compressor = config.compression.negotiate(negotiated);
    let counters = Arc::new(WireCounters::default());
    let (out_tx, out_rx) = mpsc::channel(config.queue.max(1));
    let (in_tx, in_rx) = mpsc::channel(config.queue.max(1));
    let ended = Arc::new(Mutex::new(None));
    let writer = tokio::spawn(write_loop(
        write,
        out_rx,
        Writing {
            config: config.clone(),
            compressor,
            counters: Arc::clone(&counters),
        },
        addr,
        Arc::clone(&ended),
    ));
    let reading = Reading {
        compressor,
        max_frame: config.max_frame,
    };
    let reader = tokio::spawn(read_loop(
        read,
        decoder,
        in_tx,
        reading,
        addr,
        Arc::clone(&ended),
    ));
    tracing::debug!(%addr, peer = %peer, compressed = compressor.is_on(), "link established");
    Ok(Link {
        peer,
        remote: addr,
        tx: out_tx,
        rx: in_rx,
        ended,
        reader,
        writer: Some(writer),
        compressor,
        counters,
    })
}

/// Runs the handshake offering `features`; the peer and the features both offered.
async fn handshake(
    read: &mut OwnedReadHalf,
    write: &mut OwnedWriteHalf,
    decoder: &mut FrameDecoder,
    addr: SocketAddr,
    role: Role,
    key: &NodeKey,
    policy: &SecurityPolicy,
    features: u8,
) -> Result<(PublicKey, u8), LinkError> {
    let (mut state, hello) = Handshake::start_offering(role, key, fresh_nonce(), features);
    write_frame(write, &hello, addr).await?;
    loop {
        let Some(frame) = decoder.next_frame()? else {
            let n = read
                .read_buf(decoder.read_buf())
                .await
                .map_err(io("read handshake from", addr))?;
            if n == 0 {
                return Err(LinkError::ClosedInHandshake(addr.to_string()));
            }
            continue;
        };
        let out = state.on_frame(&frame, |k| policy.admits_peer(k))?;
        if let Some(reply) = out.send {
            write_frame(write, &reply, addr).await?;
        }
        if let Some(peer) = out.established {
            return Ok((peer, out.negotiated));
        }
    }
}

async fn write_frame(
    write: &mut OwnedWriteHalf,
    frame: &[u8],
    addr: SocketAddr,
) -> Result<(), LinkError> {
    let head = prefix(frame.len(), usize::MAX)?;
    let mut bufs = [IoSlice::new(&head), IoSlice::new(frame)];
    write_all_vectored(write, &mut bufs)
        .await
        .map_err(io("write to", addr))
}

/// Writes every byte of `bufs` (vectored writes may be partial).
async fn write_all_vectored(
    write: &mut OwnedWriteHalf,
    mut bufs: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    while !bufs.is_empty() {
        let n = write.write_vectored(bufs).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

fn record(ended: &Mutex<Option<String>>, reason: String) {
    let mut slot = ended.lock().unwrap_or_else(PoisonError::into_inner);
    if slot.is_none() {
        *slot = Some(reason);
    }
}

/// Most frames gathered into one vectored write (Linux allows 1024 slices per call).
const BATCH_FRAMES: usize = 256;

/// What the writer task needs besides its socket and queue.
struct Writing {
    config: LinkConfig,
    compressor: Compressor,
    counters: Arc<WireCounters>,
}

/// What the reader task needs besides its socket and queue.
struct Reading {
    compressor: Compressor,
    max_frame: usize,
}

async fn write_loop(
    mut write: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Bytes>,
    writing: Writing,
    addr: SocketAddr,
    ended: Arc<Mutex<Option<String>>>,
) {
    let Writing {
        config,
        compressor,
        counters,
    } = writing;
    let mut batch: Vec<Bytes> = Vec::with_capacity(BATCH_FRAMES);
    let mut heads: Vec<[u8; LEN_PREFIX]> = Vec::with_capacity(BATCH_FRAMES);
    while let Some(first) = queue.recv().await {
        batch.clear();
        heads.clear();
        let mut bytes = first.len();
        batch.push(compressor.compress(first));
        // Gather what else is already queued: one syscall for many small frames.
        while batch.len() < BATCH_FRAMES && bytes < config.batch_bytes {
            match queue.try_recv() {
                Ok(frame) => {
                    bytes += frame.len();
                    batch.push(compressor.compress(frame));
                }
                Err(_) => break,
            }
        }
        let wire: usize = batch.iter().map(|f| f.len() + LEN_PREFIX).sum();
        for frame in &batch {
            match prefix(frame.len(), config.max_frame) {
                Ok(head) => heads.push(head),
                Err(e) => {
                    record(&ended, format!("refused to send: {e}"));
                    return;
                }
            }
        }
        let mut slices: Vec<IoSlice<'_>> = heads
            .iter()
            .zip(&batch)
            .flat_map(|(h, f)| [IoSlice::new(h), IoSlice::new(f)])
            .collect();
        if let Err(e) = write_all_vectored(&mut write, &mut slices).await {
            record(&ended, format!("write to {addr}: {e}"));
            return;
        }
        counters
            .frame_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        counters
            .wire_bytes
            .fetch_add(wire as u64, Ordering::Relaxed);
    }
    // Every sender is gone: close our half cleanly.
    let _ = write.shutdown().await;
}

async fn read_loop(
    mut read: OwnedReadHalf,
    mut decoder: FrameDecoder,
    queue: mpsc::Sender<Bytes>,
    reading: Reading,
    addr: SocketAddr,
    ended: Arc<Mutex<Option<String>>>,
) {
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => {
                let frame = match reading.compressor.decompress(frame, reading.max_frame) {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::warn!(%addr, error = %e, "closing link: bad compressed frame");
                        record(&ended, format!("{addr} sent a bad compressed frame: {e}"));
                        return;
                    }
                };
                if queue.send(frame).await.is_err() {
                    return; // the link was dropped
                }
            }
            Ok(None) => match read.read_buf(decoder.read_buf()).await {
                Ok(0) => return, // clean close by the peer
                Ok(_) => {}
                Err(e) => {
                    record(&ended, format!("read from {addr}: {e}"));
                    return;
                }
            },
            Err(e) => {
                tracing::warn!(%addr, error = %e, "closing link: bad frame");
                record(&ended, format!("{addr} sent a bad frame: {e}"));
                return;
            }
        }
    }
}

pub use super::redial::{Backoff, Redial};
