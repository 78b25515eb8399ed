//! `Handle`: a cloneable reference to a runtime, usable from any thread.

use crate::scheduler;
use crate::task_core::{JoinHandle, TaskMeta};
use crate::RuntimeMetrics;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;

/// A cloneable, `Send + Sync` reference to a runtime: spawn onto it from any thread.
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let from_thread = std::thread::spawn(move || handle.block_on(handle.spawn(async { 7 })))
///     .join()
///     .unwrap();
/// assert_eq!(from_thread.unwrap(), 7);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

/// The runtime is no longer current when this guard drops. See [`Handle::enter`].
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let guard = rt.handle().enter();
/// assert!(runtime::Handle::try_current().is_ok());
/// drop(guard);
/// assert!(runtime::Handle::try_current().is_err());
/// ```
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    _current: crate::context::SetCurrentGuard,
    _handle: PhantomData<&'a Handle>,
}

/// Returned by [`Handle::try_current`] outside a runtime; its message says how to get one.
///
/// ```
/// let err = runtime::Handle::try_current().unwrap_err();
/// assert!(err.to_string().contains("Runtime::block_on"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::context::NO_RUNTIME)
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    pub(crate) fn from_scheduler(inner: scheduler::Handle) -> Handle {
        Handle { inner }
    }

    /// The handle of the runtime this code runs in.
    ///
    /// # Panics
    ///
    /// Outside a runtime (use [`Handle::try_current`] there).
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let handle = runtime::Handle::current();
    ///     assert_eq!(handle.spawn(async { 1 }).await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        crate::context::with_current_handle(Handle::clone)
    }

    /// The handle of the runtime this code runs in, or an error outside one.
    ///
    /// ```
    /// assert!(runtime::Handle::try_current().is_err());
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        crate::context::try_with_current_handle(Handle::clone).ok_or(TryCurrentError(()))
    }

    /// Makes this runtime current on this thread until the guard drops, so that
    /// [`crate::spawn`], [`time::sleep`](crate::time::sleep) and the socket constructors
    /// work from code that is not inside `block_on`.
    ///
    /// Guards nest: the current runtime is the one of the innermost guard still alive, so
    /// guards may even drop out of order (dropping an outer guard first leaves the inner
    /// runtime current, and once both are gone neither is).
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let task = std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     runtime::spawn(async { 3 })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), 3);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _current: crate::context::set_current(self),
            _handle: PhantomData,
        }
    }

    /// Spawns a task on this runtime. After the runtime shut down, the task is cancelled
    /// at once and its handle reports `is_cancelled`.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let task = handle.spawn(async { "hi" });
    /// assert_eq!(rt.block_on(task).unwrap(), "hi");
    ///
    /// drop(rt); // shut down: a task spawned now is cancelled at once
    /// let late = handle.spawn(async { "never runs" });
    /// assert!(futures::executor::block_on(late).unwrap_err().is_cancelled());
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, TaskMeta::new(None, Location::caller()))
    }

    pub(crate) fn spawn_with<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, meta)
    }

    /// Runs `f` on this runtime's blocking pool. During or after shutdown the job never
    /// runs and its handle reports `is_cancelled`; so it does if the pool has no thread and
    /// the OS refuses to spawn one (with a thread left, the job waits for it instead).
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let job = handle.spawn_blocking(|| (1..=10u32).product::<u32>());
    /// assert_eq!(rt.block_on(job).unwrap(), 3_628_800);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.blocking_spawner().spawn_blocking(
            self,
            f,
            TaskMeta::new(None, Location::caller()),
        )
    }

    /// Runs `future` to completion on the current thread, with this runtime current.
    ///
    /// Tasks are run by the runtime's workers (or by the thread inside
    /// `Runtime::block_on` for the current-thread flavor), not by this call.
    ///
    /// # Panics
    ///
    /// When called from a thread that already drives a runtime.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let out = std::thread::spawn(move || {
    ///     handle.block_on(async {
    ///         runtime::time::sleep(std::time::Duration::from_millis(1)).await;
    ///         runtime::spawn(async { 2 }).await.unwrap()
    ///     })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(out, 2);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = crate::context::enter_runtime(self, false);
        crate::coop::block_on(future)
    }

    /// A snapshot of every live task: id, name, spawn location, parent, state (idle,
    /// scheduled, or running on a worker and for how long) and, while wait tracking is on
    /// ([`Builder::detect_deadlocks`](crate::Builder::detect_deadlocks)), the primitive a
    /// task waits on and who holds it. Print it for a spawn tree (see [`TaskDump`]).
    ///
    /// Works from any thread, inside or outside the runtime, and never waits for a worker:
    /// a worker stuck inside a poll shows in the dump instead of stalling it.
    ///
    /// [`TaskDump`]: crate::diag::TaskDump
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let sleeper = rt.spawn(async { runtime::time::sleep(std::time::Duration::from_secs(60)).await });
    /// let dump = rt.handle().dump();
    /// assert!(dump.get(sleeper.id()).is_some());
    /// println!("{dump}");
    /// ```
    pub fn dump(&self) -> crate::diag::TaskDump {
        crate::diag::take_dump(&self.inner)
    }

    /// What each worker thread is polling right now (task and for how long): the part of
    /// [`dump`](Handle::dump) that reads no task list, cheap enough to sample often (the
    /// `top` example samples it every millisecond to find the busiest tasks).
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let workers = rt.handle().workers();
    /// assert_eq!(workers.len(), 2);
    /// assert!(workers.iter().all(|w| w.task().is_none()));
    /// ```
    pub fn workers(&self) -> Vec<crate::diag::WorkerInfo> {
        crate::diag::workers(&self.inner)
    }

    /// A snapshot of the runtime's counters, from any thread. See [`RuntimeMetrics`].
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let handle = rt.handle().clone();
    /// let workers = std::thread::spawn(move || handle.metrics().workers).join().unwrap();
    /// assert_eq!(workers, 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::collect(&self.inner)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavor = match self.inner {
            scheduler::Handle::CurrentThread(_) => "current_thread",
            scheduler::Handle::MultiThread(_) => "multi_thread",
        };
        f.debug_struct("Handle").field("flavor", &flavor).finish()
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
