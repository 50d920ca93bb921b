//! The store's tables and their key encodings (big-endian numbers, so byte order is
//! numeric order and ranges scan in sequence).

use redb::{ReadableTable, StorageError, TableDefinition};

use crate::envelope::TopicId;

/// Counters: `epoch`.
pub(super) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// Durable history: `topic id (16) | sequence (8, BE)` -> signed envelope.
pub(super) const HISTORY: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("history");
/// Delivery cursors: `subscription | 0 | publisher (32) | topic id (16)` -> last sequence.
pub(super) const CURSORS: TableDefinition<'_, &[u8], u64> = TableDefinition::new("cursors");
/// DTN bundles in custody: bundle id -> stored bundle ([`crate::dtn::StoredBundle`]).
pub(super) const BUNDLES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bundles");
/// Application state written with cursors.
pub(super) const APP: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("app");

pub(super) fn history_key(topic: &TopicId, sequence: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(&topic.0);
    k[16..].copy_from_slice(&sequence.to_be_bytes());
    k
}

pub(super) fn sequence_of(key: &[u8]) -> u64 {
    key.get(16..24)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

pub(super) fn topic_of(key: &[u8]) -> TopicId {
    let mut t = [0u8; 16];
    if let Some(b) = key.get(..16) {
        t.copy_from_slice(b);
    }
    TopicId(t)
}

pub(super) fn cursor_key(subscription: &str, publisher: &[u8; 32], topic: &TopicId) -> Vec<u8> {
    let mut k = Vec::with_capacity(subscription.len() + 49);
    k.extend_from_slice(subscription.as_bytes());
    k.push(0);
    k.extend_from_slice(publisher);
    k.extend_from_slice(&topic.0);
    k
}

pub(super) fn split_cursor_key(key: &[u8]) -> Option<(String, [u8; 32], TopicId)> {
    let cut = key.len().checked_sub(49)?;
    let (sub, rest) = key.split_at(cut);
    let publisher: [u8; 32] = rest.get(1..33)?.try_into().ok()?;
    let topic: [u8; 16] = rest.get(33..49)?.try_into().ok()?;
    Some((
        String::from_utf8_lossy(sub).into_owned(),
        publisher,
        TopicId(topic),
    ))
}

/// The last sequence number in `topic`'s part of a history table (0: none).
pub(super) fn last_sequence_in(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    topic: &TopicId,
) -> Result<u64, StorageError> {
    let (from, to) = (history_key(topic, 0), history_key(topic, u64::MAX));
    let last = table
        .range(from.as_slice()..=to.as_slice())?
        .next_back()
        .transpose()?;
    Ok(last.map_or(0, |(k, _)| sequence_of(k.value())))
}
