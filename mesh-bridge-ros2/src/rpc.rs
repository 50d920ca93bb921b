//! How ROS 2 middlewares tie a service reply to its request on DDS, and the bridge's table of
//! calls in flight. Sans-IO: bytes and numbers in, bytes and numbers out.
//!
//! - `rmw_cyclonedds` puts a 16-byte header in front of every request and reply sample:
//!   the client's 64-bit id and the request's sequence number (little- or big-endian as the
//!   sample's encapsulation says). A reply repeats its request's header; every client reads
//!   every reply and keeps those with its own id.
//! - `rmw_fastrtps` (and Connext) send the bare message. A request is known by its DDS sample
//!   identity (writer GUID and sequence number); the reply carries that identity as inline
//!   QoS (`related_sample_identity`). A request carries the client's reply reader GUID there.
//!
//! ```
//! use mesh_bridge_ros2::rpc::{join_cyclone, split_cyclone};
//! let request = [0, 1, 0, 0, /* body */ 7, 0, 0, 0, 0, 0, 0, 0];
//! let framed = join_cyclone(42, 3, &request).unwrap();
//! assert_eq!(framed.len(), request.len() + 16);
//! let (client, seq, body) = split_cyclone(&framed).unwrap();
//! assert_eq!((client, seq, body.as_slice()), (42, 3, &request[..]));
//! ```

use std::collections::HashMap;
use std::hash::Hash;

use serde::Deserialize;

/// The ROS 2 middleware on the far side of a service, which decides how replies find their
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rmw {
    /// `rmw_cyclonedds_cpp`: a request header inside the sample.
    Cyclonedds,
    /// `rmw_fastrtps_cpp` (ROS 2's default) and `rmw_connextdds`: sample identities.
    Fastdds,
}

/// A ROS 2 request's identity, as its client's middleware wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// `rmw_cyclonedds`: the header's client id and sequence number.
    Cyclone {
        /// The client's id.
        client: u64,
        /// The request's number.
        seq: i64,
    },
    /// `rmw_fastrtps`: the request sample's identity.
    Fast(rustdds::SampleIdentity),
}

/// A sample does not hold a well-formed request or reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service sample: {0}")]
pub struct RpcError(String);

/// Size of `rmw_cyclonedds`'s request header.
const CYCLONE_HEADER: usize = 16;
/// The CDR encapsulation header.
const ENCAPSULATION: usize = 4;

/// Splits a whole CDR sample (encapsulation header included) written by `rmw_cyclonedds`
/// into the client id, the sequence number, and the message as whole CDR of its own.
///
/// The header is 16 bytes, so the message after it keeps its CDR alignment.
///
/// # Errors
/// [`RpcError`] when the sample is too short for the header.
pub fn split_cyclone(sample: &[u8]) -> Result<(u64, i64, Vec<u8>), RpcError> {
    let (Some(encapsulation), Some(header), Some(body)) = (
        sample.get(..ENCAPSULATION),
        sample.get(ENCAPSULATION..ENCAPSULATION + CYCLONE_HEADER),
        sample.get(ENCAPSULATION + CYCLONE_HEADER..),
    ) else {
        return Err(RpcError(format!(
            "{} bytes cannot hold the 4-byte encapsulation and 16-byte request header",
            sample.len()
        )));
    };
    let big_endian = encapsulation.get(1) == Some(&0);
    let word = |at: usize| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&header[at..at + 8]);
        if big_endian {
            bytes.reverse();
        }
        bytes
    };
    let mut message = Vec::with_capacity(ENCAPSULATION + body.len());
    message.extend_from_slice(encapsulation);
    message.extend_from_slice(body);
    Ok((
        u64::from_le_bytes(word(0)),
        i64::from_le_bytes(word(8)),
        message,
    ))
}

/// Puts `rmw_cyclonedds`'s header (client id, sequence number) in front of `message` (whole
/// little-endian CDR, as the generated codecs write it).
///
/// # Errors
/// [`RpcError`] when `message` is not little-endian CDR.
pub fn join_cyclone(client: u64, seq: i64, message: &[u8]) -> Result<Vec<u8>, RpcError> {
    let (Some(encapsulation @ [0, 1, _, _]), Some(body)) =
        (message.get(..ENCAPSULATION), message.get(ENCAPSULATION..))
    else {
        return Err(RpcError("expected little-endian CDR".into()));
    };
    let mut sample = Vec::with_capacity(message.len() + CYCLONE_HEADER);
    sample.extend_from_slice(encapsulation);
    sample.extend_from_slice(&client.to_le_bytes());
    sample.extend_from_slice(&seq.to_le_bytes());
    sample.extend_from_slice(body);
    Ok(sample)
}

/// Calls in flight: what the bridge must remember to route a reply back, keyed by what the
/// reply will carry. Entries expire after `timeout_ns`; the table holds at most `capacity`
/// (the oldest call is forgotten first, and its reply, if one ever comes, is dropped).
#[derive(Debug)]
pub struct Pending<K, V> {
    calls: HashMap<K, (V, u64)>,
    timeout_ns: u64,
    capacity: usize,
}

impl<K: Eq + Hash + Copy, V> Pending<K, V> {
    /// An empty table.
    #[must_use]
    pub fn new(timeout_ns: u64, capacity: usize) -> Self {
        Self {
            calls: HashMap::new(),
            timeout_ns,
            capacity: capacity.max(1),
        }
    }

    /// Remembers a call made at `now_ns`; returns how many calls were forgotten to make room.
    pub fn insert(&mut self, key: K, value: V, now_ns: u64) -> usize {
        let mut forgotten = self.expire(now_ns);
        while self.calls.len() >= self.capacity {
            let oldest = self
                .calls
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.calls.remove(&k);
                forgotten += 1;
            }
        }
        self.calls.insert(key, (value, now_ns));
        forgotten
    }

    /// The call a reply answers, if it is still waiting.
    pub fn take(&mut self, key: &K, now_ns: u64) -> Option<V> {
        let (value, at) = self.calls.remove(key)?;
        (now_ns.saturating_sub(at) <= self.timeout_ns).then_some(value)
    }

    /// Forgets calls older than the timeout; returns how many.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        let before = self.calls.len();
        let timeout = self.timeout_ns;
        self.calls
            .retain(|_, (_, at)| now_ns.saturating_sub(*at) <= timeout);
        before - self.calls.len()
    }

    /// Calls waiting for a reply.
    #[must_use]
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyclone_headers_round_trip_both_byte_orders() {
        let message = [0, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0];
        let framed = join_cyclone(0x0102_0304_0506_0708, -2, &message).unwrap();
        assert_eq!(&framed[4..12], &0x0102_0304_0506_0708_u64.to_le_bytes());
        assert_eq!(
            split_cyclone(&framed).unwrap(),
            (0x0102_0304_0506_0708, -2, message.to_vec())
        );
        let mut big = vec![0, 0, 0, 0];
        big.extend_from_slice(&9_u64.to_be_bytes());
        big.extend_from_slice(&4_i64.to_be_bytes());
        big.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(
            split_cyclone(&big).unwrap(),
            (9, 4, vec![0, 0, 0, 0, 0, 0, 0, 1])
        );
        assert!(split_cyclone(&framed[..19]).is_err());
        assert!(join_cyclone(1, 1, &[0, 0, 0, 0]).is_err());
        assert!(join_cyclone(1, 1, &[0]).is_err());
    }

    #[test]
    fn pending_calls_expire_and_make_room() {
        let mut calls = Pending::new(100, 2);
        assert_eq!(calls.insert(1, "a", 0), 0);
        assert_eq!(calls.insert(2, "b", 10), 0);
        assert_eq!(calls.insert(3, "c", 20), 1, "the oldest call is forgotten");
        assert_eq!(calls.take(&1, 20), None);
        assert_eq!(calls.take(&2, 30), Some("b"));
        assert_eq!(calls.take(&2, 30), None, "a reply is routed once");
        assert_eq!(calls.take(&3, 500), None, "too late");
        calls.insert(4, "d", 0);
        assert_eq!(calls.expire(101), 1);
        assert!(calls.is_empty());
    }
}
