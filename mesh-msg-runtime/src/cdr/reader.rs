//! The CDR decoder: a cursor that checks every length against the bytes present.

use super::CdrDecodeError;

/// Reads classic CDR (either byte order, chosen by the encapsulation header).
#[derive(Debug)]
pub struct CdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
    origin: usize,
    big_endian: bool,
}

macro_rules! read_prim {
    ($($name:ident: $t:ty),*) => {$(
        #[doc = concat!("Reads a `", stringify!($t), "`, aligned to its size.")]
        #[inline]
        pub fn $name(&mut self) -> Result<$t, CdrDecodeError> {
            const N: usize = std::mem::size_of::<$t>();
            self.align(N)?;
            let bytes: [u8; N] = self.take(N)?.try_into().unwrap_or([0; N]);
            Ok(if self.big_endian { <$t>::from_be_bytes(bytes) } else { <$t>::from_le_bytes(bytes) })
        }
    )*};
}

impl<'a> CdrReader<'a> {
    /// Starts reading after the encapsulation header, which must name classic CDR.
    pub fn new(buf: &'a [u8]) -> Result<Self, CdrDecodeError> {
        let header = buf
            .get(..4)
            .ok_or(CdrDecodeError::MissingHeader { len: buf.len() })?;
        let big_endian = match [header[0], header[1]] {
            [0x00, 0x00] => true,
            [0x00, 0x01] => false,
            found => return Err(CdrDecodeError::UnsupportedEncapsulation { found }),
        };
        Ok(Self {
            buf,
            pos: 4,
            origin: 4,
            big_endian,
        })
    }

    /// Current offset from the start of the input.
    #[must_use]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Skips padding to a multiple of `n` bytes past the header.
    pub fn align(&mut self, n: usize) -> Result<(), CdrDecodeError> {
        let rel = self.pos - self.origin;
        let pad = (n - rel % n) % n;
        self.take(pad).map(|_| ())
    }

    /// Takes `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CdrDecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(CdrDecodeError::UnexpectedEnd {
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    read_prim!(read_u16: u16, read_i16: i16, read_u32: u32, read_i32: i32,
        read_u64: u64, read_i64: i64, read_f32: f32, read_f64: f64);

    /// Reads one byte.
    pub fn read_u8(&mut self) -> Result<u8, CdrDecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a `bool`, which must be 0 or 1.
    pub fn read_bool(&mut self) -> Result<bool, CdrDecodeError> {
        let offset = self.pos;
        match self.read_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(CdrDecodeError::InvalidBool { offset, value }),
        }
    }

    /// Reads a sequence length and checks that `count * min_element_size` bytes remain.
    pub fn read_len(&mut self, min_element_size: usize) -> Result<usize, CdrDecodeError> {
        self.align(4)?;
        let offset = self.pos;
        let count = self.read_u32()?;
        let remaining = self.remaining();
        let need = (count as usize).checked_mul(min_element_size.max(1));
        match need {
            Some(need) if need <= remaining => Ok(count as usize),
            _ => Err(CdrDecodeError::LengthTooLarge {
                offset,
                count,
                remaining,
            }),
        }
    }

    /// Reads a `string`. A zero length is read as the empty string.
    pub fn read_string(&mut self) -> Result<String, CdrDecodeError> {
        let len = self.read_len(1)?;
        let offset = self.pos;
        let bytes = self.take(len)?;
        let text = match bytes.split_last() {
            None => &[][..],
            Some((0, text)) => text,
            Some(_) => return Err(CdrDecodeError::MissingNul { offset }),
        };
        std::str::from_utf8(text)
            .map(str::to_owned)
            .map_err(|_| CdrDecodeError::InvalidUtf8 { offset })
    }

    /// Reads a `wstring` of UTF-16 code units.
    pub fn read_wstring(&mut self) -> Result<String, CdrDecodeError> {
        let len = self.read_len(2)?;
        let offset = self.pos;
        let mut units = Vec::with_capacity(len);
        for _ in 0..len {
            units.push(self.read_u16()?);
        }
        String::from_utf16(&units).map_err(|_| CdrDecodeError::InvalidUtf16 { offset })
    }

    /// Ends decoding: at most 3 bytes of final padding may follow the value.
    pub fn finish(&self) -> Result<(), CdrDecodeError> {
        let extra = self.remaining();
        if extra > 3 {
            return Err(CdrDecodeError::TrailingBytes {
                offset: self.pos,
                extra,
            });
        }
        Ok(())
    }
}
