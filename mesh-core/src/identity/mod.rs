//! Node identity: Ed25519 keys ([`NodeKey`], [`PublicKey`]), `did:key` identifiers ([`Did`])
//! and key files (PKCS#8 PEM, created `0600`, refused when group- or world-readable).

mod did;
mod keyfile;
mod keys;

pub use did::{Did, DidError};
pub use keyfile::{load_key_file, write_key_file, KeyFileError};
pub use keys::{NodeKey, PublicKey, PublicKeyError};
