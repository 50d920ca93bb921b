//! The daemon's DTN glue (runs on the network thread): local frames of DTN topics go into
//! custody, DTN frames from peers go through the [`Dtn`] state machine with the router's
//! admission, deliveries are handed to the shared-memory thread, and held bundles are
//! offered to connected peers on every tick.

use std::cell::RefCell;

use bytes::Bytes;

use crate::dtn::wire::BundleId;
use crate::dtn::{Action, Change, Dtn, PeerKey, StoredBundle};
use crate::router::Router;
use crate::store::{Store, StoreError};

/// What a DTN frame from a peer led to.
pub(super) struct Outcome {
    /// Envelopes for local subscribers: (local channel, envelope).
    pub deliver: Vec<(String, Bytes)>,
    /// Frames for peers.
    pub send: Vec<(PeerKey, Bytes)>,
}

/// The DTN state of the daemon.
pub(super) struct DtnSide {
    dtn: RefCell<Dtn>,
    /// Custody survives restarts when the daemon has a store.
    store: Option<std::sync::Arc<Store>>,
    tamper: bool,
    logged: RefCell<(crate::dtn::DtnStats, Option<std::time::Instant>)>,
}

impl DtnSide {
    /// The DTN state, with the bundles `store` kept from an earlier run.
    pub(super) fn new(
        settings: &super::DtnSettings,
        store: Option<std::sync::Arc<Store>>,
    ) -> Result<Self, StoreError> {
        let mut dtn = Dtn::new(settings.config);
        if let Some(store) = &store {
            let kept: Vec<(BundleId, StoredBundle)> = store
                .bundles()?
                .into_iter()
                .filter_map(|(id, bytes)| Some((BundleId(id), StoredBundle::decode(&bytes)?)))
                .collect();
            if !kept.is_empty() {
                tracing::info!(bundles = kept.len(), "dtn custody restored from the store");
            }
            dtn.restore(kept);
        }
        Ok(Self {
            dtn: RefCell::new(dtn),
            store,
            tamper: settings.fault_tamper,
            logged: RefCell::default(),
        })
    }

    /// Makes custody changes durable; false if the store failed (then no custody may be
    /// acknowledged).
    fn persist(&self) -> bool {
        let changes = self.dtn.borrow_mut().take_changes();
        let Some(store) = &self.store else {
            return true;
        };
        if changes.is_empty() {
            return true;
        }
        let written = store.write().and_then(|mut txn| {
            for change in &changes {
                match change {
                    Change::Held(id, bundle) => txn.put_bundle(&id.0, &bundle.encode())?,
                    Change::Released(id) => txn.remove_bundle(&id.0)?,
                }
            }
            txn.commit()
        });
        if let Err(e) = &written {
            tracing::error!(error = %e, "dtn: cannot store custody changes");
        }
        written.is_ok()
    }

    /// A local envelope of a DTN topic: into custody.
    pub(super) fn originate(&self, envelope: Bytes, now_ns: u64) {
        if let Err(e) = self.dtn.borrow_mut().originate(envelope, now_ns) {
            tracing::warn!(error = %e, "not a bundle");
        }
    }

    /// A DTN frame from `peer`.
    pub(super) fn on_frame(
        &self,
        router: &mut Router,
        peer: PeerKey,
        frame: &Bytes,
        now_ns: u64,
    ) -> Outcome {
        let mut topic = None;
        let actions = {
            let router_cell = RefCell::new(&mut *router);
            self.dtn.borrow_mut().on_frame(
                peer,
                frame,
                now_ns,
                |envelope| match router_cell.borrow_mut().admit_carried(envelope, now_ns) {
                    Ok(t) => {
                        topic = Some(t);
                        true
                    }
                    Err(e) => {
                        tracing::warn!(reason = e.reason().as_str(), "refusing a bundle");
                        false
                    }
                },
                |t| router_cell.borrow().local_subscribed(t).is_some(),
                |t| router_cell.borrow().anyone_wants(t),
            )
        };
        let mut outcome = Outcome {
            deliver: Vec::new(),
            send: Vec::new(),
        };
        // Custody is durable before it is acknowledged.
        let durable = self.persist();
        for action in actions {
            match action {
                Action::Deliver { envelope } => {
                    if let Some(name) = topic.and_then(|t| router.local_subscribed(&t)) {
                        outcome.deliver.push((name, envelope));
                    }
                }
                Action::Send { peer, frame } if durable => {
                    outcome.send.push((peer, self.outgoing(frame)));
                }
                Action::Send { .. } => {}
            }
        }
        outcome
    }

    /// Expires bundles and offers held ones to the connected `peers`.
    pub(super) fn contacts(
        &self,
        router: &Router,
        peers: impl Iterator<Item = PeerKey>,
        now_ns: u64,
    ) -> Vec<(PeerKey, Bytes)> {
        let mut dtn = self.dtn.borrow_mut();
        dtn.tick(now_ns);
        let mut out = Vec::new();
        for peer in peers {
            let custodian = router.is_custodian(&peer);
            for action in dtn.contact(peer, |t| router.peer_wants(&peer, t), custodian, now_ns) {
                if let Action::Send { peer, frame } = action {
                    out.push((peer, self.outgoing(frame)));
                }
            }
        }
        drop(dtn);
        // Expiries and bundles originated since the last tick.
        self.persist();
        out
    }

    /// Logs the counters (info) when they changed, at most once a second.
    pub(super) fn log_stats(&self) {
        let dtn = self.dtn.borrow();
        let (stats, (held, bytes)) = (dtn.stats(), dtn.held());
        let mut logged = self.logged.borrow_mut();
        let due = logged
            .1
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1));
        if stats == logged.0 || !due {
            return;
        }
        *logged = (stats, Some(std::time::Instant::now()));
        tracing::info!(
            originated = stats.originated,
            accepted = stats.accepted,
            delivered = stats.delivered,
            offered = stats.offered,
            released = stats.released,
            duplicates = stats.duplicates,
            expired = stats.expired,
            evicted = stats.evicted,
            rejected = stats.rejected,
            malformed = stats.malformed,
            held,
            bytes,
            "dtn"
        );
    }

    /// Fault injection: a tampering relay flips the first payload byte of bundles it sends.
    fn outgoing(&self, frame: Bytes) -> Bytes {
        const FIRST_PAYLOAD_BYTE: usize = 13 + crate::envelope::HEADER_LEN;
        if !self.tamper || !frame.starts_with(b"OMBD") || frame.len() <= FIRST_PAYLOAD_BYTE {
            return frame;
        }
        let mut altered = frame.to_vec();
        altered[FIRST_PAYLOAD_BYTE] ^= 0x01;
        Bytes::from(altered)
    }
}
