//! The completion side: reaping the queue, handing results to their owners, and
//! abandoned operations (orphaned, maybe cancelled, freed when their completion comes).

use super::op::{Completion, OpId, OpKind, State, Status};
use super::{Ring, CANCEL_TAG};
use io_uring::{cqueue, opcode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

impl Ring {
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
}
