//! `Semaphore`: the limit holds on every executor and from OS threads, waiters are served
//! FIFO (a request for k permits is not overtaken; one for a single permit loses at most one
//! race to a newcomer), cancelled waiters lose no permit, close wakes every waiter, and bad
//! input gets a clear error or panic.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use runtime_primitives::{hooks, AcquireError, Semaphore, TryAcquireError};

mod support;
use support::*;

// ===== limits, on every executor =====

#[test]
fn never_more_holders_than_permits_on_threads() {
    let sem = Arc::new(Semaphore::new(5));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
            thread::spawn(move || {
                for _ in 0..50 {
                    let _permit = sem.acquire_blocking().unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(max.load(Ordering::SeqCst) <= 5);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn never_more_holders_than_permits_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (sem, inside) = (sem.clone(), inside.clone());
                tokio::spawn(async move {
                    for _ in 0..20 {
                        let _permit = sem.clone().acquire_owned().await.unwrap();
                        assert!(inside.fetch_add(1, Ordering::SeqCst) < 3);
                        tokio::task::yield_now().await;
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn tasks_and_threads_share_one_semaphore() {
    let sem = Arc::new(Semaphore::new(1));
    let count = Arc::new(AtomicUsize::new(0));
    let pool = futures::executor::ThreadPool::new().unwrap();
    let (sem2, count2) = (sem.clone(), count.clone());
    let task = pool.spawn_with_handle_ok(async move {
        for _ in 0..500 {
            let _p = sem2.acquire().await.unwrap();
            count2.fetch_add(1, Ordering::SeqCst);
        }
    });
    for _ in 0..500 {
        let _p = sem.acquire_blocking().unwrap();
        count.fetch_add(1, Ordering::SeqCst);
    }
    block_on(task);
    assert_eq!(count.load(Ordering::SeqCst), 1000);
    assert_eq!(sem.available_permits(), 1);
}

/// `spawn_with_handle` without the `SpawnExt` import noise.
trait SpawnOk {
    fn spawn_with_handle_ok<F: Future<Output = ()> + Send + 'static>(
        &self,
        fut: F,
    ) -> futures::future::RemoteHandle<()>;
}

impl SpawnOk for futures::executor::ThreadPool {
    fn spawn_with_handle_ok<F: Future<Output = ()> + Send + 'static>(
        &self,
        fut: F,
    ) -> futures::future::RemoteHandle<()> {
        futures::task::SpawnExt::spawn_with_handle(self, fut).unwrap()
    }
}

// ===== FIFO =====

#[test]
fn acquire_many_is_not_overtaken_by_smaller_requests() {
    let sem = Semaphore::new(0);
    let mut big = Box::pin(sem.acquire_many(3));
    let mut small = Box::pin(sem.acquire());
    assert!(poll_once(big.as_mut()).is_pending());
    assert!(poll_once(small.as_mut()).is_pending());

    sem.add_permits(2);
    assert!(
        poll_once(small.as_mut()).is_pending(),
        "queued behind the big one"
    );
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    assert_eq!(
        sem.available_permits(),
        0,
        "the two went to the front waiter"
    );

    sem.add_permits(1);
    let big_permit = match poll_once(big.as_mut()) {
        Poll::Ready(p) => p.unwrap(),
        Poll::Pending => panic!("the front waiter has its 3 permits"),
    };
    assert_eq!(big_permit.num_permits(), 3);
    assert!(poll_once(small.as_mut()).is_pending());
    drop(big_permit);
    assert!(poll_once(small.as_mut()).is_ready());
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let sem = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..5).map(|_| Box::pin(sem.acquire())).collect();
    for w in &mut waiters {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    for i in 0..5 {
        sem.add_permits(1);
        for (j, w) in waiters.iter_mut().enumerate().skip(i) {
            let ready = poll_once(w.as_mut());
            assert_eq!(
                ready.is_ready(),
                j == i,
                "waiter {j} after {} permits",
                i + 1
            );
            if let Poll::Ready(permit) = ready {
                permit.unwrap().forget();
            }
        }
    }
}

#[test]
fn a_waiter_of_one_permit_loses_at_most_one_race() {
    let sem = Semaphore::new(1);
    let (wakes, waker) = CountingWaker::new();
    let held = sem.try_acquire().unwrap();
    let mut waiter = Box::pin(sem.acquire());
    assert!(poll_pinned(waiter.as_mut(), &waker).is_pending());
    drop(held);
    assert_eq!(
        wakes.wakes(),
        1,
        "woken to compete for the permit given back"
    );
    // The releasing side asks again before the waiter runs: it may take the permit back.
    let barged = sem
        .try_acquire()
        .expect("a permit given back is free to take");
    assert!(
        poll_pinned(waiter.as_mut(), &waker).is_pending(),
        "the waiter lost this race"
    );
    // Having lost once, it is served strictly: the next permit is handed to it, and
    // nobody else may take one meanwhile, neither by `try_acquire` nor by a new `acquire`.
    drop(barged);
    assert_eq!(wakes.wakes(), 2);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    let mut newcomer = Box::pin(sem.acquire());
    assert!(poll_pinned(newcomer.as_mut(), &waker).is_pending());
    let got = poll_pinned(waiter.as_mut(), &waker);
    assert!(matches!(got, Poll::Ready(Ok(_))), "handed the permit");
    drop(got);
    assert!(matches!(
        poll_pinned(newcomer.as_mut(), &waker),
        Poll::Ready(Ok(_))
    ));
}

#[test]
fn a_waiter_of_many_permits_makes_the_semaphore_strict() {
    // With a waiter for 2 queued, a permit given back is never free to take: it goes to the
    // waiters in order, so later, smaller requests can't starve the big one.
    let sem = Semaphore::new(2);
    let (a, b) = (sem.try_acquire().unwrap(), sem.try_acquire().unwrap());
    let mut big = Box::pin(sem.acquire_many(2));
    assert!(poll_once(big.as_mut()).is_pending());
    for permit in [a, b] {
        drop(permit);
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    }
    assert!(matches!(poll_once(big.as_mut()), Poll::Ready(Ok(_))));
}

// ===== cancellation =====

#[test]
fn dropped_waiter_passes_its_partial_permits_on() {
    let sem = Semaphore::new(0);
    let mut big = Box::pin(sem.acquire_many(3));
    let mut small = Box::pin(sem.acquire());
    assert!(poll_once(big.as_mut()).is_pending());
    assert!(poll_once(small.as_mut()).is_pending());
    sem.add_permits(2);
    drop(big);
    let Poll::Ready(permit) = poll_once(small.as_mut()) else {
        panic!("one of the two went on to the next waiter");
    };
    assert_eq!(sem.available_permits(), 1, "the other is free");
    drop(permit);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn waiter_dropped_after_it_was_granted_gives_everything_back() {
    let sem = Semaphore::new(0);
    let mut waiter = Box::pin(sem.acquire_many(2));
    assert!(poll_once(waiter.as_mut()).is_pending());
    sem.add_permits(2);
    drop(waiter); // granted, never polled again
    assert_eq!(sem.available_permits(), 2);
}

/// Many tasks acquire random counts under `tokio::time::timeout`s short enough to cancel a
/// good share of them while queued or just granted; every permit comes back in the end.
#[test]
fn stress_random_timeouts_lose_no_permit() {
    within(20, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let sem = Arc::new(Semaphore::new(4));
        let timed_out = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let tasks: Vec<_> = (0..32u64)
                .map(|seed| {
                    let (sem, timed_out) = (sem.clone(), timed_out.clone());
                    tokio::spawn(async move {
                        let mut rng = Rng(seed * 7919 + 1);
                        for _ in 0..60 {
                            let k = 1 + rng.below(3) as usize;
                            let wait = Duration::from_micros(rng.below(300));
                            match tokio::time::timeout(wait, sem.acquire_many(k)).await {
                                Ok(permit) => {
                                    let permit = permit.unwrap();
                                    assert_eq!(permit.num_permits(), k);
                                    if rng.below(2) == 0 {
                                        tokio::task::yield_now().await;
                                    }
                                }
                                Err(_) => {
                                    timed_out.fetch_add(1, Ordering::Relaxed);
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
        assert_eq!(
            sem.available_permits(),
            4,
            "a permit was lost or duplicated"
        );
    });
}

/// The same on OS threads and `futures::executor`, dropping futures after a random number of
/// polls instead of timing them out.
#[test]
fn stress_random_drops_on_threads_lose_no_permit() {
    within(20, || {
        let sem = Arc::new(Semaphore::new(3));
        let threads: Vec<_> = (0..6u64)
            .map(|seed| {
                let sem = sem.clone();
                thread::spawn(move || {
                    let mut rng = Rng(seed * 104_729 + 3);
                    for _ in 0..300 {
                        let k = 1 + rng.below(3) as usize;
                        let mut acquire = Box::pin(sem.acquire_many(k));
                        let polls = rng.below(4);
                        let mut got = None;
                        for _ in 0..polls {
                            if let Poll::Ready(p) = poll_once(acquire.as_mut()) {
                                got = Some(p.unwrap());
                                break;
                            }
                            thread::yield_now();
                        }
                        if got.is_none() && rng.below(2) == 0 {
                            got = Some(block_on(acquire.as_mut()).unwrap());
                        }
                        drop(acquire);
                        drop(got);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            sem.available_permits(),
            3,
            "a permit was lost or duplicated"
        );
    });
}

// ===== close =====

#[test]
fn close_wakes_every_waiter_with_an_error() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut waiters: Vec<_> = (0..40).map(|_| Box::pin(sem.acquire())).collect();
    for w in &mut waiters {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    sem.close();
    for w in &mut waiters {
        assert_eq!(
            poll_once(w.as_mut()).map(|r| r.err()),
            Poll::Ready(Some(AcquireError::Closed))
        );
    }
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    drop(held);
    assert_eq!(
        sem.available_permits(),
        1,
        "held permits still come back after close"
    );
}

#[test]
fn close_gives_back_partial_permits_of_woken_waiters() {
    let sem = Semaphore::new(1);
    let mut big = Box::pin(sem.acquire_many(3));
    assert!(poll_once(big.as_mut()).is_pending());
    assert_eq!(
        sem.available_permits(),
        0,
        "the waiter holds the one it found"
    );
    sem.close();
    assert!(matches!(
        poll_once(big.as_mut()),
        Poll::Ready(Err(AcquireError::Closed))
    ));
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn a_closed_semaphore_still_counts_added_and_forgotten_permits() {
    // Closing stops acquires; the count itself goes on being kept (tokio's
    // `add_permits_closed`, `forget_closed`).
    let sem = Semaphore::new(3);
    let held = sem.try_acquire().unwrap();
    let forgotten = sem.try_acquire().unwrap();
    sem.close();
    assert_eq!(sem.available_permits(), 1);
    sem.add_permits(4);
    assert_eq!(sem.available_permits(), 5);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    forgotten.forget();
    drop(held);
    assert_eq!(sem.available_permits(), 6);
}

#[test]
fn acquire_after_close_fails_in_every_form() {
    let sem = Arc::new(Semaphore::new(2));
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(block_on(sem.acquire()).unwrap_err(), AcquireError::Closed);
    assert_eq!(
        block_on(sem.acquire_many(2)).unwrap_err(),
        AcquireError::Closed
    );
    assert_eq!(sem.acquire_blocking().unwrap_err(), AcquireError::Closed);
    assert_eq!(
        block_on(sem.clone().acquire_owned()).unwrap_err(),
        AcquireError::Closed
    );
    assert_eq!(
        sem.clone().try_acquire_owned().unwrap_err(),
        TryAcquireError::Closed
    );
}

#[test]
fn close_wakes_a_blocked_thread() {
    within(10, || {
        let sem = Arc::new(Semaphore::new(0));
        let s = sem.clone();
        let blocked = thread::spawn(move || s.acquire_blocking().map(|p| p.num_permits()));
        thread::sleep(Duration::from_millis(20));
        sem.close();
        assert_eq!(blocked.join().unwrap(), Err(AcquireError::Closed));
    });
}

// ===== bad input =====

#[test]
fn new_above_the_maximum_panics_with_advice() {
    let err = catch_unwind(|| Semaphore::new(Semaphore::MAX_PERMITS + 1)).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("Semaphore::MAX_PERMITS"), "{msg}");
    assert!(msg.contains("use no semaphore"), "{msg}");
    let _at_max = Semaphore::new(Semaphore::MAX_PERMITS);
}

#[test]
fn add_permits_overflow_panics_before_adding_anything() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    let err = catch_unwind(AssertUnwindSafe(|| sem.add_permits(2))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("nothing was added"), "{msg}");
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS - 1);
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
fn asking_for_more_than_the_maximum_is_an_error() {
    let sem = Semaphore::new(1);
    let n = Semaphore::MAX_PERMITS + 1;
    let expected = AcquireError::TooManyPermits {
        requested: n,
        max: Semaphore::MAX_PERMITS,
    };
    assert_eq!(block_on(sem.acquire_many(n)).unwrap_err(), expected);
    assert!(matches!(
        sem.try_acquire_many(n),
        Err(TryAcquireError::TooManyPermits { .. })
    ));
    assert!(expected.to_string().contains("can never hold"));
}

#[test]
fn blocking_acquire_on_a_worker_thread_panics_naming_the_async_form() {
    let result = thread::spawn(|| {
        hooks::set_worker_thread(true);
        let sem = Semaphore::new(1);
        catch_unwind(AssertUnwindSafe(|| drop(sem.acquire_blocking())))
    })
    .join()
    .unwrap();
    let err = result.unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("Semaphore::acquire_blocking"), "{msg}");
    assert!(msg.contains("acquire().await"), "{msg}");
}

// ===== permits =====

#[test]
fn forget_merge_and_split() {
    let sem = Semaphore::new(5);
    let mut a = sem.try_acquire_many(2).unwrap();
    a.merge(sem.try_acquire().unwrap());
    assert_eq!(a.num_permits(), 3);
    let b = a.split(1).unwrap();
    assert_eq!((a.num_permits(), b.num_permits()), (2, 1));
    b.forget();
    drop(a);
    assert_eq!(sem.available_permits(), 4, "one permit was forgotten");
}

#[test]
fn a_semaphore_of_zero_gives_nothing_until_permits_are_added() {
    let sem = Semaphore::new(0);
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    let mut waiter = Box::pin(sem.acquire());
    assert!(poll_once(waiter.as_mut()).is_pending());
    sem.add_permits(1);
    assert!(matches!(poll_once(waiter.as_mut()), Poll::Ready(Ok(_))));
}

#[test]
fn add_permits_of_n_wakes_exactly_n_single_waiters() {
    // Python's `Semaphore.release(n)`: n permits let the first n queued acquirers through
    // and the rest keep waiting.
    let sem = Semaphore::new(0);
    let (wakes, waker) = CountingWaker::new();
    let mut waiters: Vec<_> = (0..5).map(|_| Box::pin(sem.acquire())).collect();
    for w in &mut waiters {
        assert!(poll_pinned(w.as_mut(), &waker).is_pending());
    }
    sem.add_permits(3);
    assert_eq!(wakes.wakes(), 3);
    // Keep the permits of the ready ones, or dropping them would let the others in.
    let polled: Vec<_> = waiters
        .iter_mut()
        .map(|w| poll_pinned(w.as_mut(), &waker))
        .collect();
    let ready: Vec<bool> = polled.iter().map(Poll::is_ready).collect();
    assert_eq!(ready, [true, true, true, false, false]);
    assert_eq!(sem.available_permits(), 0);
    drop(polled);
    // The returned permits go on to the last two: one permit at a time wakes the front
    // waiter to compete, and the one that takes a permit with more left wakes the next.
    assert_eq!(wakes.wakes(), 4);
    let (fourth, fifth) = waiters.split_at_mut(4);
    let got_fourth = poll_pinned(fourth[3].as_mut(), &waker);
    assert!(matches!(got_fourth, Poll::Ready(Ok(_))));
    assert_eq!(wakes.wakes(), 5, "the fourth, served, woke the fifth");
    let got_fifth = poll_pinned(fifth[0].as_mut(), &waker);
    assert!(matches!(got_fifth, Poll::Ready(Ok(_))));
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn split_asking_for_more_than_held_returns_none_and_keeps_the_permit() {
    let sem = Semaphore::new(3);
    let mut permit = sem.try_acquire_many(2).unwrap();
    assert!(permit.split(3).is_none());
    assert_eq!(permit.num_permits(), 2);
    let all = permit.split(2).expect("all of it may be split off");
    assert_eq!((permit.num_permits(), all.num_permits()), (0, 2));
    drop(all);
    drop(permit);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_permits_of_two_semaphores_panics() {
    let (s1, s2) = (Semaphore::new(1), Semaphore::new(1));
    let mut a = s1.try_acquire().unwrap();
    a.merge(s2.try_acquire().unwrap());
}

#[test]
fn acquire_many_zero_is_granted_at_once() {
    let sem = Semaphore::new(0);
    let permit = block_on(sem.acquire_many(0)).unwrap();
    assert_eq!(permit.num_permits(), 0);
}

#[test]
fn each_granted_acquire_spends_one_unit_of_coop_budget() {
    let sem = Semaphore::new(10);
    let previous = hooks::set_budget(Some(2));
    let mut first = Box::pin(sem.acquire());
    let mut second = Box::pin(sem.acquire());
    let mut third = Box::pin(sem.acquire());
    assert!(poll_once(first.as_mut()).is_ready());
    assert!(poll_once(second.as_mut()).is_ready());
    assert!(
        poll_once(third.as_mut()).is_pending(),
        "budget spent: yield"
    );
    hooks::set_budget(previous);
    assert!(poll_once(third.as_mut()).is_ready());
}

// ===== Python's Semaphore suite (Lib/test/lock_tests.py) =====

#[test]
fn blocked_threads_get_through_exactly_as_often_as_permits_are_added() {
    // Seven permits, one kept by the test; ten threads each take and keep two, one at a time.
    let sem = Arc::new(Semaphore::new(7));
    sem.try_acquire().expect("free").forget();
    let (tx, rx) = std::sync::mpsc::channel();
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let (sem, tx) = (sem.clone(), tx.clone());
            thread::spawn(move || {
                for _ in 0..2 {
                    sem.acquire_blocking().expect("open").forget();
                    tx.send(()).expect("test alive");
                }
            })
        })
        .collect();
    let arrivals = |n: usize| {
        for _ in 0..n {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("a thread gets a freshly added permit");
        }
    };
    arrivals(6);
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(7);
    arrivals(7);
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(6);
    arrivals(6);
    assert!(
        sem.try_acquire().is_err(),
        "19 taken, the last thread still waits"
    );
    sem.add_permits(1);
    arrivals(1);
    for t in threads {
        t.join().expect("acquirer");
    }
    assert!(rx.try_recv().is_err(), "exactly 20 acquisitions");
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn try_acquire_from_many_threads_grants_exactly_the_free_permits() {
    let sem = Semaphore::new(4);
    let _kept = sem.try_acquire().expect("free");
    let granted = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..5 {
            s.spawn(|| {
                for _ in 0..2 {
                    if let Ok(permit) = sem.try_acquire() {
                        permit.forget();
                        granted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(granted.load(Ordering::SeqCst), 3);
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn permits_dropped_by_a_panic_are_given_back() {
    // Python's `with sem:` gives the permit back on an exception.
    let sem = Semaphore::new(2);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _outer = sem.try_acquire().expect("free");
        let _inner = sem.try_acquire().expect("free");
        assert!(sem.try_acquire().is_err());
        panic!("inside both");
    }));
    assert!(caught.is_err());
    assert_eq!(sem.available_permits(), 2);
}
