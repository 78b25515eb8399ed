//! `JoinSet`: every result comes out exactly once, aborts and drops cancel, and waiting
//! on the set is woken by tasks that finish later.

#[macro_use]
mod support;

use std::future::pending;
use std::pin::pin;
use std::thread;

use futures::poll;
use runtime::task::JoinSet;
use support::{block_on_outside, eventually, wait_no_alive_tasks, DropCounter, Gate};

rt_test!(join_next_returns_each_result_exactly_once, |rt| {
    const N: usize = 1000;
    let mut seen = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..N {
            set.spawn(async move {
                if i % 3 == 0 {
                    runtime::yield_now().await;
                }
                i
            });
        }
        assert_eq!(set.len(), N);
        let mut seen = Vec::with_capacity(N);
        while let Some(result) = set.join_next().await {
            seen.push(result.expect("task failed"));
        }
        assert!(set.is_empty());
        seen
    });
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    wait_no_alive_tasks(&rt);
});

rt_test!(join_next_on_an_empty_set_is_none, |rt| {
    rt.block_on(async {
        let mut set: JoinSet<u32> = JoinSet::new();
        assert!(set.join_next().await.is_none());
        // Still None after the set was used and drained.
        set.spawn(async { 1 });
        assert_eq!(
            set.join_next()
                .await
                .expect("one task in the set")
                .expect("task failed"),
            1
        );
        assert!(set.join_next().await.is_none());
    });
});

rt_test!(len_and_is_empty_follow_spawns_and_joins, |rt| {
    rt.block_on(async {
        let mut set = JoinSet::new();
        assert_eq!(set.len(), 0);
        assert!(set.is_empty());
        for i in 0..3 {
            set.spawn(async move { i });
        }
        assert_eq!(set.len(), 3);
        assert!(!set.is_empty());
        set.join_next()
            .await
            .expect("three tasks in the set")
            .expect("task failed");
        assert_eq!(set.len(), 2);
        set.join_next()
            .await
            .expect("two tasks in the set")
            .expect("task failed");
        set.join_next()
            .await
            .expect("one task in the set")
            .expect("task failed");
        assert_eq!(set.len(), 0);
        assert!(set.is_empty());
    });
});

rt_test!(join_all_returns_every_output, |rt| {
    let mut outputs = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..100u32 {
            set.spawn(async move {
                runtime::yield_now().await;
                i * 2
            });
        }
        set.join_all().await
    });
    outputs.sort_unstable();
    assert_eq!(outputs, (0..100u32).map(|i| i * 2).collect::<Vec<_>>());
});

rt_test!(abort_all_cancels_what_has_not_finished, |rt| {
    const N: usize = 100;
    let drops = DropCounter::new();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..N {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                // Even tasks finish at once; odd ones never do.
                if i % 2 == 1 {
                    pending::<()>().await;
                }
                i
            });
        }
        runtime::yield_now().await;
        set.abort_all();
        let mut results = 0;
        while let Some(result) = set.join_next().await {
            results += 1;
            match result {
                Ok(i) => assert_eq!(i % 2, 0, "task {i} never finishes, yet it returned"),
                Err(err) => assert!(err.is_cancelled(), "{err:?}"),
            }
        }
        assert_eq!(results, N, "abort_all must not lose any task's result");
    });
    assert_eq!(drops.count(), N);
    wait_no_alive_tasks(&rt);
});

rt_test!(dropping_a_join_set_aborts_its_tasks, |rt| {
    const N: usize = 20;
    let drops = DropCounter::new();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let started = Gate::new();
        for i in 0..N {
            let (guard, started) = (drops.guard(), started.clone());
            set.spawn(async move {
                let _guard = guard;
                if i == N - 1 {
                    started.open();
                }
                pending::<()>().await
            });
        }
        started.wait().await;
        drop(set);
        eventually("every task of the dropped set is dropped", || {
            drops.count() == N
        })
        .await;
    });
    wait_no_alive_tasks(&rt);
});

rt_test!(shutdown_waits_until_every_task_is_gone, |rt| {
    const N: usize = 20;
    let drops = DropCounter::new();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..N {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
        }
        set.spawn(async {});
        runtime::yield_now().await;
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(
            drops.count(),
            N,
            "shutdown returns once every task's future was dropped"
        );
        assert!(set.join_next().await.is_none());
    });
});

rt_test!(spawn_blocking_into_a_join_set, |rt| {
    let mut outputs = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..16u64 {
            set.spawn_blocking(move || i * i);
        }
        set.spawn_blocking(|| -> u64 { panic!("blocking job in a set") });
        let mut outputs = Vec::new();
        let mut panics = 0;
        while let Some(result) = set.join_next().await {
            match result {
                Ok(v) => outputs.push(v),
                Err(err) => {
                    assert!(err.is_panic(), "{err:?}");
                    panics += 1;
                }
            }
        }
        assert_eq!(panics, 1);
        outputs
    });
    outputs.sort_unstable();
    assert_eq!(outputs, (0..16u64).map(|i| i * i).collect::<Vec<_>>());
});

rt_test!(spawn_on_a_handle, |rt| {
    let handle = rt.handle().clone();
    let outputs = rt.block_on(async move {
        let mut set = JoinSet::new();
        set.spawn_on(async { 1 }, &handle);
        set.spawn(async { 2 });
        let mut outputs = set.join_all().await;
        outputs.sort_unstable();
        outputs
    });
    assert_eq!(outputs, [1, 2]);
});

rt_test!(join_next_wakes_when_a_task_finishes_later, |rt| {
    rt.block_on(async {
        let gate = Gate::new();
        let mut set = JoinSet::new();
        let wait = gate.wait();
        set.spawn(async move {
            wait.await;
            "late"
        });
        let mut next = pin!(set.join_next());
        assert!(
            poll!(next.as_mut()).is_pending(),
            "the task waits on a closed gate"
        );
        // Opened from another thread, so only a real wake-up can finish `next`.
        let opener = gate.clone();
        thread::spawn(move || opener.open())
            .join()
            .expect("opener thread panicked");
        let result = next.await.expect("one task in the set");
        assert_eq!(result.expect("task failed"), "late");
    });
});

rt_test!(the_abort_handle_from_spawn_cancels_only_its_task, |rt| {
    rt.block_on(async {
        let mut set = JoinSet::new();
        let gate = Gate::new();
        let victim = set.spawn(pending::<u32>());
        for i in 0..3u32 {
            let wait = gate.wait();
            set.spawn(async move {
                wait.await;
                i
            });
        }
        victim.abort();
        gate.open();
        let (mut outputs, mut cancelled) = (Vec::new(), 0);
        while let Some(result) = set.join_next().await {
            match result {
                Ok(i) => outputs.push(i),
                Err(err) => {
                    assert!(err.is_cancelled(), "{err:?}");
                    assert!(err.id() == victim.id());
                    cancelled += 1;
                }
            }
        }
        outputs.sort_unstable();
        assert_eq!((outputs, cancelled), (vec![0, 1, 2], 1));
    });
});

rt_test!(a_panicking_task_comes_out_of_join_next_as_a_panic, |rt| {
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("task failed on purpose") });
        set.spawn(async { 1 });
        let (mut ok, mut panics) = (0, 0);
        while let Some(result) = set.join_next().await {
            match result {
                Ok(v) => ok += v,
                Err(err) => {
                    assert!(err.is_panic(), "{err:?}");
                    panics += 1;
                }
            }
        }
        assert_eq!((ok, panics), (1, 1));
    });
});

rt_test!(
    join_next_after_the_runtime_is_gone_reports_cancellations,
    |rt| {
        let mut set = JoinSet::new();
        {
            let _enter = rt.enter();
            for _ in 0..3 {
                set.spawn(pending::<()>());
            }
        }
        drop(rt);
        let mut cancelled = 0;
        while let Some(result) = block_on_outside(set.join_next()) {
            assert!(result.expect_err("never finished").is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 3);
    }
);

rt_test!(
    join_next_over_many_finished_tasks_spends_the_coop_budget,
    |rt| {
        // tokio's `join_set_coop`: draining a set whose members all finished must still yield
        // now and then, or it would starve the other tasks of its worker.
        const N: usize = 1000;
        rt.block_on(async {
            let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut set = JoinSet::new();
            for _ in 0..N {
                let done = done.clone();
                set.spawn(async move {
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
            eventually("every member ran", || {
                done.load(std::sync::atomic::Ordering::SeqCst) == N
            })
            .await;
            let (mut joined, mut yielded) = (0, 0);
            loop {
                match poll!(pin!(set.join_next())) {
                    std::task::Poll::Ready(Some(result)) => {
                        result.expect("task failed");
                        joined += 1;
                    }
                    std::task::Poll::Ready(None) => break,
                    std::task::Poll::Pending => {
                        yielded += 1;
                        runtime::yield_now().await;
                    }
                }
            }
            assert_eq!(joined, N);
            assert!(
                yielded >= 1,
                "{N} ready results were taken without ever yielding"
            );
        });
    }
);

rt_test!(
    a_task_spawned_into_a_set_after_shutdown_comes_back_cancelled,
    |rt| {
        // tokio's `spawn_then_shutdown`-style cases: the set stays usable after its runtime is
        // gone, and what is spawned then is cancelled, not lost or run.
        let handle = rt.handle().clone();
        drop(rt);
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut set = JoinSet::new();
        {
            let _enter = handle.enter();
            let ran = ran.clone();
            set.spawn(async move { ran.store(true, std::sync::atomic::Ordering::SeqCst) });
        }
        assert_eq!(set.len(), 1);
        let result = block_on_outside(set.join_next()).expect("one task in the set");
        assert!(result.expect_err("never ran").is_cancelled());
        assert!(block_on_outside(set.join_next()).is_none());
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
);
