//! Running a bridge in the foreground until asked to stop, as `omni-mesh-ros2-bridge` and
//! `omni-mesh bridge ros2` do: it reports what it bridges, then a summary of what it
//! forwarded.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::{BridgeConfig, BridgeConfigError};
use crate::{Bridge, BridgeError};

/// The bridge could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] BridgeConfigError),
    /// The bridge failed.
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    /// The report could not be written.
    #[error("cannot write the report: {0}")]
    Report(#[from] std::io::Error),
}

/// Loads `config`; with `check` only validates it; else runs the bridge until `stop` is set
/// (or a bridge thread fails), writing its report to `out`.
///
/// # Errors
/// [`RunError`].
pub fn run(
    config: &Path,
    check: bool,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<(), RunError> {
    let settings = BridgeConfig::from_file(config)?;
    if check {
        writeln!(
            out,
            "{}: {} topic(s) and {} service(s) mapped",
            config.display(),
            settings.topics.len(),
            settings.services.len()
        )?;
        return Ok(());
    }
    let bridge = Bridge::start(&settings)?;
    writeln!(
        out,
        "bridge {} up: {} topic(s), {} service(s), DDS domain {}",
        bridge.did(),
        settings.topics.len(),
        settings.services.len(),
        settings.ros.domain_id
    )?;
    for t in &settings.topics {
        writeln!(
            out,
            "  {} <-> ROS {} ({}, {:?})",
            t.mesh_name(),
            t.ros_name(),
            t.type_name.get_ref(),
            t.direction
        )?;
    }
    for s in &settings.services {
        writeln!(
            out,
            "  service {} <-> ROS {} ({}, served on {:?})",
            s.mesh_name(),
            s.ros_name(),
            s.type_name.get_ref(),
            s.server
        )?;
    }
    out.flush()?;
    while !stop.load(Ordering::SeqCst) && bridge.is_running() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = bridge.counters();
    let summary = format!(
        "forwarded to ROS {}, from ROS {}; held back {}, malformed {}, calls unanswered {}",
        c.to_ros.load(Ordering::Relaxed),
        c.from_ros.load(Ordering::Relaxed),
        c.held_back.load(Ordering::Relaxed),
        c.malformed.load(Ordering::Relaxed),
        c.unanswered.load(Ordering::Relaxed)
    );
    bridge.stop()?;
    writeln!(out, "bridge stopped: {summary}")?;
    Ok(())
}
