//! `omni-mesh topic list|info|echo|hz|bw|pub`: inspect and feed the topics of this host's
//! shared memory. Messages are decoded through the generated type registry
//! (`omni_msgs::dynamic`) by the RIHS01 hash each envelope carries, after the signature check.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Subcommand;
use mesh_core::delivery::Qos;
use mesh_core::node::{Node, RawSample};
use mesh_core::transport::shm::{ShmFrame, ShmTransport};
use omni_msgs::rt::value::Value;

use crate::tool::{find_channel, type_name, ToolArgs};

/// `omni-mesh topic ...`
#[derive(Subcommand)]
pub enum TopicCommand {
    /// List the host's topics with their publisher and subscriber counts.
    List {
        /// Also show service and durable-topic internals (`.../_request`, `.../_reply/...`).
        #[arg(long, short)]
        all: bool,
    },
    /// A topic's settings, type, and the nodes that publish and subscribe it.
    Info {
        /// Topic name.
        topic: String,
    },
    /// Print verified messages as YAML (or JSON lines), with their sender.
    Echo {
        /// Topic name.
        topic: String,
        /// Stop after this many messages (0: until Ctrl-C).
        #[arg(long, default_value_t = 0)]
        count: u64,
        /// One JSON object per message (topic, type, sender, sequence, message).
        #[arg(long)]
        json: bool,
        /// Print arrays in full (by default arrays over 16 items are summarized).
        #[arg(long)]
        full: bool,
        /// Give up after this many seconds without finishing (0: never).
        #[arg(long, default_value_t = 0.0)]
        timeout_s: f64,
    },
    /// Message rate, printed every second.
    Hz {
        /// Topic name.
        topic: String,
        /// Messages the statistics cover.
        #[arg(long, default_value_t = 1000)]
        window: usize,
        /// Stop after this many seconds (0: until Ctrl-C).
        #[arg(long, default_value_t = 0.0)]
        duration_s: f64,
    },
    /// Bandwidth (envelope bytes per second), printed every second.
    Bw {
        /// Topic name.
        topic: String,
        /// Stop after this many seconds (0: until Ctrl-C).
        #[arg(long, default_value_t = 0.0)]
        duration_s: f64,
    },
    /// Publish a message given as JSON, e.g.
    /// `omni-mesh topic pub /chatter std_msgs/msg/String '{"data": "hi"}'`.
    Pub {
        /// Topic name.
        topic: String,
        /// Message type (`pkg/msg/Type` or `pkg/Type`).
        type_name: String,
        /// The message as JSON; missing fields keep their defaults (`{}`: all defaults).
        #[arg(default_value = "{}")]
        value: String,
        /// Messages to send.
        #[arg(long, default_value_t = 1)]
        times: u64,
        /// Rate, Hz.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
    },
}

/// Runs a topic command.
pub fn run(cmd: TopicCommand, tool: &ToolArgs) -> anyhow::Result<()> {
    let node = tool.node()?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, std::sync::Arc::clone(&stop))?;
    }
    let running = move || !stop.load(std::sync::atomic::Ordering::Relaxed);
    match cmd {
        TopicCommand::List { all } => list(&node, all),
        TopicCommand::Info { topic } => info(&node, &topic),
        TopicCommand::Echo {
            topic,
            count,
            json,
            full,
            timeout_s,
        } => {
            let limit = if full { usize::MAX } else { 16 };
            let end =
                (timeout_s > 0.0).then(|| Instant::now() + Duration::from_secs_f64(timeout_s));
            let mut seen = 0;
            receive(&node, &topic, &running, end, |sample| {
                print_sample(&topic, sample, json, limit);
                seen += 1;
                count > 0 && seen >= count
            })?;
            if count > 0 && seen < count {
                bail!("timed out after {seen} of {count} messages on {topic}");
            }
            Ok(())
        }
        TopicCommand::Hz {
            topic,
            window,
            duration_s,
        } => rate(&node, &topic, window.max(2), duration_s, &running, false),
        TopicCommand::Bw { topic, duration_s } => {
            rate(&node, &topic, 100_000, duration_s, &running, true)
        }
        TopicCommand::Pub {
            topic,
            type_name,
            value,
            times,
            rate,
        } => publish(&node, &topic, &type_name, &value, times, rate, &running),
    }
}

fn internal(topic: &str) -> bool {
    topic.contains("/_request") || topic.contains("/_reply/") || topic.ends_with("/_durable")
}

fn list(node: &Node<ShmTransport>, all: bool) -> anyhow::Result<()> {
    let channels = node
        .transport()
        .scan()
        .context("listing shared-memory channels")?;
    let shown: Vec<_> = channels
        .iter()
        .filter(|c| all || !internal(&c.spec.topic))
        .collect();
    if shown.is_empty() {
        println!("no topics on this host (is a fleet running with the same --shm-prefix?)");
    }
    for c in shown {
        println!(
            "{:<40} {} publisher(s), {} subscriber(s)",
            c.spec.topic, c.publishers, c.subscribers
        );
    }
    Ok(())
}

fn info(node: &Node<ShmTransport>, topic: &str) -> anyhow::Result<()> {
    let Some(channel) = find_channel(node, topic)? else {
        bail!("no topic {topic} on this host (see `omni-mesh topic list`)");
    };
    let s = &channel.spec;
    println!("topic: {topic}");
    println!(
        "qos: {}, queue depth {}, history {}, up to {} publishers and {} subscribers",
        if s.lossless {
            "reliable"
        } else {
            "best effort"
        },
        s.queue_depth,
        s.history,
        s.max_ports,
        s.max_ports
    );
    println!("largest frame: {} bytes", s.max_frame_bytes);
    let graph = node.transport().graph().context("reading the node graph")?;
    let (publishers, subscribers) = graph.endpoints(topic);
    let names = |list: Vec<&mesh_core::transport::shm_graph::GraphNode>| {
        list.iter()
            .map(|n| format!("{} (pid {})", display_name(&n.name), n.pid))
            .collect::<Vec<_>>()
    };
    println!("publishers ({}):", publishers.len());
    for n in names(publishers) {
        println!("  {n}");
    }
    println!("subscribers ({}):", subscribers.len());
    for n in names(subscribers) {
        println!("  {n}");
    }
    let mut sub = node.raw_subscriber(s)?;
    match sub.recv_timeout(Duration::from_secs(2))? {
        Some(sample) => println!("type: {}", type_name(&sample.type_hash())),
        None => println!("type: unknown (no message within 2 s)"),
    }
    Ok(())
}

/// A node name as shown to people (unnamed ports belong to tools and daemons).
pub fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "<unnamed: daemon or tool>"
    } else {
        name
    }
}

/// Calls `each` with every verified sample of `topic` until it returns true, the deadline
/// passes or the user interrupts.
fn receive(
    node: &Node<ShmTransport>,
    topic: &str,
    running: &dyn Fn() -> bool,
    end: Option<Instant>,
    mut each: impl FnMut(&RawSample<ShmFrame>) -> bool,
) -> anyhow::Result<()> {
    let spec = match find_channel(node, topic)? {
        Some(c) => c.spec,
        None => {
            eprintln!("waiting for {topic} to appear...");
            loop {
                if !running() || end.is_some_and(|e| Instant::now() >= e) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(200));
                if let Some(c) = find_channel(node, topic)? {
                    break c.spec;
                }
            }
        }
    };
    let mut sub = node.raw_subscriber(&spec)?;
    while running() && end.is_none_or(|e| Instant::now() < e) {
        if let Some(sample) = sub.recv_timeout(Duration::from_millis(100))? {
            if each(&sample) {
                break;
            }
        }
    }
    if sub.rejected() > 0 {
        eprintln!("{} frame(s) refused by the security checks", sub.rejected());
    }
    Ok(())
}

fn decode(sample: &RawSample<ShmFrame>) -> Result<(String, Value), String> {
    let Some(t) = omni_msgs::dynamic::by_hash(&sample.type_hash()) else {
        return Err(type_name(&sample.type_hash()));
    };
    (t.decode)(sample.payload()).map(|v| (t.name.to_owned(), v))
}

fn print_sample(topic: &str, sample: &RawSample<ShmFrame>, json: bool, limit: usize) {
    let sender = sample.sender().to_string();
    match (decode(sample), json) {
        (Ok((ty, value)), true) => println!(
            "{{\"topic\":{},\"type\":\"{ty}\",\"sender\":\"{sender}\",\"sequence\":{},\"timestamp_ns\":{},\"message\":{}}}",
            Value::String(topic.to_owned()).to_json(),
            sample.sequence(),
            sample.timestamp_ns(),
            value.to_json()
        ),
        (Ok((ty, value)), false) => {
            println!("# {ty} from {sender} #{}", sample.sequence());
            print!("{}", value.to_yaml(limit));
            println!("---");
        }
        (Err(why), _) => println!(
            "# {} bytes from {sender} #{}: cannot decode ({why})",
            sample.payload().len(),
            sample.sequence()
        ),
    }
}

fn rate(
    node: &Node<ShmTransport>,
    topic: &str,
    window: usize,
    duration_s: f64,
    running: &dyn Fn() -> bool,
    bandwidth: bool,
) -> anyhow::Result<()> {
    let end = (duration_s > 0.0).then(|| Instant::now() + Duration::from_secs_f64(duration_s));
    let mut arrivals: VecDeque<(Instant, usize)> = VecDeque::new();
    let mut next_report = Instant::now() + Duration::from_secs(1);
    let mut total = 0u64;
    let report = |arrivals: &VecDeque<(Instant, usize)>| {
        if arrivals.len() < 2 {
            println!("no new messages");
            return;
        }
        let gaps: Vec<f64> = arrivals
            .iter()
            .zip(arrivals.iter().skip(1))
            .map(|(a, b)| b.0.duration_since(a.0).as_secs_f64())
            .collect();
        let span: f64 = gaps.iter().sum::<f64>().max(1e-9);
        if bandwidth {
            let bytes: usize = arrivals.iter().skip(1).map(|a| a.1).sum();
            let mean = bytes as f64 / (arrivals.len() - 1) as f64;
            println!(
                "{:.2} KiB/s from {} messages, mean size {:.1} KiB",
                bytes as f64 / span / 1024.0,
                arrivals.len(),
                mean / 1024.0
            );
        } else {
            let mean = span / gaps.len() as f64;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
            let (min, max) = gaps
                .iter()
                .fold((f64::MAX, 0.0f64), |(lo, hi), g| (lo.min(*g), hi.max(*g)));
            println!(
                "average rate: {:.3} Hz\n\tmin: {:.3}s max: {:.3}s std dev: {:.5}s window: {}",
                1.0 / mean,
                min,
                max,
                var.sqrt(),
                arrivals.len()
            );
        }
    };
    let spec = match find_channel(node, topic)? {
        Some(c) => c.spec,
        None => bail!("no topic {topic} on this host (see `omni-mesh topic list`)"),
    };
    let mut sub = node.raw_subscriber(&spec)?;
    while running() && end.is_none_or(|e| Instant::now() < e) {
        if let Some(sample) = sub.recv_timeout(Duration::from_millis(50))? {
            total += 1;
            arrivals.push_back((Instant::now(), sample.frame_len()));
            while arrivals.len() > window {
                arrivals.pop_front();
            }
        }
        if Instant::now() >= next_report {
            report(&arrivals);
            next_report += Duration::from_secs(1);
        }
    }
    if total == 0 {
        bail!("no messages on {topic}");
    }
    Ok(())
}

fn publish(
    node: &Node<ShmTransport>,
    topic: &str,
    type_name: &str,
    value: &str,
    times: u64,
    rate: f64,
    running: &dyn Fn() -> bool,
) -> anyhow::Result<()> {
    let Some(ty) = omni_msgs::dynamic::by_name(type_name) else {
        bail!("unknown message type {type_name} (expected pkg/msg/Type, e.g. std_msgs/msg/String)");
    };
    let json: serde_json::Value =
        serde_json::from_str(value).with_context(|| format!("the message is not JSON: {value}"))?;
    let archive = (ty.encode)(&from_json(&json))
        .map_err(|e| anyhow::anyhow!("not a valid {}: {e}", ty.name))?;
    let spec = match find_channel(node, topic)? {
        Some(c) => c.spec,
        None => node.channel_spec(topic, archive.len().max(4096), &Qos::best_effort())?,
    };
    let mut publisher = node.raw_publisher(&spec, ty.hash)?;
    // Give subscribers a moment to see the new publisher.
    std::thread::sleep(Duration::from_millis(200));
    publisher.update()?;
    let period = Duration::from_secs_f64(1.0 / rate.clamp(0.01, 10_000.0));
    let mut sent = 0;
    while sent < times && running() {
        publisher.publish_archive(&archive)?;
        sent += 1;
        if sent < times {
            std::thread::sleep(period);
        }
    }
    println!("published {sent} {} on {topic}", ty.name);
    Ok(())
}

/// JSON to a message value (objects are messages, arrays lists).
pub fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Struct(Vec::new()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(Value::UInt)
            .or_else(|| n.as_i64().map(Value::Int))
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(fields) => Value::Struct(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect(),
        ),
    }
}
