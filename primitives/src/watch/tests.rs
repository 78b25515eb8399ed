use super::*;
use core::pin::pin;
use core::task::Waker;
use futures::executor::block_on;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::Arc as StdArc;

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// A waker that counts its wakes.
struct CountingWaker(StdAtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (StdArc<CountingWaker>, Waker) {
    let counter = StdArc::new(CountingWaker(StdAtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}

#[test]
fn changed_resolves_at_once_for_an_unseen_version_and_marks_it_seen() {
    let (tx, mut rx) = channel(0);
    tx.send(1).unwrap();
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(poll_once(pin!(rx.changed())).is_pending());
}

#[test]
fn a_send_wakes_a_waiting_changed() {
    let (tx, mut rx) = channel(0);
    let (count, waker) = counting_waker();
    let mut changed = Box::pin(rx.changed());
    let mut cx = Context::from_waker(&waker);
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    tx.send(1).unwrap();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the send woke the waiter"
    );
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    drop(changed);
    assert_eq!(*rx.borrow(), 1);
}

#[test]
fn one_send_wakes_every_waiting_receiver() {
    let (tx, rx) = channel(0);
    let mut receivers: Vec<_> = (0..100).map(|_| rx.clone()).collect();
    let mut waits: Vec<_> = receivers
        .iter_mut()
        .map(|rx| Box::pin(rx.changed()))
        .collect();
    for w in &mut waits {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    tx.send(1).unwrap();
    for w in &mut waits {
        assert_eq!(poll_once(w.as_mut()), Poll::Ready(Ok(())));
    }
}

#[test]
fn a_dropped_changed_loses_no_change() {
    let (tx, mut rx) = channel(0);
    // Dropped while queued, before the send.
    assert!(poll_once(pin!(rx.changed())).is_pending());
    tx.send(1).unwrap();
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));

    // Dropped after the send woke it, before it was polled again.
    let mut changed = Box::pin(rx.changed());
    assert!(poll_once(changed.as_mut()).is_pending());
    tx.send(2).unwrap();
    drop(changed);
    assert_eq!(rx.has_changed(), Ok(true), "the change is still unseen");
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
    assert_eq!(*rx.borrow(), 2);
}

#[test]
fn changed_after_the_sender_drops_reports_the_last_change_then_fails() {
    let (tx, mut rx) = channel(0);
    tx.send(1).unwrap();
    drop(tx);
    assert!(
        rx.has_changed().is_err(),
        "has_changed fails once the sender is gone"
    );
    assert_eq!(block_on(rx.changed()), Ok(()), "the unseen version first");
    assert_eq!(*rx.borrow(), 1);
    assert_eq!(block_on(rx.changed()), Err(RecvError));
}

#[test]
fn dropping_the_sender_wakes_a_waiting_changed_with_the_error() {
    let (tx, mut rx) = channel(0);
    let (count, waker) = counting_waker();
    let mut changed = pin!(rx.changed());
    let mut cx = Context::from_waker(&waker);
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    drop(tx);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Err(RecvError)));
}

#[test]
fn a_clone_has_seen_what_the_original_has_seen() {
    let (tx, mut rx) = channel(0);
    tx.send(1).unwrap();
    let unseen = rx.clone();
    assert_eq!(unseen.has_changed(), Ok(true));
    rx.borrow_and_update();
    let seen = rx.clone();
    assert_eq!(seen.has_changed(), Ok(false));
}

#[test]
fn borrow_does_not_mark_seen_and_borrow_and_update_does() {
    let (tx, mut rx) = channel(0);
    tx.send(1).unwrap();
    assert!(rx.borrow().has_changed());
    assert!(rx.borrow().has_changed(), "still unseen");
    let value = rx.borrow_and_update();
    assert!(value.has_changed());
    assert_eq!(*value, 1);
    drop(value);
    assert!(!rx.borrow().has_changed());
    assert!(!tx.borrow().has_changed());
}

#[test]
fn send_without_receivers_hands_the_value_back_and_keeps_the_old_one() {
    let (tx, rx) = channel(String::from("kept"));
    drop(rx);
    assert_eq!(tx.send("lost".into()), Err(SendError(String::from("lost"))));
    assert_eq!(*tx.borrow(), "kept");
    // send_replace stores it anyway, and a later subscriber sees it as seen.
    assert_eq!(tx.send_replace("stored".into()), "kept");
    let rx = tx.subscribe();
    assert_eq!(*rx.borrow(), "stored");
    assert_eq!(rx.has_changed(), Ok(false));
}

#[test]
fn send_if_modified_wakes_only_when_modified() {
    let (tx, mut rx) = channel(1);
    let (count, waker) = counting_waker();
    let mut changed = pin!(rx.changed());
    let mut cx = Context::from_waker(&waker);
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(count.0.load(Ordering::SeqCst), 0);
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    assert!(tx.send_if_modified(|v| {
        *v = 2;
        true
    }));
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
}

#[test]
fn a_panicking_send_modify_keeps_its_edit_notifies_nobody_and_leaves_the_channel_usable() {
    let (tx, rx) = channel(vec![1]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tx.send_modify(|v| {
            v.push(2);
            panic!("in the middle of an edit");
        })
    }));
    assert!(result.is_err());
    assert_eq!(rx.has_changed(), Ok(false), "no version for a failed edit");
    assert_eq!(*rx.borrow(), [1, 2]);
    tx.send(vec![3]).unwrap();
    assert_eq!(*rx.borrow(), [3]);
}

#[test]
fn mark_changed_and_mark_unchanged() {
    let (tx, mut rx) = channel(0);
    rx.mark_changed();
    assert_eq!(rx.has_changed(), Ok(true));
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
    tx.send(1).unwrap();
    rx.mark_unchanged();
    assert!(poll_once(pin!(rx.changed())).is_pending());
    assert_eq!(*rx.borrow(), 1);
}

#[test]
fn wait_for_checks_the_current_value_first() {
    let (_tx, mut rx) = channel(5);
    let value = block_on(rx.wait_for(|v| *v == 5)).unwrap();
    assert_eq!(*value, 5);
    assert!(!value.has_changed(), "the initial value was seen");
}

#[test]
fn wait_for_waits_through_rejected_values() {
    let (tx, mut rx) = channel(0);
    let mut wait = Box::pin(rx.wait_for(|v| *v >= 3));
    assert!(poll_once(wait.as_mut()).is_pending());
    tx.send(1).unwrap();
    assert!(poll_once(wait.as_mut()).is_pending());
    tx.send(3).unwrap();
    match poll_once(wait.as_mut()) {
        Poll::Ready(Ok(value)) => assert_eq!(*value, 3),
        other => panic!(
            "expected the value 3, got {:?}",
            other.map(|r| r.map(|v| *v))
        ),
    };
}

#[test]
fn wait_for_after_close_checks_the_last_value_then_fails() {
    let (tx, mut rx) = channel(0);
    tx.send(7).unwrap();
    drop(tx);
    assert_eq!(block_on(rx.wait_for(|v| *v == 7)).map(|v| *v), Ok(7));
    assert!(block_on(rx.wait_for(|v| *v == 8)).is_err());
}

#[test]
fn closed_waits_for_the_last_receiver() {
    let (tx, rx) = channel(());
    let rx2 = rx.clone();
    let (count, waker) = counting_waker();
    let mut closed = pin!(tx.closed());
    let mut cx = Context::from_waker(&waker);
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    drop(rx);
    assert!(closed.as_mut().poll(&mut cx).is_pending());
    assert!(!tx.is_closed());
    drop(rx2);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(closed.as_mut().poll(&mut cx).is_ready());
    assert!(tx.is_closed());
}

#[test]
fn changed_blocking_is_woken_from_another_thread() {
    let (tx, mut rx) = channel(0);
    let waiter = std::thread::spawn(move || {
        let result = rx.changed_blocking();
        (result, *rx.borrow())
    });
    tx.send(9).unwrap();
    assert_eq!(waiter.join().unwrap(), (Ok(()), 9));
}

#[test]
fn changed_blocking_refuses_a_worker_thread() {
    let refused = std::thread::spawn(|| {
        crate::hooks::set_worker_thread(true);
        let (_tx, mut rx) = channel(0);
        let _ = rx.changed_blocking();
    })
    .join()
    .unwrap_err();
    let message = refused
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("receiver.changed().await"), "{message}");
}

#[test]
fn same_channel() {
    let (tx, rx) = channel(0);
    assert!(rx.same_channel(&tx.subscribe()));
    assert!(!rx.same_channel(&channel(0).1));
}
