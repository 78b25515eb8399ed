//! Timers: [`sleep`], [`timeout`], [`interval`], driven by hierarchical timing wheels in
//! the runtime's driver (see `wheel` for the mechanism), on the runtime's clock. The
//! wheels are sharded: one per worker thread plus one for other threads, each behind its
//! own lock, so timers set on different workers don't contend (see `driver`).
//!
//! Every timer reads the clock of its runtime ([`Instant::now`]): real time, unless a test
//! paused it with [`pause`] (or `#[runtime::test(start_paused = true)]`); then time moves
//! only by [`advance`], or by jumping to the next timer when the runtime has nothing else
//! to do, so timeouts are tested without waiting for them (see `clock` for the mechanism).
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! use runtime::time::{sleep, timeout, Duration};
//! sleep(Duration::from_millis(1)).await;
//! assert!(timeout(Duration::from_millis(1), std::future::pending::<()>()).await.is_err());
//! # }
//! ```

pub(crate) mod clock;
pub(crate) mod driver;
mod entry;
mod instant;
mod interval;
mod sleep;
mod timeout;
mod wheel;

pub use clock::{advance, pause, resume};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
