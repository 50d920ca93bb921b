//! Waiting on many shared-memory subscribers at once: one iceoryx2 `WaitSet` over their
//! wake-up listeners, no polling. The executors keep a `WaitSet` and call [`wait_once`];
//! language bindings, whose ports live in foreign objects, call [`wait_any`].

use std::time::Duration;

use iceoryx2::prelude::{ipc, CallbackProgression, SignalHandlingMode, WaitSet, WaitSetBuilder};

use super::shm::WakeSource;

/// A `WaitSet` could not be made or failed.
#[derive(Debug, thiserror::Error)]
#[error("shared-memory wait failed: {0}")]
pub struct WaitError(pub String);

/// A `WaitSet` for [`wait_once`] (signals are left to the caller).
///
/// # Errors
/// [`WaitError`] when iceoryx2 cannot create it.
pub fn waitset() -> Result<WaitSet<ipc::Service>, WaitError> {
    WaitSetBuilder::new()
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create()
        .map_err(|e| WaitError(format!("cannot create a WaitSet: {e:?}")))
}

/// Waits up to `timeout` until some of `sources` is signalled; which ones were. The
/// signals stay pending: consume them (`clear_wakeups`) before reading the frames.
///
/// # Errors
/// [`WaitError`] when a source cannot be attached or the wait fails.
pub fn wait_once(
    waitset: &WaitSet<ipc::Service>,
    sources: &[&dyn WakeSource],
    timeout: Duration,
) -> Result<Vec<bool>, WaitError> {
    let mut fired = vec![false; sources.len()];
    let guards = sources
        .iter()
        .map(|s| waitset.attach_notification(*s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WaitError(format!("cannot attach a subscriber: {e:?}")))?;
    waitset
        .wait_and_process_once_with_timeout(
            |id| {
                for (hit, guard) in fired.iter_mut().zip(&guards) {
                    *hit |= id.has_event_from(guard);
                }
                CallbackProgression::Continue
            },
            timeout,
        )
        .map_err(|e| WaitError(format!("{e:?}")))?;
    Ok(fired)
}

/// [`wait_once`] on a `WaitSet` made for this wait.
///
/// # Errors
/// As [`wait_once`].
pub fn wait_any(sources: &[&dyn WakeSource], timeout: Duration) -> Result<Vec<bool>, WaitError> {
    wait_once(&waitset()?, sources, timeout)
}
