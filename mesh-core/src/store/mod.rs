//! `mesh-core::store`: a node's persistent state in one embedded database file (redb): the
//! publisher epoch (never repeated across restarts), durable history of durable topics
//! (the signed envelopes, retransmitted after crashes), delivery cursors of durable
//! subscriptions, and application state written in the same transaction as a cursor (so
//! "processed" and "acknowledged" cannot disagree after a crash).
//!
//! Why redb: a pure-Rust, single-file, ACID store with copy-on-write B-trees and two
//! checksummed commit slots, so a crash at any point leaves the last committed state; no
//! background threads and no C toolchain. Every commit is durable (`fsync`; on Linux redb's
//! "eventual" level syncs too), about 2.5 ms on this machine kind, so writers group work:
//! a durable publisher stores a batch of messages per commit, a durable subscriber
//! acknowledges everything one drain processed in one commit.
//!
//! One process opens a store at a time (redb locks the file); other processes reach a
//! store's history through its owner (the resume protocol of durable topics).

mod tables;
mod txn;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, ReadableTableMetadata};

use crate::envelope::TopicId;
pub use txn::StoreTxn;

use tables::{history_key, CURSORS, HISTORY, META};

/// The store failed; the message names the file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file is damaged (for example truncated). Recovery: stop the node, move the file
    /// aside (it can be inspected), start again with an empty store: the node takes a new
    /// epoch from the wall clock, durable subscriptions start over from what publishers
    /// still retain (docs/persistence.md).
    #[error(
        "store {path} is damaged ({detail}); move it aside and restart with an empty store \
         (see docs/persistence.md, \"Recovering a damaged store\")"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What redb found.
        detail: String,
    },
    /// Another process has the store open.
    #[error("store {0} is open in another process (one process per store)")]
    InUse(PathBuf),
    /// Reading or writing failed.
    #[error("store {path}: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        detail: String,
    },
}

/// A DTN bundle as the store keeps it: its id and its stored bytes.
pub type KeptBundle = ([u8; 32], Vec<u8>);

/// What `omni-mesh store stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// File size, bytes.
    pub file_bytes: u64,
    /// The current epoch (0: none taken yet).
    pub epoch: u64,
    /// Durable history: per topic id, (messages, bytes, last sequence).
    pub history: Vec<(TopicId, u64, u64, u64)>,
    /// Delivery cursors: (subscription, publisher key, topic id, last processed sequence).
    pub cursors: Vec<(String, [u8; 32], TopicId, u64)>,
    /// Application state entries.
    pub app_entries: u64,
    /// DTN bundles in custody, and their bytes.
    pub bundles: (u64, u64),
}

/// How a store commits (`[store]` in `omni-mesh.toml`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct StoreOptions {
    /// Every commit also saves redb's allocator state and uses a two-phase commit (two
    /// fsyncs instead of one), so reopening after a crash is almost instant (redb's documentation) instead of a
    /// walk over the whole file. Default off: commits stay cheap, recovery grows with the
    /// store's size.
    pub quick_repair: bool,
}

/// A node's persistent state.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
    options: StoreOptions,
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory) if needed.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a damaged file, [`StoreError::InUse`], I/O failures.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// As [`open`](Self::open), with `options`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        }
        if !path.exists() {
            create_atomically(path, options)?;
        }
        let db = open_database(path)?;
        Ok(Self {
            db,
            path: path.to_owned(),
            options,
        })
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a write transaction (commit it to make its changes durable).
    ///
    /// # Errors
    /// I/O failures.
    pub fn write(&self) -> Result<StoreTxn, StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.io(e))?;
        StoreTxn::new(txn, &self.path, self.options)
    }

    /// Takes the next epoch (durably): greater than every epoch this store handed out, and
    /// than `floor` (callers pass the wall clock, so a store started over still moves on).
    ///
    /// # Errors
    /// I/O failures.
    pub fn next_epoch(&self, floor: u64) -> Result<u64, StoreError> {
        let mut txn = self.write()?;
        let next = txn.meta("epoch")?.max(floor).saturating_add(1);
        txn.set_meta("epoch", next)?;
        txn.commit()?;
        Ok(next)
    }

    /// The last stored sequence number of `topic`'s durable history (0: none).
    ///
    /// # Errors
    /// I/O failures.
    pub fn last_sequence(&self, topic: &TopicId) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let table = txn.open_table(HISTORY).map_err(|e| self.io(e))?;
        tables::last_sequence_in(&table, topic).map_err(|e| self.io(e))
    }

    /// Up to `limit` stored envelopes of `topic` with a sequence number above `after`, in
    /// order.
    ///
    /// # Errors
    /// I/O failures.
    pub fn history_after(
        &self,
        topic: &TopicId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let table = txn.open_table(HISTORY).map_err(|e| self.io(e))?;
        let (from, to) = (
            history_key(topic, after.saturating_add(1)),
            history_key(topic, u64::MAX),
        );
        let mut out = Vec::new();
        for item in table
            .range(from.as_slice()..=to.as_slice())
            .map_err(|e| self.io(e))?
            .take(limit)
        {
            let (k, v) = item.map_err(|e| self.io(e))?;
            out.push((tables::sequence_of(k.value()), v.value().to_vec()));
        }
        Ok(out)
    }

    /// The last sequence number `subscription` processed from `publisher` on `topic` (0:
    /// none).
    ///
    /// # Errors
    /// I/O failures.
    pub fn cursor(
        &self,
        subscription: &str,
        publisher: &[u8; 32],
        topic: &TopicId,
    ) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let table = txn.open_table(CURSORS).map_err(|e| self.io(e))?;
        let key = tables::cursor_key(subscription, publisher, topic);
        Ok(table
            .get(key.as_slice())
            .map_err(|e| self.io(e))?
            .map_or(0, |v| v.value()))
    }

    /// Application state under `key` (written with [`StoreTxn::put_app`]).
    ///
    /// # Errors
    /// I/O failures.
    pub fn app(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let table = txn.open_table(tables::APP).map_err(|e| self.io(e))?;
        Ok(table
            .get(key)
            .map_err(|e| self.io(e))?
            .map(|v| v.value().to_vec()))
    }

    /// The DTN bundles in custody: (bundle id, stored bundle bytes).
    ///
    /// # Errors
    /// I/O failures.
    pub fn bundles(&self) -> Result<Vec<KeptBundle>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let table = match txn.open_table(tables::BUNDLES) {
            Ok(t) => t,
            // A store written before bundles existed has no such table yet.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut out = Vec::new();
        for item in table.iter().map_err(|e| self.io(e))? {
            let (k, v) = item.map_err(|e| self.io(e))?;
            if let Ok(id) = <[u8; 32]>::try_from(k.value()) {
                out.push((id, v.value().to_vec()));
            }
        }
        Ok(out)
    }

    /// Sizes, epoch, histories and cursors.
    ///
    /// # Errors
    /// I/O failures.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let mut stats = StoreStats {
            file_bytes: std::fs::metadata(&self.path).map_or(0, |m| m.len()),
            ..StoreStats::default()
        };
        let meta = txn.open_table(META).map_err(|e| self.io(e))?;
        stats.epoch = meta
            .get("epoch")
            .map_err(|e| self.io(e))?
            .map_or(0, |v| v.value());
        let history = txn.open_table(HISTORY).map_err(|e| self.io(e))?;
        for item in history.iter().map_err(|e| self.io(e))? {
            let (k, v) = item.map_err(|e| self.io(e))?;
            let (topic, seq) = (tables::topic_of(k.value()), tables::sequence_of(k.value()));
            let bytes = v.value().len() as u64;
            match stats.history.last_mut() {
                Some(last) if last.0 == topic => {
                    last.1 += 1;
                    last.2 += bytes;
                    last.3 = seq;
                }
                _ => stats.history.push((topic, 1, bytes, seq)),
            }
        }
        let cursors = txn.open_table(CURSORS).map_err(|e| self.io(e))?;
        for item in cursors.iter().map_err(|e| self.io(e))? {
            let (k, v) = item.map_err(|e| self.io(e))?;
            if let Some((sub, publisher, topic)) = tables::split_cursor_key(k.value()) {
                stats.cursors.push((sub, publisher, topic, v.value()));
            }
        }
        let app = txn.open_table(tables::APP).map_err(|e| self.io(e))?;
        stats.app_entries = app.len().map_err(|e| self.io(e))?;
        for (_, value) in self.bundles()? {
            stats.bundles.0 += 1;
            stats.bundles.1 += value.len() as u64;
        }
        Ok(stats)
    }

    fn io(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }
}

/// Creates a new store under a temporary name and renames it into place once its header
/// and tables are durable, so a crash while creating leaves no half-written store behind
/// (a later start would otherwise find a damaged file).
fn create_atomically(path: &Path, options: StoreOptions) -> Result<(), StoreError> {
    let io = |e: &dyn std::fmt::Display| StoreError::Io {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".creating-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let _ = std::fs::remove_file(&tmp);
    {
        let store = Store {
            db: open_database(&tmp)?,
            path: tmp.clone(),
            options,
        };
        // Create the tables, so readers never meet a missing one.
        store.write()?.commit()?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io(&e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&e))?;
    }
    Ok(())
}

/// Opens (or creates) the database. redb 2.6 asserts, instead of returning an error, when a
/// file is shorter than its header says (a truncated store): that panic is caught here and
/// reported as a damaged store, with the panic hook silenced meanwhile so no panic message
/// reaches the user. Opening happens once per node start, so the brief hook swap does not
/// hide other threads' panics in practice.
fn open_database(path: &Path) -> Result<Database, StoreError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(|| Database::create(path));
    std::panic::set_hook(hook);
    match opened {
        Ok(result) => result.map_err(|e| open_error(path, e)),
        Err(_) => Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: "the file is shorter than its header says (truncated)".into(),
        }),
    }
}

/// Maps redb's open errors to ours.
fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.to_owned()),
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            StoreError::Corrupt {
                path: path.to_owned(),
                detail,
            }
        }
        // A file cut short (or not a store at all) fails while reading its header.
        redb::DatabaseError::Storage(redb::StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            StoreError::Corrupt {
                path: path.to_owned(),
                detail: format!("not a complete store file: {io}"),
            }
        }
        other => StoreError::Io {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}
