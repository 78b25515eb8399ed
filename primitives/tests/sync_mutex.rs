//! `Mutex`: mutual exclusion on every executor and from OS threads, guards held across
//! `.await` in spawned tasks, queued waiters served in order, a woken waiter that loses a race
//! is handed the lock next (no starvation), cancelled waiters lose nothing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use runtime_primitives::{hooks, Mutex, MutexGuard};

mod support;
use support::*;

// ===== mutual exclusion, on every executor =====

/// The seeds' counter: threads add and subtract under the lock; the total stays exact.
#[test]
fn counter_on_os_threads() {
    within(20, || {
        let x = Arc::new(Mutex::new(0i64));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let x = x.clone();
                thread::spawn(move || {
                    for _ in 0..10_000 {
                        *x.lock_blocking() += if i % 2 == 0 { 1 } else { -1 };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*x.lock_blocking(), 0);
    });
}

/// Guards held across `.await` in tasks spawned on tokio's multi-thread runtime: the
/// read-modify-write spanning the await is never interleaved.
#[test]
fn guard_held_across_await_on_tokio() {
    within(20, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let x = Arc::new(Mutex::new(0u64));
        rt.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let x = x.clone();
                    tokio::spawn(async move {
                        for _ in 0..200 {
                            let mut guard = x.lock().await;
                            let read = *guard;
                            tokio::task::yield_now().await;
                            *guard = read + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(*x.lock_blocking(), 16 * 200);
    });
}

#[test]
fn counter_on_futures_thread_pool_with_owned_guards() {
    within(20, || {
        let pool = futures::executor::ThreadPool::new().unwrap();
        let x = Arc::new(Mutex::new(0u64));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let x = x.clone();
                futures::task::SpawnExt::spawn_with_handle(&pool, async move {
                    for _ in 0..1_000 {
                        *x.clone().lock_owned().await += 1;
                    }
                })
                .unwrap()
            })
            .collect();
        block_on(futures::future::join_all(handles));
        assert_eq!(*x.lock_blocking(), 8_000);
    });
}

#[test]
fn threads_and_tasks_share_one_mutex() {
    within(20, || {
        let x = Arc::new(Mutex::new(0u64));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let task = {
            let x = x.clone();
            rt.spawn(async move {
                for _ in 0..5_000 {
                    *x.lock().await += 1;
                }
            })
        };
        for _ in 0..5_000 {
            *x.lock_blocking() += 1;
        }
        rt.block_on(task).unwrap();
        assert_eq!(*x.lock_blocking(), 10_000);
    });
}

// ===== try_lock, guards, data access =====

#[test]
fn try_lock_fails_while_held() {
    let m = Mutex::new(1);
    let guard = m.try_lock().unwrap();
    assert!(m.is_locked());
    assert!(m.try_lock().is_err());
    drop(guard);
    assert!(m.try_lock().is_ok());
}

#[test]
fn try_lock_owned_fails_while_held_in_either_form() {
    let m = Arc::new(Mutex::new(0));
    let owned = m.clone().try_lock_owned().unwrap();
    assert!(m.is_locked());
    assert!(m.try_lock().is_err());
    assert!(m.clone().try_lock_owned().is_err());
    drop(owned);
    assert!(!m.is_locked());
    let borrowed = m.try_lock().unwrap();
    assert!(m.clone().try_lock_owned().is_err());
    drop(borrowed);
    assert!(m.clone().try_lock_owned().is_ok());
}

#[test]
fn default_and_from_build_an_unlocked_mutex() {
    let m: Mutex<Vec<u8>> = Mutex::default();
    assert!(!m.is_locked());
    assert!(m.try_lock().unwrap().is_empty());
    let m = Mutex::from(5);
    assert_eq!(*m.try_lock().unwrap(), 5);
}

#[test]
fn a_guard_dropped_by_a_panic_unlocks_and_nothing_is_poisoned() {
    // Python's `with lock:` releases on an exception; std's Mutex would poison here. Ours
    // does not poison by design: the next holder sees whatever the panicking one left.
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    let panicked = thread::spawn(move || {
        let mut guard = m2.lock_blocking();
        *guard = 1;
        panic!("inside the critical section");
    })
    .join();
    assert!(panicked.is_err());
    assert!(!m.is_locked());
    assert_eq!(*m.try_lock().expect("released by the unwind"), 1);

    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _guard = block_on(m.lock());
        panic!("again, on this thread");
    }));
    assert!(caught.is_err());
    assert!(m.try_lock().is_ok());
}

#[test]
fn get_mut_into_inner_map_and_debug() {
    let mut m = Mutex::new((1, String::from("a")));
    m.get_mut().0 = 2;
    {
        let guard = m.try_lock().unwrap();
        assert!(std::ptr::eq(MutexGuard::mutex(&guard), &m));
        let mut name = MutexGuard::map(guard, |pair| &mut pair.1);
        name.push('b');
        assert!(
            m.try_lock().is_err(),
            "the mapped guard still holds the lock"
        );
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    }
    assert_eq!(format!("{m:?}"), r#"Mutex { data: (2, "ab") }"#);
    assert_eq!(m.into_inner(), (2, String::from("ab")));
}

#[test]
fn owned_guard_moves_to_another_thread() {
    let m = Arc::new(Mutex::new(vec![1]));
    let mut guard = block_on(m.clone().lock_owned());
    assert!(Arc::ptr_eq(guard.mutex(), &m));
    thread::spawn(move || guard.push(2)).join().unwrap();
    assert_eq!(*m.lock_blocking(), [1, 2]);
}

// ===== order, fairness, cancellation =====

#[test]
fn queued_waiters_get_the_lock_in_order() {
    let m = Mutex::new(Vec::new());
    let held = m.try_lock().unwrap();
    let mut waiters: Vec<_> = (0..3).map(|_| Box::pin(m.lock())).collect();
    for w in &mut waiters {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    drop(held);
    for (i, w) in waiters.iter_mut().enumerate() {
        let Poll::Ready(mut guard) = poll_once(w.as_mut()) else {
            panic!("waiter {i} is next");
        };
        guard.push(i);
        drop(guard);
    }
    assert_eq!(*m.try_lock().unwrap(), [0, 1, 2]);
}

#[test]
fn unlock_wakes_only_the_front_waiter() {
    let m = Mutex::new(());
    let held = m.try_lock().unwrap();
    let (first_wakes, first_waker) = CountingWaker::new();
    let (second_wakes, second_waker) = CountingWaker::new();
    let mut first = Box::pin(m.lock());
    let mut second = Box::pin(m.lock());
    assert!(poll_pinned(first.as_mut(), &first_waker).is_pending());
    assert!(poll_pinned(second.as_mut(), &second_waker).is_pending());
    drop(held);
    assert_eq!(first_wakes.wakes(), 1);
    assert_eq!(second_wakes.wakes(), 0);
    assert!(poll_pinned(first.as_mut(), &first_waker).is_ready());
}

/// The no-starvation promise: a woken waiter that finds the lock taken by a newcomer goes
/// back to the front, and the next unlock hands the lock straight to it.
#[test]
fn woken_waiter_that_loses_a_race_is_handed_the_lock_next() {
    let m = Mutex::new(0);
    let held = m.try_lock().unwrap();
    let mut waiter = Box::pin(m.lock());
    assert!(poll_once(waiter.as_mut()).is_pending());
    drop(held); // wakes `waiter` to compete
    let barger = m.try_lock().expect("a running task may take a free lock");
    assert!(poll_once(waiter.as_mut()).is_pending(), "lost the race");
    let mut newcomer = Box::pin(m.lock());
    assert!(poll_once(newcomer.as_mut()).is_pending());
    drop(barger); // hand-over mode: straight to the waiter that lost
    assert!(m.try_lock().is_err(), "nobody may barge during a hand-over");
    let Poll::Ready(mut guard) = poll_once(waiter.as_mut()) else {
        panic!("the lock was handed to the waiter that lost");
    };
    *guard += 1;
    assert!(poll_once(newcomer.as_mut()).is_pending());
    drop(guard);
    assert!(poll_once(newcomer.as_mut()).is_ready());
}

#[test]
fn dropped_waiter_leaves_the_queue() {
    let m = Mutex::new(());
    let held = m.try_lock().unwrap();
    let mut first = Box::pin(m.lock());
    let mut second = Box::pin(m.lock());
    assert!(poll_once(first.as_mut()).is_pending());
    assert!(poll_once(second.as_mut()).is_pending());
    drop(first);
    drop(held);
    assert!(poll_once(second.as_mut()).is_ready());
}

#[test]
fn dropped_woken_waiter_wakes_the_next_one() {
    let m = Mutex::new(());
    let held = m.try_lock().unwrap();
    let mut first = Box::pin(m.lock());
    let (second_wakes, second_waker) = CountingWaker::new();
    let mut second = Box::pin(m.lock());
    assert!(poll_once(first.as_mut()).is_pending());
    assert!(poll_pinned(second.as_mut(), &second_waker).is_pending());
    drop(held); // wakes `first`
    drop(first); // ...which passes the wake-up on
    assert_eq!(second_wakes.wakes(), 1);
    assert!(poll_pinned(second.as_mut(), &second_waker).is_ready());
}

#[test]
fn dropped_waiter_that_was_handed_the_lock_unlocks_it() {
    let m = Mutex::new(());
    let held = m.try_lock().unwrap();
    let mut loser = Box::pin(m.lock());
    assert!(poll_once(loser.as_mut()).is_pending());
    drop(held);
    let barger = m.try_lock().unwrap();
    assert!(poll_once(loser.as_mut()).is_pending()); // lost: hand-over mode
    let mut next = Box::pin(m.lock());
    assert!(poll_once(next.as_mut()).is_pending());
    drop(barger); // handed to `loser`
    drop(loser); // never used it: handed on
    assert!(poll_once(next.as_mut()).is_ready());
}

/// Tasks lock under random `tokio::time::timeout`s; the count of increments matches the
/// locks that succeeded, and the mutex ends free.
#[test]
fn stress_random_timeouts() {
    within(20, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let m = Arc::new(Mutex::new(0usize));
        let ok = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let tasks: Vec<_> = (0..32u64)
                .map(|seed| {
                    let (m, ok) = (m.clone(), ok.clone());
                    tokio::spawn(async move {
                        let mut rng = Rng(seed * 31 + 7);
                        for _ in 0..100 {
                            let wait = Duration::from_micros(rng.below(200));
                            if let Ok(mut guard) = tokio::time::timeout(wait, m.lock()).await {
                                *guard += 1;
                                ok.fetch_add(1, Ordering::Relaxed);
                                if rng.below(4) == 0 {
                                    tokio::task::yield_now().await;
                                }
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let guard = m.try_lock().expect("the mutex ends free");
        assert_eq!(*guard, ok.load(Ordering::Relaxed));
    });
}

// ===== hooks =====

#[test]
fn lock_blocking_on_a_worker_thread_panics_naming_the_async_form() {
    let result = thread::spawn(|| {
        hooks::set_worker_thread(true);
        let m = Mutex::new(());
        catch_unwind(AssertUnwindSafe(|| drop(m.lock_blocking())))
    })
    .join()
    .unwrap();
    let err = result.unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("Mutex::lock_blocking"), "{msg}");
    assert!(msg.contains("mutex.lock().await"), "{msg}");
}

#[test]
fn each_lock_spends_one_unit_of_coop_budget() {
    let m = Mutex::new(());
    let previous = hooks::set_budget(Some(1));
    let mut first = Box::pin(m.lock());
    let Poll::Ready(guard) = poll_once(first.as_mut()) else {
        panic!("free lock, budget left");
    };
    drop(guard);
    let mut second = Box::pin(m.lock());
    assert!(
        poll_once(second.as_mut()).is_pending(),
        "budget spent: yield"
    );
    hooks::set_budget(previous);
    assert!(poll_once(second.as_mut()).is_ready());
}

// ===== Python's Lock suite (Lib/test/lock_tests.py) =====

#[test]
fn try_lock_from_another_thread_fails_while_held() {
    let m = Mutex::new(());
    let guard = m.try_lock().expect("free");
    thread::scope(|s| {
        let refused = s.spawn(|| m.try_lock().is_err()).join().expect("thread");
        assert!(refused, "another thread cannot take a held lock");
    });
    drop(guard);
    thread::scope(|s| {
        let taken = s.spawn(|| m.try_lock().is_ok()).join().expect("thread");
        assert!(taken, "and can once it is released");
    });
}

#[test]
fn threads_blocked_in_lock_blocking_all_get_the_lock_after_the_release() {
    let m = Arc::new(Mutex::new(0u32));
    let guard = m.clone().try_lock_owned().expect("free");
    let (done_tx, done_rx) = mpsc::channel();
    let threads: Vec<_> = (0..5)
        .map(|_| {
            let (m, done) = (m.clone(), done_tx.clone());
            thread::spawn(move || {
                *m.lock_blocking() += 1;
                done.send(()).expect("test alive");
            })
        })
        .collect();
    // Whether or not the threads have reached `lock_blocking` yet, none may get through while
    // the guard lives: this short wait only gives a broken lock the chance to show.
    assert_eq!(
        done_rx.recv_timeout(Duration::from_millis(50)),
        Err(mpsc::RecvTimeoutError::Timeout),
        "a thread got the lock while it was held"
    );
    drop(guard);
    for _ in 0..5 {
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("every blocked thread gets the lock once it is released");
    }
    for t in threads {
        t.join().expect("locker");
    }
    assert_eq!(*m.try_lock().expect("free again"), 5);
}

#[test]
fn the_holder_locking_again_waits_until_another_thread_unlocks() {
    // Not re-entrant: a thread that locks again blocks until the first guard goes, and that
    // guard (an owned one) may be dropped by another thread.
    let m = Arc::new(Mutex::new(0));
    let (guard_tx, guard_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let holder = {
        let m = m.clone();
        thread::spawn(move || {
            let first = block_on(m.clone().lock_owned());
            guard_tx.send(first).expect("test alive");
            *m.lock_blocking() += 1;
            done_tx.send(()).expect("test alive");
        })
    };
    let first = guard_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the holder locks");
    // As above: the second lock must not succeed while `first` lives, however long we wait.
    assert_eq!(
        done_rx.recv_timeout(Duration::from_millis(50)),
        Err(mpsc::RecvTimeoutError::Timeout),
        "the second lock got through while the first guard lived"
    );
    drop(first);
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the second lock succeeds once another thread released the first");
    holder.join().expect("holder");
    assert_eq!(*m.try_lock().expect("free"), 1);
}

#[tokio::test]
async fn a_timed_out_lock_leaves_the_mutex_unlocked_and_usable() {
    // Python's `acquire(timeout=...)` is `time::timeout(d, m.lock())` here.
    let m = Mutex::new(0);
    let guard = m.lock().await;
    assert!(
        tokio::time::timeout(Duration::from_millis(10), m.lock())
            .await
            .is_err(),
        "a held lock times out"
    );
    drop(guard);
    assert!(!m.is_locked());
    assert!(m.try_lock().is_ok());
    let got = tokio::time::timeout(Duration::from_secs(10), m.lock()).await;
    assert!(got.is_ok(), "a free lock is taken well within the timeout");
}
