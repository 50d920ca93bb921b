//! Delivery control frames. Data travels as the envelope itself (it starts with `OMSH`);
//! control frames start with `OMDC`:
//!
//! ```text
//! "OMDC" kind:u8 topic_id[16] publisher[32] epoch:u64 body
//! kind 1 HEARTBEAT: start:u64 first_available:u64 next:u64
//!                   (the reader's stream starts at `start`; history holds [first_available, next))
//! kind 2 ACKNACK:   next_expected:u64 count:u16 (start:u64 len:u32)*count   (count <= 64)
//! ```

use crate::envelope::TopicId;

const MAGIC: [u8; 4] = *b"OMDC";
const FIXED: usize = 4 + 1 + 16 + 32 + 8;
/// Most missing ranges one ACKNACK carries.
pub const MAX_NACK_RANGES: usize = 64;

/// Whose stream a control frame is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId {
    /// Topic.
    pub topic: TopicId,
    /// Publisher key bytes.
    pub publisher: [u8; 32],
    /// Publisher epoch.
    pub epoch: u64,
}

/// A decoded control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Writer -> reader: what the writer's history holds.
    Heartbeat {
        /// Stream.
        stream: StreamId,
        /// Where this reader's stream starts (its match point, or the history start for a
        /// transient-local late joiner).
        start: u64,
        /// Oldest sequence still in the history.
        first_available: u64,
        /// Next sequence the writer will use.
        next: u64,
    },
    /// Reader -> writer: everything below `next_expected` is settled; these ranges are missing.
    AckNack {
        /// Stream.
        stream: StreamId,
        /// The reader's next expected sequence.
        next_expected: u64,
        /// Missing `(start, len)` ranges at or above `next_expected`.
        missing: Vec<(u64, u32)>,
    },
}

/// Bytes are not a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Neither an envelope nor a control frame.
    #[error("unknown frame magic")]
    UnknownMagic,
    /// Shorter than its kind requires.
    #[error("control frame truncated")]
    Truncated,
    /// Unknown kind byte.
    #[error("unknown control frame kind {0}")]
    UnknownKind(u8),
    /// More NACK ranges than allowed, or bytes left over.
    #[error("malformed control frame body")]
    Malformed,
}

/// True when `bytes` is an envelope (data), false for anything else.
#[must_use]
pub fn is_data(bytes: &[u8]) -> bool {
    bytes.starts_with(&crate::envelope::MAGIC)
}

fn put_stream(out: &mut Vec<u8>, kind: u8, s: &StreamId) {
    out.extend_from_slice(&MAGIC);
    out.push(kind);
    out.extend_from_slice(&s.topic.0);
    out.extend_from_slice(&s.publisher);
    out.extend_from_slice(&s.epoch.to_le_bytes());
}

impl Control {
    /// Encodes the frame.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED + 16);
        match self {
            Self::Heartbeat {
                stream,
                start,
                first_available,
                next,
            } => {
                put_stream(&mut out, 1, stream);
                out.extend_from_slice(&start.to_le_bytes());
                out.extend_from_slice(&first_available.to_le_bytes());
                out.extend_from_slice(&next.to_le_bytes());
            }
            Self::AckNack {
                stream,
                next_expected,
                missing,
            } => {
                put_stream(&mut out, 2, stream);
                out.extend_from_slice(&next_expected.to_le_bytes());
                let n = missing.len().min(MAX_NACK_RANGES);
                out.extend_from_slice(&u16::try_from(n).unwrap_or(0).to_le_bytes());
                for (start, len) in &missing[..n] {
                    out.extend_from_slice(&start.to_le_bytes());
                    out.extend_from_slice(&len.to_le_bytes());
                }
            }
        }
        out
    }

    /// Decodes a frame, checking every length.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        if !bytes.starts_with(&MAGIC) {
            return Err(FrameError::UnknownMagic);
        }
        let mut r = Reader { bytes, at: 4 };
        let kind = r.u8()?;
        let mut topic = [0u8; 16];
        topic.copy_from_slice(r.take(16)?);
        let mut publisher = [0u8; 32];
        publisher.copy_from_slice(r.take(32)?);
        let stream = StreamId {
            topic: TopicId(topic),
            publisher,
            epoch: r.u64()?,
        };
        let frame = match kind {
            1 => {
                let (start, first_available, next) = (r.u64()?, r.u64()?, r.u64()?);
                if start > first_available || first_available > next {
                    return Err(FrameError::Malformed);
                }
                Self::Heartbeat {
                    stream,
                    start,
                    first_available,
                    next,
                }
            }
            2 => {
                let next_expected = r.u64()?;
                let n = usize::from(r.u16()?);
                if n > MAX_NACK_RANGES {
                    return Err(FrameError::Malformed);
                }
                let mut missing = Vec::with_capacity(n);
                for _ in 0..n {
                    missing.push((r.u64()?, r.u32()?));
                }
                Self::AckNack {
                    stream,
                    next_expected,
                    missing,
                }
            }
            k => return Err(FrameError::UnknownKind(k)),
        };
        if r.at != bytes.len() {
            return Err(FrameError::Malformed);
        }
        Ok(frame)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        let out = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or(FrameError::Truncated)?;
        self.at += n;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, FrameError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, FrameError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_truncations_fail() {
        let stream = StreamId {
            topic: TopicId([1; 16]),
            publisher: [2; 32],
            epoch: 3,
        };
        let frames = [
            Control::Heartbeat {
                stream,
                start: 2,
                first_available: 5,
                next: 9,
            },
            Control::AckNack {
                stream,
                next_expected: 5,
                missing: vec![(5, 2), (8, 1)],
            },
        ];
        for f in frames {
            let bytes = f.encode();
            assert_eq!(Control::decode(&bytes), Ok(f));
            for cut in 0..bytes.len() {
                assert!(Control::decode(&bytes[..cut]).is_err());
            }
        }
        let mut huge = Control::AckNack {
            stream,
            next_expected: 0,
            missing: vec![],
        }
        .encode();
        let at = huge.len() - 2;
        huge[at..].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(Control::decode(&huge), Err(FrameError::Malformed));
    }
}
