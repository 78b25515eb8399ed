//! Local tasks on the current-thread scheduler: `spawn_local`'s futures, which need not be
//! `Send` and so must be polled and dropped only on the thread that spawned them.
//!
//! # Mechanism: one set per (runtime, thread), run only by its thread
//!
//! A current-thread `Runtime` is `Send`: its `block_on` may run on one thread today and on
//! another tomorrow, and it may be dropped anywhere. So local tasks are not tied to the
//! runtime's core (which moves with whoever drives) but to a [`LocalTasks`] set, one per
//! thread that spawned local tasks on this runtime, kept in the runtime's
//! [`LocalRegistry`]. A set has its own owned list and a *remote* queue; its tasks' scheduler
//! is the set itself.
//!
//! - While its thread drives the runtime (inside `block_on`), the set is attached to that
//!   thread's scheduler context ([`LocalQueue`]): a local task woken there goes to the
//!   context's queue, and the loop takes from it in turn with the `Send` tasks.
//! - A wake from anywhere else (another thread, or this thread while it does not drive the
//!   runtime) goes to the set's remote queue and unparks the driver. Only the owner drains
//!   that queue, when it next drives the runtime. A thread driving the runtime in the
//!   meantime never sees these tasks: it runs its own set, if it has one.
//! - Abort from another thread is such a wake: the task is cancelled where it runs, on its
//!   owner, at its next turn.
//! - Runtime shutdown cancels every set's tasks from the thread that shuts down. There the
//!   owner's futures are dropped; those of other threads are leaked (never dropped, never
//!   freed), while their `JoinHandle`s still see the cancellation. `task_core::local` is
//!   the wrapper that makes that choice at the drop itself, so no path can get it wrong.
//!
//! `spawn_local` therefore works only where the task can run: on the thread driving a
//! current-thread runtime (its `block_on` and its tasks), and before `block_on` on a
//! `LocalRuntime`, which is `!Send` so its next `block_on` is on this thread. Anywhere else
//! it panics with a message naming what to use instead: a task that could never run would
//! leave its `JoinHandle` waiting for ever.

use crate::driver;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::Mutex;
use crate::scheduler::{current_thread, Context};
use crate::task_core::{JoinHandle, Notified, OwnedTasks, Schedule, Task, TaskMeta, ThreadKey};
use std::cell::{OnceCell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::sync::OnceLock;

/// The local tasks one thread spawned on one current-thread runtime.
pub(crate) struct LocalTasks {
    owner: ThreadKey,
    owned: OwnedTasks<Arc<LocalTasks>>,
    /// Tasks woken where the owner's queue can't be reached; drained by the owner.
    remote: Mutex<VecDeque<Notified<Arc<LocalTasks>>>>,
    /// Whether `remote` may hold tasks: read without the lock on the owner's every turn.
    has_remote: AtomicBool,
    /// Wakes whichever thread drives the runtime (the owner, if it does).
    driver: driver::Handle,
}

impl LocalTasks {
    fn push_remote(&self, task: Notified<Arc<LocalTasks>>) {
        let mut remote = lock(&self.remote);
        remote.push_back(task);
        self.has_remote.store(true, Ordering::Release);
    }

    fn take_remote(&self, into: &mut VecDeque<Notified<Arc<LocalTasks>>>) {
        if self.has_remote.load(Ordering::Acquire) {
            let mut remote = lock(&self.remote);
            self.has_remote.store(false, Ordering::Relaxed);
            into.append(&mut remote);
        }
    }
}

impl Schedule for Arc<LocalTasks> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        let task = crate::context::with_scheduler(|cx| match cx {
            Some(Context::CurrentThread(cx)) => cx.local.push_if_attached(self, task),
            _ => Some(task),
        });
        if let Some(task) = task {
            self.push_remote(task);
            // A lost unpark would leave the owner parked with the task queued: the driver's
            // waker stays set until the next park returns, so the owner's loop sees it.
            self.driver.unpark();
        }
    }
}

// ===== the owner's run queue =====

/// The local run queue of the thread driving a current-thread runtime: its set's tasks,
/// while that thread drives. Lives in the scheduler context, so only that thread sees it.
pub(crate) struct LocalQueue {
    set: OnceCell<Arc<LocalTasks>>,
    queue: RefCell<VecDeque<Notified<Arc<LocalTasks>>>>,
}

impl LocalQueue {
    pub(crate) fn new() -> LocalQueue {
        LocalQueue {
            set: OnceCell::new(),
            queue: RefCell::new(VecDeque::new()),
        }
    }

    /// Attaches this thread's set; its remote tasks are taken on the next `pop`.
    pub(crate) fn attach(&self, set: Arc<LocalTasks>) -> &Arc<LocalTasks> {
        debug_assert!(set.owner.is_current());
        self.set.get_or_init(|| set)
    }

    pub(crate) fn attached(&self) -> Option<&Arc<LocalTasks>> {
        self.set.get()
    }

    /// Queues `task` here if its set is the attached one; hands it back otherwise.
    fn push_if_attached(
        &self,
        set: &Arc<LocalTasks>,
        task: Notified<Arc<LocalTasks>>,
    ) -> Option<Notified<Arc<LocalTasks>>> {
        match self.set.get() {
            Some(attached) if Arc::ptr_eq(attached, set) => {
                self.queue.borrow_mut().push_back(task);
                None
            }
            _ => Some(task),
        }
    }

    /// Whether a local task is queued here or woken from elsewhere.
    pub(crate) fn has_ready(&self) -> bool {
        self.set.get().is_some_and(|set| {
            !self.queue.borrow().is_empty() || set.has_remote.load(Ordering::Acquire)
        })
    }

    /// The next local task to run, taking the remote queue when this one is empty.
    pub(crate) fn pop(&self) -> Option<Notified<Arc<LocalTasks>>> {
        let set = self.set.get()?;
        let mut queue = self.queue.borrow_mut();
        if queue.is_empty() {
            set.take_remote(&mut queue);
        }
        queue.pop_front()
    }

    /// The driving thread lets go of the runtime: queued tasks wait in the remote queue
    /// for its next `block_on`, and a set with no task left leaves the registry.
    pub(crate) fn detach(&self, registry: &LocalRegistry) {
        let Some(set) = self.set.get() else { return };
        let queued = std::mem::take(&mut *self.queue.borrow_mut());
        if !queued.is_empty() {
            let mut remote = lock(&set.remote);
            remote.extend(queued);
            set.has_remote.store(true, Ordering::Release);
        }
        if set.owned.alive() == 0 {
            // Only the owner adds tasks to its set, and it is here: nothing can be added
            // between this check and the removal.
            registry.remove(set);
        }
    }
}

// ===== the registry =====

/// A current-thread runtime's local-task sets, one per thread that has local tasks on it.
pub(crate) struct LocalRegistry {
    sets: Mutex<Registry>,
    /// Set once a set was ever made: a runtime without local tasks takes no lock.
    used: AtomicBool,
    /// The owner thread of a `LocalRuntime`, whose `spawn_local` works outside `block_on`.
    runtime_owner: OnceLock<ThreadKey>,
    /// Local tasks ever spawned (a counter that orders nothing: std's atomic).
    spawned: std::sync::atomic::AtomicU64,
}

struct Registry {
    sets: Vec<Arc<LocalTasks>>,
    closed: bool,
}

impl LocalRegistry {
    pub(crate) fn new() -> LocalRegistry {
        LocalRegistry {
            sets: Mutex::new(Registry {
                sets: Vec::new(),
                closed: false,
            }),
            used: AtomicBool::new(false),
            runtime_owner: OnceLock::new(),
            spawned: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Marks the runtime as a `LocalRuntime` owned by the calling thread.
    pub(crate) fn set_runtime_owner(&self) {
        let _ = self.runtime_owner.set(ThreadKey::current());
    }

    fn is_runtime_owner(&self) -> bool {
        self.runtime_owner.get().is_some_and(|key| key.is_current())
    }

    /// The calling thread's set, if it has one.
    pub(crate) fn find_current(&self) -> Option<Arc<LocalTasks>> {
        // Only the calling thread makes its own set, so its `used` store is visible here.
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let me = ThreadKey::current();
        lock(&self.sets)
            .sets
            .iter()
            .find(|set| set.owner == me)
            .cloned()
    }

    /// The calling thread's set, made if it has none; after shutdown it is closed, so its
    /// tasks are cancelled as they are spawned.
    fn get_or_create(&self, driver: &driver::Handle) -> Arc<LocalTasks> {
        let me = ThreadKey::current();
        let mut reg = lock(&self.sets);
        if let Some(set) = reg.sets.iter().find(|set| set.owner == me) {
            return set.clone();
        }
        let set = Arc::new(LocalTasks {
            owner: me,
            owned: OwnedTasks::new(1),
            remote: Mutex::new(VecDeque::new()),
            has_remote: AtomicBool::new(false),
            driver: driver.clone(),
        });
        if reg.closed {
            set.owned.close();
        } else {
            // Set under the lock, so a `find_current` of this thread that reads it finds
            // the set too.
            reg.sets.push(set.clone());
            self.used.store(true, Ordering::Relaxed);
        }
        set
    }

    fn remove(&self, set: &Arc<LocalTasks>) {
        lock(&self.sets).sets.retain(|s| !Arc::ptr_eq(s, set));
    }

    /// Shutdown, first step: no set takes new tasks.
    pub(crate) fn close(&self) {
        let mut reg = lock(&self.sets);
        reg.closed = true;
        for set in &reg.sets {
            set.owned.close();
        }
    }

    /// Shutdown, second step: cancels every local task, from the calling thread. The
    /// calling thread's own futures are dropped; other threads' are leaked (see the
    /// module doc).
    pub(crate) fn shutdown(&self) {
        let sets = std::mem::take(&mut lock(&self.sets).sets);
        for set in &sets {
            set.owned.shutdown_shards(0, 1);
        }
        // Queued references: their tasks were cancelled above.
        for set in &sets {
            let queued = std::mem::take(&mut *lock(&set.remote));
            drop(queued);
        }
    }

    /// Local tasks ever spawned.
    pub(crate) fn spawned(&self) -> u64 {
        self.spawned.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_spawn(&self) {
        self.spawned
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Calls `f` with a look at every local task (for the task dump).
    pub(crate) fn for_each_task(&self, mut f: impl FnMut(crate::task_core::TaskView<'_>)) {
        if !self.used.load(Ordering::Relaxed) {
            return;
        }
        // Cloned out, so no shard lock is ever taken under the registry's.
        let sets = lock(&self.sets).sets.clone();
        for set in &sets {
            set.owned.for_each(&mut f);
        }
    }

    /// Local tasks spawned and not yet finished.
    pub(crate) fn alive(&self) -> usize {
        lock(&self.sets).sets.iter().map(|s| s.owned.alive()).sum()
    }
}

fn lock<T>(m: &Mutex<T>) -> crate::loom::MutexGuard<'_, T> {
    // A queue and a list of sets: no invariant a panic could break half-way.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ===== spawning =====

pub(crate) const MULTI_THREAD: &str = "`spawn_local` called on a multi-thread runtime: its \
tasks move between worker threads, so a future that is not `Send` can't run there. Use a \
`LocalRuntime` (`Builder::new_current_thread().build_local()` or \
`#[runtime::main(flavor = \"local\")]`) or a current-thread runtime, or `spawn` with a `Send` \
future";

pub(crate) const BLOCKING: &str = "`spawn_local` called from a `spawn_blocking` job: the \
blocking pool's threads run no tasks. Spawn the local task from the async code that awaits \
the job, or use `Handle::spawn` with a `Send` future";

pub(crate) const NOT_DRIVING: &str = "`spawn_local` called on a thread that is not driving \
the current-thread runtime: a local task runs only on the thread inside the runtime's \
`block_on`. Call it inside `Runtime::block_on` or a task there, or use a `LocalRuntime`, \
whose `spawn_local` also works before `block_on`";

pub(crate) const NO_RUNTIME: &str = "`spawn_local` called outside a runtime: call it inside \
`LocalRuntime::block_on` (or `#[runtime::main(flavor = \"local\")]`), inside a \
current-thread `Runtime::block_on`, or use `LocalRuntime::spawn_local`";

/// Spawns a local task where the calling thread can run it.
///
/// # Panics
///
/// Where it could not run: with one of the messages above.
#[track_caller]
pub(crate) fn spawn<F>(future: F, meta: TaskMeta) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    enum Where {
        Driving,
        MultiThread,
        Elsewhere,
    }
    let at = crate::context::with_scheduler(|cx| match cx {
        Some(Context::CurrentThread(_)) => Where::Driving,
        Some(Context::MultiThread(_)) => Where::MultiThread,
        None => Where::Elsewhere,
    });
    match at {
        Where::Driving => crate::context::with_scheduler(|cx| match cx {
            Some(Context::CurrentThread(cx)) => cx.spawn_local(future, meta),
            _ => unreachable!("checked above"),
        }),
        Where::MultiThread => panic!("{MULTI_THREAD}"),
        Where::Elsewhere => {
            if crate::blocking::in_blocking_job() {
                panic!("{BLOCKING}");
            }
            let handle = crate::context::try_with_current_handle(|h| h.inner.clone());
            match handle {
                Some(crate::scheduler::Handle::CurrentThread(h)) => {
                    if !h.locals.is_runtime_owner() {
                        panic!("{NOT_DRIVING}");
                    }
                    spawn_remote(&h, future, meta)
                }
                Some(crate::scheduler::Handle::MultiThread(_)) => panic!("{MULTI_THREAD}"),
                None => panic!("{NO_RUNTIME}"),
            }
        }
    }
}

/// Spawns into the calling thread's set of the runtime of `handle` (a `LocalRuntime`, on
/// its owner thread): queued here if this thread drives it now, else kept for its next
/// `block_on`.
pub(crate) fn spawn_on<F>(
    handle: &Arc<current_thread::Handle>,
    future: F,
    meta: TaskMeta,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let driving = crate::context::with_scheduler(|cx| match cx {
        Some(Context::CurrentThread(cx)) => Arc::ptr_eq(cx.handle(), handle),
        _ => false,
    });
    if driving {
        crate::context::with_scheduler(|cx| match cx {
            Some(Context::CurrentThread(cx)) => cx.spawn_local(future, meta),
            _ => unreachable!("checked above"),
        })
    } else {
        spawn_remote(handle, future, meta)
    }
}

/// Spawns into the calling thread's set from outside `block_on` (a `LocalRuntime` on its
/// owner thread): the task waits in the remote queue for the next `block_on` here.
fn spawn_remote<F>(
    handle: &Arc<current_thread::Handle>,
    future: F,
    meta: TaskMeta,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let set = handle.locals.get_or_create(handle.driver());
    handle.locals.count_spawn();
    let (join, notified) = set
        .owned
        .bind_local(future, set.clone(), meta.with_kind("local"));
    if let Some(notified) = notified {
        set.push_remote(notified);
    }
    join
}

/// Spawns into the driving thread's set and queue.
pub(crate) fn spawn_attached<F>(
    handle: &Arc<current_thread::Handle>,
    local: &LocalQueue,
    future: F,
    meta: TaskMeta,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let set = match local.attached() {
        Some(set) => set,
        None => local.attach(handle.locals.get_or_create(handle.driver())),
    };
    handle.locals.count_spawn();
    let (join, notified) = set
        .owned
        .bind_local(future, set.clone(), meta.with_kind("local"));
    if let Some(notified) = notified {
        local.queue.borrow_mut().push_back(notified);
    }
    join
}
