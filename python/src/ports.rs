//! The Python classes: `Node` and its ports. Ports are type-erased mesh endpoints
//! (`Node::raw_subscriber` / `raw_publisher`): every message is signed on the way out and
//! verified on the way in, and decoded by the type hash it carries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mesh_core::config::Config;
use mesh_core::delivery::{History, Qos};
use mesh_core::identity::{load_key_file, Did, NodeKey};
use mesh_core::node::{
    service_reply_topic, Node as MeshNode, RawPublisher, RawReplies, RawSample, RawSubscriber,
};
use mesh_core::security::{SecurityMode, TrustStore};
use mesh_core::transport::shm::ShmFrame;
use mesh_core::transport::shm::{ShmPublisher, ShmSubscriber, ShmTransport, ThreadSafe};

/// Ports can wait on another thread than the one that made them (with the GIL released).
type Shm = ShmTransport<ThreadSafe>;
type Sub = ShmSubscriber<ThreadSafe>;
type Pub = ShmPublisher<ThreadSafe>;
type Received = RawSample<ShmFrame<ThreadSafe>>;
use mesh_core::transport::ChannelSpec;
use omni_msgs::dynamic::DynType;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::convert::to_value;
use crate::errors::{transport, CallTimeout, ConfigError, MessageError};
use crate::view::{message_of, plain_of, ArchiveBuffer};

/// How often a blocked call looks for signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);
/// Ports per topic, as the reference nodes use (a topic's first endpoint fixes it).
const PORTS: usize = 32;

fn message_type(name: &str) -> PyResult<&'static DynType> {
    omni_msgs::dynamic::by_name(name).ok_or_else(|| {
        MessageError::new_err(format!(
            "unknown message type {name} (expected pkg/msg/Type)"
        ))
    })
}

fn encode_value(ty: &DynType, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let value = to_value(value)?;
    (ty.encode)(&value).map_err(|e| MessageError::new_err(format!("{}: {e}", ty.name)))
}

fn qos(reliable: bool, depth: u32) -> Qos {
    let base = if reliable {
        Qos::reliable()
    } else {
        Qos::best_effort()
    };
    base.with_history(History::KeepLast(depth.max(1)))
}

/// RIHS01 hash text of a message type.
#[pyfunction]
pub fn type_hash(type_name: &str) -> PyResult<String> {
    let ty = message_type(type_name)?;
    Ok(format!(
        "RIHS01_{}",
        ty.hash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

/// The archive bytes (what travels in envelopes) of a message given as plain values.
#[pyfunction]
pub fn encode<'py>(
    py: Python<'py>,
    type_name: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let archive = encode_value(message_type(type_name)?, value)?;
    Ok(PyBytes::new_bound(py, &archive))
}

/// The CDR bytes (encapsulation header included) ROS 2 puts on the wire for a message
/// given as plain values or a message object.
#[pyfunction]
pub fn to_cdr<'py>(
    py: Python<'py>,
    type_name: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let ty = message_type(type_name)?;
    let cdr = (ty.to_cdr)(&encode_value(ty, value)?).map_err(MessageError::new_err)?;
    Ok(PyBytes::new_bound(py, &cdr))
}

/// Plain values from CDR bytes (encapsulation header included, either byte order).
#[pyfunction]
pub fn from_cdr(py: Python<'_>, type_name: &str, cdr: &[u8]) -> PyResult<PyObject> {
    let ty = message_type(type_name)?;
    let archive = (ty.from_cdr)(cdr).map_err(MessageError::new_err)?;
    plain_of(py, ty, &archive)
}

/// Plain values from archive bytes.
#[pyfunction]
pub fn decode(py: Python<'_>, type_name: &str, archive: &[u8]) -> PyResult<PyObject> {
    plain_of(py, message_type(type_name)?, archive)
}

/// A node on this host's shared memory.
#[pyclass(unsendable, module = "omnimesh._native")]
pub struct Node {
    node: MeshNode<Shm>,
}

#[pymethods]
impl Node {
    #[new]
    #[pyo3(signature = (name, namespace="/", *, shm_prefix=None, mode=None, key_file=None, trust=Vec::new(), config_file=None))]
    fn new(
        name: &str,
        namespace: &str,
        shm_prefix: Option<String>,
        mode: Option<&str>,
        key_file: Option<std::path::PathBuf>,
        trust: Vec<String>,
        config_file: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let mut config =
            Config::from_file_and_env(config_file.as_deref(), SecurityMode::Development)
                .map_err(|e| ConfigError::new_err(e.to_string()))?;
        // An explicit `mode` wins over the file and the environment.
        config.security.mode = match mode {
            None => config.security.mode,
            Some("development") => SecurityMode::Development,
            Some("lightweight") => SecurityMode::Lightweight,
            Some("production") => SecurityMode::Production,
            Some(other) => {
                return Err(ConfigError::new_err(format!(
                    "mode must be development, lightweight or production, not {other:?}"
                )))
            }
        };
        let key = match &key_file {
            Some(path) => load_key_file(path).map_err(|e| ConfigError::new_err(e.to_string()))?,
            None => NodeKey::generate(),
        };
        let mut trusted = TrustStore::new();
        trusted.add_publisher(key.public());
        for did in &trust {
            let did: Did = did
                .parse()
                .map_err(|e| ConfigError::new_err(format!("trust {did}: {e}")))?;
            trusted.add_publisher(did.public_key());
        }
        let fqn = mesh_core::node::names::resolve("~", namespace, name)
            .map_err(|e| ConfigError::new_err(e.to_string()))?;
        let shm = Shm::named_flavour(shm_prefix.as_deref(), &fqn).map_err(transport)?;
        let node = MeshNode::builder(name, shm)
            .namespace(namespace)
            .key(key)
            .config(&config)
            .trust(trusted)
            .max_ports(PORTS)
            .build()
            .map_err(|e| ConfigError::new_err(e.to_string()))?;
        Ok(Self { node })
    }

    /// The node's verified identity, `did:key:z6Mk...`.
    #[getter]
    fn did(&self) -> String {
        self.node.did().to_string()
    }

    /// Fully qualified name.
    #[getter]
    fn name(&self) -> String {
        mesh_core::node::names::resolve("~", self.node.namespace(), self.node.name())
            .unwrap_or_default()
    }

    /// Resolves a topic name against the namespace.
    fn resolve(&self, topic: &str) -> PyResult<String> {
        self.node
            .resolve(topic)
            .map_err(|e| ConfigError::new_err(e.to_string()))
    }

    #[pyo3(signature = (topic, type_name, reliable=false, depth=8, max_bytes=65536))]
    fn publisher(
        &self,
        topic: &str,
        type_name: &str,
        reliable: bool,
        depth: u32,
        max_bytes: usize,
    ) -> PyResult<Publisher> {
        let ty = message_type(type_name)?;
        let spec = self.spec(topic, max_bytes, reliable, depth)?;
        let port = self.node.raw_publisher(&spec, ty.hash).map_err(transport)?;
        Ok(Publisher {
            port,
            ty,
            topic: spec.topic,
        })
    }

    #[pyo3(signature = (topic, type_name, reliable=false, depth=8, max_bytes=65536, zero_copy=false))]
    fn subscription(
        &self,
        topic: &str,
        type_name: &str,
        reliable: bool,
        depth: u32,
        max_bytes: usize,
        zero_copy: bool,
    ) -> PyResult<Subscription> {
        let ty = message_type(type_name)?;
        let spec = self.spec(topic, max_bytes, reliable, depth)?;
        let port = self
            .node
            .raw_subscriber(&spec)
            .map_err(transport)?
            .zero_copy(zero_copy);
        Ok(Subscription {
            port,
            ty,
            topic: spec.topic,
            wrong_type: 0,
            senders: HashMap::new(),
        })
    }

    #[pyo3(signature = (service, srv_type, max_bytes=65536))]
    fn client(&self, service: &str, srv_type: &str, max_bytes: usize) -> PyResult<Client> {
        let (request, response) = service_types(srv_type)?;
        let name = self.resolve(service)?;
        let reply = service_reply_topic(&name, &self.node.did(), self.node.epoch());
        let replies = self
            .node
            .raw_subscriber(&self.spec(&reply, max_bytes, false, 8)?)
            .map_err(transport)?;
        let requests = self
            .node
            .raw_publisher(
                &self.spec(&format!("{name}/_request"), max_bytes, false, 8)?,
                request.hash,
            )
            .map_err(transport)?;
        Ok(Client {
            requests,
            replies,
            request,
            response,
            name,
        })
    }

    #[pyo3(signature = (service, srv_type, max_bytes=65536))]
    fn service(
        slf: &Bound<'_, Self>,
        service: &str,
        srv_type: &str,
        max_bytes: usize,
    ) -> PyResult<Server> {
        let this = slf.borrow();
        let (request, response) = service_types(srv_type)?;
        let name = this.resolve(service)?;
        let requests = this
            .node
            .raw_subscriber(&this.spec(&format!("{name}/_request"), max_bytes, false, 8)?)
            .map_err(transport)?;
        Ok(Server {
            node: slf.clone().unbind(),
            requests,
            replies: RawReplies::new(&name, max_bytes, qos(false, 8), response.hash),
            request,
            response,
            name,
        })
    }

    fn __repr__(&self) -> String {
        format!("Node({:?}, did={:?})", self.name(), self.did())
    }
}

impl Node {
    fn spec(
        &self,
        topic: &str,
        max_bytes: usize,
        reliable: bool,
        depth: u32,
    ) -> PyResult<ChannelSpec> {
        self.node
            .channel_spec(topic, max_bytes, &qos(reliable, depth))
            .map_err(|e| ConfigError::new_err(e.to_string()))
    }
}

fn service_types(srv_type: &str) -> PyResult<(&'static DynType, &'static DynType)> {
    let part = |suffix: &str| {
        omni_msgs::dynamic::by_name(&format!("{srv_type}_{suffix}")).ok_or_else(|| {
            MessageError::new_err(format!(
                "unknown service type {srv_type} (expected pkg/srv/Type)"
            ))
        })
    };
    Ok((part("Request")?, part("Response")?))
}

/// Waits for a sample of type `ty` (others are counted and skipped), releasing the GIL and
/// looking for signals every 50 ms.
fn wait_for(
    py: Python<'_>,
    port: &mut RawSubscriber<Sub>,
    ty: &DynType,
    timeout: Option<f64>,
    wrong_type: &mut u64,
    mut accept: impl FnMut(&Received) -> bool,
) -> PyResult<Option<Received>> {
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    loop {
        let slice = deadline.map_or(SIGNAL_POLL, |d| {
            d.saturating_duration_since(Instant::now()).min(SIGNAL_POLL)
        });
        let got = py
            .allow_threads(|| port.recv_timeout(slice))
            .map_err(transport)?;
        match got {
            Some(sample) if sample.type_hash() == ty.hash && accept(&sample) => {
                return Ok(Some(sample))
            }
            Some(sample) if sample.type_hash() != ty.hash => *wrong_type += 1,
            Some(_) => {}
            None => {
                py.check_signals()?;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
            }
        }
    }
}

/// Publishes one message type on one topic.
#[pyclass(unsendable, module = "omnimesh._native")]
pub struct Publisher {
    port: RawPublisher<Pub>,
    ty: &'static DynType,
    topic: String,
}

#[pymethods]
impl Publisher {
    /// Publishes a message given as plain values (a dict of fields).
    fn publish(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let archive = encode_value(self.ty, value)?;
        self.port.publish_archive(&archive).map_err(transport)
    }

    /// Publishes archive bytes made by `encode`, or a received sample's archive buffer
    /// (skips the conversion).
    fn publish_archive(&mut self, archive: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(bytes) = archive.downcast::<PyBytes>() {
            return self
                .port
                .publish_archive(bytes.as_bytes())
                .map_err(transport);
        }
        if let Ok(buffer) = archive.downcast::<ArchiveBuffer>() {
            let buffer = buffer.borrow();
            return self.port.publish_archive(buffer.bytes()).map_err(transport);
        }
        let copy = pyo3::buffer::PyBuffer::<u8>::get_bound(archive)?.to_vec(archive.py())?;
        self.port.publish_archive(&copy).map_err(transport)
    }

    #[getter]
    fn topic(&self) -> String {
        self.topic.clone()
    }

    #[getter]
    fn type_name(&self) -> &'static str {
        self.ty.name
    }
}

/// Receives one message type on one topic.
#[pyclass(unsendable, module = "omnimesh._native")]
pub struct Subscription {
    port: RawSubscriber<Sub>,
    ty: &'static DynType,
    topic: String,
    wrong_type: u64,
    /// DID text of recent senders (formatting one costs a base58 encoding).
    senders: HashMap<[u8; 32], Py<PyString>>,
}

impl Subscription {
    /// The next sample of this subscription's type, with its sender's DID text.
    fn next(
        &mut self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(Received, Py<PyString>)>> {
        let sample = wait_for(
            py,
            &mut self.port,
            self.ty,
            timeout,
            &mut self.wrong_type,
            |_| true,
        )?;
        Ok(sample.map(|s| {
            let sender = self.sender_of(py, &s);
            (s, sender)
        }))
    }

    fn sender_of(&mut self, py: Python<'_>, sample: &Received) -> Py<PyString> {
        let key = sample.publisher();
        if let Some(did) = self.senders.get(&key) {
            return did.clone_ref(py);
        }
        if self.senders.len() >= 64 {
            self.senders.clear();
        }
        let did = PyString::new_bound(py, &sample.sender().to_string()).unbind();
        self.senders.insert(key, did.clone_ref(py));
        did
    }
}

#[pymethods]
impl Subscription {
    /// The next message as `(message, sender_did, sequence, timestamp_ns, archive)`, or
    /// None after `timeout` seconds (None: wait as long as it takes). Arrays of primitives
    /// in the message are memoryviews into `archive`.
    #[pyo3(signature = (timeout=None))]
    fn recv(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyObject>> {
        let Some((sample, sender)) = self.next(py, timeout)? else {
            return Ok(None);
        };
        let (sequence, stamp) = (sample.sequence(), sample.timestamp_ns());
        let (message, archive) = message_of(py, self.ty, sample)?;
        Ok(Some(
            (message, sender, sequence, stamp, archive).into_py(py),
        ))
    }

    /// As `recv`, without decoding: `(archive, sender_did, sequence, timestamp_ns)`.
    #[pyo3(signature = (timeout=None))]
    fn recv_archive(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyObject>> {
        let Some((sample, sender)) = self.next(py, timeout)? else {
            return Ok(None);
        };
        let (sequence, stamp) = (sample.sequence(), sample.timestamp_ns());
        let archive = Py::new(py, ArchiveBuffer::of(sample))?;
        Ok(Some((archive, sender, sequence, stamp).into_py(py)))
    }

    /// Frames refused (security) and messages of another type skipped.
    #[getter]
    fn dropped(&self) -> (u64, u64) {
        (self.port.rejected(), self.wrong_type)
    }

    #[getter]
    fn topic(&self) -> String {
        self.topic.clone()
    }

    #[getter]
    fn type_name(&self) -> &'static str {
        self.ty.name
    }
}

/// Calls one service.
#[pyclass(unsendable, module = "omnimesh._native")]
pub struct Client {
    requests: RawPublisher<Pub>,
    replies: RawSubscriber<Sub>,
    request: &'static DynType,
    response: &'static DynType,
    name: String,
}

#[pymethods]
impl Client {
    /// Sends `request` and waits up to `timeout` seconds for its reply:
    /// `(fields, server_did)`; raises `CallTimeout` when none comes.
    #[pyo3(signature = (request, timeout=1.0))]
    fn call(
        &mut self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        timeout: f64,
    ) -> PyResult<PyObject> {
        let archive = encode_value(self.request, request)?;
        let sequence = self.requests.next_sequence();
        self.requests.publish_archive(&archive).map_err(transport)?;
        let mut skipped = 0;
        let reply = wait_for(
            py,
            &mut self.replies,
            self.response,
            Some(timeout),
            &mut skipped,
            |s| s.sequence() == sequence,
        )?;
        match reply {
            Some(s) => {
                let sender = s.sender().to_string();
                let (message, _) = message_of(py, self.response, s)?;
                Ok((message, sender).into_py(py))
            }
            None => Err(CallTimeout::new_err(format!(
                "no reply from {} within {timeout} s",
                self.name
            ))),
        }
    }

    /// Serves late joiners: call before the first request when the server is new.
    fn wait_connected(&mut self) -> PyResult<()> {
        self.requests.update().map_err(transport)
    }
}

/// Serves one service.
#[pyclass(unsendable, module = "omnimesh._native")]
pub struct Server {
    /// The node, to open a reply publisher per client.
    node: Py<Node>,
    requests: RawSubscriber<Sub>,
    replies: RawReplies<Pub>,
    request: &'static DynType,
    response: &'static DynType,
    name: String,
}

#[pymethods]
impl Server {
    /// The next request as `(fields, client_did, token)`, or None after `timeout` seconds;
    /// answer it with `reply(token, response)`.
    #[pyo3(signature = (timeout=None))]
    fn take(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyObject>> {
        let mut skipped = 0;
        let request = self.request;
        let Some(s) = wait_for(
            py,
            &mut self.requests,
            request,
            timeout,
            &mut skipped,
            |_| true,
        )?
        else {
            return Ok(None);
        };
        let sender = s.sender().to_string();
        let token = (sender.clone(), s.epoch(), s.sequence());
        let (message, _) = message_of(py, request, s)?;
        Ok(Some((message, sender, token).into_py(py)))
    }

    /// Answers the request `token` came with.
    fn reply(
        &mut self,
        py: Python<'_>,
        token: (String, u64, u64),
        response: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (client, epoch, sequence) = token;
        let did: Did = client
            .parse()
            .map_err(|e| MessageError::new_err(format!("bad reply token: {e}")))?;
        let archive = encode_value(self.response, response)?;
        let node = self.node.borrow(py);
        self.replies
            .port(&node.node, &did, epoch)
            .map_err(transport)?
            .publish_archive_as(&archive, sequence)
            .map_err(transport)
    }

    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }
}

/// A port `wait_any` waits on.
enum Waiting<'py> {
    Subscription(PyRefMut<'py, Subscription>),
    Server(PyRefMut<'py, Server>),
}

impl Waiting<'_> {
    fn port(&self) -> &RawSubscriber<Sub> {
        match self {
            Self::Subscription(s) => &s.port,
            Self::Server(s) => &s.requests,
        }
    }

    fn port_mut(&mut self) -> &mut RawSubscriber<Sub> {
        match self {
            Self::Subscription(s) => &mut s.port,
            Self::Server(s) => &mut s.requests,
        }
    }
}

/// Waits until some of `ports` (subscriptions, service servers) may have a message, or
/// `timeout` seconds pass (None: as long as it takes); the indices of those that woke.
/// One shared-memory `WaitSet` over all of them (no polling), with the GIL released and
/// Ctrl-C looked for every 50 ms.
#[pyfunction]
#[pyo3(signature = (ports, timeout=None))]
pub fn wait_any(
    py: Python<'_>,
    ports: Vec<Bound<'_, PyAny>>,
    timeout: Option<f64>,
) -> PyResult<Vec<usize>> {
    let mut waiting = ports
        .iter()
        .map(|p| {
            if let Ok(s) = p.downcast::<Subscription>() {
                Ok(Waiting::Subscription(s.try_borrow_mut()?))
            } else if let Ok(s) = p.downcast::<Server>() {
                Ok(Waiting::Server(s.try_borrow_mut()?))
            } else {
                Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "wait_any takes subscriptions and servers, not {}",
                    p.get_type().name()?
                )))
            }
        })
        .collect::<PyResult<Vec<_>>>()?;
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
    loop {
        let slice = deadline.map_or(SIGNAL_POLL, |d| {
            d.saturating_duration_since(Instant::now()).min(SIGNAL_POLL)
        });
        let fired = {
            let ports: Vec<&RawSubscriber<Sub>> = waiting.iter().map(Waiting::port).collect();
            py.allow_threads(|| {
                match ports
                    .iter()
                    .map(|p| p.wake_source())
                    .collect::<Option<Vec<_>>>()
                {
                    Some(sources) => mesh_core::transport::shm_wait::wait_any(&sources, slice),
                    None => {
                        std::thread::sleep(slice);
                        Ok(vec![true; ports.len()])
                    }
                }
            })
            .map_err(transport)?
        };
        let woke: Vec<usize> = fired
            .iter()
            .enumerate()
            .filter_map(|(i, hit)| hit.then_some(i))
            .collect();
        if !woke.is_empty() {
            for &i in &woke {
                waiting[i].port_mut().clear_wakeups().map_err(transport)?;
            }
            return Ok(woke);
        }
        py.check_signals()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Vec::new());
        }
    }
}
