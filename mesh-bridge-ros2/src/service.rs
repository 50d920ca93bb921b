//! Bridged services, both ways. Each service has a mesh end (a subscription the mesh thread
//! waits on) and a DDS end (a reader the DDS thread waits on), sharing one link that holds
//! the calls in flight.
//!
//! - `server = "ros"`: the bridge serves `<mesh>/_request` on the mesh and is a DDS client
//!   of the ROS 2 server (`rq/<ros>Request`, `rr/<ros>Reply`). It remembers each mesh caller
//!   under the id its DDS request got, and publishes the reply on the caller's reply topic
//!   with the request's sequence number, as mesh servers do.
//! - `server = "mesh"`: the bridge is a DDS server and a mesh client. It recognises per
//!   request how the ROS 2 client's middleware numbers requests ([`crate::rpc`]), calls the
//!   mesh server, and writes the reply the way that client expects it.
//!
//! Requests and replies are converted by the generated codecs like topics; requests from
//! ROS 2 are signed by the bridge.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use mesh_core::identity::Did;
use mesh_core::node::{service_reply_topic, RawReplies, RawSample};
use mesh_core::transport::shm::{ShmPublisher, ThreadSafe};
use omni_msgs::dynamic::DynType;
use rustdds::no_key::DeserializedCacheChange;
use rustdds::{RTPSEntity, SampleIdentity, SequenceNumber, WriteOptionsBuilder, GUID};

use crate::bridge::{BridgeError, MeshNode, MeshPub, MeshSub};
use crate::config::{ServerSide, ServiceMap};
use crate::dds::{next_sample, prefix_of, service_qos, DdsSide, RawReader, RawWriter};
use crate::gate::FirstMatch;
use crate::guard::{lock, LoopGuard};
use crate::metrics::Tally;
use crate::names::{self, Kind};
use crate::raw_cdr::RawCdr;
use crate::rpc::{join_cyclone, split_cyclone, Pending, RequestId, Rmw};

/// Calls in flight per service, at most.
const MAX_PENDING: usize = 1024;
/// Writes waiting for the first match of a service's DDS writer.
const GATE_DEPTH: usize = 16;

type Frame = <mesh_core::transport::shm::ShmSubscriber<ThreadSafe> as mesh_core::transport::FrameSubscriber>::Frame;

/// The mesh end of a bridged service (waited on by the mesh thread).
pub(crate) struct MeshEnd {
    pub(crate) sub: MeshSub,
    pub(crate) link: Link,
}

/// The DDS end of a bridged service (waited on by the DDS thread).
pub(crate) struct DdsEnd {
    pub(crate) reader: RawReader,
    link: Link,
    name: String,
    tally: Tally,
}

/// What both ends of a service share.
#[derive(Clone)]
pub(crate) enum Link {
    CallsRos(Arc<Mutex<CallsRos>>),
    CallsMesh(Arc<Mutex<CallsMesh>>),
}

/// Where a mesh caller waits for its reply.
struct Caller {
    did: Did,
    epoch: u64,
    sequence: u64,
}

/// `server = "ros"`: mesh clients call a ROS 2 server.
pub(crate) struct CallsRos {
    name: String,
    request: &'static DynType,
    response: &'static DynType,
    node: Arc<MeshNode>,
    writer: RawWriter,
    reply_reader: GUID,
    rmw: Rmw,
    /// This client's id in `rmw_cyclonedds` headers, and its next request number.
    client_id: u64,
    next_seq: i64,
    gate: FirstMatch<(Vec<u8>, Caller)>,
    replies: RawReplies<ShmPublisher<ThreadSafe>>,
    pending: Pending<RequestId, Caller>,
    tally: Tally,
}

/// `server = "mesh"`: ROS 2 clients call a mesh server.
pub(crate) struct CallsMesh {
    name: String,
    request: &'static DynType,
    response: &'static DynType,
    requests: MeshPub,
    writer: RawWriter,
    gate: FirstMatch<(RawCdr, Option<SampleIdentity>, Did)>,
    pending: Pending<u64, RequestId>,
    tally: Tally,
}

fn mesh_err(e: impl std::fmt::Display) -> BridgeError {
    BridgeError::Mesh(e.to_string())
}

/// Opens both ends of `map`; also returns the GUIDs of its DDS reader and writer (for the
/// ROS 2 graph).
pub(crate) fn open(
    map: &ServiceMap,
    node: &Arc<MeshNode>,
    dds: &DdsSide,
    tally: Tally,
) -> Result<(MeshEnd, DdsEnd, [GUID; 2]), BridgeError> {
    let [request_type, response_type] = map.part_types();
    let find = |ty: &str| {
        omni_msgs::dynamic::by_name(ty).ok_or_else(|| mesh_err(format!("unknown type {ty}")))
    };
    let (request, response) = (find(&request_type)?, find(&response_type)?);
    let timeout_ns = map.timeout_ms.get_ref().saturating_mul(1_000_000);
    let spec = |topic: &str| {
        node.channel_spec(topic, map.max_bytes, &node.default_qos())
            .map_err(mesh_err)
    };
    let rq = names::dds_topic(map.ros_name(), Kind::Request);
    let rr = names::dds_topic(map.ros_name(), Kind::Reply);
    let request_topic = format!("{}/_request", map.mesh_name());
    let name = format!("service {} <-> ROS {}", map.mesh_name(), map.ros_name());
    let (sub, reader, link, guids) = match map.server {
        ServerSide::Ros => {
            let writer = dds.writer_on(&rq, &request_type, service_qos())?;
            let reader = dds.reader_on(&rr, &response_type, service_qos())?;
            let guids = [reader.guid(), writer.guid()];
            let id = writer.guid().to_bytes();
            let mut client_id = [0; 8];
            client_id.copy_from_slice(&id[8..16]);
            let link = Link::CallsRos(Arc::new(Mutex::new(CallsRos {
                name: name.clone(),
                request,
                response,
                node: node.clone(),
                reply_reader: reader.guid(),
                writer,
                rmw: map.rmw.as_ref().map_or(Rmw::Fastdds, |r| *r.get_ref()),
                client_id: u64::from_le_bytes(client_id),
                next_seq: 1,
                gate: FirstMatch::new(GATE_DEPTH),
                replies: RawReplies::new(
                    map.mesh_name(),
                    map.max_bytes,
                    node.default_qos(),
                    response.hash,
                ),
                pending: Pending::new(timeout_ns, MAX_PENDING),
                tally: tally.clone(),
            })));
            let sub = node
                .raw_subscriber(&spec(&request_topic)?)
                .map_err(mesh_err)?;
            (sub, reader, link, guids)
        }
        ServerSide::Mesh => {
            let reader = dds.reader_on(&rq, &request_type, service_qos())?;
            let writer = dds.writer_on(&rr, &response_type, service_qos())?;
            let guids = [reader.guid(), writer.guid()];
            let reply_topic = service_reply_topic(map.mesh_name(), &node.did(), node.epoch());
            let sub = node
                .raw_subscriber(&spec(&reply_topic)?)
                .map_err(mesh_err)?;
            let requests = node
                .raw_publisher(&spec(&request_topic)?, request.hash)
                .map_err(mesh_err)?;
            let link = Link::CallsMesh(Arc::new(Mutex::new(CallsMesh {
                name: name.clone(),
                request,
                response,
                requests,
                writer,
                gate: FirstMatch::new(GATE_DEPTH),
                pending: Pending::new(timeout_ns, MAX_PENDING),
                tally: tally.clone(),
            })));
            (sub, reader, link, guids)
        }
    };
    Ok((
        MeshEnd {
            sub,
            link: link.clone(),
        },
        DdsEnd {
            reader,
            link,
            name,
            tally,
        },
        guids,
    ))
}

impl Link {
    /// Writes what waited for the DDS writer's first match; forgets expired calls.
    pub(crate) fn tick(&self, guard: &Mutex<LoopGuard>, now_ns: u64) {
        match self {
            Self::CallsRos(link) => {
                let link = &mut *lock(link);
                for (cdr, caller) in link.gate.observe(&link.writer, guard, &link.name) {
                    link.write_request(cdr, caller, now_ns);
                }
                let forgotten = link.pending.expire(now_ns);
                link.tally.unanswered(forgotten);
            }
            Self::CallsMesh(link) => {
                let link = &mut *lock(link);
                for (raw, related, sender) in link.gate.observe(&link.writer, guard, &link.name) {
                    link.write_reply(raw, related, &sender);
                }
                let forgotten = link.pending.expire(now_ns);
                link.tally.unanswered(forgotten);
            }
        }
    }

    /// Handles a mesh request (`server = "ros"`) or reply (`server = "mesh"`).
    pub(crate) fn on_mesh_sample(
        &self,
        sample: &RawSample<Frame>,
        guard: &Mutex<LoopGuard>,
        now_ns: u64,
    ) {
        let failed = match self {
            Self::CallsRos(link) => {
                let mut link = lock(link);
                let result = link.on_request(sample, guard, now_ns);
                result
                    .err()
                    .map(|e| (e, link.name.clone(), link.tally.clone()))
            }
            Self::CallsMesh(link) => {
                let mut link = lock(link);
                let result = link.on_reply(sample, now_ns);
                result
                    .err()
                    .map(|e| (e, link.name.clone(), link.tally.clone()))
            }
        };
        if let Some((e, name, tally)) = failed {
            tracing::warn!(service = %name, sender = %sample.sender(), error = %e, "mesh call not forwarded");
            tally.malformed();
        }
    }
}

impl DdsEnd {
    /// Handles every waiting DDS reply (`server = "ros"`) or request (`server = "mesh"`).
    pub(crate) fn drain(&mut self, guard: &Mutex<LoopGuard>, now_ns: u64) {
        self.reader.drain_read_notifications();
        while let Some(change) = next_sample(&self.reader, &self.name, &self.tally) {
            let failed = match &self.link {
                Link::CallsRos(link) => {
                    let mut link = lock(link);
                    let result = link.on_reply(&change, now_ns);
                    result
                        .err()
                        .map(|e| (e, link.name.clone(), link.tally.clone()))
                }
                Link::CallsMesh(link) => {
                    let mut link = lock(link);
                    let result = link.on_request(&change, guard, now_ns);
                    result
                        .err()
                        .map(|e| (e, link.name.clone(), link.tally.clone()))
                }
            };
            if let Some((e, name, tally)) = failed {
                tracing::warn!(service = %name, error = %e, "DDS call not forwarded");
                tally.malformed();
            }
        }
    }

    /// Serves late joiners of the mesh request publisher (`server = "mesh"`).
    pub(crate) fn update(&self) {
        if let Link::CallsMesh(link) = &self.link {
            let mut link = lock(link);
            if let Err(e) = link.requests.update() {
                tracing::warn!(service = %link.name, error = %e, "mesh publisher update failed");
            }
        }
    }
}

impl CallsRos {
    fn on_request(
        &mut self,
        sample: &RawSample<Frame>,
        guard: &Mutex<LoopGuard>,
        now_ns: u64,
    ) -> Result<(), String> {
        if !lock(guard).to_ros(&sample.publisher()) || sample.type_hash() != self.request.hash {
            self.tally.held_back();
            return Ok(());
        }
        let cdr = (self.request.to_cdr)(sample.payload()).map_err(|e| e.to_string())?;
        let caller = Caller {
            did: sample.sender(),
            epoch: sample.epoch(),
            sequence: sample.sequence(),
        };
        // Open the reply port now: the caller's subscription meets it before the reply.
        self.replies
            .port(&self.node, &caller.did, caller.epoch)
            .map_err(|e| e.to_string())?;
        if let Some((cdr, caller)) = self.gate.admit((cdr, caller)) {
            self.write_request(cdr, caller, now_ns);
        }
        Ok(())
    }

    fn write_request(&mut self, cdr: Vec<u8>, caller: Caller, now_ns: u64) {
        let written = match self.rmw {
            Rmw::Cyclonedds => {
                let seq = self.next_seq;
                self.next_seq += 1;
                join_cyclone(self.client_id, seq, &cdr)
                    .map_err(|e| e.to_string())
                    .and_then(|b| RawCdr::from_encapsulated(b).map_err(|e| e.to_string()))
                    .and_then(|raw| self.writer.write(raw, None).map_err(|e| e.to_string()))
                    .map(|()| RequestId::Cyclone {
                        client: self.client_id,
                        seq,
                    })
            }
            Rmw::Fastdds => {
                // As rmw_fastrtps: the request names the reader its reply is for.
                let options = WriteOptionsBuilder::new()
                    .related_sample_identity(SampleIdentity {
                        writer_guid: self.reply_reader,
                        sequence_number: SequenceNumber::UNKNOWN,
                    })
                    .build();
                RawCdr::from_encapsulated(cdr)
                    .map_err(|e| e.to_string())
                    .and_then(|raw| {
                        self.writer
                            .write_with_options(raw, options)
                            .map_err(|e| e.to_string())
                    })
                    .map(RequestId::Fast)
            }
        };
        match written {
            Ok(id) => {
                self.tally.to_ros(Some(&caller.did));
                let forgotten = self.pending.insert(id, caller, now_ns);
                self.tally.unanswered(forgotten);
            }
            Err(e) => tracing::warn!(service = %self.name, error = %e, "DDS request not written"),
        }
    }

    fn on_reply(
        &mut self,
        change: &DeserializedCacheChange<RawCdr>,
        now_ns: u64,
    ) -> Result<(), String> {
        let sample = change.sample.encapsulated();
        let (id, body) = match self.rmw {
            Rmw::Cyclonedds => {
                let (client, seq, body) = split_cyclone(sample).map_err(|e| e.to_string())?;
                (RequestId::Cyclone { client, seq }, Cow::Owned(body))
            }
            Rmw::Fastdds => {
                let Some(related) = change.related_sample_identity() else {
                    return Err("reply without related_sample_identity".into());
                };
                (RequestId::Fast(related), Cow::Borrowed(sample))
            }
        };
        // Every client reads every reply: those of other clients (or too late) are not ours.
        let Some(caller) = self.pending.take(&id, now_ns) else {
            return Ok(());
        };
        let archive = (self.response.from_cdr)(&body).map_err(|e| e.to_string())?;
        let port = self
            .replies
            .port(&self.node, &caller.did, caller.epoch)
            .map_err(|e| e.to_string())?;
        port.publish_archive_as(&archive, caller.sequence)
            .map_err(|e| e.to_string())?;
        self.tally.from_ros();
        Ok(())
    }
}

impl CallsMesh {
    fn on_request(
        &mut self,
        change: &DeserializedCacheChange<RawCdr>,
        guard: &Mutex<LoopGuard>,
        now_ns: u64,
    ) -> Result<(), String> {
        if !lock(guard).from_ros(&prefix_of(&change.writer_guid)) {
            self.tally.held_back();
            return Ok(());
        }
        let sample = change.sample.encapsulated();
        // rmw_fastrtps clients name their reply reader in every request; rmw_cyclonedds
        // clients put a header in the sample instead.
        let (id, body) = if change.related_sample_identity().is_some() {
            let id = RequestId::Fast(SampleIdentity {
                writer_guid: change.writer_guid,
                sequence_number: change.sequence_number,
            });
            (id, Cow::Borrowed(sample))
        } else {
            let (client, seq, body) = split_cyclone(sample).map_err(|e| e.to_string())?;
            (RequestId::Cyclone { client, seq }, Cow::Owned(body))
        };
        let archive = (self.request.from_cdr)(&body).map_err(|e| e.to_string())?;
        let sequence = self.requests.next_sequence();
        self.requests
            .publish_archive(&archive)
            .map_err(|e| e.to_string())?;
        self.tally.from_ros();
        let forgotten = self.pending.insert(sequence, id, now_ns);
        self.tally.unanswered(forgotten);
        Ok(())
    }

    fn on_reply(&mut self, sample: &RawSample<Frame>, now_ns: u64) -> Result<(), String> {
        if sample.type_hash() != self.response.hash {
            self.tally.held_back();
            return Ok(());
        }
        let Some(id) = self.pending.take(&sample.sequence(), now_ns) else {
            return Ok(());
        };
        let cdr = (self.response.to_cdr)(sample.payload()).map_err(|e| e.to_string())?;
        let (bytes, related) = match id {
            RequestId::Cyclone { client, seq } => (
                join_cyclone(client, seq, &cdr).map_err(|e| e.to_string())?,
                None,
            ),
            RequestId::Fast(id) => (cdr, Some(id)),
        };
        let raw = RawCdr::from_encapsulated(bytes).map_err(|e| e.to_string())?;
        if let Some((raw, related, sender)) = self.gate.admit((raw, related, sample.sender())) {
            self.write_reply(raw, related, &sender);
        }
        Ok(())
    }

    fn write_reply(&mut self, raw: RawCdr, related: Option<SampleIdentity>, sender: &Did) {
        let written = match related {
            None => self.writer.write(raw, None).map_err(|e| e.to_string()),
            Some(id) => self
                .writer
                .write_with_options(
                    raw,
                    WriteOptionsBuilder::new()
                        .related_sample_identity(id)
                        .build(),
                )
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        match written {
            Ok(()) => self.tally.to_ros(Some(sender)),
            Err(e) => tracing::warn!(service = %self.name, error = %e, "DDS reply not written"),
        }
    }
}
