//! The daemon's shared-memory threads. `omni-daemon-scan` lists the host's channels every
//! scan period (opening every service takes milliseconds: done off the data path) and hands
//! the result over. `omni-daemon-shm` keeps one export subscriber per topic another host
//! wants and one import publisher per topic local nodes subscribe to, hands local frames to
//! the router, publishes frames from the network, and otherwise waits on one `WaitSet`
//! (export subscribers and the doorbell the network and scan threads ring).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use iceoryx2::prelude::{CallbackProgression, SignalHandlingMode, WaitSetBuilder};

use super::DaemonError;
use crate::identity::NodeKey;
use crate::router::{LocalTopic, Router};
use crate::security::attest::HostKey;
use crate::transport::shm::{ShmPublisher, ShmSubscriber, ShmTransport};
use crate::transport::shm_scan::{LocalChannel, ShmNodeId};
use crate::transport::{ChannelSpec, FramePublisher, FrameSubscriber, Transport};

/// A local frame and the peers it goes to.
#[derive(Debug)]
pub(super) struct Outbound {
    pub peers: Vec<[u8; 32]>,
    pub frame: Bytes,
    /// A frame of a DTN topic: it goes into custody, not to `peers`.
    pub dtn: bool,
}

/// What the shared-memory thread works with.
pub(super) struct ShmSide {
    pub prefix: Option<String>,
    pub scan_period: Duration,
    pub router: Arc<Mutex<Router>>,
    pub outbound: tokio::sync::mpsc::Sender<Outbound>,
    pub inbound: Receiver<(String, Bytes)>,
    pub wake: String,
    pub stop: Arc<AtomicBool>,
}

/// The doorbell the network thread rings when frames wait to be published.
pub(super) fn wake_name(key: &NodeKey) -> String {
    let hex: String = key.public().as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("omni-mesh-daemon/{hex}/wake")
}

pub(super) fn open(prefix: Option<&str>) -> Result<ShmTransport, DaemonError> {
    Ok(match prefix {
        Some(p) => ShmTransport::with_prefix(p)?,
        None => ShmTransport::new()?,
    })
}

/// Starts the scan thread: every period it lists the channels and rings the doorbell.
fn spawn_scanner(
    prefix: Option<String>,
    period: Duration,
    wake: String,
    stop: Arc<AtomicBool>,
    router_node: ShmNodeId,
) -> Result<Receiver<Vec<LocalChannel>>, DaemonError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    std::thread::Builder::new()
        .name("omni-daemon-scan".into())
        .spawn(move || {
            let Ok(transport) = open(prefix.as_deref()) else {
                return;
            };
            let Ok(ringer) = transport.doorbell_ringer(&wake) else {
                return;
            };
            while !stop.load(Ordering::Acquire) {
                // The router's own ports (made by the data thread's node) are not the host's.
                match transport.scan_excluding(&[router_node]) {
                    Ok(channels) => {
                        if tx.send(channels).is_err() {
                            return;
                        }
                        let _ = ringer.ring();
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot scan shared-memory channels"),
                }
                std::thread::sleep(period);
            }
        })
        .map_err(|e| DaemonError::Thread(e.to_string()))?;
    Ok(rx)
}

/// Starts the threads; shared-memory errors at start are returned here.
pub(super) fn spawn(
    side: ShmSide,
) -> Result<std::thread::JoinHandle<Result<(), DaemonError>>, DaemonError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (scan_tx, scans) = std::sync::mpsc::sync_channel(2);
    let (prefix, period, wake, stop) = (
        side.prefix.clone(),
        side.scan_period,
        side.wake.clone(),
        Arc::clone(&side.stop),
    );
    let handle = std::thread::Builder::new()
        .name("omni-daemon-shm".into())
        .spawn(move || {
            let transport = match open(side.prefix.as_deref()) {
                Ok(t) => t,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return Ok(());
                }
            };
            let _ = ready_tx.send(Ok(transport.node_id()));
            run(&side, &transport, &scans)
        })
        .map_err(|e| DaemonError::Thread(e.to_string()))?;
    let router_node = match ready_rx.recv() {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(DaemonError::Thread("shm thread died at start".into())),
    };
    let scanned = spawn_scanner(prefix, period, wake, stop, router_node)?;
    // Scans reach the data thread through this forwarder channel (created before the thread
    // knew the scanner existed).
    std::thread::Builder::new()
        .name("omni-daemon-fwd".into())
        .spawn(move || {
            while let Ok(channels) = scanned.recv() {
                if scan_tx.send(channels).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| DaemonError::Thread(e.to_string()))?;
    Ok(handle)
}

fn lock(router: &Mutex<Router>) -> std::sync::MutexGuard<'_, Router> {
    router.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Ports {
    exports: HashMap<String, ShmSubscriber>,
    imports: HashMap<String, ShmPublisher>,
}

fn run(
    side: &ShmSide,
    transport: &ShmTransport,
    scans: &Receiver<Vec<LocalChannel>>,
) -> Result<(), DaemonError> {
    let doorbell = transport.doorbell(&side.wake)?;
    let waitset = WaitSetBuilder::new()
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<iceoryx2::prelude::ipc::Service>()
        .map_err(|e| DaemonError::Thread(format!("cannot create a WaitSet: {e:?}")))?;
    let mut ports = Ports {
        exports: HashMap::new(),
        imports: HashMap::new(),
    };
    let host_key = HostKeyFile::create(transport)?;
    while !side.stop.load(Ordering::Acquire) {
        if let Ok(channels) = scans.try_recv() {
            apply_scan(side, transport, &mut ports, &channels);
        }
        let mut busy = publish_inbound(side, &mut ports, &host_key.key);
        busy |= forward_local(side, &mut ports)?;
        if busy {
            continue;
        }
        // Idle: wait for a local frame or the doorbell (frames from the network, a scan);
        // wake at least every scan period to notice a stop request.
        let timeout = side.scan_period;
        let mut fired: Vec<String> = Vec::new();
        let mut bell = false;
        {
            let bell_guard = waitset
                .attach_notification(doorbell.wake_source())
                .map_err(|e| DaemonError::Thread(format!("WaitSet: {e:?}")))?;
            let guards: Vec<_> = ports
                .exports
                .iter()
                .filter_map(|(topic, sub)| {
                    let source = sub.wake_source()?;
                    waitset.attach_notification(source).ok().map(|g| (topic, g))
                })
                .collect();
            waitset
                .wait_and_process_once_with_timeout(
                    |id| {
                        bell |= id.has_event_from(&bell_guard);
                        for (topic, g) in &guards {
                            if id.has_event_from(g) {
                                fired.push((*topic).clone());
                            }
                        }
                        CallbackProgression::Continue
                    },
                    timeout,
                )
                .map_err(|e| DaemonError::Thread(format!("WaitSet: {e:?}")))?;
        }
        if bell {
            doorbell.clear()?;
        }
        for topic in fired {
            if let Some(sub) = ports.exports.get_mut(&topic) {
                sub.clear_wakeups()?;
            }
        }
    }
    Ok(())
}

/// The host's attestation key, written where local subscribers read it, removed again when
/// the daemon stops (a killed daemon leaves a stale key; the next one replaces it).
struct HostKeyFile {
    key: HostKey,
    path: Option<std::path::PathBuf>,
}

impl HostKeyFile {
    fn create(transport: &ShmTransport) -> Result<Self, DaemonError> {
        let key = HostKey::generate();
        let path = transport.host_key_path();
        if let Some(path) = &path {
            key.save(path)?;
        }
        Ok(Self { key, path })
    }
}

impl Drop for HostKeyFile {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Updates the router's view of local channels and opens or closes the daemon's ports.
fn apply_scan(
    side: &ShmSide,
    transport: &ShmTransport,
    ports: &mut Ports,
    channels: &[LocalChannel],
) {
    let (export, import) = {
        let mut router = lock(&side.router);
        router.set_local_topics(channels.iter().map(|c| LocalTopic {
            name: c.spec.topic.clone(),
            publishers: c.publishers,
            subscribers: c.subscribers,
        }));
        (router.topics_to_export(), router.topics_to_import())
    };
    let spec_of = |topic: &str| -> Option<ChannelSpec> {
        channels
            .iter()
            .find(|c| c.spec.topic == topic)
            .map(|c| c.spec.clone())
    };
    ports.exports.retain(|t, _| export.contains(t));
    for topic in export {
        if ports.exports.contains_key(&topic) {
            continue;
        }
        let Some(spec) = spec_of(&topic) else {
            continue;
        };
        match transport.subscriber(&spec) {
            Ok(sub) => {
                tracing::info!(%topic, "exporting to peer hosts");
                ports.exports.insert(topic, sub);
            }
            Err(e) => tracing::warn!(%topic, error = %e, "cannot export"),
        }
    }
    ports.imports.retain(|t, _| import.contains(t));
    for topic in import {
        if ports.imports.contains_key(&topic) {
            continue;
        }
        let Some(mut spec) = spec_of(&topic) else {
            continue;
        };
        // Frames from other hosts may be larger than local ones: start small and grow.
        spec.initial_frame_bytes = Some(spec.max_frame_bytes);
        spec.max_frame_bytes = spec.max_frame_bytes.max(16 << 20);
        match transport.publisher(&spec) {
            Ok(publisher) => {
                tracing::info!(%topic, "importing from peer hosts");
                ports.imports.insert(topic, publisher);
            }
            Err(e) => tracing::warn!(%topic, error = %e, "cannot import"),
        }
    }
}

/// Publishes frames from the network on their local channels, each behind this host's
/// attestation (the router verified it). True if any was waiting.
fn publish_inbound(side: &ShmSide, ports: &mut Ports, host_key: &HostKey) -> bool {
    let mut any = false;
    for _ in 0..1024 {
        match side.inbound.try_recv() {
            Ok((topic, frame)) => {
                any = true;
                match ports.imports.get_mut(&topic) {
                    Some(publisher) => {
                        let prefix = host_key.prefix(&frame);
                        if let Err(e) = publisher.write_frame_parts(&[&prefix, &frame]) {
                            tracing::warn!(%topic, error = %e, "cannot publish an imported frame");
                        }
                    }
                    None => tracing::debug!(%topic, "imported frame for a channel not open yet"),
                }
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    any
}

/// Hands local frames of exported topics to the router and the network thread. True if any.
fn forward_local(side: &ShmSide, ports: &mut Ports) -> Result<bool, DaemonError> {
    let mut any = false;
    for sub in ports.exports.values_mut() {
        for _ in 0..1024 {
            let Some(frame) = sub.try_recv()? else { break };
            any = true;
            let bytes = frame.as_ref();
            let (peers, dtn) = {
                let mut router = lock(&side.router);
                if router.is_dtn_frame(bytes) {
                    (Vec::new(), true)
                } else {
                    (router.on_local_frame(bytes), false)
                }
            };
            if peers.is_empty() && !dtn {
                continue;
            }
            let out = Outbound {
                peers,
                frame: Bytes::copy_from_slice(bytes),
                dtn,
            };
            // Back-pressure: a full queue makes this thread wait for the network.
            if side.outbound.blocking_send(out).is_err() {
                return Ok(any);
            }
        }
    }
    Ok(any)
}
