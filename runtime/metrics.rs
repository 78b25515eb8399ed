//! `RuntimeMetrics`: a snapshot of a runtime's counters.

use crate::scheduler;

/// A snapshot of a runtime's counters, taken by [`Handle::metrics`](crate::Handle::metrics).
///
/// ```
/// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
/// let m = rt.metrics();
/// assert_eq!(m.workers, 2);
/// assert!(m.spawned_tasks >= 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Worker threads (1 for the current-thread flavor).
    pub workers: usize,
    /// Tasks spawned and not yet finished.
    pub alive_tasks: usize,
    /// Tasks spawned since the runtime started.
    pub spawned_tasks: u64,
    /// Task polls since the runtime started.
    pub polls: u64,
    /// Successful steals (each moves half a victim's queue).
    pub steals: u64,
    /// Tasks waiting in the global (injector) queue.
    pub injector_depth: usize,
    /// Blocking-pool threads alive.
    pub blocking_threads: usize,
    /// Blocking-pool threads idle (waiting for a job).
    pub idle_blocking_threads: usize,
    /// Blocking-pool threads running a job (or starting up to run one).
    pub busy_blocking_threads: usize,
    /// Blocking jobs waiting for a thread.
    pub blocking_queue_depth: usize,
    /// IO readiness events the reactor dispatched, plus completions the io_uring driver
    /// reaped.
    pub io_events: u64,
    /// IO resources (sockets) registered with the reactor now, plus the TCP streams and
    /// listeners on the io_uring driver.
    pub io_registrations: usize,
    /// The IO driver TCP sockets run on: [`IoDriver::Uring`](crate::IoDriver::Uring) only
    /// if it was asked for and `io_uring_setup` worked (else the runtime fell back to
    /// [`IoDriver::Mio`](crate::IoDriver::Mio)).
    pub io_driver: crate::IoDriver,
    /// io_uring operations the ring holds now: in flight, cancelled and awaiting their
    /// completion, or completed and not yet taken by their socket (0 on mio).
    pub io_ops: usize,
}

impl RuntimeMetrics {
    pub(crate) fn collect(handle: &scheduler::Handle) -> RuntimeMetrics {
        let (blocking_threads, idle_blocking_threads, busy_blocking_threads, blocking_queue_depth) =
            handle.blocking_spawner().counts();
        let mut m = RuntimeMetrics {
            blocking_threads,
            idle_blocking_threads,
            busy_blocking_threads,
            blocking_queue_depth,
            ..RuntimeMetrics::default()
        };
        let io = &handle.driver().io;
        let driver = handle.driver();
        m.io_events = io.events() + driver.io_completions();
        m.io_registrations = io.registered() + driver.io_sockets();
        m.io_driver = driver.io_driver();
        m.io_ops = driver.io_ops();
        match handle {
            scheduler::Handle::CurrentThread(h) => {
                m.workers = 1;
                m.alive_tasks = h.owned.alive() + h.locals.alive();
                m.spawned_tasks = h.owned.spawned() + h.locals.spawned();
                m.polls = h.polls();
                m.injector_depth = h.injector_depth();
            }
            scheduler::Handle::MultiThread(h) => {
                let (polls, steals) = h.metrics_totals();
                m.workers = h.num_workers();
                m.alive_tasks = h.owned.alive();
                m.spawned_tasks = h.owned.spawned();
                m.polls = polls;
                m.steals = steals;
                m.injector_depth = h.injector_depth();
            }
        }
        m
    }
}
