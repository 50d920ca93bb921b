//! `wstring`: a UTF-16 string on the wire, held as a Rust `String`.

use std::fmt;
use std::ops::Deref;

/// A ROS 2 `wstring`. Stored as UTF-8 in memory; encoded as UTF-16 code units in CDR.
#[derive(
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(crate = rkyv, derive(Debug))]
pub struct WString(pub String);

impl WString {
    /// Length in UTF-16 code units, the unit `wstring<=N` bounds count.
    #[must_use]
    pub fn utf16_len(&self) -> usize {
        self.0.encode_utf16().count()
    }
}

impl Deref for WString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for WString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for WString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Debug for WString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for WString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
