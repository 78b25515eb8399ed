//! The slab's entries: an operation in flight, what it owns, and what it gives back.

use crate::uring::bufs::Lent;
use io_uring::cqueue;
use slab::Slab;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::Waker;

/// An operation in flight: its slab index and generation (the `user_data` of its SQE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpId {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl OpId {
    pub(super) fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    pub(super) fn from_user_data(data: u64) -> OpId {
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

pub(super) enum Status {
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
pub(super) struct Op {
    pub(super) generation: u32,
    pub(super) status: Status,
    /// The memory the SQE points into. Its heap allocation never moves or shrinks while
    /// the operation is in flight: only the owner of the entry touches it, after completion.
    pub(super) buf: Vec<u8>,
    /// Keeps the descriptor the SQE names open until the kernel has taken the SQE (see
    /// [`Ring::abandon`](super::Ring::abandon)) or the completion arrives.
    pub(super) _keep: Arc<dyn Send + Sync>,
    pub(super) fd: RawFd,
    pub(super) kind: OpKind,
    pub(super) opcode: u32,
    /// A `shutdown(SHUT_WR)` to run on `fd` once this send completes.
    pub(super) shutdown_write_after: bool,
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
    pub(super) fn settled(&self) -> bool {
        match &self.status {
            Status::Done(_) => true,
            Status::Armed(q, _) => q.back().is_some_and(|&(_, flags)| !cqueue::more(flags)),
            Status::InFlight(_) | Status::Orphaned => false,
        }
    }
}

pub(super) struct State {
    pub(super) ops: Slab<Op>,
    pub(super) next_generation: u32,
}
