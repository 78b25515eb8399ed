//! `LocalRuntime`: a current-thread runtime that stays on the thread that built it, so
//! futures that are not `Send` can be spawned on it at any time.

use crate::task_core::{JoinHandle, TaskMeta};
use crate::{EnterGuard, Handle, Runtime, RuntimeMetrics};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

/// A current-thread runtime bound to the thread that built it: `!Send` and `!Sync`, so its
/// `block_on`, its shutdown and every local task it runs stay on that thread.
///
/// Built with [`Builder::build_local`](crate::Builder::build_local) or
/// `#[runtime::main(flavor = "local")]`. Beside what a current-thread [`Runtime`] does, it
/// takes futures that are not `Send` ([`spawn_local`](LocalRuntime::spawn_local), or
/// [`task::spawn_local`](crate::task::spawn_local) inside it), also before `block_on`.
/// Dropping it cancels the tasks still alive and drops their futures, here.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let rt = runtime::Builder::new_current_thread().build_local()?;
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let task = rt.spawn_local({
///     let seen = seen.clone();
///     async move { seen.borrow_mut().push(1) }
/// });
/// rt.block_on(async {
///     task.await.unwrap();
///     seen.borrow_mut().push(2);
/// });
/// assert_eq!(*seen.borrow(), [1, 2]);
/// # std::io::Result::Ok(())
/// ```
///
/// It can't be sent to another thread:
///
/// ```compile_fail
/// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
/// std::thread::spawn(move || rt.block_on(async {}));
/// ```
pub struct LocalRuntime {
    rt: Runtime,
    handle: Arc<crate::scheduler::current_thread::Handle>,
    /// `!Send` and `!Sync`: the runtime belongs to its thread.
    _thread: PhantomData<*const ()>,
}

impl LocalRuntime {
    pub(crate) fn from_runtime(rt: Runtime) -> LocalRuntime {
        let handle = match &rt.handle().inner {
            crate::scheduler::Handle::CurrentThread(h) => h.clone(),
            crate::scheduler::Handle::MultiThread(_) => {
                unreachable!("a LocalRuntime is built on the current-thread scheduler")
            }
        };
        handle.locals.set_runtime_owner();
        LocalRuntime {
            rt,
            handle,
            _thread: PhantomData,
        }
    }

    /// Runs `future` to completion on this thread, running the runtime's tasks (local
    /// and `Send`) meanwhile.
    ///
    /// # Panics
    ///
    /// When called from a thread that already drives a runtime (inside `block_on` or a
    /// task): await the future instead.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// let rc = std::rc::Rc::new(5);
    /// let out = rt.block_on(async move {
    ///     let rc2 = rc.clone();
    ///     runtime::spawn_local(async move { *rc2 * 2 }).await.unwrap()
    /// });
    /// assert_eq!(out, 10);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// Spawns a local task (its future need not be `Send`) on this runtime. Outside
    /// `block_on` it waits for the next `block_on`; inside, it starts at once. See
    /// [`task::spawn_local`](crate::task::spawn_local).
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// let greeting = Rc::new("hi");
    /// let task = rt.spawn_local(async move { greeting.len() });
    /// assert!(!task.is_finished()); // nothing has driven the runtime yet
    /// assert_eq!(rt.block_on(task).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let meta = TaskMeta::new(None, Location::caller());
        crate::scheduler::local::spawn_on(&self.handle, future, meta)
    }

    /// Spawns a `Send` task on this runtime, as [`Runtime::spawn`].
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// let task = rt.spawn(async { 1 + 1 });
    /// assert_eq!(rt.block_on(task).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(future)
    }

    /// Runs `f` on this runtime's blocking pool, as [`Runtime::spawn_blocking`].
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// let job = rt.spawn_blocking(|| (1..=4u32).product::<u32>());
    /// assert_eq!(rt.block_on(job).unwrap(), 24);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.rt.spawn_blocking(f)
    }

    /// A handle to this runtime: `Send` and `Sync`, for spawning `Send` tasks onto it from
    /// other threads.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// let handle = rt.handle().clone();
    /// let task = std::thread::spawn(move || handle.spawn(async { 3 })).join().unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), 3);
    /// ```
    pub fn handle(&self) -> &Handle {
        self.rt.handle()
    }

    /// Makes this runtime current on this thread until the guard drops, so that
    /// [`crate::spawn`] and [`task::spawn_local`](crate::task::spawn_local) work without
    /// `block_on`.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// let task = {
    ///     let _guard = rt.enter();
    ///     runtime::spawn_local(async { std::rc::Rc::new(1) })
    /// };
    /// assert_eq!(*rt.block_on(task).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.rt.enter()
    }

    /// A snapshot of the runtime's counters; local tasks count as tasks. See
    /// [`RuntimeMetrics`].
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// rt.block_on(async { runtime::spawn_local(async {}).await.unwrap() });
    /// assert_eq!(rt.metrics().spawned_tasks, 1);
    /// assert_eq!(rt.metrics().alive_tasks, 0);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.rt.metrics()
    }

    /// Shuts down, as [`Runtime::shutdown_timeout`]: tasks are cancelled (their futures
    /// dropped here) and running blocking jobs are waited for at most `timeout`.
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().build_local().unwrap();
    /// rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_secs(2)));
    /// rt.shutdown_timeout(std::time::Duration::from_millis(10)); // returns at once
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.rt.shutdown_timeout(timeout);
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("flavor", &"local")
            .finish()
    }
}
