//! `BoundedSemaphore`: Python's `BoundedSemaphore` rules (an over-release is an error, the
//! count never passes the bound), asking for more than the bound is an error instead of a
//! hang, and everything else behaves as `Semaphore`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use futures::executor::block_on;
use runtime_primitives::{AcquireError, BoundedSemaphore, OverRelease, TryAcquireError};

mod support;
use support::*;

/// The seed: release more than was acquired and get an error, not a bigger semaphore.
#[test]
fn over_release_is_an_error_and_changes_nothing() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(
        sem.release(1),
        Err(OverRelease {
            released: 1,
            taken_out: 0
        })
    );
    assert_eq!(sem.available_permits(), 2);

    sem.try_acquire().unwrap().forget();
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(
        sem.release(3),
        Err(OverRelease {
            released: 3,
            taken_out: 2
        })
    );
    assert_eq!(
        sem.available_permits(),
        0,
        "a failed release gives nothing back"
    );
    sem.release(2).unwrap();
    assert_eq!(sem.available_permits(), 2);
    assert!(sem.release(1).is_err());
}

#[test]
fn over_release_error_reads_well() {
    let err = BoundedSemaphore::new(1).release(1).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("released 1") && msg.contains("bound"), "{msg}");
    let _: &dyn std::error::Error = &err;
}

#[test]
fn guard_drops_do_not_count_as_manual_releases() {
    let sem = BoundedSemaphore::new(1);
    drop(sem.try_acquire().unwrap());
    assert!(
        sem.release(1).is_err(),
        "the guard already gave its permit back"
    );
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn manual_release_wakes_a_waiter() {
    let sem = BoundedSemaphore::new(1);
    sem.try_acquire().unwrap().forget();
    let mut waiter = Box::pin(sem.acquire());
    assert!(poll_once(waiter.as_mut()).is_pending());
    sem.release(1).unwrap();
    assert!(poll_once(waiter.as_mut()).is_ready());
}

#[test]
fn asking_for_more_than_the_bound_is_an_error_not_a_hang() {
    let sem = Arc::new(BoundedSemaphore::new(2));
    let expected = AcquireError::TooManyPermits {
        requested: 3,
        max: 2,
    };
    assert_eq!(block_on(sem.acquire_many(3)).unwrap_err(), expected);
    assert_eq!(sem.acquire_many_blocking(3).unwrap_err(), expected);
    assert_eq!(
        block_on(sem.clone().acquire_many_owned(3)).unwrap_err(),
        expected
    );
    assert_eq!(
        sem.try_acquire_many(3).unwrap_err(),
        TryAcquireError::TooManyPermits {
            requested: 3,
            max: 2
        }
    );
    let empty = BoundedSemaphore::new(0);
    assert!(matches!(
        block_on(empty.acquire()),
        Err(AcquireError::TooManyPermits { .. })
    ));
}

#[test]
fn new_above_the_maximum_panics_with_advice() {
    let err = std::panic::catch_unwind(|| {
        BoundedSemaphore::new(runtime_primitives::Semaphore::MAX_PERMITS + 1)
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("BoundedSemaphore::new"), "{msg}");
    assert!(msg.contains("use no semaphore"), "{msg}");
}

#[test]
#[should_panic(expected = "BoundedSemaphore::release")]
fn add_permits_through_an_owned_permit_cannot_pass_the_bound() {
    let sem = Arc::new(BoundedSemaphore::new(1));
    let permit = block_on(sem.acquire_owned()).unwrap();
    permit.semaphore().add_permits(1);
}

#[test]
fn close_wakes_waiters_and_fails_later_acquires() {
    let sem = BoundedSemaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut waiter = Box::pin(sem.acquire());
    assert!(poll_once(waiter.as_mut()).is_pending());
    sem.close();
    assert!(sem.is_closed());
    assert!(matches!(
        poll_once(waiter.as_mut()),
        Poll::Ready(Err(AcquireError::Closed))
    ));
    assert_eq!(sem.acquire_blocking().unwrap_err(), AcquireError::Closed);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

/// The seeds' connection pool: 6 workers share 3 connections taken Python-style (acquire in
/// one place, release in another) from OS threads; never more than 3 in use, and the count
/// ends at the bound.
#[test]
fn python_style_pool_on_threads() {
    let sem = Arc::new(BoundedSemaphore::new(3));
    let in_use = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (sem, in_use) = (sem.clone(), in_use.clone());
            thread::spawn(move || {
                for _ in 0..200 {
                    sem.acquire_blocking().unwrap().forget();
                    assert!(in_use.fetch_add(1, Ordering::SeqCst) < 3);
                    in_use.fetch_sub(1, Ordering::SeqCst);
                    sem.release(1).expect("released what was taken");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 3);
    assert!(sem.release(1).is_err());
}

#[test]
fn works_on_tokio_with_owned_permits() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let sem = Arc::new(BoundedSemaphore::new(2));
    rt.block_on(async {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let sem = sem.clone();
                tokio::spawn(async move {
                    for _ in 0..50 {
                        let permit = sem.clone().acquire_owned().await.unwrap();
                        tokio::task::yield_now().await;
                        drop(permit);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(sem.available_permits(), 2);
}
