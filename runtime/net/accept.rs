//! The accept loop shared by `TcpListener` and `UnixListener`: what to do when `accept(2)`
//! fails because the process or the system ran out of something.
//!
//! `EMFILE` (no descriptor left in the process), `ENFILE` (none left in the system),
//! `ENOBUFS` and `ENOMEM` (no memory for the socket) leave the pending connection in the
//! listen queue, and the listener stays readable: retrying at once would fail again and
//! spin a core, and handing the error to a `while let Ok(..) = listener.accept().await`
//! loop would stop the server. So `accept` waits on a timer instead, starting at
//! [`BACKOFF_MIN`] and doubling up to [`BACKOFF_MAX`], and tries again when it fires. The
//! task sleeps meanwhile (woken by the timer only), and the listener is untouched, so the
//! queued connections are accepted once descriptors or memory are free again. Every other
//! error is returned.

use crate::reactor::{Direction, PollEvented};
use std::io;
use std::time::Duration;

/// The first wait after a resource-exhaustion error.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(1);
/// The longest wait between two tries while the resource stays exhausted.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// Whether `err` says the process or system ran out of descriptors or memory: a condition
/// that passes with time, not a fault of the listener.
pub(crate) fn is_resource_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Runs `accept` on `io` when it is readable; on a resource-exhaustion error, sleeps (with
/// a doubling backoff) and tries again instead of returning it.
pub(crate) async fn accept<E, R>(
    io: &PollEvented<E>,
    mut accept: impl FnMut(&E) -> io::Result<R>,
) -> io::Result<R>
where
    E: mio::event::Source,
{
    with_backoff(|cx| io.poll_io(cx, Direction::Read, &mut accept)).await
}

/// Polls `attempt` until it returns something other than a resource-exhaustion error,
/// sleeping (with a doubling backoff) after each such error (the io_uring listener's
/// accept shares it).
pub(crate) async fn with_backoff<R>(
    mut attempt: impl FnMut(&mut std::task::Context<'_>) -> std::task::Poll<io::Result<R>>,
) -> io::Result<R> {
    let mut backoff = BACKOFF_MIN;
    loop {
        match std::future::poll_fn(&mut attempt).await {
            Err(err) if is_resource_exhaustion(&err) => {
                crate::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            res => return res,
        }
    }
}
