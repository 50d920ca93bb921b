//! Real-time aids for executors: WCET guards (a time budget per callback; every run is timed,
//! overruns are counted, logged and exported), CPU pinning and `SCHED_FIFO` opt-in, all from
//! the `[rt]` section of the configuration.
//!
//! ```
//! use std::time::Duration;
//! use mesh_core::rt::{RtConfig, Wcet};
//!
//! let mut config = RtConfig::default();
//! config.budgets.insert("/fleet/odom".into(), 50); // microseconds
//! let wcet = Wcet::new(config);
//! let mut guard = wcet.guard("/fleet/odom");
//! guard.run(|| std::thread::sleep(Duration::from_millis(1)));
//! assert_eq!(guard.overruns(), 1);
//! ```

mod guard;
mod sched;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use guard::{CallbackLabels, Guard, Wcet, WcetMetrics};
pub use sched::{apply_to_current_thread, pin_current_thread, set_sched_fifo, RtError};

/// `[rt]`: callback budgets and thread placement of a node's executor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RtConfig {
    /// Budget of every callback that has none of its own, microseconds (0: none, only timed).
    pub default_budget_us: u64,
    /// Budgets by callback name (a subscription's topic, a service's name, a timer's name),
    /// microseconds.
    pub budgets: BTreeMap<String, u64>,
    /// Pin the executor thread to this CPU core (absent: the scheduler chooses).
    pub pin_core: Option<usize>,
    /// Run the executor thread under `SCHED_FIFO` at this priority, 1 to 99 (absent: the
    /// normal scheduler). Needs `CAP_SYS_NICE` or root; refused with a clear error otherwise.
    pub sched_fifo: Option<u8>,
}
