//! The pool's threads: submitting a job, spawning a thread, the job loop, shutdown.
//!
//! See the module above for the design; a `SegQueue` holds the jobs and `idle` the counts.

use super::idle::{Assign, Enter, Idle, Sleeper, Wait, MAX_THREADS};
use crate::coop;
use crate::loom::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use crate::loom::{Arc, Condvar, Mutex, MutexGuard};
use crate::runtime_config::Config;
use crate::task_core::{self as task, JoinHandle, Notified, Schedule, Task, TaskMeta};
use crate::time::driver::BlockingJob;
use crate::Handle;
use runtime_primitives::internal::SegQueue;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A queued job; on a runtime whose clock can pause it also counts as in flight (holding
/// off auto-advance) until it has run or been cancelled, and its joiner was woken.
struct Job {
    task: Notified<BlockingSchedule>,
    _in_flight: Option<BlockingJob>,
}

impl Job {
    fn run(self) {
        self.task.run();
    }

    fn cancel_and_run(self) {
        self.task.cancel_and_run();
    }

    /// No thread can run it: its handle reports a spawn failure carrying `err`.
    fn fail(self, err: io::Error) {
        self.task.fail_and_run(err);
    }
}

/// An `io::Error` like `err`, for each of several jobs failed by one failed thread spawn.
fn copy_error(err: &io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(err.kind(), err.to_string()),
    }
}

/// A thread out of work looks for a claim this long before it parks, calling `yield_now`
/// in between. A job submitted meanwhile costs its submitter no system call, and under a
/// flood of submits most claims are taken that way. Yielding rather than busy-looping
/// hands the core to whoever is runnable, such as the task woken by the job just done,
/// which then submits its next job without waiting for an idle core to wake up.
const SPIN_FOR: Duration = Duration::from_micros(50);
/// Awake waiting threads beyond which a thread parks at once.
const MAX_SPINNERS: usize = 16;

/// Submits jobs to the pool; cloneable.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    queue: SegQueue<Job>,
    idle: Idle,
    max_threads: usize,
    /// Threads started and not yet past their stop callback: what shutdown waits for.
    alive: Mutex<usize>,
    /// Signalled when `alive` drops.
    exited: Condvar,
    next_thread_id: AtomicUsize,
    /// A spawn failed while jobs waited: retry when a thread picks up its next job.
    retry_spawn: AtomicBool,
    /// Fault injection: this many coming spawns fail as if the OS refused (`EAGAIN`).
    failing_spawns: AtomicUsize,
    config: Config,
}

/// Blocking jobs are never rescheduled and live in no owned list.
pub(crate) struct BlockingSchedule;

impl Schedule for BlockingSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }

    fn schedule(&self, task: Notified<Self>) {
        // A job is queued once and completes in its single poll: nothing ever wakes it
        // into a queue again. Dropping the reference keeps the count right regardless.
        debug_assert!(false, "a blocking job was rescheduled");
        drop(task);
    }
}

/// Runs the closure once, in its single poll, without a coop budget.
struct BlockingTask<F>(Option<F>);

// The closure is moved out, never pinned in place.
impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("blocking job polled twice");
        let output = {
            let _unconstrained = coop::Unconstrained::enter();
            f()
        };
        if !std::mem::needs_drop::<R>() {
            job_returned();
        }
        Poll::Ready(output)
    }
}

/// Where a pool thread is in its current job.
#[derive(Clone, Copy)]
enum Running {
    /// Not running a job of this pool.
    No,
    /// Running a job of the pool behind the pointer; the thread holds an `Arc` to it.
    Job(*const Inner),
    /// The job's closure returned and the thread already counts as waiting.
    Waiting,
    /// As `Waiting`, but the pool shuts down: the thread is counted out.
    Exited,
}

thread_local! {
    static RUNNING: Cell<Running> = const { Cell::new(Running::No) };
}

/// Whether the calling thread is running a blocking job's closure (for `spawn_local`'s
/// message: no task can run on this thread).
pub(crate) fn in_blocking_job() -> bool {
    RUNNING.with(|running| matches!(running.get(), Running::Job(_)))
}

/// The closure of a job returned. If the queue is empty, its thread starts waiting now,
/// before the job completes and wakes its joiner: a joiner that submits its next job at
/// once then finds this thread waiting instead of spawning another.
///
/// Only for outputs without drop glue: completing then runs no code of the user's (a
/// detached job's output is dropped during completion, and a drop that waited for another
/// blocking job could wait for this very thread, counted idle).
fn job_returned() {
    RUNNING.with(|running| {
        if let Running::Job(inner) = running.get() {
            // SAFETY: set by `Spawner::run` for the span of `job.run()`, during which that
            // thread holds an `Arc<Inner>`; this is that thread and that span.
            let inner = unsafe { &*inner };
            if inner.queue.is_empty() {
                running.set(match inner.idle.enter() {
                    Enter::Waiting => Running::Waiting,
                    Enter::Busy => Running::No,
                    Enter::Exit => Running::Exited,
                });
            }
        }
    });
}

impl Spawner {
    pub(crate) fn new(config: Config) -> Spawner {
        Spawner {
            inner: Arc::new(Inner {
                queue: SegQueue::new(),
                idle: Idle::new(),
                max_threads: config.max_blocking_threads.min(MAX_THREADS),
                alive: Mutex::new(0),
                exited: Condvar::new(),
                next_thread_id: AtomicUsize::new(0),
                retry_spawn: AtomicBool::new(false),
                failing_spawns: AtomicUsize::new(0),
                config,
            }),
        }
    }

    /// The configuration the runtime was built with.
    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Queues `f`. During or after shutdown the job never runs and its handle reports a
    /// cancelled job; so does it when no pool thread exists and none can be spawned.
    pub(crate) fn spawn_blocking<F, R>(&self, rt: &Handle, f: F, meta: TaskMeta) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = meta.with_kind("blocking");
        let (task, notified, join) = task::new_task(BlockingTask(Some(f)), BlockingSchedule, meta);
        drop(task);
        let in_flight = rt.inner.driver().time.blocking_job();
        self.inner.queue.push(Job {
            task: notified,
            _in_flight: in_flight,
        });
        self.assign(rt);
        join
    }

    /// Stops the pool: queued jobs are cancelled, idle threads exit, and this waits for
    /// running jobs, at most `timeout`. Called from one of the pool's own jobs (the
    /// runtime dropped inside it), it doesn't wait for that job.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let inner = &self.inner;
        inner.idle.shutdown();
        inner.cancel_queued();
        let own = match RUNNING.get() {
            Running::Job(pool) if std::ptr::eq(pool, &**inner) => 1,
            _ => 0,
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut alive = inner.lock_alive();
        while *alive > own || inner.idle.load().threads() > own {
            alive = match deadline {
                None => inner.exited.wait(alive).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return;
                    }
                    inner
                        .exited
                        .wait_timeout(alive, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// `(threads, idle threads, busy threads, queued jobs)`.
    pub(crate) fn counts(&self) -> (usize, usize, usize, usize) {
        let s = self.inner.idle.load();
        let busy = s.threads().saturating_sub(s.waiting());
        (s.threads(), s.waiting(), busy, self.inner.queue.len())
    }

    /// Fault injection: the next `n` thread spawns fail as if the OS refused them.
    pub(crate) fn fail_spawns(&self, n: usize) {
        self.inner.failing_spawns.store(n, SeqCst);
    }

    /// Makes sure a thread will pop the job just pushed.
    fn assign(&self, rt: &Handle) {
        let inner = &self.inner;
        match inner.idle.claim(inner.max_threads) {
            Assign::Claimed | Assign::Full => {}
            Assign::Wake => inner.idle.wake_one(),
            Assign::Spawn => self.spawn_thread(rt),
            Assign::Shutdown => inner.cancel_queued(),
        }
    }

    /// Spawns a thread already counted in `threads`.
    fn spawn_thread(&self, rt: &Handle) {
        let inner = &self.inner;
        *inner.lock_alive() += 1;
        let Err(err) = self.try_spawn(rt) else {
            return;
        };
        let (assign, after) = inner.idle.spawn_failed();
        inner.thread_exited();
        inner.retry_spawn.store(true, SeqCst);
        if assign == Assign::Wake {
            inner.idle.wake_one();
        }
        // With a thread left, a waiting one was claimed or a busy one pops the job when it
        // is done with its own (and retries the spawn then). With none, nothing ever would:
        // fail the queued jobs now, with the spawn's error, unless a spawn meanwhile
        // succeeded.
        if after.threads() == 0 {
            while inner.idle.load().threads() == 0 {
                match inner.queue.pop() {
                    Some(job) => job.fail(copy_error(&err)),
                    None => break,
                }
            }
        }
    }

    fn try_spawn(&self, rt: &Handle) -> io::Result<()> {
        let inner = &self.inner;
        if inner
            .failing_spawns
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            // What `pthread_create` reports at a thread or memory limit.
            return Err(io::Error::from_raw_os_error(libc::EAGAIN));
        }
        let id = inner.next_thread_id.fetch_add(1, Relaxed);
        let mut builder =
            std::thread::Builder::new().name(format!("{}-blocking-{id}", inner.config.thread_name));
        if let Some(size) = inner.config.thread_stack_size {
            builder = builder.stack_size(size);
        }
        let (pool, rt) = (self.clone(), rt.clone());
        builder.spawn(move || pool.run(&rt)).map(drop)
    }

    /// A pool thread: runs jobs, waits for more, exits on keep-alive or shutdown.
    fn run(&self, rt: &Handle) {
        let inner = &*self.inner;
        let config = &inner.config;
        if let Some(f) = &config.on_thread_start {
            crate::util::run_thread_callback(f);
        }
        let current = crate::context::set_current(rt);
        let me = Sleeper::current();
        'jobs: loop {
            if let Some(job) = inner.queue.pop() {
                if inner.idle.is_shutdown() {
                    job.cancel_and_run();
                    continue;
                }
                if inner.retry_spawn.load(Relaxed)
                    && !inner.queue.is_empty()
                    && inner.retry_spawn.swap(false, SeqCst)
                {
                    self.assign(rt);
                }
                RUNNING.set(Running::Job(inner));
                job.run();
                match RUNNING.replace(Running::No) {
                    Running::Waiting => {}
                    Running::Exited => break 'jobs,
                    Running::No | Running::Job(_) => continue 'jobs,
                }
            } else {
                match inner.idle.enter() {
                    Enter::Waiting => {}
                    Enter::Busy => continue 'jobs,
                    Enter::Exit => break 'jobs,
                }
            }
            // Waiting: counted idle until a submitter claims us (or another waiting thread).
            // No deadline if the keep-alive is too long to add to an `Instant`.
            let keep_alive = || Instant::now().checked_add(config.thread_keep_alive);
            let mut deadline = keep_alive();
            loop {
                match inner.spin() {
                    Some(Wait::Job) => continue 'jobs,
                    Some(Wait::Exit) => break 'jobs,
                    Some(Wait::Woken) | None => {}
                }
                match inner.idle.park(&me, deadline) {
                    Wait::Job => continue 'jobs,
                    Wait::Exit => break 'jobs,
                    Wait::Woken => deadline = keep_alive(),
                }
            }
        }
        drop(current);
        if let Some(f) = &config.on_thread_stop {
            crate::util::run_thread_callback(f);
        }
        inner.thread_exited();
    }
}

impl Inner {
    fn lock_alive(&self) -> MutexGuard<'_, usize> {
        self.alive.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels every queued job: each handle reports a cancelled job.
    fn cancel_queued(&self) {
        while let Some(job) = self.queue.pop() {
            job.cancel_and_run();
        }
    }

    fn thread_exited(&self) {
        *self.lock_alive() -= 1;
        self.exited.notify_all();
    }

    /// Looks for a claim for a short while before parking; `None` if none came.
    fn spin(&self) -> Option<Wait> {
        if let Some(wait) = self.idle.try_take() {
            return Some(wait);
        }
        if self.idle.load().awake() > MAX_SPINNERS {
            return None;
        }
        let until = Instant::now() + SPIN_FOR;
        loop {
            std::thread::yield_now();
            if let Some(wait) = self.idle.try_take() {
                return Some(wait);
            }
            if Instant::now() >= until {
                return None;
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Jobs still queued (none after a shutdown) must not leave their handles waiting.
        self.cancel_queued();
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (threads, idle, busy, queued) = self.counts();
        f.debug_struct("BlockingPool")
            .field("threads", &threads)
            .field("idle", &idle)
            .field("busy", &busy)
            .field("queued", &queued)
            .finish()
    }
}
