//! Stress tests of the executor: floods of spawns from threads and from tasks, deep spawn
//! chains, abort storms and waker storms.
//!
//! Every test checks exactly-once execution and that the runtime ends with no alive task.
//! A watchdog aborts the process if a test hangs (a lost wake-up would otherwise stall the
//! run forever).

#[macro_use]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use runtime::Runtime;
use support::{eventually, wait_no_alive_tasks, Flavor, Gate, Watchdog};

/// Tasks per flood: one million, in debug builds too (a flood takes a few seconds there).
const FLOOD: usize = 1_000_000;

/// Threads or tasks that spawn a flood between them.
const SPAWNERS: usize = 4;

/// Length of the spawn chain.
const CHAIN: usize = 100_000;

/// Tasks in an abort storm.
const STORM: usize = 100_000;

/// Wakes in a waker storm.
const WAKES: usize = 100_000;

/// Generous bound after which a stress test is declared hung.
const HANG_LIMIT: Duration = Duration::from_secs(120);

/// One slot per task of a flood; each task adds one to its slot, the last to finish opens
/// `done`.
struct Flood {
    slots: Vec<AtomicU8>,
    finished: AtomicUsize,
    done: Gate,
}

impl Flood {
    fn new(tasks: usize) -> Arc<Flood> {
        Arc::new(Flood {
            slots: (0..tasks).map(|_| AtomicU8::new(0)).collect(),
            finished: AtomicUsize::new(0),
            done: Gate::new(),
        })
    }

    /// The body of task `i`.
    fn task(self: &Arc<Self>, i: usize) -> impl Future<Output = ()> + Send + 'static {
        let flood = self.clone();
        async move {
            flood.slots[i].fetch_add(1, SeqCst);
            if flood.finished.fetch_add(1, SeqCst) + 1 == flood.slots.len() {
                flood.done.open();
            }
        }
    }

    /// Panics unless every task ran exactly once.
    fn assert_each_ran_once(&self) {
        let wrong: Vec<(usize, u8)> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, slot)| (i, slot.load(SeqCst)))
            .filter(|&(_, runs)| runs != 1)
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of {} tasks did not run exactly once; first (task, runs): {:?}",
            wrong.len(),
            self.slots.len(),
            &wrong[..wrong.len().min(10)]
        );
    }
}

// ===== floods =====

rt_test!(
    a_flood_spawned_from_four_threads_runs_each_task_once,
    |rt| {
        let _watchdog = Watchdog::arm("flood from threads", HANG_LIMIT);
        let flood = Flood::new(FLOOD);
        let per_thread = FLOOD / SPAWNERS;
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|t| {
                let (handle, flood) = (rt.handle().clone(), flood.clone());
                thread::spawn(move || {
                    for i in t * per_thread..(t + 1) * per_thread {
                        // Detached: the slot, not the JoinHandle, reports the run.
                        drop(handle.spawn(flood.task(i)));
                    }
                })
            })
            .collect();
        // A current-thread runtime runs its tasks only here; a multi-thread one already is.
        rt.block_on(flood.done.wait());
        for spawner in spawners {
            spawner.join().expect("spawner thread panicked");
        }
        flood.assert_each_ran_once();
        wait_no_alive_tasks(&rt);
    }
);

rt_test!(a_flood_spawned_from_four_tasks_runs_each_task_once, |rt| {
    let _watchdog = Watchdog::arm("flood from tasks", HANG_LIMIT);
    let flood = Flood::new(FLOOD);
    let per_task = FLOOD / SPAWNERS;
    rt.block_on(async {
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|t| {
                let flood = flood.clone();
                runtime::spawn(async move {
                    for i in t * per_task..(t + 1) * per_task {
                        drop(runtime::spawn(flood.task(i)));
                    }
                })
            })
            .collect();
        for spawner in spawners {
            spawner.await.expect("spawner task failed");
        }
        flood.done.wait().await;
    });
    flood.assert_each_ran_once();
    wait_no_alive_tasks(&rt);
});

// ===== spawn chain =====

/// Spawns link `left` of a chain: each link spawns the next and returns at once.
fn link(left: usize, ran: Arc<AtomicUsize>, done: Gate) {
    drop(runtime::spawn(async move {
        ran.fetch_add(1, SeqCst);
        if left == 0 {
            done.open();
        } else {
            link(left - 1, ran, done);
        }
    }));
}

/// Runs a spawn chain on a thread with the usual 2 MiB stack: the chain must not nest
/// stack frames, whatever the flavor.
fn chain_of_spawns(flavor: Flavor) {
    let _watchdog = Watchdog::arm("spawn chain", HANG_LIMIT);
    let ran = Arc::new(AtomicUsize::new(0));
    let in_thread = ran.clone();
    thread::Builder::new()
        .name("chain".into())
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let rt = flavor.build();
            let done = Gate::new();
            rt.block_on(async {
                link(CHAIN, in_thread, done.clone());
                done.wait().await;
            });
            wait_no_alive_tasks(&rt);
        })
        .expect("spawning the chain thread")
        .join()
        .expect("chain thread panicked");
    assert_eq!(ran.load(SeqCst), CHAIN + 1, "every link ran exactly once");
}

#[test]
fn a_chain_of_spawns_does_not_grow_the_stack_current_thread() {
    chain_of_spawns(Flavor::CurrentThread);
}

#[test]
fn a_chain_of_spawns_does_not_grow_the_stack_multi_thread() {
    chain_of_spawns(Flavor::MultiThread);
}

// ===== abort storm =====

const ALIVE: u8 = 0;
const DROPPED: u8 = 1;

/// What the abort storm's tasks record about themselves.
struct StormLog {
    state: Vec<AtomicU8>,
    polled_after_drop: AtomicUsize,
    dropped_twice: AtomicUsize,
    dropped: AtomicUsize,
}

/// A task of the abort storm: either yields `yields_left` times and returns its number,
/// or (when `forever`) stays pending without ever being woken.
struct Victim {
    i: usize,
    forever: bool,
    yields_left: u32,
    log: Arc<StormLog>,
}

impl Future for Victim {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.log.state[self.i].load(SeqCst) == DROPPED {
            self.log.polled_after_drop.fetch_add(1, SeqCst);
        }
        if self.forever {
            return Poll::Pending;
        }
        if self.yields_left == 0 {
            return Poll::Ready(self.i);
        }
        self.yields_left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        if self.log.state[self.i].swap(DROPPED, SeqCst) == DROPPED {
            self.log.dropped_twice.fetch_add(1, SeqCst);
        }
        self.log.dropped.fetch_add(1, SeqCst);
    }
}

rt_test!(an_abort_storm_cancels_every_task_exactly_once, |rt| {
    let _watchdog = Watchdog::arm("abort storm", HANG_LIMIT);
    let log = Arc::new(StormLog {
        state: (0..STORM).map(|_| AtomicU8::new(ALIVE)).collect(),
        polled_after_drop: AtomicUsize::new(0),
        dropped_twice: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
    });
    let handles: Vec<_> = (0..STORM)
        .map(|i| {
            rt.spawn(Victim {
                i,
                forever: i % 2 == 1,
                yields_left: 50,
                log: log.clone(),
            })
        })
        .collect();
    let from_thread: Vec<_> = handles.iter().map(|h| h.abort_handle()).collect();
    let from_task: Vec<_> = handles.iter().rev().map(|h| h.abort_handle()).collect();

    let go = Arc::new(AtomicBool::new(false));
    let thread_aborter = {
        let go = go.clone();
        thread::spawn(move || {
            while !go.load(SeqCst) {
                thread::yield_now();
            }
            for abort in &from_thread {
                abort.abort();
            }
        })
    };
    let results = rt.block_on(async {
        let task_aborter = runtime::spawn(async move {
            for (n, abort) in from_task.iter().enumerate() {
                abort.abort();
                if n % 1000 == 0 {
                    // Let the victims run between bursts of aborts.
                    runtime::yield_now().await;
                }
            }
        });
        go.store(true, SeqCst);
        task_aborter.await.expect("aborting task failed");
        let mut results = Vec::with_capacity(STORM);
        for handle in handles {
            results.push(handle.await);
        }
        results
    });
    thread_aborter.join().expect("aborting thread panicked");

    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(out) => {
                assert_eq!(out, i, "task {i} returned another task's output");
                assert_eq!(i % 2, 0, "task {i} never finishes, yet it returned");
            }
            Err(err) => assert!(err.is_cancelled(), "task {i}: {err:?}"),
        }
    }
    assert_eq!(log.polled_after_drop.load(SeqCst), 0, "polled after drop");
    assert_eq!(log.dropped_twice.load(SeqCst), 0, "dropped twice");
    assert_eq!(log.dropped.load(SeqCst), STORM, "every future dropped");
    wait_no_alive_tasks(&rt);
});

// ===== waker storm =====

/// Shared between the waker-storm task and the threads that wake it.
#[derive(Default)]
struct Storm {
    waker: Mutex<Option<Waker>>,
    registered: Gate,
    wakes: AtomicUsize,
    polls_after_ready: AtomicUsize,
    completions: AtomicUsize,
    finished: AtomicBool,
}

/// Completes once half of the storm's wakes happened.
struct Eye(Arc<Storm>);

impl Future for Eye {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let storm = &self.0;
        if storm.finished.load(SeqCst) {
            storm.polls_after_ready.fetch_add(1, SeqCst);
            return Poll::Pending;
        }
        {
            let mut waker = storm.waker.lock().expect("storm poisoned");
            if waker.is_none() {
                *waker = Some(cx.waker().clone());
                storm.registered.open();
            }
        }
        if storm.wakes.load(SeqCst) >= WAKES / 2 {
            storm.finished.store(true, SeqCst);
            storm.completions.fetch_add(1, SeqCst);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// One storm: `WAKES` wakes from `THREADS` threads on one task that completes halfway.
/// When `detached`, the JoinHandle is dropped first, so the last reference to the task
/// may go away on a waking thread. Returns a clone of the task's waker.
fn waker_storm(rt: &Runtime, detached: bool) -> Waker {
    const THREADS: usize = 4;
    let storm = Arc::new(Storm::default());
    let mut join = Some(rt.spawn(Eye(storm.clone())));
    if detached {
        drop(join.take());
    }
    rt.block_on(storm.registered.wait());
    let waker = storm
        .waker
        .lock()
        .expect("storm poisoned")
        .take()
        .expect("registered");

    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (waker, storm) = (waker.clone(), storm.clone());
            thread::spawn(move || {
                for n in 0..WAKES / THREADS {
                    // Both ways of waking, and clones made and dropped on this thread.
                    if n % 2 == 0 {
                        waker.wake_by_ref();
                    } else {
                        let clone = waker.clone();
                        clone.wake();
                    }
                    storm.wakes.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    rt.block_on(async {
        if let Some(join) = join {
            join.await.expect("the storm's task failed");
        }
        eventually("the storm's task completes", || {
            storm.completions.load(SeqCst) > 0
        })
        .await;
    });
    for thread in threads {
        thread.join().expect("waking thread panicked");
    }
    // Wakes that arrived after completion must be ignored, by the runtime too.
    rt.block_on(async {
        for _ in 0..10 {
            runtime::yield_now().await;
        }
    });
    assert_eq!(storm.completions.load(SeqCst), 1);
    assert_eq!(
        storm.polls_after_ready.load(SeqCst),
        0,
        "polled after Ready"
    );
    waker
}

rt_test!(a_waker_storm_runs_its_task_to_completion_once, |rt| {
    const ROUNDS: usize = 10;
    let _watchdog = Watchdog::arm("waker storm", HANG_LIMIT);
    let mut stale = Vec::new();
    for round in 0..ROUNDS {
        stale.push(waker_storm(&rt, round % 2 == 1));
    }
    // Wakers kept after completion keep the tasks' memory, not the tasks, alive.
    wait_no_alive_tasks(&rt);
    // A waker that outlives its runtime is inert.
    drop(rt);
    for waker in stale {
        waker.wake_by_ref();
        waker.wake();
    }
});

rt_test!(
    a_contended_semaphore_loses_no_permit_and_starves_no_task,
    |rt| {
        // The semaphore's barging path on this runtime, where a waiter woken to compete runs
        // behind the running tasks: 500 tasks, 4 permits, each task taking one 200 times and
        // yielding while it holds it (so the holder usually takes its permit back at once),
        // some of them through a timeout that fires now and then. Every task finishes, the
        // limit holds throughout, and every permit is back.
        let _watchdog = Watchdog::arm("contended semaphore", HANG_LIMIT);
        let sem = Arc::new(runtime::sync::Semaphore::new(4));
        let inside = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..500)
            .map(|i| {
                let (sem, inside) = (sem.clone(), inside.clone());
                rt.spawn(async move {
                    let mut timed_out = 0;
                    for round in 0..200 {
                        let permit = if (i + round) % 7 == 0 {
                            let wait =
                                runtime::time::timeout(Duration::from_micros(50), sem.acquire());
                            match wait.await {
                                Ok(permit) => permit.unwrap(),
                                Err(_) => {
                                    timed_out += 1;
                                    continue;
                                }
                            }
                        } else {
                            sem.acquire().await.unwrap()
                        };
                        assert!(inside.fetch_add(1, SeqCst) < 4, "more holders than permits");
                        runtime::yield_now().await;
                        inside.fetch_sub(1, SeqCst);
                        drop(permit);
                    }
                    timed_out
                })
            })
            .collect();
        rt.block_on(async {
            for task in tasks {
                task.await.expect("a semaphore task panicked");
            }
        });
        assert_eq!(sem.available_permits(), 4, "a permit was lost");
        wait_no_alive_tasks(&rt);
    }
);
