//! The traits every generated interface type implements.

use crate::cdr::{Cdr, CdrDecodeError, CdrEncodeError, CdrReader, CdrWriter};
use crate::{BoundsError, TypeHash};

/// A generated message type (`pkg/msg/T`, and the structs generated for services and actions).
pub trait Message:
    Sized
    + Default
    + Clone
    + PartialEq
    + std::fmt::Debug
    + Cdr
    + crate::value::ToValue
    + crate::value::FromValue
{
    /// Fully qualified interface name, e.g. `std_msgs/msg/String`.
    const TYPE_NAME: &'static str;
    /// RIHS01 hash of the type description, identical to ROS 2's.
    const TYPE_HASH: TypeHash;
    /// JSON Schema (draft 2020-12) of the type, as text.
    const JSON_SCHEMA: &'static str;

    /// Checks every declared bound (`string<=N`, `T[<=N]`), recursively.
    fn validate(&self) -> Result<(), BoundsError>;

    /// Encodes as little-endian classic CDR with the encapsulation header, as ROS 2 DDS
    /// middlewares put it on the wire. Bounds are checked first.
    fn to_cdr(&self) -> Result<Vec<u8>, CdrEncodeError> {
        self.validate()?;
        let mut w = CdrWriter::new();
        self.encode(&mut w);
        w.finish()
    }

    /// Decodes CDR bytes (encapsulation header included) and checks bounds.
    fn from_cdr(bytes: &[u8]) -> Result<Self, CdrDecodeError> {
        let mut r = CdrReader::new(bytes)?;
        let value = Self::decode(&mut r)?;
        r.finish()?;
        value.validate()?;
        Ok(value)
    }
}

/// A value could not be written as an rkyv archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZeroCopyError {
    /// A declared bound is broken.
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    /// rkyv refused the value.
    #[error("rkyv serialization failed: {0}")]
    Rkyv(#[from] rkyv::rancor::Error),
}

/// A generated service type (`pkg/srv/S`); a marker tying its request, response and event.
pub trait Service {
    /// `S_Request`.
    type Request: Message;
    /// `S_Response`.
    type Response: Message;
    /// `S_Event`, as published on the service's introspection topic.
    type Event: Message;
    /// Fully qualified interface name, e.g. `std_srvs/srv/Trigger`.
    const TYPE_NAME: &'static str;
    /// RIHS01 hash of the service description.
    const TYPE_HASH: TypeHash;
}

/// A generated action type (`pkg/action/A`).
pub trait Action {
    /// `A_Goal`.
    type Goal: Message;
    /// `A_Result`.
    type Result: Message;
    /// `A_Feedback`.
    type Feedback: Message;
    /// `A_SendGoal` service.
    type SendGoal: Service;
    /// `A_GetResult` service.
    type GetResult: Service;
    /// `A_FeedbackMessage`.
    type FeedbackMessage: Message;
    /// Fully qualified interface name, e.g. `omni_msgs/action/NavigateTo`.
    const TYPE_NAME: &'static str;
    /// RIHS01 hash of the action description.
    const TYPE_HASH: TypeHash;
}
