//! Tasks: spawning them ([`crate::spawn`], [`Builder`], [`JoinSet`]), waiting for them
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

// The public face of tasks, above the schedulers: these functions find the current
// runtime through `context` and hand the future to its scheduler. The machinery they use
// (the task cell, its state word, join handles) is `crate::task_core`.

mod builder;
mod join_set;
mod spawn;
mod yield_now;

pub use crate::task_core::{id, try_id, AbortHandle, Id, JoinError, JoinHandle};
pub use builder::Builder;
pub use join_set::JoinSet;
pub use spawn::{spawn, spawn_blocking};
pub use yield_now::yield_now;
