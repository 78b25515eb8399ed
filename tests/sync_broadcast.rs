//! `runtime::sync::broadcast` on both flavors of this runtime and from OS threads: every
//! receiver gets every message, lags are counted exactly, the channel drains before it
//! closes, a cancelled `recv` loses nothing, and a hot receive loop yields to other tasks.

#[macro_use]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::sync::broadcast::{self, RecvError, TryRecvError};
use support::{guard, panic_message, run_bounded, HANG_GUARD};

rt_test!(many_receivers_in_tasks_get_every_message_in_order, |rt| {
    const RECEIVERS: usize = 16;
    const MESSAGES: u64 = 500;
    let sums = rt.block_on(async {
        // Room for every message: no receiver can lag, whatever the scheduling.
        let (tx, rx) = broadcast::channel(MESSAGES as usize);
        let tasks: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let mut rx = rx.resubscribe();
                runtime::spawn(async move {
                    let mut expected = 0;
                    while let Ok(n) = rx.recv().await {
                        assert_eq!(n, expected, "in order, none missing");
                        expected += 1;
                    }
                    expected
                })
            })
            .collect();
        drop(rx);
        for i in 0..MESSAGES {
            assert_eq!(tx.send(i).expect("receivers alive"), RECEIVERS);
            if i % 50 == 0 {
                runtime::yield_now().await;
            }
        }
        drop(tx);
        let mut counts = Vec::new();
        for task in tasks {
            counts.push(guard("a receiver task", task).await.expect("no panic"));
        }
        counts
    });
    assert_eq!(sums, vec![MESSAGES; RECEIVERS]);
});

rt_test!(
    a_lagging_receiver_gets_the_exact_count_then_the_oldest_held,
    |rt| {
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(5);
            for i in 0..12 {
                tx.send(i).unwrap();
            }
            assert_eq!(rx.recv().await, Err(RecvError::Lagged(7)));
            for i in 7..12 {
                assert_eq!(rx.recv().await, Ok(i));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        });
    }
);

rt_test!(recv_after_the_last_sender_drops_drains_then_closes, |rt| {
    rt.block_on(async {
        let (tx, mut rx) = broadcast::channel(4);
        let tx2 = tx.clone();
        tx.send("a").unwrap();
        tx2.send("b").unwrap();
        drop(tx);
        drop(tx2);
        assert!(rx.is_closed());
        assert_eq!(rx.recv().await, Ok("a"));
        assert_eq!(rx.recv().await, Ok("b"));
        assert_eq!(rx.recv().await, Err(RecvError::Closed));
    });
});

rt_test!(
    a_waiting_receiver_wakes_with_closed_when_the_senders_leave,
    |rt| {
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel::<u8>(4);
            let waiter = runtime::spawn(async move { rx.recv().await });
            runtime::yield_now().await;
            drop(tx);
            let got = guard("the waiting receiver", waiter).await.unwrap();
            assert_eq!(got, Err(RecvError::Closed));
        });
    }
);

rt_test!(a_recv_cancelled_by_a_timeout_loses_no_message, |rt| {
    rt.block_on(async {
        let (tx, mut rx) = broadcast::channel(4);
        for _ in 0..3 {
            let timed_out = runtime::time::timeout(Duration::from_millis(1), rx.recv()).await;
            assert!(timed_out.is_err(), "nothing was sent yet");
        }
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(guard("recv", rx.recv()).await, Ok(1));
        assert_eq!(guard("recv", rx.recv()).await, Ok(2));
    });
});

rt_test!(resubscribe_starts_at_the_tail, |rt| {
    rt.block_on(async {
        let (tx, rx) = broadcast::channel(8);
        tx.send(1).unwrap();
        let mut fresh = rx.resubscribe();
        tx.send(2).unwrap();
        assert_eq!(fresh.recv().await, Ok(2));
        assert_eq!(fresh.try_recv(), Err(TryRecvError::Empty));
    });
});

rt_test!(sender_closed_resolves_when_the_last_receiver_goes, |rt| {
    rt.block_on(async {
        let (tx, rx) = broadcast::channel::<u8>(1);
        let rx2 = rx.resubscribe();
        let dropper = runtime::spawn(async move {
            drop(rx);
            runtime::yield_now().await;
            drop(rx2);
        });
        guard("closed", tx.closed()).await;
        assert_eq!(tx.receiver_count(), 0);
        dropper.await.unwrap();
    });
});

#[test]
fn receivers_on_many_threads_get_every_message() {
    const THREADS: usize = 8;
    const MESSAGES: u64 = 2_000;
    run_bounded("receivers on threads", HANG_GUARD, || {
        let (tx, rx) = broadcast::channel(MESSAGES as usize);
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let mut rx = rx.resubscribe();
                std::thread::spawn(move || {
                    let mut expected = 0;
                    while let Ok(n) = rx.recv_blocking() {
                        assert_eq!(n, expected);
                        expected += 1;
                    }
                    expected
                })
            })
            .collect();
        drop(rx);
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
        drop(tx);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), MESSAGES);
        }
    });
}

#[test]
fn slow_thread_receivers_see_lags_that_add_up() {
    // A small ring and fast sends: whatever each receiver got plus what it was told it
    // missed is exactly what was sent.
    const MESSAGES: u64 = 5_000;
    run_bounded("lagging receivers", HANG_GUARD, || {
        let (tx, rx) = broadcast::channel(4);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.resubscribe();
                std::thread::spawn(move || {
                    let (mut got, mut missed, mut last) = (0u64, 0u64, None);
                    loop {
                        match rx.recv_blocking() {
                            Ok(n) => {
                                assert!(last.is_none_or(|l| n > l), "in order");
                                last = Some(n);
                                got += 1;
                            }
                            Err(RecvError::Lagged(n)) => missed += n,
                            Err(RecvError::Closed) => return got + missed,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
        drop(tx);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), MESSAGES);
        }
    });
}

#[test]
fn capacity_zero_panics_with_a_message_saying_what_to_use() {
    let err = std::panic::catch_unwind(|| broadcast::channel::<u8>(0)).unwrap_err();
    let message = panic_message(&*err);
    assert!(message.contains("at least one message"), "{message}");
    assert!(message.contains("broadcast::channel(1)"), "{message}");
}

/// On one thread, a receiver that always has a message would run to the end without
/// yielding; the budget makes it let another task in first.
#[runtime::test(flavor = "current_thread")]
async fn an_always_ready_recv_loop_yields_to_other_tasks() {
    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = other_ran.clone();
    let hot = runtime::spawn(async move {
        let (tx, mut rx) = broadcast::channel(4);
        for i in 0..100_000u32 {
            tx.send(i).unwrap();
            assert_eq!(rx.recv().await, Ok(i));
        }
        flag.load(Ordering::SeqCst)
    });
    let other = runtime::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
    assert!(
        hot.await.expect("the hot task"),
        "the other task ran before the hot loop ended"
    );
    other.await.expect("the other task");
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_blocking_inside_a_task_panics_naming_the_async_form() {
    let task = runtime::spawn(async {
        let (_tx, mut rx) = broadcast::channel::<u8>(1);
        let _ = rx.recv_blocking();
    });
    let message = panic_message(&*task.await.expect_err("it panics").into_panic());
    assert!(message.contains("receiver.recv().await"), "{message}");
}

/// A receiver on the blocking pool and a sender in a task share one channel.
#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_receiver_and_task_sender() {
    let (tx, mut rx) = broadcast::channel(1_000);
    let consumer = runtime::spawn_blocking(move || {
        let mut sum = 0u64;
        while let Ok(v) = rx.recv_blocking() {
            sum += v;
        }
        sum
    });
    for i in 0..1_000u64 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(
        guard("consumer", consumer).await.unwrap(),
        (0..1_000).sum::<u64>()
    );
}
