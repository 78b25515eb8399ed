//! Multishot recvs: arming one, taking its completions, and the provided buffers they
//! fill (copied out to the reader, then handed back to the kernel).

use super::op::{OpId, OpKind, Shot, Status};
use super::Ring;
use crate::uring::bufs::{Lent, ProvidedBufs, GROUP};
use io_uring::{cqueue, opcode, types};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

impl Ring {
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

    /// Hands back the buffers of completions nobody read (an orphaned recv's).
    pub(super) fn recycle_ids(&self, ids: impl IntoIterator<Item = u16>) {
        if let Some(bufs) = &self.bufs {
            bufs.recycle(ids.into_iter().map(|bid| {
                // SAFETY: each id is from a completion whose buffer nobody took.
                unsafe { ProvidedBufs::lend(bid, 0) }
            }));
        }
    }
}
