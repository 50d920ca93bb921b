//! `omni-mesh launch FILE`: the supervisor. It starts a launch file's nodes in plan order,
//! prefixes (and colours, on a terminal) each node's output and copies it to the node's log
//! file, restarts nodes by their policy with doubling back-off, forwards SIGINT/SIGTERM by
//! stopping the nodes in reverse order (SIGTERM, then SIGKILL after the stop timeout), and
//! exits non-zero when a required node fails. `--check` only validates and prints the plan.

use std::io::{BufRead, BufReader, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use mesh_launch::{Plan, PlannedNode, RestartPolicy};

/// `omni-mesh launch`.
#[derive(Args)]
pub struct LaunchArgs {
    /// The launch file (`launch/*.launch.toml`).
    #[arg(required_unless_present = "print_schema")]
    file: Option<PathBuf>,
    /// Print the JSON Schema of launch files and exit.
    #[arg(long)]
    print_schema: bool,
    /// Validate the file and print the start order without running anything.
    #[arg(long)]
    check: bool,
    /// How long stopping waits for nodes to exit after SIGTERM before SIGKILL, seconds.
    #[arg(long, default_value_t = 5)]
    stop_timeout_s: u64,
}

/// Longest restart back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const COLOURS: [u8; 6] = [31, 32, 33, 34, 35, 36];

/// Runs `omni-mesh launch`.
pub fn run(args: LaunchArgs) -> anyhow::Result<()> {
    let here = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from));
    let Some(file) = &args.file else {
        print!("{}", mesh_launch::json_schema());
        return Ok(());
    };
    let plan = mesh_launch::load(file, here.as_slice())?;
    if args.check {
        print_plan(&plan);
        return Ok(());
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    Supervisor::new(plan, Duration::from_secs(args.stop_timeout_s)).run(&stop)
}

fn print_plan(plan: &Plan) {
    println!("{} nodes, in start order:", plan.nodes.len());
    for (i, n) in plan.nodes.iter().enumerate() {
        let after = if n.after.is_empty() {
            String::new()
        } else {
            format!("  after {}", n.after.join(", "))
        };
        println!(
            "{:>3}. {:<20} {}{}",
            i + 1,
            n.name,
            n.executable.display(),
            after
        );
    }
}

/// One node's process and restart state.
struct Running {
    node: PlannedNode,
    child: Option<Child>,
    restarts: u32,
    backoff: Duration,
    restart_at: Option<Instant>,
    colour: u8,
}

struct Supervisor {
    nodes: Vec<Running>,
    stop_timeout: Duration,
    terminal: bool,
    out: Arc<Mutex<()>>,
}

impl Supervisor {
    fn new(plan: Plan, stop_timeout: Duration) -> Self {
        let nodes = plan
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| Running {
                backoff: Duration::from_millis(node.restart.delay_ms().max(1)),
                node,
                child: None,
                restarts: 0,
                restart_at: None,
                colour: COLOURS[i % COLOURS.len()],
            })
            .collect();
        Self {
            nodes,
            stop_timeout,
            terminal: std::io::stdout().is_terminal(),
            out: Arc::new(Mutex::new(())),
        }
    }

    fn say(&self, line: &str) {
        let _guard = self.out.lock();
        println!("[launch] {line}");
    }

    fn run(mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        for i in 0..self.nodes.len() {
            if stop.load(Ordering::Acquire) {
                break;
            }
            self.start(i)?;
        }
        let mut failed: Option<String> = None;
        while !stop.load(Ordering::Acquire) && failed.is_none() {
            std::thread::sleep(Duration::from_millis(50));
            let now = Instant::now();
            for i in 0..self.nodes.len() {
                if self.nodes[i].restart_at.is_some_and(|t| now >= t) {
                    self.nodes[i].restart_at = None;
                    self.start(i)?;
                }
                let Some(status) = self.exited(i) else {
                    continue;
                };
                if let Some(reason) = self.after_exit(i, status) {
                    failed = Some(reason);
                    break;
                }
            }
            if self
                .nodes
                .iter()
                .all(|n| n.child.is_none() && n.restart_at.is_none())
            {
                self.say("every node has ended");
                break;
            }
        }
        self.stop_all();
        match failed {
            Some(reason) => anyhow::bail!("{reason}"),
            None => Ok(()),
        }
    }

    /// The exit status of node `i` if it has just ended.
    fn exited(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        let child = self.nodes[i].child.as_mut()?;
        let status = child.try_wait().ok().flatten()?;
        self.nodes[i].child = None;
        Some(status)
    }

    /// Applies node `i`'s restart policy; a reason if the launch must stop.
    fn after_exit(&mut self, i: usize, status: std::process::ExitStatus) -> Option<String> {
        let n = &mut self.nodes[i];
        let failure = !status.success();
        let policy = n.node.restart.policy();
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => failure,
            RestartPolicy::Never => false,
        };
        let max = n.node.restart.max_restarts();
        let name = n.node.name.clone();
        if restart && (max == 0 || n.restarts < max) {
            n.restarts += 1;
            n.restart_at = Some(Instant::now() + n.backoff);
            let delay = n.backoff;
            n.backoff = (n.backoff * 2).min(MAX_BACKOFF);
            self.say(&format!(
                "{name} exited ({status}); restart {} in {} ms",
                self.nodes[i].restarts,
                delay.as_millis()
            ));
            return None;
        }
        self.say(&format!("{name} exited ({status})"));
        (failure && self.nodes[i].node.required)
            .then(|| format!("required node {name} failed ({status})"))
    }

    fn start(&mut self, i: usize) -> anyhow::Result<()> {
        let (terminal, out) = (self.terminal, Arc::clone(&self.out));
        let n = &mut self.nodes[i];
        let node = &n.node;
        let mut cmd = Command::new(&node.executable);
        cmd.args(&node.args)
            .env("OMNI_MESH_NODE_NAME", &node.name)
            .env("OMNI_MESH_NAMESPACE", &node.namespace)
            .env("OMNI_MESH_PARAMS", node.params.to_string())
            .env(
                "OMNI_MESH_REMAP",
                serde_json::to_string(&node.remap).unwrap_or_default(),
            )
            .envs(&node.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {} ({})", node.name, node.executable.display()))?;
        let log = match &node.log {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                Some(Arc::new(Mutex::new(file)))
            }
            None => None,
        };
        let prefix = if terminal {
            format!("\x1b[{}m[{}]\x1b[0m ", n.colour, node.name)
        } else {
            format!("[{}] ", node.name)
        };
        let streams: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as _),
            child.stderr.take().map(|s| Box::new(s) as _),
        ];
        for stream in streams.into_iter().flatten() {
            let (prefix, log, out) = (prefix.clone(), log.clone(), Arc::clone(&out));
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(log) = &log {
                        let mut f = log
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        let _ = writeln!(f, "{line}");
                    }
                    let _guard = out.lock();
                    println!("{prefix}{line}");
                }
            });
        }
        let started = format!("started {} (pid {})", n.node.name, child.id());
        self.say(&started);
        self.nodes[i].child = Some(child);
        Ok(())
    }

    /// Stops running nodes in reverse start order: SIGTERM, then SIGKILL after the timeout.
    fn stop_all(&mut self) {
        for n in self.nodes.iter_mut().rev() {
            n.restart_at = None;
            if let Some(child) = &n.child {
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
            }
        }
        let deadline = Instant::now() + self.stop_timeout;
        for i in (0..self.nodes.len()).rev() {
            let Some(mut child) = self.nodes[i].child.take() else {
                continue;
            };
            let name = self.nodes[i].node.name.clone();
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    self.say(&format!("{name} stopped ({status})"));
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.say(&format!("{name} killed after the stop timeout"));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
