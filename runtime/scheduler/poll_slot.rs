//! What a thread that polls tasks is doing right now, for the task dump and the
//! blocking-poll monitor (`crate::diag`).
//!
//! Written only by its thread, with plain relaxed stores on its own cache line: the poll
//! count (also the `polls` metric), the id of the task being polled (0 between polls) and
//! when that poll began. The time is the thread's *coarse* clock: the reading it took after
//! its last driver turn or park, from the kernel's coarse clock, so a poll costs no clock
//! read. A busy worker turns the
//! driver every `event_interval` ticks, so a start time is late by at most that many short
//! polls; readers that need a bound (the monitor) keep their own.

use crate::loom::atomic::{AtomicU64, Ordering::Relaxed};
use crate::task_core::Id;
use std::time::Duration;

#[derive(Default)]
pub(crate) struct PollSlot {
    polls: AtomicU64,
    task: AtomicU64,
    started_ns: AtomicU64,
}

/// One reading of a [`PollSlot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PollSample {
    /// Polls begun so far: a poll is the same one while this stays put.
    pub(crate) polls: u64,
    /// The task in its poll now.
    pub(crate) task: Option<Id>,
    /// When that poll began (coarse), as time since the scheduler's epoch.
    pub(crate) started: Duration,
}

impl PollSlot {
    /// A poll of `task` begins, at `now_ns` on the coarse clock.
    #[inline]
    pub(crate) fn begin(&self, task: Id, now_ns: u64) {
        // Only this thread writes: load + store, no lock prefix.
        self.polls.store(self.polls.load(Relaxed) + 1, Relaxed);
        self.started_ns.store(now_ns, Relaxed);
        self.task.store(task.as_u64(), Relaxed);
    }

    /// The poll ended.
    #[inline]
    pub(crate) fn end(&self) {
        self.task.store(0, Relaxed);
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Relaxed)
    }

    /// A racy but consistent-enough reading: a sample taken across a poll boundary may pair
    /// one poll's task with the next one's count, which only delays the monitor one round.
    pub(crate) fn sample(&self) -> PollSample {
        let task = self.task.load(Relaxed);
        PollSample {
            polls: self.polls.load(Relaxed),
            task: Id::from_u64(task),
            started: Duration::from_nanos(self.started_ns.load(Relaxed)),
        }
    }
}

/// The scheduler's epoch and a thread's coarse reading of it.
///
/// Read with `CLOCK_MONOTONIC_COARSE` (the kernel's last tick, a few nanoseconds through
/// the vDSO, where a precise `Instant::now` costs tens here): a poll's start is then known
/// to a tick (1-4 ms), plenty for a dump or a monitor that cares about tens of milliseconds.
///
/// Readers measure a poll's age on this same clock ([`CoarseClock::now_ns`]): the precise
/// clock runs up to a tick ahead of the coarse one, by a different amount at the epoch and
/// now, so subtracting a coarse start from a precise "now" could come out negative.
#[derive(Clone, Copy)]
pub(crate) struct CoarseClock {
    epoch_ns: u64,
}

impl CoarseClock {
    pub(crate) fn new() -> CoarseClock {
        CoarseClock {
            epoch_ns: coarse_ns(),
        }
    }

    /// Now, in nanoseconds since the epoch (read after each driver turn or park).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        coarse_ns().saturating_sub(self.epoch_ns)
    }
}

fn coarse_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE exists on every
    // Linux this runtime supports, and on failure `ts` stays zero (the epoch).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
