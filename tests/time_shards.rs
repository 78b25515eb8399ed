//! Timers across the wheel's shards: one per worker, one for threads that are no worker.
//!
//! A timer lives in the shard of the thread that first polled it, whichever thread resets,
//! awaits or drops it later; the driver fires and sleeps by all shards at once. Tests that
//! could hang on a lost wake run under a watchdog ([`run_bounded`]); none asserts how long
//! anything took in real time, only what happened before what.

#[macro_use]
mod support;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::task::Context;

use runtime::time::{sleep, sleep_until, Duration, Instant, Sleep};
use runtime::Builder;
use support::{poll_once, run_bounded, Gate, HANG_GUARD};

const HOUR: Duration = Duration::from_secs(3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A timer polled once on this thread, so it is in this thread's shard.
async fn registered_here(duration: Duration) -> Pin<Box<Sleep>> {
    let mut timer = Box::pin(sleep(duration));
    assert!(poll_once(timer.as_mut()).await.is_pending());
    timer
}

#[test]
fn timers_set_on_every_worker_at_once_all_fire_none_early() {
    const WORKERS: usize = 4;
    const PER_WORKER: u64 = 50;
    run_bounded("timers set on every worker at once", HANG_GUARD, || {
        let rt = Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .unwrap();
        let threads = rt.block_on(async {
            // Each task holds its worker at the barrier until every worker has one, so the
            // timers go into every worker's shard, set at the same time.
            let barrier = Arc::new(Barrier::new(WORKERS));
            let tasks: Vec<_> = (0..WORKERS as u64)
                .map(|worker| {
                    let barrier = barrier.clone();
                    runtime::spawn(async move {
                        barrier.wait();
                        let thread = std::thread::current().id();
                        let start = Instant::now();
                        // Deadlines interleaved across the workers.
                        let mut timers: Vec<_> = (0..PER_WORKER)
                            .map(|i| Box::pin(sleep_until(start + ms(1 + i * 4 + worker))))
                            .collect();
                        for timer in &mut timers {
                            let _ = poll_once(timer.as_mut()).await;
                        }
                        for timer in timers {
                            let deadline = timer.deadline();
                            timer.await;
                            assert!(Instant::now() >= deadline, "a timer fired early");
                        }
                        thread
                    })
                })
                .collect();
            let mut threads = HashSet::new();
            for task in tasks {
                threads.insert(task.await.unwrap());
            }
            threads
        });
        assert_eq!(threads.len(), WORKERS, "every worker set timers");
    });
}

/// Resets `timer` to fire soon, awaits it, then sets it for later and polls it once.
async fn awaited_and_left_in_the_wheel(mut timer: Pin<Box<Sleep>>) -> Pin<Box<Sleep>> {
    timer.as_mut().reset(Instant::now() + ms(5));
    timer.as_mut().await;
    timer.as_mut().reset(Instant::now() + HOUR);
    assert!(poll_once(timer.as_mut()).await.is_pending());
    timer
}

rt_test!(
    a_timer_is_reset_awaited_and_dropped_away_from_its_shard,
    |rt| {
        run_bounded(
            "a timer handled away from its shard",
            HANG_GUARD,
            move || {
                rt.block_on(async {
                    // In a worker's shard (on the current-thread runtime: its thread's).
                    let timer = runtime::spawn(registered_here(HOUR)).await.unwrap();
                    // Reset and awaited on the `block_on` thread, then in another task.
                    let timer = awaited_and_left_in_the_wheel(timer).await;
                    let timer = runtime::spawn(awaited_and_left_in_the_wheel(timer))
                        .await
                        .unwrap();
                    // Dropped on a blocking-pool thread while still in the wheel.
                    runtime::spawn_blocking(move || drop(timer)).await.unwrap();
                    // The shards are intact: timers of every thread still fire.
                    let tasks: Vec<_> = (0..8).map(|i| runtime::spawn(sleep(ms(1 + i)))).collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                    sleep(ms(2)).await;
                });
            },
        );
    }
);

rt_test!(
    an_early_timer_set_elsewhere_wakes_a_driver_parked_for_a_later_one,
    |rt| {
        let handle = rt.handle().clone();
        let early_first = run_bounded("an early timer from another shard", HANG_GUARD, move || {
            rt.block_on(async move {
                // On a worker (the runtime's thread): the driver parks towards this one.
                runtime::spawn(async move {
                    let late = registered_here(Duration::from_secs(10)).await;
                    let fired = Gate::new();
                    let other = {
                        let fired = fired.clone();
                        std::thread::spawn(move || {
                            let _rt = handle.enter();
                            // Lets the runtime go idle and park first (order, not a bound).
                            std::thread::sleep(ms(50));
                            // The witness, a much later timer, runs on a runtime of its own: one
                            // in the runtime under test would wake its driver and hide a lost
                            // wake (as would `late`'s own cascades, which wake the driver at the
                            // start of its wheel slot, seconds before its deadline).
                            let witness_done = Arc::new(AtomicBool::new(false));
                            let witness = {
                                let done = witness_done.clone();
                                std::thread::spawn(move || {
                                    let rt = Builder::new_current_thread().build().unwrap();
                                    rt.block_on(async { sleep(Duration::from_secs(1)).await });
                                    done.store(true, SeqCst);
                                })
                            };
                            // In the shard of threads that are no worker.
                            futures::executor::block_on(sleep(ms(10)));
                            let early_first = !witness_done.load(SeqCst);
                            witness.join().unwrap();
                            fired.open();
                            early_first
                        })
                    };
                    fired.wait().await;
                    assert!(!late.is_elapsed());
                    other.join().unwrap()
                })
                .await
                .unwrap()
            })
        });
        assert!(
            early_first,
            "the early timer waited for the driver to wake for another one"
        );
    }
);

#[test]
fn paused_clock_jumps_to_timers_of_every_shard_in_order() {
    run_bounded(
        "a paused clock with timers in two shards",
        HANG_GUARD,
        || {
            let rt = Builder::new_current_thread()
                .start_paused(true)
                .build()
                .unwrap();
            let handle = rt.handle().clone();
            rt.block_on(async move {
                let start = Instant::now();
                // Polled on another thread: in the shard of threads that are not the runtime's.
                let elsewhere = std::thread::spawn(move || {
                    let _rt = handle.enter();
                    let waker = futures::task::noop_waker();
                    let mut cx = Context::from_waker(&waker);
                    [30, 10].map(|n| {
                        let mut timer = Box::pin(sleep(ms(n)));
                        assert!(timer.as_mut().poll(&mut cx).is_pending());
                        (n, timer)
                    })
                })
                .join()
                .unwrap();
                let fired = Arc::new(Mutex::new(Vec::new()));
                let mut tasks = Vec::new();
                for (n, timer) in elsewhere {
                    let fired = fired.clone();
                    tasks.push(runtime::spawn(async move {
                        timer.await;
                        fired.lock().unwrap().push((n, Instant::now() - start));
                    }));
                }
                // And one in the runtime thread's shard, between them.
                let here = registered_here(ms(20)).await;
                let fired_here = fired.clone();
                tasks.push(runtime::spawn(async move {
                    here.await;
                    fired_here
                        .lock()
                        .unwrap()
                        .push((20, Instant::now() - start));
                }));
                for task in tasks {
                    task.await.unwrap();
                }
                let fired = fired.lock().unwrap().clone();
                assert_eq!(fired, [(10, ms(10)), (20, ms(20)), (30, ms(30))]);
            });
        },
    );
}
