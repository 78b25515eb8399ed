//! Timers: [`sleep`], [`timeout`], [`interval`], driven by a hierarchical timing wheel in
//! the runtime's driver (see `wheel` for the mechanism).
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! use runtime::time::{sleep, timeout, Duration};
//! sleep(Duration::from_millis(1)).await;
//! assert!(timeout(Duration::from_millis(1), std::future::pending::<()>()).await.is_err());
//! # }
//! ```

pub(crate) mod driver;
mod entry;
mod interval;
mod sleep;
mod timeout;
mod wheel;

pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::{Duration, Instant};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
