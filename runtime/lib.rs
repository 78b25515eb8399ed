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

// The floors, bottom up (ARCHITECTURE.md has the map): `loom`, `util` and `coop` under
// everything; `task_core` (the task machinery); `reactor` and `time` (the drivers,
// joined in `driver`); `scheduler` and `blocking`; `context`, `runtime`, `handle` and
// `builder`; and on top the public modules users program against.
mod blocking;
mod builder;
mod context;
mod coop;
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
mod task_core;
mod util;

#[cfg(feature = "hyper")]
pub mod compat;
pub mod io;
pub mod net;
pub mod sync;
pub mod task;
pub mod time;

pub use builder::Builder;
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use metrics::RuntimeMetrics;
pub use runtime::Runtime;
pub use runtime_macros::{main, test};
pub use task::{spawn, spawn_blocking, yield_now};
