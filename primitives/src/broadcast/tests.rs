use super::*;
use core::pin::pin;
use core::task::Waker;
use futures::executor::block_on;
use std::sync::atomic::{AtomicUsize, Ordering};

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// A waker that counts its wakes.
struct CountingWaker(AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let counter = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}

#[test]
fn every_receiver_gets_every_message_in_order() {
    let (tx, mut a) = channel(8);
    let mut b = tx.subscribe();
    for i in 0..5 {
        assert_eq!(tx.send(i), Ok(2));
    }
    for rx in [&mut a, &mut b] {
        let got: Vec<_> = (0..5).map(|_| rx.try_recv().unwrap()).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn a_lagging_receiver_learns_exactly_how_many_it_missed_and_goes_on_from_the_oldest() {
    // A capacity that is not a power of two: the ring keeps exactly 3.
    let (tx, mut rx) = channel(3);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 10);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(7)));
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Ok(8));
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Lagging again, by one.
    for i in 10..14 {
        tx.send(i).unwrap();
    }
    assert_eq!(block_on(rx.recv()), Err(RecvError::Lagged(1)));
    assert_eq!(block_on(rx.recv()), Ok(11));
}

#[test]
fn after_the_last_sender_drops_receivers_drain_then_see_closed() {
    let (tx, mut rx) = channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "one sender is left");
    tx2.send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(block_on(rx.recv()), Ok(1));
    assert_eq!(block_on(rx.recv()), Ok(2));
    assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn dropping_the_last_sender_wakes_a_waiting_receiver_with_closed() {
    let (tx, mut rx) = channel::<u8>(4);
    let (count, waker) = counting_waker();
    let mut recv = pin!(rx.recv());
    let mut cx = Context::from_waker(&waker);
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    drop(tx);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        recv.as_mut().poll(&mut cx),
        Poll::Ready(Err(RecvError::Closed))
    );
}

#[test]
fn a_send_wakes_every_waiting_receiver() {
    let (tx, rx) = channel(2);
    let mut receivers: Vec<_> = (0..50).map(|_| rx.resubscribe()).collect();
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut waits: Vec<_> = receivers.iter_mut().map(|rx| Box::pin(rx.recv())).collect();
    for w in &mut waits {
        assert!(w.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(tx.send(7), Ok(51));
    assert_eq!(count.0.load(Ordering::SeqCst), 50);
    for w in &mut waits {
        assert_eq!(w.as_mut().poll(&mut cx), Poll::Ready(Ok(7)));
    }
}

#[test]
fn a_dropped_recv_loses_no_message() {
    let (tx, mut rx) = channel(4);
    // Dropped while queued, before the send.
    assert!(poll_once(pin!(rx.recv())).is_pending());
    tx.send(1).unwrap();
    // Dropped after the send woke it, before it took the message.
    let mut recv = Box::pin(rx.recv());
    assert_eq!(poll_once(recv.as_mut()), Poll::Ready(Ok(1)));
    drop(recv);
    let mut recv = Box::pin(rx.recv());
    assert!(poll_once(recv.as_mut()).is_pending());
    tx.send(2).unwrap();
    drop(recv);
    assert_eq!(rx.try_recv(), Ok(2), "the message is still there");
}

#[test]
fn send_without_receivers_hands_the_value_back() {
    let (tx, rx) = channel(2);
    drop(rx);
    assert_eq!(
        tx.send(String::from("x")),
        Err(SendError(String::from("x")))
    );
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(String::from("y")), Ok(1));
    assert_eq!(rx.try_recv().as_deref(), Ok("y"));
}

#[test]
fn resubscribe_starts_at_the_tail() {
    let (tx, mut rx) = channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let mut fresh = rx.resubscribe();
    assert_eq!(fresh.len(), 0);
    tx.send(3).unwrap();
    assert_eq!(fresh.try_recv(), Ok(3));
    assert_eq!(fresh.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx.try_recv(), Ok(1), "the original keeps its place");
}

#[test]
fn a_message_is_freed_once_every_receiver_has_read_it() {
    let message = std::sync::Arc::new(());
    let (tx, mut a) = channel(4);
    let mut b = tx.subscribe();
    tx.send(message.clone()).unwrap();
    assert_eq!(std::sync::Arc::strong_count(&message), 2);
    drop(a.try_recv().unwrap());
    assert_eq!(
        std::sync::Arc::strong_count(&message),
        2,
        "b has not read it"
    );
    drop(b.try_recv().unwrap());
    assert_eq!(
        std::sync::Arc::strong_count(&message),
        1,
        "read by all: freed"
    );
}

#[test]
fn a_dropped_receiver_frees_what_it_had_not_read() {
    let message = std::sync::Arc::new(());
    let (tx, mut a) = channel(4);
    let b = tx.subscribe();
    tx.send(message.clone()).unwrap();
    tx.send(message.clone()).unwrap();
    drop(a.try_recv().unwrap());
    drop(a.try_recv().unwrap());
    assert_eq!(std::sync::Arc::strong_count(&message), 3);
    drop(b);
    assert_eq!(std::sync::Arc::strong_count(&message), 1);
    assert!(tx.is_empty());
}

#[test]
fn an_overwritten_message_is_dropped() {
    let first = std::sync::Arc::new(());
    let (tx, _rx) = channel(1);
    tx.send(first.clone()).unwrap();
    tx.send(std::sync::Arc::new(())).unwrap();
    assert_eq!(std::sync::Arc::strong_count(&first), 1);
}

#[test]
fn sender_len_counts_messages_someone_has_yet_to_read() {
    let (tx, mut a) = channel(3);
    let mut b = tx.subscribe();
    assert!(tx.is_empty());
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(tx.len(), 3, "at most the capacity");
    assert_eq!(a.try_recv(), Err(TryRecvError::Lagged(2)));
    for _ in 0..3 {
        a.try_recv().unwrap();
    }
    assert_eq!(tx.len(), 3, "b has read none");
    assert_eq!(b.try_recv(), Err(TryRecvError::Lagged(2)));
    b.try_recv().unwrap();
    assert_eq!(tx.len(), 2);
    drop(b);
    assert_eq!(tx.len(), 0);
}

#[test]
fn closed_waits_for_the_last_receiver() {
    let (tx, rx) = channel::<u8>(2);
    let rx2 = rx.resubscribe();
    let (count, waker) = counting_waker();
    let mut closed = pin!(tx.closed());
    let mut cx = Context::from_waker(&waker);
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    drop(rx);
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    drop(rx2);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(closed.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn capacity_zero_panics_naming_what_to_use() {
    let err = std::panic::catch_unwind(|| channel::<u8>(0)).unwrap_err();
    let message = panic_message(&*err);
    assert!(message.contains("broadcast::channel(1)"), "{message}");
}

#[test]
fn capacity_above_the_maximum_panics() {
    let err = std::panic::catch_unwind(|| channel::<u8>(MAX_CAPACITY + 1)).unwrap_err();
    let message = panic_message(&*err);
    assert!(message.contains("maximum capacity"), "{message}");
}

#[test]
fn recv_blocking_across_threads_and_refused_on_a_worker() {
    let (tx, mut rx) = channel(4);
    let receiver = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        got
    });
    // Room for everything: no lag whatever the interleaving.
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(receiver.join().unwrap(), [0, 1, 2, 3]);

    let refused = std::thread::spawn(|| {
        crate::hooks::set_worker_thread(true);
        let (_tx, mut rx) = channel::<u8>(1);
        let _ = rx.recv_blocking();
    })
    .join()
    .unwrap_err();
    let message = panic_message(&*refused);
    assert!(message.contains("receiver.recv().await"), "{message}");
}

#[test]
fn a_panicking_clone_leaves_the_message_to_read_again() {
    #[derive(Debug, PartialEq)]
    struct Fragile(bool);
    impl Clone for Fragile {
        fn clone(&self) -> Self {
            assert!(!self.0, "this clone fails");
            Fragile(false)
        }
    }
    let (tx, mut rx) = channel(2);
    tx.send(Fragile(true)).unwrap();
    tx.send(Fragile(false)).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rx.try_recv()));
    assert!(panicked.is_err());
    assert_eq!(rx.len(), 2, "the receiver did not move past it");
}
