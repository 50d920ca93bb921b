//! Thread placement: pin the calling thread to a core (core_affinity) and opt into
//! `SCHED_FIFO` (thread-priority), each refused with an error that says why and what to do.

use super::RtConfig;

/// A placement request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtError {
    /// The core does not exist (or is not in this process's allowed set).
    #[error("cannot pin to core {core}: this process may use cores {available:?}")]
    NoSuchCore {
        /// The core asked for.
        core: usize,
        /// The cores that exist.
        available: Vec<usize>,
    },
    /// The kernel refused the affinity change.
    #[error("pinning to core {0} was refused by the kernel")]
    PinRefused(usize),
    /// Priority out of the 1..=99 range.
    #[error("SCHED_FIFO priority {0} is out of range (1 to 99)")]
    BadPriority(u8),
    /// The kernel refused `SCHED_FIFO`.
    #[error(
        "SCHED_FIFO at priority {priority} was refused ({cause}); it needs root or \
         CAP_SYS_NICE (and, in a container, a real-time runtime budget); running on the \
         normal scheduler"
    )]
    FifoRefused {
        /// The priority asked for.
        priority: u8,
        /// The kernel's answer.
        cause: String,
    },
}

/// Pins the calling thread to `core`.
///
/// # Errors
/// [`RtError::NoSuchCore`] or [`RtError::PinRefused`].
pub fn pin_current_thread(core: usize) -> Result<(), RtError> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let Some(id) = cores.iter().find(|c| c.id == core) else {
        return Err(RtError::NoSuchCore {
            core,
            available: cores.iter().map(|c| c.id).collect(),
        });
    };
    if core_affinity::set_for_current(*id) {
        Ok(())
    } else {
        Err(RtError::PinRefused(core))
    }
}

/// Runs the calling thread under `SCHED_FIFO` at `priority` (1 to 99).
///
/// # Errors
/// [`RtError::BadPriority`] or [`RtError::FifoRefused`].
pub fn set_sched_fifo(priority: u8) -> Result<(), RtError> {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::{ThreadPriority, ThreadPriorityValue};

    if !(1..=99).contains(&priority) {
        return Err(RtError::BadPriority(priority));
    }
    let value = ThreadPriorityValue::try_from(priority.min(99))
        .map_err(|_| RtError::BadPriority(priority))?;
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .map_err(|e| RtError::FifoRefused {
        priority,
        cause: format!("{e:?}"),
    })
}

/// Applies `[rt] pin_core` and `sched_fifo` to the calling thread. Each refusal is returned
/// (the thread keeps running as it was); nothing asked for gives an empty list.
#[must_use]
pub fn apply_to_current_thread(config: &RtConfig) -> Vec<RtError> {
    let mut refused = Vec::new();
    if let Some(core) = config.pin_core {
        refused.extend(pin_current_thread(core).err());
    }
    if let Some(priority) = config.sched_fifo {
        refused.extend(set_sched_fifo(priority).err());
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_explained() {
        let err = pin_current_thread(100_000).unwrap_err();
        assert!(
            matches!(err, RtError::NoSuchCore { core: 100_000, .. }),
            "{err}"
        );
        assert_eq!(set_sched_fifo(0), Err(RtError::BadPriority(0)));
        assert_eq!(set_sched_fifo(100), Err(RtError::BadPriority(100)));
        // Pinning to a core that exists works for an unprivileged thread too.
        let first = core_affinity::get_core_ids().unwrap()[0].id;
        pin_current_thread(first).unwrap();
    }
}
