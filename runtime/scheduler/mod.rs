//! The schedulers: which thread runs which task, and when.
//!
//! Two flavors share the task, coop and driver code: `multi_thread` (work-stealing, one
//! worker per core by default) and `current_thread` (everything on the thread that calls
//! `block_on`, gevent-style). `local` keeps the current-thread flavor's local tasks
//! (`spawn_local`) on the thread that spawned them.

pub(crate) mod current_thread;
pub(crate) mod defer;
pub(crate) mod inject;
pub(crate) mod local;
pub(crate) mod multi_thread;
pub(crate) mod poll_slot;

use crate::task_core::{JoinHandle, TaskMeta};
use std::future::Future;
use std::sync::Arc;
use std::task::Waker;

/// A cloneable reference to a runtime's scheduler.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

/// The per-thread scheduler context of a thread that runs tasks.
pub(crate) enum Context {
    CurrentThread(current_thread::Context),
    MultiThread(multi_thread::Context),
}

impl Context {
    /// The driver handle of the runtime this thread schedules for.
    pub(crate) fn driver(&self) -> &crate::driver::Handle {
        match self {
            Context::CurrentThread(cx) => cx.driver(),
            Context::MultiThread(cx) => cx.driver(),
        }
    }
}

impl Handle {
    pub(crate) fn spawn<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Handle::CurrentThread(h) => h.spawn(future, meta),
            Handle::MultiThread(h) => h.spawn(future, meta),
        }
    }

    pub(crate) fn driver(&self) -> &crate::driver::Handle {
        match self {
            Handle::CurrentThread(h) => h.driver(),
            Handle::MultiThread(h) => &h.driver.handle,
        }
    }

    /// Each polling thread's poll slot (one for the current-thread flavor), and now, as time
    /// since the epoch their start times count from.
    pub(crate) fn poll_samples(&self) -> (Vec<poll_slot::PollSample>, std::time::Duration) {
        // "Now" is read after the samples, on the clock their starts were read on, so it is
        // never before any of them.
        let (samples, clock) = match self {
            Handle::MultiThread(h) => (
                h.metrics.iter().map(|m| m.slot.sample()).collect(),
                &h.clock,
            ),
            Handle::CurrentThread(h) => (vec![h.slot.sample()], &h.clock),
        };
        (samples, std::time::Duration::from_nanos(clock.now_ns()))
    }

    /// The name of live task `id`, if it has one (local tasks included).
    pub(crate) fn task_name(&self, id: crate::task_core::Id) -> Option<String> {
        match self {
            Handle::CurrentThread(h) => h.owned.name_of(id).or_else(|| {
                let mut name = None;
                h.locals.for_each_task(|t| {
                    if t.id == id {
                        name = Some(t.name.map(str::to_owned));
                    }
                });
                name
            }),
            Handle::MultiThread(h) => h.owned.name_of(id),
        }
        .flatten()
    }

    pub(crate) fn blocking_spawner(&self) -> &crate::blocking::Spawner {
        match self {
            Handle::CurrentThread(h) => &h.blocking,
            Handle::MultiThread(h) => &h.blocking,
        }
    }
}

/// The index of the worker running on this thread (0 for a current-thread runtime's
/// thread); `None` on a thread that runs no scheduler.
#[inline]
pub(crate) fn worker_index() -> Option<usize> {
    crate::context::with_scheduler(|cx| match cx {
        Some(Context::MultiThread(cx)) => Some(cx.index()),
        Some(Context::CurrentThread(_)) => Some(0),
        None => None,
    })
}

/// Whether the scheduler running on this thread has tasks queued to run (only the
/// current-thread flavor, the one whose clock can pause, says).
pub(crate) fn has_ready_tasks() -> bool {
    crate::context::with_scheduler(|cx| match cx {
        Some(Context::CurrentThread(cx)) => cx.has_ready_tasks(),
        _ => false,
    })
}

/// Fires on every `interval`-th tick: the schedulers' "every n polls" checks (injector
/// first, a driver turn) without a `%` by a configured value, which is a `div` on every poll.
#[derive(Debug)]
pub(crate) struct Countdown {
    left: u32,
    interval: u32,
}

impl Countdown {
    /// `interval >= 1` (the builder asserts it): the first tick that fires is the
    /// `interval`-th.
    pub(crate) fn new(interval: u32) -> Countdown {
        Countdown {
            left: interval,
            interval,
        }
    }

    /// Counts one tick; `true` on every `interval`-th.
    #[inline]
    pub(crate) fn tick(&mut self) -> bool {
        self.left -= 1;
        if self.left == 0 {
            self.left = self.interval;
            return true;
        }
        false
    }
}

impl Context {
    pub(crate) fn defer(&self, waker: &Waker) {
        match self {
            Context::CurrentThread(cx) => cx.defer.defer(waker),
            Context::MultiThread(cx) => cx.defer.defer(waker),
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::Countdown;

    #[test]
    fn countdown_fires_on_every_interval_th_tick() {
        for interval in [1, 2, 61] {
            let mut countdown = Countdown::new(interval);
            let fired: Vec<u32> = (1..=3 * interval).filter(|_| countdown.tick()).collect();
            assert_eq!(
                fired,
                [interval, 2 * interval, 3 * interval],
                "interval {interval}"
            );
        }
    }
}
