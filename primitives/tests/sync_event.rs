//! `Event`: set wakes every waiter, a waiter woken by `set` returns even if `clear` follows,
//! waits started while clear wait, cancelled waiters affect nobody, the blocking and timed
//! forms work from threads, and the seeds' three Event programs behave as in Python.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::{block_on, ThreadPool};
use futures::task::SpawnExt;
use runtime_primitives::{hooks, Event};

mod support;
use support::*;

// ===== flag and wake-ups =====

#[test]
fn starts_clear_and_set_clear_toggle_the_flag() {
    let event = Event::new();
    assert!(!event.is_set() && !event.try_wait());
    event.set();
    assert!(event.is_set() && event.try_wait());
    event.set(); // idempotent
    assert!(event.is_set());
    event.clear();
    assert!(!event.is_set());
    assert!(!Event::default().is_set());
}

#[test]
fn a_wait_on_a_set_event_returns_at_once() {
    let event = Event::new();
    event.set();
    let (counter, waker) = CountingWaker::new();
    assert_eq!(
        poll_pinned(std::pin::pin!(event.wait()), &waker),
        Poll::Ready(())
    );
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn set_wakes_every_waiter() {
    let event = Event::new();
    let wakers: Vec<_> = (0..50).map(|_| CountingWaker::new()).collect();
    let mut waits: Vec<_> = (0..50).map(|_| Box::pin(event.wait())).collect();
    for (wait, (_, waker)) in waits.iter_mut().zip(&wakers) {
        assert!(poll_pinned(wait.as_mut(), waker).is_pending());
    }
    event.set();
    for (wait, (counter, waker)) in waits.iter_mut().zip(&wakers) {
        assert_eq!(counter.wakes(), 1);
        assert_eq!(poll_pinned(wait.as_mut(), waker), Poll::Ready(()));
    }
}

#[test]
fn a_waiter_woken_by_set_returns_even_if_clear_follows() {
    let event = Event::new();
    let (_, waker) = CountingWaker::new();
    let mut wait = Box::pin(event.wait());
    assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
    event.set();
    event.clear();
    assert_eq!(
        poll_pinned(wait.as_mut(), &waker),
        Poll::Ready(()),
        "Python: a wait woken by set() returns True"
    );
}

#[test]
fn a_wait_that_starts_after_clear_waits_for_the_next_set() {
    let event = Event::new();
    let (counter, waker) = CountingWaker::new();
    event.set();
    event.clear();
    let mut wait = Box::pin(event.wait());
    assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
    assert!(
        poll_pinned(wait.as_mut(), &waker).is_pending(),
        "re-polls keep waiting"
    );
    event.set();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_pinned(wait.as_mut(), &waker), Poll::Ready(()));
}

#[test]
fn a_cancelled_waiter_affects_no_other() {
    let event = Event::new();
    let (_, waker) = CountingWaker::new();
    let mut keep: Vec<_> = (0..10).map(|_| Box::pin(event.wait())).collect();
    let mut gone: Vec<_> = (0..10).map(|_| Box::pin(event.wait())).collect();
    for wait in keep.iter_mut().chain(gone.iter_mut()) {
        assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
    }
    drop(gone);
    event.set();
    for wait in &mut keep {
        assert_eq!(poll_pinned(wait.as_mut(), &waker), Poll::Ready(()));
    }
}

#[test]
fn waits_spend_the_coop_budget() {
    let event = Event::new();
    event.set();
    let (counter, waker) = CountingWaker::new();
    let previous = hooks::set_budget(Some(0));
    let spent = poll_pinned(std::pin::pin!(event.wait()), &waker);
    hooks::set_budget(Some(5));
    let ready = poll_pinned(std::pin::pin!(event.wait()), &waker);
    let left = hooks::budget();
    hooks::set_budget(previous);
    assert!(spent.is_pending());
    assert_eq!(counter.wakes(), 1);
    assert_eq!((ready, left), (Poll::Ready(()), Some(4)));
}

// ===== threads, executors =====

#[test]
fn wait_blocking_threads_are_all_released_by_one_set() {
    within(20, || {
        let event = Arc::new(Event::new());
        let released = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (event, released) = (event.clone(), released.clone());
                thread::spawn(move || {
                    event.wait_blocking();
                    released.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        assert_eq!(
            released.load(Ordering::SeqCst),
            0,
            "nobody passes before set"
        );
        event.set();
        for t in threads {
            t.join().expect("waiter thread");
        }
        assert_eq!(released.load(Ordering::SeqCst), 8);
    });
}

#[test]
fn wait_timeout_blocking_reports_set_or_timeout() {
    let event = Arc::new(Event::new());
    assert!(
        !event.wait_timeout_blocking(Duration::from_millis(10)),
        "times out: false"
    );
    let setter = {
        let event = event.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            event.set();
        })
    };
    assert!(
        event.wait_timeout_blocking(Duration::from_secs(10)),
        "set in time: true"
    );
    setter.join().expect("setter");
    assert!(
        event.wait_timeout_blocking(Duration::ZERO),
        "already set: true at once"
    );
    assert!(
        event.wait_timeout_blocking(Duration::MAX),
        "an endless timeout is fine"
    );
}

#[test]
#[should_panic(expected = "`Event::wait_blocking` would block a runtime worker thread")]
fn wait_blocking_panics_on_a_worker_thread() {
    let event = Event::new();
    hooks::set_worker_thread(true);
    event.wait_blocking();
}

#[test]
#[should_panic(expected = "`Event::wait_timeout_blocking` would block a runtime worker thread")]
fn wait_timeout_blocking_panics_on_a_worker_thread() {
    let event = Event::new();
    hooks::set_worker_thread(true);
    event.wait_timeout_blocking(Duration::from_millis(1));
}

#[test]
fn futures_thread_pool_tasks_wait_for_one_set() {
    within(20, || {
        let pool = ThreadPool::builder().pool_size(2).create().expect("pool");
        let event = Arc::new(Event::new());
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let event = event.clone();
                pool.spawn_with_handle(async move {
                    event.wait().await;
                    i
                })
                .expect("spawn")
            })
            .collect();
        event.set();
        let sum: usize = block_on(futures::future::join_all(handles))
            .into_iter()
            .sum();
        assert_eq!(sum, (0..20).sum());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tasks_and_a_thread_share_an_event() {
    let event = Arc::new(Event::new());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let event = event.clone();
            tokio::spawn(async move { event.wait().await })
        })
        .collect();
    let thread_waiter = {
        let event = event.clone();
        thread::spawn(move || event.wait_blocking())
    };
    tokio::task::yield_now().await;
    event.set();
    for task in tasks {
        task.await.expect("waiter task");
    }
    thread_waiter.join().expect("thread waiter");
}

// ===== stress: cancellation =====

/// Waiters give up at random (timeouts) and wait again while the event is toggled; once it is
/// finally set and stays set, every waiter finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_random_cancellation_then_set_releases_everyone() {
    let event = Arc::new(Event::new());
    let timeouts = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..50u64)
        .map(|i| {
            let (event, timeouts) = (event.clone(), timeouts.clone());
            tokio::spawn(async move {
                let mut step = i;
                loop {
                    step = step.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let wait = Duration::from_micros(step >> 54);
                    match tokio::time::timeout(wait, event.wait()).await {
                        Ok(()) if event.is_set() => return,
                        Ok(()) => {} // woken by a set that a clear followed: wait again
                        Err(_) => {
                            timeouts.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for _ in 0..200 {
        event.set();
        event.clear();
        tokio::task::yield_now().await;
    }
    event.set();
    for w in waiters {
        w.await.expect("waiter");
    }
}

// ===== the seeds =====

/// Seed 003: five workers wait for the boss's first `set`, `clear` it, and wait for the
/// second `set`, which comes later; every worker starts and ends.
#[test]
fn seed_boss_sets_workers_clear_and_wait_again() {
    within(20, || {
        let event = Arc::new(Event::new());
        let (log_tx, log_rx) = mpsc::channel();
        // The seed sleeps a second before the clear so that every worker is past the first
        // wait; a barrier says the same without the sleep.
        let all_started = Arc::new(std::sync::Barrier::new(5));
        let workers: Vec<_> = (0..5)
            .map(|_| {
                let (event, log) = (event.clone(), log_tx.clone());
                let all_started = all_started.clone();
                thread::spawn(move || {
                    event.wait_blocking();
                    all_started.wait();
                    event.clear();
                    // Logged after the clear, so the boss's second `set` comes after it.
                    log.send("start").expect("log");
                    event.wait_blocking();
                    log.send("end").expect("log");
                })
            })
            .collect();
        event.set(); // "Boss: overtime"
        let starts: Vec<_> = (0..5).map(|_| log_rx.recv().expect("start")).collect();
        assert!(starts.iter().all(|s| *s == "start"));
        event.set(); // "Boss: off work"
        for w in workers {
            w.join().expect("worker");
        }
        drop(log_tx);
        assert_eq!(log_rx.iter().filter(|s| *s == "end").count(), 5);
    });
}

/// Seed 004: `conn_mysql` retries `wait(timeout)` up to N times until `check_net` sets it.
#[test]
fn seed_connect_retries_until_the_network_check_sets_the_event() {
    let net_ok = Arc::new(Event::new());
    let (timed_out_tx, timed_out_rx) = mpsc::channel();
    let checker = {
        let net_ok = net_ok.clone();
        thread::spawn(move || {
            // The network comes up after the connector has given up twice.
            for _ in 0..2 {
                timed_out_rx
                    .recv()
                    .expect("the connector reports its timeouts");
            }
            net_ok.set();
        })
    };
    let mut attempts = 0;
    while !net_ok.wait_timeout_blocking(Duration::from_millis(5)) {
        attempts += 1;
        let _ = timed_out_tx.send(());
        assert!(attempts < 10_000, "the checker sets the event");
    }
    assert!(attempts >= 2, "the attempts before the check time out");
    checker.join().expect("checker");
}

// ===== a waker that panics =====

/// A waker whose `wake` panics.
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("a waker that panics when woken");
    }
}

#[test]
fn a_waker_that_panics_does_not_keep_the_others_from_being_woken() {
    // More waiters than one wake batch, the panicking one first.
    let event = Event::new();
    let bad = std::task::Waker::from(Arc::new(PanickingWaker));
    let mut first = Box::pin(event.wait());
    assert!(poll_pinned(first.as_mut(), &bad).is_pending());
    let others: Vec<_> = (0..40)
        .map(|_| {
            let (counter, waker) = CountingWaker::new();
            let mut wait = Box::pin(event.wait());
            assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
            (counter, wait)
        })
        .collect();

    // The panic reaches the caller of `set`, after every other waiter was woken.
    let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| event.set()));
    assert!(set.is_err(), "the waker's panic was swallowed");
    assert!(event.is_set());
    for (i, (counter, mut wait)) in others.into_iter().enumerate() {
        assert_eq!(counter.wakes(), 1, "waiter {i} was never woken");
        assert_eq!(poll_once(wait.as_mut()), Poll::Ready(()));
    }
    assert_eq!(poll_once(first.as_mut()), Poll::Ready(()));
}

// ===== Python's Event suite (Lib/test/lock_tests.py) =====

#[test]
fn timed_waits_on_many_threads_report_clear_then_set() {
    let event = Event::new();
    let both_waits = |second: Duration| {
        thread::scope(|s| {
            let waits: Vec<_> = (0..5)
                .map(|_| {
                    s.spawn(|| {
                        (
                            event.wait_timeout_blocking(Duration::ZERO),
                            event.wait_timeout_blocking(second),
                        )
                    })
                })
                .collect();
            waits
                .into_iter()
                .map(|w| w.join().expect("waiter"))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        both_waits(Duration::from_millis(20)),
        [(false, false); 5],
        "a clear event times out, a zero timeout at once"
    );
    event.set();
    assert_eq!(both_waits(Duration::from_secs(10)), [(true, true); 5]);
}
