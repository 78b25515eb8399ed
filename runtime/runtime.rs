//! `Runtime`: owns the scheduler, its threads and the blocking pool.

use crate::builder::Kind;
use crate::runtime_config::Config;
use crate::scheduler::{self, current_thread::CurrentThread, multi_thread::MultiThread};
use crate::task_core::JoinHandle;
use crate::{EnterGuard, Handle, RuntimeMetrics};
use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;

/// The runtime: a scheduler with its worker threads, the driver and the blocking pool.
///
/// Dropping it cancels every task still alive (their futures are dropped on a runtime
/// thread) and waits for running blocking jobs; [`shutdown_timeout`](Runtime::shutdown_timeout)
/// bounds that wait.
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let a = runtime::spawn(async { 1 });
///     let b = runtime::spawn_blocking(|| 2);
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub struct Runtime {
    flavor: Flavor,
    handle: Handle,
    blocking: crate::blocking::Spawner,
    /// Set once shut down, so `Drop` after `shutdown_timeout` doesn't wait again.
    is_shut_down: bool,
    /// The blocking-poll monitor's thread, stopped before the workers.
    monitor: Option<crate::diag::monitor::Monitor>,
}

enum Flavor {
    CurrentThread(CurrentThread),
    MultiThread(MultiThread),
}

impl Runtime {
    /// A multi-thread runtime with default settings (one worker per core).
    ///
    /// # Errors
    ///
    /// If a worker thread can't be spawned.
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        crate::Builder::new_multi_thread().build()
    }

    pub(crate) fn from_config(kind: Kind, config: Config) -> io::Result<Runtime> {
        let mut rt = Runtime::start(kind, config.clone())?;
        if let Some(monitor) = config.monitor {
            let handle = rt.handle.inner.clone();
            rt.monitor = Some(crate::diag::monitor::Monitor::start(
                handle,
                monitor,
                &config.thread_name,
            )?);
        }
        Ok(rt)
    }

    fn start(kind: Kind, config: Config) -> io::Result<Runtime> {
        let blocking = crate::blocking::Spawner::new(config.clone());
        match kind {
            Kind::CurrentThread => {
                let (ct, handle) = CurrentThread::new(config, blocking.clone())?;
                Ok(Runtime {
                    flavor: Flavor::CurrentThread(ct),
                    handle: Handle::from_scheduler(scheduler::Handle::CurrentThread(handle)),
                    blocking,
                    is_shut_down: false,
                    monitor: None,
                })
            }
            Kind::MultiThread => {
                let (mt, handle) = MultiThread::new(config, blocking.clone(), |h| {
                    Handle::from_scheduler(scheduler::Handle::MultiThread(h))
                })?;
                Ok(Runtime {
                    flavor: Flavor::MultiThread(mt),
                    handle: Handle::from_scheduler(scheduler::Handle::MultiThread(handle)),
                    blocking,
                    is_shut_down: false,
                    monitor: None,
                })
            }
        }
    }

    /// Runs `future` to completion on the current thread, driving the runtime meanwhile
    /// (the current-thread flavor runs its tasks here; the multi-thread flavor's workers
    /// run them). On the current-thread flavor, several threads may call it at once: one
    /// drives the runtime, the others poll their own future and take the driving over when
    /// it returns.
    ///
    /// # Panics
    ///
    /// When called from a thread that already drives a runtime (inside `block_on` or a
    /// task): await the future instead.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// let out = rt.block_on(async {
    ///     runtime::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     "done"
    /// });
    /// assert_eq!(out, "done");
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = crate::context::enter_runtime(&self.handle, true);
        match &self.flavor {
            Flavor::CurrentThread(ct) => ct.block_on(future),
            Flavor::MultiThread(_) => crate::coop::block_on(future),
        }
    }

    /// Spawns a task on this runtime. See [`crate::spawn`].
    ///
    /// Works from outside the runtime: on the multi-thread flavor the task starts on a
    /// worker at once; on the current-thread flavor it runs once a thread calls `block_on`.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.spawn(async { 1 + 1 });
    /// assert_eq!(rt.block_on(handle).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on this runtime's blocking pool. See [`crate::spawn_blocking`].
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let job = rt.spawn_blocking(|| std::fs::metadata(".").is_ok());
    /// assert!(rt.block_on(job).unwrap());
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime, to spawn from other threads.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let task = std::thread::spawn(move || handle.spawn(async { 5 })).join().unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), 5);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard drops, so that
    /// [`crate::spawn`] works without `block_on`.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let task = {
    ///     let _guard = rt.enter();
    ///     runtime::spawn(async { "spawned outside block_on" })
    /// };
    /// assert!(runtime::Handle::try_current().is_err()); // the guard dropped
    /// assert_eq!(rt.block_on(task).unwrap(), "spawned outside block_on");
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// A snapshot of the runtime's counters. See [`RuntimeMetrics`].
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
    /// let metrics = rt.metrics();
    /// assert_eq!(metrics.workers, 1);
    /// assert_eq!(metrics.spawned_tasks, 1);
    /// assert_eq!(metrics.alive_tasks, 0);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Shuts down, waiting at most `timeout` for worker threads and running blocking
    /// jobs; threads still busy after that are left to finish on their own.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_secs(2)));
    /// rt.shutdown_timeout(std::time::Duration::from_millis(10)); // returns at once
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.is_shut_down, true) {
            return;
        }
        drop(self.monitor.take());
        let started = std::time::Instant::now();
        match &self.flavor {
            Flavor::CurrentThread(ct) => {
                // Futures dropped here see this runtime as current, unless the runtime is
                // dropped by a thread-local destructor after the thread's context is gone.
                let _current = crate::context::try_set_current(&self.handle);
                ct.shutdown();
            }
            Flavor::MultiThread(mt) => mt.shutdown(timeout),
        }
        let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
        self.blocking.shutdown(left);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavor = match self.flavor {
            Flavor::CurrentThread(_) => "current_thread",
            Flavor::MultiThread(_) => "multi_thread",
        };
        f.debug_struct("Runtime").field("flavor", &flavor).finish()
    }
}
