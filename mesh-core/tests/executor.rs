//! The executor: timers, subscription callbacks, several subscriptions, shared memory.

mod common;

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use mesh_core::node::{Executor, Node};
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::inproc::InProcTransport;
use mesh_core::transport::Transport;
use omni_msgs::geometry_msgs::msg::{Point, Pose};
use omni_msgs::std_msgs::msg::String as StringMsg;

fn listener<T: Transport>(t: T, trusted: &Node<T>) -> Node<T> {
    let mut trust = TrustStore::new();
    trust.add_publisher(trusted.did().public_key());
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    Node::builder("listener", t)
        .security(security)
        .trust(trust)
        .build()
        .unwrap()
}

#[test]
fn timers_fire_on_their_period_without_bursts() {
    let ticks = RefCell::new(Vec::new());
    let start = Instant::now();
    let mut exec = Executor::new();
    exec.timer(Duration::from_millis(10), || {
        ticks.borrow_mut().push(Instant::now())
    });
    exec.spin_for(Duration::from_millis(105)).unwrap();
    drop(exec);
    let ticks = ticks.into_inner();
    // The timer runs, never before its nominal time (tick k at or after start + (k+1) x
    // period), so it can never burst to catch up.
    assert!((3..=11).contains(&ticks.len()), "{} ticks", ticks.len());
    for (k, tick) in ticks.iter().enumerate() {
        let nominal = start + Duration::from_millis(10 * (k as u64 + 1));
        assert!(
            *tick >= nominal,
            "tick {k} came {:?} early",
            nominal - *tick
        );
    }
}

#[test]
fn callbacks_of_several_subscriptions_and_a_timer_publisher() {
    let t = InProcTransport::new();
    let talker = Node::builder("talker", t.clone()).build().unwrap();
    let listener = listener(t, &talker);
    let poses = RefCell::new(Vec::new());
    let texts = RefCell::new(Vec::new());
    let mut pose_pub = talker.publisher::<Pose>("/pose", 1024).unwrap();
    let mut text_pub = talker.publisher::<StringMsg>("/text", 1024).unwrap();
    let count = Cell::new(0u64);
    let mut exec = Executor::new();
    exec.subscription(listener.subscriber::<Pose>("/pose", 1024).unwrap(), |s| {
        poses.borrow_mut().push(s.position.x.to_native());
    });
    exec.subscription(
        listener.subscriber::<StringMsg>("/text", 1024).unwrap(),
        |s| {
            texts.borrow_mut().push(s.data.as_str().to_owned());
        },
    );
    exec.timer(Duration::from_millis(5), || {
        let n = count.get() + 1;
        count.set(n);
        if n <= 4 {
            pose_pub
                .publish(&Pose {
                    position: Point {
                        x: n as f64,
                        ..Point::default()
                    },
                    ..Pose::default()
                })
                .unwrap();
            text_pub
                .publish(&StringMsg {
                    data: format!("t{n}"),
                })
                .unwrap();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while (poses.borrow().len() < 4 || texts.borrow().len() < 4) && Instant::now() < deadline {
        exec.spin_once(Duration::from_millis(50)).unwrap();
    }
    drop(exec);
    assert_eq!(poses.into_inner(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(texts.into_inner(), ["t1", "t2", "t3", "t4"]);
}

#[cfg(feature = "shm")]
#[test]
fn a_subscription_over_shared_memory_is_served_by_spin_once() {
    use mesh_core::identity::NodeKey;
    use mesh_core::transport::shm::ShmTransport;
    let prefix = format!("omexec{}_", std::process::id());
    let seed = [8u8; 32];
    let publisher_thread = {
        let prefix = prefix.clone();
        std::thread::spawn(move || {
            let talker = Node::builder("talker", ShmTransport::with_prefix(&prefix).unwrap())
                .key(NodeKey::from_seed(&seed))
                .build()
                .unwrap();
            let mut p = talker.publisher::<StringMsg>("/wake", 1024).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            p.update().unwrap();
            for i in 1..=3 {
                p.publish(&StringMsg {
                    data: format!("w{i}"),
                })
                .unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut trust = TrustStore::new();
    trust.add_publisher(NodeKey::from_seed(&seed).public());
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    let node = Node::builder("listener", ShmTransport::with_prefix(&prefix).unwrap())
        .security(security)
        .trust(trust)
        .build()
        .unwrap();
    let got = RefCell::new(Vec::new());
    let mut exec = Executor::new();
    exec.subscription(node.subscriber::<StringMsg>("/wake", 1024).unwrap(), |s| {
        got.borrow_mut().push(s.data.as_str().to_owned());
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.borrow().len() < 3 && Instant::now() < deadline {
        exec.spin_once(Duration::from_secs(1)).unwrap();
    }
    drop(exec);
    publisher_thread.join().unwrap();
    assert_eq!(got.into_inner(), ["w1", "w2", "w3"]);
    common::remove_shm_prefix(&prefix);
}
