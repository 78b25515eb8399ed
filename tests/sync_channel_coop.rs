//! `runtime::sync` channels and events on this runtime: a task whose channel operations are
//! always ready still yields (each completed operation spends the cooperative budget), and the
//! `*_blocking` forms refuse to run on a worker thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use runtime::sync::{channel, Event};

/// On one thread, a task that sends and receives on a channel that is never full nor empty
/// would run forever without yielding; the budget makes it let the other task in long before
/// it finishes.
#[runtime::test(flavor = "current_thread")]
async fn an_always_ready_channel_loop_yields_to_other_tasks() {
    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = other_ran.clone();
    let hot = runtime::spawn(async move {
        let (tx, rx) = channel::bounded(4);
        for i in 0..100_000u32 {
            tx.send(i).await.expect("open");
            assert_eq!(rx.recv().await, Ok(i));
        }
        flag.load(Ordering::SeqCst)
    });
    let other = runtime::spawn({
        let other_ran = other_ran.clone();
        async move { other_ran.store(true, Ordering::SeqCst) }
    });
    assert!(
        hot.await.expect("the hot task"),
        "the other task ran before the hot loop ended"
    );
    other.await.expect("the other task");
}

/// The same for a set event waited on in a loop.
#[runtime::test(flavor = "current_thread")]
async fn waiting_on_a_set_event_in_a_loop_yields() {
    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = other_ran.clone();
    let hot = runtime::spawn(async move {
        let event = Event::new();
        event.set();
        for _ in 0..100_000 {
            event.wait().await;
        }
        flag.load(Ordering::SeqCst)
    });
    let other = runtime::spawn({
        let other_ran = other_ran.clone();
        async move { other_ran.store(true, Ordering::SeqCst) }
    });
    assert!(hot.await.expect("the hot task"));
    other.await.expect("the other task");
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_blocking_inside_a_task_panics_naming_the_async_form() {
    let task = runtime::spawn(async {
        let (_tx, rx) = channel::bounded::<u8>(1);
        let _ = rx.recv_blocking();
    });
    let err = task.await.expect_err("the blocking call panics");
    let panic = err.into_panic();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("receiver.recv().await"),
        "the message names the async form: {message}"
    );
}

/// A blocking receive on the blocking pool pairs with an async send from a task.
#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_receiver_and_task_sender_share_a_channel() {
    let (tx, rx) = channel::bounded(2);
    let consumer = runtime::spawn_blocking(move || {
        let mut sum = 0u64;
        while let Ok(v) = rx.recv_blocking() {
            sum += v;
        }
        sum
    });
    for i in 0..1_000u64 {
        tx.send(i).await.expect("open");
    }
    drop(tx);
    assert_eq!(consumer.await.expect("consumer"), (0..1_000).sum());
}
