//! An async coroutine runtime for IO-bound servers: green tasks on a work-stealing
//! scheduler (or on one thread, gevent-style), a blocking pool for CPU-heavy work, and
//! synchronisation primitives that work from tasks and from OS threads alike.
//!
//! This page walks through the crate in the order a program meets it. Every snippet runs.
//!
//! # Starting a runtime
//!
//! `#[runtime::main]` turns `async fn main` into a `main` that builds a [`Runtime`] and
//! runs the body on it. IO and timers are always on.
//!
//! ```
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let answer = runtime::spawn(async { 6 * 7 }).await?;
//!     assert_eq!(answer, 42);
//!     Ok(())
//! }
//! ```
//!
//! There are two flavors:
//!
//! - **multi-thread** (the default, `#[runtime::main]`): one worker thread per core, idle
//!   workers steal tasks from busy ones. Spawned futures must be `Send`.
//!   `#[runtime::main(worker_threads = 4)]` picks the count.
//! - **current-thread** (`#[runtime::main(flavor = "current_thread")]`): every task runs on
//!   the thread that called `block_on`, taking turns at each `.await`, as gevent does.
//! - **local** (`#[runtime::main(flavor = "local")]`): a current-thread [`LocalRuntime`],
//!   which stays on its thread and so also runs futures that are not `Send`
//!   ([`spawn_local`]).
//!
//! Tests use `#[runtime::test]` (current-thread unless told otherwise). Without the macro,
//! a [`Builder`] sets the flavor and the rest (thread names, blocking-pool size, hooks),
//! and [`Runtime::block_on`] runs a future on it:
//!
//! ```
//! let rt = runtime::Builder::new_multi_thread()
//!     .worker_threads(2)
//!     .thread_name("app")
//!     .build()?;
//! assert_eq!(rt.block_on(async { 1 + 1 }), 2);
//! assert_eq!(rt.metrics().workers, 2);
//! # std::io::Result::Ok(())
//! ```
//!
//! # Tasks
//!
//! [`spawn`] starts a task that runs concurrently with its caller and returns a
//! [`JoinHandle`](task::JoinHandle); awaiting it gives the task's output, or a
//! [`JoinError`](task::JoinError) if the task panicked or was aborted. A panic stays in its
//! task. [`task::JoinSet`] collects many tasks and yields their results as they finish.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! use runtime::task::JoinSet;
//! let mut set = JoinSet::new();
//! for url in ["a", "b", "c"] {
//!     set.spawn(async move { url.len() });
//! }
//! let mut total = 0;
//! while let Some(res) = set.join_next().await {
//!     total += res.unwrap();
//! }
//! assert_eq!(total, 3);
//!
//! let doomed = runtime::spawn(std::future::pending::<()>());
//! doomed.abort();
//! assert!(doomed.await.unwrap_err().is_cancelled());
//! # }
//! ```
//!
//! Futures that are not `Send` (holding an `Rc`, a `RefCell`, a `!Send` guard across an
//! `.await`) go to [`spawn_local`] instead, on a current-thread runtime or a
//! [`LocalRuntime`] (`#[runtime::main(flavor = "local")]`): such a task is polled, and its
//! future dropped, only on the thread that spawned it, while its wakers and handles may be
//! used from anywhere.
//!
//! ```
//! # #[runtime::main(flavor = "local")]
//! # async fn main() {
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! let cache = Rc::new(RefCell::new(Vec::new()));
//! let filler = runtime::spawn_local({
//!     let cache = cache.clone();
//!     async move {
//!         runtime::yield_now().await;
//!         cache.borrow_mut().push("entry");
//!     }
//! });
//! filler.await.unwrap();
//! assert_eq!(cache.borrow().len(), 1);
//! # }
//! ```
//!
//! See [`task`] for names ([`task::Builder`]), ids and [`yield_now`].
//!
//! # Timers and timeouts
//!
//! [`time::sleep`] pauses the task, not the thread. [`time::timeout`] puts a limit on any
//! future (it is dropped when time runs out), and [`time::interval`] ticks periodically.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! use runtime::time::{interval, sleep, timeout, Duration};
//! sleep(Duration::from_millis(1)).await;
//!
//! let slow = sleep(Duration::from_secs(60));
//! assert!(timeout(Duration::from_millis(2), slow).await.is_err());
//!
//! let mut ticks = interval(Duration::from_millis(1));
//! for _ in 0..3 {
//!     ticks.tick().await;
//! }
//! # }
//! ```
//!
//! # Sharing state: `runtime::sync`
//!
//! [`sync`] has the primitives of Python's `threading` and `queue` for tasks: [`Mutex`],
//! [`Semaphore`], [`Event`], [`Condvar`], [`Barrier`], channels, … A waiting operation
//! suspends the task (`op().await`); `try_op()` never waits, and `op_blocking()` is for
//! plain OS threads. Every waiting future is cancel-safe, so they compose with `timeout`.
//!
//! [`Mutex`]: sync::Mutex
//! [`Semaphore`]: sync::Semaphore
//! [`Event`]: sync::Event
//! [`Condvar`]: sync::Condvar
//! [`Barrier`]: sync::Barrier
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! use runtime::sync::{channel, Mutex};
//! use std::sync::Arc;
//! let hits = Arc::new(Mutex::new(0));
//! let (tx, rx) = channel::bounded(8);
//! for worker in 0..4 {
//!     let (hits, tx) = (hits.clone(), tx.clone());
//!     runtime::spawn(async move {
//!         *hits.lock().await += 1;
//!         tx.send(worker).await.unwrap();
//!     });
//! }
//! drop(tx); // the channel closes once the workers' clones are gone too
//! let mut done = Vec::new();
//! while let Ok(worker) = rx.recv().await {
//!     done.push(worker);
//! }
//! assert_eq!(done.len(), 4);
//! assert_eq!(*hits.lock().await, 4);
//! # }
//! ```
//!
//! # CPU-heavy and blocking work
//!
//! A task that computes for long, or calls blocking code (a file read, a C library),
//! stalls every task waiting for its thread. [`spawn_blocking`] runs such work on a
//! separate pool of threads and returns a `JoinHandle` to await.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() {
//! let job = runtime::spawn_blocking(|| (1..=100_000u64).map(|x| x % 7).sum::<u64>());
//! // Other tasks keep running meanwhile.
//! assert_eq!(job.await.unwrap(), 300_000);
//! # }
//! ```
//!
//! # A TCP echo server
//!
//! [`net`] has TCP, UDP and Unix sockets whose operations suspend the task instead of
//! blocking the thread, so a handler is straight-line code. [`io`] re-exports the
//! `futures-io` traits the streams implement, and has [`io::copy`].
//!
//! ```
//! use runtime::net::{TcpListener, TcpStream};
//!
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!
//!     // The server: one task per connection, echoing until the client closes.
//!     runtime::spawn(async move {
//!         while let Ok((conn, _peer)) = listener.accept().await {
//!             runtime::spawn(async move {
//!                 let (mut reader, mut writer) = conn.into_split();
//!                 runtime::io::copy(&mut reader, &mut writer).await
//!             });
//!         }
//!     });
//!
//!     // A client, in the same program so this example finishes.
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello, echo").await?;
//!     let mut reply = [0; 11];
//!     client.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"hello, echo");
//!     Ok(())
//! }
//! ```
//!
//! Returning from `main` drops the runtime, which cancels the server's tasks.
//!
//! # Where to go next
//!
//! - [`task`]: `JoinHandle`, `JoinSet`, `AbortHandle`, named tasks.
//! - [`time`]: `sleep`, `timeout`, `interval`.
//! - [`sync`]: locks, semaphores, events, channels, barriers.
//! - [`net`] and [`io`]: sockets and byte-stream helpers.
//! - [`process`]: child processes, waited for on the reactor, with async pipes.
//! - [`Runtime`], [`LocalRuntime`], [`Builder`], [`Handle`]: running a runtime by hand,
//!   spawning onto it from other threads, and its [`RuntimeMetrics`].
//! - `compat::hyper` (feature `hyper`): run hyper 1.x servers and clients here.
//! - `compat::tokio` (feature `tokio-io`): tokio's IO traits on this runtime's streams,
//!   files and pipes, for tokio-util's codecs and other libraries written against them.
//! - feature `tracing`: tokio-console shows this runtime's tasks (below).
//! - [`diag`]: what is the runtime doing? [`Handle::dump`] (every task, as a spawn tree),
//!   [`Builder::warn_on_blocking`] (a report for each poll that blocks its worker, whose
//!   queued tasks move on meanwhile) and [`Builder::detect_deadlocks`] (a report for each
//!   cycle of tasks waiting on each other's locks). [`task::Pool`] bounds how many tasks run.
//!
//! # Watching tasks in tokio-console (feature `tracing`)
//!
//! With the `tracing` feature every task and blocking job gets a `runtime.spawn` span
//! (kind, name, id, spawn location) that is entered around each of its polls and closes
//! when the task ends, and every waker clone, wake and drop is a `runtime::waker` event:
//! what `console-subscriber` reads to list tasks with their polls, busy and idle time and
//! wakes. Without the feature none of it is compiled. The set-up, which
//! `examples/console.rs` runs:
//!
//! ```sh
//! # Cargo.toml: runtime = { version = "0.1", features = ["tracing"] }, console-subscriber = "0.5"
//! # main: console_subscriber::init(); before the tasks start
//! RUSTFLAGS="--cfg console_without_tokio_unstable" cargo run --features tracing --example console
//! tokio-console
//! ```
//!
//! The flag is console-subscriber's: it refuses to start without it (or `tokio_unstable`).

#![warn(clippy::undocumented_unsafe_blocks)]

// The floors, bottom up (ARCHITECTURE.md has the map): `loom`, `util` and `coop` under
// everything; `task_core` (the task machinery); `reactor`, `time` and the signal
// registry (the drivers, joined in `driver`); `scheduler` and `blocking`; `context`, `runtime`, `handle` and
// `builder`; and on top the public modules users program against.
mod blocking;
mod builder;
mod context;
mod coop;
mod driver;
mod handle;
mod local_runtime;
mod loom;
mod metrics;
mod reactor;
#[allow(clippy::module_inception)]
mod runtime;
mod runtime_config;
mod scheduler;
mod task_core;
#[cfg(target_os = "linux")]
mod uring;
mod util;

#[cfg(any(feature = "hyper", feature = "tokio-io"))]
pub mod compat;
pub mod diag;
pub mod fs;
pub mod io;
pub mod net;
#[cfg(unix)]
pub mod process;
#[cfg(unix)]
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

pub use builder::{Builder, IoDriver};
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use local_runtime::LocalRuntime;
pub use metrics::RuntimeMetrics;
pub use runtime::Runtime;
pub use runtime_macros::{main, test};
pub use task::{spawn, spawn_blocking, spawn_local, yield_now};
