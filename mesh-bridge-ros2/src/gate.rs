//! Holding a DDS writer's first writes back until someone listens: until the writer has
//! matched a reader outside the bridges, and that reader has had a moment to discover the
//! writer in turn, the last `depth` writes wait rather than vanish (discovery is two-sided;
//! a reader drops data sent before it knows the writer).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustdds::{DataWriterStatus, StatusEvented};

use crate::dds::{prefix_of, RawWriter};
use crate::guard::{lock, LoopGuard};

/// After the writer discovers a reader, how long the reader gets to discover the writer.
pub const DISCOVERY_GRACE: Duration = Duration::from_millis(250);

/// Writes waiting for a writer's first reader.
#[derive(Debug)]
pub struct FirstMatch<T> {
    /// What waits (none once the gate has opened).
    waiting: Option<VecDeque<T>>,
    depth: usize,
    /// When the writer matched its first reader.
    matched_at: Option<Instant>,
}

impl<T> FirstMatch<T> {
    /// A closed gate keeping at most `depth` writes.
    #[must_use]
    pub fn new(depth: usize) -> Self {
        Self {
            waiting: Some(VecDeque::new()),
            depth: depth.max(1),
            matched_at: None,
        }
    }

    /// Hands `item` back when the gate is open (write it now); keeps it otherwise, dropping
    /// the oldest write beyond `depth`.
    pub fn admit(&mut self, item: T) -> Option<T> {
        let Some(waiting) = &mut self.waiting else {
            return Some(item);
        };
        if waiting.len() >= self.depth {
            waiting.pop_front();
        }
        waiting.push_back(item);
        None
    }

    /// Reads `writer`'s match statuses; when the gate opens, returns what waited (once).
    /// Bridges' readers (this one's, for a mapping both ways, and peers') do not count: they
    /// pass nothing on.
    pub fn observe(&mut self, writer: &RawWriter, guard: &Mutex<LoopGuard>, name: &str) -> Vec<T> {
        if self.waiting.is_none() {
            return Vec::new();
        }
        while let Some(status) = writer.try_recv_status() {
            tracing::debug!(mapping = %name, ?status, "DDS writer status");
            if let DataWriterStatus::PublicationMatched {
                current, reader, ..
            } = status
            {
                if current.count() > 0 && !lock(guard).is_bridge(&prefix_of(&reader)) {
                    self.matched_at.get_or_insert_with(Instant::now);
                }
            }
        }
        if self
            .matched_at
            .is_none_or(|t| t.elapsed() < DISCOVERY_GRACE)
        {
            return Vec::new();
        }
        let waited: Vec<T> = self.waiting.take().unwrap_or_default().into();
        tracing::debug!(mapping = %name, waiting = waited.len(), "first reader matched: writing what waited");
        waited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_gate_keeps_the_last_depth_writes() {
        let mut gate = FirstMatch::new(2);
        assert_eq!(gate.admit(1), None);
        assert_eq!(gate.admit(2), None);
        assert_eq!(gate.admit(3), None);
        assert_eq!(
            gate.waiting
                .as_ref()
                .map(|w| w.iter().copied().collect::<Vec<_>>()),
            Some(vec![2, 3])
        );
        gate.waiting = None;
        assert_eq!(gate.admit(4), Some(4), "an open gate hands writes back");
    }
}
