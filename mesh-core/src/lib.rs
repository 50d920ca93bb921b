//! OMNI-MESH middleware core.
//!
//! Modules so far:
//! - [`identity`]: Ed25519 node keys, `did:key`, key files;
//! - [`envelope`]: the signed envelope v1 wire format with typestate (only signed envelopes are
//!   sent, only verified ones delivered), single and Merkle-batch signatures;
//! - [`security`]: modes, trust store, authority grants, topic ACL, revocations, and the
//!   receive path with counted cheap rejection;
//! - [`replay`]: epochs and sequence windows for replay protection;
//! - [`config`]: the typed node configuration;
//! - [`discovery`]: SWIM gossip membership, signed announcements, DID -> address routing;
//! - [`router`]: the per-host router's forwarding decisions (interest, dedup, no loops);
//! - [`obs`]: Prometheus registry, health state, `/metrics` `/healthz` `/readyz` endpoint;
//! - [`rt`]: WCET guards, CPU pinning, `SCHED_FIFO`;
//! - `net` (feature `net`, default): links between hosts (framing, identity handshake, TCP).

pub mod config;
#[cfg(all(feature = "shm", feature = "quic"))]
pub mod daemon;
pub mod delivery;
pub mod discovery;
pub mod dtn;
pub mod envelope;
pub mod identity;
#[cfg(feature = "net")]
pub mod net;
pub mod node;
pub mod obs;
pub mod replay;
pub mod router;
pub mod rt;
pub mod sdk;
pub mod security;
pub mod store;
pub mod transport;

#[doc(hidden)]
pub mod fuzzing;
