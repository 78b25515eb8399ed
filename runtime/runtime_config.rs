//! The settled configuration a `Builder` hands to the schedulers and the blocking pool.

use std::sync::Arc;
use std::time::Duration;

pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) worker_threads: usize,
    pub(crate) max_blocking_threads: usize,
    pub(crate) thread_keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) thread_stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<Callback>,
    pub(crate) on_thread_stop: Option<Callback>,
    pub(crate) global_queue_interval: u32,
    pub(crate) event_interval: u32,
    /// The clock starts paused (`time::pause`); current-thread only.
    pub(crate) start_paused: bool,
    /// The blocking-poll monitor, when on.
    pub(crate) monitor: Option<crate::diag::monitor::MonitorConfig>,
    /// `detect_deadlocks` and `on_deadlock`.
    pub(crate) deadlock: crate::diag::DeadlockConfig,
    /// Which IO driver sockets run on.
    pub(crate) io: crate::driver::IoConfig,
}
