//! `Condvar` with `Mutex`: unlocking and queueing are one step (no lost notify), the lock is
//! taken back before a wait returns, notify_one/notify(n)/notify_all wake that many, a
//! notified waiter that is dropped passes the notification on, timeouts report correctly,
//! and the seeds' alternating speakers and dispatcher work on threads, futures and tokio.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::{block_on, ThreadPool};
use futures::task::SpawnExt;
use runtime_primitives::{hooks, Condvar, Mutex};

mod support;
use support::*;

// ===== wait / notify =====

#[test]
fn the_first_poll_unlocks_and_a_notify_wakes_the_waiter_which_relocks() {
    let (m, cv) = (Mutex::new(0), Condvar::new());
    let (counter, waker) = CountingWaker::new();
    let guard = m.try_lock().expect("free");
    let mut wait = Box::pin(cv.wait(guard));
    assert!(m.is_locked(), "nothing happens before the first poll");
    assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
    let mut other = m.try_lock().expect("the wait unlocked the mutex");
    *other = 7;
    cv.notify_one();
    assert_eq!(counter.wakes(), 1);
    assert!(
        poll_pinned(wait.as_mut(), &waker).is_pending(),
        "the lock is still held by `other`"
    );
    drop(other);
    let Poll::Ready(guard) = poll_pinned(wait.as_mut(), &waker) else {
        panic!("the waiter takes the lock back");
    };
    assert_eq!(*guard, 7);
    assert!(m.is_locked(), "the wait returns holding the lock");
}

#[test]
fn a_notify_before_anyone_waits_is_not_remembered() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    cv.notify_one();
    cv.notify_all();
    let (_, waker) = CountingWaker::new();
    let mut wait = Box::pin(cv.wait(m.try_lock().expect("free")));
    assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
}

#[test]
fn notify_one_n_and_all_wake_that_many_in_fifo_order() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let wakers: Vec<_> = (0..6).map(|_| CountingWaker::new()).collect();
    let mut waits = Vec::new();
    for (_, waker) in &wakers {
        let mut wait = Box::pin(cv.wait(m.try_lock().expect("free between waits")));
        assert!(poll_pinned(wait.as_mut(), waker).is_pending());
        waits.push(wait);
    }
    let woken = || wakers.iter().map(|(c, _)| c.wakes()).collect::<Vec<_>>();
    cv.notify_one();
    assert_eq!(woken(), [1, 0, 0, 0, 0, 0]);
    assert_eq!(cv.notify(2), 2);
    assert_eq!(woken(), [1, 1, 1, 0, 0, 0]);
    assert_eq!(cv.notify_all(), 3);
    assert_eq!(woken(), [1; 6]);
    assert_eq!(cv.notify_all(), 0, "nobody left");
    for (wait, (_, waker)) in waits.iter_mut().zip(&wakers) {
        let Poll::Ready(guard) = poll_pinned(wait.as_mut(), waker) else {
            panic!("notified and the lock is free");
        };
        drop(guard);
    }
}

#[test]
fn a_notified_waiter_that_is_dropped_passes_the_notification_on() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let mut a = Box::pin(cv.wait(m.try_lock().expect("free")));
    assert!(poll_pinned(a.as_mut(), &first_waker).is_pending());
    let mut b = Box::pin(cv.wait(m.try_lock().expect("free")));
    assert!(poll_pinned(b.as_mut(), &second_waker).is_pending());
    cv.notify_one();
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    drop(a);
    assert_eq!(second.wakes(), 1, "handed on");
    assert!(poll_pinned(b.as_mut(), &second_waker).is_ready());
}

#[test]
fn a_waiter_dropped_while_taking_the_lock_back_passes_the_notification_on() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let (_, waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let mut a = Box::pin(cv.wait(m.try_lock().expect("free")));
    assert!(poll_pinned(a.as_mut(), &waker).is_pending());
    let mut b = Box::pin(cv.wait(m.try_lock().expect("free")));
    assert!(poll_pinned(b.as_mut(), &second_waker).is_pending());
    let holder = m.try_lock().expect("free");
    cv.notify_one();
    assert!(
        poll_pinned(a.as_mut(), &waker).is_pending(),
        "notified, waiting for the lock"
    );
    drop(a);
    assert_eq!(second.wakes(), 1, "handed on");
    drop(holder);
    assert!(poll_pinned(b.as_mut(), &second_waker).is_ready());
}

#[test]
fn a_dropped_waiter_that_was_not_notified_takes_nothing() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let (_, waker) = CountingWaker::new();
    let mut a = Box::pin(cv.wait(m.try_lock().expect("free")));
    assert!(poll_pinned(a.as_mut(), &waker).is_pending());
    drop(a);
    assert_eq!(cv.notify_all(), 0);
    let never_polled = cv.wait(m.try_lock().expect("free"));
    drop(never_polled); // drops the guard
    assert!(!m.is_locked());
}

#[test]
fn wait_while_rechecks_with_the_lock_held() {
    within(20, || {
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let bumper = {
            let pair = pair.clone();
            thread::spawn(move || {
                for _ in 0..10 {
                    *pair.0.lock_blocking() += 1;
                    pair.1.notify_all();
                }
            })
        };
        let guard = block_on(async {
            let guard = pair.0.lock().await;
            pair.1.wait_while(guard, |n| *n < 10).await
        });
        assert_eq!(*guard, 10);
        drop(guard);
        bumper.join().expect("bumper");
    });
}

// ===== timeouts =====

#[test]
fn wait_timeout_reports_the_timer_or_the_notification() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let (_, timed_out) = block_on(cv.wait_timeout(m.try_lock().expect("free"), async {}));
    assert!(timed_out, "a fired timer times out");
    assert!(!m.is_locked());

    let (_, waker) = CountingWaker::new();
    let mut wait = Box::pin(cv.wait_timeout(
        m.try_lock().expect("free"),
        futures::future::pending::<()>(),
    ));
    assert!(poll_pinned(wait.as_mut(), &waker).is_pending());
    cv.notify_one();
    let Poll::Ready((guard, timed_out)) = poll_pinned(wait.as_mut(), &waker) else {
        panic!("notified");
    };
    assert!(!timed_out);
    drop(guard);
    assert_eq!(
        cv.notify_all(),
        0,
        "a timed-out waiter leaves no node behind"
    );
}

#[test]
fn wait_timeout_blocking_times_out_or_is_notified() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (m, cv) = (&pair.0, &pair.1);
    let (guard, timed_out) = cv.wait_timeout_blocking(m.lock_blocking(), Duration::from_millis(10));
    assert!(timed_out);
    drop(guard);
    let notifier = {
        let pair = pair.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            *pair.0.lock_blocking() = true;
            pair.1.notify_one();
        })
    };
    let mut guard = m.lock_blocking();
    while !*guard {
        let (g, timed_out) = cv.wait_timeout_blocking(guard, Duration::from_secs(10));
        assert!(!timed_out || *g, "notified well within the timeout");
        guard = g;
    }
    drop(guard);
    notifier.join().expect("notifier");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_wait_timeout_with_a_tokio_sleep() {
    let pair = Arc::new((Mutex::new(0), Condvar::new()));
    let (guard, timed_out) = pair
        .1
        .wait_timeout(
            pair.0.lock().await,
            tokio::time::sleep(Duration::from_millis(5)),
        )
        .await;
    assert!(timed_out);
    drop(guard);
    let notifier = {
        let pair = pair.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            *pair.0.lock().await = 1;
            pair.1.notify_all();
        })
    };
    let mut guard = pair.0.lock().await;
    while *guard == 0 {
        let (g, _) = pair
            .1
            .wait_timeout(guard, tokio::time::sleep(Duration::from_secs(10)))
            .await;
        guard = g;
    }
    drop(guard);
    notifier.await.expect("notifier");
}

// ===== no lost notification =====

/// The classic lost-wake-up race, many times over: the waiter checks the flag under the lock
/// and waits; the notifier sets it under the lock and notifies. With unlock and queueing in
/// one step the waiter always wakes.
#[test]
fn no_notification_is_lost_between_the_check_and_the_wait() {
    within(20, || {
        for _ in 0..500 {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let waiter = {
                let pair = pair.clone();
                thread::spawn(move || {
                    let (flag, cv) = &*pair;
                    let mut guard = flag.lock_blocking();
                    while !*guard {
                        guard = cv.wait_blocking(guard);
                    }
                })
            };
            *pair.0.lock_blocking() = true;
            pair.1.notify_one();
            waiter.join().expect("waiter");
        }
    });
}

/// A bounded buffer on `Mutex` + `Condvar`, consumers cancelled at random by timeouts: every
/// item is consumed exactly once (a notification a cancelled consumer received is passed on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_random_cancellation_loses_no_notification() {
    const ITEMS: usize = 2_000;
    let state = Arc::new((Mutex::new((Vec::<usize>::new(), false)), Condvar::new()));
    let consumed = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..4u64)
        .map(|c| {
            let (state, consumed) = (state.clone(), consumed.clone());
            tokio::spawn(async move {
                let mut step = c + 3;
                loop {
                    step = step.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let wait = Duration::from_micros(step >> 55);
                    let (m, cv) = &*state;
                    let got = tokio::time::timeout(wait, async {
                        let mut guard = m.lock().await;
                        loop {
                            if let Some(item) = guard.0.pop() {
                                return Some(item);
                            }
                            if guard.1 {
                                return None;
                            }
                            guard = cv.wait(guard).await;
                        }
                    })
                    .await;
                    match got {
                        Ok(Some(_)) => {
                            consumed.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(None) => return,
                        Err(_) => {} // cancelled: lose nothing
                    }
                }
            })
        })
        .collect();
    for i in 0..ITEMS {
        let (m, cv) = &*state;
        m.lock().await.0.push(i);
        cv.notify_one();
        if i % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    state.0.lock().await.1 = true;
    state.1.notify_all();
    for c in consumers {
        tokio::time::timeout(Duration::from_secs(20), c)
            .await
            .expect("every consumer ends")
            .expect("consumer");
    }
    assert_eq!(consumed.load(Ordering::SeqCst), ITEMS);
}

// ===== the seeds =====

/// Seed 002: the two smart speakers recite the poem strictly in turn, as futures tasks.
#[test]
fn seed_two_speakers_alternate_strictly() {
    within(20, || {
        let lines = [
            "天猫精灵: 小爱同学",
            "小爱: 在",
            "天猫精灵: 我们来对古诗吧",
            "小爱: 好啊",
            "天猫精灵: 我住长江头",
            "小爱: 君住长江尾",
            "天猫精灵: 日日思君不见君",
            "小爱: 共饮长江水",
            "天猫精灵: 此水几时休",
            "小爱: 此恨何时已",
            "天猫精灵: 只愿君心似我心",
            "小爱: 定不负相思意",
        ];
        let pool = ThreadPool::builder().pool_size(2).create().expect("pool");
        let state = Arc::new((Mutex::new(Vec::<&str>::new()), Condvar::new()));
        let speakers: Vec<_> = (0..2)
            .map(|me| {
                let state = state.clone();
                pool.spawn_with_handle(async move {
                    let (said, cv) = &*state;
                    for i in (me..lines.len()).step_by(2) {
                        let mut guard = cv.wait_while(said.lock().await, |s| s.len() != i).await;
                        guard.push(lines[i]);
                        drop(guard);
                        cv.notify_all();
                    }
                })
                .expect("spawn")
            })
            .collect();
        block_on(futures::future::join_all(speakers));
        assert_eq!(*block_on(state.0.lock()), lines);
    });
}

/// Seed 004: a dispatcher produces data under the lock with `notify_all`; a consumer waits
/// with a timeout so it notices when production stops.
#[test]
fn seed_dispatcher_with_notify_all_and_a_timed_wait() {
    within(20, || {
        let state = Arc::new((Mutex::new((None::<u32>, false)), Condvar::new()));
        let producer = {
            let state = state.clone();
            thread::spawn(move || {
                for data in 0..10 {
                    let (m, cv) = &*state;
                    m.lock_blocking().0 = Some(data);
                    cv.notify_all();
                    thread::sleep(Duration::from_millis(2));
                }
                state.0.lock_blocking().1 = true; // done producing
                state.1.notify_all();
            })
        };
        let mut received = Vec::new();
        let (m, cv) = &*state;
        loop {
            let (mut guard, _) =
                cv.wait_timeout_blocking(m.lock_blocking(), Duration::from_millis(50));
            if let Some(data) = guard.0.take() {
                received.push(data);
            }
            if guard.1 {
                break;
            }
        }
        producer.join().expect("producer");
        assert!(!received.is_empty());
        assert!(
            received.windows(2).all(|w| w[0] < w[1]),
            "in production order"
        );
    });
}

/// Python's `Condition.wait_for(predicate, timeout)` from our parts: waits until
/// `ready` holds or `timeout` has passed, and returns the guard with `ready`'s last verdict.
fn wait_for_until<'a, T>(
    cv: &Condvar,
    mut guard: runtime_primitives::MutexGuard<'a, T>,
    timeout: Duration,
    mut ready: impl FnMut(&T) -> bool,
) -> (runtime_primitives::MutexGuard<'a, T>, bool) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if ready(&guard) {
            return (guard, true);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return (guard, false);
        }
        guard = cv.wait_timeout_blocking(guard, left).0;
    }
}

#[test]
fn a_predicate_wait_with_a_timeout_reports_the_predicate_and_holds_the_lock() {
    // Python's `test_waitfor_timeout` and `test_waitfor`, with `wait_timeout_blocking`.
    within(20, || {
        let shared = Arc::new((Mutex::new(0u32), Condvar::new()));

        // Nobody makes it true: false once the time is up, with the lock held.
        let (m, cv) = &*shared;
        let (guard, ok) = wait_for_until(cv, m.lock_blocking(), Duration::from_millis(20), |s| {
            *s == 4
        });
        assert!(!ok);
        assert!(m.is_locked(), "the wait returns with the lock held");
        drop(guard);

        // A notifier steps the state to 4: true, seeing 4.
        let notifier = {
            let shared = shared.clone();
            thread::spawn(move || {
                for _ in 0..4 {
                    let (m, cv) = &*shared;
                    *m.lock_blocking() += 1;
                    cv.notify_all();
                    thread::yield_now();
                }
            })
        };
        let (guard, ok) =
            wait_for_until(cv, m.lock_blocking(), Duration::from_secs(15), |s| *s == 4);
        assert!(ok);
        assert_eq!(*guard, 4);
        drop(guard);
        notifier.join().unwrap();
    });
}

#[test]
#[should_panic(expected = "`Condvar::wait_blocking` would block a runtime worker thread")]
fn wait_blocking_panics_on_a_worker_thread() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let guard = m.try_lock().expect("free");
    hooks::set_worker_thread(true);
    let _ = cv.wait_blocking(guard);
}

#[test]
#[should_panic(expected = "`Condvar::wait_timeout_blocking` would block a runtime worker thread")]
fn wait_timeout_blocking_panics_on_a_worker_thread() {
    let (m, cv) = (Mutex::new(()), Condvar::new());
    let guard = m.try_lock().expect("free");
    hooks::set_worker_thread(true);
    let _ = cv.wait_timeout_blocking(guard, Duration::from_millis(1));
}

#[test]
fn futures_are_send_and_debug_prints() {
    fn send<T: Send>(_: &T) {}
    let (m, cv) = (Mutex::new(1), Condvar::new());
    let wait = cv.wait(m.try_lock().expect("free"));
    send(&wait);
    drop(wait);
    assert!(format!("{cv:?}").contains("Condvar"));
}

// ===== Python's Condition suite (Lib/test/lock_tests.py) =====

#[test]
fn notify_counts_span_waiters_in_their_first_and_second_wait() {
    // Five workers wait twice each, recording the phase they see when woken. notify(3) wakes
    // three first waits; notify(5) then wakes the two left in their first wait and the three
    // already in their second (FIFO); notify_all wakes the last two. Twice on one condvar.
    let (m, cv) = (Mutex::new(0u32), Condvar::new());
    for _round in 0..2 {
        let first = std::sync::Mutex::new(Vec::new());
        let second = std::sync::Mutex::new(Vec::new());
        let mut workers: Vec<_> = (0..5)
            .map(|_| {
                let (m, cv, first, second) = (&m, &cv, &first, &second);
                Some(Box::pin(async move {
                    let guard = cv.wait(m.lock().await).await;
                    first.lock().unwrap().push(*guard);
                    drop(guard);
                    let guard = cv.wait(m.lock().await).await;
                    second.lock().unwrap().push(*guard);
                }))
            })
            .collect();
        // Polls every unfinished worker once; returns how many finished.
        let mut poll_all = || {
            let mut finished = 0;
            for slot in workers.iter_mut() {
                if slot
                    .as_mut()
                    .is_some_and(|w| poll_once(w.as_mut()).is_ready())
                {
                    *slot = None;
                    finished += 1;
                }
            }
            finished
        };
        let notify_in_phase = |phase: u32, notify: &dyn Fn() -> usize| {
            let mut guard = m
                .try_lock()
                .expect("no worker holds the lock between polls");
            *guard = phase;
            let woken = notify();
            drop(guard);
            woken
        };
        assert_eq!(poll_all(), 0, "all in their first wait");
        assert_eq!(notify_in_phase(1, &|| cv.notify(3)), 3);
        assert_eq!(poll_all(), 0);
        assert_eq!(*first.lock().unwrap(), [1; 3]);
        assert!(second.lock().unwrap().is_empty());
        assert_eq!(notify_in_phase(2, &|| cv.notify(5)), 5);
        assert_eq!(poll_all(), 3, "the three in their second wait finish");
        assert_eq!(*first.lock().unwrap(), [1, 1, 1, 2, 2]);
        assert_eq!(*second.lock().unwrap(), [2; 3]);
        assert_eq!(notify_in_phase(3, &|| cv.notify_all()), 2);
        assert_eq!(poll_all(), 2, "the last two finish");
        assert_eq!(*second.lock().unwrap(), [2, 2, 2, 3, 3]);
    }
}

#[test]
fn every_thread_in_a_timed_wait_times_out_when_nobody_notifies() {
    let (m, cv) = (Mutex::new(0), Condvar::new());
    thread::scope(|s| {
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                s.spawn(|| {
                    let (mut guard, timed_out) =
                        cv.wait_timeout_blocking(m.lock_blocking(), Duration::from_millis(20));
                    *guard += 1; // the lock is held again when the wait returns
                    timed_out
                })
            })
            .collect();
        for w in waiters {
            assert!(w.join().expect("waiter"), "nobody notified: timed out");
        }
    });
    assert_eq!(*m.try_lock().expect("free"), 5);
}
