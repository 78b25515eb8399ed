use super::*;
use crate::loom::thread;
use core::task::Waker;

/// A send racing a `changed` that registers: the receiver always wakes (a lost wake-up
/// leaves it parked forever, which loom reports as a deadlock) and sees the new value.
#[test]
fn send_vs_changed() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(0);
        let sender = thread::spawn(move || {
            tx.send(1).expect("a receiver");
            tx
        });
        assert_eq!(block_on_thread(rx.changed()), Ok(()));
        assert_eq!(*rx.borrow_and_update(), 1);
        let _tx = sender.join().unwrap();
    });
}

/// The sender leaving races a waiting `changed`: it wakes with the error.
#[test]
fn sender_drop_vs_changed() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(0);
        let dropper = thread::spawn(move || drop(tx));
        assert_eq!(block_on_thread(rx.changed()), Err(RecvError));
        dropper.join().unwrap();
    });
}

/// A `changed` that queued and is then cancelled, racing a send: the change stays unseen,
/// so the next `changed` completes at once.
#[test]
fn cancelled_changed_vs_send_loses_no_change() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(0);
        let sender = thread::spawn(move || {
            tx.send(1).expect("a receiver");
            tx
        });
        let completed = {
            let mut changed = Box::pin(rx.changed());
            changed
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_ready()
        };
        let _tx = sender.join().unwrap();
        if !completed {
            assert_eq!(rx.has_changed(), Ok(true));
        }
        assert_eq!(*rx.borrow(), 1);
    });
}

/// The last receiver leaving races the sender's `closed`: it always wakes.
#[test]
fn receiver_drop_vs_closed() {
    ::loom::model(|| {
        let (tx, rx) = channel(());
        let dropper = thread::spawn(move || drop(rx));
        block_on_thread(tx.closed());
        dropper.join().unwrap();
    });
}
