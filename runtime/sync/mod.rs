//! Async synchronisation primitives: the `runtime-primitives` crate, plus the
//! [`ReentrantMutex`], which lives here because it needs the running task's id.
//!
//! Every primitive works from tasks (on this runtime or any other executor) and from plain
//! OS threads (the `*_blocking` forms), and every waiting operation is cancel-safe.
//!
//! ```
//! # #[runtime::main]
//! # async fn main() {
//! use runtime::sync::Mutex;
//! use std::sync::Arc;
//!
//! let counter = Arc::new(Mutex::new(0));
//! let tasks: Vec<_> = (0..8)
//!     .map(|_| {
//!         let counter = counter.clone();
//!         runtime::spawn(async move { *counter.lock().await += 1 })
//!     })
//!     .collect();
//! for task in tasks {
//!     task.await.unwrap();
//! }
//! assert_eq!(*counter.lock().await, 8);
//! # }
//! ```

mod reentrant;

pub use runtime_primitives::broadcast;
pub use runtime_primitives::channel;
pub use runtime_primitives::oneshot;
pub use runtime_primitives::watch;
pub use runtime_primitives::{
    AcquireError, BoundedSemaphore, MappedMutexGuard, Mutex, MutexGuard, OverRelease,
    OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock,
    RwLockReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit, TryAcquireError, TryLockError,
};
pub use runtime_primitives::{
    Barrier, BarrierWait, BarrierWaitResult, BrokenBarrier, Condvar, Event, EventWait,
};

pub use runtime_primitives::{Notified, Notify, OnceCell, SetError};

pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
