//! The work-stealing workers.
//!
//! Each worker owns a [`Core`]: its local ring (`queue`), a LIFO slot, its parker and
//! counters. A worker's loop:
//!
//! 1. every `global_queue_interval` ticks it takes from the injector first (fairness for
//!    remote spawns), otherwise from its local ring, then the injector (in batches);
//! 2. a task woken by the running task goes to the LIFO slot and runs next on the same
//!    worker (message-passing latency), sharing the waker's budget; at most
//!    [`MAX_LIFO_POLLS_PER_TICK`] LIFO polls in a row, so two tasks ping-ponging through
//!    the slot can't starve the ring;
//! 3. with nothing local it searches: steals half of a random victim's ring, then takes a
//!    batch from the injector — if fewer than half the workers already search (`idle`);
//! 4. with nothing anywhere it parks (in the driver if free, see `park`), after a driver
//!    turn that wakes the tasks deferred by `yield_now`;
//! 5. every `event_interval` ticks it does a driver turn even when busy, so IO and
//!    deferred yields keep moving under load.
//!
//! The LIFO slot (`lifo`) is not stolen by other workers; a task in it waits for its
//! worker's current poll to end. When that poll runs long, the blocking-poll monitor
//! (`diag::monitor`, on with `Builder::warn_on_blocking`) moves the slot's task to the
//! injector and wakes a worker, which also steals the stuck worker's ring: nothing waits
//! behind a blocked worker. Each poll writes the worker's [`PollSlot`] (task id, coarse
//! start time) for the monitor and the task dump.

use crate::coop;
use crate::loom::atomic::{AtomicU64, Ordering::Relaxed};
use crate::runtime_config::Config;
use crate::scheduler::defer::Defer;
use crate::scheduler::inject::Inject;
use crate::scheduler::multi_thread::idle::Idle;
use crate::scheduler::multi_thread::lifo::LifoSlot;
use crate::scheduler::multi_thread::park::{DriverShared, Parker, Unparker};
use crate::scheduler::multi_thread::queue::{self, Overflow};
use crate::scheduler::poll_slot::{CoarseClock, PollSlot};
use crate::scheduler::Countdown;
use crate::task_core::{JoinHandle, Notified, OwnedTasks, Schedule, Task, TaskMeta};
use crate::util::{CachePadded, FastRand};
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

/// LIFO polls in a row before the worker goes back to its ring.
const MAX_LIFO_POLLS_PER_TICK: usize = 3;

/// The multi-thread scheduler's shared state; tasks hold an `Arc` of it.
pub(crate) struct Handle {
    pub(super) remotes: Box<[Remote]>,
    pub(super) inject: Inject<Arc<Handle>>,
    pub(super) idle: Idle,
    pub(crate) owned: OwnedTasks<Arc<Handle>>,
    pub(crate) driver: Arc<DriverShared>,
    pub(super) config: Config,
    pub(crate) metrics: Box<[CachePadded<WorkerMetrics>]>,
    /// The epoch of the workers' coarse clocks (see `PollSlot`).
    pub(crate) clock: CoarseClock,
    /// Cores of workers that reached shutdown; the last one in finishes it.
    #[allow(clippy::vec_box)] // cores move between threads as boxes; no copy at the end
    shutdown_cores: Mutex<Vec<Box<Core>>>,
    pub(crate) blocking: crate::blocking::Spawner,
}

pub(super) struct Remote {
    steal: queue::Steal<Notified<Arc<Handle>>>,
    /// On a line of its own: its worker writes it on nearly every wake, and the workers'
    /// `Remote`s sit side by side.
    lifo: CachePadded<LifoSlot<Arc<Handle>>>,
    unpark: Unparker,
}

/// Counters written by one worker only (plain load + store, no lock prefix).
#[derive(Default)]
pub(crate) struct WorkerMetrics {
    /// Polls (the count) and the poll under way, for the dump and the monitor.
    pub(crate) slot: PollSlot,
    pub(crate) steals: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed) + n, Relaxed);
}

/// What only the worker thread touches.
pub(super) struct Core {
    index: usize,
    /// When the injector goes first (every `global_queue_interval` ticks).
    inject_first: Countdown,
    /// When a busy worker takes a driver turn (every `event_interval` ticks).
    driver_turn: Countdown,
    /// The coarse clock: read after every park or driver turn, stamped on each poll.
    now_ns: u64,
    lifo_enabled: bool,
    run_queue: queue::Local<Notified<Arc<Handle>>>,
    is_searching: bool,
    is_shutdown: bool,
    park: Option<Parker>,
    rand: FastRand,
}

/// The worker's thread-local context: set while its thread runs, reached by `schedule`.
pub(crate) struct Context {
    index: usize,
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
    pub(crate) defer: Defer,
}

/// Builds the shared handle and one core per worker.
#[allow(clippy::vec_box)]
pub(super) fn create(
    config: Config,
    driver: Arc<DriverShared>,
    blocking: crate::blocking::Spawner,
) -> (Arc<Handle>, Vec<Box<Core>>) {
    let n = config.worker_threads;
    let mut cores = Vec::with_capacity(n);
    let mut remotes = Vec::with_capacity(n);
    for i in 0..n {
        let (steal, run_queue) = queue::local();
        let park = Parker::new(driver.clone());
        remotes.push(Remote {
            steal,
            lifo: CachePadded::new(LifoSlot::new(config.monitor.is_some())),
            unpark: park.unparker(),
        });
        cores.push(Box::new(Core {
            index: i,
            inject_first: Countdown::new(config.global_queue_interval),
            driver_turn: Countdown::new(config.event_interval),
            now_ns: 0,
            lifo_enabled: true,
            run_queue,
            is_searching: false,
            is_shutdown: false,
            park: Some(park),
            rand: FastRand::new(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1)),
        }));
    }
    let handle = Arc::new(Handle {
        remotes: remotes.into_boxed_slice(),
        inject: Inject::new(),
        idle: Idle::new(n),
        owned: OwnedTasks::new(n * 16),
        driver,
        metrics: (0..n).map(|_| CachePadded::default()).collect(),
        clock: CoarseClock::new(),
        config,
        shutdown_cores: Mutex::new(Vec::with_capacity(n)),
        blocking,
    });
    (handle, cores)
}

/// Runs worker `index` on the current thread until shutdown.
pub(super) fn run(handle: Arc<Handle>, index: usize, core: Box<Core>) {
    let cx = crate::scheduler::Context::MultiThread(Context {
        index,
        handle: handle.clone(),
        core: RefCell::new(None),
        defer: Defer::new(),
    });
    crate::context::set_scheduler(&cx, || {
        let crate::scheduler::Context::MultiThread(cx) = &cx else {
            unreachable!()
        };
        let core = cx.run(core);
        cx.handle.shutdown_core(core);
    });
}

impl Context {
    fn run(&self, mut core: Box<Core>) -> Box<Core> {
        while !core.is_shutdown {
            core = self.maintenance(core);
            if let Some(task) = self.next_task(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            if !self.defer.is_empty() {
                // Our own yielders are waiting on a driver turn: take it and run them
                // here, where they are cache-warm, rather than steal someone else's.
                core = self.park_timeout(core, Some(Duration::ZERO));
            } else if let Some(task) = self.steal_work(&mut core) {
                core = self.run_task(task, core);
            } else {
                core = self.park(core);
            }
        }
        core
    }

    fn next_task(&self, core: &mut Core) -> Option<Notified<Arc<Handle>>> {
        if core.inject_first.tick() {
            if let Some(task) = self.handle.inject.pop() {
                return Some(task);
            }
            return self.next_local_task(core);
        }
        if let Some(task) = self.next_local_task(core) {
            return Some(task);
        }
        self.take_from_inject(core)
    }

    /// Takes a fair share of the injector: one to run, the rest into the ring.
    fn take_from_inject(&self, core: &mut Core) -> Option<Notified<Arc<Handle>>> {
        let inject = &self.handle.inject;
        if inject.is_empty() {
            return None;
        }
        let workers = self.handle.remotes.len();
        let share = inject.len() / workers + 1;
        let n = share.min(core.run_queue.remaining_slots() / 2).max(1);
        let mut batch = inject.pop_n(n).into_iter();
        let first = batch.next()?;
        core.run_queue.push_back_batch(batch);
        Some(first)
    }

    fn steal_work(&self, core: &mut Core) -> Option<Notified<Arc<Handle>>> {
        if !core.is_searching {
            if !self.handle.idle.transition_worker_to_searching() {
                return None;
            }
            core.is_searching = true;
        }
        let n = self.handle.remotes.len();
        let start = core.rand.below(n as u32) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            if let Some(task) = self.handle.remotes[victim]
                .steal
                .steal_into(&mut core.run_queue)
            {
                bump(&self.handle.metrics[self.index].steals, 1);
                return Some(task);
            }
        }
        self.take_from_inject(core)
    }

    fn run_task(&self, task: Notified<Arc<Handle>>, mut core: Box<Core>) -> Box<Core> {
        if core.is_searching {
            core.is_searching = false;
            // The last searcher found work: wake another worker to keep searching, since
            // more work may follow.
            if self.handle.idle.transition_worker_from_searching() {
                self.handle.notify_parked();
            }
        }
        core.lifo_enabled = true;
        let slot = &self.handle.metrics[self.index].slot;
        let lifo = self.lifo();
        let now_ns = core.now_ns;
        *self.core.borrow_mut() = Some(core);
        coop::budget(|| {
            // Counted before the poll, so a task's completion is never observed before
            // its poll is.
            slot.begin(task.id(), now_ns);
            task.run();
            slot.end();
            let mut lifo_polls = 0;
            loop {
                let mut core = self.core.borrow_mut().take().expect("core missing");
                let Some(task) = lifo.take() else {
                    return core;
                };
                if !coop::has_budget_remaining() {
                    // The turn's budget is spent: the LIFO task waits its turn in the ring.
                    core.run_queue
                        .push_back_or_overflow(task, &self.handle.inject_overflow());
                    return core;
                }
                lifo_polls += 1;
                if lifo_polls >= MAX_LIFO_POLLS_PER_TICK {
                    core.lifo_enabled = false;
                }
                *self.core.borrow_mut() = Some(core);
                slot.begin(task.id(), now_ns);
                task.run();
                slot.end();
            }
        })
    }

    fn maintenance(&self, mut core: Box<Core>) -> Box<Core> {
        if core.driver_turn.tick() {
            core = self.park_timeout(core, Some(Duration::ZERO));
            if !core.is_shutdown {
                core.is_shutdown = self.handle.inject.is_closed();
            }
        }
        core
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        if !self.transition_to_parked(&mut core) {
            return core;
        }
        while !core.is_shutdown {
            core = self.park_timeout(core, None);
            core.is_shutdown = self.handle.inject.is_closed();
            if self.transition_from_parked(&mut core) {
                break;
            }
        }
        core
    }

    /// Parks (or, with `Some(ZERO)`, takes one driver turn) with the core in the context,
    /// so tasks woken meanwhile on this thread land in its queue; then wakes the deferred.
    fn park_timeout(&self, mut core: Box<Core>, timeout: Option<Duration>) -> Box<Core> {
        let mut park = core.park.take().expect("parker missing");
        *self.core.borrow_mut() = Some(core);
        let was_in_driver = match timeout {
            Some(timeout) => {
                park.park_timeout(timeout);
                false
            }
            None => park.park(),
        };
        self.defer.wake();
        let mut core = self.core.borrow_mut().take().expect("core missing");
        core.park = Some(park);
        core.now_ns = self.handle.clock.now_ns();
        let has_tasks = !self.lifo().is_empty() || !core.run_queue.is_empty();
        if core.run_queue.len() > 1 || (was_in_driver && has_tasks) {
            // Woken tasks piled up here, or we leave the driver to run tasks: wake a
            // sleeper, which takes some of them or parks in the driver in our place, so
            // a long poll on this thread can't hold up everyone's IO and timers.
            self.handle.notify_parked();
        }
        core
    }

    fn transition_to_parked(&self, core: &mut Core) -> bool {
        if !self.lifo().is_empty() || !core.run_queue.is_empty() {
            return false;
        }
        let was_last_searcher = self
            .handle
            .idle
            .transition_worker_to_parked(self.index, core.is_searching);
        core.is_searching = false;
        if was_last_searcher {
            // A task pushed while we searched may have woken nobody: look once more.
            self.handle.notify_if_work_pending();
        }
        true
    }

    fn transition_from_parked(&self, core: &mut Core) -> bool {
        if !self.lifo().is_empty() || !core.run_queue.is_empty() {
            // Woken by our own driver turn, not by a notifier: leave the sleepers list.
            core.is_searching = !self.handle.idle.unpark_worker_by_id(self.index);
            return true;
        }
        if self.handle.idle.is_parked(self.index) {
            return false;
        }
        // A notifier took us off the list and counted us as searching.
        core.is_searching = true;
        true
    }

    /// Schedules from this worker's thread.
    fn schedule_local(
        &self,
        task: Notified<Arc<Handle>>,
        is_yield: bool,
    ) -> Result<(), Notified<Arc<Handle>>> {
        let mut slot = self.core.borrow_mut();
        let Some(core) = slot.as_mut() else {
            return Err(task);
        };
        if core.is_shutdown {
            return Err(task);
        }
        let should_notify = if is_yield || !core.lifo_enabled {
            core.run_queue
                .push_back_or_overflow(task, &self.handle.inject_overflow());
            true
        } else {
            match self.lifo().replace(task) {
                Some(prev) => {
                    core.run_queue
                        .push_back_or_overflow(prev, &self.handle.inject_overflow());
                    true
                }
                None => false,
            }
        };
        // Only notify while working (the parker is present): a parking worker will look at
        // its own queue when it wakes.
        if should_notify && core.park.is_some() {
            drop(slot);
            self.handle.notify_parked();
        }
        Ok(())
    }
}

impl Context {
    pub(crate) fn driver(&self) -> &crate::driver::Handle {
        &self.handle.driver.handle
    }

    /// This worker's index (0 to `worker_threads - 1`).
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn lifo(&self) -> &LifoSlot<Arc<Handle>> {
        &self.handle.remotes[self.index].lifo
    }

    /// The LIFO slot first: a task woken while this worker parked may sit there.
    fn next_local_task(&self, core: &mut Core) -> Option<Notified<Arc<Handle>>> {
        self.lifo().take().or_else(|| core.run_queue.pop())
    }
}

impl Handle {
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.owned.bind(future, self.clone(), meta);
        if let Some(notified) = notified {
            self.schedule_task(notified, false);
        }
        join
    }

    fn schedule_task(self: &Arc<Self>, task: Notified<Arc<Handle>>, is_yield: bool) {
        let task = match crate::context::with_scheduler(|cx| match cx {
            Some(crate::scheduler::Context::MultiThread(cx)) if Arc::ptr_eq(&cx.handle, self) => {
                cx.schedule_local(task, is_yield)
            }
            _ => Err(task),
        }) {
            Ok(()) => return,
            Err(task) => task,
        };
        self.inject.push(task);
        self.notify_parked();
    }

    pub(super) fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unpark.unpark();
        }
    }

    fn notify_if_work_pending(&self) {
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// Begins shutdown: refuses new work and wakes every worker to wind down.
    pub(crate) fn shutdown(&self) {
        if self.inject.close() {
            self.owned.close();
            for remote in self.remotes.iter() {
                remote.unpark.unpark();
            }
        }
    }

    /// A worker left its loop: cancel its share of the tasks, then the last one out drains
    /// every queue and shuts the driver down.
    fn shutdown_core(&self, mut core: Box<Core>) {
        let n = self.remotes.len();
        let index = self
            .shutdown_cores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        self.owned.shutdown_shards(index % n, n);
        // Drop what is queued locally: those tasks are cancelled through the owned list.
        drop(self.remotes[core.index].lifo.take());
        while let Some(task) = core.run_queue.pop() {
            drop(task);
        }
        let mut cores = self
            .shutdown_cores
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cores.push(core);
        if cores.len() != n {
            return;
        }
        // Last worker out: whatever the others' cancellations woke meanwhile.
        self.owned.shutdown_shards(0, 1);
        for remote in self.remotes.iter() {
            drop(remote.lifo.take());
        }
        for core in cores.iter_mut() {
            while let Some(task) = core.run_queue.pop() {
                drop(task);
            }
        }
        while let Some(task) = self.inject.pop() {
            drop(task);
        }
        debug_assert!(self.owned.is_empty());
        self.driver.shutdown();
    }

    /// Worker `index` is stuck inside one poll (the blocking-poll monitor saw it): its
    /// LIFO task goes to the injector, and a parked worker is woken to take it and to
    /// steal from the stuck worker's ring. Returns whether anything was waiting.
    pub(crate) fn rescue(&self, index: usize) -> bool {
        let lifo = self.remotes[index].lifo.steal();
        let had_lifo = lifo.is_some();
        if let Some(task) = lifo {
            self.inject.push(task);
        }
        let waiting = had_lifo || !self.remotes[index].steal.is_empty();
        if waiting {
            self.notify_parked();
        }
        waiting
    }

    fn inject_overflow(&self) -> InjectOverflow<'_> {
        InjectOverflow(&self.inject)
    }

    pub(crate) fn metrics_totals(&self) -> (u64, u64) {
        self.metrics.iter().fold((0, 0), |(p, s), m| {
            (p + m.slot.polls(), s + m.steals.load(Relaxed))
        })
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    pub(crate) fn injector_depth(&self) -> usize {
        self.inject.len()
    }
}

struct InjectOverflow<'a>(&'a Inject<Arc<Handle>>);

impl Overflow<Notified<Arc<Handle>>> for InjectOverflow<'_> {
    fn push(&self, task: Notified<Arc<Handle>>) {
        self.0.push(task);
    }
    fn push_batch(&self, tasks: impl Iterator<Item = Notified<Arc<Handle>>>) {
        self.0.push_batch(tasks);
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.schedule_task(task, true);
    }
}
