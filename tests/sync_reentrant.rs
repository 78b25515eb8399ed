//! `ReentrantMutex`: the same task (or, outside tasks, the same thread) nests; any other
//! task waits, including one spawned inside the critical section; `*_blocking` refuses to
//! run on a worker.

#[macro_use]
mod support;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use runtime::sync::ReentrantMutex;
use support::{panic_message, wait_until};

rt_test!(same_holder_nests_and_releases_with_the_last_level, |rt| {
    rt.block_on(async {
        let lock = ReentrantMutex::new(Cell::new(0));
        {
            let a = lock.lock().await;
            let b = lock.lock().await;
            let c = lock.try_lock().expect("the holder nests");
            c.set(c.get() + 1);
            drop(b);
            drop(a);
            assert!(thread_cannot_take(&lock), "one level is still held");
            drop(c);
        }
        assert!(!thread_cannot_take(&lock), "released with the last level");
        assert_eq!(lock.into_inner().get(), 1);
    });
});

/// Whether a fresh OS thread fails to take the lock right now.
fn thread_cannot_take<T: Send>(lock: &ReentrantMutex<T>) -> bool {
    thread::scope(|s| s.spawn(|| lock.try_lock().is_err()).join().unwrap())
}

// The seed's point: a task spawned inside the critical section is another task and waits,
// even on one thread where a thread-keyed lock would let it in.
rt_test!(task_spawned_inside_the_critical_section_waits, |rt| {
    rt.block_on(async {
        let lock = Arc::new(ReentrantMutex::new(Cell::new(0)));
        let entered = Arc::new(AtomicBool::new(false));
        let outer = lock.lock().await;
        let inner = lock.lock().await;
        let child = runtime::spawn({
            let (lock, entered) = (lock.clone(), entered.clone());
            async move {
                let guard = lock.lock().await;
                entered.store(true, Ordering::SeqCst);
                guard.get()
            }
        });
        for _ in 0..20 {
            runtime::yield_now().await;
        }
        assert!(
            !entered.load(Ordering::SeqCst),
            "the child got in while the parent held it"
        );
        inner.set(7);
        drop(inner);
        runtime::yield_now().await;
        assert!(!entered.load(Ordering::SeqCst), "one level is still held");
        drop(outer);
        assert_eq!(child.await.unwrap(), 7);
    });
});

rt_test!(a_task_nests_within_one_poll, |rt| {
    let nested = rt.block_on(rt.spawn(async {
        let lock = ReentrantMutex::new(());
        let outer = lock.lock().await;
        let inner = lock.try_lock().is_ok();
        drop(outer);
        inner
    }));
    assert!(nested.unwrap());
});

#[test]
fn another_task_is_refused_while_a_task_holds_it() {
    let rt = support::Flavor::MultiThread.build();
    let lock = Arc::new(ReentrantMutex::new(()));
    let held = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicBool::new(false));
    let holder = rt.spawn({
        let (lock, held, checked) = (lock.clone(), held.clone(), checked.clone());
        async move {
            let guard = lock.lock().await;
            held.store(true, Ordering::SeqCst);
            // Hold it (no await, so the guard never crosses one) until the other task looked.
            wait_until("the other task to try", || checked.load(Ordering::SeqCst));
            drop(guard);
        }
    });
    let other = rt.spawn({
        let (lock, held, checked) = (lock.clone(), held.clone(), checked.clone());
        async move {
            while !held.load(Ordering::SeqCst) {
                runtime::yield_now().await;
            }
            let refused = lock.try_lock().is_err();
            checked.store(true, Ordering::SeqCst);
            refused
        }
    });
    assert!(rt.block_on(other).unwrap(), "a different task nested");
    rt.block_on(holder).unwrap();
    assert!(lock.try_lock().is_ok());
}

#[test]
fn plain_threads_nest_and_exclude_each_other() {
    let lock = Arc::new(ReentrantMutex::new(Cell::new(0u32)));
    let outer = lock.lock_blocking();
    let inner = lock.lock_blocking();
    let other = thread::spawn({
        let lock = lock.clone();
        move || {
            let guard = lock.lock_blocking();
            guard.get()
        }
    });
    inner.set(5);
    drop(inner);
    assert!(!other.is_finished(), "one level is still held");
    drop(outer);
    assert_eq!(other.join().unwrap(), 5);
}

#[test]
fn contending_threads_that_nest_never_overlap() {
    // Python's RLock contention tests: each thread takes two levels and does a
    // read-yield-write on data only the holder may touch; a lost update means two holders.
    const THREADS: u32 = 6;
    const ROUNDS: u32 = 200;
    let lock = Arc::new(ReentrantMutex::new(Cell::new(0u32)));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let lock = lock.clone();
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let outer = lock.lock_blocking();
                    let inner = lock.lock_blocking();
                    let seen = inner.get();
                    thread::yield_now();
                    outer.set(seen + 1);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(
        lock.try_lock().expect("free at the end").get(),
        THREADS * ROUNDS
    );
}

#[test]
fn a_panic_unwinding_through_every_level_releases_the_lock() {
    let lock = ReentrantMutex::new(Cell::new(0));
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let outer = lock.lock_blocking();
        let inner = lock.lock_blocking();
        inner.set(1);
        let _keep = (outer, inner);
        panic!("inside two levels");
    }));
    assert!(caught.is_err());
    assert!(
        !thread_cannot_take(&lock),
        "every level was released by the unwind"
    );
    assert_eq!(lock.try_lock().unwrap().get(), 1, "no poisoning");
}

#[test]
fn lock_blocking_on_a_worker_panics_naming_the_async_form() {
    let rt = support::Flavor::MultiThread.build();
    let msg = rt
        .block_on(rt.spawn(async {
            let lock = ReentrantMutex::new(());
            let err = catch_unwind(AssertUnwindSafe(|| drop(lock.lock_blocking()))).unwrap_err();
            panic_message(&*err)
        }))
        .unwrap();
    assert!(msg.contains("ReentrantMutex::lock_blocking"), "{msg}");
    assert!(msg.contains("lock().await"), "{msg}");
}

#[test]
fn lock_future_is_send_and_cancel_safe() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = support::Flavor::MultiThread.build();
    let lock = Arc::new(ReentrantMutex::new(()));
    let held = lock.lock_blocking();
    let waiter = rt.spawn({
        let lock = lock.clone();
        let fut = async move { drop(lock.lock().await) };
        assert_send(&fut);
        fut
    });
    waiter.abort();
    let _ = rt.block_on(waiter);
    drop(held);
    assert!(
        lock.try_lock().is_ok(),
        "the aborted waiter left nothing behind"
    );
}
