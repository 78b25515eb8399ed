//! The ring and its slab of operations in flight.
//!
//! # The contract every user of [`Ring`] keeps
//!
//! - An operation is started with [`Ring::start`], which takes the buffer the kernel reads
//!   or writes and an `Arc` that keeps the file descriptor open. Both live in the slab
//!   entry until the operation's completion (CQE) is reaped: the kernel never sees freed
//!   memory nor a closed (and maybe reused) descriptor.
//! - The starter polls with [`Ring::poll_op`] (or [`Ring::take_if_done`]); a completed
//!   operation hands its result and its buffer back and leaves the slab.
//! - An owner that goes away with an operation in flight calls [`Ring::abandon`]: the entry
//!   becomes orphaned (optionally with an `ASYNC_CANCEL` behind it) and is freed when its
//!   completion arrives. A completed accept that nobody takes has its new descriptor
//!   closed.
//! - SQEs are pushed here and reach the kernel in one `io_uring_enter` at the scheduler's
//!   flush points ([`Ring::flush`]): every driver turn, and before a worker parks without
//!   the driver. A thread that runs no scheduler of this runtime (a `block_on` caller of a
//!   multi-thread runtime, a blocking-pool job) submits at once, and so does a starter
//!   that asks to (`submit_now`: sends, whose bytes were reported written).
//! - [`Ring::shutdown`] cancels whatever is in flight and waits for the completions
//!   before the ring may be dropped.
//!
//! # Layout
//!
//! This file sets the ring up and submits; [`op`] holds the slab's entries, [`completion`]
//! reaps the queue and settles results and abandoned operations, [`multishot`] arms
//! multishot recvs and lends their provided buffers, and [`shutdown`] winds it all down.

use crate::uring::bufs::ProvidedBufs;
use io_uring::{opcode, squeue, types, IoUring};
use slab::Slab;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

mod completion;
mod multishot;
mod op;
mod shutdown;

pub(crate) use op::{Completion, OpId, OpKind, Shot};
use op::{Op, State, Status};
pub(crate) use shutdown::shutdown_error;

/// Submission queue entries; the completion queue gets four times as many.
const ENTRIES: u32 = 1024;
/// The `user_data` of cancellation requests: their completions are ignored.
const CANCEL_TAG: u64 = u64::MAX;

/// The ring, shared by the driver and every resource on it.
pub(crate) struct Ring {
    uring: IoUring,
    /// Signalled by the kernel whenever it posts completions (`IORING_REGISTER_EVENTFD`);
    /// the reactor watches it, so the thread parked in the driver wakes for them. (Never
    /// read: the reactor is edge-triggered, and every signal is a new edge.)
    eventfd: std::os::fd::OwnedFd,
    state: Mutex<State>,
    is_shutdown: AtomicBool,
    completions: AtomicU64,
    in_flight: AtomicUsize,
    /// Streams and listeners on the ring (`RuntimeMetrics::io_registrations` counts them).
    sockets: AtomicUsize,
    /// The buffers multishot recvs take (`None` where the kernel has no provided-buffer
    /// rings). Declared after `uring`, so it is freed after the instance that uses it.
    bufs: Option<ProvidedBufs>,
}

impl Ring {
    /// Sets the ring up (`io_uring_setup`); an error means the caller uses mio instead.
    pub(crate) fn new() -> io::Result<Ring> {
        // `COOP_TASKRUN`: the kernel finishes an operation (a multishot recv's copy into a
        // provided buffer) as task work of the thread that submitted it. By default it
        // interrupts that thread at once, if running, with an IPI; with this flag the work
        // waits for the thread's next kernel entry (a syscall, or the next timer interrupt,
        // so a busy worker holds it back by a tick at most). A sleeping submitter is still
        // woken for it. Measured: the interrupts ran the recv on one core while the peer's
        // send held the socket lock on the other, and the spinning halved the ring's rate
        // (tcp_echo 0.50 of mio without the flag, 0.95 with it). Kernels before 5.19 refuse
        // the flag (`EINVAL`): the ring is set up without it there.
        let build = |coop: bool| {
            let mut builder = IoUring::builder();
            builder.setup_cqsize(ENTRIES * 4).setup_clamp();
            if coop {
                builder.setup_coop_taskrun();
            }
            builder.build(ENTRIES)
        };
        let uring = match build(true) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => build(false)?,
            other => other?,
        };
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just created, owned by nobody else.
        let eventfd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        uring.submitter().register_eventfd(eventfd.as_raw_fd())?;
        let bufs = ProvidedBufs::register(&uring).ok();
        Ok(Ring {
            uring,
            eventfd,
            state: Mutex::new(State {
                ops: Slab::with_capacity(256),
                next_generation: 0,
            }),
            is_shutdown: AtomicBool::new(false),
            completions: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            sockets: AtomicUsize::new(0),
            bufs,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an operation on `fd` (kept open by `keep`) whose SQE `build` makes from the
    /// address of `buf`'s heap memory. The SQE is pushed and submitted at the next flush
    /// point, or now with `submit_now` (see the module doc).
    ///
    /// # Safety
    ///
    /// The SQE `build` returns may point only into `buf` (at most `buf.len()` bytes from
    /// the address it is given) and name only `fd`; anything else it points at must be
    /// valid until the completion.
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub(crate) unsafe fn start(
        &self,
        fd: RawFd,
        keep: Arc<dyn Send + Sync>,
        mut buf: Vec<u8>,
        kind: OpKind,
        submit_now: bool,
        build: impl FnOnce(*mut u8) -> squeue::Entry,
    ) -> io::Result<OpId> {
        let entry = build(buf.as_mut_ptr());
        let mut state = self.lock();
        // Checked under the lock: `shutdown` sets the flag before it takes the lock to
        // cancel what is in flight, so nothing slips in behind its cancellations.
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(shutdown_error());
        }
        let generation = state.next_generation;
        state.next_generation = generation.wrapping_add(1);
        let index = state.ops.insert(Op {
            generation,
            status: if kind == OpKind::Multishot {
                Status::Armed(VecDeque::new(), Vec::new())
            } else {
                Status::InFlight(Vec::new())
            },
            buf,
            _keep: keep,
            fd,
            kind,
            opcode: entry.get_opcode(),
            shutdown_write_after: false,
        });
        let id = OpId {
            index: u32::try_from(index).expect("too many io_uring operations in flight"),
            generation,
        };
        // SAFETY: the entry points into the buffer now owned by the slab entry (moving a
        // `Vec` keeps its heap memory where it is) and names `fd`, kept open by `keep` in
        // the same entry; the entry is removed only after its completion is reaped (or at
        // shutdown, after every completion arrived). The caller vouched for the rest.
        unsafe { self.push(&mut state, &entry.user_data(id.user_data())) };
        drop(state);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if submit_now || !self.is_flushed_here() {
            self.flush();
        }
        Ok(id)
    }

    /// Pushes `entry`, submitting first if the queue is full.
    ///
    /// # Safety
    ///
    /// What the entry points at stays valid until its completion.
    unsafe fn push(&self, _state: &mut State, entry: &squeue::Entry) {
        loop {
            // SAFETY: the submission queue is only touched with the state lock held (the
            // `_state` borrow), so this view is the only one.
            let mut sq = unsafe { self.uring.submission_shared() };
            // SAFETY: the caller keeps the entry's memory valid until the completion.
            if unsafe { sq.push(entry) }.is_ok() {
                return;
            }
            drop(sq);
            // Full: hand the batch to the kernel now to make room.
            if let Err(e) = self.uring.submit() {
                if !matches!(
                    e.raw_os_error(),
                    Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)
                ) {
                    panic!("io_uring_enter failed: {e}");
                }
            }
        }
    }

    /// Whether this thread runs a scheduler of the runtime this ring belongs to, and so
    /// reaches one of its flush points soon.
    fn is_flushed_here(&self) -> bool {
        crate::context::with_scheduler(|cx| {
            cx.and_then(|cx| cx.driver().uring.as_deref())
                .is_some_and(|ring| std::ptr::eq(ring, self))
        })
    }

    /// Whether SQEs wait to be submitted.
    pub(crate) fn has_pending(&self) -> bool {
        self.queued() > 0
    }

    /// SQEs pushed and not yet submitted.
    fn queued(&self) -> usize {
        let state = self.lock();
        // SAFETY: the lock is held, so this view is the only one. A view must never
        // outlive the lock: dropping it stores the tail it read, which would un-publish
        // entries pushed meanwhile (and let the kernel consume stale slots again). Hence
        // the explicit drops, in this order.
        let sq = unsafe { self.uring.submission_shared() };
        let queued = sq.len();
        drop(sq);
        drop(state);
        queued
    }

    /// Submits every pushed SQE in one `io_uring_enter`, if there are any.
    pub(crate) fn flush(&self) {
        if self.queued() == 0 {
            return;
        }
        match self.uring.submit() {
            Ok(_) => {}
            // Interrupted, or the completion queue is full: the next flush point retries.
            Err(e) if is_transient(&e) => {}
            Err(e) => panic!("io_uring_enter failed: {e}"),
        }
    }

    /// Starts a `POLL_ADD` that completes when `fd` (kept open by `keep`) is writable.
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub(crate) fn start_poll_writable(
        &self,
        fd: RawFd,
        keep: Arc<dyn Send + Sync>,
    ) -> io::Result<OpId> {
        // SAFETY: a poll request points at no memory; it names `fd`, kept open by `keep`.
        unsafe {
            self.start(fd, keep, Vec::new(), OpKind::Transfer, false, |_| {
                opcode::PollAdd::new(types::Fd(fd), libc::POLLOUT as u32).build()
            })
        }
    }

    /// A stream or listener joins the ring.
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub(crate) fn attach(&self) -> io::Result<()> {
        let _state = self.lock(); // ordered with `shutdown`
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(shutdown_error());
        }
        self.sockets.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A stream or listener leaves the ring.
    pub(crate) fn detach(&self) {
        self.sockets.fetch_sub(1, Ordering::Relaxed);
    }

    /// Streams and listeners on the ring now.
    pub(crate) fn sockets(&self) -> usize {
        self.sockets.load(Ordering::Relaxed)
    }

    /// Completions reaped so far.
    pub(crate) fn completions(&self) -> u64 {
        self.completions.load(Ordering::Relaxed)
    }

    /// Operations in the slab: in flight, orphaned, or completed and not yet taken.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

impl Ring {
    /// The descriptor that becomes readable when completions arrive.
    pub(crate) fn wake_fd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("fd", &self.uring.as_raw_fd())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// An `io_uring_enter` error that says "not now" rather than "broken": interrupted, the
/// completion queue full (`EBUSY`, `EAGAIN`), or a timed wait that ran out (`ETIME`).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR | libc::EAGAIN | libc::EBUSY | libc::ETIME)
    )
}
