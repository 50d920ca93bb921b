//! The UDP driver of [`Discovery`] (tokio): one socket, one task that feeds received
//! datagrams and timer expiries to the state machine and sends what it queues. The state
//! machine stays behind a mutex so the daemon can read the routing table at any time, and
//! membership events are forwarded on a channel.

use std::net::SocketAddr;
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
        Self::spawn_on_socket(socket, discovery, policy, epoch)
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
        socket.set_nonblocking(true)?;
        Self::spawn_on_socket(UdpSocket::from_std(socket)?, discovery, policy, epoch)
    }

    fn spawn_on_socket(
        socket: UdpSocket,
        discovery: Discovery,
        policy: Arc<SecurityPolicy>,
        epoch: Instant,
    ) -> std::io::Result<Self> {
        let local = socket.local_addr()?;
        let state = Arc::new(Mutex::new(discovery));
        let (tx, events) = mpsc::channel(1024);
        let task = tokio::spawn(run(socket, Arc::clone(&state), policy, epoch, tx));
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

async fn run(
    socket: UdpSocket,
    state: Arc<Mutex<Discovery>>,
    policy: Arc<SecurityPolicy>,
    epoch: Instant,
    events: mpsc::Sender<MemberEvent>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
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
