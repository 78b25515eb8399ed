//! The pool's threads and queue.
//!
//! One mutex guards the queue and the thread counts; a condvar wakes idle threads. At
//! shutdown, queued jobs that never started are cancelled (their handles report
//! `is_cancelled`), running jobs are waited for (bounded by `shutdown_timeout`), and a
//! job submitted afterwards is cancelled at once.

use crate::scheduler::coop;
use crate::task::{self, JoinHandle, Notified, Schedule, Task, TaskMeta};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Submits jobs to the pool; cloneable.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Mutex<Shared>,
    /// Wakes idle threads for new jobs or shutdown.
    condvar: Condvar,
    /// Signalled when a thread exits, for shutdown to wait on.
    exited: Condvar,
    config: crate::runtime_config::Config,
}

struct Shared {
    queue: VecDeque<Notified<BlockingSchedule>>,
    num_threads: usize,
    num_idle: usize,
    num_notify: usize,
    shutdown: bool,
    next_thread_id: usize,
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
        let _unconstrained = coop::Unconstrained::enter();
        Poll::Ready(f())
    }
}

impl Spawner {
    pub(crate) fn new(config: crate::runtime_config::Config) -> Spawner {
        Spawner {
            inner: Arc::new(Inner {
                shared: Mutex::new(Shared {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    shutdown: false,
                    next_thread_id: 0,
                }),
                condvar: Condvar::new(),
                exited: Condvar::new(),
                config,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `f`; after shutdown the returned handle reports a cancelled job.
    pub(crate) fn spawn_blocking<F, R>(
        &self,
        rt: &crate::Handle,
        f: F,
        meta: TaskMeta,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (task, notified, join) = task::new_task(BlockingTask(Some(f)), BlockingSchedule, meta);
        let mut shared = self.lock();
        if shared.shutdown {
            drop(shared);
            drop(notified);
            task.shutdown();
            return join;
        }
        drop(task);
        shared.queue.push_back(notified);
        if shared.num_idle > 0 {
            shared.num_idle -= 1;
            shared.num_notify += 1;
            drop(shared);
            self.inner.condvar.notify_one();
        } else if shared.num_threads < self.inner.config.max_blocking_threads {
            let id = shared.next_thread_id;
            shared.next_thread_id += 1;
            shared.num_threads += 1;
            drop(shared);
            if let Err(err) = self.spawn_thread(rt, id) {
                let mut shared = self.lock();
                shared.num_threads -= 1;
                if shared.num_threads == 0 {
                    // No thread will ever take the queue: fail its jobs rather than orphan
                    // them.
                    let jobs: Vec<_> = shared.queue.drain(..).collect();
                    drop(shared);
                    for job in jobs {
                        job.cancel_and_run();
                    }
                    eprintln!("runtime: failed to spawn a blocking-pool thread: {err}");
                }
                // Otherwise a running thread takes the job when it finishes its own.
            }
        }
        join
    }

    fn spawn_thread(&self, rt: &crate::Handle, id: usize) -> std::io::Result<()> {
        let config = &self.inner.config;
        let mut builder =
            std::thread::Builder::new().name(format!("{}-blocking-{id}", config.thread_name));
        if let Some(size) = config.thread_stack_size {
            builder = builder.stack_size(size);
        }
        let spawner = self.clone();
        let rt = rt.clone();
        builder.spawn(move || spawner.run(&rt)).map(drop)
    }

    fn run(&self, rt: &crate::Handle) {
        let config = &self.inner.config;
        if let Some(f) = &config.on_thread_start {
            f();
        }
        let _current = crate::context::set_current(rt);
        let mut shared = self.lock();
        'main: loop {
            while let Some(job) = shared.queue.pop_front() {
                drop(shared);
                job.run();
                shared = self.lock();
            }
            shared.num_idle += 1;
            loop {
                if shared.shutdown {
                    break 'main;
                }
                let (guard, wait) = self
                    .inner
                    .condvar
                    .wait_timeout(shared, config.thread_keep_alive)
                    .unwrap_or_else(|e| e.into_inner());
                shared = guard;
                if shared.num_notify > 0 {
                    // A submitter counted us out of the idle set for its job.
                    shared.num_notify -= 1;
                    continue 'main;
                }
                if wait.timed_out() && !shared.shutdown {
                    // Kept alive long enough with nothing to do: retire.
                    shared.num_idle -= 1;
                    break 'main;
                }
            }
        }
        // Shutdown: jobs that never started are cancelled, not run.
        let jobs: Vec<_> = if shared.shutdown {
            shared.queue.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(shared);
        for job in jobs {
            job.cancel_and_run();
        }
        drop(_current);
        if let Some(f) = &config.on_thread_stop {
            f();
        }
        let mut shared = self.lock();
        shared.num_threads -= 1;
        drop(shared);
        self.inner.exited.notify_all();
    }

    /// Stops the pool: queued jobs are cancelled; waits for running ones, at most `timeout`.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let mut shared = self.lock();
        shared.shutdown = true;
        let jobs: Vec<_> = shared.queue.drain(..).collect();
        drop(shared);
        self.inner.condvar.notify_all();
        for job in jobs {
            job.cancel_and_run();
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut shared = self.lock();
        while shared.num_threads > 0 {
            shared = match deadline {
                None => self
                    .inner
                    .exited
                    .wait(shared)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return;
                    }
                    self.inner
                        .exited
                        .wait_timeout(shared, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// `(threads, idle threads, queued jobs)`.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let shared = self.lock();
        (shared.num_threads, shared.num_idle, shared.queue.len())
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (threads, idle, queued) = self.counts();
        f.debug_struct("BlockingPool")
            .field("threads", &threads)
            .field("idle", &idle)
            .field("queued", &queued)
            .finish()
    }
}
