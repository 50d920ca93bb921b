//! The CDR encoder: an append-only buffer that pads to each primitive's alignment.

use super::{CdrEncodeError, ENCAPSULATION_CDR_LE};

/// Writes little-endian classic CDR, starting with the encapsulation header.
#[derive(Debug)]
pub struct CdrWriter {
    buf: Vec<u8>,
    origin: usize,
    overflow: Option<usize>,
}

impl Default for CdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! write_prim {
    ($($name:ident: $t:ty),*) => {$(
        #[doc = concat!("Writes a `", stringify!($t), "`, aligned to its size.")]
        #[inline]
        pub fn $name(&mut self, v: $t) {
            self.align(std::mem::size_of::<$t>());
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    )*};
}

impl CdrWriter {
    /// A writer holding just the little-endian encapsulation header.
    #[must_use]
    pub fn new() -> Self {
        Self::with_buffer(Vec::new())
    }

    /// Reuses `buf` (cleared first), to avoid allocating on a hot path.
    #[must_use]
    pub fn with_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&ENCAPSULATION_CDR_LE);
        Self {
            buf,
            origin: ENCAPSULATION_CDR_LE.len(),
            overflow: None,
        }
    }

    /// Pads with zeros to a multiple of `n` bytes past the header.
    #[inline]
    pub fn align(&mut self, n: usize) {
        let pos = self.buf.len() - self.origin;
        let pad = (n - pos % n) % n;
        self.buf.resize(self.buf.len() + pad, 0);
    }

    write_prim!(write_u16: u16, write_i16: i16, write_u32: u32, write_i32: i32,
        write_u64: u64, write_i64: i64, write_f32: f32, write_f64: f64);

    /// Writes one byte.
    #[inline]
    pub fn write_u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Writes raw bytes with no alignment (octet arrays and sequences).
    #[inline]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Writes a `u32` length; a length over `u32::MAX` is recorded and reported by
    /// [`finish`](Self::finish).
    pub fn write_len(&mut self, len: usize) {
        let v = u32::try_from(len).unwrap_or_else(|_| {
            self.overflow.get_or_insert(len);
            u32::MAX
        });
        self.write_u32(v);
    }

    /// Writes a `string`: length with NUL, bytes, NUL.
    pub fn write_string(&mut self, s: &str) {
        self.write_len(s.len() + 1);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// Writes a `wstring`: count of UTF-16 code units, then the units.
    pub fn write_wstring(&mut self, s: &str) {
        self.write_len(s.encode_utf16().count());
        for unit in s.encode_utf16() {
            self.buf.extend_from_slice(&unit.to_le_bytes());
        }
    }

    /// Bytes written so far, header included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing but the header was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buf.len() == self.origin
    }

    /// The encoded bytes, or the first length that did not fit 32 bits.
    pub fn finish(self) -> Result<Vec<u8>, CdrEncodeError> {
        match self.overflow {
            Some(len) => Err(CdrEncodeError::LengthOverflow { len }),
            None => Ok(self.buf),
        }
    }
}
