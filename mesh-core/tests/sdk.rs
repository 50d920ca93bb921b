//! The point-to-point SDK facade: letters by DID, verified senders, health, shutdown.

mod common;

use std::time::Duration;

use mesh_core::config::Config;
use mesh_core::identity::NodeKey;
use mesh_core::sdk::{OmnimeshClientBuilder, SdkError, MAX_BODY};
use mesh_core::security::{SecurityConfig, SecurityMode};
use mesh_core::transport::inproc::InProcTransport;

fn lightweight() -> Config {
    Config {
        security: SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        },
        ..Config::default()
    }
}

#[test]
fn letters_between_two_clients_in_process() {
    let t = InProcTransport::new();
    let (a_key, b_key) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
    let (a_did, b_did) = (a_key.did(), b_key.did());
    let mut a = OmnimeshClientBuilder::default()
        .with_config(lightweight())
        .name("a")
        .key(a_key)
        .trust(&b_did)
        .build_on(t.clone())
        .unwrap();
    let mut b = OmnimeshClientBuilder::default()
        .with_config(lightweight())
        .name("b")
        .key(b_key)
        .trust(&a_did)
        .build_on(t)
        .unwrap();
    a.send(&b_did, "text", b"hello b").unwrap();
    let got = b
        .receive_timeout(Duration::from_secs(1))
        .unwrap()
        .expect("a letter");
    assert_eq!(
        (got.from, got.kind.as_str(), got.body.as_slice()),
        (a_did, "text", &b"hello b"[..])
    );
    b.send(&a_did, "json", br#"{"ok":true}"#).unwrap();
    let reply = a
        .receive_timeout(Duration::from_secs(1))
        .unwrap()
        .expect("a reply");
    assert_eq!(reply.from, b_did);
    assert!(a
        .receive_timeout(Duration::from_millis(20))
        .unwrap()
        .is_none());
    let health = a.health();
    assert_eq!((health.did, health.sent, health.received), (a_did, 1, 1));
    assert!(matches!(
        a.send(&b_did, "big", &vec![0; MAX_BODY + 1]),
        Err(SdkError::TooLarge(_))
    ));
    a.shutdown();
    b.shutdown();
}

#[test]
fn letters_from_untrusted_senders_are_dropped() {
    let t = InProcTransport::new();
    let mut target = OmnimeshClientBuilder::default()
        .with_config(lightweight())
        .name("target")
        .build_on(t.clone())
        .unwrap();
    let mut stranger = OmnimeshClientBuilder::default()
        .name("stranger")
        .build_on(t)
        .unwrap();
    stranger.send(&target.did(), "text", b"let me in").unwrap();
    assert!(target
        .receive_timeout(Duration::from_millis(50))
        .unwrap()
        .is_none());
    assert_eq!(target.health().dropped, (1, 0));
}

#[cfg(feature = "shm")]
#[test]
fn letters_over_shared_memory() {
    use mesh_core::transport::shm::ShmTransport;
    let prefix = format!("omsdk{}_", std::process::id());
    let (a_key, b_key) = (NodeKey::from_seed(&[3; 32]), NodeKey::from_seed(&[4; 32]));
    let (a_did, b_did) = (a_key.did(), b_key.did());
    let mut b = OmnimeshClientBuilder::default()
        .with_config(lightweight())
        .key(b_key)
        .trust(&a_did)
        .build_on(ShmTransport::with_prefix(&prefix).unwrap())
        .unwrap();
    let mut a = OmnimeshClientBuilder::default()
        .with_config(lightweight())
        .key(a_key)
        .build_on(ShmTransport::with_prefix(&prefix).unwrap())
        .unwrap();
    a.send(&b_did, "text", b"over shm").unwrap();
    let got = b
        .receive_timeout(Duration::from_secs(2))
        .unwrap()
        .expect("a letter");
    assert_eq!((got.from, got.body.as_slice()), (a_did, &b"over shm"[..]));
    a.shutdown();
    b.shutdown();
    common::remove_shm_prefix(&prefix);
}
