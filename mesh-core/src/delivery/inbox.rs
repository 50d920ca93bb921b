//! A subscriber's bounded inbox and what happens when it is full.

use std::collections::VecDeque;

/// What to do when a subscriber's inbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Hold further messages (in the stream's bounded gap buffer) until the subscriber takes
    /// one; when the inbox stayed full for `timeout_ns`, the messages held back are dropped
    /// (`block_timeout`), so a slow subscriber delays its publisher at most that long.
    Block {
        /// Longest wait, nanoseconds.
        timeout_ns: u64,
    },
    /// Drop the oldest queued message to make room (`inbox_drop_oldest`).
    DropOldest,
    /// Drop the arriving message (`inbox_drop_newest`).
    DropNewest,
}

/// Inbox size and overflow policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxConfig {
    /// Most queued messages.
    pub capacity: usize,
    /// Policy when full.
    pub overflow: Overflow,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            capacity: 1024,
            overflow: Overflow::DropOldest,
        }
    }
}

/// Result of offering a message.
#[derive(Debug)]
pub(crate) enum Offer<T> {
    /// Queued.
    Queued,
    /// Queued after dropping the oldest.
    QueuedDroppedOldest,
    /// Dropped (drop-newest policy).
    DroppedNewest,
    /// Full under the block policy: handed back.
    Full(T),
}

/// The queue a subscriber takes messages from.
#[derive(Debug)]
pub(crate) struct Inbox<T> {
    queue: VecDeque<T>,
    config: InboxConfig,
    /// Since when a message has been held back (block policy).
    pub(crate) blocked_since: Option<u64>,
}

impl<T> Inbox<T> {
    pub(crate) fn new(config: InboxConfig) -> Self {
        Self {
            queue: VecDeque::with_capacity(config.capacity.min(4096)),
            config,
            blocked_since: None,
        }
    }

    pub(crate) fn config(&self) -> InboxConfig {
        self.config
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.queue.len() >= self.config.capacity.max(1)
    }

    pub(crate) fn offer(&mut self, item: T) -> Offer<T> {
        if !self.is_full() {
            self.queue.push_back(item);
            return Offer::Queued;
        }
        match self.config.overflow {
            Overflow::Block { .. } => Offer::Full(item),
            Overflow::DropNewest => Offer::DroppedNewest,
            Overflow::DropOldest => {
                self.queue.pop_front();
                self.queue.push_back(item);
                Offer::QueuedDroppedOldest
            }
        }
    }

    pub(crate) fn take(&mut self) -> Option<T> {
        self.queue.pop_front()
    }
}
