//! Diagnostics: deadlock detection (and, beside it, the task dump).
//!
//! ```
//! let rt = runtime::Builder::new_multi_thread()
//!     .worker_threads(1)
//!     .detect_deadlocks(true)
//!     .on_deadlock(|report: &runtime::diag::DeadlockReport| eprintln!("{report}"))
//!     .build()
//!     .unwrap();
//! # drop(rt);
//! ```

mod deadlock;

pub use deadlock::{
    enable_deadlock_detection, DeadlockLink, DeadlockReport, Kind, Party, ResourceInfo,
};
pub(crate) use deadlock::{install, DeadlockConfig};
