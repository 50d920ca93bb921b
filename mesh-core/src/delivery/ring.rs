//! The gap buffer of one (publisher, subscription) stream: out-of-order messages waiting for
//! the sequence number the subscriber needs next. A fixed ring of slots indexed by sequence,
//! bounded in messages and in bytes; its occupancy doubles as the dedup bitmap for the window.

/// Messages waiting at sequences `[base, base + capacity)`.
#[derive(Debug)]
pub(crate) struct GapRing<T> {
    slots: Vec<Option<(T, usize)>>,
    base: u64,
    len: usize,
    bytes: usize,
    max_bytes: usize,
}

/// Why a message was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    /// Stored.
    Stored,
    /// Below the window: already delivered or skipped.
    Behind,
    /// Same sequence already waiting.
    Duplicate,
    /// Beyond the window (caller must advance the base first).
    Ahead,
    /// The byte bound would be exceeded.
    NoRoom,
}

impl<T> GapRing<T> {
    pub(crate) fn new(capacity: usize, max_bytes: usize, base: u64) -> Self {
        let capacity = capacity.max(1);
        Self {
            slots: (0..capacity).map(|_| None).collect(),
            base,
            len: 0,
            bytes: 0,
            max_bytes,
        }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, seq: u64) -> usize {
        (seq % self.capacity()) as usize
    }

    pub(crate) fn store(&mut self, seq: u64, item: T, size: usize) -> Store {
        if seq < self.base {
            return Store::Behind;
        }
        if seq - self.base >= self.capacity() {
            return Store::Ahead;
        }
        let i = self.slot(seq);
        if self.slots[i].is_some() {
            return Store::Duplicate;
        }
        // The message at the base is always taken: it is the one that unblocks the stream.
        if self.bytes + size > self.max_bytes && self.len > 0 && seq != self.base {
            return Store::NoRoom;
        }
        self.slots[i] = Some((item, size));
        self.len += 1;
        self.bytes += size;
        Store::Stored
    }

    /// Takes the message at `base` if present and advances the base.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let i = self.slot(self.base);
        let (item, size) = self.slots[i].take()?;
        self.len -= 1;
        self.bytes -= size;
        self.base += 1;
        Some(item)
    }

    /// The message at `base`, if present.
    pub(crate) fn front(&self) -> Option<&T> {
        self.slots[self.slot(self.base)].as_ref().map(|(t, _)| t)
    }

    /// Lowest waiting sequence, if any.
    pub(crate) fn lowest(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        (self.base..self.base.saturating_add(self.capacity()))
            .find(|s| self.slots[self.slot(*s)].is_some())
    }

    /// Highest waiting sequence, if any.
    pub(crate) fn highest(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        (self.base..self.base.saturating_add(self.capacity()))
            .rev()
            .find(|s| self.slots[self.slot(*s)].is_some())
    }

    /// Moves the base to `new_base` (> base) without storage: only valid when no message is
    /// waiting below `new_base`.
    pub(crate) fn jump_to(&mut self, new_base: u64) {
        debug_assert!(self.lowest().is_none_or(|l| l >= new_base));
        if new_base > self.base {
            self.base = new_base;
        }
    }

    /// Missing sequences in `[base, until)` as `(start, len)` ranges, at most `max_ranges`.
    pub(crate) fn missing(&self, until: u64, max_ranges: usize) -> Vec<(u64, u32)> {
        let end = until.min(self.base.saturating_add(self.capacity()));
        let mut out: Vec<(u64, u32)> = Vec::new();
        let mut s = self.base;
        while s < end && out.len() < max_ranges {
            if self.slots[self.slot(s)].is_some() {
                s += 1;
                continue;
            }
            let start = s;
            while s < end && self.slots[self.slot(s)].is_none() {
                s += 1;
            }
            out.push((start, u32::try_from(s - start).unwrap_or(u32::MAX)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_store_pop_and_missing() {
        let mut r = GapRing::new(4, 100, 10);
        assert_eq!(r.store(9, 'a', 1), Store::Behind);
        assert_eq!(r.store(14, 'a', 1), Store::Ahead);
        assert_eq!(r.store(12, 'c', 1), Store::Stored);
        assert_eq!(r.store(12, 'c', 1), Store::Duplicate);
        assert_eq!(r.missing(14, 8), [(10, 2), (13, 1)]);
        assert_eq!(r.pop_front(), None);
        assert_eq!(r.lowest(), Some(12));
        r.jump_to(12);
        assert_eq!(r.pop_front(), Some('c'));
        assert_eq!(r.base(), 13);
        assert_eq!(
            r.store(16, 'x', 200),
            Store::Stored,
            "an empty ring takes one oversized item"
        );
        assert_eq!(r.store(15, 'y', 1), Store::NoRoom);
    }
}
