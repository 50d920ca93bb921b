//! Links between hosts: byte-stream framing, the mutual identity handshake and negotiated
//! compression (all sans-IO),
//! and the TCP link runtime (tokio) that drives them. A link carries envelopes and delivery
//! control frames between two authenticated nodes (usually two hosts' daemons).

pub mod compress;
pub mod frame;
pub mod handshake;
#[cfg(feature = "quic")]
pub mod quic;
#[cfg(feature = "quic")]
mod quic_writer;
pub mod redial;
pub mod tcp;
