//! Panics where the runtime has to stay standing: a task that panics while holding a lock,
//! a permit or a channel slot; a task output whose `Drop` panics; a waker that panics when
//! it is woken (by the runtime's drivers or by another task); a `Barrier` action that
//! panics; `on_thread_start` / `on_thread_stop` hooks that panic.
//!
//! Each case has one defined answer, asserted here, and after each one every worker still
//! runs tasks ([`assert_every_worker_runs`]). The panics print through the default panic
//! hook; that output is expected.

#[macro_use]
mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use runtime::net::{TcpListener, TcpStream};
use runtime::sync::{channel, oneshot, Barrier, BrokenBarrier, Event, Mutex, RwLock, Semaphore};
use runtime::task::{JoinError, JoinHandle};
use runtime::Runtime;
use support::{eventually, guard, panic_message, run_bounded, Gate};

/// Bound on a whole test's run (against a hang, not a speed claim).
const LIMIT: Duration = Duration::from_secs(60);

/// Asserts that every worker of `rt` still runs tasks: as many tasks as there are workers,
/// spawned from outside, each wait (blocking its thread, on a plain atomic) until all of
/// them run at once, which takes one live worker each. A dead worker makes them give up
/// after a bound instead of hanging.
fn assert_every_worker_runs(rt: &Runtime) {
    let workers = rt.metrics().workers;
    let running = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let running = running.clone();
            rt.spawn(async move {
                running.fetch_add(1, SeqCst);
                let deadline = Instant::now() + Duration::from_secs(10);
                while running.load(SeqCst) < workers {
                    if Instant::now() > deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                true
            })
        })
        .collect();
    for task in tasks {
        let all_ran = rt.block_on(task).expect("the rendezvous task");
        assert!(
            all_ran,
            "only {} of {workers} workers ran tasks",
            running.load(SeqCst)
        );
    }
}

/// Asserts that `err` is the panic with `message`.
fn assert_panicked_with(err: JoinError, message: &str) {
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(panic_message(&*err.into_panic()), message);
}

// ===== a task panics while holding a lock or a permit =====

/// What a holder task gets: report that it holds its guard, then wait for the go-ahead.
struct Held {
    held: oneshot::Sender<()>,
    go: Gate,
}

impl Held {
    async fn report_and_wait(self) {
        self.held.send(()).expect("the test waits for the holder");
        self.go.wait().await;
    }
}

/// Spawns `body` (which takes a guard, calls [`Held::report_and_wait`] and panics with the
/// guard held) and returns once it holds the guard, with the gate that lets it panic.
async fn spawn_holder<F>(body: impl FnOnce(Held) -> F) -> (JoinHandle<()>, Gate)
where
    F: Future<Output = ()> + Send + 'static,
{
    let (held, held_rx) = oneshot::channel();
    let go = Gate::new();
    let task = runtime::spawn(body(Held {
        held,
        go: go.clone(),
    }));
    guard("the holder takes its guard", held_rx)
        .await
        .expect("the holder reports");
    (task, go)
}

/// Lets the holder panic and checks that it did.
async fn let_it_panic(holder: JoinHandle<()>, go: Gate, message: &str) {
    // Turns for the waiters spawned meanwhile to start waiting.
    for _ in 0..8 {
        runtime::yield_now().await;
    }
    go.open();
    let err = guard("the holder panics", holder).await.unwrap_err();
    assert_panicked_with(err, message);
}

rt_test!(a_mutex_held_by_a_panicking_task_is_released, |rt| {
    run_bounded("mutex held in a panic", LIMIT, move || {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(0));
            let (holder, go) = spawn_holder(|held| {
                let mutex = mutex.clone();
                async move {
                    let mut value = mutex.lock().await;
                    *value = 1;
                    held.report_and_wait().await;
                    panic!("holding the mutex");
                }
            })
            .await;
            let waiter = {
                let mutex = mutex.clone();
                runtime::spawn(async move { *mutex.lock().await })
            };
            let_it_panic(holder, go, "holding the mutex").await;
            // Not poisoned: the waiter gets the lock, and the data as the panic left it.
            assert_eq!(guard("the waiter", waiter).await.unwrap(), 1);
            assert!(mutex.try_lock().is_ok());
        });
        assert_every_worker_runs(&rt);
    });
});

rt_test!(a_rwlock_held_by_a_panicking_task_is_released, |rt| {
    run_bounded("rwlock held in a panic", LIMIT, move || {
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(0));

            // A reader panics; a writer waits.
            let (holder, go) = spawn_holder(|held| {
                let lock = lock.clone();
                async move {
                    let _read = lock.read().await;
                    held.report_and_wait().await;
                    panic!("holding a read guard");
                }
            })
            .await;
            let writer = {
                let lock = lock.clone();
                runtime::spawn(async move { *lock.write().await += 1 })
            };
            let_it_panic(holder, go, "holding a read guard").await;
            guard("the writer", writer).await.unwrap();

            // A writer panics; a reader and a writer wait.
            let (holder, go) = spawn_holder(|held| {
                let lock = lock.clone();
                async move {
                    let mut value = lock.write().await;
                    *value = 10;
                    held.report_and_wait().await;
                    panic!("holding the write guard");
                }
            })
            .await;
            let reader = {
                let lock = lock.clone();
                runtime::spawn(async move { *lock.read().await })
            };
            let writer = {
                let lock = lock.clone();
                runtime::spawn(async move { *lock.write().await += 1 })
            };
            let_it_panic(holder, go, "holding the write guard").await;
            let seen = guard("the reader", reader).await.unwrap();
            guard("the writer", writer).await.unwrap();
            assert!(seen == 10 || seen == 11, "{seen}");
            assert_eq!(*lock.try_read().expect("free"), 11);
            assert!(lock.try_write().is_ok());
        });
        assert_every_worker_runs(&rt);
    });
});

rt_test!(
    a_semaphore_permit_held_by_a_panicking_task_comes_back,
    |rt| {
        run_bounded("permit held in a panic", LIMIT, move || {
            rt.block_on(async {
                let sem = Arc::new(Semaphore::new(1));
                let (holder, go) = spawn_holder(|held| {
                    let sem = sem.clone();
                    async move {
                        let _permit = sem.acquire().await.unwrap();
                        held.report_and_wait().await;
                        panic!("holding a permit");
                    }
                })
                .await;
                let waiter = {
                    let sem = sem.clone();
                    runtime::spawn(async move { drop(sem.acquire().await.unwrap()) })
                };
                let_it_panic(holder, go, "holding a permit").await;
                guard("the waiter", waiter).await.unwrap();
                assert_eq!(sem.available_permits(), 1);
            });
            assert_every_worker_runs(&rt);
        });
    }
);

rt_test!(a_channel_slot_reserved_by_a_panicking_task_is_freed, |rt| {
    run_bounded("channel permit held in a panic", LIMIT, move || {
        rt.block_on(async {
            let (tx, rx) = channel::bounded(1);
            let (holder, go) = spawn_holder(|held| {
                let tx = tx.clone();
                async move {
                    let _permit = tx.reserve().await.unwrap();
                    held.report_and_wait().await;
                    panic!("holding a channel permit");
                }
            })
            .await;
            let sender = {
                let tx = tx.clone();
                runtime::spawn(async move { tx.send(5).await })
            };
            let_it_panic(holder, go, "holding a channel permit").await;
            guard("the waiting sender", sender)
                .await
                .unwrap()
                .expect("the channel is open");
            assert_eq!(guard("recv", rx.recv()).await, Ok(5));
            assert!(tx.try_reserve().is_ok(), "the slot is free again");
        });
        assert_every_worker_runs(&rt);
    });
});

// ===== a task's output panics when dropped =====

/// An output whose `Drop` panics; counts its drops.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
        panic!("an output that panics when dropped");
    }
}

rt_test!(an_output_that_panics_when_dropped_is_contained, |rt| {
    run_bounded("panicking output drop", LIMIT, move || {
        let drops = Arc::new(AtomicUsize::new(0));

        // Detached: the output is dropped where the task completed, and the panic stays
        // there.
        let gate = Gate::new();
        let detached = {
            let (drops, gate) = (drops.clone(), gate.clone());
            rt.spawn(async move {
                gate.wait().await;
                PanicOnDrop(drops)
            })
        };
        drop(detached);
        gate.open();
        let handle = rt.handle().clone();
        rt.block_on(eventually("the detached output is dropped", || {
            drops.load(SeqCst) == 1 && handle.metrics().alive_tasks == 0
        }));

        // Finished, then its handle dropped: the dropper sees no panic.
        let finished = {
            let drops = drops.clone();
            rt.spawn(async move { PanicOnDrop(drops) })
        };
        rt.block_on(eventually("the task finishes", || finished.is_finished()));
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(finished)));
        assert!(dropped.is_ok(), "dropping the handle passed the panic on");
        assert_eq!(drops.load(SeqCst), 2);

        assert_every_worker_runs(&rt);
    });
});

/// Held by a future; panics when the future is dropped (as abort or shutdown do).
struct PanicInFutureDrop;

impl Drop for PanicInFutureDrop {
    fn drop(&mut self) {
        panic!("a future that panics when dropped");
    }
}

/// Spawns a task that holds a [`PanicInFutureDrop`] and waits for ever; returns once it runs.
fn spawn_started_bomb(rt: &runtime::Runtime) -> runtime::task::JoinHandle<()> {
    let started = Gate::new();
    let task = {
        let started = started.clone();
        rt.spawn(async move {
            let _bomb = PanicInFutureDrop;
            started.open();
            std::future::pending::<()>().await
        })
    };
    rt.block_on(started.wait());
    task
}

rt_test!(
    aborting_a_task_whose_future_panics_on_drop_reports_that_panic,
    |rt| {
        // tokio's task_abort: the panic is "returned" to a joiner and "contained" for a
        // detached task; either way the workers go on.
        run_bounded("abort a future that panics on drop", LIMIT, move || {
            let joined = spawn_started_bomb(&rt);
            joined.abort();
            let err = rt.block_on(joined).expect_err("aborted");
            assert!(err.is_panic(), "the drop's panic is the outcome: {err:?}");
            assert_eq!(
                panic_message(&*err.into_panic()),
                "a future that panics when dropped"
            );

            let detached = spawn_started_bomb(&rt);
            let abort = detached.abort_handle();
            drop(detached);
            abort.abort();
            let handle = rt.handle().clone();
            rt.block_on(eventually("the aborted task is gone", || {
                handle.metrics().alive_tasks == 0
            }));
            assert_every_worker_runs(&rt);
        });
    }
);

// ===== a waker that panics when woken =====

/// A waker that panics when woken; counts the wakes.
struct PanickingWaker(AtomicUsize);

impl PanickingWaker {
    fn new() -> (Arc<PanickingWaker>, Waker) {
        let this = Arc::new(PanickingWaker(AtomicUsize::new(0)));
        (this.clone(), Waker::from(this))
    }

    fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("a waker that panics when woken");
    }
}

/// Polls `fut` once with `waker`; it must be pending.
fn poll_pending<F: Future + ?Sized>(fut: std::pin::Pin<&mut F>, waker: &Waker) {
    let polled = fut.poll(&mut Context::from_waker(waker));
    assert!(polled.is_pending(), "expected the future to wait");
}

rt_test!(
    a_waker_that_panics_when_a_timer_or_readiness_wakes_it_is_contained,
    |rt| {
        run_bounded("panicking waker in the drivers", LIMIT, move || {
            rt.block_on(async {
                // A timer due soon whose only waker panics: the driver fires it.
                let (timer_waker, waker) = PanickingWaker::new();
                let mut sleep = pin!(runtime::time::sleep(Duration::from_millis(5)));
                poll_pending(sleep.as_mut(), &waker);
                eventually("the timer fires", || timer_waker.wakes() == 1).await;

                // A socket whose reader's waker panics: the reactor dispatches it.
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let mut client = TcpStream::connect(listener.local_addr().unwrap())
                    .await
                    .unwrap();
                let (mut server, _) = listener.accept().await.unwrap();
                {
                    let (io_waker, waker) = PanickingWaker::new();
                    let mut readable = pin!(server.readable());
                    poll_pending(readable.as_mut(), &waker);
                    client.write_all(b"x").await.unwrap();
                    eventually("the reactor wakes the reader", || io_waker.wakes() == 1).await;
                }

                // The drivers still work for everyone else.
                guard("a sleep", runtime::time::sleep(Duration::from_millis(1))).await;
                let mut byte = [0u8; 1];
                guard("a read", server.read_exact(&mut byte)).await.unwrap();
                assert_eq!(&byte, b"x");
            });
            assert_every_worker_runs(&rt);
        });
    }
);

rt_test!(
    a_waker_that_panics_when_a_task_wakes_it_fails_that_task_only,
    |rt| {
        run_bounded("panicking waker woken by a task", LIMIT, move || {
            rt.block_on(async {
                let event = Arc::new(Event::new());
                // First in line: a waiter whose waker panics.
                let (panicky, waker) = PanickingWaker::new();
                let mut first = pin!(event.wait());
                poll_pending(first.as_mut(), &waker);
                // Behind it, a task.
                let waiter = {
                    let event = event.clone();
                    runtime::spawn(async move { event.wait().await })
                };
                for _ in 0..8 {
                    runtime::yield_now().await;
                }
                let setter = {
                    let event = event.clone();
                    runtime::spawn(async move { event.set() })
                };
                // The panic is the waking task's; the waiter behind the bad waker is woken.
                let err = guard("the setter", setter).await.unwrap_err();
                assert_panicked_with(err, "a waker that panics when woken");
                assert_eq!(panicky.wakes(), 1);
                guard("the waiter behind the panicking waker", waiter)
                    .await
                    .unwrap();
                assert!(event.is_set());
                assert_eq!(
                    first.as_mut().poll(&mut Context::from_waker(Waker::noop())),
                    Poll::Ready(())
                );

                // A join handle whose waker panics: the task that completes wakes it, and
                // the panic stays there, after the output is stored.
                let go = Gate::new();
                let mut task = {
                    let go = go.clone();
                    runtime::spawn(async move {
                        go.wait().await;
                        5
                    })
                };
                let (panicky, waker) = PanickingWaker::new();
                poll_pending(std::pin::Pin::new(&mut task), &waker);
                go.open();
                eventually("the task wakes its joiner", || panicky.wakes() == 1).await;
                assert_eq!(guard("the output", task).await.unwrap(), 5);
            });
            assert_every_worker_runs(&rt);
        });
    }
);

// ===== a barrier's action panics =====

rt_test!(a_panicking_barrier_action_breaks_the_round, |rt| {
    run_bounded("panicking barrier action", LIMIT, move || {
        rt.block_on(async {
            let panicked = Arc::new(AtomicBool::new(false));
            let rounds = Arc::new(AtomicUsize::new(0));
            let barrier = {
                let (panicked, rounds) = (panicked.clone(), rounds.clone());
                Arc::new(Barrier::with_action(3, move || {
                    if !panicked.swap(true, SeqCst) {
                        panic!("the barrier action panics");
                    }
                    rounds.fetch_add(1, SeqCst);
                }))
            };
            let wait = |barrier: &Arc<Barrier>| {
                let barrier = barrier.clone();
                runtime::spawn(async move { barrier.wait().await.map(|r| r.is_leader()) })
            };
            let (a, b) = (wait(&barrier), wait(&barrier));
            eventually("two parties wait", || barrier.n_waiting() == 2).await;
            // The third party is the leader: it runs the action, which panics in it.
            let leader = wait(&barrier);
            let err = guard("the leader", leader).await.unwrap_err();
            assert_panicked_with(err, "the barrier action panics");
            assert_eq!(guard("a", a).await.unwrap(), Err(BrokenBarrier));
            assert_eq!(guard("b", b).await.unwrap(), Err(BrokenBarrier));
            assert!(barrier.is_broken());

            // Reset, the barrier serves the next round.
            barrier.reset();
            let parties = [wait(&barrier), wait(&barrier), wait(&barrier)];
            let mut leaders = 0;
            for party in parties {
                leaders += guard("a party", party).await.unwrap().expect("not broken") as usize;
            }
            assert_eq!((leaders, rounds.load(SeqCst)), (1, 1));
        });
        assert_every_worker_runs(&rt);
    });
});

// ===== thread hooks that panic =====

#[test]
fn panicking_thread_hooks_lose_no_thread() {
    run_bounded("panicking thread hooks", LIMIT, || {
        let (starts, stops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let rt = {
            let (starts, stops) = (starts.clone(), stops.clone());
            runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .on_thread_start(move || {
                    starts.fetch_add(1, SeqCst);
                    panic!("on_thread_start panics");
                })
                .on_thread_stop(move || {
                    stops.fetch_add(1, SeqCst);
                    panic!("on_thread_stop panics");
                })
                .build()
                .unwrap()
        };
        assert_eq!(rt.metrics().workers, 2);
        assert_every_worker_runs(&rt);
        // A pool thread starts through the same hook.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 7)).unwrap(), 7);
        assert!(starts.load(SeqCst) >= 3);
        // Every thread still counts itself out: the drop returns.
        drop(rt);
        assert_eq!(stops.load(SeqCst), starts.load(SeqCst));
    });
}

#[test]
fn a_panicking_thread_start_hook_on_a_current_thread_runtime_loses_no_pool_thread() {
    run_bounded("panicking hook on the blocking pool", LIMIT, || {
        let rt = runtime::Builder::new_current_thread()
            .on_thread_start(|| panic!("on_thread_start panics"))
            .build()
            .unwrap();
        for i in 0..3 {
            assert_eq!(rt.block_on(rt.spawn_blocking(move || i)).unwrap(), i);
        }
        drop(rt);
    });
}
