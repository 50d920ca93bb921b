//! Services: request/response between nodes, in process and over shared memory; verified
//! client identity on the server; replies matched to their call; timeouts. Every serving loop
//! is bounded.

mod common;

use std::time::Duration;

use mesh_core::identity::NodeKey;
use mesh_core::node::{CallError, Node, ServiceServer};
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::inproc::InProcTransport;
use mesh_core::transport::Transport;
use omni_msgs::std_srvs::srv::{SetBool, SetBoolRequest, SetBoolResponse};

fn lightweight(trusted: &[&NodeKey]) -> (SecurityConfig, TrustStore) {
    let mut trust = TrustStore::new();
    for k in trusted {
        trust.add_publisher(k.public());
    }
    (
        SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        },
        trust,
    )
}

/// Serves up to `n` requests, giving up after `rounds` waits of `wait` without one.
fn serve<T: Transport>(
    server: &mut ServiceServer<'_, SetBool, T>,
    n: usize,
    rounds: usize,
    wait: Duration,
    invert: bool,
) -> usize {
    let mut served = 0;
    for _ in 0..rounds {
        if served == n {
            break;
        }
        let answered = server
            .serve_once(wait, |req| SetBoolResponse {
                success: req.data != invert,
                message: format!("set {}", req.data),
            })
            .unwrap();
        if answered {
            served += 1;
        }
    }
    served
}

#[test]
fn calls_are_answered_and_matched_in_process() {
    let t = InProcTransport::new();
    let (server_key, client_key) = (NodeKey::from_seed(&[1; 32]), NodeKey::from_seed(&[2; 32]));
    let (sec, trust) = lightweight(&[&client_key]);
    let server_node = Node::builder("driver", t.clone())
        .key(NodeKey::from_seed(&[1; 32]))
        .security(sec)
        .trust(trust)
        .build()
        .unwrap();
    let (sec, trust) = lightweight(&[&server_key]);
    let client_node = Node::builder("operator", t)
        .key(NodeKey::from_seed(&[2; 32]))
        .security(sec)
        .trust(trust)
        .build()
        .unwrap();
    let client_did = client_node.did();
    let mut server = server_node
        .service::<SetBool>("/amr_1/enable", 1024)
        .unwrap();
    let mut client = client_node
        .client::<SetBool>("/amr_1/enable", 1024)
        .unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..30 {
                let answered = server
                    .serve_once(Duration::from_secs(1), |req| {
                        assert_eq!(
                            req.sender(),
                            client_did,
                            "the server sees the verified client"
                        );
                        SetBoolResponse {
                            success: req.data,
                            message: format!("set {}", req.data),
                        }
                    })
                    .unwrap();
                if !answered {
                    break;
                }
            }
        });
        for data in [true, false, true] {
            let reply = client
                .call(&SetBoolRequest { data }, Duration::from_secs(5))
                .unwrap();
            assert_eq!(reply.success, data);
            assert_eq!(reply.message.as_str(), format!("set {data}"));
        }
    });
}

#[test]
fn a_call_without_a_server_times_out() {
    let node = Node::builder("lonely", InProcTransport::new())
        .build()
        .unwrap();
    let mut client = node.client::<SetBool>("/nobody", 1024).unwrap();
    let err = client
        .call(&SetBoolRequest { data: true }, Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(err, CallError::Timeout(_)), "{err}");
}

#[test]
fn two_clients_of_one_node_get_their_own_replies() {
    let key = NodeKey::from_seed(&[5; 32]);
    let (sec, trust) = lightweight(&[&key]);
    let node = Node::builder("both", InProcTransport::new())
        .key(NodeKey::from_seed(&[5; 32]))
        .security(sec)
        .trust(trust)
        .build()
        .unwrap();
    let mut server = node.service::<SetBool>("/toggle", 1024).unwrap();
    let mut a = node.client::<SetBool>("/toggle", 1024).unwrap();
    let mut b = node.client::<SetBool>("/toggle", 1024).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(serve(&mut server, 2, 10, Duration::from_secs(5), false), 2));
        assert!(
            a.call(&SetBoolRequest { data: true }, Duration::from_secs(5))
                .unwrap()
                .success
        );
        assert!(
            !b.call(&SetBoolRequest { data: false }, Duration::from_secs(5))
                .unwrap()
                .success
        );
    });
}

#[cfg(feature = "shm")]
#[test]
fn calls_over_shared_memory_between_threads() {
    use mesh_core::transport::shm::ShmTransport;
    let prefix = format!("omsrv{}_", std::process::id());
    let (sec, trust) = lightweight(&[&NodeKey::from_seed(&[2; 32])]);
    let server_prefix = prefix.clone();
    let server = std::thread::spawn(move || {
        let node = Node::builder("driver", ShmTransport::with_prefix(&server_prefix).unwrap())
            .key(NodeKey::from_seed(&[1; 32]))
            .security(sec)
            .trust(trust)
            .build()
            .unwrap();
        let mut server = node.service::<SetBool>("/shm/enable", 1024).unwrap();
        // Serve until the client has gone quiet for a second (it may retry a first call that
        // raced our start-up); at most 30 waits.
        let mut served = 0;
        for _ in 0..30 {
            let answered = serve(&mut server, 1, 1, Duration::from_secs(1), true);
            served += answered;
            if answered == 0 && served >= 3 {
                break;
            }
        }
        served
    });
    let (sec, trust) = lightweight(&[&NodeKey::from_seed(&[1; 32])]);
    let node = Node::builder("operator", ShmTransport::with_prefix(&prefix).unwrap())
        .key(NodeKey::from_seed(&[2; 32]))
        .security(sec)
        .trust(trust)
        .build()
        .unwrap();
    let mut client = node.client::<SetBool>("/shm/enable", 1024).unwrap();
    // The server thread may still be starting: retry the first call, as a client would.
    let mut first = None;
    for _ in 0..10 {
        match client.call(&SetBoolRequest { data: false }, Duration::from_millis(500)) {
            Ok(reply) => {
                first = Some(reply.success);
                break;
            }
            Err(CallError::Timeout(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(first, Some(true));
    for data in [true, false] {
        let reply = client
            .call(&SetBoolRequest { data }, Duration::from_secs(5))
            .unwrap();
        assert_eq!(reply.success, !data);
    }
    assert!(server.join().unwrap() >= 3);
    drop((client, node));
    common::remove_shm_prefix(&prefix);
}
