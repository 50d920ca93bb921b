//! `robot_sim`: a kinematic (unicycle) warehouse robot. It drives to the waypoints of tasks
//! handed to it over the `~/assign_task` service (omni_msgs/srv/AssignTask), obeys velocity
//! commands on `~/cmd` (omni_msgs/MotionCommand, which win over the task while valid), and
//! publishes `~/state` (RobotState), `~/odom` (nav_msgs/Odometry) and `~/battery`
//! (sensor_msgs/BatteryState) at `rate_hz`, task progress on `/fleet/task_status`, and a
//! heartbeat on `/fleet/heartbeat` at `heartbeat_hz`.
//!
//! Parameters (launch file `params`): `rate_hz` (10), `heartbeat_hz` (2), `speed` (1.5 m/s),
//! `turn_rate` (2.0 rad/s), `battery_drain` (0.05 %/s), `x`, `y` (start pose, m; by default
//! 1.5 m apart by the index that ends the node's name).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use omni_mesh_nodes::fleet::{now_stamp, task_text, HEARTBEAT_TOPIC, TASK_STATUS_TOPIC};
use omni_mesh_nodes::runtime::{NodeArgs, NodeRuntime};
use omni_msgs::geometry_msgs::msg::{Point, Pose, Quaternion, Twist, Vector3};
use omni_msgs::nav_msgs::msg::Odometry;
use omni_msgs::omni_msgs::msg::{FleetTask, Heartbeat, MotionCommand, RobotState, TaskStatus};
use omni_msgs::omni_msgs::srv::{AssignTask, AssignTaskResponse};
use omni_msgs::sensor_msgs::msg::BatteryState;
use omni_msgs::std_msgs::msg::Header;

#[derive(Parser)]
#[command(about = "A simulated warehouse robot (kinematic, with battery and tasks)")]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
}

/// Distance at which a waypoint counts as reached, m.
const REACHED: f64 = 0.05;

#[derive(Debug, Default)]
struct Robot {
    x: f64,
    y: f64,
    yaw: f64,
    v: f64,
    w: f64,
    battery: f64,
    task: Option<(FleetTask, usize)>,
    command: Option<(Twist, Instant)>,
    status: Vec<TaskStatus>,
    progress_at: Option<Instant>,
}

impl Robot {
    fn status(task: &FleetTask, state: u8, progress: f32, message: &str) -> TaskStatus {
        TaskStatus {
            task_id: task.task_id.clone(),
            state,
            progress,
            message: message.to_owned(),
        }
    }

    /// Advances the simulation by `dt` seconds.
    fn step(&mut self, dt: f64, speed: f64, turn_rate: f64, drain: f64) {
        let now = Instant::now();
        let (mut v, mut w) = (0.0, 0.0);
        if let Some((twist, until)) = &self.command {
            if now < *until {
                (v, w) = (twist.linear.x, twist.angular.z);
            } else {
                self.command = None;
            }
        }
        if self.command.is_none() {
            if let Some((task, next)) = &mut self.task {
                let total = task.waypoints.len();
                let target = &task.waypoints[*next].pose.position;
                let (dx, dy) = (target.x - self.x, target.y - self.y);
                let dist = dx.hypot(dy);
                if dist < REACHED {
                    *next += 1;
                    if *next == total {
                        let done = Self::status(task, TaskStatus::STATE_SUCCEEDED, 1.0, "done");
                        self.status.push(done);
                        self.task = None;
                    }
                } else {
                    let heading = dy.atan2(dx);
                    let err = (heading - self.yaw + std::f64::consts::PI)
                        .rem_euclid(std::f64::consts::TAU)
                        - std::f64::consts::PI;
                    w = (err / dt).clamp(-turn_rate, turn_rate);
                    // Drive once roughly facing the target; never overshoot it.
                    if err.abs() < 0.3 {
                        v = speed.min(dist / dt);
                    }
                    if self.progress_at.is_none_or(|t| now >= t) {
                        let progress = *next as f32 / total as f32;
                        let s = Self::status(task, TaskStatus::STATE_ACTIVE, progress, "driving");
                        self.status.push(s);
                        self.progress_at = Some(now + Duration::from_secs(1));
                    }
                }
            }
        }
        self.yaw += w * dt;
        self.x += v * self.yaw.cos() * dt;
        self.y += v * self.yaw.sin() * dt;
        (self.v, self.w) = (v, w);
        self.battery = (self.battery - drain * dt * (1.0 + v.abs())).max(0.0);
    }

    fn pose(&self) -> Pose {
        Pose {
            position: Point {
                x: self.x,
                y: self.y,
                z: 0.0,
            },
            orientation: Quaternion {
                x: 0.0,
                y: 0.0,
                z: (self.yaw / 2.0).sin(),
                w: (self.yaw / 2.0).cos(),
            },
        }
    }

    fn twist(&self) -> Twist {
        Twist {
            linear: Vector3 {
                x: self.v,
                ..Vector3::default()
            },
            angular: Vector3 {
                z: self.w,
                ..Vector3::default()
            },
        }
    }
}

/// The number that ends a replica's name (`robot_3` -> 3; 0 when there is none).
fn index_of(name: &str) -> u64 {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    name[name.len() - digits..].parse().unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = NodeRuntime::init("robot", &args.node)?;
    let node = rt.node()?;
    let fqn = rt.fqn();
    let rate = rt.param_f64("rate_hz", 10.0).clamp(0.1, 1000.0);
    let beat_rate = rt.param_f64("heartbeat_hz", 2.0).clamp(0.1, 100.0);
    let speed = rt.param_f64("speed", 1.5);
    let turn_rate = rt.param_f64("turn_rate", 2.0);
    let drain = rt.param_f64("battery_drain", 0.05);
    let robot = Rc::new(RefCell::new(Robot {
        // Robots start 1.5 m apart along the dock (robot_3 at x = 4.5) unless told.
        x: rt.param_f64("x", 1.5 * index_of(&rt.name) as f64),
        y: rt.param_f64("y", 0.0),
        battery: 100.0,
        ..Robot::default()
    }));

    let mut state_pub = node.publisher::<RobotState>(&rt.topic("~/state"), 4096)?;
    let mut odom_pub = node.publisher::<Odometry>(&rt.topic("~/odom"), 4096)?;
    let mut battery_pub = node.publisher::<BatteryState>(&rt.topic("~/battery"), 4096)?;
    let mut status_pub = node.publisher::<TaskStatus>(&rt.topic(TASK_STATUS_TOPIC), 4096)?;
    let mut beat_pub = node.publisher::<Heartbeat>(&rt.topic(HEARTBEAT_TOPIC), 1024)?;
    let commands = node.subscriber::<MotionCommand>(&rt.topic("~/cmd"), 4096)?;
    let tasks = node.service::<AssignTask>(&rt.topic("~/assign_task"), 64 << 10)?;
    rt.serve(&node)?;

    let mut exec = rt.executor();
    let dt = 1.0 / rate;
    let id = rt.name.clone();
    let sim = Rc::clone(&robot);
    exec.named_timer("tick", Duration::from_secs_f64(dt), move || {
        let mut r = sim.borrow_mut();
        r.step(dt, speed, turn_rate, drain);
        let header = Header {
            stamp: now_stamp(),
            frame_id: "map".into(),
        };
        let state = RobotState {
            header: header.clone(),
            robot_id: id.clone(),
            mode: if r.task.is_some() {
                RobotState::MODE_AUTONOMOUS
            } else if r.command.is_some() {
                RobotState::MODE_MANUAL
            } else {
                RobotState::MODE_IDLE
            },
            pose: r.pose(),
            velocity: r.twist(),
            battery_percentage: r.battery as f32,
            current_task_id: r
                .task
                .as_ref()
                .map(|(t, _)| task_text(&t.task_id.uuid))
                .unwrap_or_default(),
            ..RobotState::default()
        };
        let mut odom = Odometry {
            header: header.clone(),
            child_frame_id: "base_link".into(),
            ..Odometry::default()
        };
        odom.pose.pose = r.pose();
        odom.twist.twist = r.twist();
        let battery = BatteryState {
            header,
            percentage: (r.battery / 100.0) as f32,
            voltage: 24.0 + (r.battery / 100.0) as f32 * 4.0,
            present: true,
            ..BatteryState::default()
        };
        let events: Vec<TaskStatus> = r.status.drain(..).collect();
        drop(r);
        for (what, result) in [
            ("state", state_pub.publish(&state)),
            ("odom", odom_pub.publish(&odom)),
            ("battery", battery_pub.publish(&battery)),
        ] {
            if let Err(e) = result {
                tracing::warn!("publishing {what}: {e}");
            }
        }
        for event in &events {
            if event.state == TaskStatus::STATE_SUCCEEDED {
                tracing::info!(task = %task_text(&event.task_id.uuid), "task completed");
            }
            if let Err(e) = status_pub.publish(event) {
                tracing::warn!("publishing task status: {e}");
            }
        }
    });
    let started = Instant::now();
    let did = node.did().to_string();
    let mut sequence = 0;
    exec.named_timer(
        "heartbeat",
        Duration::from_secs_f64(1.0 / beat_rate),
        move || {
            let beat = Heartbeat {
                stamp: now_stamp(),
                node_name: fqn.clone(),
                node_did: did.clone(),
                sequence,
                health: Heartbeat::HEALTH_OK,
                uptime_ns: started.elapsed().as_nanos() as u64,
                ..Heartbeat::default()
            };
            sequence += 1;
            if let Err(e) = beat_pub.publish(&beat) {
                tracing::warn!("publishing heartbeat: {e}");
            }
        },
    );
    let driver = Rc::clone(&robot);
    exec.subscription(commands, move |cmd| {
        let Ok(cmd) = cmd.to_owned_message() else {
            return;
        };
        let valid = cmd.valid_for.sec as f64 + f64::from(cmd.valid_for.nanosec) * 1e-9;
        let valid = if valid > 0.0 { valid } else { 0.5 };
        driver.borrow_mut().command =
            Some((cmd.twist, Instant::now() + Duration::from_secs_f64(valid)));
    });
    let planner = Rc::clone(&robot);
    exec.service(tasks, move |request| {
        let mut r = planner.borrow_mut();
        let Ok(request) = request.to_owned_message() else {
            return AssignTaskResponse {
                reason: "unreadable request".into(),
                ..AssignTaskResponse::default()
            };
        };
        let refuse = |reason: &str| AssignTaskResponse {
            reason: reason.into(),
            ..AssignTaskResponse::default()
        };
        if r.task.is_some() {
            return refuse("busy");
        }
        if request.task.waypoints.is_empty() {
            return refuse("task has no waypoints");
        }
        if r.battery < 5.0 {
            return refuse("battery low");
        }
        tracing::info!(task = %task_text(&request.task.task_id.uuid), waypoints = request.task.waypoints.len(), "task accepted");
        let accepted = Robot::status(&request.task, TaskStatus::STATE_ACTIVE, 0.0, "accepted");
        r.status.push(accepted);
        r.task = Some((request.task, 0));
        AssignTaskResponse {
            accepted: true,
            ..AssignTaskResponse::default()
        }
    });
    rt.ready(&node.did());
    rt.spin(&mut exec, Duration::from_millis(500))?;
    Ok(())
}
