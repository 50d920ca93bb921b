//! A test peer process over shared memory.
//!
//! `shm-peer pub PREFIX TOPIC KEY EPOCH COUNT SIZE [DELAY_US [LINGER_MS]]`: signs COUNT
//! envelopes of SIZE payload bytes in place in shared memory (key number KEY, sequences
//! 1..=COUNT), then stays LINGER_MS serving late joiners their history.
//!
//! `shm-peer sub PREFIX TOPIC KEYS EXPECT TIMEOUT_MS`: verifies every envelope against the
//! comma-separated key numbers KEYS; checks that per publisher, every epoch's sequences are
//! exactly 1, 2, 3... (no loss, no duplicate, in order) and epochs never go back; exits 0 once
//! it has the EXPECT frames listed as `KEY:EPOCH:COUNT` (comma separated), printing a summary.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mesh_core::envelope::{EnvelopeFields, TopicId};
use mesh_core::security::{
    PeerId, Route, SecurityConfig, SecurityMode, SecurityPolicy, TrustStore,
};
use mesh_core::transport::shm::ShmTransport;
use mesh_core::transport::{FramePublisher, FrameSubscriber, Transport};

const TYPE_HASH: [u8; 32] = [0x51; 32];

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map_or("", String::as_str)
}

fn num(args: &[String], i: usize) -> u64 {
    arg(args, i).parse().unwrap_or(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match arg(&args, 1) {
        "pub" => publish(&args),
        "sub" => subscribe(&args),
        _ => Err("usage: shm-peer pub|sub ...".to_owned()),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("shm-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn publish(args: &[String]) -> Result<String, String> {
    let (prefix, topic) = (arg(args, 2), arg(args, 3));
    let key = system_tests::key(u8::try_from(num(args, 4)).map_err(|e| e.to_string())?);
    let (epoch, count, size, delay_us, linger_ms) = (
        num(args, 5),
        num(args, 6),
        num(args, 7) as usize,
        num(args, 8),
        num(args, 9),
    );
    let transport = ShmTransport::with_prefix(prefix).map_err(|e| e.to_string())?;
    let mut publisher = transport
        .publisher(&system_tests::channel(topic))
        .map_err(|e| e.to_string())?;
    // Let subscribers that started first connect before the first frame.
    std::thread::sleep(Duration::from_millis(200));
    publisher.update().map_err(|e| e.to_string())?;
    for sequence in 1..=count {
        let fields = EnvelopeFields {
            topic: TopicId::of(topic),
            type_hash: TYPE_HASH,
            epoch,
            sequence,
            timestamp_ns: 0,
        };
        publisher
            .send_signed_in_place(&key, fields, size, &mut |p| p.fill(sequence as u8))
            .map_err(|e| e.to_string())?;
        if sequence == 1 {
            // Tests that kill a publisher mid-stream wait for this line first.
            println!("first frame sent");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
        if delay_us > 0 {
            std::thread::sleep(Duration::from_micros(delay_us));
        }
    }
    // Late joiners get the channel's history when the publisher updates its connections.
    let linger_end = Instant::now() + Duration::from_millis(linger_ms);
    while Instant::now() < linger_end {
        publisher.update().map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(format!("published {count}"))
}

fn subscribe(args: &[String]) -> Result<String, String> {
    let (prefix, topic) = (arg(args, 2), arg(args, 3));
    let keys: Vec<u8> = arg(args, 4)
        .split(',')
        .filter_map(|k| k.parse().ok())
        .collect();
    let expect: Vec<(u8, u64, u64)> = arg(args, 5)
        .split(',')
        .filter_map(|e| {
            let mut p = e.split(':').map(|x| x.parse::<u64>().ok());
            Some((u8::try_from(p.next()??).ok()?, p.next()??, p.next()??))
        })
        .collect();
    let timeout = Duration::from_millis(num(args, 6));
    let mut trust = TrustStore::new();
    let publishers: BTreeMap<[u8; 32], u8> = keys
        .iter()
        .map(|k| (system_tests::key(*k).public().to_bytes(), *k))
        .collect();
    for k in &keys {
        trust.add_publisher(system_tests::key(*k).public());
    }
    let policy = SecurityPolicy::new(
        SecurityConfig {
            mode: SecurityMode::Lightweight,
            max_payload_bytes: 2 << 20,
            ..SecurityConfig::default()
        },
        trust,
    );
    let mut receiver = policy.receiver();
    let route = Route::new(topic, TYPE_HASH);
    let transport = ShmTransport::with_prefix(prefix).map_err(|e| e.to_string())?;
    let mut sub = transport
        .subscriber(&system_tests::channel(topic))
        .map_err(|e| e.to_string())?;
    // (key, epoch) -> highest sequence seen.
    let mut seen: BTreeMap<(u8, u64), u64> = BTreeMap::new();
    let mut last_epoch: BTreeMap<u8, u64> = BTreeMap::new();
    let deadline = Instant::now() + timeout;
    let done = |seen: &BTreeMap<(u8, u64), u64>| {
        expect
            .iter()
            .all(|(k, e, n)| seen.get(&(*k, *e)).copied().unwrap_or(0) >= *n)
    };
    while !done(&seen) {
        if Instant::now() > deadline {
            return Err(format!("timed out; seen {seen:?}"));
        }
        let Some(frame) = sub
            .recv_timeout(Duration::from_millis(100))
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let now = u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        )
        .unwrap_or(0);
        // Verified in place, over the shared-memory sample.
        let env = receiver
            .admit(&policy, PeerId(0), frame.as_ref(), &route, now)
            .map_err(|e| format!("rejected: {e}"))?;
        let h = env.header();
        let who = publishers
            .get(&h.publisher())
            .copied()
            .ok_or("unknown publisher")?;
        let (epoch, seq) = (h.epoch(), h.sequence());
        if env.payload().iter().any(|b| *b != seq as u8) {
            return Err(format!("payload of {who}:{epoch}:{seq} corrupted"));
        }
        let prev_epoch = last_epoch.insert(who, epoch).unwrap_or(epoch);
        if epoch < prev_epoch {
            return Err(format!(
                "publisher {who} went back from epoch {prev_epoch} to {epoch}"
            ));
        }
        let highest = seen.entry((who, epoch)).or_insert(0);
        if seq != *highest + 1 {
            return Err(format!(
                "publisher {who} epoch {epoch}: got {seq} after {highest}"
            ));
        }
        *highest = seq;
    }
    Ok(format!("ok {seen:?}"))
}
