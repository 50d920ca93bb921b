//! `monitor`: a fleet summary table on stdout, refreshed every `print_period_ms`: for each
//! robot its mode, pose, speed, battery, task and heartbeat age, then task totals and the
//! lidar's cloud rate and bandwidth (clouds read in place from shared memory).
//!
//! Parameters: `robots` (10: watches `/robot_0` ... `/robot_<n-1>`), `print_period_ms` (2000).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use omni_mesh_nodes::fleet::{lidar_qos, HEARTBEAT_TOPIC, LIDAR_TOPIC, TASK_STATUS_TOPIC};
use omni_mesh_nodes::runtime::{NodeArgs, NodeRuntime};
use omni_msgs::omni_msgs::msg::{Heartbeat, RobotState, TaskStatus};
use omni_msgs::sensor_msgs::msg::PointCloud2;

#[derive(Parser)]
#[command(about = "Print a fleet summary table")]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Default)]
struct Row {
    mode: u8,
    x: f64,
    y: f64,
    speed: f64,
    battery: f32,
    task: String,
    beat: Option<Instant>,
}

#[derive(Default)]
struct View {
    robots: BTreeMap<String, Row>,
    done: u64,
    active: u64,
    clouds: u64,
    cloud_bytes: u64,
    since: Option<Instant>,
}

fn mode_name(mode: u8) -> &'static str {
    match mode {
        RobotState::MODE_IDLE => "idle",
        RobotState::MODE_MANUAL => "manual",
        RobotState::MODE_AUTONOMOUS => "auto",
        RobotState::MODE_CHARGING => "charging",
        RobotState::MODE_EMERGENCY_STOP => "e-stop",
        _ => "fault",
    }
}

fn render(view: &mut View) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<8} {:>7} {:>7} {:>6} {:>7} {:>8}  task",
        "robot", "mode", "x", "y", "m/s", "batt%", "beat"
    );
    for (name, r) in &view.robots {
        let beat = r.beat.map_or("never".to_owned(), |t| {
            format!("{:.1}s", t.elapsed().as_secs_f64())
        });
        let _ = writeln!(
            out,
            "{name:<10} {:<8} {:>7.2} {:>7.2} {:>6.2} {:>7.1} {beat:>8}  {}",
            mode_name(r.mode),
            r.x,
            r.y,
            r.speed,
            r.battery,
            if r.task.is_empty() {
                "-"
            } else {
                &r.task[..8.min(r.task.len())]
            }
        );
    }
    let secs = view
        .since
        .map_or(0.0, |t| t.elapsed().as_secs_f64())
        .max(1e-3);
    let _ = writeln!(
        out,
        "tasks: {} completed, {} progress reports | lidar: {:.1} clouds/s, {:.1} MiB/s",
        view.done,
        view.active,
        view.clouds as f64 / secs,
        view.cloud_bytes as f64 / secs / f64::from(1u32 << 20)
    );
    view.clouds = 0;
    view.cloud_bytes = 0;
    view.since = Some(Instant::now());
    out
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = NodeRuntime::init("monitor", &args.node)?;
    let node = rt.node()?;
    let robots = rt.param_u64("robots", 10).min(64);
    let period = Duration::from_millis(rt.param_u64("print_period_ms", 2000).max(100));
    let view = Rc::new(RefCell::new(View {
        since: Some(Instant::now()),
        ..View::default()
    }));
    let mut exec = rt.executor();
    for i in 0..robots {
        let name = format!("robot_{i}");
        let states = node.subscriber::<RobotState>(&rt.topic(&format!("/{name}/state")), 4096)?;
        let v = Rc::clone(&view);
        exec.subscription(states, move |s| {
            let mut view = v.borrow_mut();
            let row = view.robots.entry(name.clone()).or_default();
            row.mode = s.mode;
            row.x = s.pose.position.x.to_native();
            row.y = s.pose.position.y.to_native();
            row.speed = s.velocity.linear.x.to_native();
            row.battery = s.battery_percentage.to_native();
            row.task = s.current_task_id.as_str().to_owned();
        });
    }
    let beats = node.subscriber::<Heartbeat>(&rt.topic(HEARTBEAT_TOPIC), 1024)?;
    let v = Rc::clone(&view);
    exec.subscription(beats, move |beat| {
        let name = beat.node_name.as_str().trim_start_matches('/').to_owned();
        if name.starts_with("robot") {
            v.borrow_mut().robots.entry(name).or_default().beat = Some(Instant::now());
        }
    });
    let statuses = node.subscriber::<TaskStatus>(&rt.topic(TASK_STATUS_TOPIC), 4096)?;
    let v = Rc::clone(&view);
    exec.subscription(statuses, move |s| {
        let mut view = v.borrow_mut();
        if s.state == TaskStatus::STATE_SUCCEEDED {
            view.done += 1;
        } else {
            view.active += 1;
        }
    });
    let clouds = node
        .subscriber_with::<PointCloud2>(&rt.topic(LIDAR_TOPIC), (4 << 20) + 4096, &lidar_qos())?
        .zero_copy(true);
    let v = Rc::clone(&view);
    exec.subscription(clouds, move |cloud| {
        let mut view = v.borrow_mut();
        view.clouds += 1;
        view.cloud_bytes += cloud.data.len() as u64;
    });
    let v = Rc::clone(&view);
    exec.named_timer("print", period, move || {
        print!("{}", render(&mut v.borrow_mut()));
    });
    rt.serve(&node)?;
    rt.ready(&node.did());
    rt.spin(&mut exec, Duration::from_millis(200))?;
    Ok(())
}
