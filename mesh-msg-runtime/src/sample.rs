//! Deterministic populated values, for round-trip tests, fuzz seeds and benchmarks.

use crate::WString;

/// Builds a deterministic value where every field is set (non-default where the type allows),
/// sequences hold a few elements, and every declared bound is respected.
pub trait Sample: Sized {
    /// The value for `seed`; different seeds give different values.
    fn sample(seed: u64) -> Self;
}

macro_rules! sample_int {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            fn sample(seed: u64) -> Self {
                (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 7) as $t
            }
        }
    )*};
}
sample_int!(u8, i8, u16, i16, u32, i32, u64, i64);

impl Sample for bool {
    fn sample(seed: u64) -> Self {
        seed % 2 == 1
    }
}

impl Sample for f32 {
    #[allow(clippy::cast_precision_loss)]
    fn sample(seed: u64) -> Self {
        (seed % 1000) as f32 * 0.25 - 3.5
    }
}

impl Sample for f64 {
    #[allow(clippy::cast_precision_loss)]
    fn sample(seed: u64) -> Self {
        (seed % 100_000) as f64 * 0.125 + 1e-3
    }
}

/// A sample string of at most `max` bytes (no bound when `None`), with some non-ASCII text
/// when room allows.
#[must_use]
pub fn sample_string(seed: u64, max: Option<usize>) -> String {
    let full = format!("s{seed}-é");
    match max {
        Some(max) if full.len() > max => "x".repeat(max),
        _ => full,
    }
}

impl Sample for String {
    fn sample(seed: u64) -> Self {
        sample_string(seed, None)
    }
}

impl Sample for WString {
    fn sample(seed: u64) -> Self {
        WString(format!("w{seed}-ö"))
    }
}
