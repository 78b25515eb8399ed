//! Which workers sleep, and how many search for work.
//!
//! One atomic word counts the workers that are awake (`unparked`) and, among them, those
//! stealing (`searching`). A new task wakes a sleeper only when nobody is searching (a
//! searcher will find it) and somebody sleeps, and at most half the workers search at
//! once, so a burst of spawns doesn't wake the whole pool (no thundering herd). The last
//! searcher to find work wakes the next sleeper, which keeps wakes chained rather than
//! broadcast. The sleepers list is under a mutex taken only on these transitions.

use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::Mutex;

pub(crate) struct Idle {
    state: AtomicUsize,
    num_workers: usize,
    sleepers: Mutex<Vec<usize>>,
}

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

fn num_searching(state: usize) -> usize {
    state & SEARCH_MASK
}

fn num_unparked(state: usize) -> usize {
    state >> UNPARK_SHIFT
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            num_workers,
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    fn sleepers(&self) -> crate::loom::MutexGuard<'_, Vec<usize>> {
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A sleeping worker to wake for new work, already counted as unparked and searching;
    /// `None` when a searcher exists or nobody sleeps.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers();
        // Re-check under the lock: another notifier may have raced us.
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARK_SHIFT) | 1, SeqCst);
        Some(worker)
    }

    fn notify_should_wakeup(&self) -> bool {
        let state = self.state.load(SeqCst);
        num_searching(state) == 0 && num_unparked(state) < self.num_workers
    }

    /// Parks `worker`; returns true if it was the last searcher (it must then re-check
    /// the queues, since a task pushed meanwhile may have seen a searcher and woken nobody).
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && num_searching(prev) == 1
    }

    /// Starts searching, unless half the workers already do.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * num_searching(state) >= self.num_workers {
            return false;
        }
        // Racy by design: the cap is a heuristic, a few extra searchers are harmless.
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// Stops searching; returns true if it was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        num_searching(prev) == 1
    }

    /// Takes `worker` off the sleepers list if it is on it (woken by something other than
    /// `worker_to_notify`, e.g. its driver turn); returns whether it was.
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers();
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
            true
        } else {
            false
        }
    }

    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers().contains(&worker)
    }
}
