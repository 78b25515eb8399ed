//! An async coroutine runtime for IO-bound servers: green tasks on a work-stealing
//! scheduler (or on one thread, gevent-style), a blocking pool for CPU-heavy work, and
//! synchronisation primitives that work from tasks and from OS threads alike.
//!
//! ```
//! #[runtime::main]
//! async fn main() {
//!     let handles: Vec<_> = (0..10).map(|i| runtime::spawn(async move { i * i })).collect();
//!     let mut sum = 0;
//!     for handle in handles {
//!         sum += handle.await.unwrap();
//!     }
//!     assert_eq!(sum, 285);
//! }
//! ```

#![warn(clippy::undocumented_unsafe_blocks)]

mod blocking;
mod builder;
mod context;
mod driver;
mod handle;
mod loom;
mod metrics;
mod park;
mod reactor;
#[allow(clippy::module_inception)]
mod runtime;
mod runtime_config;
mod scheduler;
mod spawn;
mod sync_reentrant;
mod util;

#[cfg(feature = "hyper")]
pub mod compat;
pub mod io;
pub mod net;
pub mod task;
pub mod time;

pub use builder::Builder;
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use metrics::RuntimeMetrics;
pub use runtime::Runtime;
pub use runtime_macros::{main, test};
pub use spawn::{spawn, spawn_blocking};
pub use task::yield_now;

/// Async synchronisation primitives (the `runtime-primitives` crate).
pub mod sync {
    pub use runtime_primitives::channel;
    pub use runtime_primitives::oneshot;
    pub use runtime_primitives::{
        AcquireError, BoundedSemaphore, MappedMutexGuard, Mutex, MutexGuard, OverRelease,
        OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock,
        RwLockReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit, TryAcquireError,
        TryLockError,
    };
    pub use runtime_primitives::{
        Barrier, BarrierWait, BarrierWaitResult, BrokenBarrier, Condvar, Event, EventWait,
    };

    pub use crate::sync_reentrant::{ReentrantMutex, ReentrantMutexGuard};
}
