//! `spawn_local` and `LocalRuntime`: futures that are not `Send`, polled and dropped only on
//! the thread that spawned them, whatever other threads do with their wakers and handles.

#[macro_use]
mod support;

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread::{self, ThreadId};

use runtime::sync::ReentrantMutex;
use runtime::task::{self, JoinSet};
use runtime::{Builder, LocalRuntime, Runtime};
use support::{block_on_outside, eventually, panic_message, DropCounter, Gate};

fn local_rt() -> LocalRuntime {
    Builder::new_current_thread()
        .build_local()
        .expect("failed to build the local runtime")
}

fn current_thread_rt() -> Runtime {
    Builder::new_current_thread()
        .build()
        .expect("failed to build the runtime")
}

/// Where things happened: every poll, or the drop, of a future that carries it.
#[derive(Clone, Default)]
struct Threads(Arc<Mutex<Vec<ThreadId>>>);

impl Threads {
    fn record(&self) {
        self.0.lock().unwrap().push(thread::current().id());
    }
    fn get(&self) -> Vec<ThreadId> {
        self.0.lock().unwrap().clone()
    }
}

/// Records the thread it is dropped on.
struct RecordDrop(Threads);

impl Drop for RecordDrop {
    fn drop(&mut self) {
        self.0.record();
    }
}

/// A future that records the thread of each of its polls, until `gate` opens.
async fn polled_until(gate: Gate, polls: Threads) -> &'static str {
    let _not_send = Rc::new(());
    let wait = gate.wait();
    let mut wait = std::pin::pin!(wait);
    poll_fn(|cx| {
        polls.record();
        wait.as_mut().poll(cx)
    })
    .await;
    "done"
}

/// The panic message of `f`, which must panic.
fn panic_text(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    panic_message(&*payload)
}

// ===== what users build on =====

#[test]
fn rc_refcell_state_shared_among_local_tasks() {
    let rt = local_rt();
    let log = Rc::new(RefCell::new(Vec::new()));
    rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..10 {
            let log = log.clone();
            handles.push(runtime::spawn_local(async move {
                log.borrow_mut().push(i);
                runtime::yield_now().await;
                log.borrow_mut().push(i + 100);
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
    });
    let log = log.borrow();
    assert_eq!(log.len(), 20);
    for i in 0..10 {
        let first = log.iter().position(|&x| x == i).unwrap();
        let second = log.iter().position(|&x| x == i + 100).unwrap();
        assert!(
            first < second,
            "task {i} resumed before it started: {log:?}"
        );
    }
}

#[runtime::test(flavor = "local")]
async fn local_and_send_tasks_mixed() {
    let (tx, rx) = runtime::sync::channel::bounded(4);
    // Send tasks produce, a local task consumes into `Rc` state.
    for i in 0..8u32 {
        let tx = tx.clone();
        runtime::spawn(async move { tx.send(i).await.unwrap() });
    }
    drop(tx);
    let sum = Rc::new(Cell::new(0));
    let consumer = runtime::spawn_local({
        let sum = sum.clone();
        async move {
            while let Ok(i) = rx.recv().await {
                sum.set(sum.get() + i);
            }
        }
    });
    consumer.await.unwrap();
    assert_eq!(sum.get(), (0..8).sum::<u32>());
}

#[runtime::test(flavor = "local")]
async fn a_busy_send_task_does_not_starve_local_tasks() {
    let local_done = Rc::new(Cell::new(false));
    let local = runtime::spawn_local({
        let done = local_done.clone();
        async move {
            for _ in 0..3 {
                runtime::yield_now().await;
            }
            done.set(true);
        }
    });
    // Wakes itself on every poll: it is always at the front of the runnable tasks.
    let mut turns = 0u32;
    let busy = runtime::spawn(poll_fn(move |cx| {
        turns += 1;
        if turns == 10_000 {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    busy.await.unwrap();
    assert!(
        local_done.get(),
        "the local task got no turn while a Send task kept busy"
    );
    local.await.unwrap();
}

#[test]
fn join_handles_give_outputs_panics_and_cancellations() {
    let rt = local_rt();
    rt.block_on(async {
        // A `!Send` output: the handle stays on this thread.
        let rc = runtime::spawn_local(async { Rc::new(7) }).await.unwrap();
        assert_eq!(*rc, 7);

        let err = runtime::spawn_local(async {
            let _not_send = Rc::new(());
            panic!("local boom");
        })
        .await
        .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(panic_message(&*err.into_panic()), "local boom");

        let drops = DropCounter::new();
        let guard = drops.guard();
        let doomed = runtime::spawn_local(async move {
            let _guard = guard;
            let _not_send = Rc::new(());
            pending::<()>().await
        });
        runtime::yield_now().await;
        doomed.abort();
        assert!(doomed.await.unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);

        // The runtime goes on after the panic.
        assert_eq!(runtime::spawn_local(async { 1 }).await.unwrap(), 1);
    });
}

#[runtime::test(flavor = "local")]
async fn nested_spawn_local_from_a_local_task() {
    let depth = Rc::new(Cell::new(0));
    let outer = runtime::spawn_local({
        let depth = depth.clone();
        async move {
            depth.set(1);
            let inner = runtime::spawn_local({
                let depth = depth.clone();
                async move {
                    depth.set(2);
                    task::Builder::new()
                        .name("innermost")
                        .spawn_local(async move { Rc::new(3) })
                        .await
                        .unwrap()
                }
            });
            *inner.await.unwrap()
        }
    });
    assert_eq!(outer.await.unwrap(), 3);
    assert_eq!(depth.get(), 2);
}

#[runtime::test]
async fn spawn_local_on_the_current_thread_flavor() {
    let here = thread::current().id();
    let cell = Rc::new(Cell::new(0));
    let task = runtime::spawn_local({
        let cell = cell.clone();
        async move {
            runtime::yield_now().await;
            cell.set(1);
            thread::current().id()
        }
    });
    assert_eq!(task.await.unwrap(), here);
    assert_eq!(cell.get(), 1);
}

#[test]
fn local_runtime_spawn_local_before_block_on() {
    let rt = local_rt();
    let ran = Rc::new(Cell::new(false));
    let task = rt.spawn_local({
        let ran = ran.clone();
        async move { ran.set(true) }
    });
    assert!(!ran.get(), "nothing drives the runtime yet");
    rt.block_on(task).unwrap();
    assert!(ran.get());
    // Inside `block_on`, the method spawns into the running loop.
    let out = rt.block_on(async { rt.spawn_local(async { Rc::new("in") }).await.unwrap() });
    assert_eq!(*out, "in");
}

#[test]
fn join_set_spawn_local() {
    let rt = local_rt();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 1..=4 {
            let i = Rc::new(i);
            set.spawn_local(async move { Rc::new(*i * 10) });
        }
        let mut total = 0;
        while let Some(res) = set.join_next().await {
            total += *res.unwrap();
        }
        assert_eq!(total, 100);
    });
}

#[test]
fn metrics_count_local_tasks() {
    let rt = local_rt();
    let gate = Gate::new();
    let waiting = rt.spawn_local(polled_until(gate.clone(), Threads::default()));
    rt.block_on(runtime::yield_now());
    assert_eq!(rt.metrics().alive_tasks, 1);
    assert_eq!(rt.metrics().spawned_tasks, 1);
    gate.open();
    rt.block_on(waiting).unwrap();
    assert_eq!(rt.metrics().alive_tasks, 0);
}

#[test]
fn reentrant_guard_held_across_await_in_a_local_task() {
    let rt = local_rt();
    rt.block_on(async {
        let lock = Arc::new(ReentrantMutex::new(RefCell::new(Vec::new())));
        let holder = runtime::spawn_local({
            let lock = lock.clone();
            async move {
                let outer = lock.lock().await;
                outer.borrow_mut().push("outer");
                runtime::yield_now().await; // the guard lives across this await
                let inner = lock.lock().await; // the same task: nests
                inner.borrow_mut().push("inner");
                runtime::yield_now().await;
                drop(inner);
                outer.borrow_mut().push("released");
            }
        });
        runtime::yield_now().await;
        // Another task waits until the holder lets go of both levels.
        let other = runtime::spawn_local({
            let lock = lock.clone();
            async move { lock.lock().await.borrow_mut().push("other") }
        });
        holder.await.unwrap();
        other.await.unwrap();
        let guard = lock.lock().await;
        assert_eq!(*guard.borrow(), ["outer", "inner", "released", "other"]);
    });
}

// ===== soundness: the future stays on its thread =====

#[test]
fn wake_from_another_thread_polls_on_the_owner() {
    let rt = local_rt();
    let owner = thread::current().id();
    let polls = Threads::default();
    let gate = Gate::new();
    rt.block_on(async {
        let task = runtime::spawn_local(polled_until(gate.clone(), polls.clone()));
        runtime::yield_now().await;
        let opener = thread::spawn({
            let gate = gate.clone();
            move || gate.open()
        });
        assert_eq!(task.await.unwrap(), "done");
        opener.join().unwrap();
    });
    let polls = polls.get();
    assert!(polls.len() >= 2, "{polls:?}");
    assert!(polls.iter().all(|&t| t == owner), "polled off its thread");
}

#[test]
fn abort_from_another_thread_drops_the_future_on_the_owner() {
    let rt = local_rt();
    let owner = thread::current().id();
    let dropped = Threads::default();
    rt.block_on(async {
        let guard = RecordDrop(dropped.clone());
        let task = runtime::spawn_local(async move {
            let _guard = guard;
            let _not_send = Rc::new(());
            pending::<()>().await
        });
        runtime::yield_now().await;
        let abort = task.abort_handle();
        thread::spawn(move || abort.abort()).join().unwrap();
        assert!(dropped.get().is_empty(), "dropped by the aborting thread");
        assert!(task.await.unwrap_err().is_cancelled());
    });
    assert_eq!(dropped.get(), [owner]);
}

#[test]
fn join_handle_awaited_from_another_runtime() {
    let rt = local_rt();
    let owner = thread::current().id();
    let go = Gate::new();
    let handle = rt.spawn_local({
        let go = go.clone();
        async move {
            let rc = Rc::new(20);
            go.wait().await;
            (*rc + 1, thread::current().id())
        }
    });
    let joined = Gate::new();
    let other = thread::spawn({
        let (go, joined) = (go.clone(), joined.clone());
        move || {
            let other_rt = Runtime::new().unwrap();
            let out = other_rt.block_on(async {
                go.open();
                handle.await.unwrap()
            });
            joined.open();
            out
        }
    });
    // Drive the local runtime until the other thread has its result.
    rt.block_on(joined.wait());
    let (value, ran_on) = other.join().unwrap();
    assert_eq!(value, 21);
    assert_eq!(ran_on, owner);
}

#[test]
// The `block_on` hands out a task's handle, to be awaited later on purpose.
#[allow(clippy::async_yields_async)]
fn block_on_from_another_thread_does_not_run_this_threads_local_tasks() {
    let rt = current_thread_rt();
    let owner = thread::current().id();
    let polls = Threads::default();
    let gate = Gate::new();
    let task = rt.block_on(async {
        let task = runtime::spawn_local(polled_until(gate.clone(), polls.clone()));
        runtime::yield_now().await;
        task
    });
    assert_eq!(polls.get(), [owner]);
    thread::scope(|s| {
        s.spawn(|| {
            rt.block_on(async {
                // Wakes the local task while this thread drives the runtime.
                gate.open();
                for _ in 0..16 {
                    runtime::yield_now().await;
                }
                runtime::spawn(async {}).await.unwrap();
                // This thread has local tasks of its own, which run here.
                let rc = Rc::new(5);
                assert_eq!(runtime::spawn_local(async move { *rc }).await.unwrap(), 5);
            });
        });
    });
    assert_eq!(
        polls.get(),
        [owner],
        "polled by the other thread's block_on"
    );
    // Back on its thread, the task runs.
    assert_eq!(rt.block_on(task).unwrap(), "done");
    let polls = polls.get();
    assert!(polls.len() >= 2 && polls.iter().all(|&t| t == owner));
}

#[test]
fn runtime_dropped_on_another_thread_leaks_local_futures() {
    let rt = current_thread_rt();
    let dropped = Threads::default();
    let send_drops = DropCounter::new();
    let (local, sent) = rt.block_on(async {
        let guard = RecordDrop(dropped.clone());
        let local = runtime::spawn_local(async move {
            let _guard = guard;
            let _not_send = Rc::new(());
            pending::<()>().await
        });
        let send_guard = send_drops.guard();
        let sent = runtime::spawn(async move {
            let _guard = send_guard;
            pending::<()>().await
        });
        runtime::yield_now().await;
        (local, sent)
    });
    thread::spawn(move || drop(rt)).join().unwrap();
    // The `Send` task's future was dropped; the local one was not dropped anywhere.
    assert_eq!(send_drops.count(), 1);
    assert!(
        dropped.get().is_empty(),
        "a local future was dropped off its thread"
    );
    // Both handles see the cancellation: nobody waits for ever.
    assert!(block_on_outside(sent).unwrap_err().is_cancelled());
    assert!(block_on_outside(local).unwrap_err().is_cancelled());
}

#[test]
// The `block_on` hands out a task's handle, to be awaited later on purpose.
#[allow(clippy::async_yields_async)]
fn runtime_dropped_on_the_owner_drops_local_futures_there() {
    let rt = current_thread_rt();
    let owner = thread::current().id();
    let dropped = Threads::default();
    let local = rt.block_on(async {
        let guard = RecordDrop(dropped.clone());
        let local = runtime::spawn_local(async move {
            let _guard = guard;
            let _not_send = Rc::new(());
            pending::<()>().await
        });
        runtime::yield_now().await;
        local
    });
    drop(rt);
    assert_eq!(dropped.get(), [owner]);
    assert!(block_on_outside(local).unwrap_err().is_cancelled());
}

#[test]
fn local_runtime_shutdown_drops_local_futures() {
    let rt = local_rt();
    let owner = thread::current().id();
    let dropped = Threads::default();
    let guard = RecordDrop(dropped.clone());
    let task = rt.spawn_local(async move {
        let _guard = guard;
        pending::<()>().await
    });
    rt.block_on(runtime::yield_now());
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    assert_eq!(dropped.get(), [owner]);
    assert!(block_on_outside(task).unwrap_err().is_cancelled());
}

#[test]
fn local_tasks_woken_from_threads_all_finish() {
    // Many cross-thread wakes racing the owner's parking: none may be lost.
    let rt = local_rt();
    rt.block_on(async {
        let mut gates = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let gate = Gate::new();
            gates.push(gate.clone());
            tasks.push(runtime::spawn_local(polled_until(gate, Threads::default())));
        }
        runtime::yield_now().await;
        let opener = thread::spawn(move || {
            for gate in gates {
                gate.open();
            }
        });
        for task in tasks {
            task.await.unwrap();
        }
        opener.join().unwrap();
    });
}

// ===== where spawn_local can't work: the messages =====

#[test]
fn outside_a_runtime_panics_naming_local_runtime() {
    let message = panic_text(|| drop(runtime::spawn_local(async {})));
    assert!(message.contains("outside a runtime"), "{message}");
    assert!(message.contains("LocalRuntime"), "{message}");
}

#[test]
fn on_a_multi_thread_worker_panics_naming_local_runtime() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = rt
        .block_on(rt.spawn(async { drop(runtime::spawn_local(async {})) }))
        .unwrap_err();
    assert!(err.is_panic());
    let message = panic_message(&*err.into_panic());
    assert!(message.contains("multi-thread runtime"), "{message}");
    assert!(message.contains("build_local"), "{message}");
    // And in the multi-thread flavor's `block_on`.
    let message = panic_text(|| rt.block_on(async { drop(runtime::spawn_local(async {})) }));
    assert!(message.contains("multi-thread runtime"), "{message}");
}

#[test]
fn from_spawn_blocking_panics_naming_the_blocking_pool() {
    let rt = local_rt();
    let err = rt
        .block_on(rt.spawn_blocking(|| drop(runtime::spawn_local(async {}))))
        .unwrap_err();
    assert!(err.is_panic());
    let message = panic_message(&*err.into_panic());
    assert!(message.contains("spawn_blocking"), "{message}");
}

#[test]
fn current_thread_runtime_outside_block_on_panics() {
    let rt = current_thread_rt();
    let _guard = rt.enter();
    let message = panic_text(|| drop(runtime::spawn_local(async {})));
    assert!(message.contains("not driving"), "{message}");
    assert!(message.contains("LocalRuntime"), "{message}");
}

#[test]
fn while_another_thread_drives_the_runtime_panics() {
    // A second `block_on` of a current-thread runtime only polls its own future: a local
    // task spawned there could not run while that call waits for it.
    let rt = current_thread_rt();
    let release = Gate::new();
    let started = Gate::new();
    thread::scope(|s| {
        s.spawn(|| {
            rt.block_on(async {
                started.open();
                release.wait().await;
            })
        });
        block_on_outside(started.wait());
        let message = panic_text(|| rt.block_on(async { drop(runtime::spawn_local(async {})) }));
        release.open();
        assert!(message.contains("not driving"), "{message}");
    });
}

#[test]
fn build_local_on_a_multi_thread_builder_panics() {
    let message = panic_text(|| drop(Builder::new_multi_thread().build_local()));
    assert!(message.contains("new_current_thread"), "{message}");
}

#[test]
fn local_runtime_enter_allows_spawn_local() {
    let rt = local_rt();
    let task = {
        let _guard = rt.enter();
        runtime::spawn_local(async { Rc::new(4) })
    };
    assert_eq!(*rt.block_on(task).unwrap(), 4);
}

#[runtime::test(flavor = "local")]
async fn eventually_helper_runs_local_tasks() {
    // The support helpers yield: local tasks progress meanwhile.
    let flag = Rc::new(Cell::new(false));
    runtime::spawn_local({
        let flag = flag.clone();
        async move { flag.set(true) }
    });
    eventually("the local task ran", || flag.get()).await;
}
