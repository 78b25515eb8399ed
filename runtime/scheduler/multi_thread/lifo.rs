//! The LIFO slot: the one task woken by the running task, run next on the same worker.
//!
//! The worker fills and empties it; the blocking-poll monitor (`diag::monitor`) may empty
//! it too, and only while the worker is stuck inside one poll, to hand the task to a worker
//! that can run it. Other workers never steal from it: a slot stealable by every searcher
//! reorders message-passing work and costs extra cross-thread wake-ups (the throughput
//! regression that made tokio revert its stealable slot), while a task here only waits
//! behind a long poll, which is exactly what the monitor watches for.
//!
//! So the slot is an `AtomicPtr` to a `Notified` reference. With a monitor (a *shared*
//! slot) the worker puts with one `swap` (it needs the previous occupant anyway) and takes
//! with a plain load first, paying the `swap` only when there is something to take; either
//! side's `swap` hands the reference to exactly one owner, so a task is never run twice nor
//! lost. Without a monitor nobody else touches the slot, and the worker uses plain relaxed
//! loads and stores: the two `swap`s per message hop measured 1.4x on `ping_pong`.

use crate::loom::atomic::{AtomicPtr, Ordering::*};
use crate::task_core::raw::Header;
use crate::task_core::Notified;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

pub(crate) struct LifoSlot<S: 'static> {
    task: AtomicPtr<Header>,
    /// Whether anyone but the worker may empty the slot (the runtime has a monitor). When
    /// not, the worker alone touches it, and plain loads and stores do.
    shared: bool,
    _scheduler: PhantomData<S>,
}

impl<S: 'static> LifoSlot<S> {
    pub(crate) fn new(shared: bool) -> LifoSlot<S> {
        LifoSlot {
            task: AtomicPtr::new(ptr::null_mut()),
            shared,
            _scheduler: PhantomData,
        }
    }

    /// Puts `task` in the slot, returning the task it displaced.
    #[inline]
    pub(crate) fn replace(&self, task: Notified<S>) -> Option<Notified<S>> {
        let new = task.into_raw().as_ptr();
        let prev = if self.shared {
            self.task.swap(new, AcqRel)
        } else {
            // Only this worker's thread touches an unshared slot.
            let prev = self.task.load(Relaxed);
            self.task.store(new, Relaxed);
            prev
        };
        // SAFETY: a non-null pointer in the slot is a `Notified` of this scheduler type
        // that was handed over by `into_raw`; the swap (or, unshared, the owner's exclusive
        // access) made us its only owner.
        NonNull::new(prev).map(|prev| unsafe { Notified::from_raw(prev) })
    }

    /// Takes the task in the slot, if any.
    #[inline]
    pub(crate) fn take(&self) -> Option<Notified<S>> {
        // Only the worker puts tasks in: if it sees the slot empty, it is. The monitor may
        // read a stale null and simply looks again on its next round.
        if self.task.load(Relaxed).is_null() {
            return None;
        }
        let prev = if self.shared {
            self.task.swap(ptr::null_mut(), AcqRel)
        } else {
            let prev = self.task.load(Relaxed);
            self.task.store(ptr::null_mut(), Relaxed);
            prev
        };
        // SAFETY: as in `replace`.
        NonNull::new(prev).map(|prev| unsafe { Notified::from_raw(prev) })
    }

    /// Takes the task from another thread: only on a shared slot.
    pub(crate) fn steal(&self) -> Option<Notified<S>> {
        if self.shared {
            self.take()
        } else {
            None
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.task.load(Relaxed).is_null()
    }
}

impl<S: 'static> Drop for LifoSlot<S> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    //! The worker putting and taking while the monitor takes: every task runs exactly once.

    use super::LifoSlot;
    use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::Arc;
    use crate::task_core::loom_support::{notified, Unscheduled};
    use crate::task_core::Notified;
    use loom::thread;

    fn task(runs: &Arc<AtomicUsize>) -> Notified<Unscheduled> {
        let runs = runs.clone();
        notified(async move {
            runs.fetch_add(1, SeqCst);
        })
    }

    #[test]
    fn loom_lifo_slot_worker_and_monitor() {
        loom::model(|| {
            let runs = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(LifoSlot::<Unscheduled>::new(true));
            assert!(slot.replace(task(&runs)).is_none());
            let monitor = {
                let slot = slot.clone();
                thread::spawn(move || {
                    if let Some(task) = slot.steal() {
                        task.run();
                    }
                })
            };
            // The worker wakes a second task while the monitor may be taking the first.
            if let Some(displaced) = slot.replace(task(&runs)) {
                displaced.run();
            }
            if let Some(task) = slot.take() {
                task.run();
            }
            monitor.join().unwrap();
            assert!(slot.is_empty());
            assert_eq!(runs.load(SeqCst), 2, "each task runs exactly once");
        });
    }
}
