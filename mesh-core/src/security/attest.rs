//! Host attestation: how a host verifies a frame from the network once, for all its local
//! subscribers.
//!
//! The host's daemon admits a frame from a peer (signature, trust, ACL), then publishes it on
//! the local shared-memory channel behind a 48-byte prefix:
//!
//! ```text
//! offset size field
//!      0    4 magic    "OMHV"
//!      4    1 version  1
//!      5   11 reserved (0)
//!     16   32 tag      keyed BLAKE3 (host key) of "omni-mesh host attestation v1" | header
//!     48      the envelope, unchanged (152-byte header, payload, signature trailer)
//! ```
//!
//! The host key is 32 random bytes the daemon creates at start, in a file next to the
//! host's shared memory readable by its user only ([`key_path`]). A local subscriber that
//! can read it and finds the tag valid skips the Ed25519 check (about 30 us per envelope on
//! this machine kind) but still checks everything else, the payload digest included, so the
//! payload it reads is the one the publisher signed. A subscriber without the key, or with a
//! stale one (the daemon restarted), or facing a wrong tag verifies the signature as usual:
//! a tag can only save work, never admit what the signature would refuse. The trust this
//! adds: processes that can read the host key (the daemon's user) are trusted to vouch for
//! signatures, like the zero-copy subscriber trusts processes that can write the topic's
//! shared memory. `[security] host_attestation = false` turns it off for a node.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::envelope::{Envelope, Unverified, Verified, VerifyError, FLAG_UNSIGNED, HEADER_LEN};

use super::gate::{Reject, SecurityPolicy};

/// The first bytes of an attested frame.
pub const MAGIC: [u8; 4] = *b"OMHV";
/// Length of the prefix before the envelope (keeps the envelope 16-byte aligned as it was).
pub const PREFIX_LEN: usize = 48;
const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"omni-mesh host attestation v1";

/// The host's attestation key (the daemon's; local subscribers read it).
#[derive(Clone)]
pub struct HostKey([u8; 32]);

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostKey(..)")
    }
}

/// The host key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostKeyError {
    /// Reading or writing the file failed.
    #[error("host key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file does not hold 32 bytes.
    #[error("host key {path}: {len} bytes, expected 32")]
    Length {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
}

impl HostKey {
    /// A fresh random key.
    #[must_use]
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
        Self(key)
    }

    /// A key from its bytes.
    #[must_use]
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// The tag of an envelope `header` (its first 152 bytes).
    #[must_use]
    pub fn tag(&self, header: &[u8]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(DOMAIN);
        h.update(header);
        *h.finalize().as_bytes()
    }

    /// True if `tag` is this key's tag of `header` (compared in constant time).
    #[must_use]
    pub fn verify(&self, tag: &[u8; 32], header: &[u8]) -> bool {
        blake3::Hash::from(self.tag(header)) == blake3::Hash::from(*tag)
    }

    /// The attestation prefix for `envelope` (a verified envelope's bytes).
    #[must_use]
    pub fn prefix(&self, envelope: &[u8]) -> [u8; PREFIX_LEN] {
        let mut p = [0u8; PREFIX_LEN];
        p[..4].copy_from_slice(&MAGIC);
        p[4] = VERSION;
        let header = &envelope[..HEADER_LEN.min(envelope.len())];
        p[16..].copy_from_slice(&self.tag(header));
        p
    }

    /// Writes the key to `path` for this user only (mode 0600), atomically (a temporary file
    /// renamed over it).
    ///
    /// # Errors
    /// [`HostKeyError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), HostKeyError> {
        let io = |source| HostKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(&self.0).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads the key at `path`.
    ///
    /// # Errors
    /// [`HostKeyError`]: missing, unreadable or not 32 bytes.
    pub fn load(path: &Path) -> Result<Self, HostKeyError> {
        let bytes = std::fs::read(path).map_err(|source| HostKeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| HostKeyError::Length {
                path: path.to_owned(),
                len: bytes.len(),
            })?;
        Ok(Self(key))
    }
}

/// Where the daemon of the host whose shared-memory files start with `shm_prefix` keeps
/// its key (`/dev/shm/<prefix>omni-host.key`; iceoryx2's default prefix is `iox2_`).
#[must_use]
pub fn key_path(shm_prefix: &str) -> PathBuf {
    PathBuf::from(format!("/dev/shm/{shm_prefix}omni-host.key"))
}

/// The tag of an attested frame, or `None` for a plain envelope. The envelope starts at
/// [`PREFIX_LEN`].
#[must_use]
pub fn split(frame: &[u8]) -> Option<[u8; 32]> {
    if frame.len() < PREFIX_LEN || frame[..4] != MAGIC || frame[4] != VERSION {
        return None;
    }
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&frame[16..PREFIX_LEN]);
    Some(tag)
}

/// Accepts an envelope whose attestation tag verified: everything but the signature is
/// checked here (the caller did the cheap checks; this checks the payload digest).
pub(super) fn accept_attested<B: AsRef<[u8]>>(
    policy: &SecurityPolicy,
    env: Envelope<Unverified, B>,
) -> Result<Envelope<Verified, B>, Reject> {
    let h = env.header();
    // An all-zero digest on an unsigned development envelope: the fast path computed none.
    let skip = h.flags() & FLAG_UNSIGNED != 0 && h.payload_digest() == [0; 32];
    if !skip && blake3::hash(env.payload()).as_bytes() != &h.payload_digest() {
        return Err(Reject::Verify(VerifyError::PayloadDigestMismatch));
    }
    policy.counters().count_attested();
    Ok(env.into_verified_unchecked())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_bind_the_header_and_the_key() {
        let (k1, k2) = (HostKey::from_bytes([1; 32]), HostKey::from_bytes([2; 32]));
        let header = [9u8; HEADER_LEN];
        let tag = k1.tag(&header);
        assert!(k1.verify(&tag, &header));
        assert!(!k2.verify(&tag, &header));
        let mut other = header;
        other[100] ^= 1;
        assert!(!k1.verify(&tag, &other));
    }

    #[test]
    fn prefixes_split_back_and_plain_envelopes_do_not() {
        let k = HostKey::generate();
        let env = [7u8; 300];
        let p = k.prefix(&env);
        let frame = [&p[..], &env[..]].concat();
        assert_eq!(split(&frame), Some(k.tag(&env[..HEADER_LEN])));
        assert_eq!(split(&env), None);
        assert_eq!(split(&frame[..20]), None);
    }

    #[test]
    fn keys_round_trip_through_a_private_file() {
        let path = std::env::temp_dir().join(format!("omni-hostkey-{}", std::process::id()));
        let k = HostKey::generate();
        k.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = HostKey::load(&path).unwrap();
        assert_eq!(back.tag(b"x"), k.tag(b"x"));
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            HostKey::load(&path),
            Err(HostKeyError::Length { len: 5, .. })
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(HostKey::load(&path), Err(HostKeyError::Io { .. })));
    }
}
