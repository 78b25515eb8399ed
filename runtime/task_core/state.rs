//! The task's atomic state word.
//!
//! One `usize` holds six flags and the reference count, so every transition is a single
//! atomic read-modify-write:
//!
//! | bit | name | set by | cleared by | meaning |
//! |---|---|---|---|---|
//! | 0 | `RUNNING` | the thread that polls (`transition_to_running`), or runtime shutdown / abort that takes the task to cancel it | `transition_to_idle`, `transition_to_complete` | someone has exclusive access to the future |
//! | 1 | `COMPLETE` | `transition_to_complete` (never cleared) | — | the future is gone; the stage holds the output or nothing |
//! | 2 | `NOTIFIED` | a wake, an abort, the spawn itself | `transition_to_running` | a `Notified` reference for this task sits in a run queue, or the poller must reschedule it |
//! | 3 | `JOIN_INTEREST` | spawn | the `JoinHandle`'s drop | a `JoinHandle` exists and will read the output |
//! | 4 | `JOIN_WAKER` | the `JoinHandle`, after it wrote the join waker | the `JoinHandle` (to replace the waker, only while not complete), or the completing thread after it woke it | the join-waker slot is owned by the completing side; while clear, by the `JoinHandle` |
//! | 5 | `CANCELLED` | `abort`, runtime shutdown | — | the next thread that owns the future drops it instead of polling it |
//! | 6.. | ref count | every `Task`, `Notified`, `JoinHandle` and `Waker` holds one | | the cell is freed when it reaches zero |
//!
//! A fresh task has three references (the owned list's `Task`, the run queue's `Notified` and
//! the `JoinHandle`) and `NOTIFIED | JOIN_INTEREST`. References move rather than churn: a wake
//! by value that submits the task turns the waker's reference into the `Notified` one, and a
//! poll that ends with `NOTIFIED` set reuses its own reference to reschedule.

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

pub(crate) struct State {
    val: AtomicUsize,
}

#[derive(Copy, Clone)]
pub(crate) struct Snapshot(usize);

const RUNNING: usize = 0b00_0001;
const COMPLETE: usize = 0b00_0010;
const LIFECYCLE_MASK: usize = RUNNING | COMPLETE;
const NOTIFIED: usize = 0b00_0100;
const JOIN_INTEREST: usize = 0b00_1000;
const JOIN_WAKER: usize = 0b01_0000;
const CANCELLED: usize = 0b10_0000;
const REF_COUNT_SHIFT: usize = 6;
const REF_ONE: usize = 1 << REF_COUNT_SHIFT;
const REF_COUNT_MASK: usize = !(REF_ONE - 1);

/// Three references: the owned list, the first run-queue entry and the `JoinHandle`.
const INITIAL_STATE: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

/// What `transition_to_running` tells the poller.
#[must_use]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Success,
    /// Drop the future: the task was cancelled while queued.
    Cancelled,
    /// Someone else owns or finished the task; the `Notified` reference was released.
    Failed,
    /// As `Failed`, and that was the last reference: free the cell.
    Dealloc,
}

/// What `transition_to_idle` tells the poller after a `Pending`.
#[must_use]
pub(crate) enum TransitionToIdle {
    /// Idle; the poller's reference was released.
    Ok,
    /// Woken while running: reschedule with the poller's reference.
    OkNotified,
    /// Idle and that was the last reference: free the cell.
    OkDealloc,
    /// Aborted while running: the poller still owns the future and must drop it.
    Cancelled,
}

/// What a wake tells the waker.
#[must_use]
pub(crate) enum TransitionToNotified {
    /// Nothing to do (already queued, running or complete).
    DoNothing,
    /// Push a `Notified` (made of the waker's reference, or of a new one for wake-by-ref).
    Submit,
    /// The waker held the last reference: free the cell.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL_STATE),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Takes the future for a poll, consuming the caller's `Notified` reference on failure.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update_action(|mut next| {
            debug_assert!(next.is_notified());
            if !next.is_idle() {
                // Running elsewhere (shutdown took it) or done: drop the queue's reference.
                next.ref_dec();
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(next));
            }
            next.0 |= RUNNING;
            next.0 &= !NOTIFIED;
            let action = if next.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(next))
        })
    }

    /// Gives the future back after `Pending`.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update_action(|mut next| {
            debug_assert!(next.is_running());
            if next.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            next.0 &= !RUNNING;
            let action = if next.is_notified() {
                // Keep the poller's reference: it becomes the new `Notified`.
                TransitionToIdle::OkNotified
            } else {
                next.ref_dec();
                if next.ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (action, Some(next))
        })
    }

    /// `RUNNING` -> `COMPLETE`; returns the new state.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        const DELTA: usize = RUNNING | COMPLETE;
        let prev = Snapshot(self.val.fetch_xor(DELTA, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ DELTA)
    }

    /// Releases `count` references after completion; true when the cell must be freed.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= count);
        prev.ref_count() == count
    }

    /// Wake consuming the waker's reference.
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.fetch_update_action(|mut next| {
            let action = if next.is_running() {
                // The poller reschedules it when it goes idle; it holds a reference, so
                // this cannot be the last one.
                next.0 |= NOTIFIED;
                next.ref_dec();
                debug_assert!(next.ref_count() > 0);
                TransitionToNotified::DoNothing
            } else if next.is_complete() || next.is_notified() {
                next.ref_dec();
                if next.ref_count() == 0 {
                    TransitionToNotified::Dealloc
                } else {
                    TransitionToNotified::DoNothing
                }
            } else {
                // The waker's reference becomes the run queue's.
                next.0 |= NOTIFIED;
                TransitionToNotified::Submit
            };
            (action, Some(next))
        })
    }

    /// Wake keeping the waker's reference: a submit takes a new one.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.fetch_update_action(|mut next| {
            if next.is_complete() || next.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if next.is_running() {
                next.0 |= NOTIFIED;
                (TransitionToNotified::DoNothing, Some(next))
            } else {
                next.0 |= NOTIFIED;
                next.ref_inc();
                (TransitionToNotified::Submit, Some(next))
            }
        })
    }

    /// Abort: marks the task cancelled. Returns true when the caller must submit it (with a
    /// new reference) so that a worker drops its future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update_action(|mut next| {
            if next.is_cancelled() || next.is_complete() {
                (false, None)
            } else if next.is_running() || next.is_notified() {
                // The poller, or whoever dequeues it, sees `CANCELLED` and drops the future.
                next.0 |= NOTIFIED | CANCELLED;
                (false, Some(next))
            } else {
                next.0 |= NOTIFIED | CANCELLED;
                next.ref_inc();
                (true, Some(next))
            }
        })
    }

    /// Runtime shutdown: marks the task cancelled and, if it is idle, takes it (sets
    /// `RUNNING`) so that the caller drops the future right away. Returns whether it took it.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        let mut prev = Snapshot(0);
        let _ = self.fetch_update(|mut next| {
            prev = next;
            if next.is_idle() {
                next.0 |= RUNNING;
            }
            next.0 |= CANCELLED;
            Some(next)
        });
        prev.is_idle()
    }

    /// The `JoinHandle` drop fast path: only from the state right after spawn.
    pub(crate) fn drop_join_handle_fast(&self) -> Result<(), ()> {
        self.val
            .compare_exchange_weak(
                INITIAL_STATE,
                (INITIAL_STATE - REF_ONE) & !JOIN_INTEREST,
                Release,
                Relaxed,
            )
            .map(|_| ())
            .map_err(|_| ())
    }

    /// Clears `JOIN_INTEREST` (and `JOIN_WAKER` if not complete). Returns
    /// `(drop_output, drop_waker)`: what the `JoinHandle` now owns and must drop.
    pub(crate) fn transition_to_join_handle_dropped(&self) -> (bool, bool) {
        self.fetch_update_action(|mut next| {
            debug_assert!(next.is_join_interested());
            let prev = next;
            next.0 &= !JOIN_INTEREST;
            if !next.is_complete() {
                next.0 &= !JOIN_WAKER;
            }
            ((prev.is_complete(), !next.is_join_waker_set()), Some(next))
        })
    }

    /// Publishes the join waker the `JoinHandle` just wrote. Fails once complete.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && !curr.is_join_waker_set());
            if curr.is_complete() {
                return None;
            }
            Some(Snapshot(curr.0 | JOIN_WAKER))
        })
    }

    /// Takes the join-waker slot back to replace the waker. Fails once complete.
    pub(crate) fn unset_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && curr.is_join_waker_set());
            if curr.is_complete() {
                return None;
            }
            Some(Snapshot(curr.0 & !JOIN_WAKER))
        })
    }

    /// After waking the join waker, hands the slot back to the `JoinHandle`.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        // An overflow would be a use-after-free waiting to happen: stop the process.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Returns true when this was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1);
        prev.ref_count() == 1
    }

    fn fetch_update_action<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (output, next) = f(curr);
            let Some(next) = next else { return output };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return output,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    fn fetch_update(
        &self,
        mut f: impl FnMut(Snapshot) -> Option<Snapshot>,
    ) -> Result<Snapshot, Snapshot> {
        let mut curr = self.load();
        loop {
            let Some(next) = f(curr) else {
                return Err(curr);
            };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return Ok(next),
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }
}

impl Snapshot {
    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE_MASK == 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        (self.0 & REF_COUNT_MASK) >> REF_COUNT_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("ref_count", &self.ref_count())
            .finish()
    }
}
