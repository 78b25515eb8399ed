//! Diagnostics: the task dump, the blocking-poll monitor and deadlock detection.
//!
//! - [`Handle::dump`](crate::Handle::dump) returns a [`TaskDump`]: every live task with its
//!   id, name, spawn location, parent and state, and for a task parked on a primitive (while
//!   deadlock detection tracks waits) which one and who holds it.
//! - [`Builder::warn_on_blocking`](crate::Builder::warn_on_blocking) starts a monitor that
//!   reports a poll longer than a threshold ([`BlockingReport`]) and moves the stuck
//!   worker's queued tasks to the other workers.
//! - [`Builder::detect_deadlocks`](crate::Builder::detect_deadlocks) reports a cycle of
//!   tasks waiting for each other's locks ([`DeadlockReport`]):
//!
//! ```
//! let rt = runtime::Builder::new_multi_thread()
//!     .worker_threads(1)
//!     .detect_deadlocks(true)
//!     .on_deadlock(|report: &runtime::diag::DeadlockReport| eprintln!("{report}"))
//!     .build()
//!     .unwrap();
//! # drop(rt);
//! ```

mod deadlock;
mod dump;
pub(crate) mod monitor;
mod waits;

pub use deadlock::{
    enable_deadlock_detection, DeadlockLink, DeadlockReport, Kind, Party, ResourceInfo,
};
pub use dump::{Holder, Owner, TaskDump, TaskInfo, TaskState, WaitInfo, WorkerInfo};
pub use monitor::BlockingReport;

pub(crate) use deadlock::{install, DeadlockConfig};
pub(crate) use dump::{take as take_dump, workers};
