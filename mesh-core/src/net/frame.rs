//! Link framing, sans-IO: every frame on a byte stream (TCP, a QUIC stream) is a 4-byte
//! little-endian length followed by that many bytes (an envelope or a control frame). The
//! decoder checks the length against the link's limit before it reserves any memory, so a
//! hostile peer cannot make it allocate more than one maximum frame.

use bytes::{Buf, Bytes, BytesMut};

/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;

/// A frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The announced length exceeds the link's limit (checked before allocating).
    #[error("frame of {len} bytes announced, the link allows at most {max}")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// The link's limit.
        max: usize,
    },
    /// A zero-length frame (never sent by a correct peer).
    #[error("empty frame")]
    Empty,
}

/// The length prefix of a `len`-byte frame.
///
/// # Errors
/// [`FrameError::TooLarge`] when `len` exceeds `max` (or the 32-bit prefix), and
/// [`FrameError::Empty`] for zero.
pub fn prefix(len: usize, max: usize) -> Result<[u8; LEN_PREFIX], FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    match u32::try_from(len) {
        Ok(n) if len <= max => Ok(n.to_le_bytes()),
        _ => Err(FrameError::TooLarge {
            len: len as u64,
            max,
        }),
    }
}

/// Splits a byte stream into frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    max: usize,
    /// Length of the frame being read, once its prefix is in.
    pending: Option<usize>,
}

impl FrameDecoder {
    /// A decoder for frames of at most `max` bytes.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(64 * 1024),
            max,
            pending: None,
        }
    }

    /// Room to read into: bytes read from the stream are appended here (`BytesMut` grows as
    /// needed; the decoder reserves at most one maximum frame at a time).
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Appends `bytes` read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if one is buffered.
    ///
    /// # Errors
    /// A frame error ends the link: the stream cannot be resynchronised.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let len = match self.pending {
            Some(len) => len,
            None => {
                if self.buf.len() < LEN_PREFIX {
                    return Ok(None);
                }
                let mut prefix = [0u8; LEN_PREFIX];
                prefix.copy_from_slice(&self.buf[..LEN_PREFIX]);
                let len = u32::from_le_bytes(prefix);
                if len == 0 {
                    return Err(FrameError::Empty);
                }
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > self.max {
                    return Err(FrameError::TooLarge {
                        len: u64::from(u32::from_le_bytes(prefix)),
                        max: self.max,
                    });
                }
                self.buf.advance(LEN_PREFIX);
                self.pending = Some(len);
                len
            }
        };
        if self.buf.len() < len {
            // Reserve only what the announced (and checked) frame needs.
            self.buf.reserve(len - self.buf.len());
            return Ok(None);
        }
        self.pending = None;
        Ok(Some(self.buf.split_to(len).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            out.extend_from_slice(&prefix(f.len(), 1 << 20).unwrap());
            out.extend_from_slice(f);
        }
        out
    }

    #[test]
    fn frames_survive_any_split_of_the_stream() {
        let frames: Vec<Vec<u8>> = (1..40u8).map(|n| vec![n; usize::from(n) * 7]).collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let stream = framed(&refs);
        for chunk in [1, 2, 3, 5, 64, 1000, stream.len()] {
            let mut d = FrameDecoder::new(1 << 20);
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                d.push(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f.to_vec());
                }
            }
            assert_eq!(got, frames, "chunks of {chunk}");
        }
    }

    #[test]
    fn oversized_and_empty_frames_are_refused_before_allocating() {
        let mut d = FrameDecoder::new(1024);
        d.push(&u32::MAX.to_le_bytes());
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge {
                len: u64::from(u32::MAX),
                max: 1024
            })
        );
        assert!(
            d.read_buf().capacity() < 1 << 20,
            "nothing reserved for the claim"
        );
        let mut d = FrameDecoder::new(1024);
        d.push(&0u32.to_le_bytes());
        assert_eq!(d.next_frame(), Err(FrameError::Empty));
        assert_eq!(prefix(0, 10), Err(FrameError::Empty));
        assert!(matches!(
            prefix(11, 10),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        ));
    }
}
