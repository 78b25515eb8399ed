//! `Notify`: one stored permit, FIFO `notify_one`, `notify_waiters` for the waiters of the
//! moment, `enable` before the condition check, cancel safety, and the blocking forms on OS
//! threads; on both flavors.

#[macro_use]
mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use runtime::sync::Notify;
use support::{eventually, guard, panic_message, poll_once};

rt_test!(
    a_permit_stored_by_notify_one_completes_the_next_wait,
    |rt| {
        rt.block_on(async {
            let notify = Notify::new();
            notify.notify_one();
            guard("the stored permit", notify.notified()).await;
            assert!(!notify.try_notified(), "the wait used the permit");
        });
    }
);

rt_test!(many_notify_one_with_nobody_waiting_store_one_permit, |rt| {
    rt.block_on(async {
        let notify = Notify::new();
        for _ in 0..10 {
            notify.notify_one();
        }
        guard("the stored permit", notify.notified()).await;
        let mut second = pin!(notify.notified());
        assert!(
            poll_once(second.as_mut()).await.is_pending(),
            "ten notify_one stored more than one permit"
        );
        notify.notify_one();
        guard("the next notify_one", second).await;
    });
});

rt_test!(notify_one_wakes_a_waiting_task_not_a_later_one, |rt| {
    rt.block_on(async {
        let notify = Arc::new(Notify::new());
        let registered = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (notify, registered, woken) =
                    (notify.clone(), registered.clone(), woken.clone());
                runtime::spawn(async move {
                    let mut notified = pin!(notify.notified());
                    notified.as_mut().enable();
                    registered.fetch_add(1, Ordering::SeqCst);
                    notified.await;
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        eventually("both tasks registered", || {
            registered.load(Ordering::SeqCst) == 2
        })
        .await;
        notify.notify_one();
        eventually("one task woken", || woken.load(Ordering::SeqCst) == 1).await;
        for _ in 0..20 {
            runtime::yield_now().await;
        }
        assert_eq!(woken.load(Ordering::SeqCst), 1, "one notify_one woke two");
        assert!(!notify.try_notified(), "a waiter got it: nothing stored");
        notify.notify_one();
        for task in tasks {
            guard("the woken tasks", task).await.unwrap();
        }
    });
});

rt_test!(
    notify_waiters_reaches_only_the_waiters_of_the_moment,
    |rt| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let registered = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (notify, registered) = (notify.clone(), registered.clone());
                    runtime::spawn(async move {
                        let mut notified = pin!(notify.notified());
                        notified.as_mut().enable();
                        registered.fetch_add(1, Ordering::SeqCst);
                        notified.await;
                    })
                })
                .collect();
            eventually("all tasks registered", || {
                registered.load(Ordering::SeqCst) == 8
            })
            .await;
            // Made before the call but never polled: it counts as registered.
            let unpolled = notify.notified();
            notify.notify_waiters();
            for task in tasks {
                guard("every registered waiter", task).await.unwrap();
            }
            guard("the unpolled future made before the call", unpolled).await;

            assert!(!notify.try_notified(), "notify_waiters stored a permit");
            let mut after = pin!(notify.notified());
            assert!(
                poll_once(after.as_mut()).await.is_pending(),
                "a future made after notify_waiters was woken by it"
            );
            notify.notify_waiters();
            guard("the next notify_waiters", after).await;
        });
    }
);

// The pattern `enable` exists for: register, check, wait. A notification sent between the
// check and the wait must not be lost; 500 rounds against a producer on another task and
// one on an OS thread.
rt_test!(enable_before_the_check_loses_no_wakeup, |rt| {
    let shared = Arc::new((AtomicUsize::new(0), Notify::new()));
    const ROUNDS: usize = 500;
    let from_task = rt.spawn({
        let shared = shared.clone();
        async move {
            for _ in 0..ROUNDS / 2 {
                shared.0.fetch_add(1, Ordering::SeqCst);
                shared.1.notify_one();
                runtime::yield_now().await;
            }
        }
    });
    let from_thread = thread::spawn({
        let shared = shared.clone();
        move || {
            for _ in 0..ROUNDS / 2 {
                shared.0.fetch_add(1, Ordering::SeqCst);
                shared.1.notify_one();
                thread::yield_now();
            }
        }
    });
    rt.block_on(async {
        let (count, notify) = &*shared;
        let mut seen = 0;
        while seen < ROUNDS {
            let mut notified = pin!(notify.notified());
            notified.as_mut().enable();
            let now = count.load(Ordering::SeqCst);
            if now > seen {
                seen = now;
                continue;
            }
            guard("a notification sent after the check", notified).await;
        }
    });
    rt.block_on(from_task).unwrap();
    from_thread.join().unwrap();
});

rt_test!(a_chosen_waiter_dropped_passes_the_notification_on, |rt| {
    rt.block_on(async {
        let notify = Notify::new();
        let mut first = Box::pin(notify.notified());
        let mut second = pin!(notify.notified());
        assert!(poll_once(first.as_mut()).await.is_pending());
        assert!(poll_once(second.as_mut()).await.is_pending());
        notify.notify_one(); // chooses `first`
        drop(first);
        guard("the notification passed on to the second waiter", second).await;

        // With nobody else waiting, it goes back into the permit.
        let mut lone = Box::pin(notify.notified());
        assert!(poll_once(lone.as_mut()).await.is_pending());
        notify.notify_one();
        drop(lone);
        assert!(
            notify.try_notified(),
            "the dropped waiter's notification was lost"
        );
    });
});

rt_test!(a_wait_cancelled_by_timeout_loses_nothing, |rt| {
    rt.block_on(async {
        let notify = Notify::new();
        let timed_out = runtime::time::timeout(Duration::from_millis(1), notify.notified()).await;
        assert!(timed_out.is_err(), "nobody notified");
        notify.notify_one();
        assert!(
            notify.try_notified(),
            "the cancelled wait left a registration that swallowed the permit"
        );
    });
});

rt_test!(a_task_aborted_while_waiting_loses_nothing, |rt| {
    let notify = Arc::new(Notify::new());
    let registered = Arc::new(AtomicBool::new(false));
    let waiter = rt.spawn({
        let (notify, registered) = (notify.clone(), registered.clone());
        async move {
            let mut notified = pin!(notify.notified());
            notified.as_mut().enable();
            registered.store(true, Ordering::SeqCst);
            notified.await;
        }
    });
    rt.block_on(eventually("the waiter registered", || {
        registered.load(Ordering::SeqCst)
    }));
    waiter.abort();
    assert!(rt.block_on(waiter).unwrap_err().is_cancelled());
    notify.notify_one();
    assert!(
        notify.try_notified(),
        "the aborted waiter took the notification"
    );
});

rt_test!(threads_and_tasks_notify_each_other, |rt| {
    // Strict turns, so no notification coalesces: a task and an OS thread, 200 round trips.
    let ping = Arc::new(Notify::new());
    let pong = Arc::new(Notify::new());
    let player = thread::spawn({
        let (ping, pong) = (ping.clone(), pong.clone());
        move || {
            for _ in 0..200 {
                assert!(
                    ping.notified_timeout_blocking(support::HANG_GUARD),
                    "hang: no ping"
                );
                pong.notify_one();
            }
        }
    });
    rt.block_on(async {
        for _ in 0..200 {
            ping.notify_one();
            guard("the thread's pong", pong.notified()).await;
        }
    });
    player.join().unwrap();
    assert!(!ping.try_notified() && !pong.try_notified());
});

#[test]
fn notified_blocking_on_a_worker_panics_naming_the_async_form() {
    let rt = support::Flavor::MultiThread.build();
    let msg = rt
        .block_on(rt.spawn(async {
            let notify = Notify::new();
            notify.notify_one();
            let err = catch_unwind(AssertUnwindSafe(|| notify.notified_blocking())).unwrap_err();
            panic_message(&*err)
        }))
        .unwrap();
    assert!(msg.contains("Notify::notified_blocking"), "{msg}");
    assert!(msg.contains("notified().await"), "{msg}");
}

#[test]
fn notified_blocking_waits_for_a_task_on_the_runtime() {
    let rt = support::Flavor::MultiThread.build();
    let notify = Arc::new(Notify::new());
    let waiter = thread::spawn({
        let notify = notify.clone();
        move || notify.notified_blocking()
    });
    // Whether the thread is already parked or not: a permit or a wake-up reaches it.
    rt.block_on(rt.spawn({
        let notify = notify.clone();
        async move { notify.notify_one() }
    }))
    .unwrap();
    support::run_bounded("the blocked thread", support::HANG_GUARD, move || {
        waiter.join().unwrap()
    });
}
