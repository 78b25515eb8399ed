//! Graceful shutdown, shared by the server examples. Each pulls this file in with
//! `#[path = "support/shutdown.rs"] mod shutdown;` (cargo takes a plain file in a subfolder
//! of `examples/` for no example of its own).
//!
//! On SIGINT (Ctrl-C) or SIGTERM, [`GracefulShutdown::run`]:
//!
//! 1. drops the server future, and with it the listener: new connections are refused;
//! 2. tells every connection that shutdown began ([`Conn::stopping`]): each finishes what it
//!    is in the middle of and closes, and an idle one closes at once, unless a request
//!    its client already sent is on its way ([`Conn::unless_stopping`]);
//! 3. says so (`shutdown: SIGTERM: stopped accepting, draining 3 connections for up to 5 s`), waits
//!    until every connection has ended or the grace period (`--grace SECONDS`) is over,
//!    and prints what was drained: `shutdown: drained 3 connections in 0.12 s, 0 cut off`;
//! 4. returns, so `main` returns `Ok` (exit status 0) and the runtime's shutdown drops the
//!    connections still open: those are the ones "cut off".
//!
//! A second signal during the drain exits at once with 128 + its number (130 for SIGINT,
//! 143 for SIGTERM), what a shell reports for a process the signal ended.
//!
//! ```ignore
//! let shutdown = GracefulShutdown::listen(grace)?; // first: from now on the signals are ours
//! let listener = TcpListener::bind(addr).await?;
//! let conns = shutdown.connections(); // the server gives each connection a `Conn`
//! shutdown.run(serve(listener, conns)).await
//! ```

// Each example uses its own part of this file.
#![allow(dead_code)]

use futures::future::{select, Either};
use runtime::signal::unix::{signal, Signal, SignalKind};
use runtime::sync::Event;
use runtime::time::{sleep, timeout, Duration, Instant};
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;

/// The grace period when `--grace` is not given.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// `--grace`'s value: a number of seconds, fractions allowed, not negative.
pub(crate) fn parse_grace(value: &str) -> Option<Duration> {
    Duration::try_from_secs_f64(value.parse().ok()?).ok()
}

/// The command line of a server that takes only `--addr HOST:PORT` (default `default_addr`)
/// and `--grace SECONDS` (default [`DEFAULT_GRACE`]); a bad one panics with the usage.
pub(crate) fn addr_and_grace(example: &str, default_addr: &str) -> (String, Duration) {
    let usage = format!("usage: {example} [--addr HOST:PORT] [--grace SECONDS]");
    let mut args = std::env::args().skip(1);
    let mut addr = default_addr.to_owned();
    let mut grace = DEFAULT_GRACE;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect(&usage),
            "--grace" => {
                let value = args.next().expect(&usage);
                grace = parse_grace(&value).expect(&usage);
            }
            _ => panic!("unknown argument {arg:?}; {usage}"),
        }
    }
    (addr, grace)
}

/// The signals a server stops on, and the connections it waits for.
pub(crate) struct GracefulShutdown {
    interrupt: Signal,
    terminate: Signal,
    grace: Duration,
    conns: Connections,
}

impl GracefulShutdown {
    /// Listens for SIGINT and SIGTERM, which no longer end the process at once. Call it
    /// before the server prints its address, so that no signal sent after that is missed.
    pub(crate) fn listen(grace: Duration) -> io::Result<GracefulShutdown> {
        Ok(GracefulShutdown {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            grace,
            conns: Connections::default(),
        })
    }

    /// The in-flight count to hand to the server, which gives each connection a [`Conn`].
    pub(crate) fn connections(&self) -> Connections {
        self.conns.clone()
    }

    /// Runs `server` until the first signal, then drains its connections (see the module
    /// docs). Exits the process on a second signal.
    pub(crate) async fn run(mut self, server: impl Future<Output = ()>) -> io::Result<()> {
        let first = {
            // Dropped at the end of this block: the listener inside it closes.
            let server = pin!(server);
            let signal = pin!(next_signal(&mut self.interrupt, &mut self.terminate));
            match select(server, signal).await {
                Either::Left(((), _)) => "the server ended",
                Either::Right((kind, _)) => signal_name(kind),
            }
        };
        let start = Instant::now();
        let open = self.conns.stop();
        let mut stdout = io::stdout();
        let grace_secs = self.grace.as_secs_f64();
        writeln!(
            stdout,
            "shutdown: {first}: stopped accepting, draining {} for up to {grace_secs} s",
            connections(open)
        )?;
        stdout.flush()?;
        let mut all_closed = pin!(self.conns.0.all_closed.wait());
        let mut grace = pin!(sleep(self.grace));
        let mut again = pin!(next_signal(&mut self.interrupt, &mut self.terminate));
        let again = poll_fn(|cx| {
            if let Poll::Ready(kind) = again.as_mut().poll(cx) {
                return Poll::Ready(Some(kind));
            }
            if all_closed.as_mut().poll(cx).is_ready() || grace.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        let left = self.conns.open();
        if let Some(kind) = again {
            let name = signal_name(kind);
            writeln!(
                stdout,
                "shutdown: second signal ({name}), exiting with {left} open"
            )?;
            stdout.flush()?;
            std::process::exit(128 + kind.as_raw_value());
        }
        let secs = start.elapsed().as_secs_f64();
        let drained = connections(open - left);
        writeln!(
            stdout,
            "shutdown: drained {drained} in {secs:.2} s, {left} cut off"
        )?;
        stdout.flush()
    }
}

/// "1 connection", "3 connections".
fn connections(n: usize) -> String {
    format!("{n} connection{}", if n == 1 { "" } else { "s" })
}

fn signal_name(kind: SignalKind) -> &'static str {
    if kind == SignalKind::interrupt() {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

/// The next SIGINT or SIGTERM. Cancel-safe: `Signal::recv` is.
async fn next_signal(interrupt: &mut Signal, terminate: &mut Signal) -> SignalKind {
    match select(pin!(interrupt.recv()), pin!(terminate.recv())).await {
        Either::Left(_) => SignalKind::interrupt(),
        Either::Right(_) => SignalKind::terminate(),
    }
}

/// The connections in flight: a count, and the event that tells them to stop.
#[derive(Clone, Default)]
pub(crate) struct Connections(Arc<State>);

#[derive(Default)]
struct State {
    /// Open connections, plus [`STOPPING`] once shutdown began: one word, so the last
    /// connection to end and the start of shutdown can't both miss that none is left.
    count: AtomicUsize,
    stopping: Event,
    /// Set once shutdown began and no connection is left.
    all_closed: Event,
}

const STOPPING: usize = 1 << (usize::BITS - 1);

impl Connections {
    /// Counts a connection as in flight until the returned [`Conn`] is dropped.
    pub(crate) fn track(&self) -> Conn {
        self.0.count.fetch_add(1, SeqCst);
        Conn(self.0.clone())
    }

    /// Starts the shutdown; returns how many connections are open.
    fn stop(&self) -> usize {
        let open = self.0.count.fetch_or(STOPPING, SeqCst) & !STOPPING;
        self.0.stopping.set();
        if open == 0 {
            self.0.all_closed.set();
        }
        open
    }

    fn open(&self) -> usize {
        self.0.count.load(SeqCst) & !STOPPING
    }
}

/// One connection in flight, as its task sees the shutdown. Keep it until the connection is
/// closed: dropping it is what counts the connection as drained.
pub(crate) struct Conn(Arc<State>);

impl Conn {
    /// Whether shutdown began: finish the request at hand, then close.
    pub(crate) fn is_stopping(&self) -> bool {
        self.0.stopping.is_set()
    }

    /// Completes once shutdown begins (at once if it has). Cancel-safe.
    pub(crate) async fn stopping(&self) {
        self.0.stopping.wait().await;
    }

    /// Runs `fut` (a read between requests on `socket`) unless shutdown begins first:
    /// `None`. A request already sent when shutdown begins is still taken: `fut` runs to
    /// its end if the kernel holds unread input, and otherwise gets [`STOP_LINGER`] to
    /// bring what the runtime's driver may have received already.
    pub(crate) async fn unless_stopping<F: Future>(
        &self,
        socket: RawFd,
        fut: F,
    ) -> Option<F::Output> {
        let mut fut = pin!(fut);
        if let Either::Left((output, _)) = select(fut.as_mut(), pin!(self.stopping())).await {
            return Some(output);
        }
        // Bytes in the socket complete the read, whichever driver carries it; the kernel
        // knows that at once, while the driver may not have polled since they came.
        if has_unread_input(socket) {
            return Some(fut.await);
        }
        // None there, but a recv on the io_uring driver takes bytes out of the socket as
        // they arrive, and its completion can reach the task after the signal did.
        timeout(STOP_LINGER, fut).await.ok()
    }
}

/// How long an idle connection waits, once shutdown began, for a request its client sent
/// before: long against a completion's way through the driver on a loaded machine, short
/// against the grace period.
const STOP_LINGER: Duration = Duration::from_millis(50);

/// Whether `socket`'s peer sent bytes that nobody has read yet.
fn has_unread_input(socket: RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: the caller's connection keeps `socket` open across the call, and the buffer
    // is one writable byte that outlives it. MSG_PEEK leaves the byte for the real read,
    // MSG_DONTWAIT keeps the call from blocking.
    let n = unsafe {
        libc::recv(
            socket,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n > 0
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, SeqCst) == STOPPING | 1 {
            self.0.all_closed.set();
        }
    }
}
