//! The io_uring driver: TCP streams and listeners on a completion ring, beside the mio
//! reactor, chosen with [`Builder::io_driver`](crate::Builder::io_driver) or
//! `RUNTIME_IO_DRIVER=uring`.
//!
//! # What runs on it
//!
//! TCP reads and writes (the streams, their halves, `AsyncRead`/`AsyncWrite`) and
//! `TcpListener::accept`. Connecting (a non-blocking `connect(2)` waited on by the
//! reactor), UDP, Unix sockets, pipes, files, signals and timers stay on the mio reactor
//! and the timer wheel even when the ring is on. When `io_uring_setup` fails (`ENOSYS` on
//! old kernels, `EPERM` under seccomp or `kernel.io_uring_disabled`) the runtime runs
//! everything on mio and says so in [`RuntimeMetrics::io_driver`](crate::RuntimeMetrics).
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
//! Reads are borrowed-buffer reads: a recv (`IORING_RECVSEND_POLL_FIRST`, since a read
//! reaches the ring only when nothing is buffered) lands in the stream's own buffer and is
//! copied out, so the public API is unchanged. Writes go straight to the socket while it
//! has room (one `send(2)`, as on mio); only a write that would block is copied into an
//! owned buffer and sent through the ring, reported written once queued (the next write,
//! `flush` or `close` waits for it and returns its error). See [`stream`] for why this
//! keeps `AsyncWrite`'s contract and the cancel safety of `read` and `write`.
//!
//! # Where it stands (measured)
//!
//! On tcp_echo (`cargo bench --bench io`, 64 connections × 64-byte round trips, 2 workers)
//! this driver does not beat the mio one: see BENCHMARKS.md for the figures. A recv per
//! read arms a poll per round trip, and the kernel runs each completion's work on the
//! submitting thread, so a multi-worker runtime sharing one ring pays wake-ups that epoll's
//! readiness does not. The default stays [`IoDriver::Mio`](crate::IoDriver::Mio) for every
//! path; the ring is there to be chosen, and to build on.
//!
//! # Cancellation and shutdown
//!
//! Operations belong to the stream or listener, not to the future that started them: a
//! dropped `read` or `accept` future leaves its operation in flight and the next call
//! takes its result, so nothing is lost. Dropping the stream or listener cancels the recv
//! or accept (`IORING_OP_ASYNC_CANCEL`) and orphans the slab entry, which is freed with
//! its buffer when the (cancellation's) completion is reaped; an accepted descriptor
//! nobody takes is closed there. A send is never cancelled: its bytes were reported
//! written. At runtime shutdown every operation in flight is cancelled and the driver
//! waits for the completions before the ring can be dropped; an operation that does not
//! complete within two seconds has its buffer leaked rather than freed under the kernel.
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
//! Multishot recv with a provided-buffer ring (one armed request per connection instead
//! of one per read: the likeliest win), waiting in `io_uring_enter` with the reactor's
//! epoll fd polled through the ring (so `COOP_TASKRUN` could drop the cross-thread
//! completion work), registered files, an owned-buffer fast path for `io::copy`, and
//! `connect` through the ring.

pub(crate) mod listener;
pub(crate) mod ring;
pub(crate) mod stream;

pub(crate) use listener::UringListener;
pub(crate) use ring::Ring;
pub(crate) use stream::UringStream;
