//! `Barrier`: rounds release exactly `parties` waiters with distinct indices and one leader,
//! the action runs once per round before anyone is released, abort/reset follow Python, a
//! dropped waiter withdraws its arrival, and all of it works on threads, futures and tokio.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::{block_on, ThreadPool};
use futures::task::SpawnExt;
use runtime_primitives::{hooks, Barrier, BarrierWaitResult, BrokenBarrier};

mod support;
use support::*;

/// Checks one released round: indices are exactly `0..parties`, one leader, the last index.
fn assert_round(results: &[BarrierWaitResult], parties: usize) {
    let indices: HashSet<_> = results.iter().map(|r| r.index()).collect();
    assert_eq!(
        indices,
        (0..parties).collect(),
        "indices 0..parties, each once"
    );
    let leaders: Vec<_> = results.iter().filter(|r| r.is_leader()).collect();
    assert_eq!(leaders.len(), 1, "one leader per round");
    assert_eq!(leaders[0].index(), parties - 1, "the leader arrived last");
}

// ===== rounds =====

#[test]
#[should_panic(expected = "use `Barrier::new(1)`")]
fn zero_parties_panics_with_what_to_use() {
    let _ = Barrier::new(0);
}

#[test]
#[should_panic(expected = "a barrier needs at least one party")]
fn zero_parties_with_an_action_panics_too() {
    let _ = Barrier::with_action(0, || {});
}

#[test]
fn a_round_releases_parties_waiters_with_indices_in_arrival_order() {
    let barrier = Barrier::new(3);
    let wakers: Vec<_> = (0..2).map(|_| CountingWaker::new()).collect();
    let mut waits: Vec<_> = (0..2).map(|_| Box::pin(barrier.wait())).collect();
    for (i, (wait, (_, waker))) in waits.iter_mut().zip(&wakers).enumerate() {
        assert!(poll_pinned(wait.as_mut(), waker).is_pending());
        assert_eq!(barrier.n_waiting(), i + 1);
    }
    let leader = block_on(barrier.wait()).expect("not broken");
    assert_eq!(barrier.n_waiting(), 0);
    let mut results = vec![leader];
    for (i, (wait, (counter, waker))) in waits.iter_mut().zip(&wakers).enumerate() {
        assert_eq!(counter.wakes(), 1);
        let Poll::Ready(Ok(result)) = poll_pinned(wait.as_mut(), waker) else {
            panic!("released");
        };
        assert_eq!(result.index(), i, "arrival order");
        results.push(result);
    }
    assert_round(&results, 3);
}

#[test]
fn one_party_never_waits_and_always_leads() {
    let barrier = Barrier::new(1);
    for _ in 0..3 {
        let result = barrier.wait_blocking().expect("not broken");
        assert_eq!((result.index(), result.is_leader()), (0, true));
    }
}

#[test]
fn the_barrier_is_cyclic_across_threads() {
    within(20, || {
        const PARTIES: usize = 4;
        const ROUNDS: usize = 200;
        let barrier = Arc::new(Barrier::new(PARTIES));
        let log = Arc::new(Mutex::new(vec![Vec::new(); ROUNDS]));
        let threads: Vec<_> = (0..PARTIES)
            .map(|_| {
                let (barrier, log) = (barrier.clone(), log.clone());
                thread::spawn(move || {
                    for round in 0..ROUNDS {
                        let r = barrier.wait_blocking().expect("not broken");
                        log.lock().expect("no poison")[round].push(r);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("party");
        }
        for round in log.lock().expect("no poison").iter() {
            assert_round(round, PARTIES);
        }
    });
}

#[test]
fn the_action_runs_once_per_round_before_anyone_is_released() {
    within(20, || {
        const PARTIES: usize = 3;
        let rounds = Arc::new(AtomicUsize::new(0));
        let barrier = {
            let rounds = rounds.clone();
            Arc::new(Barrier::with_action(PARTIES, move || {
                rounds.fetch_add(1, Ordering::SeqCst);
            }))
        };
        let threads: Vec<_> = (0..PARTIES)
            .map(|_| {
                let (barrier, rounds) = (barrier.clone(), rounds.clone());
                thread::spawn(move || {
                    for round in 1..=50 {
                        barrier.wait_blocking().expect("not broken");
                        // The action of this round ran before the release.
                        assert!(rounds.load(Ordering::SeqCst) >= round);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("party");
        }
        assert_eq!(rounds.load(Ordering::SeqCst), 50);
    });
}

#[test]
fn a_panicking_action_breaks_the_barrier_and_panics_in_the_leader() {
    let barrier = Barrier::with_action(2, || panic!("action failed"));
    let (_, waker) = CountingWaker::new();
    let mut first = Box::pin(barrier.wait());
    assert!(poll_pinned(first.as_mut(), &waker).is_pending());
    let leader =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(barrier.wait())));
    assert!(leader.is_err(), "the panic goes on in the leader");
    assert!(barrier.is_broken());
    assert_eq!(
        poll_pinned(first.as_mut(), &waker),
        Poll::Ready(Err(BrokenBarrier))
    );
}

// ===== abort, reset =====

#[test]
fn abort_breaks_current_and_future_waits_until_reset() {
    let barrier = Barrier::new(3);
    let (counter, waker) = CountingWaker::new();
    let mut waiting = Box::pin(barrier.wait());
    assert!(poll_pinned(waiting.as_mut(), &waker).is_pending());
    barrier.abort();
    assert!(barrier.is_broken());
    assert_eq!(counter.wakes(), 1);
    assert_eq!(
        poll_pinned(waiting.as_mut(), &waker),
        Poll::Ready(Err(BrokenBarrier))
    );
    assert_eq!(
        block_on(barrier.wait()),
        Err(BrokenBarrier),
        "later waits fail at once"
    );
    assert_eq!(barrier.n_waiting(), 0);
    barrier.reset();
    assert!(!barrier.is_broken());
    let mut again = Box::pin(barrier.wait());
    assert!(
        poll_pinned(again.as_mut(), &waker).is_pending(),
        "usable again"
    );
}

#[test]
fn reset_breaks_the_waits_in_progress_and_starts_afresh() {
    let barrier = Barrier::new(2);
    let (_, waker) = CountingWaker::new();
    let mut waiting = Box::pin(barrier.wait());
    assert!(poll_pinned(waiting.as_mut(), &waker).is_pending());
    barrier.reset();
    assert_eq!(
        poll_pinned(waiting.as_mut(), &waker),
        Poll::Ready(Err(BrokenBarrier))
    );
    assert!(!barrier.is_broken());
    assert_eq!(
        barrier.n_waiting(),
        0,
        "the broken waiter does not count in the new round"
    );
    let mut a = Box::pin(barrier.wait());
    assert!(poll_pinned(a.as_mut(), &waker).is_pending());
    let b = block_on(barrier.wait()).expect("a fresh round");
    let Poll::Ready(Ok(a)) = poll_pinned(a.as_mut(), &waker) else {
        panic!("released");
    };
    assert_round(&[a, b], 2);
}

/// Seed 004: `Barrier(3)`, six workers; `abort()` before worker 2 starts, `reset()` before
/// worker 4: workers 0 and 1 are broken while waiting, 2 and 3 are broken at once, and 4 and
/// 5 wait in a fresh round (which needs a third party to finish).
#[test]
fn seed_six_workers_with_abort_and_reset() {
    let barrier = Barrier::new(3);
    let (_, waker) = CountingWaker::new();
    let mut outcomes = Vec::new();
    let mut waits = Vec::new();
    for worker in 0..6 {
        if worker == 2 {
            barrier.abort();
        } else if worker == 4 {
            barrier.reset();
        }
        let mut wait = Box::pin(barrier.wait());
        match poll_pinned(wait.as_mut(), &waker) {
            Poll::Ready(r) => outcomes.push((worker, r.map(|r| r.index()))),
            Poll::Pending => waits.push((worker, wait)),
        }
    }
    for (worker, wait) in &mut waits {
        if let Poll::Ready(r) = poll_pinned(wait.as_mut(), &waker) {
            outcomes.push((*worker, r.map(|r| r.index())));
        }
    }
    outcomes.sort_by_key(|(w, _)| *w);
    assert_eq!(
        outcomes,
        [
            (0, Err(BrokenBarrier)),
            (1, Err(BrokenBarrier)),
            (2, Err(BrokenBarrier)),
            (3, Err(BrokenBarrier)),
        ]
    );
    assert_eq!(barrier.n_waiting(), 2, "workers 4 and 5 wait for a third");
    let third = block_on(barrier.wait()).expect("the fresh round completes");
    assert!(third.is_leader());
}

// ===== withdrawal =====

#[test]
fn a_dropped_waiter_withdraws_its_arrival() {
    let barrier = Barrier::new(2);
    let (counter, waker) = CountingWaker::new();
    let mut gone = Box::pin(barrier.wait());
    assert!(poll_pinned(gone.as_mut(), &waker).is_pending());
    assert_eq!(barrier.n_waiting(), 1);
    drop(gone);
    assert_eq!(barrier.n_waiting(), 0);
    let mut real = Box::pin(barrier.wait());
    assert!(
        poll_pinned(real.as_mut(), &waker).is_pending(),
        "one real party is not a round"
    );
    let leader = block_on(barrier.wait()).expect("released");
    let Poll::Ready(Ok(real)) = poll_pinned(real.as_mut(), &waker) else {
        panic!("released with the second real party");
    };
    assert_eq!(counter.wakes(), 1);
    assert_round(&[real, leader], 2);
}

#[test]
fn withdrawing_from_the_middle_keeps_indices_dense() {
    let barrier = Barrier::new(3);
    let (_, waker) = CountingWaker::new();
    let mut a = Box::pin(barrier.wait());
    let mut b = Box::pin(barrier.wait());
    assert!(poll_pinned(a.as_mut(), &waker).is_pending());
    assert!(poll_pinned(b.as_mut(), &waker).is_pending());
    drop(a);
    let mut c = Box::pin(barrier.wait());
    assert!(poll_pinned(c.as_mut(), &waker).is_pending());
    let leader = block_on(barrier.wait()).expect("released");
    let (Poll::Ready(Ok(b)), Poll::Ready(Ok(c))) = (
        poll_pinned(b.as_mut(), &waker),
        poll_pinned(c.as_mut(), &waker),
    ) else {
        panic!("both released");
    };
    assert_eq!((b.index(), c.index()), (0, 1));
    assert_round(&[b, c, leader], 3);
}

#[test]
fn dropping_a_released_waiter_does_not_touch_the_next_round() {
    let barrier = Barrier::new(2);
    let (_, waker) = CountingWaker::new();
    let mut a = Box::pin(barrier.wait());
    assert!(poll_pinned(a.as_mut(), &waker).is_pending());
    block_on(barrier.wait()).expect("released");
    let mut next = Box::pin(barrier.wait());
    assert!(poll_pinned(next.as_mut(), &waker).is_pending());
    drop(a); // released but never polled again
    assert_eq!(barrier.n_waiting(), 1, "the next round keeps its arrival");
}

// ===== executors, blocking =====

#[test]
#[should_panic(expected = "`Barrier::wait_blocking` would block a runtime worker thread")]
fn wait_blocking_panics_on_a_worker_thread() {
    let barrier = Barrier::new(2);
    hooks::set_worker_thread(true);
    let _ = barrier.wait_blocking();
}

#[test]
fn futures_thread_pool_tasks_and_a_thread_meet() {
    within(20, || {
        let pool = ThreadPool::builder().pool_size(2).create().expect("pool");
        let barrier = Arc::new(Barrier::new(4));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let barrier = barrier.clone();
                pool.spawn_with_handle(async move {
                    let mut results = Vec::new();
                    for _ in 0..20 {
                        results.push(barrier.wait().await.expect("not broken"));
                    }
                    results
                })
                .expect("spawn")
            })
            .collect();
        let mine: Vec<_> = (0..20)
            .map(|_| barrier.wait_blocking().expect("not broken"))
            .collect();
        let theirs = block_on(futures::future::join_all(tasks));
        for round in 0..20 {
            let mut results = vec![mine[round]];
            results.extend(theirs.iter().map(|r| r[round]));
            assert_round(&results, 4);
        }
    });
}

/// Parties give up at random (timeouts) and arrive again; no round is ever released without
/// all of them present: each party counts itself in before it waits, and after every
/// release the count of the round is exactly `PARTIES`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_random_cancellation_never_releases_a_short_round() {
    const PARTIES: usize = 5;
    const ROUNDS: usize = 40;
    let barrier = Arc::new(Barrier::new(PARTIES));
    let present: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
    let short = Arc::new(AtomicBool::new(false));
    let parties: Vec<_> = (0..PARTIES as u64)
        .map(|p| {
            let (barrier, present, short) = (barrier.clone(), present.clone(), short.clone());
            tokio::spawn(async move {
                let mut step = p + 1;
                for round in 0..ROUNDS {
                    present[round].fetch_add(1, Ordering::SeqCst);
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        step = step
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let wait = Duration::from_micros(50 + (step >> 55));
                        let result = if attempts > 20 {
                            barrier.wait().await // stop giving up: let the round finish
                        } else {
                            match tokio::time::timeout(wait, barrier.wait()).await {
                                Ok(result) => result,
                                Err(_) => continue, // withdrawn; arrive again
                            }
                        };
                        result.expect("never broken");
                        if present[round].load(Ordering::SeqCst) != PARTIES {
                            short.store(true, Ordering::SeqCst);
                        }
                        break;
                    }
                }
            })
        })
        .collect();
    // A short release would leave one party a round behind: the last round never completes.
    let all = futures::future::join_all(parties);
    for p in tokio::time::timeout(Duration::from_secs(20), all)
        .await
        .expect("every round completes")
    {
        p.expect("party");
    }
    assert!(
        !short.load(Ordering::SeqCst),
        "a round was released with a party missing"
    );
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn errors_and_debug() {
    assert_eq!(
        BrokenBarrier.to_string(),
        "the barrier is broken (aborted, reset or its action panicked)"
    );
    let barrier = Barrier::new(2);
    assert!(format!("{barrier:?}").contains("parties: 2"));
    let wait = barrier.wait();
    assert!(format!("{wait:?}").contains("BarrierWait"));
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&barrier);
    fn send<T: Send>(_: &T) {}
    send(&wait);
}

// ===== Python's Barrier suite (Lib/test/lock_tests.py) =====

#[test]
fn no_thread_leaves_a_round_before_every_party_arrived_at_it() {
    // Python's `multipass`: threads pass the barrier in lockstep, and it ends neither broken
    // nor with anyone counted as waiting.
    within(20, || {
        const PARTIES: usize = 5;
        const ROUNDS: usize = 10;
        let barrier = Arc::new(Barrier::new(PARTIES));
        let arrived = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..PARTIES)
            .map(|_| {
                let (barrier, arrived) = (barrier.clone(), arrived.clone());
                thread::spawn(move || {
                    for round in 0..ROUNDS {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        barrier.wait_blocking().expect("not broken");
                        let seen = arrived.load(Ordering::SeqCst);
                        assert!(
                            seen >= (round + 1) * PARTIES,
                            "left round {round} after only {seen} arrivals"
                        );
                        barrier.wait_blocking().expect("not broken");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("party");
        }
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.is_broken());
    });
}
