//! Limits against clients that hold a connection without using it, shared by the `http` and
//! `mini_redis` examples (each pulls this file in with `#[path]`, like `shutdown.rs`):
//!
//! - a cap on open connections (`--max-conns N`, default [`DEFAULT_MAX_CONNS`]), as in the
//!   `echo` example: the accept loop takes a [`ConnLimit`] slot *before* accepting, so at the
//!   cap further clients wait in the kernel's listen backlog and are served, in order, as
//!   slots free. The server never holds more than N client sockets;
//! - a time limit on each request (`--request-timeout` / `--command-timeout SECS`, default
//!   [`DEFAULT_TIMEOUT`]), which each server applies to its reads (see its docs), and on each
//!   write: [`write_all_within`] gives up on a client that takes none of a reply for that
//!   long, so one that stops reading can't hold its connection (and slot) forever either.
//!
//! Together they bound what a slowloris (many connections, each sending a byte now and
//! then) can take: at most N sockets, each for at most the time limit per request.

// Each example uses its own part of this file.
#![allow(dead_code)]

use runtime::net::TcpStream;
use runtime::sync::{OwnedSemaphorePermit, Semaphore};
use runtime::time::{timeout, Duration};
use std::io;
use std::sync::Arc;

/// Open connections at most, when `--max-conns` is not given.
pub(crate) const DEFAULT_MAX_CONNS: usize = 1000;
/// The time limit on a request, and on a write that makes no progress, when not given.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `--max-conns`'s value: a whole number above 0.
pub(crate) fn parse_max_conns(value: &str) -> Option<usize> {
    value.parse().ok().filter(|&n| n > 0)
}

/// A time limit's value: a number of seconds above 0 and at most a day, fractions allowed.
pub(crate) fn parse_secs(value: &str) -> Option<Duration> {
    let secs: f64 = value.parse().ok()?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero() && d.as_secs() <= 24 * 3600)
}

/// The slots for open connections.
#[derive(Clone)]
pub(crate) struct ConnLimit(Arc<Semaphore>);

impl ConnLimit {
    pub(crate) fn new(max_conns: usize) -> ConnLimit {
        ConnLimit(Arc::new(Semaphore::new(max_conns)))
    }

    /// Waits for a free slot; it frees when the permit is dropped. Take it before
    /// accepting, and keep it until the connection is closed.
    pub(crate) async fn slot(&self) -> OwnedSemaphorePermit {
        self.0
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

/// Writes all of `buf`, or fails with `TimedOut` once the client has taken none of it for
/// `limit` (its receive window stayed full: it stopped reading).
pub(crate) async fn write_all_within(
    stream: &mut TcpStream,
    mut buf: &[u8],
    limit: Duration,
) -> io::Result<()> {
    while !buf.is_empty() {
        match timeout(limit, stream.write(buf)).await {
            Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => buf = &buf[n..],
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                ))
            }
        }
    }
    Ok(())
}
