//! Deadlock detection, the runtime's side: the bookkeeping and the cycle check live in
//! `runtime_primitives::diag` (the primitives know nothing of the runtime); this file gives
//! them the running task's id and task names, and routes a report to the `on_deadlock` of the
//! runtime where the cycle closed.
//!
//! A report is made on the thread of the task (or OS thread) whose wait closed the cycle:
//!
//! - that thread belongs to a runtime built with `detect_deadlocks(true)`: its `on_deadlock`
//!   callback, or stderr without one;
//! - a runtime built without it: nothing (detection is process-wide once any runtime turns it
//!   on, but only the runtimes that asked for it report);
//! - no runtime (plain threads): stderr.

use std::sync::Arc;

pub use runtime_primitives::diag::{DeadlockLink, DeadlockReport, Kind, Party, ResourceInfo};

/// What `Builder::on_deadlock` was given.
pub(crate) type OnDeadlock = Arc<dyn Fn(&DeadlockReport) + Send + Sync>;

/// A runtime's deadlock settings, in its `Config`.
#[derive(Clone, Default)]
pub(crate) struct DeadlockConfig {
    pub(crate) detect: bool,
    pub(crate) on_deadlock: Option<OnDeadlock>,
}

impl std::fmt::Debug for DeadlockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlockConfig")
            .field("detect", &self.detect)
            .field("on_deadlock", &self.on_deadlock.is_some())
            .finish()
    }
}

/// Turns deadlock detection on for the whole process (as building a runtime with
/// `detect_deadlocks(true)` does), for programs or tests whose locks are shared by plain
/// threads: a cycle found outside any runtime is reported on stderr. It stays on.
///
/// ```
/// use runtime::sync::Mutex;
///
/// runtime::diag::enable_deadlock_detection();
/// let (a, b) = (Mutex::new(()), Mutex::new(()));
/// drop((a.lock_blocking(), b.lock_blocking())); // one order: no report
/// ```
pub fn enable_deadlock_detection() {
    install();
}

/// Gives the primitives the task hooks and the report route, and turns tracking on.
pub(crate) fn install() {
    runtime_primitives::diag::set_task_hooks(current_task, task_name);
    runtime_primitives::diag::set_report_hook(route);
    runtime_primitives::diag::enable();
}

fn current_task() -> Option<u64> {
    crate::task::try_id().map(|id| id.as_u64())
}

/// The name of task `id`, for reports: looked up in the current runtime's task lists
/// (one shard of them), so a task of another runtime shows by id only.
fn task_name(id: u64) -> Option<String> {
    let id = crate::task::Id::from_u64(id)?;
    crate::context::try_with_current_handle(|handle| handle.inner.task_name(id)).flatten()
}

/// Sends `report` where the runtime of this thread wants it (see the module doc).
fn route(report: &DeadlockReport) {
    let config = crate::context::try_with_current_handle(|handle| {
        handle.inner.blocking_spawner().config().deadlock.clone()
    });
    match config {
        Some(config) if config.detect => match &config.on_deadlock {
            Some(f) => f(report),
            None => eprintln!("{report}"),
        },
        Some(_) => {}
        None => eprintln!("{report}"),
    }
}
