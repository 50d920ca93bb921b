//! Link compression, sans-IO: which codecs a link may use (offered in the handshake or the
//! QUIC ALPN, used only when both ends offer them), and the compressed frame form.
//!
//! A compressed frame is `"OMLZ" | original_len: u32 LE | LZ4 block`. Envelopes start with
//! `"OMSH"`, so the first four bytes tell the two forms apart and an uncompressed frame costs
//! nothing extra. A frame is compressed only when compression is negotiated, the frame is at
//! least `min_bytes` long, and the result saves at least an eighth; otherwise it goes as it
//! is. The receiver checks the claimed length against its frame limit before allocating,
//! and refuses a compressed frame on a link that did not negotiate compression.
//!
//! LZ4 (block format, `lz4_flex`, pure Rust) was chosen over zstd for links: it compresses
//! at memory speed and decompresses several times faster, which suits real-time traffic; the
//! ratio matters more for stored bundles than for live links.

use bytes::{BufMut, Bytes, BytesMut};

pub use crate::config::Codec;

const MAGIC: &[u8; 4] = b"OMLZ";
const HEAD: usize = 8;

/// Feature bit of LZ4 in the handshake's feature byte.
pub const FEATURE_LZ4: u8 = 0b1;

/// What a link offers and when it compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionConfig {
    /// The codec this side offers (used only if the peer offers it too).
    pub codec: Codec,
    /// Frames shorter than this are never compressed.
    pub min_bytes: usize,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self {
            codec: Codec::Off,
            min_bytes: 4096,
        }
    }
}

impl CompressionConfig {
    /// The handshake feature bits this side offers.
    #[must_use]
    pub fn features(&self) -> u8 {
        match self.codec {
            Codec::Off => 0,
            Codec::Lz4 => FEATURE_LZ4,
        }
    }

    /// The compressor for a link whose ends agreed on `negotiated` feature bits.
    #[must_use]
    pub fn negotiate(&self, negotiated: u8) -> Compressor {
        Compressor {
            lz4: negotiated & self.features() & FEATURE_LZ4 != 0,
            min_bytes: self.min_bytes,
        }
    }
}

/// A received frame could not be decompressed; the link must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecompressError {
    /// The peer sent a compressed frame on a link that did not negotiate compression.
    #[error("compressed frame on a link without negotiated compression")]
    NotNegotiated,
    /// The frame is shorter than the compressed-frame header.
    #[error("compressed frame of {0} bytes is shorter than its 8-byte header")]
    Truncated(usize),
    /// The claimed original length exceeds the frame limit.
    #[error("compressed frame claims {claimed} bytes, more than the {max}-byte frame limit")]
    TooLarge {
        /// Claimed length.
        claimed: usize,
        /// The limit.
        max: usize,
    },
    /// The LZ4 block is corrupt or does not decode to the claimed length.
    #[error("corrupt LZ4 block: {0}")]
    Corrupt(String),
}

/// Compresses and decompresses the frames of one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compressor {
    lz4: bool,
    min_bytes: usize,
}

impl Compressor {
    /// A compressor that never compresses (and refuses compressed frames).
    #[must_use]
    pub fn off() -> Self {
        Self {
            lz4: false,
            min_bytes: usize::MAX,
        }
    }

    /// True if compression was negotiated.
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.lz4
    }

    /// The frame to send for `frame`: compressed if that is on, worth it and large enough.
    #[must_use]
    pub fn compress(&self, frame: Bytes) -> Bytes {
        if !self.lz4 || frame.len() < self.min_bytes || u32::try_from(frame.len()).is_err() {
            return frame;
        }
        let bound = lz4_flex::block::get_maximum_output_size(frame.len());
        let mut out = BytesMut::zeroed(HEAD + bound);
        let Ok(n) = lz4_flex::block::compress_into(&frame, &mut out[HEAD..]) else {
            return frame;
        };
        if HEAD + n > frame.len() - frame.len() / 8 {
            return frame; // not worth it: incompressible data goes as it is
        }
        out.truncate(HEAD + n);
        let mut head = &mut out[..HEAD];
        head.put_slice(MAGIC);
        head.put_u32_le(frame.len() as u32);
        out.freeze()
    }

    /// The original frame for a received `frame` (uncompressed frames pass through).
    ///
    /// # Errors
    /// [`DecompressError`]: the link must be closed.
    pub fn decompress(&self, frame: Bytes, max_frame: usize) -> Result<Bytes, DecompressError> {
        if frame.len() < 4 || &frame[..4] != MAGIC {
            return Ok(frame);
        }
        if !self.lz4 {
            return Err(DecompressError::NotNegotiated);
        }
        if frame.len() < HEAD {
            return Err(DecompressError::Truncated(frame.len()));
        }
        let claimed = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]) as usize;
        if claimed > max_frame {
            return Err(DecompressError::TooLarge {
                claimed,
                max: max_frame,
            });
        }
        let mut out = vec![0u8; claimed];
        let n = lz4_flex::block::decompress_into(&frame[HEAD..], &mut out)
            .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
        if n != claimed {
            return Err(DecompressError::Corrupt(format!(
                "decoded {n} bytes, the header claims {claimed}"
            )));
        }
        Ok(Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lz4() -> Compressor {
        CompressionConfig {
            codec: Codec::Lz4,
            min_bytes: 64,
        }
        .negotiate(FEATURE_LZ4)
    }

    fn compressible(len: usize) -> Bytes {
        let mut v = b"OMSH".to_vec();
        v.extend((0..len - 4).map(|i| (i / 64 % 7) as u8));
        Bytes::from(v)
    }

    #[test]
    fn negotiation_needs_both_ends() {
        let on = CompressionConfig {
            codec: Codec::Lz4,
            ..CompressionConfig::default()
        };
        assert!(on.negotiate(FEATURE_LZ4).is_on());
        assert!(!on.negotiate(0).is_on());
        assert!(!CompressionConfig::default().negotiate(FEATURE_LZ4).is_on());
    }

    #[test]
    fn compressible_frames_shrink_and_round_trip() {
        let frame = compressible(1 << 20);
        let sent = lz4().compress(frame.clone());
        assert_eq!(&sent[..4], MAGIC);
        assert!(sent.len() < frame.len() / 10, "{} bytes", sent.len());
        assert_eq!(lz4().decompress(sent, 2 << 20).unwrap(), frame);
    }

    #[test]
    fn small_incompressible_and_off_frames_go_as_they_are() {
        let small = compressible(32);
        assert_eq!(lz4().compress(small.clone()), small);
        // xorshift64 noise: LZ4 cannot shrink it.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let noise = Bytes::from(noise);
        assert_eq!(lz4().compress(noise.clone()), noise);
        let big = compressible(8192);
        assert_eq!(Compressor::off().compress(big.clone()), big);
        assert_eq!(lz4().decompress(big.clone(), 1 << 20).unwrap(), big);
    }

    #[test]
    fn bad_compressed_frames_are_typed_errors() {
        let sent = lz4().compress(compressible(1 << 16));
        assert_eq!(
            Compressor::off().decompress(sent.clone(), 1 << 20),
            Err(DecompressError::NotNegotiated)
        );
        assert_eq!(
            lz4().decompress(sent.slice(..6), 1 << 20),
            Err(DecompressError::Truncated(6))
        );
        assert_eq!(
            lz4().decompress(sent.clone(), 1000),
            Err(DecompressError::TooLarge {
                claimed: 1 << 16,
                max: 1000
            })
        );
        // A 4 GiB claim is refused before any allocation.
        let mut huge = sent.to_vec();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            lz4().decompress(Bytes::from(huge), 16 << 20),
            Err(DecompressError::TooLarge { .. })
        ));
        let mut corrupt = sent.to_vec();
        corrupt.truncate(corrupt.len() - 5);
        assert!(matches!(
            lz4().decompress(Bytes::from(corrupt), 1 << 20),
            Err(DecompressError::Corrupt(_))
        ));
    }
}
