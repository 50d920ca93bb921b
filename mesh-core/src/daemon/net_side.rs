//! The daemon's network thread (a tokio current-thread runtime): discovery over UDP, TCP
//! links to the other hosts' daemons (the daemon with the smaller key dials, the other
//! accepts, so two daemons hold one link), frames from the shared-memory thread sent to the
//! peers the router chose, frames from peers admitted by the router and handed back to the
//! shared-memory thread, and the router's interest table kept in step with discovery.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::dtn_side::DtnSide;
use super::links::{quic_config, AnyLink, LinkTransport, Listening, PeerSender};
use super::shm_side::Outbound;
use super::{DaemonConfig, DaemonError};
use crate::discovery::udp::{Multicast, UdpDiscovery};
use crate::discovery::{Discovery, MemberState};
use crate::envelope::TopicId;
use crate::identity::{NodeKey, PublicKey};
use crate::net::quic::QuicEndpoint;
use crate::net::tcp::LinkListener;
use crate::router::{Inbound, Router};
use crate::security::SecurityPolicy;
use crate::transport::shm::DoorbellRinger;

/// What the network thread works with.
pub(super) struct NetSide {
    pub config: DaemonConfig,
    pub key: Arc<NodeKey>,
    pub policy: Arc<SecurityPolicy>,
    pub router: Arc<Mutex<Router>>,
    pub outbound: mpsc::Receiver<Outbound>,
    pub inbound: SyncSender<(String, Bytes)>,
    pub wake: String,
    pub stop: Arc<AtomicBool>,
}

fn bind_err(what: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> DaemonError {
    move |source| DaemonError::Bind { what, addr, source }
}

/// Binds the sockets (so errors and ports are known at start), then starts the thread.
/// The network thread and the bound discovery and link addresses.
pub(super) type Started = (
    std::thread::JoinHandle<Result<(), DaemonError>>,
    SocketAddr,
    SocketAddr,
);

pub(super) fn spawn(side: NetSide) -> Result<Started, DaemonError> {
    let udp = std::net::UdpSocket::bind(side.config.gossip)
        .map_err(bind_err("discovery", side.config.gossip))?;
    let links = match side.config.transport {
        LinkTransport::Tcp => Bound::Tcp(
            std::net::TcpListener::bind(side.config.listen)
                .map_err(bind_err("links", side.config.listen))?,
        ),
        LinkTransport::Quic => Bound::Quic(
            std::net::UdpSocket::bind(side.config.listen)
                .map_err(bind_err("links", side.config.listen))?,
        ),
    };
    let gossip = udp
        .local_addr()
        .map_err(bind_err("discovery", side.config.gossip))?;
    let store = side
        .config
        .store
        .as_deref()
        .map(crate::store::Store::open)
        .transpose()?
        .map(Arc::new);
    let multicast = side
        .config
        .multicast
        .map(|group| {
            Multicast::join(group).map_err(bind_err("discovery multicast", SocketAddr::V4(group)))
        })
        .transpose()?;
    let listen = match &links {
        Bound::Tcp(t) => t.local_addr(),
        Bound::Quic(u) => u.local_addr(),
    }
    .map_err(bind_err("links", side.config.listen))?;
    let handle = std::thread::Builder::new()
        .name("omni-daemon-net".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| DaemonError::Thread(format!("tokio: {e}")))?;
            // Link readers hold the doorbell ringer (an iceoryx2 port, not `Send`): they run
            // as local tasks of this thread.
            let local = tokio::task::LocalSet::new();
            let sockets = Sockets {
                udp,
                multicast,
                links,
                store,
            };
            rt.block_on(local.run_until(run(side, sockets, gossip, listen)))
        })
        .map_err(|e| DaemonError::Thread(e.to_string()))?;
    Ok((handle, gossip, listen))
}

/// The sockets, bound before the thread starts (so binding errors reach the caller).
struct Sockets {
    udp: std::net::UdpSocket,
    multicast: Option<Multicast>,
    links: Bound,
    store: Option<Arc<crate::store::Store>>,
}

/// The link socket.
enum Bound {
    Tcp(std::net::TcpListener),
    Quic(std::net::UdpSocket),
}

/// Events from link tasks to the main loop.
enum LinkEvent {
    Up(AnyLink),
    /// A link (by its number) ended.
    Down(PublicKey, u64),
    /// A dial attempt failed.
    DialFailed(PublicKey),
    /// DTN frames for peers (custody acknowledgements, bundles).
    DtnSend(Vec<([u8; 32], Bytes)>),
}

struct Shared {
    router: Arc<Mutex<Router>>,
    inbound: SyncSender<(String, Bytes)>,
    ringer: DoorbellRinger,
    next_link: AtomicU64,
    dtn: DtnSide,
}

async fn run(
    mut side: NetSide,
    sockets: Sockets,
    gossip: SocketAddr,
    listen: SocketAddr,
) -> Result<(), DaemonError> {
    let epoch = Instant::now();
    let advertise = side.config.advertise.unwrap_or(listen);
    let mut discovery = Discovery::new(
        Arc::clone(&side.key),
        gossip,
        vec![advertise],
        (Vec::new(), Vec::new()),
        side.config.discovery.clone(),
        u64::from_le_bytes(
            side.key.public().as_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        ),
        0,
    );
    for seed in &side.config.seeds {
        discovery.add_seed(*seed);
    }
    let discovery = UdpDiscovery::spawn_on_with(
        sockets.udp,
        sockets.multicast,
        discovery,
        Arc::clone(&side.policy),
        epoch,
    )
    .map_err(bind_err("discovery", gossip))?;
    let listener = Arc::new(match sockets.links {
        Bound::Tcp(tcp) => Listening::Tcp(LinkListener::from_std(
            tcp,
            Arc::clone(&side.key),
            Arc::clone(&side.policy),
            side.config.link.clone(),
        )?),
        Bound::Quic(udp) => Listening::Quic(Arc::new(
            QuicEndpoint::from_std(
                udp,
                &side.key,
                Arc::clone(&side.policy),
                quic_config(&side.config.link),
            )
            .map_err(|e| DaemonError::Thread(format!("QUIC endpoint: {e}")))?,
        )),
    });
    // The doorbell ringer lives on this thread (iceoryx2 ports stay on their thread).
    let shm = super::shm_side::open(side.config.shm_prefix.as_deref())?;
    let shared = Rc::new(Shared {
        router: Arc::clone(&side.router),
        inbound: side.inbound.clone(),
        ringer: shm.doorbell_ringer(&side.wake)?,
        next_link: AtomicU64::new(1),
        dtn: DtnSide::new(&side.config.dtn, sockets.store.clone())?,
    });
    let (events_tx, mut events) = mpsc::channel::<LinkEvent>(64);
    let accept_tx = events_tx.clone();
    let accepting = Arc::clone(&listener);
    let acceptor = tokio::spawn(async move {
        let listener = accepting;
        loop {
            match listener.accept().await {
                Ok(link) => {
                    if accept_tx.send(LinkEvent::Up(link)).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::info!(error = %e, "refused a link"),
            }
        }
    });
    let mut links: HashMap<[u8; 32], (u64, PeerSender)> = HashMap::new();
    let mut dialing: BTreeSet<[u8; 32]> = BTreeSet::new();
    let mut announced: (Vec<TopicId>, Vec<TopicId>) = (Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let me = side.key.public().to_bytes();
    while !side.stop.load(Ordering::Acquire) {
        tokio::select! {
            out = side.outbound.recv() => {
                let Some(out) = out else { break };
                if out.dtn {
                    shared.dtn.originate(out.frame, crate::node::now_ns());
                    continue;
                }
                for peer in &out.peers {
                    if let Some((_, link)) = links.get(peer) {
                        if link.send(out.frame.clone()).await.is_err() {
                            links.remove(peer);
                        }
                    }
                }
            }
            event = events.recv() => match event {
                Some(LinkEvent::Up(link)) => {
                    let peer = link.peer().to_bytes();
                    dialing.remove(&peer);
                    let id = shared.next_link.fetch_add(1, Ordering::Relaxed);
                    links.insert(peer, (id, link.sender()));
                    tracing::info!(peer = %link.peer(), remote = %link.remote(), "link up");
                    tokio::task::spawn_local(receive(link, id, Rc::clone(&shared), events_tx.clone()));
                }
                Some(LinkEvent::Down(peer, id)) => {
                    // Only the link that ended: a newer one to the same peer stays.
                    if links.get(&peer.to_bytes()).is_some_and(|(current, _)| *current == id) {
                        links.remove(&peer.to_bytes());
                    }
                    tracing::info!(%peer, "link down");
                }
                Some(LinkEvent::DialFailed(peer)) => {
                    dialing.remove(&peer.to_bytes());
                }
                Some(LinkEvent::DtnSend(frames)) => send_to(&mut links, frames).await,
                None => break,
            },
            _ = tick.tick() => {
                sync_membership(&discovery, &side.router, &mut announced);
                dial_missing(&discovery, &links, &mut dialing, me, &side, &listener, &events_tx);
                let offers = {
                    let router = side.router.lock().unwrap_or_else(PoisonError::into_inner);
                    shared.dtn.contacts(&router, links.keys().copied(), crate::node::now_ns())
                };
                send_to(&mut links, offers).await;
                shared.dtn.log_stats();
            }
        }
    }
    acceptor.abort();
    Ok(())
}

/// Sends frames to peers that have a link (a failed send drops the link's entry).
async fn send_to(links: &mut HashMap<[u8; 32], (u64, PeerSender)>, frames: Vec<([u8; 32], Bytes)>) {
    for (peer, frame) in frames {
        if let Some((_, link)) = links.get(&peer) {
            if link.send(frame).await.is_err() {
                links.remove(&peer);
            }
        }
    }
}

/// Keeps the router's interest table and the announced topics in step with discovery.
fn sync_membership(
    discovery: &UdpDiscovery,
    router: &Mutex<Router>,
    announced: &mut (Vec<TopicId>, Vec<TopicId>),
) {
    let mut d = discovery.state();
    let mut router = router.lock().unwrap_or_else(PoisonError::into_inner);
    for m in d.members() {
        let key = m.announcement.key.to_bytes();
        if m.state == MemberState::Dead {
            router.remove_peer(&key);
        } else {
            router.set_peer_interest(key, m.announcement.wanted.iter().copied());
        }
    }
    let topics = router.announcement_topics();
    if topics != *announced {
        d.set_topics(topics.0.clone(), topics.1.clone());
        *announced = topics;
    }
}

/// Dials the live members this daemon is responsible for dialing (smaller key dials).
fn dial_missing(
    discovery: &UdpDiscovery,
    links: &HashMap<[u8; 32], (u64, PeerSender)>,
    dialing: &mut BTreeSet<[u8; 32]>,
    me: [u8; 32],
    side: &NetSide,
    listener: &Arc<Listening>,
    events: &mpsc::Sender<LinkEvent>,
) {
    let targets: Vec<(PublicKey, SocketAddr)> = discovery
        .state()
        .members()
        .filter(|m| m.state == MemberState::Alive)
        .filter(|m| {
            let k = m.announcement.key.to_bytes();
            me < k && !links.contains_key(&k) && !dialing.contains(&k)
        })
        .filter_map(|m| Some((m.announcement.key, *m.link_addrs().first()?)))
        .collect();
    for (peer, addr) in targets {
        dialing.insert(peer.to_bytes());
        let (key, policy, config) = (
            Arc::clone(&side.key),
            Arc::clone(&side.policy),
            side.config.link.clone(),
        );
        let events = events.clone();
        let listener = Arc::clone(listener);
        tokio::spawn(async move {
            match listener.dial(addr, peer, &key, &policy, &config).await {
                Ok(link) => {
                    let _ = events.send(LinkEvent::Up(link)).await;
                }
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "dial failed");
                    let _ = events.send(LinkEvent::DialFailed(peer)).await;
                }
            }
        });
    }
}

/// Reads one link: frames go through the router to the shared-memory thread.
async fn receive(mut link: AnyLink, id: u64, shared: Rc<Shared>, events: mpsc::Sender<LinkEvent>) {
    let peer = link.peer();
    let mut warned = std::collections::HashSet::new();
    while let Some(frame) = link.recv().await {
        let wall = crate::node::now_ns();
        if crate::dtn::wire::is_dtn(&frame) {
            let outcome = {
                let mut router = shared.router.lock().unwrap_or_else(PoisonError::into_inner);
                shared
                    .dtn
                    .on_frame(&mut router, peer.to_bytes(), &frame, wall)
            };
            for delivery in outcome.deliver {
                if shared.inbound.send(delivery).is_err() {
                    break;
                }
                let _ = shared.ringer.ring();
            }
            if !outcome.send.is_empty() {
                let _ = events.send(LinkEvent::DtnSend(outcome.send)).await;
            }
            continue;
        }
        let verdict = shared
            .router
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .on_remote_frame(id, frame, wall);
        match verdict {
            Inbound::Deliver { topic, frame } => {
                if shared.inbound.send((topic, frame)).is_err() {
                    break;
                }
                let _ = shared.ringer.ring();
            }
            Inbound::Rejected(e) => {
                // The first refusal of each kind per link is a warning (a misconfigured
                // fleet shows up in the log); the rest are counted by the security layer.
                if warned.insert(e.reason().as_str()) {
                    tracing::warn!(%peer, reason = e.reason().as_str(), error = %e, "refusing frames from a peer host");
                } else {
                    tracing::debug!(%peer, reason = e.reason().as_str(), "frame refused");
                }
            }
            Inbound::Duplicate | Inbound::NoSubscriber => {}
        }
    }
    if let Some(reason) = link.end_reason() {
        tracing::info!(%peer, %reason, "link ended");
    }
    let _ = events.send(LinkEvent::Down(peer, id)).await;
}
