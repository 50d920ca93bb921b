//! A subscriber's copy of its host daemon's attestation key ([`crate::security::attest`]):
//! read when the first attested frame arrives, read again (at most once a second) when a tag
//! does not verify, since a restarted daemon has a new key.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::security::attest::HostKey;

/// How often a missing or stale key file is read again.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(crate) struct HostKeyCache {
    path: Option<PathBuf>,
    key: Option<HostKey>,
    next_read: Option<Instant>,
}

impl HostKeyCache {
    /// A cache for the key at `path` (`None`: attestation is not used).
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            key: None,
            next_read: None,
        }
    }

    /// The key to check `tag` over `header` with: the cached one if it verifies, else the
    /// file read again when due. `None` if there is no usable key.
    pub(crate) fn key_for(&mut self, tag: &[u8; 32], header: &[u8]) -> Option<&HostKey> {
        let path = self.path.as_ref()?;
        let fresh = self.key.as_ref().is_some_and(|k| k.verify(tag, header));
        if !fresh {
            let now = Instant::now();
            if self.next_read.is_none_or(|t| now >= t) {
                self.next_read = Some(now + RETRY);
                match HostKey::load(path) {
                    Ok(key) => self.key = Some(key),
                    Err(e) => tracing::debug!(error = %e, "no host attestation key"),
                }
            }
        }
        self.key.as_ref()
    }
}
