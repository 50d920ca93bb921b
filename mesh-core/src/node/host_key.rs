//! A subscriber's copy of its host daemon's attestation key ([`crate::security::attest`]):
//! read when the first attested frame arrives, read again (at most once a second) after the
//! gate did not accept a tag with it, since a restarted daemon has a new key. The tag itself
//! is checked once, by the gate.

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
    stale: bool,
}

impl HostKeyCache {
    /// A cache for the key at `path` (`None`: attestation is not used).
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            key: None,
            next_read: None,
            stale: false,
        }
    }

    /// The cached key, read from the file the first time (or again after [`stale`]).
    ///
    /// [`stale`]: Self::stale
    pub(crate) fn key(&mut self) -> Option<&HostKey> {
        if self.key.is_none() || self.stale {
            self.reload();
        }
        self.key.as_ref()
    }

    /// The cached key did not verify a tag: read the file again (at most once a second).
    pub(crate) fn stale(&mut self) {
        self.stale = true;
    }

    fn reload(&mut self) {
        let Some(path) = &self.path else {
            return;
        };
        let now = Instant::now();
        if self.next_read.is_some_and(|t| now < t) {
            return;
        }
        self.next_read = Some(now + RETRY);
        self.stale = false;
        match HostKey::load(path) {
            Ok(key) => self.key = Some(key),
            Err(e) => tracing::debug!(error = %e, "no host attestation key"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_read_after_a_tag_failed_at_most_once_a_second() {
        let path = std::env::temp_dir().join(format!("omni-hostkey-cache-{}", std::process::id()));
        let (a, b) = (HostKey::from_bytes([1; 32]), HostKey::from_bytes([2; 32]));
        let tag_of = |k: &HostKey| k.tag(b"header");
        let mut cache = HostKeyCache::new(Some(path.clone()));
        assert!(cache.key().is_none(), "no file yet");
        std::thread::sleep(RETRY);
        a.save(&path).unwrap();
        assert!(cache.key().unwrap().verify(&tag_of(&a), b"header"));
        // The daemon restarted with a new key: cached until a tag fails, then re-read once
        // the retry interval has passed.
        b.save(&path).unwrap();
        cache.stale();
        assert!(
            cache.key().unwrap().verify(&tag_of(&a), b"header"),
            "rate limited"
        );
        std::thread::sleep(RETRY);
        cache.stale();
        assert!(cache.key().unwrap().verify(&tag_of(&b), b"header"));
        std::fs::remove_file(&path).unwrap();
        assert!(HostKeyCache::new(None).key().is_none());
    }
}
