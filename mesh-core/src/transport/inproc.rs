//! An in-process transport for unit tests: channels in a shared map, one bounded queue per
//! subscriber (the oldest frame is overwritten when full), history for late joiners, condition
//! variables for waiting. Frames are reference counted, so fan-out does not copy.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use super::{ChannelSpec, FramePublisher, FrameSubscriber, FrameWriter, Transport};
use crate::envelope::BuildError;
use mesh_msg_runtime::rkyv::ser::Positional as _;

/// Errors of the in-process transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InProcError {
    /// A frame larger than the channel's maximum, or an envelope that could not be built.
    #[error("frame of {len} bytes does not fit the channel (max {max}){}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Frame {
        /// Frame length.
        len: usize,
        /// Channel maximum.
        max: usize,
        /// Envelope build failure, if that was the cause.
        cause: Option<BuildError>,
    },
    /// The channel already has its maximum number of ports.
    #[error("channel `{0}` has no room for another port")]
    TooManyPorts(String),
}

#[derive(Debug)]
struct Queue {
    frames: Mutex<VecDeque<Arc<[u8]>>>,
    ready: Condvar,
    space: Condvar,
    depth: usize,
}

#[derive(Debug)]
struct Channel {
    spec: ChannelSpec,
    subscribers: Mutex<Vec<Weak<Queue>>>,
    history: Mutex<VecDeque<Arc<[u8]>>>,
}

/// The in-process transport.
#[derive(Debug, Clone, Default)]
pub struct InProcTransport {
    channels: Arc<Mutex<HashMap<String, Arc<Channel>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl InProcTransport {
    /// A transport with no channels.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn channel(&self, spec: &ChannelSpec) -> Arc<Channel> {
        let mut channels = lock(&self.channels);
        Arc::clone(channels.entry(spec.topic.clone()).or_insert_with(|| {
            Arc::new(Channel {
                spec: spec.clone(),
                subscribers: Mutex::new(Vec::new()),
                history: Mutex::new(VecDeque::new()),
            })
        }))
    }
}

/// Publisher of the in-process transport.
#[derive(Debug)]
pub struct InProcPublisher {
    channel: Arc<Channel>,
    stall_deadline: Duration,
    stalled: u64,
}

/// Subscriber of the in-process transport.
#[derive(Debug)]
pub struct InProcSubscriber {
    queue: Arc<Queue>,
}

impl Transport for InProcTransport {
    type Error = InProcError;
    type Publisher = InProcPublisher;
    type Subscriber = InProcSubscriber;

    fn publisher(&self, spec: &ChannelSpec) -> Result<InProcPublisher, InProcError> {
        Ok(InProcPublisher {
            channel: self.channel(spec),
            stall_deadline: spec.stall_deadline,
            stalled: 0,
        })
    }

    fn subscriber(&self, spec: &ChannelSpec) -> Result<InProcSubscriber, InProcError> {
        let channel = self.channel(spec);
        let mut subs = lock(&channel.subscribers);
        subs.retain(|w| w.strong_count() > 0);
        if subs.len() >= channel.spec.max_ports {
            return Err(InProcError::TooManyPorts(spec.topic.clone()));
        }
        let depth = channel.spec.queue_depth.max(1);
        let history: VecDeque<Arc<[u8]>> = lock(&channel.history).iter().cloned().collect();
        let queue = Arc::new(Queue {
            frames: Mutex::new(history),
            ready: Condvar::new(),
            space: Condvar::new(),
            depth,
        });
        subs.push(Arc::downgrade(&queue));
        Ok(InProcSubscriber { queue })
    }
}

impl FramePublisher for InProcPublisher {
    type Error = InProcError;

    fn write_frame_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut FrameWriter<'_>),
    ) -> Result<(), InProcError> {
        let max = self.channel.spec.max_frame_bytes;
        if len > max {
            return Err(self.frame_error(len, None));
        }
        let mut buf = vec![0u8; len];
        let written = {
            let mut writer = FrameWriter::from(buf.as_mut_slice());
            fill(&mut writer);
            writer.pos()
        };
        if written != len {
            return Err(self.frame_error(len, Some(BuildError::Incomplete { written, len })));
        }
        let frame: Arc<[u8]> = buf.into();
        // History and the fan-out list change together under the subscribers lock, so a
        // subscriber joining now gets the frame exactly once (from history or from fan-out).
        let subscribers: Vec<Arc<Queue>> = {
            let subs = lock(&self.channel.subscribers);
            if self.channel.spec.history > 0 {
                let mut h = lock(&self.channel.history);
                if h.len() >= self.channel.spec.history {
                    h.pop_front();
                }
                h.push_back(Arc::clone(&frame));
            }
            subs.iter().filter_map(Weak::upgrade).collect()
        };
        for q in subscribers {
            let mut frames = lock(&q.frames);
            let mut waited = Duration::ZERO;
            let mut deliver = true;
            while frames.len() >= q.depth {
                if !self.channel.spec.lossless {
                    frames.pop_front();
                    break;
                }
                // Lossless: wait for the subscriber to make room (it holds no lock meanwhile),
                // up to the stall deadline; stop waiting for a subscriber that was dropped.
                if Arc::strong_count(&q) == 1 {
                    break;
                }
                if waited >= self.stall_deadline {
                    self.stalled += 1;
                    deliver = false;
                    break;
                }
                let slice = (self.stall_deadline - waited).min(Duration::from_millis(50));
                let started = std::time::Instant::now();
                frames = q
                    .space
                    .wait_timeout(frames, slice)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
                waited += started.elapsed();
            }
            if deliver {
                frames.push_back(Arc::clone(&frame));
                q.ready.notify_all();
            }
        }
        Ok(())
    }

    fn stalled_drops(&self) -> u64 {
        self.stalled
    }

    fn frame_error(&self, len: usize, cause: Option<BuildError>) -> InProcError {
        InProcError::Frame {
            len,
            max: self.channel.spec.max_frame_bytes,
            cause,
        }
    }
}

impl FrameSubscriber for InProcSubscriber {
    type Error = InProcError;
    type Frame = Arc<[u8]>;

    fn try_recv(&mut self) -> Result<Option<Arc<[u8]>>, InProcError> {
        let frame = lock(&self.queue.frames).pop_front();
        if frame.is_some() {
            self.queue.space.notify_all();
        }
        Ok(frame)
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), InProcError> {
        let frames = lock(&self.queue.frames);
        if frames.is_empty() {
            let _ = self.queue.ready.wait_timeout(frames, timeout);
        }
        Ok(())
    }
}
