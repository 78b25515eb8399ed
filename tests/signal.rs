//! `runtime::signal`: deliveries to several listeners, on both flavors, kept while nobody
//! waits, none lost in a run of signals, bad numbers refused.
//!
//! Signals belong to the whole process and the tests of this file run in parallel, so each
//! test listens for a signal of its own (the real-time signals give plenty).

#[macro_use]
mod support;

use futures::StreamExt;
use runtime::signal::unix::{signal, SignalKind};
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Context;

/// The `n`th real-time signal; each test (and flavor) takes its own.
fn rt_signal(n: i32) -> SignalKind {
    let signum = libc::SIGRTMIN() + n;
    assert!(signum <= libc::SIGRTMAX(), "ran out of real-time signals");
    SignalKind::from_raw(signum)
}

/// Per flavor, so the two tests of one `rt_test!` don't see each other's signals.
fn per_flavor(base: i32, flavor: support::Flavor) -> SignalKind {
    rt_signal(base + (flavor == support::Flavor::MultiThread) as i32)
}

fn raise(kind: SignalKind) {
    // SAFETY: `kill` has no memory preconditions; the tests only send signals they listen
    // for, so the handler is installed.
    let rc = unsafe { libc::kill(libc::getpid(), kind.as_raw_value()) };
    assert_eq!(rc, 0, "kill failed: {}", io::Error::last_os_error());
}

/// Awaits `fut`, failing the test instead of hanging if a delivery was lost.
async fn within<F: Future>(fut: F) -> F::Output {
    runtime::time::timeout(support::HANG_GUARD, fut)
        .await
        .expect("a delivery was lost: the listener waited past the hang guard")
}

/// Whether `fut` is ready on one poll with a no-op waker.
fn ready_now<F: Future>(fut: F) -> bool {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    fut.as_mut().poll(&mut cx).is_ready()
}

rt_test!(
    every_listener_of_a_signal_gets_each_delivery,
    |rt, flavor| {
        let kind = per_flavor(0, flavor);
        rt.block_on(async {
            let mut listeners: Vec<_> = (0..3).map(|_| signal(kind).unwrap()).collect();
            for _ in 0..5 {
                raise(kind);
                for listener in &mut listeners {
                    within(listener.recv()).await;
                }
            }
        });
    }
);

rt_test!(
    a_delivery_while_nobody_waits_is_kept_for_the_listener,
    |rt, flavor| {
        let kind = per_flavor(2, flavor);
        rt.block_on(async {
            let mut listener = signal(kind).unwrap();
            raise(kind);
            // Let the driver dispatch it before anyone waits.
            runtime::time::sleep(std::time::Duration::from_millis(5)).await;
            within(listener.recv()).await;
        });
    }
);

rt_test!(a_run_of_signals_each_awaited_loses_none, |rt, flavor| {
    let kind = per_flavor(4, flavor);
    rt.block_on(async {
        let mut listener = signal(kind).unwrap();
        for _ in 0..500 {
            raise(kind);
            within(listener.recv()).await;
        }
    });
});

rt_test!(
    a_signal_sent_from_another_thread_wakes_a_waiting_task,
    |rt, flavor| {
        let kind = per_flavor(6, flavor);
        rt.block_on(async {
            let mut listener = signal(kind).unwrap();
            let waiter = runtime::spawn(async move {
                for _ in 0..20 {
                    within(listener.recv()).await;
                }
            });
            let sender = std::thread::spawn(move || {
                for _ in 0..20 {
                    raise(kind);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            });
            // Signals sent close together may coalesce; keep sending until the task has 20.
            let keep_sending = async {
                loop {
                    runtime::time::sleep(std::time::Duration::from_millis(20)).await;
                    raise(kind);
                }
            };
            let waited = runtime::time::timeout(support::HANG_GUARD, async {
                let mut waiter = pin!(waiter);
                let mut keep_sending = pin!(keep_sending);
                std::future::poll_fn(|cx| {
                    let _ = keep_sending.as_mut().poll(cx);
                    waiter.as_mut().poll(cx)
                })
                .await
            })
            .await;
            waited.expect("the task missed deliveries").unwrap();
            sender.join().unwrap();
        });
    }
);

rt_test!(
    a_listener_made_after_a_delivery_does_not_see_it,
    |rt, flavor| {
        let kind = per_flavor(8, flavor);
        rt.block_on(async {
            let mut early = signal(kind).unwrap();
            raise(kind);
            within(early.recv()).await; // dispatched
            let mut late = signal(kind).unwrap();
            assert!(
                !ready_now(late.recv()),
                "a listener saw a signal sent before it existed"
            );
            raise(kind);
            within(late.recv()).await;
            within(early.recv()).await;
        });
    }
);

rt_test!(a_dropped_recv_loses_no_delivery, |rt, flavor| {
    let kind = per_flavor(10, flavor);
    rt.block_on(async {
        let mut listener = signal(kind).unwrap();
        assert!(!ready_now(listener.recv())); // registered a waker, then dropped
        raise(kind);
        within(listener.recv()).await;
    });
});

rt_test!(signal_is_a_stream_of_deliveries, |rt, flavor| {
    let kind = per_flavor(12, flavor);
    rt.block_on(async {
        let mut stream = signal(kind).unwrap();
        for _ in 0..3 {
            raise(kind);
            assert_eq!(within(stream.next()).await, Some(()));
        }
    });
});

#[test]
fn listeners_on_two_runtimes_both_get_a_delivery() {
    let kind = rt_signal(14);
    let first = support::Flavor::CurrentThread.build();
    let second = support::Flavor::MultiThread.build();
    let mut on_first = first.block_on(async { signal(kind) }).unwrap();
    let mut on_second = second.block_on(async { signal(kind) }).unwrap();
    raise(kind);
    let other =
        std::thread::spawn(move || second.block_on(async move { within(on_second.recv()).await }));
    first.block_on(async { within(on_first.recv()).await });
    other.join().unwrap();
}

#[test]
fn dropping_every_listener_keeps_the_handler_so_the_signal_is_not_fatal() {
    // SIGTERM's default action ends the process: if dropping the listener restored it, the
    // test binary would die here.
    let rt = support::Flavor::CurrentThread.build();
    rt.block_on(async {
        drop(signal(SignalKind::terminate()).unwrap());
        raise(SignalKind::terminate());
        runtime::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut again = signal(SignalKind::terminate()).unwrap();
        raise(SignalKind::terminate());
        within(again.recv()).await;
    });
}

#[test]
fn ctrl_c_completes_on_sigint() {
    let rt = support::Flavor::MultiThread.build();
    rt.block_on(async {
        // A listener kept alive for the whole test, so SIGINT is handled before `ctrl_c`'s
        // own listener exists and can't end the process.
        let _guard = signal(SignalKind::interrupt()).unwrap();
        let ctrl_c = runtime::spawn(runtime::signal::ctrl_c());
        let deadline = std::time::Instant::now() + support::HANG_GUARD;
        while !ctrl_c.is_finished() {
            assert!(
                std::time::Instant::now() < deadline,
                "ctrl_c never completed"
            );
            raise(SignalKind::interrupt());
            runtime::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        ctrl_c.await.unwrap().unwrap();
    });
}

#[test]
fn bad_signal_numbers_are_errors_not_panics() {
    let rt = support::Flavor::CurrentThread.build();
    rt.block_on(async {
        for signum in [0, -1, 65, 1000, i32::MAX, i32::MIN] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
            assert!(err.to_string().contains(&signum.to_string()), "{err}");
        }
        for signum in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGBUS,
        ] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
        }
    });
}

#[test]
#[should_panic(expected = "there is no runtime here")]
fn signal_outside_a_runtime_panics_with_the_no_runtime_message() {
    let _ = signal(rt_signal(16));
}

#[test]
fn a_pending_recv_is_woken_not_polled_in_a_loop() {
    // The waiting task is polled once to register, then once more after the delivery: the
    // listener waits on the driver, not by re-polling.
    let kind = rt_signal(17);
    let rt = support::Flavor::CurrentThread.build();
    rt.block_on(async {
        let mut listener = signal(kind).unwrap();
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = polls.clone();
        let waiter = runtime::spawn(async move {
            let mut recv = pin!(listener.recv());
            std::future::poll_fn(|cx| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                recv.as_mut().poll(cx)
            })
            .await
        });
        runtime::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 1);
        raise(kind);
        waiter.await.unwrap();
        assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 2);
    });
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<runtime::signal::unix::Signal>();
};
