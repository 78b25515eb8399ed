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

use crate::uring::bufs::{Lent, ProvidedBufs, GROUP};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use slab::Slab;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Submission queue entries; the completion queue gets four times as many.
const ENTRIES: u32 = 1024;
/// The `user_data` of cancellation requests: their completions are ignored.
const CANCEL_TAG: u64 = u64::MAX;
/// How long shutdown waits for cancelled operations before it gives up on them (and
/// leaks their buffers rather than free memory the kernel might still write).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// An operation in flight: its slab index and generation (the `user_data` of its SQE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpId {
    index: u32,
    generation: u32,
}

impl OpId {
    fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    fn from_user_data(data: u64) -> OpId {
        OpId {
            index: data as u32,
            generation: (data >> 32) as u32,
        }
    }
}

/// What a completed operation gives back.
pub(crate) struct Completion {
    /// The CQE's result: a count or a descriptor, or `-errno`.
    pub(crate) result: i32,
    /// The buffer the operation was started with.
    pub(crate) buf: Vec<u8>,
}

impl Completion {
    /// The result as `io::Result`.
    pub(crate) fn io_result(&self) -> io::Result<u32> {
        if self.result < 0 {
            Err(io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result as u32)
        }
    }

    /// Cancelled without its owner asking: the thread that submitted it exited (the kernel
    /// cancels a thread's requests when it does). The owner starts it again.
    pub(crate) fn was_cancelled(&self) -> bool {
        self.result == -libc::ECANCELED
    }
}

/// One completion of a multishot recv.
pub(crate) struct Shot {
    /// A count, 0 at the end of stream, or `-errno`.
    pub(crate) result: i32,
    /// The provided buffer holding the bytes, if any were received.
    pub(crate) buf: Option<Lent>,
    /// The recv stays armed (`IORING_CQE_F_MORE`); else this was its last completion
    /// and it has left the slab.
    pub(crate) more: bool,
}

enum Status {
    /// In flight; the wakers of whoever waits for it (several tasks may wait on one
    /// shared listener's accept; all are woken, one takes the result).
    InFlight(Vec<Waker>),
    /// A multishot recv: its completions (result, flags) not yet taken, oldest first, and
    /// the wakers of whoever waits for the next one.
    Armed(VecDeque<(i32, u32)>, Vec<Waker>),
    /// Completed with this result, waiting to be taken.
    Done(i32),
    /// In flight with nobody waiting: freed when it completes.
    Orphaned,
}

/// What a slab entry owns while the kernel works on it.
struct Op {
    generation: u32,
    status: Status,
    /// The memory the SQE points into. Its heap allocation never moves or shrinks while
    /// the operation is in flight: only the owner of the entry touches it, after completion.
    buf: Vec<u8>,
    /// Keeps the descriptor the SQE names open until the kernel has taken the SQE (see
    /// [`Ring::abandon`]) or the completion arrives.
    _keep: Arc<dyn Send + Sync>,
    fd: RawFd,
    kind: OpKind,
    opcode: u32,
    /// A `shutdown(SHUT_WR)` to run on `fd` once this send completes.
    shutdown_write_after: bool,
}

/// What the reaper must know about an operation's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// The result is a count (or nothing).
    Transfer,
    /// The result is a new descriptor, closed if nobody takes it.
    Accept,
    /// A multishot recv: many completions, each naming a provided buffer.
    Multishot,
}

impl Op {
    /// Nothing more will come from the kernel for it.
    fn settled(&self) -> bool {
        match &self.status {
            Status::Done(_) => true,
            Status::Armed(q, _) => q.back().is_some_and(|&(_, flags)| !cqueue::more(flags)),
            Status::InFlight(_) | Status::Orphaned => false,
        }
    }
}

struct State {
    ops: Slab<Op>,
    next_generation: u32,
}

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

    /// Takes every completion: results are stored for their owners, whose wakers are put
    /// in `wake`; orphans are freed. Returns how many completions there were.
    pub(crate) fn reap(&self, wake: &mut Vec<Waker>) -> usize {
        let mut freed = Vec::new();
        let mut returned = Vec::new();
        let mut count = 0;
        let mut state = self.lock();
        // SAFETY: the completion queue is only read with the state lock held.
        let cq = unsafe { self.uring.completion_shared() };
        for cqe in cq {
            if cqe.user_data() == CANCEL_TAG {
                continue;
            }
            count += 1;
            let id = OpId::from_user_data(cqe.user_data());
            let index = id.index as usize;
            let Some(op) = state.ops.get_mut(index) else {
                continue;
            };
            if op.generation != id.generation {
                continue;
            }
            if op.kind == OpKind::Multishot {
                let (result, flags) = (cqe.result(), cqe.flags());
                match &mut op.status {
                    Status::Armed(queue, wakers) => {
                        queue.push_back((result, flags));
                        wake.append(wakers);
                    }
                    Status::Orphaned => {
                        returned.extend(cqueue::buffer_select(flags));
                        if !cqueue::more(flags) {
                            freed.push(state.ops.remove(index));
                            self.in_flight.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    _ => unreachable!("a multishot recv is armed or orphaned"),
                }
                continue;
            }
            if cqueue::more(cqe.flags()) {
                continue;
            }
            let result = cqe.result();
            if op.shutdown_write_after {
                // SAFETY: `fd` is kept open by the entry's `_keep` (`abandon` clears the
                // flag when it lets the descriptor go).
                unsafe { libc::shutdown(op.fd, libc::SHUT_WR) };
            }
            match std::mem::replace(&mut op.status, Status::Done(result)) {
                Status::InFlight(wakers) => wake.extend(wakers),
                Status::Orphaned => {
                    let op = state.ops.remove(index);
                    if op.kind == OpKind::Accept && result >= 0 {
                        // SAFETY: a descriptor the kernel just made for us, owned by nobody.
                        unsafe { libc::close(result) };
                    }
                    freed.push(op);
                    self.in_flight.fetch_sub(1, Ordering::Relaxed);
                }
                Status::Armed(..) => unreachable!("a single operation armed as multishot"),
                Status::Done(prev) => unreachable!(
                    "two completions for one operation: opcode {}, results {prev} then {result}, flags {:#x}",
                    op.opcode,
                    cqe.flags()
                ),
            }
        }
        drop(state);
        self.recycle_ids(returned);
        if count > 0 {
            self.completions.fetch_add(count as u64, Ordering::Relaxed);
        }
        drop(freed); // buffers and descriptors released outside the lock
        count
    }

    /// The completion of `id` if it arrived (it leaves the slab); else `cx`'s waker is
    /// stored and woken when it does.
    pub(crate) fn poll_op(&self, id: OpId, cx: &mut Context<'_>) -> Poll<Completion> {
        let mut state = self.lock();
        let op = state
            .ops
            .get_mut(id.index as usize)
            .expect("unknown operation");
        debug_assert_eq!(op.generation, id.generation);
        match &mut op.status {
            Status::Done(_) => Poll::Ready(self.remove(&mut state, id)),
            Status::InFlight(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
            Status::Orphaned => unreachable!("polled an abandoned operation"),
            Status::Armed(..) => unreachable!("polled a multishot recv as a single one"),
        }
    }

    /// The completion of `id` if it arrived; never registers a waker.
    pub(crate) fn take_if_done(&self, id: OpId) -> Option<Completion> {
        let mut state = self.lock();
        let op = state.ops.get(id.index as usize).expect("unknown operation");
        match op.status {
            Status::Done(_) => Some(self.remove(&mut state, id)),
            _ => None,
        }
    }

    fn remove(&self, state: &mut State, id: OpId) -> Completion {
        let op = state.ops.remove(id.index as usize);
        let Status::Done(result) = op.status else {
            unreachable!("removed an operation in flight")
        };
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        Completion {
            result,
            buf: op.buf,
        }
    }

    /// The owner of `id` goes away. A completed operation is freed now; one in flight is
    /// orphaned (freed when it completes), after an `ASYNC_CANCEL` if `cancel`.
    ///
    /// The pushed SQEs are submitted here, and once the kernel has taken them (it holds
    /// its own reference to the file of a submitted request) the entry lets go of the
    /// descriptor: closing the socket then doesn't wait for the completion to be reaped,
    /// so the peer sees the end of the stream as it does on mio, even on a current-thread
    /// runtime that nobody drives any more.
    pub(crate) fn abandon(&self, id: OpId, cancel: bool) {
        let mut state = self.lock();
        let op = state
            .ops
            .get_mut(id.index as usize)
            .expect("unknown operation");
        if matches!(op.status, Status::Armed(..)) {
            // The buffers of completions nobody will read go back; an ended recv is freed
            // below as a completed operation, one still armed is cancelled as in flight.
            let next = if op.settled() {
                Status::Done(0)
            } else {
                Status::InFlight(Vec::new())
            };
            let Status::Armed(queue, _) = std::mem::replace(&mut op.status, next) else {
                unreachable!("just matched")
            };
            self.recycle_ids(
                queue
                    .iter()
                    .filter_map(|&(_, flags)| cqueue::buffer_select(flags)),
            );
        }
        match op.status {
            Status::Done(result) => {
                let kind = op.kind;
                let op = state.ops.remove(id.index as usize);
                drop(state);
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                if kind == OpKind::Accept && result >= 0 {
                    // SAFETY: a descriptor the kernel made for us, owned by nobody.
                    unsafe { libc::close(result) };
                }
                drop(op);
            }
            Status::InFlight(_) => {
                op.status = Status::Orphaned;
                if self.is_shutdown.load(Ordering::Acquire) {
                    return;
                }
                if cancel {
                    let entry = opcode::AsyncCancel::new(id.user_data())
                        .build()
                        .user_data(CANCEL_TAG);
                    // SAFETY: a cancellation points at no memory.
                    unsafe { self.push(&mut state, &entry) };
                }
                // With the lock held nobody pushes meanwhile: an empty queue after the
                // enter means the kernel took this operation's SQE.
                let _ = self.uring.submit();
                // SAFETY: the lock is held; the view is dropped before it is released.
                let sq = unsafe { self.uring.submission_shared() };
                let taken = sq.is_empty();
                drop(sq);
                if taken {
                    let op = state.ops.get_mut(id.index as usize).expect("just seen");
                    op.shutdown_write_after = false;
                    let keep = std::mem::replace(&mut op._keep, Arc::new(()));
                    drop(state);
                    drop(keep);
                }
            }
            Status::Orphaned => unreachable!("abandoned twice"),
            Status::Armed(..) => unreachable!("made done or in flight above"),
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

    /// Whether multishot recvs can run (the provided buffers are registered).
    pub(crate) fn has_bufs(&self) -> bool {
        self.bufs.is_some()
    }

    /// Arms a multishot recv on `fd` (kept open by `keep`); its completions are taken with
    /// [`Ring::poll_shot`].
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    ///
    /// # Panics
    ///
    /// Without provided buffers ([`Ring::has_bufs`]).
    pub(crate) fn start_multishot(
        &self,
        fd: RawFd,
        keep: Arc<dyn Send + Sync>,
    ) -> io::Result<OpId> {
        assert!(self.has_bufs(), "multishot recv without provided buffers");
        // SAFETY: the SQE points at no memory of ours (the kernel picks registered
        // buffers, which live as long as the ring) and names `fd`, kept open by `keep`.
        unsafe {
            self.start(fd, keep, Vec::new(), OpKind::Multishot, false, |_| {
                opcode::RecvMulti::new(types::Fd(fd), GROUP).build()
            })
        }
    }

    /// The next completion of multishot recv `id`, oldest first; with `cx`, its waker is
    /// stored and woken when one arrives. The last completion (no `more`) frees the entry.
    pub(crate) fn poll_shot(&self, id: OpId, cx: Option<&mut Context<'_>>) -> Poll<Shot> {
        let mut state = self.lock();
        let index = id.index as usize;
        let op = state.ops.get_mut(index).expect("unknown operation");
        debug_assert_eq!(op.generation, id.generation);
        let Status::Armed(queue, wakers) = &mut op.status else {
            unreachable!("polled a single operation as a multishot recv")
        };
        let Some((result, flags)) = queue.pop_front() else {
            if let Some(cx) = cx {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
            }
            return Poll::Pending;
        };
        let more = cqueue::more(flags);
        let ended = if more {
            None
        } else {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            Some(state.ops.remove(index))
        };
        drop(state);
        drop(ended);
        let buf = cqueue::buffer_select(flags).map(|bid| {
            // SAFETY: a buffer this completion handed over, taken once (the completion
            // just left the queue).
            unsafe { ProvidedBufs::lend(bid, result.max(0) as usize) }
        });
        Poll::Ready(Shot { result, buf, more })
    }

    /// Copies `lent`'s bytes from `pos` into `dst`; how many.
    pub(crate) fn copy_out(&self, lent: &Lent, pos: usize, dst: &mut [u8]) -> usize {
        self.bufs
            .as_ref()
            .expect("a lent buffer comes from the provided ones")
            .copy_out(lent, pos, dst)
    }

    /// Hands a buffer a multishot recv filled back to the kernel.
    pub(crate) fn recycle(&self, lent: Lent) {
        if let Some(bufs) = &self.bufs {
            bufs.recycle([lent]);
        }
    }

    fn recycle_ids(&self, ids: impl IntoIterator<Item = u16>) {
        if let Some(bufs) = &self.bufs {
            bufs.recycle(ids.into_iter().map(|bid| {
                // SAFETY: each id is from a completion whose buffer nobody took.
                unsafe { ProvidedBufs::lend(bid, 0) }
            }));
        }
    }

    /// Runs `shutdown(SHUT_WR)` on the descriptor of send `id` once it completes; `false`
    /// if it already did (the caller shuts down now).
    pub(crate) fn shutdown_write_after(&self, id: OpId) -> bool {
        let mut state = self.lock();
        let op = state
            .ops
            .get_mut(id.index as usize)
            .expect("unknown operation");
        match op.status {
            Status::InFlight(_) => {
                op.shutdown_write_after = true;
                true
            }
            _ => false,
        }
    }

    /// Cancels everything in flight and waits for the completions (at most
    /// [`SHUTDOWN_WAIT`]); the owners' waiters are woken and their next call errors.
    pub(crate) fn shutdown(&self) {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut state = self.lock();
            let pending: Vec<u64> = state
                .ops
                .iter()
                .filter(|(_, op)| !op.settled())
                .map(|(index, op)| {
                    OpId {
                        index: index as u32,
                        generation: op.generation,
                    }
                    .user_data()
                })
                .collect();
            for user_data in pending {
                let entry = opcode::AsyncCancel::new(user_data)
                    .build()
                    .user_data(CANCEL_TAG);
                // SAFETY: a cancellation points at no memory.
                unsafe { self.push(&mut state, &entry) };
            }
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut wake = Vec::new();
        loop {
            self.reap(&mut wake);
            for waker in wake.drain(..) {
                crate::util::wake_contained(waker);
            }
            let waiting = self.lock().ops.iter().any(|(_, op)| !op.settled());
            let now = Instant::now();
            if !waiting {
                return;
            }
            if now >= deadline {
                break;
            }
            let left = deadline - now;
            let ts = types::Timespec::new()
                .sec(left.as_secs())
                .nsec(left.subsec_nanos());
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.uring.submitter().submit_with_args(1, &args) {
                // Timed out, interrupted or busy: look again until the deadline.
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(_) => break,
            }
        }
        // Still in flight: leak their buffers and descriptors rather than free memory the
        // kernel may yet write into.
        let mut state = self.lock();
        for (_, op) in state.ops.iter_mut() {
            if !op.settled() {
                std::mem::forget(std::mem::take(&mut op.buf));
                if let Some(bufs) = &self.bufs {
                    bufs.leak();
                }
            }
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

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the runtime this socket belongs to has shut down")
}

/// An `io_uring_enter` error that says "not now" rather than "broken": interrupted, the
/// completion queue full (`EBUSY`, `EAGAIN`), or a timed wait that ran out (`ETIME`).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR | libc::EAGAIN | libc::EBUSY | libc::ETIME)
    )
}
