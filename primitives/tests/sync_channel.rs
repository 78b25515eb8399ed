//! `channel::bounded` / `channel::unbounded`: values get through in order on every executor and
//! from OS threads, close semantics hold from either side, waiting senders and receivers are
//! woken, cancelled receivers and reservations lose nothing, and the ops honour the coop budget.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures::executor::{block_on, ThreadPool};
use futures::stream::StreamExt;
use futures::task::SpawnExt;
use runtime_primitives::channel::{self, RecvError, SendError, TryRecvError, TrySendError};
use runtime_primitives::hooks;

mod support;
use support::*;

// ===== helpers =====

/// A value that counts its drops.
#[derive(Debug)]
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts its drops; the one made with `bomb` panics when dropped.
struct MaybePanics {
    drops: Arc<AtomicUsize>,
    bomb: bool,
}

impl Drop for MaybePanics {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.bomb {
            panic!("an item that panics when dropped");
        }
    }
}

// ===== basics =====

#[test]
fn bounded_delivers_in_fifo_order() {
    let (tx, rx) = channel::bounded(4);
    block_on(async {
        for i in 0..4 {
            tx.send(i).await.expect("open");
        }
        for i in 0..4 {
            assert_eq!(rx.recv().await, Ok(i));
        }
    });
}

#[test]
fn unbounded_send_never_waits() {
    let (tx, rx) = channel::unbounded();
    let (_, waker) = CountingWaker::new();
    for i in 0..100_000u32 {
        let send = std::pin::pin!(tx.send(i));
        assert!(poll_pinned(send, &waker).is_ready());
    }
    assert_eq!(rx.len(), 100_000);
    assert_eq!(tx.capacity(), None);
    for i in 0..100_000u32 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn try_send_on_a_full_channel_gives_the_value_back() {
    let (tx, rx) = channel::bounded(2);
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.try_send(3), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn len_capacity_and_is_empty_are_snapshots() {
    let (tx, rx) = channel::bounded::<u8>(3);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(3), Some(3)));
    assert!(tx.is_empty() && rx.is_empty());
    tx.try_send(1).expect("room");
    tx.try_send(2).expect("room");
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(!rx.is_empty());
    rx.try_recv().expect("an item");
    assert_eq!(rx.len(), 1);
}

#[test]
fn a_ring_wraps_around_many_times() {
    let (tx, rx) = channel::bounded(3);
    for i in 0..1000u32 {
        tx.try_send(i).expect("room");
        if i % 2 == 1 {
            assert_eq!(rx.try_recv(), Ok(i - 1));
            assert_eq!(rx.try_recv(), Ok(i));
        }
    }
    assert!(rx.is_empty());
}

#[test]
fn odd_and_power_of_two_capacities_hold_exactly_that_many() {
    for cap in [1usize, 2, 3, 7, 8, 1000, 1024, 1025] {
        let (tx, rx) = channel::bounded(cap);
        for round in 0..3 {
            for i in 0..cap {
                assert_eq!(tx.try_send(i), Ok(()), "cap {cap}, round {round}");
            }
            assert_eq!(tx.try_send(cap), Err(TrySendError::Full(cap)));
            assert_eq!(rx.len(), cap);
            for i in 0..cap {
                assert_eq!(rx.try_recv(), Ok(i));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    }
}

#[test]
#[should_panic(expected = "use a `oneshot` channel or `bounded(1)`")]
fn bounded_zero_panics_with_what_to_use() {
    let _ = channel::bounded::<u8>(0);
}

// ===== wake-ups =====

#[test]
fn send_wakes_a_waiting_receiver() {
    let (tx, rx) = channel::bounded(1);
    let (counter, waker) = CountingWaker::new();
    let mut recv = Box::pin(rx.recv());
    assert!(poll_pinned(recv.as_mut(), &waker).is_pending());
    tx.try_send(5).expect("room");
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_pinned(recv.as_mut(), &waker), Poll::Ready(Ok(5)));
}

#[test]
fn recv_wakes_a_sender_waiting_on_a_full_channel() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).expect("room");
    let (counter, waker) = CountingWaker::new();
    let mut send = Box::pin(tx.send(2));
    assert!(poll_pinned(send.as_mut(), &waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_pinned(send.as_mut(), &waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn one_send_wakes_one_of_many_waiting_receivers() {
    let (tx, rx) = channel::unbounded();
    let wakers: Vec<_> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut recvs: Vec<_> = (0..3).map(|_| Box::pin(rx.recv())).collect();
    for (recv, (_, waker)) in recvs.iter_mut().zip(&wakers) {
        assert!(poll_pinned(recv.as_mut(), waker).is_pending());
    }
    tx.try_send(1).expect("open");
    let woken: usize = wakers.iter().map(|(c, _)| c.wakes()).sum();
    assert_eq!(woken, 1, "one item wakes one receiver");
    assert_eq!(
        wakers[0].0.wakes(),
        1,
        "the first to wait is the first woken"
    );
    assert_eq!(
        poll_pinned(recvs[0].as_mut(), &wakers[0].1),
        Poll::Ready(Ok(1))
    );
}

#[test]
fn a_cancelled_receiver_hands_its_wake_up_on() {
    let (tx, rx) = channel::bounded(4);
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let mut a = Box::pin(rx.recv());
    let mut b = Box::pin(rx.recv());
    assert!(poll_pinned(a.as_mut(), &first_waker).is_pending());
    assert!(poll_pinned(b.as_mut(), &second_waker).is_pending());
    tx.try_send(7).expect("room");
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    drop(a); // woken for the item, then cancelled (a timeout fired, a select chose another arm)
    assert_eq!(second.wakes(), 1, "the wake-up is passed on");
    assert_eq!(poll_pinned(b.as_mut(), &second_waker), Poll::Ready(Ok(7)));
}

#[test]
fn a_cancelled_reservation_hands_its_wake_up_on() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(0).expect("room");
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let mut a = Box::pin(tx.reserve());
    let mut b = Box::pin(tx.reserve());
    assert!(poll_pinned(a.as_mut(), &first_waker).is_pending());
    assert!(poll_pinned(b.as_mut(), &second_waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((first.wakes(), second.wakes()), (1, 0));
    drop(a);
    assert_eq!(second.wakes(), 1);
    match poll_pinned(b.as_mut(), &second_waker) {
        Poll::Ready(Ok(permit)) => permit.send(1),
        other => panic!(
            "the reservation should succeed, got {:?}",
            other.map(|r| r.is_ok())
        ),
    }
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn a_cancelled_send_drops_its_value_and_leaves_the_channel_unchanged() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::bounded(1);
    tx.try_send(DropCounter(drops.clone())).expect("room");
    let (_, waker) = CountingWaker::new();
    let mut send = Box::pin(tx.send(DropCounter(drops.clone())));
    assert!(poll_pinned(send.as_mut(), &waker).is_pending());
    drop(send);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the unsent value is dropped"
    );
    assert_eq!(rx.len(), 1);
    drop(rx.try_recv().expect("the first value is still there"));
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

// ===== close =====

#[test]
fn close_from_the_sender_wakes_every_receiver() {
    let (tx, rx) = channel::bounded::<u8>(2);
    let wakers: Vec<_> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut recvs: Vec<_> = (0..3).map(|_| Box::pin(rx.recv())).collect();
    for (recv, (_, waker)) in recvs.iter_mut().zip(&wakers) {
        assert!(poll_pinned(recv.as_mut(), waker).is_pending());
    }
    assert!(tx.close(), "the first close closes");
    assert!(!tx.close(), "closing twice does nothing more");
    for (recv, (counter, waker)) in recvs.iter_mut().zip(&wakers) {
        assert_eq!(counter.wakes(), 1);
        assert_eq!(
            poll_pinned(recv.as_mut(), waker),
            Poll::Ready(Err(RecvError))
        );
    }
    assert!(tx.is_closed() && rx.is_closed());
}

#[test]
fn close_from_the_receiver_wakes_every_sender() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(0u8).expect("room");
    let wakers: Vec<_> = (0..3).map(|_| CountingWaker::new()).collect();
    let mut sends: Vec<_> = (1..4).map(|i| Box::pin(tx.send(i))).collect();
    let mut reserve = Box::pin(tx.reserve());
    for (send, (_, waker)) in sends.iter_mut().zip(&wakers) {
        assert!(poll_pinned(send.as_mut(), waker).is_pending());
    }
    let (reserve_counter, reserve_waker) = CountingWaker::new();
    assert!(poll_pinned(reserve.as_mut(), &reserve_waker).is_pending());
    rx.close();
    for (i, (send, (counter, waker))) in sends.iter_mut().zip(&wakers).enumerate() {
        assert_eq!(counter.wakes(), 1);
        assert_eq!(
            poll_pinned(send.as_mut(), waker),
            Poll::Ready(Err(SendError(i as u8 + 1))),
            "a send on a closed channel gives its value back"
        );
    }
    assert_eq!(reserve_counter.wakes(), 1);
    assert!(matches!(
        poll_pinned(reserve.as_mut(), &reserve_waker),
        Poll::Ready(Err(SendError(())))
    ));
    // What was queued before the close is still received.
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn queued_items_drain_after_close_then_recv_errors() {
    for (tx, rx) in [channel::bounded(8), channel::unbounded()] {
        for i in 0..5 {
            tx.try_send(i).expect("room");
        }
        tx.close();
        assert_eq!(tx.try_send(9), Err(TrySendError::Closed(9)));
        assert_eq!(block_on(tx.send(9)), Err(SendError(9)));
        assert!(block_on(tx.reserve()).is_err());
        let drained: Vec<_> = block_on(rx.clone().collect());
        assert_eq!(drained, vec![0, 1, 2, 3, 4]);
        assert_eq!(block_on(rx.recv()), Err(RecvError));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn the_last_sender_dropping_closes_the_channel() {
    let (tx, rx) = channel::bounded::<u8>(4);
    let tx2 = tx.clone();
    tx.try_send(1).expect("room");
    drop(tx);
    assert!(!rx.is_closed(), "a sender is still alive");
    tx2.try_send(2).expect("room");
    let (counter, waker) = CountingWaker::new();
    assert_eq!(block_on(rx.recv()), Ok(1));
    assert_eq!(block_on(rx.recv()), Ok(2));
    let mut recv = Box::pin(rx.recv());
    assert!(poll_pinned(recv.as_mut(), &waker).is_pending());
    drop(tx2);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(
        poll_pinned(recv.as_mut(), &waker),
        Poll::Ready(Err(RecvError))
    );
}

#[test]
fn the_last_receiver_dropping_closes_the_channel_and_drops_queued_items() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::bounded(4);
    let rx2 = rx.clone();
    for _ in 0..3 {
        tx.try_send(DropCounter(drops.clone())).expect("room");
    }
    drop(rx);
    assert!(!tx.is_closed());
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "queued items go with the last receiver"
    );
    match tx.try_send(DropCounter(drops.clone())) {
        Err(TrySendError::Closed(v)) => drop(v),
        _ => panic!("a send with no receiver fails"),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn every_item_is_dropped_exactly_once_when_the_channel_goes() {
    for unbounded in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = if unbounded {
            channel::unbounded()
        } else {
            channel::bounded(100)
        };
        for _ in 0..70 {
            tx.try_send(DropCounter(drops.clone())).expect("room");
        }
        for _ in 0..20 {
            drop(rx.try_recv().expect("an item"));
        }
        assert_eq!(drops.load(Ordering::SeqCst), 20);
        drop((tx, rx));
        assert_eq!(drops.load(Ordering::SeqCst), 70);
    }
}

// ===== reserve =====

#[test]
fn a_permit_holds_a_slot_until_it_sends() {
    let (tx, rx) = channel::bounded(2);
    let permit = block_on(tx.reserve()).expect("open");
    tx.try_send(1).expect("one slot left");
    assert_eq!(
        tx.try_send(2),
        Err(TrySendError::Full(2)),
        "the permit holds the other"
    );
    assert_eq!(rx.len(), 1);
    permit.send(3);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn a_dropped_permit_frees_its_slot_and_wakes_a_sender() {
    let (tx, rx) = channel::bounded(1);
    let permit = tx.try_reserve().expect("room");
    let (counter, waker) = CountingWaker::new();
    let mut send = Box::pin(tx.send(5));
    assert!(poll_pinned(send.as_mut(), &waker).is_pending());
    drop(permit);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_pinned(send.as_mut(), &waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn a_permit_taken_before_close_still_sends() {
    let (tx, rx) = channel::bounded(2);
    tx.try_send(1).expect("room");
    let permit = tx.try_reserve().expect("room");
    rx.close();
    assert!(tx.try_reserve().is_err(), "no new permit after close");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "a permit is still out: the channel is not drained yet"
    );
    let (counter, waker) = CountingWaker::new();
    let mut recv = Box::pin(rx.recv());
    assert!(poll_pinned(recv.as_mut(), &waker).is_pending());
    permit.send(2);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_pinned(recv.as_mut(), &waker), Poll::Ready(Ok(2)));
    assert_eq!(block_on(rx.recv()), Err(RecvError));
}

#[test]
fn dropping_the_last_permit_of_a_closed_channel_ends_every_receiver() {
    let (tx, rx) = channel::bounded::<u8>(2);
    let permit = tx.try_reserve().expect("room");
    tx.close();
    let wakers: Vec<_> = (0..2).map(|_| CountingWaker::new()).collect();
    let mut recvs: Vec<_> = (0..2).map(|_| Box::pin(rx.recv())).collect();
    for (recv, (_, waker)) in recvs.iter_mut().zip(&wakers) {
        assert!(poll_pinned(recv.as_mut(), waker).is_pending());
    }
    drop(permit);
    for (recv, (counter, waker)) in recvs.iter_mut().zip(&wakers) {
        assert!(counter.wakes() >= 1);
        assert_eq!(
            poll_pinned(recv.as_mut(), waker),
            Poll::Ready(Err(RecvError))
        );
    }
}

#[test]
fn a_reservation_woken_after_close_and_then_dropped_leaves_recv_ending() {
    // The slot a dropped permit frees goes to a waiting reservation that is never polled
    // again: the receiver of the closed channel must still end instead of waiting for it.
    let (tx, rx) = channel::bounded::<u8>(1);
    let first = tx.try_reserve().expect("room");
    let (counter, waker) = CountingWaker::new();
    let mut second = Box::pin(tx.reserve());
    assert!(poll_pinned(second.as_mut(), &waker).is_pending());
    rx.close();
    drop(first);
    assert!(counter.wakes() >= 1, "the waiting reservation is woken");
    drop(second);
    assert_eq!(
        poll_once(std::pin::pin!(rx.recv())),
        Poll::Ready(Err(RecvError))
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_reservation_woken_after_close_reports_the_close() {
    let (tx, rx) = channel::bounded::<u8>(1);
    let first = tx.try_reserve().expect("room");
    let (counter, waker) = CountingWaker::new();
    let mut second = Box::pin(tx.reserve());
    assert!(poll_pinned(second.as_mut(), &waker).is_pending());
    rx.close();
    assert!(counter.wakes() >= 1, "close wakes the waiting reservation");
    drop(first);
    assert!(matches!(
        poll_pinned(second.as_mut(), &waker),
        Poll::Ready(Err(SendError(())))
    ));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn reservations_and_queued_items_both_use_up_the_capacity() {
    // What tokio's `Sender::capacity` counts (free slots) shows here as which sends still
    // fit; our `capacity()` is the fixed bound and does not move.
    let (tx, rx) = channel::bounded(3);
    assert_eq!(tx.capacity(), Some(3));
    let permit = tx.try_reserve().expect("room");
    assert_eq!(tx.capacity(), Some(3));
    tx.try_send(1).expect("two slots left");
    tx.try_send(2).expect("one slot left");
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert!(tx.try_reserve().is_err(), "no slot for another permit");
    assert_eq!((rx.len(), tx.capacity()), (2, Some(3)));
    assert_eq!(rx.try_recv(), Ok(1));
    tx.try_send(4).expect("a received item frees its slot");
    permit.send(5);
    assert_eq!(rx.len(), 3);
    let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, [2, 4, 5]);
}

/// tokio's `failed_reserve_wakes_closed_receiver` / `cancelled_reserve_wakes_closed_receiver`:
/// the only slot of a channel goes to a waiting reservation that is woken but not yet
/// polled, then the channel closes. Here a reservation holds no slot until it is polled, so
/// a receiver of the closed, empty channel ends at once; and still after the reservation
/// fails (`poll_the_reservation`) or is dropped.
fn a_woken_reservation_does_not_keep_a_closed_channel_open(poll_the_reservation: bool) {
    let (tx, rx) = channel::bounded::<u8>(1);
    let permit = tx.try_reserve().expect("room");
    let (_, reserve_waker) = CountingWaker::new();
    let mut reserve = Box::pin(tx.reserve());
    assert!(poll_pinned(reserve.as_mut(), &reserve_waker).is_pending());
    drop(permit);
    rx.close();
    let (_, recv_waker) = CountingWaker::new();
    let mut recv = Box::pin(rx.recv());
    assert_eq!(
        poll_pinned(recv.as_mut(), &recv_waker),
        Poll::Ready(Err(RecvError))
    );
    if poll_the_reservation {
        assert!(matches!(
            poll_pinned(reserve.as_mut(), &reserve_waker),
            Poll::Ready(Err(SendError(())))
        ));
    } else {
        drop(reserve);
    }
    assert_eq!(
        poll_once(std::pin::pin!(rx.recv())),
        Poll::Ready(Err(RecvError))
    );
}

#[test]
fn a_reservation_failing_after_close_leaves_the_receiver_ended() {
    a_woken_reservation_does_not_keep_a_closed_channel_open(true);
}

#[test]
fn a_reservation_dropped_after_close_leaves_the_receiver_ended() {
    a_woken_reservation_does_not_keep_a_closed_channel_open(false);
}

#[test]
fn releasing_the_last_owned_permit_of_a_closed_channel_ends_the_receiver() {
    let (tx, rx) = channel::bounded::<u8>(4);
    let permit = block_on(tx.clone().reserve_owned()).expect("open");
    rx.close();
    let (counter, waker) = CountingWaker::new();
    let mut recv = Box::pin(rx.recv());
    assert!(
        poll_pinned(recv.as_mut(), &waker).is_pending(),
        "a permit is out"
    );
    let sender = permit.release();
    assert!(counter.wakes() >= 1);
    assert_eq!(
        poll_pinned(recv.as_mut(), &waker),
        Poll::Ready(Err(RecvError))
    );
    drop((sender, tx));
}

#[test]
fn handles_need_no_debug_or_clone_from_the_item_type() {
    struct Plain;
    for (tx, rx) in [channel::bounded::<Plain>(2), channel::unbounded::<Plain>()] {
        assert!(!format!("{tx:?} {rx:?}").is_empty());
        assert!(tx.clone().try_send(Plain).is_ok());
        assert!(rx.clone().try_recv().is_ok());
    }
}

#[test]
fn reserve_owned_outlives_the_borrow() {
    let (tx, rx) = channel::bounded(1);
    let permit = block_on(tx.clone().reserve_owned()).expect("open");
    drop(tx);
    assert!(!rx.is_closed(), "the owned permit keeps a sender alive");
    let tx = permit.send(4);
    assert_eq!(rx.try_recv(), Ok(4));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn unbounded_reserve_is_always_ready() {
    let (tx, rx) = channel::unbounded();
    let permits: Vec<_> = (0..10).map(|_| tx.try_reserve().expect("open")).collect();
    for (i, permit) in permits.into_iter().enumerate() {
        permit.send(i);
    }
    assert_eq!(rx.len(), 10);
}

// ===== stream, cooperative budget =====

#[test]
fn receiver_is_a_stream_that_ends_on_close() {
    let (tx, rx) = channel::bounded(16);
    let producer = thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).expect("open");
        }
    });
    let items: Vec<u32> = block_on(rx.collect());
    producer.join().expect("producer");
    assert_eq!(items, (0..100).collect::<Vec<_>>());
}

#[test]
fn a_spent_budget_makes_ready_ops_yield() {
    let (tx, rx) = channel::bounded(4);
    tx.try_send(1).expect("room");
    let (counter, waker) = CountingWaker::new();
    let previous = hooks::set_budget(Some(0));
    let recv = poll_pinned(Box::pin(rx.recv()).as_mut(), &waker);
    let send = poll_pinned(Box::pin(tx.send(2)).as_mut(), &waker);
    hooks::set_budget(previous);
    assert!(recv.is_pending() && send.is_pending());
    assert_eq!(counter.wakes(), 2, "the task is woken to run again");
    assert_eq!(rx.len(), 1, "nothing moved");
}

#[test]
fn each_completed_op_spends_one_unit() {
    let (tx, rx) = channel::bounded(4);
    let (_, waker) = CountingWaker::new();
    let previous = hooks::set_budget(Some(10));
    assert!(poll_pinned(Box::pin(rx.recv()).as_mut(), &waker).is_pending());
    let after_pending = hooks::budget();
    assert!(poll_pinned(Box::pin(tx.send(1)).as_mut(), &waker).is_ready());
    assert!(poll_pinned(Box::pin(rx.recv()).as_mut(), &waker).is_ready());
    let after_two = hooks::budget();
    hooks::set_budget(previous);
    assert_eq!((after_pending, after_two), (Some(10), Some(8)));
}

// ===== OS threads =====

#[test]
fn blocking_forms_move_values_between_threads() {
    within(20, || {
        let (tx, rx) = channel::bounded(2);
        let producers: Vec<_> = (0..3)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..2_000u64 {
                        tx.send_blocking(p * 1_000_000 + i).expect("open");
                    }
                })
            })
            .collect();
        drop(tx);
        let mut last = [None::<u64>; 3];
        let mut count = 0;
        while let Ok(v) = rx.recv_blocking() {
            let (p, i) = ((v / 1_000_000) as usize, v % 1_000_000);
            assert!(last[p].is_none_or(|l| l < i), "per-producer FIFO order");
            last[p] = Some(i);
            count += 1;
        }
        for p in producers {
            p.join().expect("producer");
        }
        assert_eq!(count, 6_000);
    });
}

#[test]
fn recv_blocking_errors_once_closed_and_drained() {
    let (tx, rx) = channel::unbounded::<u8>();
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.try_send(1).expect("open");
        drop(tx);
    });
    assert_eq!(rx.recv_blocking(), Ok(1));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
    closer.join().expect("closer");
}

#[test]
fn send_blocking_errors_when_the_receivers_leave() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).expect("room");
    let leaver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(rx);
    });
    assert_eq!(tx.send_blocking(2), Err(SendError(2)));
    leaver.join().expect("leaver");
}

#[test]
fn threads_and_tasks_share_one_channel() {
    within(20, || {
        let pool = ThreadPool::builder().pool_size(2).create().expect("pool");
        let (tx, rx) = channel::bounded(8);
        let (back_tx, back_rx) = channel::unbounded();
        for _ in 0..2 {
            let rx = rx.clone();
            let back_tx = back_tx.clone();
            pool.spawn_ok(async move {
                while let Ok(v) = rx.recv().await {
                    back_tx.send(v * 2).await.expect("open");
                }
            });
        }
        drop((rx, back_tx));
        for i in 0..1_000u64 {
            tx.send_blocking(i).expect("open");
        }
        drop(tx);
        let mut sum = 0;
        while let Ok(v) = back_rx.recv_blocking() {
            sum += v;
        }
        assert_eq!(sum, 2 * (0..1_000u64).sum::<u64>());
    });
}

#[test]
#[should_panic(expected = "`channel::Receiver::recv_blocking` would block a runtime worker thread")]
fn recv_blocking_panics_on_a_worker_thread() {
    let (_tx, rx) = channel::bounded::<u8>(1);
    hooks::set_worker_thread(true);
    let _ = rx.recv_blocking();
}

#[test]
#[should_panic(expected = "`channel::Sender::send_blocking` would block a runtime worker thread")]
fn send_blocking_panics_on_a_worker_thread() {
    let (tx, _rx) = channel::bounded::<u8>(1);
    hooks::set_worker_thread(true);
    let _ = tx.send_blocking(1);
}

// ===== executors =====

#[test]
fn futures_thread_pool_mpmc() {
    within(20, || {
        let pool = ThreadPool::builder().pool_size(2).create().expect("pool");
        let (tx, rx) = channel::bounded(4);
        let (done_tx, done_rx) = channel::unbounded();
        for c in 0..3 {
            let rx = rx.clone();
            let done_tx = done_tx.clone();
            pool.spawn_ok(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv().await {
                    got.push(v);
                }
                done_tx.send((c, got)).await.expect("open");
            });
        }
        drop((rx, done_tx));
        let producers: Vec<_> = (0..3u64)
            .map(|p| {
                let tx = tx.clone();
                pool.spawn_with_handle(async move {
                    for i in 0..3_000 {
                        tx.send(p * 10_000 + i).await.expect("open");
                    }
                })
                .expect("spawn")
            })
            .collect();
        drop(tx);
        block_on(futures::future::join_all(producers));
        let mut all = HashSet::new();
        while let Ok((_, got)) = done_rx.recv_blocking() {
            for v in got {
                assert!(all.insert(v), "{v} received twice");
            }
        }
        assert_eq!(all.len(), 9_000, "every item received exactly once");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_mpmc_with_reserve() {
    let (tx, rx) = channel::bounded(8);
    let mut consumers = Vec::new();
    for _ in 0..4 {
        let rx = rx.clone();
        consumers.push(tokio::spawn(async move {
            let mut sum = 0u64;
            let mut n = 0;
            while let Ok(v) = rx.recv().await {
                sum += v;
                n += 1;
            }
            (sum, n)
        }));
    }
    drop(rx);
    let mut producers = Vec::new();
    for p in 0..4u64 {
        let tx = tx.clone();
        producers.push(tokio::spawn(async move {
            for i in 0..2_000 {
                if i % 2 == 0 {
                    tx.send(p + i).await.expect("open");
                } else {
                    tx.reserve().await.expect("open").send(p + i);
                }
            }
        }));
    }
    drop(tx);
    for p in producers {
        p.await.expect("producer");
    }
    let (mut sum, mut n) = (0, 0);
    for c in consumers {
        let (s, k) = c.await.expect("consumer");
        sum += s;
        n += k;
    }
    assert_eq!(n, 8_000);
    assert_eq!(
        sum,
        (0..4u64)
            .map(|p| (0..2_000).map(|i| p + i).sum::<u64>())
            .sum()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn tokio_current_thread_ping_pong() {
    let (ping_tx, ping_rx) = channel::bounded(1);
    let (pong_tx, pong_rx) = channel::bounded(1);
    let echo = tokio::spawn(async move {
        while let Ok(v) = ping_rx.recv().await {
            pong_tx.send(v + 1).await.expect("open");
        }
    });
    for i in 0..1_000u32 {
        ping_tx.send(i).await.expect("open");
        assert_eq!(pong_rx.recv().await, Ok(i + 1));
    }
    drop(ping_tx);
    echo.await.expect("echo task");
}

// ===== stress: cancellation loses nothing =====

/// Receivers give up at random (a timeout fires) and try again; producers sometimes reserve
/// under a timeout too. Every item must still arrive exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_random_cancellation_loses_no_item() {
    const PRODUCERS: u64 = 4;
    const ITEMS: u64 = 2_000;
    // `0` stands for an unbounded channel.
    for cap in [1usize, 3, 64, 0] {
        let (tx, rx) = if cap == 0 {
            channel::unbounded()
        } else {
            channel::bounded(cap)
        };
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let tx = tx.clone();
            producers.push(tokio::spawn(async move {
                let mut rng = Rng(p * 7 + 1 + cap as u64);
                for i in 0..ITEMS {
                    let v = p * ITEMS + i;
                    loop {
                        let wait = Duration::from_micros(rng.below(200));
                        match tokio::time::timeout(wait, tx.reserve()).await {
                            Ok(permit) => {
                                permit.expect("open").send(v);
                                break;
                            }
                            Err(_) => continue, // cancelled: nothing reserved, try again
                        }
                    }
                }
            }));
        }
        drop(tx);
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut consumers = Vec::new();
        for c in 0..3u64 {
            let rx = rx.clone();
            let received = received.clone();
            consumers.push(tokio::spawn(async move {
                let mut rng = Rng(c * 13 + 5);
                loop {
                    let wait = Duration::from_micros(rng.below(300));
                    match tokio::time::timeout(wait, rx.recv()).await {
                        Ok(Ok(v)) => received.lock().expect("no poison").push(v),
                        Ok(Err(RecvError)) => break,
                        Err(_) => {} // cancelled while waiting: must lose nothing
                    }
                }
            }));
        }
        drop(rx);
        for p in producers {
            p.await.expect("producer");
        }
        for c in consumers {
            c.await.expect("consumer");
        }
        let mut got = received.lock().expect("no poison").clone();
        got.sort_unstable();
        assert_eq!(got, (0..PRODUCERS * ITEMS).collect::<Vec<_>>(), "cap {cap}");
    }
}

/// Futures are dropped after a random number of polls on a plain executor: the same promise.
#[test]
fn dropped_after_a_few_polls_loses_no_item() {
    within(20, || {
        let (tx, rx) = channel::bounded(2);
        let consumers: Vec<_> = (0..3u64)
            .map(|c| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut rng = Rng(c + 11);
                    let mut got = Vec::new();
                    let (_, waker) = CountingWaker::new();
                    loop {
                        // Poll a few times, then either wait for real or give up.
                        let mut recv = Box::pin(rx.recv());
                        let mut done = None;
                        for _ in 0..rng.below(3) {
                            if let Poll::Ready(r) = poll_pinned(recv.as_mut(), &waker) {
                                done = Some(r);
                                break;
                            }
                            thread::yield_now();
                        }
                        let result = match done {
                            Some(r) => r,
                            None if rng.below(2) == 0 => continue, // dropped while waiting
                            None => block_on(recv),
                        };
                        match result {
                            Ok(v) => got.push(v),
                            Err(RecvError) => return got,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for i in 0..3_000u64 {
            tx.send_blocking(i).expect("open");
        }
        drop(tx);
        let mut all: Vec<u64> = consumers
            .into_iter()
            .flat_map(|c| c.join().expect("consumer"))
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..3_000).collect::<Vec<_>>());
    });
}

// ===== errors, Debug, auto traits =====

#[test]
fn errors_are_std_errors_with_messages() {
    assert_eq!(SendError(5).to_string(), "sending on a closed channel");
    assert_eq!(
        TrySendError::Full(5).to_string(),
        "sending on a full channel"
    );
    assert_eq!(
        TrySendError::Closed(5).to_string(),
        "sending on a closed channel"
    );
    assert_eq!(
        RecvError.to_string(),
        "receiving on a closed and empty channel"
    );
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receiving on a closed and empty channel"
    );
    assert_eq!(TrySendError::Full(5).into_inner(), 5);
    assert_eq!(SendError(5).into_inner(), 5);
    let _: Box<dyn std::error::Error + Send + Sync> = Box::new(SendError(1u8));
    let _: Box<dyn std::error::Error + Send + Sync> = Box::new(TrySendError::Full(1u8));
}

#[test]
fn handles_and_futures_are_debug_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let (tx, rx) = channel::bounded::<std::cell::Cell<u8>>(1);
    send_sync(&tx);
    send_sync(&rx);
    assert!(format!("{tx:?}").contains("Sender"));
    assert!(format!("{rx:?}").contains("Receiver"));
    let recv = rx.recv();
    let send = tx.send(std::cell::Cell::new(1));
    fn send_only<T: Send>(_: &T) {}
    send_only(&recv);
    send_only(&send);
    assert!(format!("{recv:?}").contains("Recv"));
}

// ===== behaviours from tokio's sync_mpsc not covered above =====

#[test]
fn queued_items_are_all_dropped_even_when_one_drop_panics() {
    // tokio's `drop_all_elements_during_panic`: a panicking item drop must not leak the
    // items queued behind it.
    for make in [channel::bounded::<MaybePanics> as fn(usize) -> _, |_| {
        channel::unbounded()
    }] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = make(8);
        for bomb in [false, true, false, false] {
            let item = MaybePanics {
                drops: drops.clone(),
                bomb,
            };
            assert!(tx.try_send(item).is_ok());
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop(tx);
            drop(rx);
        }));
        assert!(dropped.is_err(), "the item's panic reaches the dropper");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            4,
            "every queued item was dropped"
        );
    }
}

#[test]
fn dropping_the_receiver_releases_a_parked_sender_waker() {
    // tokio's `release_waker_on_rx_drop`, from the sender's side here: a waker parked by a
    // send on a full channel is woken and let go when the receiver goes.
    let (tx, rx) = channel::bounded(1);
    tx.try_send(0u8).unwrap();
    let (counter, waker) = CountingWaker::new();
    {
        let mut send = Box::pin(tx.send(1));
        assert!(poll_pinned(send.as_mut(), &waker).is_pending());
        drop(rx);
        assert_eq!(counter.wakes(), 1);
        assert!(matches!(
            poll_pinned(send.as_mut(), &waker),
            Poll::Ready(Err(SendError(1)))
        ));
    }
    drop(waker);
    assert_eq!(Arc::strong_count(&counter), 1, "nothing keeps the waker");
}

#[test]
fn dropping_the_receiver_releases_its_own_parked_waker() {
    let (tx, rx) = channel::unbounded::<u8>();
    let (counter, waker) = CountingWaker::new();
    {
        let mut recv = Box::pin(rx.recv());
        assert!(poll_pinned(recv.as_mut(), &waker).is_pending());
    }
    drop(waker);
    drop(rx);
    assert_eq!(Arc::strong_count(&counter), 1);
    drop(tx);
}

#[test]
fn try_recv_after_the_receiver_closes_drains_then_reports_closed() {
    let (tx, rx) = channel::bounded(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(rx.close());
    assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}
