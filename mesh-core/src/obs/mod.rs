//! Observability of a node or host: its Prometheus registry (node data path, security
//! rejections, WCET overruns), its health state, and a small HTTP endpoint that serves
//! `/metrics` (OpenMetrics text), `/healthz` (alive) and `/readyz` (ready for traffic).
//!
//! ```
//! use mesh_core::obs::{Health, ObsServer};
//! use prometheus_client::registry::Registry;
//!
//! let health = Health::new();
//! let server = ObsServer::start("127.0.0.1:0".parse().unwrap(), Registry::default(), health.clone())
//!     .unwrap();
//! assert_eq!(server.get("/readyz").unwrap().0, 503); // starting
//! health.set_ready();
//! assert_eq!(server.get("/readyz").unwrap().0, 200);
//! health.set_draining(); // shutting down: not ready first, still alive
//! assert_eq!(server.get("/readyz").unwrap().0, 503);
//! assert_eq!(server.get("/healthz").unwrap().0, 200);
//! ```

mod health;
mod router;
mod security;
mod server;

pub use health::{Health, HealthState};
pub use router::RouterCollector;
pub use security::RejectCollector;
pub use server::{get, ObsError, ObsServer};
