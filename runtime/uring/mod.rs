//! The io_uring driver: TCP streams and listeners on a completion ring, beside the mio
//! reactor, chosen with [`Builder::io_driver`](crate::Builder::io_driver) or
//! `RUNTIME_IO_DRIVER=uring`.
//!
//! # What runs on it
//!
//! TCP reads and writes (the streams, their halves, `AsyncRead`/`AsyncWrite`),
//! `TcpListener::accept`, and `TcpStream::connect` / `TcpSocket::connect`
//! (`IORING_OP_CONNECT`, see [`mod@connect`]). UDP, Unix sockets, pipes, files, signals
//! and timers stay on the mio reactor and the timer wheel even when the ring is on. When
//! `io_uring_setup` fails (`ENOSYS` on old kernels, `EPERM` under seccomp or
//! `kernel.io_uring_disabled`) the runtime runs everything on mio and says so in
//! [`RuntimeMetrics::io_driver`](crate::RuntimeMetrics).
//!
//! # The design
//!
//! One ring per runtime ([`ring::Ring`]), shared by every worker, with an eventfd the
//! kernel signals when it posts completions (`IORING_REGISTER_EVENTFD`), registered with
//! the reactor's `mio::Poll`: the thread parked in the driver wakes for completions. Operations live in a slab keyed by index and generation (the SQE's
//! `user_data`), each entry owning the buffer the kernel uses and an `Arc` of the socket
//! (the descriptor outlives every SQE that names it), plus the waker of whoever waits.
//!
//! A task never submits alone: it pushes its SQE under the ring's lock and returns. The
//! batch goes to the kernel in one `io_uring_enter` at the scheduler's flush points:
//! every driver turn (before the reactor waits, and on the non-blocking turns a busy
//! worker takes every `event_interval` polls) and before a worker parks on its condvar
//! instead of in the driver (else its SQEs would wait for someone else's turn). A thread
//! that runs none of this runtime's schedulers (a multi-thread runtime's `block_on`
//! caller, a blocking-pool job) submits at once. Sends are submitted at once too: their
//! bytes were reported written, and a task that then blocks its thread must not hold them
//! back from the peer (an existing test does exactly that). Every driver turn reaps the
//! completion queue and wakes the owners.
//!
//! Reads go through one multishot recv per stream (`IORING_RECV_MULTISHOT`), armed by the
//! first read that finds nothing buffered and left armed: each completion names a buffer
//! of the ring's shared provided-buffer ring ([`bufs`]), whose bytes are copied out to the
//! reader (what doesn't fit waits for the next read) and which goes back to the kernel
//! once read, so the public API is unchanged. When the shared buffers run out (`ENOBUFS`)
//! or the kernel has no provided-buffer rings, a read falls back to a single recv
//! (`IORING_RECVSEND_POLL_FIRST`) into the stream's own buffer.
//!
//! Writes go straight to the socket while it has room (one `send(2)`, as on mio); only a
//! write that would block is copied into an owned buffer and sent through the ring,
//! reported written once queued (the next write, `flush` or `close` waits for it and
//! returns its error). See [`stream`] for why this keeps `AsyncWrite`'s contract and the
//! cancel safety of `read` and `write`.
//!
//! # Where it stands (measured)
//!
//! On tcp_echo (`cargo bench --bench io`, 64 connections × 64-byte round trips, 2 workers)
//! the multishot recv cut the ring's cost per round trip by about a quarter (user-space
//! instructions, CPU time, and `io_uring_enter` calls from one per few round trips to one
//! per few hundred). Setting the ring up with `IORING_SETUP_COOP_TASKRUN` then doubled its
//! rate (0.50 of mio's round trips per second to 0.95, on the same machine in one
//! sitting): without it the kernel interrupted the submitting worker for every recv
//! completion, and the recv spun on the socket lock the peer's send held (see
//! [`Ring::new`](ring::Ring::new)). The ring is now level with mio on tcp_echo (0.94-0.98),
//! http (1.02 of tokio against mio's 0.98) and mini_redis, and ahead on none, so the
//! default stays [`IoDriver::Mio`](crate::IoDriver::Mio) for every path; the ring is there
//! to be chosen, and to build on. See BENCHMARKS.md for the figures.
//!
//! # Cancellation and shutdown
//!
//! Operations belong to the stream or listener, not to the future that started them: a
//! dropped `read` or `accept` future leaves its operation in flight and the next call
//! takes its result, so nothing is lost. A connect is the exception: there is no socket
//! yet for it to belong to, so a dropped connect future cancels it, and its entry (the
//! address the kernel reads, the socket) is freed when the completion is reaped.
//! Dropping the stream or listener cancels the recv or accept (`IORING_OP_ASYNC_CANCEL`)
//! and orphans the slab entry, which is freed with its buffer when the (cancellation's)
//! completion is reaped; an accepted descriptor nobody takes is closed there, and provided
//! buffers nobody will read go back to the kernel. A send is
//! never cancelled: its bytes were reported written. At runtime shutdown every operation
//! in flight is cancelled and the driver waits for the completions before the ring can be
//! dropped; an operation that does not complete within two seconds has its buffer leaked
//! rather than freed under the kernel.
//!
//! # Why the `io-uring` crate
//!
//! `io-uring` (tokio-rs) is a thin, safe-where-it-can binding of the ring's memory layout,
//! SQE builders and `io_uring_enter`, with no runtime of its own: it lets the ring sit
//! under this runtime's own scheduler and driver. `tokio-uring`, `monoio` and `glommio`
//! are runtimes (thread-per-core, owned buffers in their public APIs), and `rio` is
//! unmaintained; none could slot under our `TcpStream` without replacing the scheduler.
//!
//! # Not (yet) done
//!
//! A ring per worker, waited on in `io_uring_enter` with the reactor's epoll fd polled
//! through it (`DEFER_TASKRUN` would then batch the completion work), registered files, an
//! owned-buffer fast path for `io::copy`, and a per-stream cap on provided buffers: a
//! stream whose reader lags can hold all of them (the kernel drains its socket into
//! them), and the other streams then read through single recvs until it catches up.

pub(crate) mod bufs;
pub(crate) mod connect;
pub(crate) mod listener;
pub(crate) mod ring;
pub(crate) mod stream;

pub(crate) use connect::connect;
pub(crate) use listener::UringListener;
pub(crate) use ring::Ring;
pub(crate) use stream::UringStream;

/// A socket out of the `Arc` it shared with ring operations: itself when this is the last
/// handle, else a duplicate descriptor (an operation still in flight keeps the original).
pub(crate) fn unshare<S>(
    sock: std::sync::Arc<S>,
    dup: impl FnOnce(&S) -> std::io::Result<S>,
) -> std::io::Result<S> {
    std::sync::Arc::try_unwrap(sock).or_else(|shared| dup(&shared))
}
