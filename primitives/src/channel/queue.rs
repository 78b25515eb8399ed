//! What the two lock-free queues under a channel share: their results, a backoff for the
//! short spins they do while another thread finishes a claimed slot, and cache padding.

use crate::loom::{spin_loop, thread};

/// Why a push did not land; the value comes back.
#[derive(Debug)]
pub(crate) enum PushError<T> {
    /// No room (bounded only), counting reserved slots.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// Why a pop found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopError {
    /// Nothing queued now; more may come.
    Empty,
    /// Closed, drained, and no permit is out: nothing will ever come.
    Closed,
}

/// Exponential backoff for the short waits of a lock-free queue: another thread has claimed a
/// position and is a few instructions away from publishing it.
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    const SPIN_LIMIT: u32 = 6;

    pub(crate) fn new() -> Backoff {
        Backoff { step: 0 }
    }

    /// After a lost compare-exchange: spin a little, never yield.
    pub(crate) fn spin(&mut self) {
        if cfg!(runtime_loom) {
            // One scheduling point per retry keeps the models small.
            return thread::yield_now();
        }
        for _ in 0..1u32 << self.step.min(Self::SPIN_LIMIT) {
            spin_loop();
        }
        if self.step <= Self::SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// While waiting for another thread: spin, then give up the CPU (that thread may have
    /// been preempted in the middle of its write).
    pub(crate) fn snooze(&mut self) {
        if cfg!(runtime_loom) || self.step > Self::SPIN_LIMIT {
            return thread::yield_now();
        }
        for _ in 0..1u32 << self.step {
            spin_loop();
        }
        self.step += 1;
    }
}

/// Keeps a hot atomic on its own cache line(s), so the sending and receiving ends do not
/// invalidate each other's line on every operation.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
pub(crate) struct CachePadded<T>(pub(crate) T);
