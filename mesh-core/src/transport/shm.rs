//! iceoryx2 shared memory between processes on one host: each channel is an iceoryx2
//! publish-subscribe service of byte slices (the envelope frames) plus an event service used
//! to wake waiting subscribers (no busy polling). Frames are written in place in a shared
//! memory sample and read in place through the received sample. Creating a transport first
//! removes the stale resources of dead iceoryx2 nodes (for example a SIGKILLed publisher).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use iceoryx2::port::{BackpressureAction, BackpressureInfo};

use iceoryx2::node::NodeCreationFailure;
use iceoryx2::port::listener::{Listener, ListenerCreateError, ListenerWaitError};
use iceoryx2::port::notifier::{Notifier, NotifierCreateError, NotifierNotifyError};
use iceoryx2::port::publisher::{Publisher, PublisherCreateError};
use iceoryx2::port::subscriber::{Subscriber, SubscriberCreateError};
use iceoryx2::port::update_connections::UpdateConnections as _;
use iceoryx2::port::{LoanError, ReceiveError, SendError};
use iceoryx2::prelude::*;
use iceoryx2::sample::Sample;
use iceoryx2::service::builder::event::EventOpenOrCreateError;
use iceoryx2::service::builder::publish_subscribe::PublishSubscribeOpenOrCreateError;

use super::{ChannelSpec, FramePublisher, FrameSubscriber, FrameWriter, Transport};
use crate::envelope::BuildError;
use mesh_msg_runtime::rkyv::ser::Positional as _;

/// Errors of the shared-memory transport, one variant per failing step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// The topic cannot be an iceoryx2 service name.
    #[error("topic `{0}` cannot name a shared-memory service")]
    InvalidTopic(String),
    /// The prefix cannot be an iceoryx2 file name prefix.
    #[error("invalid shared-memory prefix `{0}`")]
    InvalidPrefix(String),
    /// The name cannot be an iceoryx2 node name.
    #[error("invalid shared-memory node name `{0}`")]
    InvalidNodeName(String),
    /// The iceoryx2 node could not be created.
    #[error("cannot create the shared-memory node: {0:?}")]
    Node(NodeCreationFailure),
    /// The data service could not be opened or created (e.g. incompatible settings).
    #[error("cannot open channel `{topic}`: {cause:?}{}", channel_hint(cause))]
    Channel {
        /// Topic.
        topic: String,
        /// iceoryx2's reason.
        cause: PublishSubscribeOpenOrCreateError,
    },
    /// The event service could not be opened or created.
    #[error("cannot open the wake-up events of `{topic}`: {cause:?}")]
    Events {
        /// Topic.
        topic: String,
        /// iceoryx2's reason.
        cause: EventOpenOrCreateError,
    },
    /// A publisher could not be created.
    #[error("cannot create a publisher: {0:?}")]
    Publisher(PublisherCreateError),
    /// A subscriber could not be created.
    #[error("cannot create a subscriber: {0:?}")]
    Subscriber(SubscriberCreateError),
    /// A notifier could not be created.
    #[error("cannot create a notifier: {0:?}")]
    Notifier(NotifierCreateError),
    /// A listener could not be created.
    #[error("cannot create a listener: {0:?}")]
    Listener(ListenerCreateError),
    /// A frame does not fit the channel, or an envelope could not be built.
    #[error("frame of {len} bytes does not fit the channel (max {max}){}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Frame {
        /// Frame length.
        len: usize,
        /// Channel maximum.
        max: usize,
        /// Envelope build failure, if that was the cause.
        cause: Option<BuildError>,
    },
    /// No shared-memory sample could be loaned.
    #[error("cannot loan shared memory: {0:?}")]
    Loan(LoanError),
    /// The sample could not be delivered.
    #[error("cannot send: {0:?}")]
    Send(SendError),
    /// Receiving failed.
    #[error("cannot receive: {0:?}")]
    Receive(ReceiveError),
    /// Connecting new subscribers failed.
    #[error("cannot update connections: {0:?}")]
    Connections(iceoryx2::port::update_connections::ConnectionFailure),
    /// Waking subscribers failed.
    #[error("cannot notify subscribers: {0:?}")]
    Notify(NotifierNotifyError),
    /// Waiting failed.
    #[error("cannot wait for frames: {0:?}")]
    Wait(ListenerWaitError),
    /// The host's channels could not be listed.
    #[error("cannot list shared-memory channels: {0}")]
    Scan(String),
}

/// The iceoryx2 service flavours a [`ShmTransport`] can use: [`ipc::Service`] (the default:
/// ports stay on the thread that made them, no locks) or [`ThreadSafe`] (ports are `Send`
/// and can move between threads, at the price of locks on every step: 694 ns instead of
/// 434 ns per 64-byte message published and received in `benches/benches/node_path.rs`).
pub trait Flavour: Service {
    /// A listener of this flavour as a `WaitSet` attachment.
    fn wake_source(listener: &Listener<Self>) -> &dyn WakeSource;
}

impl Flavour for ipc::Service {
    fn wake_source(listener: &Listener<Self>) -> &dyn WakeSource {
        listener
    }
}

impl Flavour for ThreadSafe {
    fn wake_source(listener: &Listener<Self>) -> &dyn WakeSource {
        listener
    }
}

/// Something an iceoryx2 `WaitSet` can wait on (a subscriber's wake-up listener).
pub trait WakeSource: SynchronousMultiplexing + std::fmt::Debug {}
impl<T: SynchronousMultiplexing + std::fmt::Debug> WakeSource for T {}

/// iceoryx2's thread-safe inter-process flavour.
pub use iceoryx2::service::ipc_threadsafe::Service as ThreadSafe;

/// A shared-memory transport whose nodes, publishers and subscribers can move between
/// threads (for [`crate::node::ThreadedExecutor`] and language bindings).
pub type ThreadSafeShmTransport = ShmTransport<ThreadSafe>;

/// What an incompatible-settings error means in QoS terms.
fn channel_hint(cause: &PublishSubscribeOpenOrCreateError) -> &'static str {
    use iceoryx2::service::builder::publish_subscribe::PublishSubscribeOpenError as Open;
    match cause {
        PublishSubscribeOpenOrCreateError::PublishSubscribeOpenError(open) => match open {
            Open::IncompatibleOverflowBehavior => {
                " (the topic exists with the other reliability QoS: on one host every endpoint \
                 of a topic must use the same reliability)"
            }
            Open::DoesNotSupportRequestedMinBufferSize => {
                " (the topic exists with a smaller history depth QoS than requested)"
            }
            Open::DoesNotSupportRequestedMinHistorySize => {
                " (the topic exists without transient-local durability of this depth)"
            }
            _ => "",
        },
        _ => "",
    }
}

type DataFactory<S> = iceoryx2::service::port_factory::publish_subscribe::PortFactory<S, [u8], ()>;
type EventFactory<S> = iceoryx2::service::port_factory::event::PortFactory<S>;

/// The shared-memory transport of one process.
pub struct ShmTransport<S: Flavour = ipc::Service> {
    pub(super) node: Node<S>,
}

impl<S: Flavour> std::fmt::Debug for ShmTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmTransport").finish_non_exhaustive()
    }
}

impl ShmTransport {
    /// A transport with iceoryx2's default configuration (files prefixed `iox2_`).
    pub fn new() -> Result<Self, ShmError> {
        Self::new_flavour()
    }

    /// A transport whose shared-memory files start with `prefix` (isolates fleets and tests).
    pub fn with_prefix(prefix: &str) -> Result<Self, ShmError> {
        Self::with_prefix_flavour(prefix)
    }

    /// A transport whose iceoryx2 node carries `name` (a node's fully qualified name), so
    /// `omni-mesh node list` shows it; `prefix` as for [`with_prefix`](Self::with_prefix).
    pub fn named(prefix: Option<&str>, name: &str) -> Result<Self, ShmError> {
        Self::named_flavour(prefix, name)
    }
}

impl<S: Flavour> ShmTransport<S> {
    /// As [`ShmTransport::named`], of flavour `S` (the Python bindings use [`ThreadSafe`]
    /// ports, which can wait with the GIL released).
    pub fn named_flavour(prefix: Option<&str>, name: &str) -> Result<Self, ShmError> {
        set_log_level_from_env_or(LogLevel::Error);
        let mut config = Config::global_config().clone();
        if let Some(prefix) = prefix {
            config.global.prefix = FileName::new(prefix.as_bytes())
                .map_err(|_| ShmError::InvalidPrefix(prefix.to_owned()))?;
        }
        let name = NodeName::new(name).map_err(|_| ShmError::InvalidNodeName(name.to_owned()))?;
        Self::build(&config, Some(&name))
    }
}

impl<S: Flavour> ShmTransport<S> {
    /// A transport of flavour `S` with iceoryx2's default configuration.
    pub fn new_flavour() -> Result<Self, ShmError> {
        set_log_level_from_env_or(LogLevel::Error);
        Self::with_config(Config::global_config().clone())
    }

    /// A transport of flavour `S` whose shared-memory files start with `prefix`.
    pub fn with_prefix_flavour(prefix: &str) -> Result<Self, ShmError> {
        set_log_level_from_env_or(LogLevel::Error);
        let mut config = Config::global_config().clone();
        config.global.prefix = FileName::new(prefix.as_bytes())
            .map_err(|_| ShmError::InvalidPrefix(prefix.to_owned()))?;
        Self::with_config(config)
    }

    fn with_config(config: Config) -> Result<Self, ShmError> {
        // iceoryx2 logs warnings (e.g. "no config file loaded") to stderr; keep only errors
        // unless IOX2_LOG_LEVEL says otherwise.
        set_log_level_from_env_or(LogLevel::Error);
        Self::build(&config, None)
    }

    fn build(config: &Config, name: Option<&NodeName>) -> Result<Self, ShmError> {
        remove_dead_nodes::<S>(config);
        let mut builder = NodeBuilder::new()
            .config(config)
            .signal_handling_mode(SignalHandlingMode::Disabled);
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let node = builder.create::<S>().map_err(ShmError::Node)?;
        Ok(Self { node })
    }

    fn names(spec: &ChannelSpec) -> Result<(ServiceName, ServiceName), ShmError> {
        let invalid = || ShmError::InvalidTopic(spec.topic.clone());
        let data =
            ServiceName::new(&format!("omni-mesh{}/data", spec.topic)).map_err(|_| invalid())?;
        let events =
            ServiceName::new(&format!("omni-mesh{}/events", spec.topic)).map_err(|_| invalid())?;
        Ok((data, events))
    }

    fn services(&self, spec: &ChannelSpec) -> Result<(DataFactory<S>, EventFactory<S>), ShmError> {
        let (data, events) = Self::names(spec)?;
        let ports = spec.max_ports.max(1);
        let pubsub = self
            .node
            .service_builder(&data)
            .publish_subscribe::<[u8]>()
            // Archives in frames start 8-aligned after the 152-byte header when the frame
            // itself is 16-aligned, so subscribers read them in place.
            .max_publishers(ports)
            .max_subscribers(ports)
            .subscriber_max_buffer_size(spec.queue_depth.max(1))
            .history_size(spec.history)
            .enable_safe_overflow(!spec.lossless)
            .open_or_create()
            .map_err(|cause| ShmError::Channel {
                topic: spec.topic.clone(),
                cause,
            })?;
        let event = self
            .node
            .service_builder(&events)
            .event()
            .max_notifiers(ports)
            .max_listeners(ports)
            .open_or_create()
            .map_err(|cause| ShmError::Events {
                topic: spec.topic.clone(),
                cause,
            })?;
        Ok((pubsub, event))
    }
}

/// A wake-up another thread of this process can ring (an iceoryx2 event service), so a thread
/// that waits on a `WaitSet` for shared-memory frames also wakes for other work.
pub struct Doorbell<S: Flavour = ipc::Service> {
    listener: Listener<S>,
}

impl<S: Flavour> std::fmt::Debug for Doorbell<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorbell").finish_non_exhaustive()
    }
}

impl<S: Flavour> Doorbell<S> {
    /// The listener, for a `WaitSet`.
    #[must_use]
    pub fn wake_source(&self) -> &dyn WakeSource {
        S::wake_source(&self.listener)
    }

    /// Consumes the rings so far.
    ///
    /// # Errors
    /// [`ShmError::Wait`] if the listener fails.
    pub fn clear(&self) -> Result<(), ShmError> {
        self.listener.try_wait(|_| {}).map_err(ShmError::Wait)?;
        Ok(())
    }
}

/// Rings a [`Doorbell`].
pub struct DoorbellRinger<S: Flavour = ipc::Service> {
    notifier: Notifier<S>,
}

impl<S: Flavour> std::fmt::Debug for DoorbellRinger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoorbellRinger").finish_non_exhaustive()
    }
}

impl<S: Flavour> DoorbellRinger<S> {
    /// Wakes the doorbell's waiter.
    ///
    /// # Errors
    /// [`ShmError::Notify`] if the event cannot be sent.
    pub fn ring(&self) -> Result<(), ShmError> {
        self.notifier.notify().map_err(ShmError::Notify)?;
        Ok(())
    }
}

impl<S: Flavour> ShmTransport<S> {
    fn doorbell_service(&self, name: &str) -> Result<EventFactory<S>, ShmError> {
        let service = ServiceName::new(name).map_err(|_| ShmError::InvalidTopic(name.into()))?;
        self.node
            .service_builder(&service)
            .event()
            .open_or_create()
            .map_err(|cause| ShmError::Events {
                topic: name.to_owned(),
                cause,
            })
    }

    /// The waiting end of the doorbell `name`.
    ///
    /// # Errors
    /// The event service or listener cannot be created.
    pub fn doorbell(&self, name: &str) -> Result<Doorbell<S>, ShmError> {
        let listener = self
            .doorbell_service(name)?
            .listener_builder()
            .create()
            .map_err(ShmError::Listener)?;
        Ok(Doorbell { listener })
    }

    /// A ringer of the doorbell `name` (make it on the thread that rings).
    ///
    /// # Errors
    /// The event service or notifier cannot be created.
    pub fn doorbell_ringer(&self, name: &str) -> Result<DoorbellRinger<S>, ShmError> {
        let notifier = self
            .doorbell_service(name)?
            .notifier_builder()
            .create()
            .map_err(ShmError::Notifier)?;
        Ok(DoorbellRinger { notifier })
    }
}

/// Removes the shared-memory resources of iceoryx2 nodes whose process died.
fn remove_dead_nodes<S: Flavour>(config: &Config) {
    let _ = Node::<S>::list(config, |state| {
        if let NodeState::Dead(view) = state {
            let _ = view.try_remove_stale_resources();
        }
        CallbackProgression::Continue
    });
}

/// Publisher of the shared-memory transport.
pub struct ShmPublisher<S: Flavour = ipc::Service> {
    publisher: Publisher<S, [u8], ()>,
    notifier: Notifier<S>,
    stalled: Arc<AtomicU64>,
    max: usize,
}

/// Subscriber of the shared-memory transport.
pub struct ShmSubscriber<S: Flavour = ipc::Service> {
    subscriber: Subscriber<S, [u8], ()>,
    listener: Listener<S>,
}

/// A received frame: the shared-memory sample, read in place.
pub struct ShmFrame<S: Flavour = ipc::Service>(Sample<S, [u8], ()>);

impl<S: Flavour> AsRef<[u8]> for ShmFrame<S> {
    fn as_ref(&self) -> &[u8] {
        self.0.payload()
    }
}

impl<S: Flavour> Transport for ShmTransport<S> {
    type Error = ShmError;
    type Publisher = ShmPublisher<S>;
    type Subscriber = ShmSubscriber<S>;

    fn host_key_path(&self) -> Option<std::path::PathBuf> {
        let prefix = self.node.config().global.prefix.to_string();
        Some(crate::security::attest::key_path(&prefix))
    }

    fn publisher(&self, spec: &ChannelSpec) -> Result<ShmPublisher<S>, ShmError> {
        let (pubsub, event) = self.services(spec)?;
        let stalled = Arc::new(AtomicU64::new(0));
        let builder = match spec.initial_frame_bytes {
            Some(initial) => pubsub
                .publisher_builder()
                .initial_max_slice_len(initial.min(spec.max_frame_bytes))
                .allocation_strategy(AllocationStrategy::PowerOfTwo),
            None => pubsub
                .publisher_builder()
                .initial_max_slice_len(spec.max_frame_bytes),
        };
        let builder = if spec.lossless {
            // Retry a full subscriber queue until the stall deadline, then drop the frame for
            // that subscriber only, and count it.
            let (deadline, count) = (spec.stall_deadline, Arc::clone(&stalled));
            builder
                .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
                .set_backpressure_handler(move |info: &BackpressureInfo| {
                    if info.elapsed_time < deadline {
                        BackpressureAction::Retry
                    } else {
                        count.fetch_add(1, Ordering::Relaxed);
                        BackpressureAction::DiscardData
                    }
                })
        } else {
            builder.backpressure_strategy(BackpressureStrategy::DiscardData)
        };
        let publisher = builder.create().map_err(ShmError::Publisher)?;
        let notifier = event
            .notifier_builder()
            .create()
            .map_err(ShmError::Notifier)?;
        Ok(ShmPublisher {
            publisher,
            notifier,
            stalled,
            max: spec.max_frame_bytes,
        })
    }

    fn subscriber(&self, spec: &ChannelSpec) -> Result<ShmSubscriber<S>, ShmError> {
        let (pubsub, event) = self.services(spec)?;
        let subscriber = pubsub
            .subscriber_builder()
            .buffer_size(spec.queue_depth.max(1))
            .create()
            .map_err(ShmError::Subscriber)?;
        // Attach to the publishers already present now, not at the first receive: until its
        // end is attached, a full queue drops frames instead of making lossless publishers
        // wait. (Publishers that appear later are attached at the next receive.)
        subscriber
            .update_connections()
            .map_err(ShmError::Connections)?;
        let listener = event
            .listener_builder()
            .create()
            .map_err(ShmError::Listener)?;
        Ok(ShmSubscriber {
            subscriber,
            listener,
        })
    }
}

impl<S: Flavour> FramePublisher for ShmPublisher<S> {
    type Error = ShmError;

    fn write_frame_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut FrameWriter<'_>),
    ) -> Result<(), ShmError> {
        if len > self.max {
            return Err(self.frame_error(len, None));
        }
        // The loan is uninitialised shared memory: the frame is written once, where
        // subscribers read it, with no zeroing first.
        let mut sample = self
            .publisher
            .loan_slice_uninit(len)
            .map_err(ShmError::Loan)?;
        let written = {
            let mut writer = FrameWriter::from(sample.payload_mut());
            fill(&mut writer);
            writer.pos()
        };
        if written != len {
            // Dropping the loan returns it unpublished.
            return Err(self.frame_error(len, Some(BuildError::Incomplete { written, len })));
        }
        // SAFETY: the writer initialised bytes `0..written` of the `len`-byte loan (rkyv's
        // `Buffer` only advances its position over bytes it copied in), and `written == len`,
        // so every byte of the payload is initialised.
        #[allow(unsafe_code)]
        let sample = unsafe { sample.assume_init() };
        sample.send().map_err(ShmError::Send)?;
        self.notifier.notify().map_err(ShmError::Notify)?;
        Ok(())
    }

    fn update(&mut self) -> Result<(), ShmError> {
        self.publisher
            .update_connections()
            .map_err(ShmError::Connections)
    }

    fn stalled_drops(&self) -> u64 {
        self.stalled.load(Ordering::Relaxed)
    }

    fn frame_error(&self, len: usize, cause: Option<BuildError>) -> ShmError {
        ShmError::Frame {
            len,
            max: self.max,
            cause,
        }
    }
}

impl<S: Flavour> FrameSubscriber for ShmSubscriber<S> {
    type Error = ShmError;
    type Frame = ShmFrame<S>;

    fn try_recv(&mut self) -> Result<Option<ShmFrame<S>>, ShmError> {
        Ok(self
            .subscriber
            .receive()
            .map_err(ShmError::Receive)?
            .map(ShmFrame))
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), ShmError> {
        if self.subscriber.has_samples().unwrap_or(false) {
            return Ok(());
        }
        match self.listener.timed_wait(|_| {}, timeout) {
            // A signal (Ctrl-C, SIGTERM) cut the wait short: not a failure; the caller
            // looks at its stop flag or the interpreter's signals and waits again.
            Ok(_) | Err(ListenerWaitError::InterruptSignal) => Ok(()),
            Err(e) => Err(ShmError::Wait(e)),
        }
    }

    fn wake_source(&self) -> Option<&dyn WakeSource> {
        Some(S::wake_source(&self.listener))
    }

    fn clear_wakeups(&mut self) -> Result<(), ShmError> {
        self.listener.try_wait(|_| {}).map_err(ShmError::Wait)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_move_between_threads() {
        fn is_send<T: Send>() {}
        is_send::<super::ShmPublisher<super::ThreadSafe>>();
        is_send::<super::ShmSubscriber<super::ThreadSafe>>();
        is_send::<super::ThreadSafeShmTransport>();
        is_send::<super::ShmFrame<super::ThreadSafe>>();
    }
}
