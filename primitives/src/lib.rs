//! Async synchronisation primitives that work on any executor and from plain OS threads.
//!
//! Re-exported by the `runtime` crate as `runtime::sync`. Every waiting operation is
//! cancel-safe: dropping its future loses no permit, message or notification.

#![warn(clippy::undocumented_unsafe_blocks)]

#[doc(hidden)]
pub mod loom;

#[doc(hidden)]
pub mod hooks;

#[doc(hidden)]
pub mod diag;

#[doc(hidden)]
pub mod internal;

pub mod broadcast;
pub mod channel;
pub mod oneshot;
pub mod watch;

mod barrier;
mod bounded_semaphore;
mod condvar;
mod event;
mod mutex;
mod notify;
mod once_cell;
mod raw_mutex;
mod raw_semaphore;
mod rwlock;
mod semaphore;
mod thread_waker;
mod waiter_list;

pub use barrier::{Barrier, BarrierWaitResult, BrokenBarrier, Wait as BarrierWait};
pub use bounded_semaphore::{BoundedSemaphore, OverRelease};
pub use condvar::Condvar;
pub use event::{Event, Wait as EventWait};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
