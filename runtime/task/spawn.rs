//! The free functions `spawn` and `spawn_blocking` on the current runtime.

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
