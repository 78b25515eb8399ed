//! `oneshot`: the value gets through on every executor and from OS threads, errors come back
//! as documented, the value is dropped exactly once, and the receiver honours the coop budget.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use futures::executor::{block_on, ThreadPool};
use futures::future::FusedFuture;
use futures::task::SpawnExt;
use runtime_primitives::hooks;
use runtime_primitives::oneshot::{self, RecvError, TryRecvError};

/// A waker that counts how often it was woken.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    fn new() -> (Arc<Self>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (counter.clone(), Waker::from(counter))
    }

    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// A value that counts its drops.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn drop_counter() -> (Arc<AtomicUsize>, DropCounter) {
    let drops = Arc::new(AtomicUsize::new(0));
    (drops.clone(), DropCounter(drops))
}

// ===== futures executor =====

#[test]
fn value_sent_before_await_is_received() {
    let (tx, rx) = oneshot::channel();
    tx.send(String::from("hello"))
        .expect("the receiver is alive");
    assert_eq!(block_on(rx), Ok(String::from("hello")));
}

#[test]
fn send_wakes_a_waiting_receiver() {
    let (tx, mut rx) = oneshot::channel();
    let (counter, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut rx, &waker), Poll::Pending);
    assert_eq!(counter.wakes(), 0);
    tx.send(7).expect("the receiver is alive");
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(7)));
}

#[test]
fn repolled_receiver_wakes_only_its_latest_waker() {
    let (tx, mut rx) = oneshot::channel();
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut rx, &first_waker), Poll::Pending);
    assert_eq!(poll_once(&mut rx, &second_waker), Poll::Pending);
    tx.send(1).expect("the receiver is alive");
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(poll_once(&mut rx, &second_waker), Poll::Ready(Ok(1)));
}

#[test]
fn dropped_sender_wakes_receiver_with_recv_error() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (counter, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut rx, &waker), Poll::Pending);
    drop(tx);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn receiver_is_terminated_once_resolved() {
    let (tx, mut rx) = oneshot::channel();
    assert!(!rx.is_terminated());
    tx.send(1).expect("the receiver is alive");
    assert_eq!(block_on(&mut rx), Ok(1));
    assert!(rx.is_terminated());
    assert_eq!(block_on(&mut rx), Err(RecvError));
}

#[test]
fn thread_pool_tasks_hand_over_the_value() {
    let pool = ThreadPool::builder()
        .pool_size(2)
        .create()
        .expect("thread pool");
    for round in 0..200 {
        let (tx, rx) = oneshot::channel();
        let received = pool.spawn_with_handle(rx).expect("spawn receiver");
        pool.spawn_ok(async move { tx.send(round).expect("the receiver is alive") });
        assert_eq!(block_on(received), Ok(round));
    }
}

// ===== tokio =====

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_spawned_sender_reaches_receiver() {
    for round in 0..200 {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(round).expect("the receiver is alive");
        });
        assert_eq!(rx.await, Ok(round));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_sender_dropped_in_a_task_gives_recv_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        drop(tx);
    });
    assert_eq!(rx.await, Err(RecvError));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_closed_resolves_when_the_receiver_task_drops_it() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        drop(rx);
    });
    tx.closed().await;
    assert!(tx.is_closed());
    assert_eq!(tx.send(3), Err(3));
}

// ===== OS threads =====

#[test]
fn recv_blocking_gets_a_value_from_another_thread() {
    for round in 0..500 {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || tx.send(round).expect("the receiver is alive"));
        assert_eq!(rx.recv_blocking(), Ok(round));
        sender.join().expect("sender thread");
    }
}

#[test]
fn recv_blocking_returns_a_value_already_sent() {
    let (tx, rx) = oneshot::channel();
    tx.send(vec![1, 2]).expect("the receiver is alive");
    assert_eq!(rx.recv_blocking(), Ok(vec![1, 2]));
}

#[test]
fn recv_blocking_errors_when_the_sender_thread_drops_it() {
    let (tx, rx) = oneshot::channel::<u8>();
    let sender = thread::spawn(move || drop(tx));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
    sender.join().expect("sender thread");
}

#[test]
fn thread_receiver_and_async_sender_share_a_channel() {
    let (tx, rx) = oneshot::channel();
    let receiver = thread::spawn(move || rx.recv_blocking());
    block_on(async move { tx.send("from a task").expect("the receiver is alive") });
    assert_eq!(receiver.join().expect("receiver thread"), Ok("from a task"));
}

#[test]
#[should_panic(expected = "`oneshot::Receiver::recv_blocking` would block a runtime worker thread")]
fn recv_blocking_panics_on_a_worker_thread() {
    let (_tx, rx) = oneshot::channel::<u8>();
    hooks::set_worker_thread(true);
    let _ = rx.recv_blocking();
}

// ===== receiver gone, close, closed() =====

#[test]
fn send_to_a_dropped_receiver_gives_the_value_back() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(String::from("back")), Err(String::from("back")));
}

#[test]
fn close_makes_send_fail_and_the_receiver_error() {
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(5), Err(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(block_on(rx), Err(RecvError));
}

#[test]
fn value_sent_before_close_is_still_received() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(9).expect("the receiver is alive");
    rx.close();
    assert_eq!(block_on(rx), Ok(9));
}

#[test]
fn closed_wakes_when_the_receiver_is_dropped() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (counter, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut tx.closed(), &waker), Poll::Pending);
    drop(rx);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut tx.closed(), &waker), Poll::Ready(()));
}

#[test]
fn closed_repolled_from_another_task_wakes_only_the_latest_waker() {
    // The sender's owner may move the `closed` wait between tasks; only the task that polled
    // last is told.
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    assert_eq!(
        tx.poll_closed(&mut Context::from_waker(&first_waker)),
        Poll::Pending
    );
    assert_eq!(
        tx.poll_closed(&mut Context::from_waker(&second_waker)),
        Poll::Pending
    );
    drop(rx);
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert!(tx.is_closed());
}

#[test]
fn dropping_both_ends_releases_the_registered_wakers() {
    // A waker parked in the channel must not outlive it: the task it names would be leaked.
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (rx_counter, rx_waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut rx, &rx_waker), Poll::Pending);
    drop(rx_waker);
    assert!(
        Arc::strong_count(&rx_counter) > 1,
        "the channel holds the waker"
    );
    drop(rx);
    drop(tx);
    assert_eq!(Arc::strong_count(&rx_counter), 1);

    let (mut tx, rx) = oneshot::channel::<u8>();
    let (tx_counter, tx_waker) = CountingWaker::new();
    assert_eq!(
        tx.poll_closed(&mut Context::from_waker(&tx_waker)),
        Poll::Pending
    );
    drop(tx_waker);
    drop(tx);
    drop(rx);
    assert_eq!(Arc::strong_count(&tx_counter), 1);
}

#[test]
fn close_after_the_value_was_received_changes_nothing() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(3).expect("the receiver is alive");
    assert_eq!(rx.try_recv(), Ok(3));
    rx.close();
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn close_with_a_value_waiting_keeps_it_for_try_recv() {
    let (tx, mut rx) = oneshot::channel();
    tx.send('v').expect("the receiver is alive");
    rx.close();
    assert_eq!(rx.try_recv(), Ok('v'));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn closed_wakes_when_the_receiver_closes() {
    let (mut tx, mut rx) = oneshot::channel::<u8>();
    let (counter, waker) = CountingWaker::new();
    assert_eq!(poll_once(&mut tx.closed(), &waker), Poll::Pending);
    rx.close();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut tx.closed(), &waker), Poll::Ready(()));
}

#[test]
fn closed_resolves_across_threads() {
    for _ in 0..200 {
        let (mut tx, rx) = oneshot::channel::<u8>();
        let receiver = thread::spawn(move || drop(rx));
        block_on(tx.closed());
        receiver.join().expect("receiver thread");
    }
}

#[test]
fn dropping_a_closed_future_loses_nothing() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (_, waker) = CountingWaker::new();
    let mut closed = tx.closed();
    assert_eq!(poll_once(&mut closed, &waker), Poll::Pending);
    drop(closed);
    assert!(!tx.is_closed());
    drop(rx);
    block_on(tx.closed());
}

// ===== try_recv =====

#[test]
fn try_recv_reports_empty_then_the_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send('x').expect("the receiver is alive");
    assert_eq!(rx.try_recv(), Ok('x'));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_terminated());
}

#[test]
fn try_recv_reports_closed_when_the_sender_is_dropped() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

// ===== the value is dropped exactly once =====

#[test]
fn received_value_is_dropped_once() {
    let (drops, value) = drop_counter();
    let (tx, rx) = oneshot::channel();
    tx.send(value).ok().expect("the receiver is alive");
    let received = block_on(rx).expect("the value was sent");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(received);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn unreceived_value_is_dropped_once_with_the_receiver() {
    let (drops, value) = drop_counter();
    let (tx, rx) = oneshot::channel();
    tx.send(value).ok().expect("the receiver is alive");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn value_sent_after_the_receiver_left_is_dropped_once_by_the_caller() {
    let (drops, value) = drop_counter();
    let (tx, rx) = oneshot::channel();
    drop(rx);
    let returned = tx.send(value).expect_err("the receiver is gone");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(returned);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn value_is_dropped_once_when_send_races_receiver_drop() {
    const ROUNDS: usize = 500;
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..ROUNDS {
        let (tx, rx) = oneshot::channel();
        let value = DropCounter(drops.clone());
        let sender = thread::spawn(move || drop(tx.send(value)));
        drop(rx);
        sender.join().expect("sender thread");
    }
    assert_eq!(drops.load(Ordering::SeqCst), ROUNDS);
}

// ===== cooperative budget =====

#[test]
fn spent_budget_makes_a_ready_receiver_yield() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).expect("the receiver is alive");
    let (counter, waker) = CountingWaker::new();

    let previous = hooks::set_budget(Some(0));
    let polled = poll_once(&mut rx, &waker);
    hooks::set_budget(previous);

    assert_eq!(polled, Poll::Pending);
    assert_eq!(counter.wakes(), 1, "the task is woken to run again");
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(1)));
}

#[test]
fn only_a_receive_that_completes_spends_budget() {
    let (tx, mut rx) = oneshot::channel();
    let (_, waker) = CountingWaker::new();

    let previous = hooks::set_budget(Some(3));
    assert_eq!(poll_once(&mut rx, &waker), Poll::Pending);
    let after_pending = hooks::budget();
    tx.send(1).expect("the receiver is alive");
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(1)));
    let after_ready = hooks::budget();
    hooks::set_budget(previous);

    assert_eq!((after_pending, after_ready), (Some(3), Some(2)));
}

#[test]
fn spent_budget_makes_closed_yield() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    drop(rx);
    let (counter, waker) = CountingWaker::new();

    let previous = hooks::set_budget(Some(0));
    let polled = poll_once(&mut tx.closed(), &waker);
    hooks::set_budget(previous);

    assert_eq!(polled, Poll::Pending);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut tx.closed(), &waker), Poll::Ready(()));
}

// ===== errors and Debug =====

#[test]
fn errors_are_std_errors_with_messages() {
    let errors: [Box<dyn std::error::Error + Send + Sync>; 3] = [
        Box::new(RecvError),
        Box::new(TryRecvError::Empty),
        Box::new(TryRecvError::Closed),
    ];
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "oneshot channel closed without a value",
            "oneshot channel empty",
            "oneshot channel closed without a value",
        ]
    );
}

#[test]
fn debug_does_not_need_a_debug_value() {
    struct Opaque;
    let (mut tx, rx) = oneshot::channel::<Opaque>();
    assert!(format!("{tx:?}").starts_with("Sender"));
    assert!(format!("{:?}", tx.closed()).starts_with("Closed"));
    tx.send(Opaque).ok().expect("the receiver is alive");
    assert!(format!("{rx:?}").contains("VALUE_SENT"), "{rx:?}");
}
