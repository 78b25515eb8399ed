//! The current-thread scheduler: every task runs on the thread inside `block_on`,
//! gevent-style, switching at each `.await` that would wait.
//!
//! One FIFO run queue local to the driving thread, plus the shared injector for tasks
//! scheduled from other threads (they unpark the driver). The `block_on` future is polled
//! when its waker fired; between polls, up to `event_interval` tasks run before a driver
//! turn. Same task, coop and driver code as the multi-thread flavor.
//!
//! Local tasks (`spawn_local`) are not in the core's queue, which moves with whichever
//! thread drives: each driving thread runs its own set of them beside the core (see
//! `scheduler::local`), one local task in turn with one task of the core while both have
//! work.

use crate::coop;
use crate::driver::{self, Driver};
use crate::runtime_config::Config;
use crate::scheduler::defer::Defer;
use crate::scheduler::inject::Inject;
use crate::scheduler::local::{LocalQueue, LocalRegistry, LocalTasks};
use crate::scheduler::poll_slot::{CoarseClock, PollSlot};
use crate::scheduler::Countdown;
use crate::task_core::{JoinHandle, Notified, OwnedTasks, Schedule, Task, TaskMeta};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

/// The scheduler as the `Runtime` owns it.
pub(crate) struct CurrentThread {
    core: Mutex<Option<Box<Core>>>,
    /// Threads in `block_on` waiting for the core while another thread drives; woken when
    /// the core is handed back so one of them takes the driver over.
    core_waiters: Mutex<Vec<Arc<CoreWaiter>>>,
    handle: Arc<Handle>,
}

/// A thread in `block_on` without the core: woken by its future's waker or by the core's
/// return, whichever comes first.
struct CoreWaiter {
    thread: std::thread::Thread,
    /// Set while it is in `core_waiters`, so repeated waits don't queue it twice.
    queued: AtomicBool,
}

impl Wake for CoreWaiter {
    fn wake(self: Arc<Self>) {
        self.thread.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.thread.unpark();
    }
}

/// Shared state; tasks hold an `Arc` of it.
pub(crate) struct Handle {
    inject: Inject<Arc<Handle>>,
    pub(crate) owned: OwnedTasks<Arc<Handle>>,
    signal: std::sync::Arc<BlockOnSignal>,
    config: Config,
    /// Polls (the count) and the poll under way, for the dump and the monitor.
    pub(crate) slot: PollSlot,
    pub(crate) clock: CoarseClock,
    pub(crate) blocking: crate::blocking::Spawner,
    /// The local tasks, one set per thread that spawned some.
    pub(crate) locals: LocalRegistry,
}

/// Woken by the `block_on` future's waker: marks it ready and unparks the driver.
struct BlockOnSignal {
    woken: AtomicBool,
    driver: driver::Handle,
}

struct Core {
    tasks: VecDeque<Notified<Arc<Handle>>>,
    /// Parity picks local tasks or the rest first (see `next_task`).
    tick: u32,
    /// When the injector goes first (every `global_queue_interval` ticks).
    inject_first: Countdown,
    /// The coarse clock (see `PollSlot`): read after every driver turn.
    now_ns: u64,
    driver: Option<Driver>,
}

/// The driving thread's context, reached by `schedule`.
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
    pub(crate) defer: Defer,
    /// This thread's local tasks, while it drives.
    pub(crate) local: LocalQueue,
}

/// A task to run next: one of the core's, or one of this thread's local tasks.
enum Runnable {
    Task(Notified<Arc<Handle>>),
    Local(Notified<Arc<LocalTasks>>),
}

impl Wake for BlockOnSignal {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.driver.unpark();
    }
}

impl CurrentThread {
    pub(crate) fn new(
        config: Config,
        blocking: crate::blocking::Spawner,
    ) -> std::io::Result<(CurrentThread, Arc<Handle>)> {
        let clock = crate::time::clock::Clock::new(true, config.start_paused);
        // The runtime thread's timer shard, and one for other threads.
        let (driver, driver_handle) = Driver::new(clock, config.io, 2)?;
        let handle = Arc::new(Handle {
            inject: Inject::new(),
            owned: OwnedTasks::new(1),
            signal: std::sync::Arc::new(BlockOnSignal {
                woken: AtomicBool::new(false),
                driver: driver_handle,
            }),
            config,
            slot: PollSlot::default(),
            clock: CoarseClock::new(),
            blocking,
            locals: LocalRegistry::new(),
        });
        let core = Box::new(Core {
            tasks: VecDeque::with_capacity(64),
            tick: 0,
            inject_first: Countdown::new(handle.config.global_queue_interval),
            now_ns: 0,
            driver: Some(driver),
        });
        Ok((
            CurrentThread {
                core: Mutex::new(Some(core)),
                core_waiters: Mutex::new(Vec::new()),
                handle: handle.clone(),
            },
            handle,
        ))
    }

    fn take_core(&self) -> Option<Box<Core>> {
        self.core.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Runs `future` to completion on this thread, running tasks while it waits.
    ///
    /// If another thread is already driving this runtime, `future` is polled on this
    /// thread alone while that thread runs the tasks, and this thread takes the driving
    /// over as soon as the other one hands the core back (otherwise the timers and IO this
    /// future may still wait on would no longer be driven).
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        loop {
            if let Some(core) = self.take_core() {
                return self.drive(core, future);
            }
            if let Some(output) = self.poll_until_core_is_free(future.as_mut()) {
                return output;
            }
        }
    }

    /// Polls `future` on this thread until it completes (`Some`) or the core is free to be
    /// taken (`None`).
    fn poll_until_core_is_free<F: Future>(
        &self,
        mut future: std::pin::Pin<&mut F>,
    ) -> Option<F::Output> {
        let waiter = Arc::new(CoreWaiter {
            thread: std::thread::current(),
            queued: AtomicBool::new(false),
        });
        let waker = Waker::from(waiter.clone());
        let mut cx = TaskContext::from_waker(&waker);
        loop {
            if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return Some(output);
            }
            // Queue first, then look: a core handed back after the look wakes this thread.
            if !waiter.queued.swap(true, Ordering::AcqRel) {
                self.lock_core_waiters().push(waiter.clone());
            }
            if self
                .core
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
            {
                return None;
            }
            // A spurious unpark only costs another poll.
            std::thread::park();
        }
    }

    fn lock_core_waiters(&self) -> std::sync::MutexGuard<'_, Vec<Arc<CoreWaiter>>> {
        self.core_waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts the core back for the next `block_on` and wakes the threads waiting for it.
    fn return_core(&self, core: Box<Core>) {
        *self.core.lock().unwrap_or_else(|e| e.into_inner()) = Some(core);
        let waiters = std::mem::take(&mut *self.lock_core_waiters());
        for waiter in waiters {
            waiter.queued.store(false, Ordering::Release);
            waiter.thread.unpark();
        }
    }

    /// `block_on` with the core: runs tasks and the driver while `future` waits.
    fn drive<F: Future>(&self, core: Box<Core>, future: std::pin::Pin<&mut F>) -> F::Output {
        let local = LocalQueue::new();
        if let Some(set) = self.handle.locals.find_current() {
            local.attach(set);
        }
        let cx = crate::scheduler::Context::CurrentThread(Context {
            handle: self.handle.clone(),
            core: RefCell::new(None),
            defer: Defer::new(),
            local,
        });
        // Hand the core back even if a task's wake or the future panics.
        struct Restore<'a>(&'a CurrentThread, &'a crate::scheduler::Context);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let crate::scheduler::Context::CurrentThread(cx) = self.1 else {
                    unreachable!()
                };
                cx.local.detach(&self.0.handle.locals);
                // Taken out before the borrow ends: waking the waiters must not hold it.
                let core = cx.core.borrow_mut().take();
                if let Some(core) = core {
                    self.0.return_core(core);
                }
            }
        }
        let _restore = Restore(self, &cx);
        crate::context::set_scheduler(&cx, || {
            let crate::scheduler::Context::CurrentThread(cx) = &cx else {
                unreachable!()
            };
            cx.block_on(core, future)
        })
    }

    /// Cancels every task (dropping their futures on this thread) and shuts the driver.
    pub(crate) fn shutdown(&self) {
        let handle = &self.handle;
        handle.inject.close();
        handle.owned.close();
        handle.locals.close();
        let core = self.take_core();
        let cx = crate::scheduler::Context::CurrentThread(Context {
            handle: handle.clone(),
            core: RefCell::new(core),
            defer: Defer::new(),
            local: LocalQueue::new(),
        });
        crate::context::set_scheduler(&cx, || {
            let crate::scheduler::Context::CurrentThread(cx) = &cx else {
                unreachable!()
            };
            handle.owned.shutdown_shards(0, 1);
            // Local tasks: dropped if this thread spawned them, leaked otherwise.
            handle.locals.shutdown();
            // Queued references: their tasks were cancelled above.
            loop {
                let task = cx
                    .core
                    .borrow_mut()
                    .as_mut()
                    .and_then(|c| c.tasks.pop_front());
                match task {
                    Some(task) => drop(task),
                    None => break,
                }
            }
            while let Some(task) = handle.inject.pop() {
                drop(task);
            }
            if let Some(core) = cx.core.borrow_mut().as_mut() {
                if let Some(driver) = core.driver.as_mut() {
                    driver.shutdown();
                }
            }
        });
        debug_assert!(handle.owned.is_empty());
    }
}

impl Context {
    pub(crate) fn driver(&self) -> &driver::Handle {
        self.handle.driver()
    }

    fn block_on<F: Future>(&self, mut core: Box<Core>, future: F) -> F::Output {
        let handle = &self.handle;
        let waker = Waker::from(handle.signal.clone());
        let mut task_cx = TaskContext::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        handle.signal.woken.store(true, Ordering::Release);
        'outer: loop {
            if handle.signal.woken.swap(false, Ordering::AcqRel) {
                *self.core.borrow_mut() = Some(core);
                let res = coop::budget(|| future.as_mut().poll(&mut task_cx));
                core = self.core.borrow_mut().take().expect("core missing");
                if let Poll::Ready(output) = res {
                    *self.core.borrow_mut() = Some(core);
                    return output;
                }
            }
            // Even when the future woke itself (e.g. its coop budget ran out), the tasks
            // and the driver get their turn before it is polled again.
            for _ in 0..handle.config.event_interval {
                core.tick = core.tick.wrapping_add(1);
                let Some(task) = self.next_task(&mut core) else {
                    core = if self.defer.is_empty() {
                        self.park(core, None)
                    } else {
                        self.park(core, Some(Duration::ZERO))
                    };
                    continue 'outer;
                };
                core = self.run_task(core, task);
            }
            core = self.park(core, Some(Duration::ZERO));
        }
    }

    /// Whether a task is queued to run (`time::advance` lets them settle).
    pub(crate) fn has_ready_tasks(&self) -> bool {
        let queued = self
            .core
            .try_borrow()
            .is_ok_and(|core| core.as_ref().is_some_and(|core| !core.tasks.is_empty()));
        queued || !self.handle.inject.is_empty() || self.local.has_ready()
    }

    fn next_task(&self, core: &mut Core) -> Option<Runnable> {
        let local = self.local.attached().is_some();
        // With local tasks, every other tick starts with them, so neither kind starves.
        if local && core.tick % 2 == 0 {
            if let Some(task) = self.local.pop() {
                return Some(Runnable::Local(task));
            }
        }
        let task = if core.inject_first.tick() {
            self.handle.inject.pop().or_else(|| core.tasks.pop_front())
        } else {
            core.tasks.pop_front().or_else(|| self.handle.inject.pop())
        };
        match task {
            Some(task) => Some(Runnable::Task(task)),
            None if local => self.local.pop().map(Runnable::Local),
            None => None,
        }
    }

    fn run_task(&self, core: Box<Core>, task: Runnable) -> Box<Core> {
        let slot = &self.handle.slot;
        let now_ns = core.now_ns;
        *self.core.borrow_mut() = Some(core);
        coop::budget(|| match task {
            Runnable::Task(task) => {
                slot.begin(task.id(), now_ns);
                task.run();
            }
            Runnable::Local(task) => {
                slot.begin(task.id(), now_ns);
                task.run();
            }
        });
        slot.end();
        self.core.borrow_mut().take().expect("core missing")
    }

    /// The runtime this thread drives.
    pub(crate) fn handle(&self) -> &Arc<Handle> {
        &self.handle
    }

    /// Spawns a local task owned by this, the driving, thread.
    pub(crate) fn spawn_local<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        crate::scheduler::local::spawn_attached(&self.handle, &self.local, future, meta)
    }

    /// Parks in the driver (or takes one turn with `Some(ZERO)`), with the core in the
    /// context so wakes on this thread land in the local queue; then wakes the deferred.
    fn park(&self, mut core: Box<Core>, timeout: Option<Duration>) -> Box<Core> {
        let mut driver = core.driver.take().expect("driver missing");
        let must_wait = core.tasks.is_empty() && timeout.is_none();
        *self.core.borrow_mut() = Some(core);
        if must_wait {
            driver.park();
        } else {
            driver.park_timeout(Duration::ZERO);
        }
        self.defer.wake();
        let mut core = self.core.borrow_mut().take().expect("core missing");
        core.driver = Some(driver);
        core.now_ns = self.handle.clock.now_ns();
        core
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
            self.schedule(notified);
        }
        join
    }

    pub(crate) fn driver(&self) -> &driver::Handle {
        &self.signal.driver
    }

    pub(crate) fn polls(&self) -> u64 {
        self.slot.polls()
    }

    pub(crate) fn injector_depth(&self) -> usize {
        self.inject.len()
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        let task = crate::context::with_scheduler(|cx| match cx {
            Some(crate::scheduler::Context::CurrentThread(cx)) if Arc::ptr_eq(&cx.handle, self) => {
                match cx.core.borrow_mut().as_mut() {
                    Some(core) => {
                        core.tasks.push_back(task);
                        None
                    }
                    None => Some(task),
                }
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            self.inject.push(task);
            self.signal.driver.unpark();
        }
    }
}
