//! The executor: timers, subscription callbacks, several subscriptions, shared memory.

mod common;

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use mesh_core::identity::NodeKey;
use mesh_core::node::{Executor, Node};
use mesh_core::security::{SecurityConfig, SecurityMode, TrustStore};
use mesh_core::transport::inproc::InProcTransport;
use mesh_core::transport::Transport;
use omni_msgs::geometry_msgs::msg::{Point, Pose};
use omni_msgs::std_msgs::msg::String as StringMsg;
use omni_msgs::std_srvs::srv::{SetBool, SetBoolRequest, SetBoolResponse};

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

/// Lightweight security trusting `keys`.
fn trusting(keys: &[&NodeKey]) -> (SecurityConfig, TrustStore) {
    let mut trust = TrustStore::new();
    for k in keys {
        trust.add_publisher(k.public());
    }
    let security = SecurityConfig {
        mode: SecurityMode::Lightweight,
        ..SecurityConfig::default()
    };
    (security, trust)
}

#[test]
fn a_service_callback_answers_calls_from_another_thread() {
    let t = InProcTransport::new();
    let (server_key, client_key) = (NodeKey::from_seed(&[21; 32]), NodeKey::from_seed(&[22; 32]));
    let (security, trust) = trusting(&[&server_key, &client_key]);
    let server_node = Node::builder("server", t.clone())
        .key(server_key)
        .security(security.clone())
        .trust(trust.clone())
        .build()
        .unwrap();
    let client_node = Node::builder("client", t)
        .key(client_key)
        .security(security)
        .trust(trust)
        .build()
        .unwrap();
    let mut client = client_node.client::<SetBool>("/arm", 1024).unwrap();
    let served = Cell::new(0);
    let mut exec = Executor::new();
    exec.service(
        server_node.service::<SetBool>("/arm", 1024).unwrap(),
        |req| {
            served.set(served.get() + 1);
            SetBoolResponse {
                success: req.data,
                message: format!("from {}", req.sender()),
            }
        },
    );
    let caller = std::thread::spawn(move || {
        (0..3)
            .map(|i| {
                let reply = client
                    .call(&SetBoolRequest { data: i % 2 == 0 }, Duration::from_secs(5))
                    .unwrap();
                (reply.success, reply.message.as_str().to_owned())
            })
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while served.get() < 3 && Instant::now() < deadline {
        exec.spin_once(Duration::from_millis(100)).unwrap();
    }
    let replies = caller.join().unwrap();
    let client_did = client_node.did().to_string();
    assert_eq!(served.get(), 3);
    for (i, (success, message)) in replies.into_iter().enumerate() {
        assert_eq!(success, i % 2 == 0);
        assert_eq!(
            message,
            format!("from {client_did}"),
            "the server saw the verified caller"
        );
    }
}

#[cfg(feature = "shm")]
#[test]
fn threaded_executor_runs_callbacks_on_named_threads_over_shared_memory() {
    use std::sync::{Arc, Mutex};

    use mesh_core::node::ThreadedExecutor;
    use mesh_core::transport::shm::ThreadSafeShmTransport;

    let prefix = format!("omthr{}_", std::process::id());
    let key = NodeKey::from_seed(&[23; 32]);
    let (security, trust) = trusting(&[&key]);
    // Services borrow their node: a node that lives for the whole process.
    let node: &'static Node<ThreadSafeShmTransport> = Box::leak(Box::new(
        Node::builder(
            "worker",
            ThreadSafeShmTransport::with_prefix_flavour(&prefix).unwrap(),
        )
        .key(key)
        .security(security)
        .trust(trust)
        // Lossless: a worker stalled by a loaded machine slows the timer, never drops.
        .lossless(true)
        .build()
        .unwrap(),
    ));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut exec = ThreadedExecutor::new(2).thread_prefix("omtest");
    // Worker 0 publishes on a timer, worker 1 receives and serves.
    let mut publisher = node.publisher::<StringMsg>("/chatter", 1024).unwrap();
    let mut count = 0;
    exec.in_group(Some(0))
        .timer(Duration::from_millis(5), move || {
            count += 1;
            publisher
                .publish(&StringMsg {
                    data: format!("tick {count}"),
                })
                .unwrap();
        });
    let sink = Arc::clone(&seen);
    exec.in_group(Some(1)).subscription(
        node.subscriber::<StringMsg>("/chatter", 1024).unwrap(),
        move |s| {
            let thread = std::thread::current().name().unwrap_or("?").to_owned();
            sink.lock()
                .unwrap()
                .push((s.data.as_str().to_owned(), thread));
        },
    );
    exec.service(node.service::<SetBool>("/arm", 1024).unwrap(), |req| {
        SetBoolResponse {
            success: !req.data,
            message: std::thread::current().name().unwrap_or("?").to_owned(),
        }
    });
    let running = exec.start().unwrap();
    assert_eq!(running.thread_names(), ["omtest-0", "omtest-1"]);
    let mut client = node.client::<SetBool>("/arm", 1024).unwrap();
    let reply = client
        .call(&SetBoolRequest { data: false }, Duration::from_secs(5))
        .unwrap();
    assert!(reply.success);
    assert_eq!(
        reply.message.as_str(),
        "omtest-1",
        "services run on their group's worker"
    );
    drop(reply);
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    running.stop().unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 5, "received {}", seen.len());
    for (k, (text, thread)) in seen.iter().enumerate() {
        assert_eq!(text, &format!("tick {}", k + 1), "in order, none lost");
        assert_eq!(thread, "omtest-1");
    }
    common::remove_shm_prefix(&prefix);
}

/// Times the calling thread has blocked and been woken so far (voluntary context switches).
#[cfg(feature = "shm")]
fn thread_wakeups() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[cfg(feature = "shm")]
#[test]
fn several_shm_subscriptions_wait_together_without_polling() {
    use mesh_core::transport::shm::ShmTransport;
    let prefix = format!("omwait{}_", std::process::id());
    let talker_key = NodeKey::from_seed(&[31; 32]);
    let (security, trust) = trusting(&[&talker_key]);
    let node = Node::builder("waiter", ShmTransport::with_prefix(&prefix).unwrap())
        .security(security)
        .trust(trust)
        .build()
        .unwrap();
    let got = RefCell::new(Vec::new());
    let mut exec = Executor::new();
    for topic in ["/a", "/b", "/c"] {
        let got = &got;
        exec.subscription(
            node.subscriber::<StringMsg>(topic, 256).unwrap(),
            move |s| {
                got.borrow_mut().push(s.data.as_str().to_owned());
            },
        );
    }
    // Idle for 1 s: the executor blocks in one WaitSet wait (waking a handful of times at
    // most), not in a loop of short waits on each subscriber (hundreds of wake-ups).
    let before = thread_wakeups();
    exec.spin_for(Duration::from_secs(1)).unwrap();
    let wakeups = thread_wakeups() - before;
    eprintln!("idle executor with three shm subscriptions: {wakeups} wake-ups in 1 s");
    assert!(wakeups <= 20, "idle executor woke {wakeups} times in 1 s");
    // A publisher in another thread (its own transport) wakes it on each topic in turn.
    let publisher = {
        let prefix = prefix.clone();
        std::thread::spawn(move || {
            let talker = Node::builder("talker", ShmTransport::with_prefix(&prefix).unwrap())
                .key(talker_key)
                .build()
                .unwrap();
            let mut pubs: Vec<_> = ["/a", "/b", "/c"]
                .iter()
                .map(|t| talker.publisher::<StringMsg>(t, 256).unwrap())
                .collect();
            std::thread::sleep(Duration::from_millis(200));
            for (p, text) in pubs.iter_mut().zip(["on a", "on b", "on c"]) {
                p.update().unwrap();
                p.publish(&StringMsg { data: text.into() }).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.borrow().len() < 3 && Instant::now() < deadline {
        exec.spin_once(Duration::from_secs(1)).unwrap();
    }
    publisher.join().unwrap();
    drop(exec);
    assert_eq!(got.into_inner(), ["on a", "on b", "on c"]);
    common::remove_shm_prefix(&prefix);
}
