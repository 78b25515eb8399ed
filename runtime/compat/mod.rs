//! Adapters that plug this runtime into other ecosystems' traits, so libraries written
//! against those traits run here unchanged.
//!
//! - [`hyper`] (feature `hyper`): executor, timer and IO adapters for hyper 1.x servers and
//!   clients.
//! - [`tokio`] (feature `tokio-io`): tokio's `AsyncRead`, `AsyncWrite` and `AsyncBufRead`
//!   on this runtime's streams, files and pipes, and [`Compat`](tokio::Compat) for other
//!   futures-io types, so tokio-util's codecs and the like run here.
//!
//! ```
//! # #[cfg(feature = "hyper")]
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
//! # #[cfg(not(feature = "hyper"))]
//! # fn main() {}
//! ```

#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tokio-io")]
pub mod tokio;
