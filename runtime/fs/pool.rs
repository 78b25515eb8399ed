//! The one road from `fs` to the blocking pool, and what a job's `JoinError` becomes.
//!
//! Every filesystem call is a job on the runtime's blocking pool (`crate::blocking`),
//! submitted through `Handle::spawn_blocking`, which hands it to `blocking::Spawner` (one
//! push on the pool's lock-free queue, see `blocking/mod.rs`): a file operation costs what
//! a `spawn_blocking` round trip costs.

use crate::task_core::{JoinError, JoinHandle};
use crate::Handle;
use std::io;

/// Queues `f` on `handle`'s blocking pool. The job's spawn location (seen in task dumps)
/// is the `fs` call that asked for it.
#[track_caller]
pub(super) fn spawn<F, R>(handle: &Handle, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    handle.spawn_blocking(f)
}

/// The current runtime's handle, for types that keep it so that their later jobs (and
/// the write a drop starts) go to the runtime they were made on.
///
/// # Panics
///
/// Outside a runtime, with the message `runtime::spawn` gives.
#[track_caller]
pub(super) fn current() -> Handle {
    crate::context::with_current_handle(Handle::clone)
}

/// Runs `f` on the current runtime's blocking pool and waits for its result.
///
/// Nothing is queued until the first poll; once queued, the job runs to the end even if
/// this future is dropped (a thread in a system call can't be stopped), and its result is
/// then discarded.
pub(super) async fn run<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let job = crate::context::with_current_handle(|handle| spawn(handle, f));
    joined(job.await)?
}

/// A finished job's output. A panic inside the job (std's `fs` doesn't panic, so it would
/// be a bug worth seeing) continues in the caller; a job that never ran because the
/// runtime shut down is an error of kind `Other`.
pub(super) fn joined<T>(result: Result<T, JoinError>) -> io::Result<T> {
    match result {
        Ok(out) => Ok(out),
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Err(io::Error::other(
            "the runtime shut down before the filesystem job could run",
        )),
    }
}
