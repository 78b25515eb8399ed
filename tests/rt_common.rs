//! Executor, task and handle behaviour that must hold on both scheduler flavors.
//!
//! Most tests are written once with `rt_test!` and run on a current-thread runtime and on
//! a multi-thread runtime with two workers.

#[macro_use]
mod support;

use std::future::{pending, poll_fn};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use runtime::task;
use runtime::{Handle, Runtime};
use support::{
    block_on_outside, eventually, panic_message, wait_no_alive_tasks, wait_until, DropCounter,
    Flavor, Gate, Latch, ReleaseOnDrop, HANG_GUARD,
};

/// Runs `f` at a moment when no task of `rt` can start.
///
/// A current-thread runtime runs tasks only inside `block_on`, so `f` just runs. On the
/// two-worker runtime, two tasks first pin both workers (each blocks inside its poll until
/// `f` has returned).
fn with_no_free_worker<R>(rt: &Runtime, flavor: Flavor, f: impl FnOnce() -> R) -> R {
    if flavor == Flavor::CurrentThread {
        return f();
    }
    let arrived = Arc::new(AtomicUsize::new(0));
    let release = Latch::new();
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let holders: Vec<_> = (0..flavor.workers())
        .map(|_| {
            let arrived = arrived.clone();
            let release = release.clone();
            rt.spawn(async move {
                arrived.fetch_add(1, SeqCst);
                release.wait_blocking();
            })
        })
        .collect();
    wait_until(
        "every worker picks up a task while the others are busy",
        || arrived.load(SeqCst) == flavor.workers(),
    );
    let out = f();
    release.release();
    for holder in holders {
        rt.block_on(holder).expect("worker-holding task failed");
    }
    out
}

// ===== block_on, spawn, JoinHandle =====

rt_test!(block_on_returns_the_value, |rt| {
    assert_eq!(rt.block_on(async { 40 + 2 }), 42);
    // block_on borrows the runtime, so it can be entered again.
    assert_eq!(rt.block_on(async { "again" }), "again");
});

rt_test!(spawned_output_comes_through_the_join_handle, |rt| {
    let out = rt.block_on(async {
        runtime::spawn(async { 7u32 })
            .await
            .expect("spawned task failed")
    });
    assert_eq!(out, 7);

    // Spawned from outside `block_on`, joined inside it.
    let handle = rt.spawn(async { String::from("outside") });
    assert_eq!(rt.block_on(handle).expect("spawned task failed"), "outside");

    // A task that has to wait before it completes.
    let gate = Gate::new();
    let out = rt.block_on(async {
        let wait = gate.wait();
        let handle = runtime::spawn(async move {
            wait.await;
            9
        });
        runtime::yield_now().await;
        gate.open();
        handle.await.expect("spawned task failed")
    });
    assert_eq!(out, 9);
});

rt_test!(dropping_the_join_handle_detaches_the_task, |rt| {
    let (tx, rx) = mpsc::channel();
    let go = Gate::new();
    let done = Gate::new();
    rt.block_on(async {
        let (go_wait, done_open, tx) = (go.wait(), done.clone(), tx.clone());
        let handle = runtime::spawn(async move {
            go_wait.await;
            tx.send("from a task").expect("receiver alive");
            done_open.open();
        });
        drop(handle);
        // Let the task proceed only once nothing holds its JoinHandle.
        go.open();
        done.wait().await;
    });
    assert_eq!(rx.try_recv(), Ok("from a task"));

    // The same for a task spawned from outside the runtime.
    let done = Gate::new();
    let done_open = done.clone();
    drop(rt.spawn(async move {
        tx.send("from outside").expect("receiver alive");
        done_open.open();
    }));
    rt.block_on(done.wait());
    assert_eq!(rx.try_recv(), Ok("from outside"));
});

rt_test!(is_finished_tracks_completion, |rt| {
    rt.block_on(async {
        let gate = Gate::new();
        let wait = gate.wait();
        let handle = runtime::spawn(async move {
            wait.await;
            3
        });
        runtime::yield_now().await;
        assert!(!handle.is_finished(), "the task waits on a closed gate");
        gate.open();
        eventually("is_finished once the task completed", || {
            handle.is_finished()
        })
        .await;
        assert_eq!(handle.await.expect("task failed"), 3);
    });
});

rt_test!(the_join_waker_follows_the_last_poll, |rt| {
    rt.block_on(async {
        let gate = Gate::new();
        let wait = gate.wait();
        let mut target = runtime::spawn(async move {
            wait.await;
            "done"
        });
        // Polled first by block_on's future, then moved into another task: only that
        // task's waker may be told about the completion.
        assert!(futures::poll!(&mut target).is_pending());
        let joiner = runtime::spawn(target);
        runtime::yield_now().await;
        gate.open();
        eventually("the joining task is woken by the completion", || {
            joiner.is_finished()
        })
        .await;
        let out = joiner
            .await
            .expect("joining task failed")
            .expect("target task failed");
        assert_eq!(out, "done");
    });
});

rt_test!(an_unjoined_output_is_dropped, |rt| {
    let drops = DropCounter::new();
    rt.block_on(async {
        // The JoinHandle is dropped after the task completed...
        let guard = drops.guard();
        let handle = runtime::spawn(async move { guard });
        eventually("the task finishes", || handle.is_finished()).await;
        drop(handle);
        eventually("the output of a finished, detached task is dropped", || {
            drops.count() == 1
        })
        .await;

        // ...or before it completed.
        let gate = Gate::new();
        let (wait, guard) = (gate.wait(), drops.guard());
        drop(runtime::spawn(async move {
            wait.await;
            guard
        }));
        gate.open();
        eventually("the output of a detached task is dropped", || {
            drops.count() == 2
        })
        .await;
    });
});

#[test]
fn a_join_handle_can_be_awaited_outside_the_runtime() {
    let rt = Flavor::MultiThread.build();
    let gate = Gate::new();
    let wait = gate.wait();
    let handle = rt.spawn(async move {
        wait.await;
        8
    });
    let opener = gate.clone();
    let thread = thread::spawn(move || opener.open());
    assert_eq!(block_on_outside(handle).expect("task failed"), 8);
    thread.join().expect("opener thread panicked");
}

// Multi-thread only: the tasks of a current-thread runtime run inside Runtime::block_on.
#[test]
fn handle_block_on_from_a_plain_thread() {
    let rt = Flavor::MultiThread.build();
    let handle = rt.handle().clone();
    let out = thread::spawn(move || {
        handle.block_on(async {
            assert!(Handle::try_current().is_ok(), "block_on enters the runtime");
            runtime::spawn(async { 5 }).await.expect("task failed")
        })
    })
    .join()
    .expect("block_on thread panicked");
    assert_eq!(out, 5);
}

// ===== abort =====

rt_test!(abort_before_the_first_poll_cancels, |rt, flavor| {
    let ran = Arc::new(AtomicBool::new(false));
    let drops = DropCounter::new();
    let handle = with_no_free_worker(&rt, flavor, || {
        let (ran, guard) = (ran.clone(), drops.guard());
        let handle = rt.spawn(async move {
            let _guard = guard;
            ran.store(true, SeqCst);
            1
        });
        handle.abort();
        handle
    });
    let err = rt
        .block_on(handle)
        .expect_err("a task aborted before it ran can't complete");
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
    assert!(!ran.load(SeqCst), "an aborted task was polled");
    assert_eq!(drops.count(), 1, "the aborted future was not dropped");
    let err = err
        .try_into_panic()
        .expect_err("a cancellation has no panic payload");
    assert!(err.is_cancelled());
});

rt_test!(abort_drops_the_future_of_a_pending_task, |rt| {
    let drops = DropCounter::new();
    rt.block_on(async {
        let started = Gate::new();
        let (guard, started_open) = (drops.guard(), started.clone());
        let handle = runtime::spawn(async move {
            let _guard = guard;
            started_open.open();
            pending::<()>().await
        });
        started.wait().await;
        assert!(!handle.is_finished());
        handle.abort();
        let err = handle
            .await
            .expect_err("a task pending forever can't complete");
        assert!(err.is_cancelled());
        assert_eq!(
            drops.count(),
            1,
            "the future must be dropped by the time its JoinHandle reports the cancellation"
        );
    });
});

rt_test!(abort_handle_works_from_another_thread, |rt| {
    let drops = DropCounter::new();
    rt.block_on(async {
        let started = Gate::new();
        let (guard, started_open) = (drops.guard(), started.clone());
        let handle = runtime::spawn(async move {
            let _guard = guard;
            started_open.open();
            pending::<()>().await
        });
        started.wait().await;
        let abort = handle.abort_handle();
        assert!(abort.id() == handle.id());
        assert!(!abort.is_finished());
        let abort = thread::spawn(move || {
            abort.abort();
            abort
        })
        .join()
        .expect("aborting thread panicked");
        let err = handle
            .await
            .expect_err("a task pending forever can't complete");
        assert!(err.is_cancelled());
        assert!(abort.is_finished());
    });
    assert_eq!(drops.count(), 1);
});

rt_test!(abort_after_completion_keeps_the_output, |rt| {
    rt.block_on(async {
        let handle = runtime::spawn(async { 5 });
        eventually("the task finishes", || handle.is_finished()).await;
        handle.abort();
        assert_eq!(
            handle
                .await
                .expect("a finished task's output survives abort"),
            5
        );
    });
});

rt_test!(abort_from_inside_takes_effect_at_the_next_await, |rt| {
    let after_abort = Arc::new(AtomicBool::new(false));
    let drops = DropCounter::new();
    rt.block_on(async {
        let own_handle = Arc::new(Mutex::new(None::<task::AbortHandle>));
        let (slot, after, guard) = (own_handle.clone(), after_abort.clone(), drops.guard());
        let start = Gate::new();
        let wait = start.wait();
        let handle = runtime::spawn(async move {
            let _guard = guard;
            wait.await;
            slot.lock()
                .expect("slot poisoned")
                .take()
                .expect("abort handle stored before start")
                .abort();
            runtime::yield_now().await;
            after.store(true, SeqCst);
        });
        *own_handle.lock().expect("slot poisoned") = Some(handle.abort_handle());
        start.open();
        let err = handle.await.expect_err("the task aborted itself");
        assert!(err.is_cancelled());
    });
    assert!(
        !after_abort.load(SeqCst),
        "the task ran past an await after aborting itself"
    );
    assert_eq!(drops.count(), 1);
});

rt_test!(
    an_aborted_future_that_panics_in_drop_does_not_take_the_runtime_down,
    |rt| {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("drop boom");
            }
        }
        rt.block_on(async {
            let started = Gate::new();
            let started_open = started.clone();
            let handle = runtime::spawn(async move {
                let _bomb = PanicOnDrop;
                started_open.open();
                pending::<()>().await
            });
            started.wait().await;
            handle.abort();
            let err = handle
                .await
                .expect_err("a task pending forever can't complete");
            assert!(
                err.is_cancelled() || err.is_panic(),
                "an aborted task ends cancelled (or with the panic of its drop): {err:?}"
            );
            // Every worker still serves tasks.
            let handles: Vec<_> = (0..20).map(|i| runtime::spawn(async move { i })).collect();
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.await.expect("task after the drop panic failed"), i);
            }
        });
    }
);

// ===== ids and names =====

rt_test!(join_handle_id_is_the_task_id, |rt| {
    rt.block_on(async {
        let handle = runtime::spawn(async { (task::id(), task::try_id()) });
        let expected = handle.id();
        let (inside, tried) = handle.await.expect("task failed");
        assert!(
            inside == expected,
            "task::id() inside the task is {inside}, JoinHandle::id is {expected}"
        );
        assert!(tried == Some(expected), "try_id() inside the task");

        let (a, b) = (runtime::spawn(async {}), runtime::spawn(async {}));
        assert!(a.id() != b.id(), "two live tasks share id {}", a.id());
        a.await.expect("task failed");
        b.await.expect("task failed");

        let panicking = runtime::spawn(async { panic!("id test") });
        let id = panicking.id();
        let err = panicking.await.expect_err("the task panicked");
        assert!(err.id() == id, "JoinError::id is the failed task's id");
    });
});

#[test]
fn try_id_is_none_outside_tasks() {
    assert!(task::try_id().is_none());
    let rt = Flavor::MultiThread.build();
    let in_task = rt
        .block_on(rt.spawn(async { task::try_id().is_some() }))
        .expect("task failed");
    assert!(in_task);
    assert!(task::try_id().is_none(), "after the runtime ran a task");
}

#[test]
#[should_panic]
fn task_id_outside_a_task_panics() {
    let _ = task::id();
}

rt_test!(named_task_builder_spawns, |rt| {
    rt.block_on(async {
        let handle = task::Builder::new().name("x").spawn(async { task::id() });
        let id = handle.id();
        assert!(handle.await.expect("named task failed") == id);
    });
});

// ===== panics =====

rt_test!(
    a_panicking_task_reports_its_payload_and_the_runtime_keeps_going,
    |rt| {
        rt.block_on(async {
            let err = runtime::spawn(async { panic!("static boom") })
                .await
                .expect_err("the task panicked");
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            let payload = err.into_panic();
            assert_eq!(payload.downcast_ref::<&'static str>(), Some(&"static boom"));

            let n = 7;
            let err = runtime::spawn(async move {
                runtime::yield_now().await;
                panic!("formatted boom {n}")
            })
            .await
            .expect_err("the task panicked");
            assert!(err.is_panic());
            let payload = err
                .try_into_panic()
                .expect("a panic's JoinError gives its payload back");
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some("formatted boom 7")
            );

            // More panics than workers, then plenty of ordinary work: every worker survived.
            for i in 0..8 {
                let err = runtime::spawn(async move { panic!("again {i}") })
                    .await
                    .expect_err("the task panicked");
                assert!(err.is_panic());
            }
            let handles: Vec<_> = (0..100usize)
                .map(|i| {
                    runtime::spawn(async move {
                        runtime::yield_now().await;
                        i
                    })
                })
                .collect();
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.await.expect("task after the panics failed"), i);
            }
        });
        let handle = rt.spawn(async { 42 });
        assert_eq!(rt.block_on(handle).expect("task failed"), 42);
    }
);

// ===== Handle and runtime context =====

rt_test!(handle_current_inside_block_on_and_tasks, |rt| {
    rt.block_on(async {
        assert!(Handle::try_current().is_ok());
        let handle = Handle::current();
        let out = handle
            .spawn(async {
                assert!(Handle::try_current().is_ok());
                Handle::current()
                    .spawn(async { 11 })
                    .await
                    .expect("inner task failed")
            })
            .await
            .expect("outer task failed");
        assert_eq!(out, 11);
    });
});

rt_test!(a_handle_spawns_from_a_plain_thread, |rt| {
    let handle = rt.handle().clone();
    let join = thread::spawn(move || {
        assert!(
            Handle::try_current().is_err(),
            "a plain thread has no current runtime"
        );
        handle.spawn(async { Handle::try_current().is_ok() })
    })
    .join()
    .expect("spawning thread panicked");
    assert!(rt
        .block_on(join)
        .expect("task spawned from a thread failed"));

    let handle = rt.handle().clone();
    let join = thread::spawn(move || handle.spawn_blocking(|| 6 * 7))
        .join()
        .expect("spawning thread panicked");
    assert_eq!(rt.block_on(join).expect("blocking job failed"), 42);
});

#[test]
fn try_current_is_err_outside_a_runtime() {
    assert!(Handle::try_current().is_err());
    let rt = Flavor::CurrentThread.build();
    rt.block_on(async {
        assert!(Handle::try_current().is_ok());
    });
    assert!(
        Handle::try_current().is_err(),
        "leaving block_on must restore the previous (empty) context"
    );
}

#[test]
#[should_panic]
fn handle_current_outside_a_runtime_panics() {
    let _ = Handle::current();
}

#[test]
#[should_panic(expected = "must be called from the context of a runtime")]
fn spawn_outside_a_runtime_panics() {
    drop(runtime::spawn(async {}));
}

#[test]
#[should_panic(expected = "must be called from the context of a runtime")]
fn spawn_blocking_outside_a_runtime_panics() {
    drop(runtime::spawn_blocking(|| {}));
}

rt_test!(
    #[should_panic(expected = "Cannot start a runtime from within a runtime")]
    block_on_inside_block_on_panics,
    |rt| {
        let other = Flavor::CurrentThread.build();
        rt.block_on(async { other.block_on(async {}) });
    }
);

rt_test!(
    #[should_panic(expected = "Cannot start a runtime from within a runtime")]
    handle_block_on_inside_block_on_panics,
    |rt| {
        rt.block_on(async { Handle::current().block_on(async {}) });
    }
);

rt_test!(block_on_inside_a_task_panics_with_a_clear_message, |rt| {
    let other = Flavor::CurrentThread.build();
    let other_handle = other.handle().clone();
    rt.block_on(async {
        let err = runtime::spawn(async move { other_handle.block_on(async { 1 }) })
            .await
            .expect_err("block_on inside a task must panic");
        assert!(err.is_panic());
        let message = panic_message(&*err.into_panic());
        assert!(
            message.contains("Cannot start a runtime from within a runtime"),
            "panic message: {message:?}"
        );

        let err = runtime::spawn(async { Handle::current().block_on(async { 1 }) })
            .await
            .expect_err("block_on on its own runtime inside a task must panic");
        let message = panic_message(&*err.into_panic());
        assert!(
            message.contains("Cannot start a runtime from within a runtime"),
            "panic message: {message:?}"
        );
    });
    // Neither runtime was harmed.
    assert_eq!(other.block_on(async { 2 }), 2);
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).expect("task failed"), 3);
});

// ===== yielding and waking =====

#[test]
fn yield_now_interleaves_tasks_on_current_thread() {
    let rt = Flavor::CurrentThread.build();
    let log = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let a = {
            let log = log.clone();
            runtime::spawn(async move {
                for _ in 0..3 {
                    log.lock().expect("log poisoned").push("A");
                    runtime::yield_now().await;
                }
            })
        };
        let b = {
            let log = log.clone();
            runtime::spawn(async move {
                for _ in 0..3 {
                    log.lock().expect("log poisoned").push("B");
                    task::yield_now().await;
                }
            })
        };
        a.await.expect("task A failed");
        b.await.expect("task B failed");
    });
    assert_eq!(
        *log.lock().expect("log poisoned"),
        ["A", "B", "A", "B", "A", "B"]
    );
}

rt_test!(yield_now_lets_other_tasks_run, |rt, flavor| {
    rt.block_on(async {
        let flag = Arc::new(AtomicBool::new(false));
        // One spinner per worker: the setter can run only because the spinners yield.
        let spinners: Vec<_> = (0..flavor.workers())
            .map(|_| {
                let flag = flag.clone();
                runtime::spawn(async move {
                    let deadline = Instant::now() + HANG_GUARD;
                    while !flag.load(SeqCst) {
                        if Instant::now() > deadline {
                            return false;
                        }
                        runtime::yield_now().await;
                    }
                    true
                })
            })
            .collect();
        let setter = {
            let flag = flag.clone();
            runtime::spawn(async move { flag.store(true, SeqCst) })
        };
        setter.await.expect("setter failed");
        for spinner in spinners {
            assert!(
                spinner.await.expect("spinner failed"),
                "a spinning task never saw the flag"
            );
        }
    });
});

/// A task that keeps its worker busy without ever yielding to the driver: each poll wakes
/// it again, so a queue always holds it. Ends `true` once `stop` is set, `false` if that
/// never happens within the hang guard.
fn busy_until(stop: Arc<AtomicBool>) -> impl std::future::Future<Output = bool> {
    let deadline = Instant::now() + HANG_GUARD;
    poll_fn(move |cx| {
        if stop.load(SeqCst) {
            return Poll::Ready(true);
        }
        if Instant::now() > deadline {
            return Poll::Ready(false);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

// Every `global_queue_interval` polls a scheduler takes from the injector first, so a task
// spawned from outside runs while local tasks keep every worker busy.
rt_test!(
    a_remote_spawn_runs_while_local_tasks_keep_every_worker_busy,
    |rt, flavor| {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = rt.handle().clone();
        rt.block_on(async {
            let started = Arc::new(AtomicUsize::new(0));
            let busy: Vec<_> = (0..flavor.workers())
                .map(|_| {
                    let (stop, started) = (stop.clone(), started.clone());
                    runtime::spawn(async move {
                        started.fetch_add(1, SeqCst);
                        busy_until(stop).await
                    })
                })
                .collect();
            while started.load(SeqCst) < flavor.workers() {
                runtime::yield_now().await;
            }
            let stop = stop.clone();
            // From another thread: the task goes through the injector.
            let remote =
                thread::spawn(move || handle.spawn(async move { stop.store(true, SeqCst) }))
                    .join()
                    .expect("spawning thread panicked");
            for task in busy {
                assert!(
                    task.await.expect("busy task failed"),
                    "the remotely spawned task never ran while the workers were busy"
                );
            }
            remote.await.expect("remote task failed");
        });
    }
);

rt_test!(tasks_wake_each_other_in_turn, |rt| {
    const ROUNDS: usize = 1000;

    #[derive(Default)]
    struct Table {
        turn: usize,
        hits: [usize; 2],
        wakers: [Option<Waker>; 2],
    }

    let table = Arc::new(Mutex::new(Table::default()));
    let player = |me: usize| {
        let table = table.clone();
        poll_fn(move |cx| {
            let mut t = table.lock().expect("table poisoned");
            let mut other = None;
            if t.turn == me {
                t.hits[me] += 1;
                t.turn = 1 - me;
                other = t.wakers[1 - me].take();
            }
            let done = t.hits[me] == ROUNDS;
            if !done {
                t.wakers[me] = Some(cx.waker().clone());
            }
            let hits = t.hits[me];
            drop(t);
            if let Some(other) = other {
                other.wake();
            }
            if done {
                Poll::Ready(hits)
            } else {
                Poll::Pending
            }
        })
    };
    // One player spawned from outside the runtime, one from inside it.
    let ping = rt.spawn(player(0));
    rt.block_on(async {
        let pong = runtime::spawn(player(1));
        assert_eq!(ping.await.expect("ping failed"), ROUNDS);
        assert_eq!(pong.await.expect("pong failed"), ROUNDS);
    });
    assert_eq!(table.lock().expect("table poisoned").hits, [ROUNDS, ROUNDS]);
});

// ===== shutdown =====

rt_test!(dropping_the_runtime_drops_every_alive_task, |rt| {
    const N: usize = 10;
    let drops = DropCounter::new();
    let started = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..N {
        let (guard, started) = (drops.guard(), started.clone());
        handles.push(rt.spawn(async move {
            let _guard = guard;
            started.fetch_add(1, SeqCst);
            pending::<()>().await
        }));
    }
    rt.block_on(eventually("every task started", || {
        started.load(SeqCst) == N
    }));
    // One that may never be polled and one detached.
    let guard = drops.guard();
    handles.push(rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    }));
    let guard = drops.guard();
    drop(rt.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    }));
    assert_eq!(drops.count(), 0);

    drop(rt);
    assert_eq!(
        drops.count(),
        N + 2,
        "dropping the runtime drops every alive task's future"
    );
    for handle in handles {
        let err = block_on_outside(handle).expect_err("the task was pending forever");
        assert!(err.is_cancelled());
    }
});

rt_test!(spawn_after_the_runtime_dropped_is_cancelled, |rt| {
    let handle = rt.handle().clone();
    drop(rt);

    let drops = DropCounter::new();
    let ran = Arc::new(AtomicBool::new(false));
    let (guard, ran_in_task) = (drops.guard(), ran.clone());
    let join = handle.spawn(async move {
        let _guard = guard;
        ran_in_task.store(true, SeqCst);
        1
    });
    let err = block_on_outside(join).expect_err("a task spawned after shutdown can't run");
    assert!(err.is_cancelled());
    assert!(!ran.load(SeqCst));
    assert_eq!(drops.count(), 1, "the refused future is dropped");

    let ran_in_job = ran.clone();
    let join = handle.spawn_blocking(move || ran_in_job.store(true, SeqCst));
    let err = block_on_outside(join).expect_err("a blocking job spawned after shutdown can't run");
    assert!(err.is_cancelled());
    assert!(!ran.load(SeqCst));
});

rt_test!(
    shutdown_timeout_returns_with_a_blocking_job_still_running,
    |rt| {
        let (started_tx, started_rx) = mpsc::channel();
        let job = rt.spawn_blocking(move || {
            started_tx.send(()).expect("test alive");
            thread::sleep(Duration::from_secs(5));
        });
        started_rx
            .recv_timeout(HANG_GUARD)
            .expect("the blocking job never started");
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        let elapsed = start.elapsed();
        // A bound, not a speed claim: without the timeout this would take 5 s.
        assert!(
            elapsed < Duration::from_secs(4),
            "shutdown_timeout(100ms) returned after {elapsed:?}"
        );
        drop(job);
    }
);

rt_test!(
    a_task_spawned_while_the_runtime_shuts_down_is_dropped_too,
    |rt| {
        // A future whose drop spawns another task: shutdown must neither deadlock nor leak
        // the late task.
        struct SpawnOnDrop {
            handle: Handle,
            late: Option<support::DropGuard>,
        }
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let late = self.late.take();
                drop(self.handle.spawn(async move {
                    let _late = late;
                    pending::<()>().await
                }));
            }
        }
        let drops = DropCounter::new();
        let started = Gate::new();
        let (started_open, late) = (started.clone(), drops.guard());
        let spawner = SpawnOnDrop {
            handle: rt.handle().clone(),
            late: Some(late),
        };
        drop(rt.spawn(async move {
            let _spawner = spawner;
            started_open.open();
            pending::<()>().await
        }));
        rt.block_on(started.wait());
        drop(rt);
        assert_eq!(
            drops.count(),
            1,
            "the task spawned during shutdown was dropped by the time the runtime dropped"
        );
    }
);

// ===== blocking pool =====

rt_test!(spawn_blocking_returns_values_and_panics, |rt| {
    rt.block_on(async {
        let caller = thread::current().id();
        let (value, job_thread) = runtime::spawn_blocking(|| (6 * 7, thread::current().id()))
            .await
            .expect("blocking job failed");
        assert_eq!(value, 42);
        assert_ne!(
            job_thread, caller,
            "a blocking job runs off the async thread"
        );

        let err = runtime::spawn_blocking(|| -> u32 { panic!("blocking boom") })
            .await
            .expect_err("the blocking job panicked");
        assert!(err.is_panic());
        assert_eq!(panic_message(&*err.into_panic()), "blocking boom");

        // The pool still serves jobs, including jobs spawned from a blocking job.
        let inner = runtime::spawn_blocking(|| runtime::spawn_blocking(|| "nested"))
            .await
            .expect("outer blocking job failed");
        assert_eq!(inner.await.expect("inner blocking job failed"), "nested");
    });
    let join = rt.spawn_blocking(|| 1);
    assert_eq!(rt.block_on(join).expect("blocking job failed"), 1);
});

rt_test!(blocking_jobs_run_concurrently, |rt| {
    // Four jobs that each wait for all four to have started: this finishes only if the
    // pool runs them on four threads at once.
    const JOBS: usize = 4;
    let started = Arc::new(AtomicUsize::new(0));
    let joins: Vec<_> = (0..JOBS)
        .map(|_| {
            let started = started.clone();
            rt.spawn_blocking(move || {
                started.fetch_add(1, SeqCst);
                let deadline = Instant::now() + HANG_GUARD;
                while started.load(SeqCst) < JOBS {
                    if Instant::now() > deadline {
                        return false;
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                true
            })
        })
        .collect();
    rt.block_on(async {
        for join in joins {
            assert!(
                join.await.expect("blocking job failed"),
                "the blocking pool ran fewer than {JOBS} jobs at once"
            );
        }
    });
});

#[test]
fn dropping_the_runtime_waits_for_running_blocking_jobs() {
    let rt = Flavor::MultiThread.build();
    let finished = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let job = {
        let finished = finished.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).expect("test alive");
            thread::sleep(Duration::from_millis(300));
            finished.store(true, SeqCst);
        })
    };
    started_rx
        .recv_timeout(HANG_GUARD)
        .expect("the blocking job never started");
    drop(rt);
    assert!(
        finished.load(SeqCst),
        "dropping the runtime returned before its running blocking job finished"
    );
    block_on_outside(job).expect("a running blocking job completes");
}

#[test]
fn a_queued_blocking_job_is_not_lost_at_shutdown() {
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .expect("building the runtime");
    let (first, release) = hold_a_blocking_thread(&rt);
    let _release_on_failure = ReleaseOnDrop(release.clone());
    // The only blocking thread is busy: this one waits in the queue.
    let ran = Arc::new(AtomicBool::new(false));
    let queued = {
        let ran = ran.clone();
        rt.spawn_blocking(move || ran.store(true, SeqCst))
    };
    let releaser = {
        let release = release.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            release.release();
        })
    };
    drop(rt);
    releaser.join().expect("releasing thread panicked");
    block_on_outside(first).expect("the running job completes");
    // Either answer is defined; what must not happen is a job that neither ran nor
    // reported its cancellation.
    match block_on_outside(queued) {
        Ok(()) => assert!(ran.load(SeqCst)),
        Err(err) => {
            assert!(err.is_cancelled(), "{err:?}");
            assert!(!ran.load(SeqCst), "a cancelled job ran");
        }
    }
}

/// Starts a blocking job that holds its thread until the returned latch is released, and
/// returns once it runs.
fn hold_a_blocking_thread(rt: &runtime::Runtime) -> (runtime::task::JoinHandle<()>, Latch) {
    let release = Latch::new();
    let (started_tx, started_rx) = mpsc::channel();
    let job = {
        let release = release.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).expect("test alive");
            release.wait_blocking();
        })
    };
    started_rx
        .recv_timeout(HANG_GUARD)
        .expect("the blocking job never started");
    (job, release)
}

// ===== metrics =====

rt_test!(metrics_count_workers_tasks_and_polls, |rt, flavor| {
    const N: usize = 50;
    let before = rt.metrics();
    assert_eq!(before.workers, flavor.workers());
    assert_eq!(rt.handle().metrics().workers, flavor.workers());

    let gate = Gate::new();
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let wait = gate.wait();
            rt.spawn(async move {
                wait.await;
                runtime::yield_now().await;
                i
            })
        })
        .collect();
    let after = rt.metrics();
    assert_eq!(after.spawned_tasks - before.spawned_tasks, N as u64);
    assert_eq!(
        after.alive_tasks, N,
        "every spawned task waits on a closed gate"
    );

    gate.open();
    rt.block_on(async {
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.expect("task failed"), i);
        }
    });
    wait_no_alive_tasks(&rt);
    let end = rt.handle().metrics();
    // Each task is polled at least twice: once before and once after its yield.
    assert!(
        end.polls >= 2 * N as u64,
        "polls = {} after {N} tasks that each yielded once",
        end.polls
    );
    assert!(end.spawned_tasks >= after.spawned_tasks);
});

rt_test!(metrics_count_busy_blocking_threads, |rt| {
    let (job, release) = hold_a_blocking_thread(&rt);
    let _release_on_failure = ReleaseOnDrop(release.clone());
    let m = rt.metrics();
    assert!(m.blocking_threads >= 1, "a job is running on the pool");
    assert!(
        m.idle_blocking_threads < m.blocking_threads,
        "the running job's thread is busy: {} idle of {}",
        m.idle_blocking_threads,
        m.blocking_threads
    );
    release.release();
    rt.block_on(job).expect("blocking job failed");
});

// ===== builder =====

#[test]
fn runtime_new_runs_one_worker_per_core() {
    let rt = Runtime::new().expect("Runtime::new");
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(rt.metrics().workers, cores);
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).expect("task failed"), 5);
}

#[test]
fn builder_names_worker_threads_and_runs_thread_hooks() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let rt = {
        let (started, stopped) = (started.clone(), stopped.clone());
        runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rt-common-worker")
            .on_thread_start(move || {
                started.fetch_add(1, SeqCst);
            })
            .on_thread_stop(move || {
                stopped.fetch_add(1, SeqCst);
            })
            .build()
            .expect("building the runtime")
    };
    let name = rt
        .block_on(rt.spawn(async { thread::current().name().map(str::to_owned) }))
        .expect("task failed");
    assert!(
        name.as_deref()
            .is_some_and(|n| n.starts_with("rt-common-worker")),
        "worker thread name {name:?} doesn't start with the configured prefix"
    );
    assert!(
        started.load(SeqCst) >= 1,
        "the worker that ran the task ran the start hook"
    );
    drop(rt);
    assert_eq!(
        stopped.load(SeqCst),
        started.load(SeqCst),
        "every started runtime thread ran its stop hook by the time the runtime dropped"
    );
}

// ===== JoinError texts (tokio's task_abort: join error display and debug) =====

rt_test!(
    join_error_display_and_debug_say_what_happened_to_which_task,
    |rt| {
        rt.block_on(async {
            let cancelled = runtime::spawn(pending::<()>());
            let cancelled_id = cancelled.id();
            cancelled.abort();
            let err = cancelled.await.expect_err("aborted while pending");
            assert_eq!(
                err.to_string(),
                format!("task {cancelled_id} was cancelled")
            );
            assert_eq!(
                format!("{err:?}"),
                format!("JoinError::Cancelled({cancelled_id})")
            );

            let panicked = runtime::spawn(async { panic!("boom") });
            let panicked_id = panicked.id();
            let err = panicked.await.expect_err("the task panicked");
            assert_eq!(
                err.to_string(),
                format!("task {panicked_id} panicked with message \"boom\"")
            );
            let debug = format!("{err:?}");
            assert!(debug.starts_with("JoinError::Panic("), "{debug}");
            assert!(debug.contains("\"boom\""), "{debug}");
        });
    }
);

// ===== entering a runtime (tokio's rt_handle) =====

rt_test!(enter_makes_the_runtime_current_outside_block_on, |rt| {
    assert!(Handle::try_current().is_err());
    let task = {
        let _guard = rt.enter();
        assert!(Handle::try_current().is_ok());
        runtime::spawn(async { 11 })
    };
    assert!(
        Handle::try_current().is_err(),
        "the guard's drop leaves the runtime"
    );
    assert_eq!(rt.block_on(task).expect("the task ran"), 11);
});

rt_test!(
    nested_enter_guards_restore_the_outer_runtime,
    |rt, flavor| {
        let other = flavor.build();
        let outer = rt.enter();
        let on_other = {
            let _inner = other.enter();
            runtime::spawn(pending::<()>())
        };
        let on_rt = runtime::spawn(pending::<()>());
        drop(outer);
        assert_eq!(
            other.metrics().alive_tasks,
            1,
            "spawned while the inner guard lived"
        );
        assert_eq!(rt.metrics().alive_tasks, 1, "spawned after it was dropped");
        on_other.abort();
        on_rt.abort();
        assert!(rt.block_on(on_rt).unwrap_err().is_cancelled());
        assert!(other.block_on(on_other).unwrap_err().is_cancelled());
    }
);

rt_test!(
    tasks_awaiting_each_others_handles_finish_and_are_freed,
    |rt| {
        // tokio's `drop_tasks_with_reference_cycle`: each task registers its waker in the other's
        // join handle, so each task refers to the other; both must still finish and be freed.
        rt.block_on(async {
            let barrier = Arc::new(runtime::sync::Barrier::new(3));
            let (tx, rx) = runtime::sync::oneshot::channel::<task::JoinHandle<()>>();
            let a = runtime::spawn({
                let barrier = barrier.clone();
                async move {
                    let b = rx.await.expect("b's handle is sent");
                    let _ = futures::future::select(b, std::future::ready(())).await;
                    barrier.wait().await.expect("not broken");
                }
            });
            let b = runtime::spawn({
                let barrier = barrier.clone();
                async move {
                    let _ = futures::future::select(a, std::future::ready(())).await;
                    barrier.wait().await.expect("not broken");
                }
            });
            tx.send(b).expect("a waits for it");
            barrier.wait().await.expect("not broken");
        });
        wait_no_alive_tasks(&rt);
    }
);

// Entering two runtimes and dropping the guards out of order. tokio panics at the first
// out-of-order drop; here the guards just restore what each saw, so the thread is left with
// the first runtime current after both guards are gone, against `EnterGuard`'s "the runtime
// is no longer current when this guard drops".
#[test]
fn enter_guards_dropped_out_of_order_leave_no_runtime_current() {
    let first = Flavor::CurrentThread.build();
    let second = Flavor::CurrentThread.build();
    let outer = first.enter();
    let inner = second.enter();
    drop(outer);
    drop(inner);
    assert!(
        Handle::try_current().is_err(),
        "no guard is alive, yet a runtime is current"
    );
}

rt_test!(shutdown_after_aborting_a_task_in_a_sleep_is_clean, |rt| {
    // tokio's `test_abort_without_panic_3157`: a task aborted while its sleep is registered
    // with the timer, then the runtime dropped, must neither panic nor hang.
    support::run_bounded("abort then shutdown", HANG_GUARD, move || {
        let drops = DropCounter::new();
        rt.block_on(async {
            let guard = drops.guard();
            let started = Gate::new();
            let opened = started.clone();
            let handle = runtime::spawn(async move {
                let _guard = guard;
                opened.open();
                runtime::time::sleep(Duration::from_secs(3600)).await;
            });
            started.wait().await;
            handle.abort();
        });
        drop(rt);
        assert_eq!(drops.count(), 1, "the aborted future was dropped");
    });
});

rt_test!(
    a_panic_in_the_block_on_future_reaches_the_caller_and_the_runtime_goes_on,
    |rt| {
        // tokio's `panic_in_block_on`.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { panic!("the root future failed") })
        }));
        let payload = caught.expect_err("the panic comes out of block_on");
        assert_eq!(panic_message(&*payload), "the root future failed");
        assert_eq!(
            rt.block_on(rt.spawn(async { 8 }))
                .expect("the runtime still runs"),
            8
        );
    }
);

rt_test!(
    tasks_that_wake_each_other_while_the_runtime_drops_are_all_dropped,
    |rt| {
        // tokio's `wake_while_rt_is_dropping`: dropping one task's future wakes another task that
        // is itself being shut down; neither a panic nor a hang may follow.
        support::run_bounded("wakes during shutdown", HANG_GUARD, move || {
            let drops = DropCounter::new();
            let (tx1, rx1) = runtime::sync::oneshot::channel::<()>();
            let (tx2, rx2) = runtime::sync::oneshot::channel::<()>();
            let started = Arc::new(AtomicUsize::new(0));
            for (tx, rx) in [(tx1, rx2), (tx2, rx1)] {
                let (guard, started) = (drops.guard(), started.clone());
                rt.spawn(async move {
                    let _guard = guard;
                    let _tx = tx; // dropping it wakes the other task
                    started.fetch_add(1, SeqCst);
                    let _ = rx.await;
                    pending::<()>().await
                });
            }
            rt.block_on(eventually("both tasks wait", || started.load(SeqCst) == 2));
            drop(rt);
            assert_eq!(drops.count(), 2, "both futures were dropped at shutdown");
        });
    }
);

// ===== tokio rt_common: the cases not covered above =====

/// tokio's `send_sync_bound`: a runtime and its handle can be shared between threads.
#[test]
fn runtime_and_handle_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Runtime>();
    shareable::<Handle>();
}

rt_test!(
    a_runtime_built_inside_block_on_works_after_it_returns,
    |rt, flavor| {
        // tokio's `create_rt_in_block_on`.
        let inner = rt.block_on(async move { flavor.build() });
        let out = inner.block_on(async { runtime::spawn(async { 7 }).await });
        assert_eq!(out.expect("task ran"), 7);
        drop(inner);
        assert_eq!(rt.block_on(async { 8 }), 8, "the outer runtime still runs");
    }
);

rt_test!(
    block_on_and_tasks_make_progress_while_a_task_never_stops_yielding,
    |rt| {
        // tokio's `complete_block_on_under_load`, `complete_task_under_load` and
        // `spawn_from_other_thread_under_load`: a task that is always ready must not keep the
        // root future, a woken task or a task spawned from a plain thread from running.
        use runtime::sync::oneshot;
        let handle = rt.handle().clone();
        rt.block_on(async move {
            let spinner = runtime::spawn(async {
                loop {
                    runtime::yield_now().await;
                }
            });

            let (tx, rx) = oneshot::channel();
            let waker = thread::spawn(move || tx.send(()));
            support::guard("the root future woken from a thread", rx)
                .await
                .expect("sent");
            waker.join().expect("thread").expect("receiver alive");

            let (tx1, rx1) = oneshot::channel::<()>();
            let (tx2, rx2) = oneshot::channel();
            runtime::spawn(async move {
                rx1.await.expect("sent");
                tx2.send(()).expect("receiver alive");
            });
            let waker = thread::spawn(move || tx1.send(()));
            support::guard("a task woken from a thread", rx2)
                .await
                .expect("sent");
            waker.join().expect("thread").expect("receiver alive");

            let (tx3, rx3) = oneshot::channel();
            let spawner = thread::spawn(move || {
                drop(handle.spawn(async move { tx3.send(()).expect("receiver alive") }));
            });
            support::guard("a task spawned from a thread", rx3)
                .await
                .expect("sent");
            spawner.join().expect("thread");

            spinner.abort();
            assert!(spinner.await.expect_err("aborted").is_cancelled());
        });
    }
);

rt_test!(two_threads_in_block_on_at_once_both_finish, |rt| {
    // tokio's `always_active_parker`: each root future needs the other one and a timer, so
    // both callers must get the IO/time driver's events, whichever of them is parked on it.
    use runtime::sync::oneshot;
    let rt = Arc::new(rt);
    support::run_bounded("two concurrent block_on callers", HANG_GUARD, move || {
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        let rt2 = rt.clone();
        let first = thread::spawn(move || {
            rt.block_on(async move {
                rx2.await.expect("sent");
                runtime::time::sleep(Duration::from_millis(5)).await;
                tx1.send(()).expect("receiver alive");
            })
        });
        let second = thread::spawn(move || {
            rt2.block_on(async move {
                tx2.send(()).expect("receiver alive");
                runtime::time::sleep(Duration::from_millis(5)).await;
                rx1.await.expect("sent");
                runtime::time::sleep(Duration::from_millis(5)).await;
            })
        });
        first.join().expect("first caller");
        second.join().expect("second caller");
    });
});

rt_test!(io_is_driven_while_tasks_keep_every_worker_busy, |rt| {
    // tokio's `io_driver_called_when_under_load`: tasks that wake themselves on every poll
    // keep the run queues full; socket readiness must still be delivered.
    use runtime::net::{TcpListener, TcpStream};
    for _ in 0..20 {
        drop(rt.spawn(poll_fn::<(), _>(|cx| {
            cx.waker().wake_by_ref();
            Poll::Pending
        })));
    }
    rt.block_on(support::guard("a TCP exchange under load", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = runtime::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            stream.write_all(b"hello world").await.expect("write");
        });
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut got = [0; 11];
        stream.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello world");
        server.await.expect("server task");
    }));
});

rt_test!(
    handle_block_on_inside_spawn_blocking_drives_timers_and_sockets,
    |rt| {
        // tokio's `sleep_from_blocking` and `socket_from_blocking`.
        use runtime::net::{TcpListener, TcpStream};
        let handle = rt.handle().clone();
        let out = rt.block_on(async move {
            let job = runtime::spawn_blocking(move || {
                handle.block_on(async {
                    runtime::time::sleep(Duration::from_millis(1)).await;
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    let addr = listener.local_addr().expect("addr");
                    let client = runtime::spawn(TcpStream::connect(addr));
                    let (_server_side, _) = listener.accept().await.expect("accept");
                    client.await.expect("task").expect("connect");
                    5
                })
            });
            support::guard("a blocking job driving a sleep and a socket", job).await
        });
        assert_eq!(out.expect("blocking job"), 5);
    }
);

rt_test!(
    shutdown_timeout_of_zero_returns_while_a_blocking_job_runs,
    |rt| {
        // tokio's `shutdown_timeout_0`.
        let (job, release) = hold_a_blocking_thread(&rt);
        drop(job);
        support::run_bounded("shutdown_timeout(0)", HANG_GUARD, move || {
            rt.shutdown_timeout(Duration::ZERO)
        });
        release.release();
    }
);

rt_test!(
    shutdown_after_a_sleep_does_not_wait_for_the_timer_thread,
    |rt| {
        // tokio's `shutdown_wakeup_time`: nothing is left to wait for, so even a very long
        // shutdown_timeout returns at once (bounded here, not timed).
        rt.block_on(async { runtime::time::sleep(Duration::from_millis(20)).await });
        support::run_bounded("shutdown after a sleep", HANG_GUARD, move || {
            rt.shutdown_timeout(Duration::from_secs(10_000))
        });
    }
);

rt_test!(
    a_runtime_kept_in_a_thread_local_is_dropped_when_its_thread_exits,
    |rt, flavor| {
        // tokio's `runtime_in_thread_local`: the runtime's drop runs among the thread-local
        // destructors, after the thread's other runtime state may be gone.
        use std::cell::RefCell;
        thread_local! {
            static KEPT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
        }
        let drops = DropCounter::new();
        let guard = drops.guard();
        support::run_bounded(
            "a thread with a runtime in a thread-local",
            HANG_GUARD,
            move || {
                thread::spawn(move || {
                    drop(rt.spawn(async move {
                        let _guard = guard;
                        pending::<()>().await
                    }));
                    KEPT.with(|kept| *kept.borrow_mut() = Some(rt));
                    // A second runtime, built and dropped on the same thread before it exits.
                    let other = flavor.build();
                    assert_eq!(other.block_on(async { 3 }), 3);
                })
                .join()
                .expect("the thread exits cleanly");
            },
        );
        assert_eq!(drops.count(), 1, "the pending task's future was dropped");
    }
);

rt_test!(
    udp_traffic_in_flight_while_the_runtime_shuts_down,
    |_rt, flavor| {
        // tokio's `io_notify_while_shutting_down`: readiness arriving for sockets whose tasks
        // are being dropped must not panic or hang the shutdown.
        use runtime::net::UdpSocket;
        support::run_bounded("shutdowns with UDP traffic", HANG_GUARD, move || {
            for _ in 0..3 {
                let rt = flavor.build();
                rt.block_on(async {
                    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
                    let addr = socket.local_addr().expect("addr");
                    let sender = Arc::new(socket);
                    let receiver = sender.clone();
                    runtime::spawn(async move {
                        let mut buf = [0];
                        loop {
                            receiver.recv_from(&mut buf).await.expect("recv");
                            thread::sleep(Duration::from_millis(1));
                        }
                    });
                    runtime::spawn(async move {
                        loop {
                            sender.send_to(&[0], addr).await.expect("send");
                            runtime::time::sleep(Duration::from_millis(1)).await;
                        }
                    });
                    runtime::time::sleep(Duration::from_millis(5)).await;
                });
                drop(rt);
            }
        });
    }
);

rt_test!(
    tasks_woken_from_another_thread_while_the_runtime_drops_are_all_dropped,
    |_rt, flavor| {
        // tokio's `shutdown_concurrent_spawn`: a thread completes the senders that pending
        // tasks wait on while the runtime is being dropped.
        use runtime::sync::oneshot;
        const TASKS: usize = 1_000;
        support::run_bounded(
            "wake-ups racing the runtime's drop",
            HANG_GUARD,
            move || {
                for _ in 0..3 {
                    let rt = flavor.build();
                    let drops = DropCounter::new();
                    let senders: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let (tx, rx) = oneshot::channel::<()>();
                            let guard = drops.guard();
                            drop(rt.spawn(async move {
                                let _guard = guard;
                                let _ = rx.await;
                            }));
                            tx
                        })
                        .collect();
                    rt.block_on(runtime::yield_now());
                    let (started_tx, started_rx) = mpsc::channel();
                    let waker = thread::spawn(move || {
                        started_tx.send(()).expect("test alive");
                        for tx in senders {
                            let _ = tx.send(());
                        }
                    });
                    started_rx.recv().expect("the waking thread starts");
                    drop(rt);
                    waker.join().expect("waking thread");
                    assert_eq!(drops.count(), TASKS, "every task's future was dropped");
                }
            },
        );
    }
);

/// tokio's `wake_by_ref_from_thread_local` / `wake_by_val_from_thread_local`: a waker of a
/// runtime that is already gone is woken from a thread-local destructor as its thread exits.
fn wake_from_a_thread_local_destructor(flavor: Flavor, by_ref: bool) {
    use std::cell::RefCell;
    struct WakeOnDrop {
        waker: Option<Waker>,
        by_ref: bool,
        done: mpsc::Sender<()>,
    }
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            let waker = self.waker.take().expect("stored");
            if self.by_ref {
                waker.wake_by_ref();
            } else {
                waker.wake();
            }
            let _ = self.done.send(());
        }
    }
    thread_local! {
        static STORED: RefCell<Option<WakeOnDrop>> = const { RefCell::new(None) };
    }
    let (done_tx, done_rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let rt = flavor.build();
        let task = rt.spawn(poll_fn(move |cx| {
            let stored = WakeOnDrop {
                waker: Some(cx.waker().clone()),
                by_ref,
                done: done_tx.clone(),
            };
            STORED.with(|cell| *cell.borrow_mut() = Some(stored));
            Poll::Ready(())
        }));
        rt.block_on(task).expect("task ran");
    });
    done_rx
        .recv_timeout(HANG_GUARD)
        .expect("the thread-local destructor ran and woke the waker");
    thread.join().expect("the thread exits without a panic");
}

rt_test!(
    a_waker_woken_by_ref_from_a_thread_local_destructor_is_harmless,
    |_rt, flavor| {
        wake_from_a_thread_local_destructor(flavor, true);
    }
);

rt_test!(
    a_waker_woken_by_value_from_a_thread_local_destructor_is_harmless,
    |_rt, flavor| {
        wake_from_a_thread_local_destructor(flavor, false);
    }
);

rt_test!(
    a_yielding_task_finishes_while_pairs_of_tasks_ping_pong,
    |rt| {
        // tokio's `ping_pong_saturation`: pairs that keep waking each other must not starve a
        // task that yields (a "run next" slot that always wins would).
        use runtime::sync::channel;
        let running = Arc::new(AtomicBool::new(true));
        rt.block_on(support::guard("ping-pong saturation", async {
            let mut tasks = Vec::new();
            for _ in 0..50 {
                let (ping_tx, ping_rx) = channel::unbounded::<()>();
                let (pong_tx, pong_rx) = channel::unbounded::<()>();
                let running = running.clone();
                tasks.push(runtime::spawn(async move {
                    while running.load(SeqCst) {
                        ping_tx.send(()).await.expect("partner alive");
                        pong_rx.recv().await.expect("partner alive");
                    }
                    drop(ping_tx);
                    assert!(pong_rx.recv().await.is_err(), "the partner stops too");
                }));
                tasks.push(runtime::spawn(async move {
                    while ping_rx.recv().await.is_ok() {
                        let _ = pong_tx.send(()).await;
                    }
                }));
            }
            runtime::spawn(async {
                for _ in 0..5 {
                    runtime::yield_now().await;
                }
            })
            .await
            .expect("the yielding task finishes");
            running.store(false, SeqCst);
            for task in tasks {
                task.await.expect("pair task");
            }
        }));
    }
);
