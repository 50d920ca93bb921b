//! Links between hosts: byte-stream framing and the mutual identity handshake (both sans-IO),
//! and the TCP link runtime (tokio) that drives them. A link carries envelopes and delivery
//! control frames between two authenticated nodes (usually two hosts' daemons).

pub mod frame;
pub mod handshake;
#[cfg(feature = "quic")]
pub mod quic;
pub mod tcp;
