//! Discovery messages on the wire: pings, acks and indirect ping requests, each signed by its
//! sender, carrying gossip updates. A node's own `Alive` announcement (its addresses and the
//! topics it offers and wants) is signed by that node, so relays of gossip cannot alter it.
//! Decoding checks every count and length against fixed limits before reading.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ed25519_dalek::{Signature, VerifyingKey};

use crate::envelope::TopicId;
use crate::identity::{NodeKey, PublicKey};

const MAGIC: &[u8; 4] = b"OMDS";
const VERSION: u8 = 1;
const MESSAGE_DOMAIN: &[u8] = b"omni-mesh discovery message v1";
const ANNOUNCE_DOMAIN: &[u8] = b"omni-mesh announcement v1";

/// Most addresses in an announcement.
pub const MAX_ADDRS: usize = 8;
/// Most topics offered, and most wanted, in an announcement.
pub const MAX_TOPICS: usize = 64;
/// Most updates in one message.
pub const MAX_UPDATES: usize = 32;

/// A discovery message could not be decoded or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message ends before `what` at byte `at`.
    #[error("truncated at byte {at} while reading {what}")]
    Truncated {
        /// Offset.
        at: usize,
        /// The field.
        what: &'static str,
    },
    /// Not a discovery message of this version.
    #[error("not an OMNI-MESH discovery v1 message")]
    NotDiscovery,
    /// A count or tag outside its limits.
    #[error("invalid {what} ({value}) at byte {at}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// The value read.
        value: u64,
        /// Offset.
        at: usize,
    },
    /// A key that is not a valid Ed25519 point.
    #[error("invalid public key at byte {0}")]
    Key(usize),
    /// The sender's or an announcer's signature does not verify.
    #[error("bad signature ({0})")]
    Signature(&'static str),
    /// Bytes after the signature.
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

/// A node's signed statement of where it is and what it offers and wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The node.
    pub key: PublicKey,
    /// Bumped by the node to refute suspicion or change its details.
    pub incarnation: u64,
    /// Where it receives discovery messages (UDP).
    pub gossip: SocketAddr,
    /// Where its links listen.
    pub addrs: Vec<SocketAddr>,
    /// Topics it publishes.
    pub offered: Vec<TopicId>,
    /// Topics it subscribes to.
    pub wanted: Vec<TopicId>,
    /// The node's signature over the fields above.
    pub signature: [u8; 64],
}

impl Announcement {
    /// Builds and signs `key`'s announcement.
    #[must_use]
    pub fn sign(
        key: &NodeKey,
        incarnation: u64,
        gossip: SocketAddr,
        addrs: Vec<SocketAddr>,
        offered: Vec<TopicId>,
        wanted: Vec<TopicId>,
    ) -> Self {
        let mut a = Self {
            key: key.public(),
            incarnation,
            gossip,
            addrs,
            offered,
            wanted,
            signature: [0; 64],
        };
        a.addrs.truncate(MAX_ADDRS);
        a.offered.truncate(MAX_TOPICS);
        a.wanted.truncate(MAX_TOPICS);
        a.signature = key.sign(&a.signed_bytes());
        a
    }

    fn body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(&self.incarnation.to_le_bytes());
        put_addr(out, &self.gossip);
        out.push(self.addrs.len() as u8);
        for addr in &self.addrs {
            put_addr(out, addr);
        }
        for topics in [&self.offered, &self.wanted] {
            out.push(topics.len() as u8);
            for t in topics {
                out.extend_from_slice(&t.0);
            }
        }
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut out = ANNOUNCE_DOMAIN.to_vec();
        self.body(&mut out);
        out
    }

    /// Checks the node's signature.
    ///
    /// # Errors
    /// [`WireError::Signature`] when it does not verify.
    pub fn verify(&self) -> Result<(), WireError> {
        verify(
            &self.key,
            &self.signed_bytes(),
            &self.signature,
            "announcement",
        )
    }
}

/// One piece of gossip about a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The member's own signed announcement.
    Alive(Announcement),
    /// The sender suspects the member at this incarnation.
    Suspect {
        /// The member.
        key: PublicKey,
        /// Its incarnation.
        incarnation: u64,
    },
    /// The member was declared dead at this incarnation.
    Dead {
        /// The member.
        key: PublicKey,
        /// Its incarnation.
        incarnation: u64,
    },
}

impl Update {
    /// The member it is about.
    #[must_use]
    pub fn key(&self) -> PublicKey {
        match self {
            Self::Alive(a) => a.key,
            Self::Suspect { key, .. } | Self::Dead { key, .. } => *key,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Alive(a) => {
                out.push(1);
                a.body(out);
                out.extend_from_slice(&a.signature);
            }
            Self::Suspect { key, incarnation } | Self::Dead { key, incarnation } => {
                out.push(if matches!(self, Self::Suspect { .. }) {
                    2
                } else {
                    3
                });
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(&incarnation.to_le_bytes());
            }
        }
    }

    /// Encoded size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let mut v = Vec::new();
        self.encode(&mut v);
        v.len()
    }
}

/// What a message asks or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Are you alive? (`target` empty, or the key the sender believes it is pinging.)
    Ping,
    /// Yes (for `seq`); when relayed for an indirect probe, `target` names the probed node.
    Ack,
    /// Please ping `target` for me and relay its ack.
    PingReq,
    /// Anti-entropy: here are the key prefixes I know; send me announcements I lack (no more
    /// bytes than this request, which is padded for room).
    Sync,
    /// Announcements answering a `Sync`.
    SyncReply,
}

/// A signed discovery message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is.
    pub kind: Kind,
    /// The sender (who signed it).
    pub sender: PublicKey,
    /// Probe sequence number.
    pub seq: u64,
    /// The node a `PingReq` or relayed `Ack` is about.
    pub target: Option<PublicKey>,
    /// Piggybacked gossip.
    pub updates: Vec<Update>,
    /// `Sync`: the first 4 bytes of every key the sender knows.
    pub known: Vec<[u8; 4]>,
    /// Zero bytes that make a `Sync` large enough for the reply it asks for.
    pub padding: usize,
}

/// Bytes of a message without updates, known prefixes or padding.
pub const BASE_LEN: usize = 4 + 1 + 1 + 32 + 8 + 1 + 32 + 1 + 2 + 2 + 64;

/// Most known-key prefixes in a `Sync`.
pub const MAX_KNOWN: usize = 4096;

impl Message {
    /// Encodes and signs with `key` (which must be the sender's).
    #[must_use]
    pub fn encode(&self, key: &NodeKey) -> Vec<u8> {
        let mut out = Vec::with_capacity(BASE_LEN + 256);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.kind {
            Kind::Ping => 1,
            Kind::Ack => 2,
            Kind::PingReq => 3,
            Kind::Sync => 4,
            Kind::SyncReply => 5,
        });
        out.extend_from_slice(self.sender.as_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        match self.target {
            Some(t) => {
                out.push(1);
                out.extend_from_slice(t.as_bytes());
            }
            None => {
                out.push(0);
                out.extend_from_slice(&[0; 32]);
            }
        }
        out.push(self.updates.len().min(MAX_UPDATES) as u8);
        for u in self.updates.iter().take(MAX_UPDATES) {
            u.encode(&mut out);
        }
        let known = &self.known[..self.known.len().min(MAX_KNOWN)];
        out.extend_from_slice(&(known.len() as u16).to_le_bytes());
        for k in known {
            out.extend_from_slice(k);
        }
        let padding = self.padding.min(usize::from(u16::MAX));
        out.extend_from_slice(&(padding as u16).to_le_bytes());
        out.resize(out.len() + padding, 0);
        let mut signed = MESSAGE_DOMAIN.to_vec();
        signed.extend_from_slice(&out);
        out.extend_from_slice(&key.sign(&signed));
        out
    }

    /// Decodes and verifies the sender's signature and every announcement's.
    ///
    /// # Errors
    /// Any [`WireError`]; nothing is trusted from a message that fails.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        Self::decode_with(bytes, &mut |_| false)
    }

    /// As [`decode`](Self::decode); `known` says which announcements were verified before
    /// (their signatures are not checked again).
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn decode_with(
        bytes: &[u8],
        known: &mut dyn FnMut(&Announcement) -> bool,
    ) -> Result<Self, WireError> {
        if bytes.len() < BASE_LEN || &bytes[..4] != MAGIC || bytes[4] != VERSION {
            return Err(WireError::NotDiscovery);
        }
        let (body, sig) = bytes.split_at(bytes.len() - 64);
        let mut r = Reader { bytes: body, at: 5 };
        let kind = match r.u8("kind")? {
            1 => Kind::Ping,
            2 => Kind::Ack,
            3 => Kind::PingReq,
            4 => Kind::Sync,
            5 => Kind::SyncReply,
            k => return Err(r.invalid("kind", u64::from(k))),
        };
        let sender = r.key()?;
        let seq = r.u64("seq")?;
        let has_target = r.u8("target flag")?;
        let target_at = r.at;
        let target_bytes = r.array::<32>("target")?;
        let target = match has_target {
            0 => None,
            1 => Some(PublicKey::from_bytes(target_bytes).map_err(|_| WireError::Key(target_at))?),
            f => return Err(r.invalid("target flag", u64::from(f))),
        };
        let n = usize::from(r.u8("update count")?);
        if n > MAX_UPDATES {
            return Err(r.invalid("update count", n as u64));
        }
        let mut signed = MESSAGE_DOMAIN.to_vec();
        signed.extend_from_slice(body);
        let mut sig_bytes = [0u8; 64];
        sig_bytes.copy_from_slice(sig);
        verify(&sender, &signed, &sig_bytes, "message")?;
        let mut updates = Vec::with_capacity(n);
        for _ in 0..n {
            updates.push(r.update(known)?);
        }
        let count = usize::from(u16::from_le_bytes(r.array("known count")?));
        if count > MAX_KNOWN {
            return Err(r.invalid("known count", count as u64));
        }
        let mut prefixes = Vec::with_capacity(count.min(body.len() / 4));
        for _ in 0..count {
            prefixes.push(r.array::<4>("known prefix")?);
        }
        let padding = usize::from(u16::from_le_bytes(r.array("padding")?));
        if r.take(padding, "padding")?.iter().any(|b| *b != 0) {
            return Err(r.invalid("padding byte", 1));
        }
        if r.at != body.len() {
            return Err(WireError::Trailing(body.len() - r.at));
        }
        Ok(Self {
            kind,
            sender,
            seq,
            target,
            updates,
            known: prefixes,
            padding,
        })
    }
}

fn put_addr(out: &mut Vec<u8>, addr: &SocketAddr) {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    out.extend_from_slice(&ip.octets());
    out.extend_from_slice(&addr.port().to_le_bytes());
}

fn verify(
    key: &PublicKey,
    msg: &[u8],
    sig: &[u8; 64],
    what: &'static str,
) -> Result<(), WireError> {
    let vk = VerifyingKey::from_bytes(key.as_bytes()).map_err(|_| WireError::Signature(what))?;
    vk.verify_strict(msg, &Signature::from_bytes(sig))
        .map_err(|_| WireError::Signature(what))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], WireError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(WireError::Truncated { at: self.at, what });
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, what)?[0])
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn invalid(&self, what: &'static str, value: u64) -> WireError {
        WireError::Invalid {
            what,
            value,
            at: self.at.saturating_sub(1),
        }
    }

    fn key(&mut self) -> Result<PublicKey, WireError> {
        let at = self.at;
        PublicKey::from_bytes(self.array("key")?).map_err(|_| WireError::Key(at))
    }

    fn addr(&mut self) -> Result<SocketAddr, WireError> {
        let ip = Ipv6Addr::from(self.array::<16>("address")?);
        let port = u16::from_le_bytes(self.array("port")?);
        let ip = ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4);
        Ok(SocketAddr::new(ip, port))
    }

    fn count(&mut self, what: &'static str, max: usize) -> Result<usize, WireError> {
        let n = usize::from(self.u8(what)?);
        if n > max {
            return Err(self.invalid(what, n as u64));
        }
        Ok(n)
    }

    fn update(
        &mut self,
        known: &mut dyn FnMut(&Announcement) -> bool,
    ) -> Result<Update, WireError> {
        match self.u8("update tag")? {
            1 => {
                let key = self.key()?;
                let incarnation = self.u64("incarnation")?;
                let gossip = self.addr()?;
                let n = self.count("address count", MAX_ADDRS)?;
                let mut addrs = Vec::with_capacity(n);
                for _ in 0..n {
                    addrs.push(self.addr()?);
                }
                let mut lists = [Vec::new(), Vec::new()];
                for list in &mut lists {
                    let n = self.count("topic count", MAX_TOPICS)?;
                    for _ in 0..n {
                        list.push(TopicId(self.array("topic")?));
                    }
                }
                let [offered, wanted] = lists;
                let signature = self.array("announcement signature")?;
                let a = Announcement {
                    key,
                    incarnation,
                    gossip,
                    addrs,
                    offered,
                    wanted,
                    signature,
                };
                if !known(&a) {
                    a.verify()?;
                }
                Ok(Update::Alive(a))
            }
            tag @ (2 | 3) => {
                let key = self.key()?;
                let incarnation = self.u64("incarnation")?;
                Ok(if tag == 2 {
                    Update::Suspect { key, incarnation }
                } else {
                    Update::Dead { key, incarnation }
                })
            }
            t => Err(self.invalid("update tag", u64::from(t))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (NodeKey, Message) {
        let k = NodeKey::from_seed(&[5; 32]);
        let other = NodeKey::from_seed(&[6; 32]);
        let a = Announcement::sign(
            &other,
            3,
            ([127, 0, 0, 1], 6000).into(),
            vec![([127, 0, 0, 1], 7000).into(), "[::1]:7001".parse().unwrap()],
            vec![TopicId::of("/a")],
            vec![TopicId::of("/b"), TopicId::of("/c")],
        );
        let m = Message {
            kind: Kind::Ping,
            sender: k.public(),
            seq: 42,
            target: Some(other.public()),
            updates: vec![
                Update::Alive(a),
                Update::Suspect {
                    key: other.public(),
                    incarnation: 3,
                },
                Update::Dead {
                    key: k.public(),
                    incarnation: 9,
                },
            ],
            known: vec![[1, 2, 3, 4], [5, 6, 7, 8]],
            padding: 3,
        };
        (k, m)
    }

    #[test]
    fn messages_round_trip_signed() {
        let (k, m) = sample();
        let bytes = m.encode(&k);
        assert_eq!(Message::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn every_bit_flip_and_truncation_is_refused() {
        let (k, m) = sample();
        let bytes = m.encode(&k);
        for i in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(Message::decode(&b).is_err(), "flip at {i}.{bit} accepted");
            }
        }
        for len in 0..bytes.len() {
            assert!(
                Message::decode(&bytes[..len]).is_err(),
                "truncated to {len}"
            );
        }
    }

    #[test]
    fn a_relay_cannot_alter_an_announcement() {
        let (k, mut m) = sample();
        if let Update::Alive(a) = &mut m.updates[0] {
            a.addrs[0] = ([127, 0, 0, 9], 7000).into();
        }
        // The relay signs the message itself correctly, but the announcement is the node's.
        assert_eq!(
            Message::decode(&m.encode(&k)),
            Err(WireError::Signature("announcement"))
        );
    }
}
