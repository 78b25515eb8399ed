//! Building blocks this crate shares with the `runtime` crate: not part of the public API,
//! and free to change between any two versions.
//!
//! - [`SegQueue`]: the unbounded lock-free MPMC queue under the unbounded channel and the
//!   runtime's blocking pool.
//! - [`CachePadded`] and [`Backoff`]: what lock-free structures use to keep hot atomics
//!   apart and to wait out another thread's short write.
//! - [`block_on_thread`] and [`block_on_thread_until`]: run a future on the current OS
//!   thread, parking it while the future is pending (the engine of every `*_blocking` form).

mod backoff;
mod cache_padded;
mod seg_queue;

pub use backoff::Backoff;
pub use cache_padded::CachePadded;
pub use seg_queue::SegQueue;

pub use crate::thread_waker::{block_on_thread, block_on_thread_until};
