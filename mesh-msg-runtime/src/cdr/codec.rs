//! [`Cdr`]: how each Rust type of generated code maps to CDR.

use super::{CdrDecodeError, CdrReader, CdrWriter};
use crate::WString;

/// Encodes and decodes one value in classic CDR. Generated structs implement it field by field.
pub trait Cdr: Sized {
    /// Smallest encoded size in bytes; bounds sequence counts against the input left.
    const MIN_SIZE: usize = 1;

    /// Appends the value.
    fn encode(&self, w: &mut CdrWriter);

    /// Reads one value.
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError>;

    /// Appends consecutive values (overridden for bytes, which are copied at once).
    fn encode_slice(items: &[Self], w: &mut CdrWriter) {
        for item in items {
            item.encode(w);
        }
    }

    /// Reads `n` consecutive values (`n` already checked against the input left).
    fn decode_vec(r: &mut CdrReader<'_>, n: usize) -> Result<Vec<Self>, CdrDecodeError> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(Self::decode(r)?);
        }
        Ok(out)
    }
}

macro_rules! cdr_prim {
    ($($t:ty => $w:ident, $r:ident;)*) => {$(
        impl Cdr for $t {
            const MIN_SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn encode(&self, w: &mut CdrWriter) {
                w.$w(*self);
            }
            #[inline]
            fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
                r.$r()
            }
        }
    )*};
}

cdr_prim! {
    u16 => write_u16, read_u16;
    i16 => write_i16, read_i16;
    u32 => write_u32, read_u32;
    i32 => write_i32, read_i32;
    u64 => write_u64, read_u64;
    i64 => write_i64, read_i64;
    f32 => write_f32, read_f32;
    f64 => write_f64, read_f64;
}

impl Cdr for u8 {
    fn encode(&self, w: &mut CdrWriter) {
        w.write_u8(*self);
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        r.read_u8()
    }
    fn encode_slice(items: &[Self], w: &mut CdrWriter) {
        w.write_bytes(items);
    }
    fn decode_vec(r: &mut CdrReader<'_>, n: usize) -> Result<Vec<Self>, CdrDecodeError> {
        Ok(r.take(n)?.to_vec())
    }
}

impl Cdr for i8 {
    fn encode(&self, w: &mut CdrWriter) {
        w.write_u8(self.to_le_bytes()[0]);
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        Ok(i8::from_le_bytes([r.read_u8()?]))
    }
}

impl Cdr for bool {
    fn encode(&self, w: &mut CdrWriter) {
        w.write_u8(u8::from(*self));
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        r.read_bool()
    }
}

impl Cdr for String {
    const MIN_SIZE: usize = 4;
    fn encode(&self, w: &mut CdrWriter) {
        w.write_string(self);
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        r.read_string()
    }
}

impl Cdr for WString {
    const MIN_SIZE: usize = 4;
    fn encode(&self, w: &mut CdrWriter) {
        w.write_wstring(&self.0);
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        r.read_wstring().map(WString)
    }
}

impl<T: Cdr> Cdr for Vec<T> {
    const MIN_SIZE: usize = 4;
    fn encode(&self, w: &mut CdrWriter) {
        w.write_len(self.len());
        T::encode_slice(self, w);
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        let n = r.read_len(T::MIN_SIZE)?;
        T::decode_vec(r, n)
    }
}

impl<T: Cdr, const N: usize> Cdr for [T; N] {
    const MIN_SIZE: usize = T::MIN_SIZE * N;
    fn encode(&self, w: &mut CdrWriter) {
        T::encode_slice(self, w);
    }
    fn decode(r: &mut CdrReader<'_>) -> Result<Self, CdrDecodeError> {
        let items = T::decode_vec(r, N)?;
        match items.try_into() {
            Ok(array) => Ok(array),
            // decode_vec returns exactly N items or an error.
            Err(_) => Err(CdrDecodeError::UnexpectedEnd {
                offset: r.position(),
                needed: N,
                available: 0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: Cdr>(v: &T) -> Vec<u8> {
        let mut w = CdrWriter::new();
        v.encode(&mut w);
        w.finish().unwrap()
    }

    #[test]
    fn empty_string_is_length_one_and_nul() {
        assert_eq!(encode(&String::new()), [0, 1, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn sequence_of_strings_pads_each_length() {
        let v = vec!["ab".to_owned(), "c".to_owned()];
        assert_eq!(
            encode(&v),
            [0, 1, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, b'a', b'b', 0, 0, 2, 0, 0, 0, b'c', 0]
        );
    }

    #[test]
    fn wstring_is_utf16_units() {
        let w = WString::from("hé");
        assert_eq!(encode(&w), [0, 1, 0, 0, 2, 0, 0, 0, b'h', 0, 0xe9, 0]);
        let bytes = encode(&w);
        let mut r = CdrReader::new(&bytes).unwrap();
        assert_eq!(WString::decode(&mut r).unwrap(), w);
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let bytes = [0, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 2];
        let mut r = CdrReader::new(&bytes).unwrap();
        let err = Vec::<u32>::decode(&mut r).unwrap_err();
        assert!(
            matches!(err, CdrDecodeError::LengthTooLarge { offset: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn big_endian_input_is_read() {
        let bytes = [0, 0, 0, 0, 0, 0, 1, 2];
        let mut r = CdrReader::new(&bytes).unwrap();
        assert_eq!(u32::decode(&mut r).unwrap(), 0x0102);
    }

    #[test]
    fn bad_bool_and_bad_header_are_typed_errors() {
        let mut r = CdrReader::new(&[0, 1, 0, 0, 2]).unwrap();
        assert!(matches!(
            bool::decode(&mut r),
            Err(CdrDecodeError::InvalidBool { value: 2, .. })
        ));
        assert!(matches!(
            CdrReader::new(&[0, 7, 0, 0]),
            Err(CdrDecodeError::UnsupportedEncapsulation { .. })
        ));
        assert!(matches!(
            CdrReader::new(&[0]),
            Err(CdrDecodeError::MissingHeader { len: 1 })
        ));
    }
}
