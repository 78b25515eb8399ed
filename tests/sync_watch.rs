//! `runtime::sync::watch` on both flavors of this runtime and from OS threads: receivers see
//! the latest value, `changed` is woken by a send and fails once the sender is gone with
//! nothing unseen, a cancelled `changed` loses no change, and `wait_for` checks the current
//! value first.

#[macro_use]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::sync::watch::{self, RecvError};
use support::{guard, panic_message, run_bounded, HANG_GUARD};

rt_test!(receivers_in_tasks_see_the_last_value, |rt| {
    const RECEIVERS: usize = 16;
    const SENDS: u64 = 200;
    let lasts = rt.block_on(async {
        let (tx, rx) = watch::channel(0u64);
        let tasks: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let mut rx = rx.clone();
                runtime::spawn(async move {
                    let mut last = *rx.borrow_and_update();
                    while rx.changed().await.is_ok() {
                        let now = *rx.borrow_and_update();
                        assert!(now > last, "values only move forward");
                        last = now;
                    }
                    last
                })
            })
            .collect();
        drop(rx);
        for i in 1..=SENDS {
            tx.send(i).expect("receivers alive");
            if i % 20 == 0 {
                runtime::yield_now().await;
            }
        }
        drop(tx);
        let mut lasts = Vec::new();
        for task in tasks {
            lasts.push(guard("a receiver task", task).await.unwrap());
        }
        lasts
    });
    assert_eq!(
        lasts,
        vec![SENDS; RECEIVERS],
        "every receiver saw the last value"
    );
});

rt_test!(
    changed_after_the_sender_drops_reports_the_unseen_value_then_fails,
    |rt| {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel("a");
            tx.send("b").unwrap();
            drop(tx);
            assert_eq!(rx.has_changed(), Err(RecvError));
            assert_eq!(rx.changed().await, Ok(()));
            assert_eq!(*rx.borrow(), "b");
            assert_eq!(rx.changed().await, Err(RecvError));
        });
    }
);

rt_test!(
    a_waiting_changed_wakes_with_the_error_when_the_sender_goes,
    |rt| {
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            let waiter = runtime::spawn(async move { rx.changed().await });
            runtime::yield_now().await;
            drop(tx);
            assert_eq!(guard("changed", waiter).await.unwrap(), Err(RecvError));
        });
    }
);

rt_test!(a_changed_cancelled_by_a_timeout_loses_no_change, |rt| {
    rt.block_on(async {
        let (tx, mut rx) = watch::channel(0);
        let timed_out = runtime::time::timeout(Duration::from_millis(1), rx.changed()).await;
        assert!(timed_out.is_err(), "nothing was sent yet");
        // A wait that the send woke, dropped before it ran again.
        {
            let mut changed = Box::pin(rx.changed());
            assert!(support::poll_once(changed.as_mut()).await.is_pending());
            tx.send(1).unwrap();
        }
        assert_eq!(guard("changed", rx.changed()).await, Ok(()));
        assert_eq!(*rx.borrow(), 1);
    });
});

rt_test!(borrow_and_update_and_has_changed, |rt| {
    rt.block_on(async {
        let (tx, mut rx) = watch::channel(String::from("v1"));
        assert_eq!(rx.has_changed(), Ok(false));
        tx.send_modify(|s| s.push('!'));
        assert_eq!(rx.has_changed(), Ok(true));
        assert!(rx.borrow().has_changed(), "borrow leaves it unseen");
        {
            let value = rx.borrow_and_update();
            assert!(value.has_changed());
            assert_eq!(*value, "v1!");
        }
        assert_eq!(rx.has_changed(), Ok(false));
        assert!(!tx.send_if_modified(|_| false));
        assert_eq!(rx.has_changed(), Ok(false));
    });
});

rt_test!(wait_for_checks_the_current_value_and_then_waits, |rt| {
    rt.block_on(async {
        let (tx, mut rx) = watch::channel(3);
        assert_eq!(*rx.wait_for(|v| *v == 3).await.unwrap(), 3);
        let counter = runtime::spawn(async move {
            for i in 4..=10 {
                tx.send(i).unwrap();
                runtime::yield_now().await;
            }
            tx
        });
        let reached = *guard("wait_for", rx.wait_for(|v| *v >= 8)).await.unwrap();
        assert!(reached >= 8);
        let tx = counter.await.unwrap();
        drop(tx);
        assert!(rx.wait_for(|v| *v > 10).await.is_err(), "no value can come");
    });
});

rt_test!(sender_closed_resolves_when_the_last_receiver_goes, |rt| {
    rt.block_on(async {
        let (tx, rx) = watch::channel(());
        let dropper = runtime::spawn(async move {
            runtime::yield_now().await;
            drop(rx);
        });
        guard("closed", tx.closed()).await;
        assert!(tx.is_closed());
        assert!(tx.send(()).is_err());
        dropper.await.unwrap();
    });
});

#[test]
fn receivers_on_many_threads_see_the_last_value() {
    const THREADS: usize = 8;
    const SENDS: u64 = 1_000;
    run_bounded("watchers on threads", HANG_GUARD, || {
        let (tx, rx) = watch::channel(0u64);
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let mut rx = rx.clone();
                std::thread::spawn(move || {
                    let mut last = 0;
                    while rx.changed_blocking().is_ok() {
                        let now = *rx.borrow_and_update();
                        assert!(now >= last);
                        last = now;
                    }
                    last
                })
            })
            .collect();
        drop(rx);
        for i in 1..=SENDS {
            tx.send(i).unwrap();
        }
        drop(tx);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), SENDS);
        }
    });
}

/// On one thread, waiting on a receiver that always has a change would run to the end
/// without yielding; the budget makes it let another task in first.
#[runtime::test(flavor = "current_thread")]
async fn an_always_changed_loop_yields_to_other_tasks() {
    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = other_ran.clone();
    let hot = runtime::spawn(async move {
        let (tx, mut rx) = watch::channel(0u32);
        for i in 0..100_000u32 {
            tx.send(i).unwrap();
            rx.changed().await.unwrap();
        }
        flag.load(Ordering::SeqCst)
    });
    let other = runtime::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
    assert!(hot.await.expect("the hot task"));
    other.await.expect("the other task");
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_blocking_inside_a_task_panics_naming_the_async_form() {
    let task = runtime::spawn(async {
        let (_tx, mut rx) = watch::channel(0);
        let _ = rx.changed_blocking();
    });
    let message = panic_message(&*task.await.expect_err("it panics").into_panic());
    assert!(message.contains("receiver.changed().await"), "{message}");
}
