//! Write transactions: what a durable publisher stores with one commit (a batch of
//! envelopes) and what a durable subscriber acknowledges with one commit (cursors and the
//! application state its callbacks wrote).

use std::path::{Path, PathBuf};

use redb::{Durability, ReadableTable, WriteTransaction};

use super::tables::{cursor_key, history_key, APP, BUNDLES, CURSORS, HISTORY, META};
use super::StoreError;
use crate::envelope::TopicId;

/// A write transaction: nothing is visible or durable before [`commit`](Self::commit);
/// dropped uncommitted, it changes nothing.
pub struct StoreTxn {
    txn: WriteTransaction,
    path: PathBuf,
}

impl std::fmt::Debug for StoreTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTxn")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl StoreTxn {
    pub(super) fn new(
        mut txn: WriteTransaction,
        path: &Path,
        options: super::StoreOptions,
    ) -> Result<Self, StoreError> {
        txn.set_durability(Durability::Immediate);
        txn.set_quick_repair(options.quick_repair);
        let t = Self {
            txn,
            path: path.to_owned(),
        };
        // Opening creates missing tables.
        t.txn.open_table(META).map_err(|e| t.io(e))?;
        t.txn.open_table(HISTORY).map_err(|e| t.io(e))?;
        t.txn.open_table(CURSORS).map_err(|e| t.io(e))?;
        t.txn.open_table(APP).map_err(|e| t.io(e))?;
        t.txn.open_table(BUNDLES).map_err(|e| t.io(e))?;
        Ok(t)
    }

    fn io(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    pub(super) fn meta(&self, key: &str) -> Result<u64, StoreError> {
        let table = self.txn.open_table(META).map_err(|e| self.io(e))?;
        let value = table.get(key).map_err(|e| self.io(e))?;
        Ok(value.map_or(0, |v| v.value()))
    }

    pub(super) fn set_meta(&mut self, key: &str, value: u64) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(META).map_err(|e| self.io(e))?;
        table.insert(key, value).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Stores `envelope` as message `sequence` of `topic`'s durable history.
    ///
    /// # Errors
    /// I/O failures.
    pub fn append_history(
        &mut self,
        topic: &TopicId,
        sequence: u64,
        envelope: &[u8],
    ) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(HISTORY).map_err(|e| self.io(e))?;
        let key = history_key(topic, sequence);
        table
            .insert(key.as_slice(), envelope)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Keeps the newest `keep` messages of `topic`'s history; returns how many were removed.
    ///
    /// # Errors
    /// I/O failures.
    pub fn trim_history(&mut self, topic: &TopicId, keep: u64) -> Result<u64, StoreError> {
        let mut table = self.txn.open_table(HISTORY).map_err(|e| self.io(e))?;
        let from = history_key(topic, 0);
        let last = super::tables::last_sequence_in(&table, topic).map_err(|e| self.io(e))?;
        let cut = last.saturating_sub(keep);
        if cut == 0 {
            return Ok(0);
        }
        let below = history_key(topic, cut);
        let mut removed = 0;
        table
            .retain_in(from.as_slice()..=below.as_slice(), |_, _| {
                removed += 1;
                false
            })
            .map_err(|e| self.io(e))?;
        Ok(removed)
    }

    /// Records that `subscription` processed everything from `publisher` on `topic` up to
    /// `sequence`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn set_cursor(
        &mut self,
        subscription: &str,
        publisher: &[u8; 32],
        topic: &TopicId,
        sequence: u64,
    ) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(CURSORS).map_err(|e| self.io(e))?;
        let key = cursor_key(subscription, publisher, topic);
        table
            .insert(key.as_slice(), sequence)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Keeps a DTN bundle in custody (`value`: [`crate::dtn::StoredBundle::encode`]).
    ///
    /// # Errors
    /// I/O failures.
    pub fn put_bundle(&mut self, id: &[u8; 32], value: &[u8]) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(BUNDLES).map_err(|e| self.io(e))?;
        table.insert(id.as_slice(), value).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Forgets a DTN bundle.
    ///
    /// # Errors
    /// I/O failures.
    pub fn remove_bundle(&mut self, id: &[u8; 32]) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(BUNDLES).map_err(|e| self.io(e))?;
        table.remove(id.as_slice()).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Writes application state, committed atomically with the cursors of this
    /// transaction.
    ///
    /// # Errors
    /// I/O failures.
    pub fn put_app(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut table = self.txn.open_table(APP).map_err(|e| self.io(e))?;
        table.insert(key, value).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Reads application state as this transaction sees it.
    ///
    /// # Errors
    /// I/O failures.
    pub fn app(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.txn.open_table(APP).map_err(|e| self.io(e))?;
        let value = table.get(key).map_err(|e| self.io(e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Makes everything durable (fsync) and visible.
    ///
    /// # Errors
    /// I/O failures; the transaction's changes are then lost.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.txn.commit().map_err(|e| StoreError::Io {
            path,
            detail: e.to_string(),
        })
    }
}
