//! `task::Pool`: never more than `size` of its tasks run at once, a spawn waits for a slot
//! and gets the next one freed, every way a task ends frees its slot, `join` waits for all
//! (those spawned while it waits too), `abort_all` ends them, a dropped spawn takes no slot,
//! and misuse panics with a message.

#[macro_use]
mod support;

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use futures::poll;
use runtime::task::Pool;
use support::{DropCounter, Gate};

/// A task body that counts itself in `running` and records the highest count in `peak`.
async fn counted(running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>, turns: usize) {
    let now = running.fetch_add(1, SeqCst) + 1;
    peak.fetch_max(now, SeqCst);
    for _ in 0..turns {
        runtime::yield_now().await;
    }
    running.fetch_sub(1, SeqCst);
}

rt_test!(never_more_than_size_tasks_run_at_once, |rt| {
    rt.block_on(async {
        let pool = Pool::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..60 {
            let body = counted(running.clone(), peak.clone(), i % 5);
            handles.push(pool.spawn(body).await);
            assert!(pool.len() <= 3, "{} tasks in a pool of 3", pool.len());
        }
        pool.join().await;
        for handle in handles {
            handle.await.expect("task failed");
        }
        let peak = peak.load(SeqCst);
        assert!((1..=3).contains(&peak), "{peak} ran at once in a pool of 3");
        assert_eq!(running.load(SeqCst), 0);
    });
});

rt_test!(spawn_waits_while_full_and_proceeds_when_a_task_ends, |rt| {
    rt.block_on(async {
        let pool = Pool::new(2);
        let gates = [Gate::new(), Gate::new()];
        let mut busy = Vec::new();
        for gate in &gates {
            let gate = gate.clone();
            busy.push(pool.spawn(async move { gate.wait().await }).await);
        }
        assert!(pool.is_full());
        assert_eq!(pool.free_count(), 0);

        let third_ran = Arc::new(AtomicBool::new(false));
        let mut third = Box::pin(pool.spawn({
            let third_ran = third_ran.clone();
            async move { third_ran.store(true, SeqCst) }
        }));
        assert!(
            poll!(third.as_mut()).is_pending(),
            "two tasks hold both slots"
        );
        runtime::yield_now().await;
        assert!(poll!(third.as_mut()).is_pending(), "still full");
        assert!(!third_ran.load(SeqCst));

        gates[0].open();
        busy.remove(0).await.expect("task failed");
        let third = third.await; // the freed slot goes to the waiting spawn
        third.await.expect("task failed");
        assert!(third_ran.load(SeqCst));

        gates[1].open();
        pool.join().await;
        assert_eq!(pool.free_count(), 2);
    });
});

rt_test!(try_spawn_hands_the_future_back_when_full, |rt| {
    rt.block_on(async {
        let pool = Pool::new(1);
        let busy = pool
            .try_spawn(pending::<()>())
            .expect("an empty pool has a slot");
        let drops = DropCounter::new();
        let guard = drops.guard();
        let refused = pool
            .try_spawn(async move {
                let _guard = guard;
                7
            })
            .unwrap_err();
        assert_eq!(refused.to_string(), "every slot of the pool is taken");
        assert_eq!(format!("{refused:?}"), "TrySpawnError(..)");
        let future = refused.into_inner();
        assert_eq!(drops.count(), 0, "the future came back, not dropped");
        assert_eq!(pool.len(), 1);

        busy.abort();
        pool.join().await;
        let handle = pool.try_spawn(future).expect("the slot is free again");
        assert_eq!(handle.await.expect("task failed"), 7);
        assert_eq!(drops.count(), 1);
    });
});

rt_test!(a_panicking_task_frees_its_slot, |rt| {
    rt.block_on(async {
        let pool = Pool::new(1);
        let handle = pool.spawn(async { panic!("boom") }).await;
        assert!(handle.await.unwrap_err().is_panic());
        // Freed before the handle resolved: no wait needed.
        assert_eq!(pool.free_count(), 1);
        assert!(pool.is_empty());
        let next = pool.try_spawn(async { "next" }).expect("the slot is free");
        assert_eq!(next.await.expect("task failed"), "next");
    });
});

rt_test!(an_aborted_task_frees_its_slot, |rt| {
    rt.block_on(async {
        let pool = Pool::new(1);
        let drops = DropCounter::new();
        let guard = drops.guard();
        let handle = pool
            .spawn(async move {
                let _guard = guard;
                pending::<()>().await
            })
            .await;
        let mut waiting = Box::pin(pool.spawn(async { "after" }));
        assert!(poll!(waiting.as_mut()).is_pending());
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 1);
        let after = waiting.await;
        assert_eq!(after.await.expect("task failed"), "after");
        pool.join().await;
        assert_eq!(pool.free_count(), 1);
    });
});

rt_test!(
    a_completed_task_frees_its_slot_before_its_handle_resolves,
    |rt| {
        rt.block_on(async {
            let pool = Pool::new(2);
            for i in 0..20 {
                let handle = pool.spawn(async move { i }).await;
                assert_eq!(handle.await.expect("task failed"), i);
                assert_eq!(pool.free_count(), 2, "after task {i}");
            }
        });
    }
);

rt_test!(join_waits_for_every_task, |rt| {
    rt.block_on(async {
        let pool = Pool::new(4);
        let gate = Gate::new();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (gate, done) = (gate.clone(), done.clone());
            drop(
                pool.spawn(async move {
                    gate.wait().await;
                    runtime::yield_now().await;
                    done.fetch_add(1, SeqCst);
                })
                .await,
            );
        }
        let mut join = Box::pin(pool.join());
        assert!(poll!(join.as_mut()).is_pending());
        runtime::yield_now().await;
        assert!(
            poll!(join.as_mut()).is_pending(),
            "the tasks wait for the gate"
        );
        gate.open();
        join.await;
        assert_eq!(done.load(SeqCst), 4);
        assert!(pool.is_empty());
        assert_eq!(pool.free_count(), 4);
    });
});

rt_test!(join_on_an_idle_pool_returns_at_once, |rt| {
    rt.block_on(async {
        let pool = Pool::new(2);
        assert!(poll!(Box::pin(pool.join())).is_ready(), "nothing spawned");
        pool.spawn(async {}).await.await.expect("task failed");
        assert!(poll!(Box::pin(pool.join())).is_ready(), "all ended");
    });
});

rt_test!(join_waits_for_tasks_spawned_while_it_waits, |rt| {
    rt.block_on(async {
        let pool = Pool::new(2);
        let gate = Gate::new();
        let child_done = Arc::new(AtomicBool::new(false));
        let parent = {
            let (pool2, gate, child_done) = (pool.clone(), gate.clone(), child_done.clone());
            pool.spawn(async move {
                gate.wait().await;
                // Spawned into the same pool while `join` below is waiting.
                drop(
                    pool2
                        .spawn(async move {
                            for _ in 0..3 {
                                runtime::yield_now().await;
                            }
                            child_done.store(true, SeqCst);
                        })
                        .await,
                );
            })
            .await
        };
        let mut join = Box::pin(pool.join());
        assert!(poll!(join.as_mut()).is_pending());
        gate.open();
        join.await;
        assert!(
            child_done.load(SeqCst),
            "join returned before the child ended"
        );
        parent.await.expect("task failed");
    });
});

rt_test!(abort_all_ends_every_running_task, |rt| {
    rt.block_on(async {
        let pool = Pool::new(3);
        let drops = DropCounter::new();
        let mut handles = Vec::new();
        for _ in 0..3 {
            let guard = drops.guard();
            handles.push(
                pool.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                })
                .await,
            );
        }
        runtime::yield_now().await; // let them start
        pool.abort_all();
        for handle in handles {
            assert!(handle.await.unwrap_err().is_cancelled());
        }
        pool.join().await;
        assert_eq!(drops.count(), 3);
        assert_eq!(pool.free_count(), 3);

        // The pool stays usable.
        let after = pool.spawn(async { 1 }).await;
        pool.abort_all(); // may or may not catch it: either way it ends
        let _ = after.await;
        pool.join().await;
        assert_eq!(pool.free_count(), 3);
        let again = pool.spawn(async { 2 }).await;
        assert_eq!(again.await.expect("task failed"), 2);
    });
});

rt_test!(
    a_dropped_spawn_future_drops_its_future_and_takes_no_slot,
    |rt| {
        rt.block_on(async {
            let pool = Pool::new(1);
            let busy = pool.spawn(pending::<()>()).await;
            let drops = DropCounter::new();
            let guard = drops.guard();
            let mut dropped = Box::pin(pool.spawn(async move {
                let _guard = guard;
                "never"
            }));
            assert!(poll!(dropped.as_mut()).is_pending());
            let mut next = Box::pin(pool.spawn(async { "next" }));
            assert!(poll!(next.as_mut()).is_pending());

            drop(dropped);
            assert_eq!(drops.count(), 1, "the future is dropped unspawned");
            busy.abort();
            // The freed slot goes past the dropped spawn to the next one in line.
            let next = next.await;
            assert_eq!(next.await.expect("task failed"), "next");
            pool.join().await;
            assert_eq!(pool.free_count(), 1);
            assert!(pool.is_empty());
        });
    }
);

rt_test!(the_spawn_location_is_the_callers, |rt| {
    rt.block_on(async {
        let pool = Pool::new(2);
        #[rustfmt::skip]
        let (handle, line) = (pool.spawn(async {}).await, line!());
        let debug = format!("{handle:?}");
        assert!(
            debug.contains(&format!("{}:{line}:", file!())),
            "{debug} should name {}:{line}",
            file!()
        );
        #[rustfmt::skip]
        let (handle2, line2) = (pool.try_spawn(async {}).unwrap(), line!());
        let debug = format!("{handle2:?}");
        assert!(debug.contains(&format!("{}:{line2}:", file!())), "{debug}");
        handle.await.expect("task failed");
        handle2.await.expect("task failed");
    });
});

#[test]
#[should_panic(expected = "Pool::new(0): a pool with no slot could never run a task")]
fn a_pool_of_zero_panics() {
    let _ = Pool::new(0);
}

#[test]
#[should_panic(expected = "there is no runtime here")]
fn spawn_outside_a_runtime_panics() {
    let pool = Pool::new(1);
    let _never_polled = pool.spawn(async {});
}

#[test]
#[should_panic(expected = "there is no runtime here")]
fn try_spawn_outside_a_runtime_panics() {
    let pool = Pool::new(1);
    let _ = pool.try_spawn(async {});
}

#[test]
fn a_pool_made_outside_a_runtime_works_inside_one() {
    let pool = Pool::new(2);
    assert_eq!(pool.size(), 2);
    let rt = support::Flavor::CurrentThread.build();
    let out = rt.block_on(async { pool.spawn(async { 3 }).await.await });
    assert_eq!(out.expect("task failed"), 3);
    assert!(format!("{pool:?}").contains("size: 2"));
}
