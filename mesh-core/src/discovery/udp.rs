//! The UDP driver of [`Discovery`] (tokio): one socket, one task that feeds received
//! datagrams and timer expiries to the state machine and sends what it queues. The state
//! machine stays behind a mutex so the daemon can read the routing table at any time, and
//! membership events are forwarded on a channel.
//!
//! Optional IPv4 multicast ([`Multicast`]): the group address becomes one more seed, so a
//! node alone pings the group from its gossip socket, and a second socket joined to the group
//! (bound with `SO_REUSEADDR`/`SO_REUSEPORT`, so several daemons of one host can share the
//! port) feeds what arrives to the same state machine. Replies go unicast to the sender's
//! gossip address. Multicast datagrams stay on the local link (TTL 1).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Discovery, MemberEvent};
use crate::security::SecurityPolicy;

/// Largest datagram read (bigger ones are truncated and then fail to verify).
const MAX_DATAGRAM: usize = 64 * 1024;

/// A running discovery node.
#[derive(Debug)]
pub struct UdpDiscovery {
    state: Arc<Mutex<Discovery>>,
    local: SocketAddr,
    events: mpsc::Receiver<MemberEvent>,
    task: JoinHandle<()>,
}

impl UdpDiscovery {
    /// Binds `addr` and runs `discovery` on it; `epoch` is the instant the state machine's
    /// clock counts from (its `now` argument at creation was 0 relative to it).
    ///
    /// # Errors
    /// The socket cannot be bound.
    pub async fn spawn(
        addr: SocketAddr,
        discovery: Discovery,
        policy: Arc<SecurityPolicy>,
        epoch: Instant,
    ) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr).await?;
        Self::spawn_on_socket(socket, None, discovery, policy, epoch)
    }

    /// Runs `discovery` on an already bound socket (bind first to learn the port, then build
    /// the announcement with it).
    ///
    /// # Errors
    /// The socket cannot be used by tokio.
    pub fn spawn_on(
        socket: std::net::UdpSocket,
        discovery: Discovery,
        policy: Arc<SecurityPolicy>,
        epoch: Instant,
    ) -> std::io::Result<Self> {
        Self::spawn_on_with(socket, None, discovery, policy, epoch)
    }

    /// As [`spawn_on`](Self::spawn_on), also finding peers through `multicast`.
    ///
    /// # Errors
    /// The sockets cannot be used by tokio.
    pub fn spawn_on_with(
        socket: std::net::UdpSocket,
        multicast: Option<Multicast>,
        mut discovery: Discovery,
        policy: Arc<SecurityPolicy>,
        epoch: Instant,
    ) -> std::io::Result<Self> {
        socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(socket)?;
        let group = match multicast {
            Some(m) => {
                discovery.add_seed(SocketAddr::V4(m.group));
                Some(UdpSocket::from_std(m.socket)?)
            }
            None => None,
        };
        Self::spawn_on_socket(socket, group, discovery, policy, epoch)
    }

    fn spawn_on_socket(
        socket: UdpSocket,
        group: Option<UdpSocket>,
        discovery: Discovery,
        policy: Arc<SecurityPolicy>,
        epoch: Instant,
    ) -> std::io::Result<Self> {
        let local = socket.local_addr()?;
        let state = Arc::new(Mutex::new(discovery));
        let (tx, events) = mpsc::channel(1024);
        let sockets = Sockets { socket, group };
        let task = tokio::spawn(run(sockets, Arc::clone(&state), policy, epoch, tx));
        Ok(Self {
            state,
            local,
            events,
            task,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The state machine (routing table, members, stats), locked.
    pub fn state(&self) -> MutexGuard<'_, Discovery> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next membership change.
    pub async fn next_event(&mut self) -> Option<MemberEvent> {
        self.events.recv().await
    }
}

impl Drop for UdpDiscovery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A socket joined to a discovery multicast group ([`UdpDiscovery::spawn_on_with`]).
#[derive(Debug)]
pub struct Multicast {
    socket: std::net::UdpSocket,
    group: SocketAddrV4,
}

impl Multicast {
    /// Joins `group` (an IPv4 multicast address and port, e.g. `239.255.0.47:7446`) on every
    /// interface the kernel picks for it.
    ///
    /// # Errors
    /// `group` is not multicast, or the socket cannot be bound or join the group.
    pub fn join(group: SocketAddrV4) -> std::io::Result<Self> {
        use socket2::{Domain, Protocol, Socket, Type};
        if !group.ip().is_multicast() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{group} is not an IPv4 multicast address (224.0.0.0/4)"),
            ));
        }
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, group.port())).into())?;
        socket.join_multicast_v4(group.ip(), &Ipv4Addr::UNSPECIFIED)?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket: socket.into(),
            group,
        })
    }

    /// The group.
    #[must_use]
    pub fn group(&self) -> SocketAddrV4 {
        self.group
    }
}

/// The gossip socket and, with multicast, the group socket.
struct Sockets {
    socket: UdpSocket,
    group: Option<UdpSocket>,
}

/// Receives on the group socket, or never without one.
async fn recv_group(
    group: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match group {
        Some(g) => g.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn run(
    sockets: Sockets,
    state: Arc<Mutex<Discovery>>,
    policy: Arc<SecurityPolicy>,
    epoch: Instant,
    events: mpsc::Sender<MemberEvent>,
) {
    let Sockets { socket, group } = sockets;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut group_buf = vec![0u8; if group.is_some() { MAX_DATAGRAM } else { 0 }];
    loop {
        let wake = {
            let d = state.lock().unwrap_or_else(PoisonError::into_inner);
            d.poll_timeout().unwrap_or(u64::MAX)
        };
        let now = nanos_since(epoch);
        let sleep = Duration::from_nanos(wake.saturating_sub(now).min(1_000_000_000));
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = received {
                    let now = nanos_since(epoch);
                    let mut d = state.lock().unwrap_or_else(PoisonError::into_inner);
                    d.handle_input(now, from, &buf[..n], |k| policy.admits_peer(k));
                }
            }
            received = recv_group(group.as_ref(), &mut group_buf) => {
                if let Ok((n, from)) = received {
                    let now = nanos_since(epoch);
                    let mut d = state.lock().unwrap_or_else(PoisonError::into_inner);
                    d.handle_input(now, from, &group_buf[..n], |k| policy.admits_peer(k));
                }
            }
            () = tokio::time::sleep(sleep) => {
                let now = nanos_since(epoch);
                state.lock().unwrap_or_else(PoisonError::into_inner).handle_timeout(now);
            }
        }
        let (out, changes) = {
            let mut d = state.lock().unwrap_or_else(PoisonError::into_inner);
            let out: Vec<_> = std::iter::from_fn(|| d.poll_transmit()).collect();
            let changes: Vec<_> = std::iter::from_fn(|| d.poll_event()).collect();
            (out, changes)
        };
        for (to, bytes) in out {
            if let Err(e) = socket.send_to(&bytes, to).await {
                tracing::debug!(%to, error = %e, "discovery send failed");
            }
        }
        for change in changes {
            // A full channel means nobody reads events: drop them rather than stall.
            let _ = events.try_send(change);
        }
    }
}
