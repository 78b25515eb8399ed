use super::*;
use crate::loom::thread;
use crate::thread_waker::block_on_thread;
use core::task::Waker;

/// A send racing a receiver that registers: the receiver always gets the message (a lost
/// wake-up leaves it parked forever, which loom reports as a deadlock).
#[test]
fn send_vs_recv() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(1);
        // The sender outlives the receive: a close must not be what wakes it.
        let sender = thread::spawn(move || {
            assert_eq!(tx.send(1).map_err(|_| ()), Ok(1));
            tx
        });
        assert_eq!(block_on_thread(rx.recv()), Ok(1));
        let _tx = sender.join().unwrap();
    });
}

/// A send and a receiver drop racing a receive: every message's receiver count reaches
/// zero, so once the survivor has read everything no message is held (a count left behind
/// by the dropped receiver would keep the payload alive).
#[test]
fn send_vs_recv_vs_receiver_drop_frees_every_message() {
    ::loom::model(|| {
        let payload = std::sync::Arc::new(());
        let (tx, mut kept) = channel(2);
        let dropped = tx.subscribe();
        let sender = {
            let payload = payload.clone();
            thread::spawn(move || {
                tx.send(payload.clone())
                    .map_err(|_| ())
                    .expect("kept listens");
                tx.send(payload).map_err(|_| ()).expect("kept listens");
                tx // kept alive: the receives are woken by the sends, not a close
            })
        };
        let dropper = thread::spawn(move || drop(dropped));
        for _ in 0..2 {
            let message = block_on_thread(kept.recv()).expect("both sent, room for both");
            drop(message);
        }
        dropper.join().unwrap();
        drop(sender.join().unwrap());
        assert_eq!(
            std::sync::Arc::strong_count(&payload),
            1,
            "every message was freed once read by all"
        );
        assert_eq!(kept.try_recv(), Err(TryRecvError::Closed));
    });
}

/// The last sender leaving races a waiting receiver: it wakes with `Closed`, after the
/// message sent before the close.
#[test]
fn close_vs_recv_drains_first() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(1);
        let closer = thread::spawn(move || {
            tx.send(5).map_err(|_| ()).expect("a receiver");
            drop(tx);
        });
        assert_eq!(block_on_thread(rx.recv()), Ok(5));
        assert_eq!(block_on_thread(rx.recv()), Err(RecvError::Closed));
        closer.join().unwrap();
    });
}

/// Sends that overwrite the slot while a receiver reads it: the receiver sees a consistent
/// story, either both messages or a lag of exactly one then the second.
#[test]
fn overwrite_vs_recv_reports_an_exact_lag() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(1);
        let sender = thread::spawn(move || {
            tx.send(0).map_err(|_| ()).expect("a receiver");
            tx.send(1).map_err(|_| ()).expect("a receiver");
            tx
        });
        let first = block_on_thread(rx.recv());
        match first {
            Ok(0) => {}
            Err(RecvError::Lagged(1)) => {}
            other => panic!("unexpected first receive: {other:?}"),
        }
        assert_eq!(block_on_thread(rx.recv()), Ok(1));
        let _tx = sender.join().unwrap();
    });
}

/// A receive that queued and is then cancelled, racing a send: the message stays for the
/// next receive.
#[test]
fn cancelled_recv_vs_send_loses_nothing() {
    ::loom::model(|| {
        let (tx, mut rx) = channel(1);
        let sender = thread::spawn(move || {
            tx.send(3).map_err(|_| ()).expect("a receiver");
            tx
        });
        {
            let mut recv = Box::pin(rx.recv());
            let poll = recv.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            if let Poll::Ready(got) = poll {
                assert_eq!(got, Ok(3));
                sender.join().unwrap();
                return;
            }
        }
        sender.join().unwrap();
        assert_eq!(rx.try_recv(), Ok(3));
    });
}
