//! Diagnostics: the task dump, the blocking-poll monitor and deadlock reports.
//!
//! - [`Handle::dump`](crate::Handle::dump) returns a [`TaskDump`]: every live task with its
//!   id, name, spawn location, parent and state, and for a task parked on a primitive (while
//!   wait tracking is on) which one and who holds it.
//! - [`Builder::warn_on_blocking`](crate::Builder::warn_on_blocking) starts a monitor that
//!   reports a poll longer than a threshold ([`BlockingReport`]) and moves the stuck
//!   worker's queued tasks to the other workers.

mod dump;
pub(crate) mod monitor;
mod waits;

pub use dump::{Holder, Owner, TaskDump, TaskInfo, TaskState, WaitInfo, WorkerInfo};
pub use monitor::BlockingReport;

pub(crate) use dump::take as take_dump;
