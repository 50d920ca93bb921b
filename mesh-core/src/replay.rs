//! Replay protection primitives used by the delivery layer: publisher epochs that increase on
//! every restart ([`next_epoch`]), and a per-(publisher, topic) window over sequence numbers
//! ([`ReplayWindow`], [`ReplayGuard`]).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::envelope::TopicId;

/// The epoch file could not be read or advanced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EpochError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not hold a number.
    #[error("{path}: not an epoch number: {content:?}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What it holds (first 32 bytes).
        content: String,
    },
    /// The epoch cannot grow any more.
    #[error("{0}: epoch exhausted")]
    Exhausted(PathBuf),
}

/// Reads the last epoch from `path` (none = 0), stores and returns the next one. The new value
/// is written to a temporary file, synced and renamed over the old one, so a crash never
/// yields a repeated or lost epoch. One process owns an epoch file (the node holds it for its
/// lifetime); concurrent starts on the same file are not supported.
pub fn next_epoch(path: &Path) -> Result<u64, EpochError> {
    let io = |source| EpochError::Io {
        path: path.to_owned(),
        source,
    };
    let last = match std::fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| EpochError::Corrupt {
                path: path.to_owned(),
                content: text.chars().take(32).collect(),
            })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(e)),
    };
    let next = last
        .checked_add(1)
        .ok_or_else(|| EpochError::Exhausted(path.to_owned()))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    writeln!(file, "{next}").map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(next)
}

/// What the window says about an (epoch, sequence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Never seen: deliver.
    Fresh,
    /// Seen before: drop.
    Duplicate,
    /// From an epoch older than the current one: a replay or a stale sender.
    StaleEpoch,
    /// Older than the window can remember: treated as a replay.
    BehindWindow,
}

/// Sequence numbers seen from one publisher on one topic: the highest (epoch, sequence) and a
/// bitmap of the last [`ReplayWindow::SIZE`] sequences (the highest and the 1023 below it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    epoch: u64,
    highest: Option<u64>,
    seen: [u64; 16],
}

impl ReplayWindow {
    /// Sequences remembered below the highest.
    pub const SIZE: u64 = 1024;

    fn bit(&mut self, offset: u64) -> (&mut u64, u64) {
        let slot = (offset % Self::SIZE) as usize;
        (&mut self.seen[slot / 64], 1u64 << (slot % 64))
    }

    /// Checks (epoch, sequence) and records it when fresh.
    pub fn check(&mut self, epoch: u64, sequence: u64) -> SeqVerdict {
        if epoch < self.epoch {
            return SeqVerdict::StaleEpoch;
        }
        if epoch > self.epoch || self.highest.is_none() {
            *self = Self {
                epoch,
                highest: Some(sequence),
                seen: [0; 16],
            };
            let (word, mask) = self.bit(sequence);
            *word |= mask;
            return SeqVerdict::Fresh;
        }
        let highest = self.highest.unwrap_or(0);
        if sequence > highest {
            let gap = sequence - highest;
            if gap >= Self::SIZE {
                self.seen = [0; 16];
            } else {
                for s in highest + 1..sequence {
                    let (word, mask) = self.bit(s);
                    *word &= !mask;
                }
            }
            self.highest = Some(sequence);
            let (word, mask) = self.bit(sequence);
            *word |= mask;
            return SeqVerdict::Fresh;
        }
        if highest - sequence >= Self::SIZE {
            return SeqVerdict::BehindWindow;
        }
        let (word, mask) = self.bit(sequence);
        if *word & mask != 0 {
            SeqVerdict::Duplicate
        } else {
            *word |= mask;
            SeqVerdict::Fresh
        }
    }
}

/// Replay windows for every (publisher, topic) pair seen.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    windows: Vec<(([u8; 32], TopicId), ReplayWindow)>,
    index: HashMap<([u8; 32], TopicId), usize>,
    /// The stream checked last: a subscriber mostly sees one publisher at a time, so it is
    /// compared first, before hashing a 40-byte key.
    last: usize,
}

impl ReplayGuard {
    /// Checks and records one envelope's position.
    pub fn check(
        &mut self,
        publisher: [u8; 32],
        topic: TopicId,
        epoch: u64,
        sequence: u64,
    ) -> SeqVerdict {
        self.check_counting_gaps(publisher, topic, epoch, sequence)
            .0
    }

    /// Like [`check`](Self::check), also saying how many sequence numbers a fresh envelope
    /// skipped past the highest one seen in the same epoch (messages that never arrived, on a
    /// path that keeps each publisher's order). The first envelope of a stream or an epoch
    /// skips nothing: a late joiner has lost nothing.
    pub fn check_counting_gaps(
        &mut self,
        publisher: [u8; 32],
        topic: TopicId,
        epoch: u64,
        sequence: u64,
    ) -> (SeqVerdict, u64) {
        let key = (publisher, topic);
        let slot = match self.windows.get(self.last) {
            Some((k, _)) if *k == key => self.last,
            _ => *self.index.entry(key).or_insert_with(|| {
                self.windows.push((key, ReplayWindow::default()));
                self.windows.len() - 1
            }),
        };
        self.last = slot;
        let window = &mut self.windows[slot].1;
        let before = (window.epoch, window.highest);
        let verdict = window.check(epoch, sequence);
        let skipped = match before {
            (e, Some(highest)) if e == epoch && verdict == SeqVerdict::Fresh => {
                sequence.saturating_sub(highest).saturating_sub(1)
            }
            _ => 0,
        };
        (verdict, skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_detects_duplicates_reorders_and_old_epochs() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.check(1, 10), SeqVerdict::Fresh);
        assert_eq!(w.check(1, 10), SeqVerdict::Duplicate);
        assert_eq!(w.check(1, 12), SeqVerdict::Fresh);
        assert_eq!(w.check(1, 11), SeqVerdict::Fresh, "late but unseen");
        assert_eq!(w.check(1, 11), SeqVerdict::Duplicate);
        assert_eq!(w.check(1, 12 + ReplayWindow::SIZE), SeqVerdict::Fresh);
        assert_eq!(w.check(1, 12), SeqVerdict::BehindWindow);
        assert_eq!(w.check(2, 0), SeqVerdict::Fresh, "restart: new epoch");
        assert_eq!(w.check(1, 5000), SeqVerdict::StaleEpoch);
    }

    #[test]
    fn epochs_increase_across_restarts() {
        let dir = std::env::temp_dir().join(format!("mesh-epoch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("epoch");
        let _ = std::fs::remove_file(&path);
        assert_eq!(next_epoch(&path).unwrap(), 1);
        assert_eq!(next_epoch(&path).unwrap(), 2);
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(next_epoch(&path), Err(EpochError::Corrupt { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
