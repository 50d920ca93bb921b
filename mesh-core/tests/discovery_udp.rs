//! Discovery over real UDP sockets on loopback: four nodes join through one seed, learn each
//! other's link addresses and topics, and detect a node whose task stopped.
#![cfg(feature = "net")]

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mesh_core::discovery::udp::UdpDiscovery;
use mesh_core::discovery::{Discovery, DiscoveryConfig, MemberState};
use mesh_core::envelope::TopicId;
use mesh_core::identity::NodeKey;
use mesh_core::security::{SecurityConfig, SecurityMode, SecurityPolicy, TrustStore};

#[tokio::test]
async fn four_nodes_find_each_other_and_notice_a_death() {
    let keys: Vec<Arc<NodeKey>> = (0..4u8)
        .map(|i| Arc::new(NodeKey::from_seed(&[70 + i; 32])))
        .collect();
    let mut trust = TrustStore::new();
    for k in &keys {
        trust.add_publisher(k.public());
    }
    let policy = Arc::new(SecurityPolicy::new(
        SecurityConfig {
            mode: SecurityMode::Lightweight,
            ..SecurityConfig::default()
        },
        trust,
    ));
    let config = DiscoveryConfig {
        period_ns: 50_000_000,
        ping_timeout_ns: 20_000_000,
        ..DiscoveryConfig::default()
    };
    let epoch = Instant::now();
    let sockets: Vec<UdpSocket> = (0..4)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let seed = sockets[0].local_addr().unwrap();
    let mut nodes = Vec::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        let gossip = socket.local_addr().unwrap();
        let mut d = Discovery::new(
            Arc::clone(&keys[i]),
            gossip,
            vec![([127, 0, 0, 1], 7100 + i as u16).into()],
            (vec![], vec![TopicId::of(&format!("/n{i}/cmd"))]),
            config.clone(),
            i as u64,
            0,
        );
        d.add_seed(seed);
        nodes.push(UdpDiscovery::spawn_on(socket, d, Arc::clone(&policy), epoch).unwrap());
    }
    let everyone_sees = |nodes: &[UdpDiscovery], alive: usize| {
        nodes.iter().all(|n| {
            n.state()
                .members()
                .filter(|m| m.state == MemberState::Alive)
                .count()
                == alive
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !everyone_sees(&nodes, 3) {
        assert!(Instant::now() < deadline, "no convergence over UDP in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The routing table has node 2's link address and its interest.
    {
        let table = nodes[1].state();
        let route = table.route(&keys[2].public()).unwrap().to_vec();
        assert_eq!(route, [std::net::SocketAddr::from(([127, 0, 0, 1], 7102))]);
        assert_eq!(
            table.interested_in(&TopicId::of("/n2/cmd")),
            [keys[2].public()]
        );
    }
    // Node 3 stops: the others declare it dead.
    let victim = keys[3].public();
    drop(nodes.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dead = nodes.iter().all(|n| {
            n.state()
                .member(&victim)
                .is_some_and(|m| m.state == MemberState::Dead)
        });
        if dead {
            break;
        }
        assert!(Instant::now() < deadline, "node 3 never declared dead");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
