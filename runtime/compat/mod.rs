//! Adapters that plug this runtime into other ecosystems' traits, so libraries written
//! against those traits run here unchanged.
//!
//! - [`hyper`] (feature `hyper`): executor, timer and IO adapters for hyper 1.x servers and
//!   clients.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! use hyper::rt::{Executor, Timer};
//! use runtime::compat::hyper::{HyperExecutor, HyperTimer};
//! // What hyper's connection builders take (`.timer(…)`, an executor for HTTP/2):
//! let (tx, rx) = runtime::sync::oneshot::channel();
//! HyperExecutor::new().execute(async move { tx.send("spawned by hyper").unwrap() });
//! HyperTimer::new().sleep(std::time::Duration::from_millis(1)).await;
//! assert_eq!(rx.await, Ok("spawned by hyper"));
//! # }
//! ```

pub mod hyper;
