//! `fleet_controller`: tracks the fleet through `/fleet/heartbeat`, flags robots whose
//! heartbeats stop (`lost_after_ms`), and hands GOTO tasks (omni_msgs/FleetTask, two random
//! waypoints in the warehouse) to idle robots through each robot's `~/assign_task` service;
//! completions arrive on `/fleet/task_status`. It logs a fleet summary and exports
//! `omnimesh_fleet_robots_alive`, `omnimesh_fleet_tasks_assigned_total`,
//! `omnimesh_fleet_tasks_completed_total` and `omnimesh_fleet_robots_lost_total`.
//!
//! Parameters: `task_period_ms` (1000), `lost_after_ms` (3000), `arena_m` (20: waypoints
//! are drawn in a square of that side), `hop_m` (6: a waypoint is at most this far from
//! the previous one), `summary_period_ms` (2000).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use mesh_core::node::ServiceClient;
use mesh_core::transport::shm::ShmTransport;
use omni_mesh_nodes::fleet::{
    now_stamp, robot_topic, task_id, task_text, HEARTBEAT_TOPIC, TASK_STATUS_TOPIC,
};
use omni_mesh_nodes::runtime::{NodeArgs, NodeRuntime};
use omni_msgs::geometry_msgs::msg::PoseStamped;
use omni_msgs::omni_msgs::msg::{FleetTask, Heartbeat, TaskStatus};
use omni_msgs::omni_msgs::srv::{AssignTask, AssignTaskRequest};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

#[derive(Parser)]
#[command(about = "Assign tasks to the fleet's robots and watch their heartbeats")]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
}

struct Member {
    did: String,
    last_beat: Instant,
    lost: bool,
    busy: Option<[u8; 16]>,
    /// Where the robot's last task ended (the next one starts there).
    at: (f64, f64),
    client: Option<ServiceClient<AssignTask, ShmTransport>>,
}

#[derive(Default)]
struct Fleet {
    robots: BTreeMap<String, Member>,
    assigned: u64,
    completed: u64,
}

#[derive(Default, Clone)]
struct FleetMetrics {
    alive: Gauge,
    assigned: Counter,
    completed: Counter,
    lost: Counter,
}

/// xorshift64*: waypoints need variety, not cryptographic randomness.
struct Dice(u64);

impl Dice {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = NodeRuntime::init("fleet_controller", &args.node)?;
    let node = rt.node()?;
    let task_period = Duration::from_millis(rt.param_u64("task_period_ms", 1000).max(10));
    let lost_after = Duration::from_millis(rt.param_u64("lost_after_ms", 3000).max(100));
    let summary_period = Duration::from_millis(rt.param_u64("summary_period_ms", 2000).max(100));
    let arena = rt.param_f64("arena_m", 20.0).max(1.0);
    let hop = rt.param_f64("hop_m", 6.0).max(0.5);

    let metrics = FleetMetrics::default();
    let registry = rt.registry();
    registry.register(
        "omnimesh_fleet_robots_alive",
        "Robots whose heartbeats arrive",
        metrics.alive.clone(),
    );
    registry.register(
        "omnimesh_fleet_tasks_assigned",
        "Tasks robots accepted",
        metrics.assigned.clone(),
    );
    registry.register(
        "omnimesh_fleet_tasks_completed",
        "Tasks robots reported done",
        metrics.completed.clone(),
    );
    registry.register(
        "omnimesh_fleet_robots_lost",
        "Times a robot's heartbeats stopped",
        metrics.lost.clone(),
    );
    let beats = node.subscriber::<Heartbeat>(&rt.topic(HEARTBEAT_TOPIC), 1024)?;
    let statuses = node.subscriber::<TaskStatus>(&rt.topic(TASK_STATUS_TOPIC), 4096)?;
    rt.serve(&node)?;

    let fleet = Rc::new(RefCell::new(Fleet::default()));
    let mut exec = rt.executor();
    let f = Rc::clone(&fleet);
    exec.subscription(beats, move |beat| {
        let name = beat.node_name.as_str().to_owned();
        if !name.starts_with("/robot") {
            return; // other nodes beat too; only robots take tasks
        }
        let mut fleet = f.borrow_mut();
        let member = fleet.robots.entry(name.clone()).or_insert_with(|| {
            tracing::info!(robot = %name, did = %beat.sender(), "robot joined: first heartbeat");
            Member {
                did: beat.sender().to_string(),
                last_beat: Instant::now(),
                lost: false,
                busy: None,
                at: (0.0, 0.0),
                client: None,
            }
        });
        if beat.node_did.as_str() != member.did {
            tracing::warn!(robot = %name, claimed = %beat.node_did.as_str(), "heartbeat names another DID than its signer");
        }
        member.last_beat = Instant::now();
        if member.lost {
            member.lost = false;
            tracing::info!(robot = %name, "robot is back");
        }
    });
    let f = Rc::clone(&fleet);
    let m = metrics.clone();
    exec.subscription(statuses, move |status| {
        if status.state != TaskStatus::STATE_SUCCEEDED {
            return;
        }
        let id = status.task_id.uuid;
        let mut fleet = f.borrow_mut();
        let fleet = &mut *fleet;
        if let Some((name, member)) = fleet.robots.iter_mut().find(|(_, r)| r.busy == Some(id)) {
            member.busy = None;
            fleet.completed += 1;
            m.completed.inc();
            tracing::info!(robot = %name, task = %task_text(&id), completed = fleet.completed, "task completed");
        }
    });
    let f = Rc::clone(&fleet);
    let m = metrics.clone();
    let node_ref = &node;
    let mut dice = Dice(u64::from(std::process::id()) | 1);
    let salt = u64::from_le_bytes(
        node.did().public_key().as_bytes()[..8]
            .try_into()
            .unwrap_or_default(),
    );
    exec.named_timer("assign", task_period, move || {
        let mut fleet = f.borrow_mut();
        let fleet = &mut *fleet;
        for (name, member) in &mut fleet.robots {
            if member.lost || member.busy.is_some() {
                continue;
            }
            let client = match &mut member.client {
                Some(c) => c,
                None => match node_ref
                    .client::<AssignTask>(&robot_topic(name, "assign_task"), 64 << 10)
                {
                    Ok(c) => member.client.insert(c),
                    Err(e) => {
                        tracing::warn!(robot = %name, "cannot create a task client: {e}");
                        continue;
                    }
                },
            };
            let mut waypoints = Vec::new();
            let (mut x, mut y) = member.at;
            for _ in 0..2 {
                x = (x + (dice.unit() * 2.0 - 1.0) * hop).clamp(0.0, arena);
                y = (y + (dice.unit() * 2.0 - 1.0) * hop).clamp(0.0, arena);
                let mut p = PoseStamped::default();
                p.header.stamp = now_stamp();
                p.header.frame_id = "map".into();
                p.pose.position.x = x;
                p.pose.position.y = y;
                waypoints.push(p);
            }
            let task = FleetTask {
                task_id: task_id(salt, fleet.assigned + 1),
                kind: FleetTask::KIND_GOTO,
                waypoints,
                assigned_robot: name.clone(),
                ..FleetTask::default()
            };
            let id = task.task_id.uuid;
            let request = AssignTaskRequest {
                task,
                robot_id: name.clone(),
            };
            match client.call(&request, Duration::from_millis(250)) {
                Ok(reply) if reply.accepted => {
                    member.busy = Some(id);
                    member.at = (x, y);
                    fleet.assigned += 1;
                    m.assigned.inc();
                    tracing::info!(robot = %name, task = %task_text(&id), "task assigned");
                }
                Ok(reply) => {
                    tracing::debug!(robot = %name, reason = %reply.reason.as_str(), "task refused");
                }
                Err(e) => tracing::debug!(robot = %name, "task call: {e}"),
            }
        }
    });
    let f = Rc::clone(&fleet);
    let m = metrics;
    exec.named_timer("watch", Duration::from_millis(250), move || {
        let mut fleet = f.borrow_mut();
        let mut alive = 0;
        for (name, member) in &mut fleet.robots {
            let silent = member.last_beat.elapsed();
            if silent > lost_after && !member.lost {
                member.lost = true;
                member.busy = None;
                m.lost.inc();
                tracing::warn!(robot = %name, silent_ms = silent.as_millis() as u64, "robot lost: no heartbeat");
            }
            alive += i64::from(!member.lost);
        }
        m.alive.set(alive);
    });
    let f = Rc::clone(&fleet);
    exec.named_timer("summary", summary_period, move || {
        let fleet = f.borrow();
        let alive = fleet.robots.values().filter(|r| !r.lost).count();
        let busy = fleet.robots.values().filter(|r| r.busy.is_some()).count();
        tracing::info!(
            "fleet: {alive}/{} robots alive, {busy} busy, tasks assigned {}, completed {}",
            fleet.robots.len(),
            fleet.assigned,
            fleet.completed
        );
    });
    rt.ready(&node.did());
    rt.spin(&mut exec, Duration::from_millis(500))?;
    Ok(())
}
