//! Tasks: spawning them ([`crate::spawn`], [`spawn_local`], [`Builder`], [`JoinSet`], a
//! [`Pool`] that bounds how many run at once), waiting for them
//! ([`JoinHandle`]), cancelling them ([`JoinHandle::abort`], [`AbortHandle`]), and the
//! running task's [`id`].
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! let handle = runtime::task::Builder::new().name("worker").spawn(async { 1 + 1 });
//! assert_eq!(handle.await.unwrap(), 2);
//! # }
//! ```
//!
//! Futures that are not `Send` (they hold an `Rc`, a `RefCell` borrow, a
//! [`ReentrantMutexGuard`](crate::sync::ReentrantMutexGuard)) are spawned with
//! [`spawn_local`] on a current-thread runtime or a [`LocalRuntime`](crate::LocalRuntime):
//! they run, and are dropped, only on the thread that spawned them.
//!
//! ```
//! # #[runtime::main(flavor = "local")]
//! # async fn main() {
//! let shared = std::rc::Rc::new(std::cell::Cell::new(0));
//! let task = runtime::task::spawn_local({
//!     let shared = shared.clone();
//!     async move { shared.set(shared.get() + 1) }
//! });
//! task.await.unwrap();
//! assert_eq!(shared.get(), 1);
//! # }
//! ```

// The public face of tasks, above the schedulers: these functions find the current
// runtime through `context` and hand the future to its scheduler. The machinery they use
// (the task cell, its state word, join handles) is `crate::task_core`.

mod builder;
mod join_set;
mod pool;
mod spawn;
mod yield_now;

pub use crate::task_core::{id, try_id, AbortHandle, Id, JoinError, JoinHandle};
pub use builder::Builder;
pub use join_set::JoinSet;
pub use pool::{Pool, TrySpawnError};
pub use spawn::{spawn, spawn_blocking, spawn_local};
pub use yield_now::yield_now;
