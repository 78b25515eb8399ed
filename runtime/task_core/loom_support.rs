//! What the scheduler's loom models share: tasks that a queue under test holds and runs, with
//! a scheduler that never sees them again (they are never woken).

use crate::task_core::{new_task, Notified, Schedule, Task, TaskMeta};
use std::future::Future;

/// The scheduler of tasks that only the queue under test holds.
#[derive(Clone)]
pub(crate) struct Unscheduled;

impl Schedule for Unscheduled {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }
    fn schedule(&self, _task: Notified<Self>) {
        unreachable!("these tasks are never woken")
    }
}

/// A task running `future`, as the one reference a queue holds: running it polls the future
/// to its end, dropping it drops the future.
pub(crate) fn notified(future: impl Future<Output = ()> + Send + 'static) -> Notified<Unscheduled> {
    let meta = TaskMeta::new(None, std::panic::Location::caller());
    let (owned, notified, join) = new_task(future, Unscheduled, meta);
    drop((owned, join));
    notified
}
