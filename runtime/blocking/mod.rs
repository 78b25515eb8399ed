//! The blocking pool: threads for `spawn_blocking`, so CPU-heavy and blocking calls stay
//! off the async workers.
//!
//! # Behaviour
//!
//! - Threads are spawned on demand up to `max_blocking_threads`; a waiting thread is
//!   always used before a new one is spawned; a thread that waited `thread_keep_alive`
//!   with nothing to do exits. Jobs start in FIFO order.
//! - A job is a task (same cell, same `JoinHandle`) polled exactly once; its panic comes
//!   back through the handle. Aborting a job that has not started means it never starts.
//! - `spawn_blocking` works from a task, a blocking job, or any thread holding a `Handle`.
//!
//! # Design: no lock on the submit path
//!
//! A submit is one CAS to push the job on a lock-free MPMC queue (the segmented
//! `runtime_primitives::internal::SegQueue`, shared with the unbounded channel) plus one CAS
//! on the pool's count word (`idle`) to claim a waiting thread, and at most one unpark.
//! There is no pool mutex for submitters to queue behind: 16 threads submitting at once
//! contend only on those two cache lines.
//!
//! - *Claim, don't hand over.* A submitter doesn't pick a thread or a slot: it moves one
//!   unit from `idle` to `notify` and some waiting thread takes it and pops a job. Threads
//!   are interchangeable, so no per-thread hand-off state is needed.
//! - *Spin before parking.* A thread that runs out of jobs looks for a claim for 50 µs
//!   before it parks (up to 16 threads at once), calling `yield_now` in between: that
//!   hands the core to whoever is runnable, such as the task its job just woke, which
//!   submits its next job without waiting for an idle core to wake up. A claim that an
//!   awake thread takes costs no system call, and under a flood of submits most claims
//!   are taken that way. Only when claims outnumber awake threads does the submitter
//!   unpark a parked one (LIFO: the most recently parked, so surplus threads stay parked
//!   and retire), and only that wake path and parking itself touch the sleeper list's
//!   small mutex.
//! - *Early idle.* When a job's closure returns, the queue is empty and its output has no
//!   drop glue, its thread counts itself waiting before the job completes and wakes its
//!   joiner, so a task that awaits a job and submits the next one at once reuses this
//!   thread instead of spawning one.
//! - *No lost job.* After its push a submitter always writes the count word: a claim, a
//!   spawn, or (every thread busy at the cap) a `PENDING` flag that the next thread about
//!   to wait clears and answers by popping again. Whoever acts on that write pops until
//!   the queue is empty after reading it, so it sees the job. No thread ever decides from
//!   a look at the queue alone, which would race the claim still on its way (loom models
//!   in `idle` check the races).
//!
//! # Failure and shutdown
//!
//! - *A thread can't be spawned* (`EAGAIN`): the job stays queued and an existing thread
//!   runs it when it is done with its own job (which also retries the spawn); the next
//!   submit retries too. If the pool has no thread at all, nothing would ever run it, so
//!   the queued jobs are cancelled and their handles report a `JoinError` that is
//!   cancelled and a spawn failure, with the spawn's `io::Error` as its source.
//! - *Shutdown* (runtime drop or `shutdown_timeout`): queued jobs are cancelled, waiting
//!   threads exit, and the runtime waits for running jobs (at most the timeout given).
//!   `spawn_blocking` during or after shutdown returns a handle that resolves at once to a
//!   cancelled `JoinError`; the job never runs.

mod idle;
mod pool;

pub(crate) use pool::{in_blocking_job, Spawner};

impl crate::Handle {
    /// Makes the next `n` blocking-pool thread spawns of this runtime fail as if the OS
    /// refused them (`EAGAIN`), to test the pool's answer. Not part of the public API.
    #[doc(hidden)]
    pub fn __fail_blocking_thread_spawns(&self, n: usize) {
        self.inner.blocking_spawner().fail_spawns(n);
    }
}
