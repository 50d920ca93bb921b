//! Two hosts in one process (each host is its own shared-memory prefix with its own daemon):
//! the daemons find each other through discovery, link over TCP on loopback, and a message
//! published by a node on one host reaches a subscriber on the other, with its publisher's
//! verified DID, in both directions; a topic nobody wants does not cross.
#![cfg(all(feature = "shm", feature = "quic"))]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_core::daemon::{Daemon, DaemonConfig, LinkTransport};
use mesh_core::identity::NodeKey;
use mesh_core::node::Node;
use mesh_core::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};
use mesh_core::transport::shm::ShmTransport;
use omni_msgs::std_msgs::msg::String as Text;

fn security() -> SecurityConfig {
    SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    }
}

fn trust(keys: &[&NodeKey]) -> TrustStore {
    let mut t = TrustStore::new();
    for k in keys {
        t.add_publisher(k.public());
    }
    t
}

fn daemon_config(prefix: &str, seeds: Vec<std::net::SocketAddr>) -> DaemonConfig {
    transport_config(prefix, seeds, LinkTransport::Tcp)
}

use common::daemon_config as transport_config;

#[test]
fn messages_cross_hosts_through_the_daemons_both_ways() {
    cross_hosts(LinkTransport::Tcp, "t");
}

#[test]
fn messages_cross_hosts_over_quic_links() {
    cross_hosts(LinkTransport::Quic, "q");
}

fn cross_hosts(transport: LinkTransport, tag: &str) {
    let pid = std::process::id();
    let (host_a, host_b) = (format!("omhosta{tag}{pid}_"), format!("omhostb{tag}{pid}_"));
    let (da, db) = (
        Arc::new(NodeKey::from_seed(&[91; 32])),
        Arc::new(NodeKey::from_seed(&[92; 32])),
    );
    let (robot, base) = (NodeKey::from_seed(&[93; 32]), NodeKey::from_seed(&[94; 32]));
    let everyone = [&*da, &*db, &robot, &base];
    let policy = || SecurityPolicy::new(security(), trust(&everyone));

    let daemon_a = Daemon::start(
        transport_config(&host_a, vec![], transport),
        Arc::clone(&da),
        policy(),
    )
    .unwrap();
    let seed = daemon_a.gossip_addr();
    let daemon_b = Daemon::start(
        transport_config(&host_b, vec![seed], transport),
        Arc::clone(&db),
        policy(),
    )
    .unwrap();

    // Host A: a robot publishing odometry and listening for commands.
    let robot_node = Node::builder("robot", ShmTransport::with_prefix(&host_a).unwrap())
        .key(NodeKey::from_seed(&[93; 32]))
        .security(security())
        .trust(trust(&everyone))
        // Reliable topics: lossless shared-memory hops, TCP between hosts.
        .lossless(true)
        .build()
        .unwrap();
    let mut odom = robot_node.publisher::<Text>("/fleet/odom", 256).unwrap();
    let mut cmds = robot_node.subscriber::<Text>("/fleet/cmd", 256).unwrap();
    let mut local_only = robot_node.publisher::<Text>("/fleet/debug", 256).unwrap();
    // Host B: a base station listening to odometry and sending commands.
    let base_node = Node::builder("base", ShmTransport::with_prefix(&host_b).unwrap())
        .key(NodeKey::from_seed(&[94; 32]))
        .security(security())
        .trust(trust(&everyone))
        .lossless(true)
        .build()
        .unwrap();
    let mut odom_in = base_node.subscriber::<Text>("/fleet/odom", 256).unwrap();
    let mut cmd_out = base_node.publisher::<Text>("/fleet/cmd", 256).unwrap();

    // Publish until the other side hears (discovery, links and channel scans take a moment).
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut heard_odom, mut heard_cmd) = (None, None);
    let mut i = 0u32;
    while (heard_odom.is_none() || heard_cmd.is_none()) && Instant::now() < deadline {
        i += 1;
        odom.publish(&Text {
            data: format!("odom {i}"),
        })
        .unwrap();
        cmd_out
            .publish(&Text {
                data: format!("cmd {i}"),
            })
            .unwrap();
        local_only
            .publish(&Text {
                data: "debug".into(),
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        while let Some(s) = odom_in.try_recv().unwrap() {
            assert_eq!(
                s.sender(),
                robot_node.did(),
                "verified publisher across hosts"
            );
            heard_odom = Some(s.data.as_str().to_owned());
        }
        while let Some(s) = cmds.try_recv().unwrap() {
            assert_eq!(s.sender(), base_node.did());
            heard_cmd = Some(s.data.as_str().to_owned());
        }
    }
    assert!(heard_odom.is_some(), "odometry never reached host B");
    assert!(heard_cmd.is_some(), "commands never reached host A");
    // Then a stream on the reliable topic: 200 messages arrive once each, in order, no gap,
    // although this 2-core machine runs seven busy threads. The reader is its own thread
    // with its own node (a lossless chain must not loop back into its own publisher).
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (warm_tx, warm_rx) = std::sync::mpsc::channel();
    let reader = {
        let (host_b, trusted) = (host_b.clone(), trust(&everyone));
        std::thread::spawn(move || {
            let node = Node::builder("logger", ShmTransport::with_prefix(&host_b).unwrap())
                .security(security())
                .trust(trusted)
                .lossless(true)
                .build()
                .unwrap();
            let mut sub = node.subscriber::<Text>("/fleet/odom", 256).unwrap();
            ready_tx.send(()).unwrap();
            let mut seqs = Vec::new();
            let mut warm = false;
            let deadline = Instant::now() + Duration::from_secs(30);
            while seqs.len() < 200 && Instant::now() < deadline {
                if let Some(s) = sub.recv_timeout(Duration::from_millis(100)).unwrap() {
                    if s.data.as_str().starts_with("stream") {
                        seqs.push(s.sequence());
                    } else if !warm {
                        warm = true;
                        warm_tx.send(()).unwrap();
                    }
                }
            }
            // Verified once for the host: the daemon checked the signatures, this
            // subscriber checked the daemon's tags.
            let attested = node.policy().counters().host_attested();
            (seqs, sub.lost(), attested)
        })
    };
    ready_rx.recv().unwrap();
    // The logger keeps host B interested; the first subscriber can go (a lossless channel
    // would otherwise wait for it). Warm up until the logger hears the robot.
    drop(odom_in);
    let warm_deadline = Instant::now() + Duration::from_secs(10);
    while warm_rx.try_recv().is_err() {
        assert!(
            Instant::now() < warm_deadline,
            "the logger never heard the robot"
        );
        odom.publish(&Text {
            data: "warm up".into(),
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = odom.next_sequence();
    for k in 0..200u32 {
        odom.publish(&Text {
            data: format!("stream {k}"),
        })
        .unwrap();
        std::thread::sleep(Duration::from_micros(500));
    }
    let (seqs, lost, attested) = reader.join().unwrap();
    assert_eq!(
        seqs,
        (first..first + 200).collect::<Vec<_>>(),
        "exactly once, in order (daemon A {:?}, daemon B {:?}, publisher stalled {})",
        daemon_a.stats(),
        daemon_b.stats(),
        odom.stalled_drops()
    );
    assert_eq!(lost, 0);
    assert!(
        attested >= 200,
        "frames from host A should be accepted on daemon B's attestation: {attested}"
    );
    // The host key is for the daemon's user only, and goes with the daemon.
    let key_file = mesh_core::security::attest::key_path(&host_b);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // /fleet/debug has no subscriber anywhere: the daemons never even subscribed to it.
    let (a, b) = (daemon_a.stats(), daemon_b.stats());
    eprintln!("daemon A: {a:?}\ndaemon B: {b:?}");
    assert!(a.forwarded >= 200 && b.delivered >= 200);
    assert_eq!(b.rejected + a.rejected, 0);
    drop((odom, cmds, local_only, cmd_out, robot_node, base_node));
    daemon_b.stop().unwrap();
    daemon_a.stop().unwrap();
    assert!(!key_file.exists(), "a stopped daemon leaves no host key");
    common::remove_shm_prefix(&host_a);
    common::remove_shm_prefix(&host_b);
}

#[test]
fn a_service_on_one_host_answers_a_client_on_another() {
    use omni_msgs::std_srvs::srv::{SetBool, SetBoolRequest, SetBoolResponse};
    let pid = std::process::id();
    let (host_a, host_b) = (format!("omsvca{pid}_"), format!("omsvcb{pid}_"));
    let (da, db) = (
        Arc::new(NodeKey::from_seed(&[95; 32])),
        Arc::new(NodeKey::from_seed(&[96; 32])),
    );
    let (server_key, client_key) = (NodeKey::from_seed(&[97; 32]), NodeKey::from_seed(&[98; 32]));
    let everyone = [&*da, &*db, &server_key, &client_key];
    let policy = || SecurityPolicy::new(security(), trust(&everyone));
    let daemon_a =
        Daemon::start(daemon_config(&host_a, vec![]), Arc::clone(&da), policy()).unwrap();
    let seed = daemon_a.gossip_addr();
    let daemon_b = Daemon::start(
        daemon_config(&host_b, vec![seed]),
        Arc::clone(&db),
        policy(),
    )
    .unwrap();
    let client_did = client_key.did();
    // The server runs on host A in its own thread (a node and its ports stay on one thread).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let (host_a, trusted, stop) = (host_a.clone(), trust(&everyone), Arc::clone(&stop));
        std::thread::spawn(move || {
            let node = Node::builder("arm", ShmTransport::with_prefix(&host_a).unwrap())
                .key(NodeKey::from_seed(&[97; 32]))
                .security(security())
                .trust(trusted)
                .build()
                .unwrap();
            let mut service = node.service::<SetBool>("/arm/enable", 256).unwrap();
            let mut served = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let answered = service
                    .serve_once(Duration::from_millis(50), |req| SetBoolResponse {
                        success: req.data,
                        message: format!("armed for {}", req.sender()),
                    })
                    .unwrap();
                served += usize::from(answered);
            }
            served
        })
    };
    let node = Node::builder("operator", ShmTransport::with_prefix(&host_b).unwrap())
        .key(NodeKey::from_seed(&[98; 32]))
        .security(security())
        .trust(trust(&everyone))
        .build()
        .unwrap();
    let mut client = node.client::<SetBool>("/arm/enable", 256).unwrap();
    // Until discovery has matched both topics of the service (request and reply), a call can
    // time out, as a ROS 2 client waits for its service; then calls succeed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        match client.call(&SetBoolRequest { data: true }, Duration::from_millis(300)) {
            Ok(reply) => break reply,
            Err(_) if Instant::now() < deadline => continue,
            Err(e) => panic!("no reply across hosts: {e}"),
        }
    };
    assert!(reply.success);
    assert_eq!(reply.message.as_str(), format!("armed for {client_did}"));
    assert_eq!(
        reply.sender(),
        server_key.did(),
        "the reply is verified as the server's"
    );
    // Once matched, calls answer every time.
    for i in 0..10 {
        let reply = client
            .call(&SetBoolRequest { data: i % 2 == 0 }, Duration::from_secs(5))
            .unwrap();
        assert_eq!(reply.success, i % 2 == 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    assert!(server.join().unwrap() >= 11);
    drop((client, node));
    daemon_b.stop().unwrap();
    daemon_a.stop().unwrap();
    common::remove_shm_prefix(&host_a);
    common::remove_shm_prefix(&host_b);
}
