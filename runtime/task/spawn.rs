//! The free functions `spawn`, `spawn_local` and `spawn_blocking` on the current runtime.

use crate::task_core::{JoinHandle, TaskMeta};
use std::future::Future;

/// Spawns a task on the current runtime; it starts running in the background at once.
///
/// # Panics
///
/// Outside a runtime: call it inside `block_on`, `#[runtime::main]` or a task, or use
/// [`Handle::spawn`](crate::Handle::spawn) with a handle.
///
/// ```
/// #[runtime::main(flavor = "current_thread")]
/// async fn main() {
///     let handle = runtime::spawn(async { "hello" });
///     assert_eq!(handle.await.unwrap(), "hello");
/// }
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = std::panic::Location::caller();
    crate::context::with_current_handle(|handle| {
        handle.spawn_with(future, TaskMeta::new(None, location))
    })
}

/// Runs `f` on the current runtime's blocking pool, so CPU-heavy or blocking work does not
/// stall the async workers.
///
/// The handle resolves to an error if `f` panics, if the job is aborted or the runtime
/// shuts down before it starts, or if the pool has no thread and the OS refuses to start
/// one ([`JoinError::is_spawn_failure`](crate::task::JoinError::is_spawn_failure), with the
/// OS error as its source).
///
/// # Panics
///
/// Outside a runtime, as [`spawn`].
///
/// ```
/// #[runtime::main]
/// async fn main() {
///     let sum = runtime::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// }
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    // The location is taken here: `track_caller` does not reach through the closure.
    let meta = TaskMeta::new(None, std::panic::Location::caller());
    crate::context::with_current_handle(|handle| {
        handle
            .inner
            .blocking_spawner()
            .spawn_blocking(handle, f, meta)
    })
}

/// Spawns a task whose future need not be `Send`; it runs on the calling thread, which
/// must be driving a current-thread runtime ([`LocalRuntime`](crate::LocalRuntime), or a
/// current-thread [`Runtime`](crate::Runtime) inside its `block_on`).
///
/// The task is polled, and its future dropped, only on this thread: wakers, its
/// [`JoinHandle`] and its [`AbortHandle`](crate::task::AbortHandle) may still be used from
/// any thread (a wake or an abort from elsewhere is carried out here, at the task's next
/// turn). The output need not be `Send` either: the `JoinHandle` is then `!Send` and stays
/// on this thread. Local tasks take turns with the runtime's `Send` tasks.
///
/// A task that has not finished when the runtime shuts down is cancelled, as any other.
/// If a current-thread `Runtime` (which is `Send`) is shut down on another thread than the
/// one that spawned a live local task, that task's future is **leaked**, never dropped
/// there: its destructor does not run and its memory is not freed (its `JoinHandle` still
/// reports the cancellation). A [`LocalRuntime`](crate::LocalRuntime) can't leave its
/// thread, so this never happens to it.
///
/// # Panics
///
/// Where the task could never run, with a message saying what to use instead: on a
/// multi-thread runtime (a worker or its `block_on`), in a `spawn_blocking` job, on a
/// thread that is not driving the current-thread runtime it has entered, and outside any
/// runtime. Outside `block_on` it works only for a `LocalRuntime` on its own thread (see
/// [`LocalRuntime::spawn_local`](crate::LocalRuntime::spawn_local)).
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// #[runtime::main(flavor = "local")]
/// async fn main() {
///     let log = Rc::new(RefCell::new(Vec::new())); // not `Send`
///     let task = runtime::spawn_local({
///         let log = log.clone();
///         async move {
///             runtime::yield_now().await;
///             log.borrow_mut().push("from the task");
///         }
///     });
///     task.await.unwrap();
///     assert_eq!(*log.borrow(), ["from the task"]);
/// }
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let meta = TaskMeta::new(None, std::panic::Location::caller());
    crate::scheduler::local::spawn(future, meta)
}
