//! Security policy: modes ([`SecurityMode`]), the [`TrustStore`] of known publishers and the
//! fleet authority, authority-signed [`Grant`]s over [`TopicPattern`]s, [`RevocationList`]s,
//! and the receive path ([`Receiver`]) that rejects cheaply first, verifies once, enforces the
//! ACL and counts every rejection by [`RejectReason`]; [`attest`] lets a host's daemon verify
//! a frame from the network once for all local subscribers.

pub mod attest;
mod gate;
mod grant;
mod mode;
mod trust;

pub use gate::{
    DevelopmentMode, NotDevelopmentMode, PeerId, Receiver, Reject, RejectCounters, RejectReason,
    Route, SecurityPolicy,
};
pub use grant::{Access, Grant, GrantError, PatternError, RevocationList, TopicPattern};
pub use mode::{SecurityConfig, SecurityMode};
pub use trust::{AclError, AnyValidKey, TrustStore};
