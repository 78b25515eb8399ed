//! The runtimes under test behind one small interface, and the bookkeeping every timed
//! workload shares: a count of finished work that each iteration must match, and the median
//! of runs after a warm-up.
//!
//! Benches that need more of a runtime (sockets, timers, channels) extend [`Rt`] with a trait
//! of their own, implemented for the same three types.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_executor::{Executor, Task};

use super::{median, Config, Smol};

/// This crate's runtime.
pub(crate) type Ours = runtime::Runtime;
/// tokio's multi-thread runtime, with its IO and time drivers on (as ours always has them).
pub(crate) type Tokio = tokio::runtime::Runtime;

/// A multi-thread runtime under test, owned by the bench thread.
pub(crate) trait Rt: Sized + 'static {
    /// What the bench thread and tasks spawn through.
    type Spawner: Spawner;

    /// A multi-thread runtime with `workers` worker threads.
    fn build(workers: usize) -> Self;
    fn spawner(&self) -> Self::Spawner;
    /// Runs `fut` to completion on the (non-runtime) bench thread.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
}

/// What every benchmark task is.
pub(crate) trait Job: Future<Output = ()> + Send + 'static {}

impl<F: Future<Output = ()> + Send + 'static> Job for F {}

/// A cloneable way to put tasks on one runtime.
pub(crate) trait Spawner: Clone + Send + Sync + 'static {
    /// Resolves when the task finishes. Its output is ignored: workloads count completed
    /// work with [`done`] instead, which also catches failed tasks.
    type Join: Future + Send + 'static;

    /// Spawns from inside one of the runtime's tasks, the way application code does.
    fn spawn(&self, fut: impl Job) -> Self::Join;
    /// Spawns from a thread outside the runtime, through its handle.
    fn spawn_remote(&self, fut: impl Job) -> Self::Join;
    /// Lets the task run on with nobody waiting for it.
    fn detach(join: Self::Join) {
        drop(join);
    }
}

// ===== impl Rt =====

impl Rt for Ours {
    type Spawner = runtime::Handle;

    fn build(workers: usize) -> Self {
        runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("build the runtime")
    }
    fn spawner(&self) -> runtime::Handle {
        self.handle().clone()
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Ours::block_on(self, fut)
    }
}

impl Spawner for runtime::Handle {
    type Join = runtime::task::JoinHandle<()>;

    fn spawn(&self, fut: impl Job) -> Self::Join {
        runtime::spawn(fut)
    }
    fn spawn_remote(&self, fut: impl Job) -> Self::Join {
        runtime::Handle::spawn(self, fut)
    }
}

impl Rt for Tokio {
    type Spawner = tokio::runtime::Handle;

    fn build(workers: usize) -> Self {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build the tokio runtime")
    }
    fn spawner(&self) -> tokio::runtime::Handle {
        self.handle().clone()
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Tokio::block_on(self, fut)
    }
}

impl Spawner for tokio::runtime::Handle {
    type Join = tokio::task::JoinHandle<()>;

    fn spawn(&self, fut: impl Job) -> Self::Join {
        tokio::spawn(fut)
    }
    fn spawn_remote(&self, fut: impl Job) -> Self::Join {
        tokio::runtime::Handle::spawn(self, fut)
    }
}

impl Rt for Smol {
    type Spawner = Arc<Executor<'static>>;

    fn build(workers: usize) -> Self {
        // `smol::block_on` (async-io's) as smol's own global executor threads do, so the
        // executor threads also drive async-io's reactor.
        Smol::start(workers, |ex, stopped| {
            let _closed = smol::block_on(ex.run(stopped.recv()));
        })
    }
    fn spawner(&self) -> Arc<Executor<'static>> {
        self.ex.clone()
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        smol::block_on(fut)
    }
}

impl Spawner for Arc<Executor<'static>> {
    type Join = Task<()>;

    fn spawn(&self, fut: impl Job) -> Task<()> {
        Executor::spawn(self, fut)
    }
    fn spawn_remote(&self, fut: impl Job) -> Task<()> {
        Executor::spawn(self, fut)
    }
    fn detach(join: Task<()>) {
        // Dropping a smol `Task` would cancel it.
        join.detach();
    }
}

// ===== workload bookkeeping =====

/// Units of work finished in the current iteration. Checked after every iteration, so a
/// runtime that loses or fails tasks cannot post a good figure.
static DONE: AtomicUsize = AtomicUsize::new(0);

/// Counts `units` of finished work.
pub(crate) fn done(units: usize) {
    DONE.fetch_add(units, Relaxed);
}

/// Panics unless exactly `expected` units finished since the last check; resets the count.
pub(crate) fn expect_done(expected: usize, workload: &str) {
    let got = DONE.swap(0, Relaxed);
    assert_eq!(
        got, expected,
        "{workload}: {got} of {expected} units of work finished"
    );
}

pub(crate) async fn join_all<J: Future>(handles: Vec<J>) {
    for handle in handles {
        handle.await;
    }
}

/// Spawns the future `root` builds as a task from the bench thread, so the workload runs in
/// task context, and returns how long it took to finish.
pub(crate) fn time_in_task<R: Rt, F: Job>(rt: &R, root: impl FnOnce(R::Spawner) -> F) -> Duration {
    let s = rt.spawner();
    let start = Instant::now();
    rt.block_on(s.spawn_remote(root(s.clone())));
    start.elapsed()
}

/// Runs `iteration` once to warm up and `runs` more times; returns the median.
pub(crate) fn measure(runs: usize, mut iteration: impl FnMut() -> Duration) -> Duration {
    iteration();
    median((0..runs).map(|_| iteration()).collect())
}

/// Builds `R` once for all runs of `work` and drops it afterwards, outside the timings.
pub(crate) fn bench<R: Rt>(cfg: &Config, work: fn(&R) -> Duration) -> Duration {
    let rt = R::build(cfg.workers);
    measure(cfg.runs, || work(&rt))
}
