//! `RwLock`: readers share, writers exclude, a queued writer is not starved by later readers,
//! cancelled waiters lose nothing, and it works on every executor and from OS threads.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use runtime_primitives::{hooks, RwLock};

mod support;
use support::*;

#[test]
fn readers_share_and_writers_exclude() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let r2 = lock.try_read().unwrap();
    assert!(lock.try_write().is_err());
    assert_eq!(*r1 + *r2, 0);
    drop((r1, r2));
    let mut w = lock.try_write().unwrap();
    *w = 1;
    assert!(lock.try_read().is_err());
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), 1);
}

#[test]
fn queued_writer_is_not_starved_by_later_readers() {
    let lock = RwLock::new(0);
    let reader = lock.try_read().unwrap();
    let mut writer = Box::pin(lock.write());
    assert!(poll_once(writer.as_mut()).is_pending());
    // A reader arriving after the writer waits behind it, though readers hold the lock.
    assert!(lock.try_read().is_err());
    let mut late_reader = Box::pin(lock.read());
    assert!(poll_once(late_reader.as_mut()).is_pending());
    drop(reader);
    let Poll::Ready(mut guard) = poll_once(writer.as_mut()) else {
        panic!("the writer is next");
    };
    *guard = 1;
    assert!(poll_once(late_reader.as_mut()).is_pending());
    drop(guard);
    let Poll::Ready(read) = poll_once(late_reader.as_mut()) else {
        panic!("the reader follows the writer");
    };
    assert_eq!(*read, 1);
}

#[test]
fn cancelled_writer_lets_the_readers_behind_it_in() {
    let lock = RwLock::new(());
    let reader = lock.try_read().unwrap();
    let mut writer = Box::pin(lock.write());
    let mut late_reader = Box::pin(lock.read());
    assert!(poll_once(writer.as_mut()).is_pending());
    assert!(poll_once(late_reader.as_mut()).is_pending());
    drop(writer);
    assert!(poll_once(late_reader.as_mut()).is_ready());
    drop(reader);
    assert!(lock.try_write().is_ok(), "every read permit came back");
}

#[test]
fn writers_and_readers_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..16 {
            let lock = lock.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..100 {
                    if i % 4 == 0 {
                        let mut w = lock.clone().write_owned().await;
                        w.0 += 1;
                        tokio::task::yield_now().await;
                        w.1 += 1;
                    } else {
                        let r = lock.read().await;
                        assert_eq!(r.0, r.1, "a reader saw a half-done write");
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*lock.read_blocking(), (400, 400));
}

#[test]
fn many_readers_at_once_on_threads() {
    let lock = Arc::new(RwLock::new(()));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lock, inside, max, barrier) =
                (lock.clone(), inside.clone(), max.clone(), barrier.clone());
            thread::spawn(move || {
                let _r = lock.read_blocking();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                barrier.wait(); // all four hold the read lock together
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(max.load(Ordering::SeqCst), 4);
    *lock.write_blocking() = ();
}

#[test]
fn owned_guards_move_between_threads() {
    let lock = Arc::new(RwLock::new(vec![1]));
    let read = block_on(lock.clone().read_owned());
    thread::spawn(move || assert_eq!(*read, [1]))
        .join()
        .unwrap();
    let mut write = block_on(lock.clone().write_owned());
    thread::spawn(move || write.push(2)).join().unwrap();
    assert_eq!(*lock.read_blocking(), [1, 2]);
}

#[test]
fn stress_random_timeouts_leave_the_lock_free() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let lock = Arc::new(RwLock::new(0u64));
    rt.block_on(async {
        let tasks: Vec<_> = (0..24u64)
            .map(|i| {
                let lock = lock.clone();
                tokio::spawn(async move {
                    for j in 0..80u64 {
                        let wait = Duration::from_micros((i * 37 + j * 11) % 150);
                        if (i + j) % 3 == 0 {
                            if let Ok(mut w) = tokio::time::timeout(wait, lock.write()).await {
                                *w += 1;
                            }
                        } else if let Ok(r) = tokio::time::timeout(wait, lock.read()).await {
                            tokio::task::yield_now().await;
                            drop(r);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert!(lock.try_write().is_ok(), "every read permit came back");
}

#[test]
fn queued_writers_are_served_in_arrival_order() {
    // tokio's `write_order`: each writer sees the value its predecessor left.
    let lock = RwLock::new(Vec::new());
    let reader = lock.try_read().unwrap();
    let mut writers: Vec<_> = (0..4)
        .map(|i| {
            let lock = &lock;
            Box::pin(async move { lock.write().await.push(i) })
        })
        .collect();
    for w in &mut writers {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    drop(reader);
    // Poll them last to first, round after round: the lock goes to the oldest, whoever
    // polls first.
    let mut done = [false; 4];
    for _round in 0..4 {
        for (i, w) in writers.iter_mut().enumerate().rev() {
            if !done[i] {
                done[i] = poll_once(w.as_mut()).is_ready();
            }
        }
    }
    assert_eq!(done, [true; 4]);
    assert_eq!(*lock.try_read().unwrap(), [0, 1, 2, 3]);
}

#[test]
fn readers_queued_behind_a_writer_all_get_in_when_it_leaves() {
    let lock = RwLock::new(0);
    let mut write = lock.try_write().unwrap();
    let mut readers: Vec<_> = (0..3).map(|_| Box::pin(lock.read())).collect();
    for r in &mut readers {
        assert!(poll_once(r.as_mut()).is_pending());
    }
    *write = 5;
    drop(write);
    let guards: Vec<_> = readers
        .iter_mut()
        .map(|r| match poll_once(r.as_mut()) {
            Poll::Ready(guard) => guard,
            Poll::Pending => panic!("every queued reader shares the lock"),
        })
        .collect();
    assert!(guards.iter().all(|g| **g == 5));
    assert!(lock.try_write().is_err());
    drop(guards);
    assert!(lock.try_write().is_ok());
}

#[test]
fn try_owned_forms_follow_the_same_rules() {
    let lock = Arc::new(RwLock::new(1));
    let r1 = lock.clone().try_read_owned().unwrap();
    let r2 = lock.clone().try_read_owned().unwrap();
    assert!(lock.clone().try_write_owned().is_err());
    assert_eq!(*r1 + *r2, 2);
    drop((r1, r2));
    let mut w = lock.clone().try_write_owned().unwrap();
    *w = 3;
    assert!(lock.clone().try_read_owned().is_err());
    assert!(lock.clone().try_write_owned().is_err());
    drop(w);
    assert_eq!(*lock.clone().try_read_owned().unwrap(), 3);
}

#[test]
fn default_and_from_build_an_unlocked_lock() {
    let lock: RwLock<Vec<u8>> = RwLock::default();
    assert!(lock.try_write().unwrap().is_empty());
    let lock = RwLock::from(7);
    assert_eq!(*lock.try_read().unwrap(), 7);
}

#[test]
fn get_mut_into_inner_and_debug() {
    let mut lock = RwLock::new(1);
    *lock.get_mut() += 1;
    assert_eq!(format!("{lock:?}"), "RwLock { data: 2 }");
    let w = lock.try_write().unwrap();
    assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
    drop(w);
    assert_eq!(lock.into_inner(), 2);
}

#[test]
fn blocking_forms_on_a_worker_thread_panic() {
    let msgs = thread::spawn(|| {
        hooks::set_worker_thread(true);
        let lock = RwLock::new(());
        let read = catch_unwind(AssertUnwindSafe(|| drop(lock.read_blocking()))).unwrap_err();
        let write = catch_unwind(AssertUnwindSafe(|| drop(lock.write_blocking()))).unwrap_err();
        [read, write].map(|e| e.downcast_ref::<String>().unwrap().clone())
    })
    .join()
    .unwrap();
    assert!(msgs[0].contains("rwlock.read().await"), "{}", msgs[0]);
    assert!(msgs[1].contains("rwlock.write().await"), "{}", msgs[1]);
}
