//! `teleop`: drives one robot by hand. With `--linear`/`--angular` it sends that velocity
//! for `--duration-s` seconds, then a stop; without them it reads keys from stdin, one per
//! line: `w` faster, `s` slower, `a` left, `d` right, space or `x` stop, `q` quit.
//! Commands are omni_msgs/MotionCommand on `/<robot>/cmd` at teleop priority, valid for
//! 0.5 s each, so the robot stops by itself when teleop goes away.
//!
//! ```sh
//! teleop --robot robot_0 --linear 0.5 --angular 0.3 --duration-s 3
//! ```

use std::io::BufRead as _;
use std::time::{Duration, Instant};

use clap::Parser;
use omni_mesh_nodes::fleet::now_stamp;
use omni_mesh_nodes::runtime::{NodeArgs, NodeRuntime};
use omni_msgs::builtin_interfaces::msg::Duration as RosDuration;
use omni_msgs::omni_msgs::msg::MotionCommand;

#[derive(Parser)]
#[command(about = "Drive one robot: a fixed velocity for a while, or keys from stdin")]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// The robot to drive (its node name).
    #[arg(long, default_value = "robot_0")]
    robot: String,
    /// Forward speed, m/s (scripted mode).
    #[arg(long, allow_negative_numbers = true)]
    linear: Option<f64>,
    /// Turn rate, rad/s (scripted mode).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.0)]
    angular: f64,
    /// How long to drive in scripted mode, seconds.
    #[arg(long, default_value_t = 3.0)]
    duration_s: f64,
    /// Command rate, Hz.
    #[arg(long, default_value_t = 10.0)]
    rate_hz: f64,
}

fn command(linear: f64, angular: f64) -> MotionCommand {
    let mut cmd = MotionCommand {
        priority: MotionCommand::PRIORITY_TELEOP,
        valid_for: RosDuration {
            sec: 0,
            nanosec: 500_000_000,
        },
        ..MotionCommand::default()
    };
    cmd.header.stamp = now_stamp();
    cmd.header.frame_id = "base_link".into();
    cmd.twist.linear.x = linear;
    cmd.twist.angular.z = angular;
    cmd
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = NodeRuntime::init("teleop", &args.node)?;
    let node = rt.node()?;
    let topic = rt.topic(&format!("/{}/cmd", args.robot.trim_start_matches('/')));
    let mut publisher = node.publisher::<MotionCommand>(&topic, 4096)?;
    let period = Duration::from_secs_f64(1.0 / args.rate_hz.clamp(0.1, 1000.0));
    rt.ready(&node.did());
    if let Some(linear) = args.linear {
        let end = Instant::now() + Duration::from_secs_f64(args.duration_s.max(0.0));
        let mut sent = 0u64;
        while rt.running() && Instant::now() < end {
            publisher.publish(&command(linear, args.angular))?;
            sent += 1;
            std::thread::sleep(period);
        }
        publisher.publish(&command(0.0, 0.0))?;
        println!("teleop: sent {sent} commands to {topic}, then a stop");
        return Ok(());
    }
    println!("teleop {topic}: w/s faster/slower, a/d turn, x stop, q quit (one key per line)");
    let (mut linear, mut angular) = (0.0f64, 0.0f64);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while rt.running() {
        match rx.recv_timeout(period) {
            Ok(line) => match line.trim() {
                "w" => linear += 0.1,
                "s" => linear -= 0.1,
                "a" => angular += 0.2,
                "d" => angular -= 0.2,
                "" | "x" => (linear, angular) = (0.0, 0.0),
                "q" => break,
                other => println!("unknown key `{other}`"),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        publisher.publish(&command(linear, angular))?;
    }
    publisher.publish(&command(0.0, 0.0))?;
    Ok(())
}
