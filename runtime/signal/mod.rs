//! Signals, on the reactor: [`ctrl_c`] for the common case, [`unix::signal`] for any
//! signal as a stream of deliveries.
//!
//! The handler only marks the signal and writes a byte to a self-pipe that the driver of
//! every runtime with a listener watches; the driver turn that sees the byte wakes the
//! listeners. So a listener costs no thread, works on both flavors, and sees every
//! delivery made after it was created, even one that arrives while it is not waiting.
//!
//! A server's graceful shutdown, in short:
//!
//! ```
//! use runtime::signal::unix::{signal, SignalKind};
//!
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let mut terminate = signal(SignalKind::terminate())?;
//! let server = runtime::spawn(async {
//!     // accept connections until told to stop ...
//!     std::future::pending::<()>().await
//! });
//! # // SAFETY: `raise` has no preconditions; the handler is installed.
//! # unsafe { libc::raise(libc::SIGTERM) };
//! terminate.recv().await; // SIGTERM (or Ctrl-C with `ctrl_c`)
//! server.abort(); // stop accepting; let requests in flight finish first in a real server
//! assert!(server.await.unwrap_err().is_cancelled());
//! # Ok(())
//! # }
//! ```

pub(crate) mod registry;
pub mod unix;

/// Waits for Ctrl-C (`SIGINT`).
///
/// The listener is made when the future is first polled, so a Ctrl-C before that is not
/// seen by it. To catch every one in a loop, keep one [`unix::signal`] listener instead.
///
/// # Errors
///
/// The OS error if the handler can't be installed.
///
/// # Cancel safety
///
/// Cancel-safe in the sense that nothing is lost that a later call would have seen; but a
/// new call listens anew, so a Ctrl-C between a dropped call and the next is missed.
///
/// # Panics
///
/// When polled outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let ctrl_c = runtime::spawn(runtime::signal::ctrl_c());
/// runtime::yield_now().await; // the spawned task ran: it is listening now
/// // SAFETY: `raise` has no preconditions; the listener's handler is installed.
/// unsafe { libc::raise(libc::SIGINT) };
/// ctrl_c.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
pub async fn ctrl_c() -> std::io::Result<()> {
    unix::signal(unix::SignalKind::interrupt())?.recv().await;
    Ok(())
}
