//! The blocking pool: spawning on demand up to the cap, reuse, keep-alive, FIFO order,
//! concurrent submitters, thread-spawn failures, abort and shutdown.
//!
//! Every test runs on both scheduler flavors: the pool is the same, but the threads that
//! submit and await differ.

#[macro_use]
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use runtime::task::JoinSet;
use runtime::{Builder, Handle, Runtime};
use support::{
    block_on_outside, panic_message, wait_until, DropCounter, Latch, ReleaseOnDrop, HANG_GUARD,
};

/// Defines a module `$name` with one test per flavor; the body gets `$builder`, a function
/// returning a fresh `Builder` of that flavor (two workers for the multi-thread one).
macro_rules! flavor_test {
    ($name:ident, |$builder:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn current_thread() {
                let $builder = Builder::new_current_thread;
                $body
            }

            #[test]
            fn multi_thread() {
                let $builder = || Builder::new_multi_thread().worker_threads(2);
                $body
            }
        }
    };
}

fn build(builder: Builder) -> Runtime {
    let mut builder = builder;
    builder.build().expect("building the test runtime")
}

/// Runs `n` jobs that each block until released, and waits until all `n` are running.
fn occupy(rt: &Runtime, n: usize, release: &Latch) -> Vec<runtime::task::JoinHandle<ThreadId>> {
    let started = Arc::new(AtomicUsize::new(0));
    let jobs = (0..n)
        .map(|_| {
            let (started, release) = (started.clone(), release.clone());
            rt.spawn_blocking(move || {
                started.fetch_add(1, SeqCst);
                release.wait_blocking();
                thread::current().id()
            })
        })
        .collect();
    wait_until("the blocking jobs all started", || {
        started.load(SeqCst) == n
    });
    jobs
}

/// Waits until the pool's threads are all waiting for work.
fn wait_all_idle(rt: &Runtime) {
    wait_until("every blocking thread is idle", || {
        let m = rt.metrics();
        m.busy_blocking_threads == 0 && m.idle_blocking_threads == m.blocking_threads
    });
}

// ===== where spawn_blocking works from =====

rt_test!(spawn_blocking_from_a_task_a_job_and_a_plain_thread, |rt| {
    // From the `block_on` future and from a spawned task.
    let (a, b) = rt.block_on(async {
        let a = runtime::spawn_blocking(|| 1)
            .await
            .expect("job from block_on");
        let b = runtime::spawn(async { runtime::spawn_blocking(|| 2).await })
            .await
            .expect("task")
            .expect("job from a task");
        (a, b)
    });
    // From a blocking job, through the free function and through `Handle::current`.
    let c = rt.block_on(async {
        runtime::spawn_blocking(|| {
            let inner = runtime::spawn_blocking(|| 3);
            let handle = Handle::current();
            let other = handle.spawn_blocking(|| 4);
            (inner, other)
        })
        .await
        .expect("outer job")
    });
    let (c, d) = rt.block_on(async { (c.0.await, c.1.await) });
    // From a plain thread holding a handle.
    let handle = rt.handle().clone();
    let e = thread::spawn(move || block_on_outside(handle.spawn_blocking(|| 5)))
        .join()
        .expect("the plain thread panicked");
    assert_eq!(
        (
            a,
            b,
            c.expect("nested"),
            d.expect("nested"),
            e.expect("plain")
        ),
        (1, 2, 3, 4, 5)
    );
});

rt_test!(join_set_spawn_blocking_collects_every_job, |rt| {
    let mut sum = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..20u32 {
            set.spawn_blocking(move || i);
        }
        let mut sum = 0;
        while let Some(res) = set.join_next().await {
            sum += res.expect("a JoinSet job failed");
        }
        sum
    });
    assert_eq!(sum, (0..20).sum());
    // A panicking member reports its panic through the set.
    sum = rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn_blocking(|| -> u32 { panic!("member boom") });
        let err = set
            .join_next()
            .await
            .expect("one member")
            .expect_err("it panicked");
        assert_eq!(panic_message(&*err.into_panic()), "member boom");
        7
    });
    assert_eq!(sum, 7);
});

flavor_test!(a_panic_comes_back_and_its_thread_serves_on, |builder| {
    let rt = build(builder().max_blocking_threads(1));
    let (id_tx, id_rx) = mpsc::channel();
    let err = rt
        .block_on(rt.spawn_blocking(move || -> u8 {
            id_tx.send(thread::current().id()).expect("test alive");
            panic!("job boom")
        }))
        .expect_err("the job panicked");
    assert!(err.is_panic());
    assert_eq!(panic_message(&*err.into_panic()), "job boom");
    let panicked_on = id_rx.recv_timeout(HANG_GUARD).expect("the job ran");
    let next = rt
        .block_on(rt.spawn_blocking(|| thread::current().id()))
        .expect("the next job");
    assert_eq!(next, panicked_on, "the thread survived its job's panic");
    assert_eq!(rt.metrics().blocking_threads, 1);
});

// ===== threads: reuse, cap, keep-alive =====

flavor_test!(sequential_jobs_reuse_one_thread, |builder| {
    let rt = build(builder());
    let ids: Vec<ThreadId> = rt.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..20 {
            let id = runtime::spawn_blocking(|| thread::current().id()).await;
            ids.push(id.expect("job failed"));
        }
        ids
    });
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "each job waited for the one before, so one thread serves them all: {ids:?}"
    );
    assert_eq!(rt.metrics().blocking_threads, 1);
});

flavor_test!(waiting_threads_are_reused_before_spawning, |builder| {
    let rt = build(builder());
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let first = occupy(&rt, 3, &release);
    release.release();
    let first: Vec<_> = first
        .into_iter()
        .map(|j| rt.block_on(j).expect("job"))
        .collect();
    wait_all_idle(&rt);
    assert_eq!(rt.metrics().blocking_threads, 3);

    // Three more jobs at once, all running together: the three waiting threads take them.
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let second = occupy(&rt, 3, &release);
    assert_eq!(rt.metrics().blocking_threads, 3, "no thread was spawned");
    release.release();
    for job in second {
        let id = rt.block_on(job).expect("job");
        assert!(first.contains(&id), "a job ran on a new thread");
    }
});

flavor_test!(max_blocking_threads_caps_the_pool, |builder| {
    const MAX: usize = 3;
    const EXTRA: usize = 4;
    let rt = build(builder().max_blocking_threads(MAX));
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let running = occupy(&rt, MAX, &release);
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..EXTRA)
        .map(|_| {
            let ran = ran.clone();
            rt.spawn_blocking(move || ran.fetch_add(1, SeqCst))
        })
        .collect();
    let m = rt.metrics();
    assert_eq!(m.blocking_threads, MAX);
    assert_eq!(m.busy_blocking_threads, MAX);
    assert_eq!(m.idle_blocking_threads, 0);
    assert_eq!(m.blocking_queue_depth, EXTRA);
    assert_eq!(ran.load(SeqCst), 0, "a job beyond the cap ran");

    release.release();
    for job in running {
        rt.block_on(job).expect("running job");
    }
    for job in queued {
        rt.block_on(job).expect("queued job");
    }
    assert_eq!(ran.load(SeqCst), EXTRA);
    assert_eq!(rt.metrics().blocking_threads, MAX);
    assert_eq!(rt.metrics().blocking_queue_depth, 0);
});

flavor_test!(idle_threads_retire_after_keep_alive, |builder| {
    let rt = build(builder().thread_keep_alive(Duration::from_millis(50)));
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let jobs = occupy(&rt, 3, &release);
    assert_eq!(rt.metrics().blocking_threads, 3);
    release.release();
    for job in jobs {
        rt.block_on(job).expect("job");
    }
    wait_until("idle blocking threads retire", || {
        rt.metrics().blocking_threads == 0
    });
    // The pool spawns again on demand.
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).expect("job"), 1);
});

flavor_test!(an_unbounded_keep_alive_keeps_idle_threads, |builder| {
    // `Duration::MAX` can't be added to an `Instant`: it means "never retire".
    let rt = build(builder().thread_keep_alive(Duration::MAX));
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).expect("job"), 1);
    wait_all_idle(&rt);
    assert_eq!(rt.metrics().blocking_threads, 1);
    // Shutdown still wakes and ends the parked thread.
    let handle = rt.handle().clone();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    thread::spawn(move || {
        drop(rt);
        dropped_tx.send(()).expect("test alive");
    });
    dropped_rx
        .recv_timeout(HANG_GUARD)
        .expect("dropping the runtime hung on its parked blocking thread");
    assert_eq!(handle.metrics().blocking_threads, 0);
});

flavor_test!(jobs_start_in_fifo_order, |builder| {
    const JOBS: usize = 100;
    let rt = build(builder().max_blocking_threads(1));
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let blocker = occupy(&rt, 1, &release);
    let order = Arc::new(Mutex::new(Vec::new()));
    let jobs: Vec<_> = (0..JOBS)
        .map(|i| {
            let order = order.clone();
            rt.spawn_blocking(move || order.lock().expect("order lock").push(i))
        })
        .collect();
    release.release();
    for job in blocker.into_iter() {
        rt.block_on(job).expect("blocker");
    }
    for job in jobs {
        rt.block_on(job).expect("job");
    }
    let order = order.lock().expect("order lock");
    assert_eq!(*order, (0..JOBS).collect::<Vec<_>>());
});

flavor_test!(sixteen_submitters_every_job_runs_exactly_once, |builder| {
    const SUBMITTERS: usize = 16;
    const PER: usize = 400;
    let rt = build(builder());
    let runs: Arc<Vec<AtomicUsize>> =
        Arc::new((0..SUBMITTERS * PER).map(|_| AtomicUsize::new(0)).collect());
    let go = Arc::new(std::sync::Barrier::new(SUBMITTERS));
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|s| {
            let (handle, runs, go) = (rt.handle().clone(), runs.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                (0..PER)
                    .map(|i| {
                        let (runs, job) = (runs.clone(), s * PER + i);
                        handle.spawn_blocking(move || {
                            runs[job].fetch_add(1, SeqCst);
                            job
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles: Vec<_> = submitters
        .into_iter()
        .flat_map(|t| t.join().expect("a submitter panicked"))
        .collect();
    rt.block_on(async {
        for (job, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.expect("job failed"), job);
        }
    });
    for (job, count) in runs.iter().enumerate() {
        assert_eq!(count.load(SeqCst), 1, "job {job} ran {count:?} times");
    }
});

flavor_test!(no_job_is_lost_while_threads_retire, |builder| {
    // A 1 ms keep-alive makes threads park, time out and retire all the time, racing the
    // submitters' claims and wake-ups.
    const SUBMITTERS: usize = 4;
    const PER: usize = 1_000;
    let rt = build(builder().thread_keep_alive(Duration::from_millis(1)));
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|s| {
            let handle = rt.handle().clone();
            thread::spawn(move || {
                let mut sum = 0;
                for i in 0..PER {
                    sum += block_on_outside(handle.spawn_blocking(move || i)).expect("job");
                    if (i + s) % 64 == 0 {
                        thread::sleep(Duration::from_millis(2));
                    }
                }
                sum
            })
        })
        .collect();
    for submitter in submitters {
        let sum = submitter.join().expect("a submitter panicked");
        assert_eq!(sum, (0..PER).sum::<usize>());
    }
});

flavor_test!(
    a_detached_output_whose_drop_waits_for_a_job_does_not_hang,
    |builder| {
        // The output of a detached job is dropped on its pool thread as the job completes;
        // here that drop waits for another blocking job, which must find a thread.
        struct WaitsOnDrop(Option<mpsc::Sender<()>>);
        impl Drop for WaitsOnDrop {
            fn drop(&mut self) {
                let inner = Handle::current().spawn_blocking(|| ());
                block_on_outside(inner).expect("the job spawned by the drop");
                if let Some(done) = self.0.take() {
                    done.send(()).expect("test alive");
                }
            }
        }
        let rt = build(builder());
        let release = Latch::new();
        let _release_on_failure = ReleaseOnDrop(release.clone());
        let (done_tx, done_rx) = mpsc::channel();
        let job = {
            let release = release.clone();
            rt.spawn_blocking(move || {
                release.wait_blocking();
                WaitsOnDrop(Some(done_tx))
            })
        };
        drop(job);
        release.release();
        done_rx
            .recv_timeout(HANG_GUARD)
            .expect("the output's drop never got its job run");
    }
);

// ===== abort =====

flavor_test!(
    an_aborted_job_that_has_not_started_never_starts,
    |builder| {
        let rt = build(builder().max_blocking_threads(1));
        let release = Latch::new();
        let _release_on_failure = ReleaseOnDrop(release.clone());
        let blocker = occupy(&rt, 1, &release);
        let (ran, drops) = (Arc::new(AtomicBool::new(false)), DropCounter::new());
        let queued = {
            let (ran, guard) = (ran.clone(), drops.guard());
            rt.spawn_blocking(move || {
                let _guard = guard;
                ran.store(true, SeqCst);
            })
        };
        let after = rt.spawn_blocking(|| "after");
        queued.abort();
        release.release();
        for job in blocker {
            rt.block_on(job).expect("blocker");
        }
        let err = rt.block_on(queued).expect_err("the job was aborted");
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!ran.load(SeqCst), "an aborted job started");
        assert_eq!(drops.count(), 1, "the aborted closure is dropped");
        assert_eq!(rt.block_on(after).expect("the next job runs"), "after");
    }
);

// ===== thread-spawn failure (tokio #8406) =====

flavor_test!(
    with_no_thread_and_none_spawnable_the_job_is_cancelled,
    |builder| {
        let rt = build(builder());
        rt.handle().__fail_blocking_thread_spawns(usize::MAX);
        let ran = Arc::new(AtomicBool::new(false));
        let job = {
            let ran = ran.clone();
            rt.spawn_blocking(move || ran.store(true, SeqCst))
        };
        let err = block_on_outside(job).expect_err("no thread could run the job");
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!ran.load(SeqCst));
        let m = rt.metrics();
        assert_eq!((m.blocking_threads, m.blocking_queue_depth), (0, 0));

        // Once spawning works again, the next submit spawns a thread.
        rt.handle().__fail_blocking_thread_spawns(0);
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).expect("job"), 1);
    }
);

flavor_test!(a_job_no_thread_can_run_reports_the_spawn_error, |builder| {
    let rt = build(builder());
    rt.handle().__fail_blocking_thread_spawns(usize::MAX);
    let err = block_on_outside(rt.spawn_blocking(|| ())).expect_err("no thread could run it");
    assert!(err.is_spawn_failure(), "{err:?}");
    assert!(err.is_cancelled() && !err.is_panic(), "{err:?}");
    let os = std::error::Error::source(&err)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .expect("the spawn's io::Error as the source");
    assert_eq!(os.raw_os_error(), Some(libc::EAGAIN), "{os:?}");
    let text = err.to_string();
    assert!(
        text.contains("no thread could be spawned") && text.contains(&os.to_string()),
        "{text}"
    );
    let err = err.try_into_panic().expect_err("no panic to hand out");
    assert!(err.is_spawn_failure(), "{err:?}");
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::WouldBlock
    );

    // Anything else that cancels a job is not a spawn failure.
    rt.handle().__fail_blocking_thread_spawns(0);
    drop(rt);
    let rt = build(builder().max_blocking_threads(1));
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let running = occupy(&rt, 1, &release);
    let queued = rt.spawn_blocking(|| ());
    queued.abort();
    release.release();
    for job in running {
        rt.block_on(job).expect("running job");
    }
    let err = rt.block_on(queued).expect_err("aborted");
    assert!(err.is_cancelled() && !err.is_spawn_failure(), "{err:?}");
    assert!(std::error::Error::source(&err).is_none());
});

flavor_test!(
    a_failed_spawn_leaves_the_job_to_a_running_thread,
    |builder| {
        let rt = build(builder());
        let release = Latch::new();
        let _release_on_failure = ReleaseOnDrop(release.clone());
        let running = occupy(&rt, 1, &release);
        rt.handle().__fail_blocking_thread_spawns(usize::MAX);
        let queued = rt.spawn_blocking(|| thread::current().id());
        let m = rt.metrics();
        assert_eq!((m.blocking_threads, m.blocking_queue_depth), (1, 1));
        release.release();
        let first = rt.block_on(async {
            let mut ids = Vec::new();
            for job in running {
                ids.push(job.await.expect("running job"));
            }
            ids
        });
        let id = rt.block_on(queued).expect("the queued job runs later");
        assert_eq!(id, first[0], "the existing thread ran it");
        rt.handle().__fail_blocking_thread_spawns(0);
    }
);

flavor_test!(
    a_failed_spawn_is_retried_when_a_thread_takes_a_job,
    |builder| {
        let rt = build(builder());
        let (release_a, release_b) = (Latch::new(), Latch::new());
        let _release_a = ReleaseOnDrop(release_a.clone());
        let _release_b = ReleaseOnDrop(release_b.clone());
        let a = occupy(&rt, 1, &release_a);
        let b = occupy(&rt, 1, &release_b);
        rt.handle().__fail_blocking_thread_spawns(2);
        // `waiter` can finish only if `signal` runs on another thread meanwhile.
        let (tx, rx) = mpsc::channel::<()>();
        let waiter = rt.spawn_blocking(move || rx.recv_timeout(HANG_GUARD).is_ok());
        let signal = rt.spawn_blocking(move || tx.send(()).expect("waiter alive"));
        assert_eq!(rt.metrics().blocking_queue_depth, 2, "both spawns failed");
        // A's thread takes `waiter` and, with `signal` still queued, retries the spawn.
        release_a.release();
        assert!(
            rt.block_on(waiter).expect("waiter"),
            "the signal job never ran"
        );
        rt.block_on(signal).expect("signal");
        release_b.release();
        for job in a.into_iter().chain(b) {
            rt.block_on(job).expect("job");
        }
    }
);

// ===== shutdown =====

flavor_test!(
    dropping_the_runtime_waits_for_running_jobs_and_cancels_queued_ones,
    |builder| {
        let rt = build(builder().max_blocking_threads(1));
        let finished = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        let running = {
            let finished = finished.clone();
            rt.spawn_blocking(move || {
                started_tx.send(()).expect("test alive");
                thread::sleep(Duration::from_millis(200));
                finished.store(true, SeqCst);
            })
        };
        started_rx
            .recv_timeout(HANG_GUARD)
            .expect("the blocking job never started");
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let ran = ran.clone();
                rt.spawn_blocking(move || ran.fetch_add(1, SeqCst))
            })
            .collect();
        drop(rt);
        assert!(
            finished.load(SeqCst),
            "drop returned before the running job"
        );
        block_on_outside(running).expect("the running job completes");
        for job in queued {
            let err = block_on_outside(job).expect_err("a queued job is cancelled at shutdown");
            assert!(err.is_cancelled(), "{err:?}");
        }
        assert_eq!(ran.load(SeqCst), 0);
    }
);

flavor_test!(
    shutdown_timeout_bounds_the_wait_for_running_jobs,
    |builder| {
        let rt = build(builder());
        let release = Latch::new();
        let _release_on_failure = ReleaseOnDrop(release.clone());
        let jobs = occupy(&rt, 2, &release);
        // Returns although both jobs stay blocked until after it returned.
        rt.shutdown_timeout(Duration::from_millis(50));
        release.release();
        for job in jobs {
            block_on_outside(job).expect("a job left running completes on its own");
        }
    }
);

flavor_test!(spawn_blocking_during_shutdown_is_cancelled, |builder| {
    let rt = build(builder());
    // The job keeps submitting probes until one is refused; the runtime's drop, meanwhile,
    // waits for this job: so the refused probe was submitted during shutdown.
    let (started_tx, started_rx) = mpsc::channel();
    let job = rt.spawn_blocking(move || {
        started_tx.send(()).expect("test alive");
        let handle = Handle::current();
        let mut accepted = 0;
        loop {
            match block_on_outside(handle.spawn_blocking(|| ())) {
                Ok(()) => accepted += 1,
                Err(err) => {
                    assert!(err.is_cancelled(), "{err:?}");
                    return accepted;
                }
            }
            thread::sleep(Duration::from_millis(1));
        }
    });
    started_rx
        .recv_timeout(HANG_GUARD)
        .expect("the blocking job never started");
    drop(rt);
    block_on_outside(job).expect("the job saw its probe refused and returned");
});

flavor_test!(
    dropping_the_runtime_inside_its_own_blocking_job_returns,
    |builder| {
        let rt = build(builder());
        let (rt_tx, rt_rx) = mpsc::channel::<Runtime>();
        let job = rt.spawn_blocking(move || {
            let rt = rt_rx.recv_timeout(HANG_GUARD).expect("the runtime");
            // Shutdown waits for running jobs, but not for the one it runs in.
            drop(rt);
            "dropped"
        });
        rt_tx.send(rt).expect("the job waits for the runtime");
        assert_eq!(block_on_outside(job).expect("the job"), "dropped");
    }
);

flavor_test!(
    spawn_blocking_after_shutdown_is_cancelled_at_once,
    |builder| {
        let rt = build(builder());
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).expect("job"), 1);
        let handle = rt.handle().clone();
        rt.shutdown_timeout(HANG_GUARD);
        let ran = Arc::new(AtomicBool::new(false));
        let (from_here, from_thread) = {
            let (r1, r2) = (ran.clone(), ran.clone());
            let h2 = handle.clone();
            (
                handle.spawn_blocking(move || r1.store(true, SeqCst)),
                thread::spawn(move || {
                    block_on_outside(h2.spawn_blocking(move || r2.store(true, SeqCst)))
                })
                .join()
                .expect("the plain thread panicked"),
            )
        };
        assert!(block_on_outside(from_here)
            .expect_err("refused")
            .is_cancelled());
        assert!(from_thread.expect_err("refused").is_cancelled());
        assert!(!ran.load(SeqCst));
        assert_eq!(handle.metrics().blocking_threads, 0);
    }
);

// ===== metrics =====

flavor_test!(metrics_count_busy_idle_threads_and_queue_depth, |builder| {
    let rt = build(builder().max_blocking_threads(2));
    let m = rt.metrics();
    assert_eq!(
        (
            m.blocking_threads,
            m.busy_blocking_threads,
            m.idle_blocking_threads,
            m.blocking_queue_depth
        ),
        (0, 0, 0, 0)
    );
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let running = occupy(&rt, 2, &release);
    let queued = rt.spawn_blocking(|| ());
    let m = rt.metrics();
    assert_eq!(
        (
            m.blocking_threads,
            m.busy_blocking_threads,
            m.idle_blocking_threads,
            m.blocking_queue_depth
        ),
        (2, 2, 0, 1)
    );
    release.release();
    for job in running {
        rt.block_on(job).expect("job");
    }
    rt.block_on(queued).expect("queued job");
    wait_all_idle(&rt);
    let m = rt.metrics();
    assert_eq!(
        (
            m.blocking_threads,
            m.busy_blocking_threads,
            m.idle_blocking_threads,
            m.blocking_queue_depth
        ),
        (2, 0, 2, 0)
    );
});
