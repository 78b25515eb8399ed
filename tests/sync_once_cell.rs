//! `OnceCell`: exactly one initialiser runs however many tasks and threads race; an error,
//! a panic or a cancelled initialiser leaves the cell empty and the next waiter initialises;
//! `set` gives the value back; the blocking forms on OS threads; on both flavors.

#[macro_use]
mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use runtime::sync::{OnceCell, SetError};
use support::{guard, panic_message, poll_once, Gate};

rt_test!(init_races_from_tasks_and_threads_run_one_init, |rt| {
    let cell = Arc::new(OnceCell::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let init = |runs: Arc<AtomicUsize>, who: usize| async move {
        runs.fetch_add(1, Ordering::SeqCst);
        // Stay in the initialiser a while, so the others pile up behind it.
        for _ in 0..10 {
            runtime::yield_now().await;
        }
        who
    };
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (cell, runs) = (cell.clone(), runs.clone());
            rt.spawn(async move { *cell.get_or_init(|| init(runs, i)).await })
        })
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (cell, runs) = (cell.clone(), runs.clone());
            thread::spawn(move || {
                *cell.get_or_init_blocking(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    100 + i
                })
            })
        })
        .collect();
    let mut seen: Vec<usize> = tasks
        .into_iter()
        .map(|t| rt.block_on(guard("a racing task", t)).unwrap())
        .collect();
    seen.extend(threads.into_iter().map(|t| t.join().unwrap()));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "more than one init ran");
    let value = *cell.get().expect("initialised");
    assert!(seen.iter().all(|&v| v == value), "{seen:?} vs {value}");
});

rt_test!(
    try_init_error_leaves_the_cell_empty_for_the_next_caller,
    |rt| {
        rt.block_on(async {
            let cell = OnceCell::new();
            let err = cell
                .get_or_try_init(|| async { Err::<u32, _>("down") })
                .await;
            assert_eq!(err, Err("down"));
            assert!(!cell.initialized());
            assert_eq!(cell.get(), None);
            let ok = cell.get_or_try_init(|| async { Ok::<_, &str>(5) }).await;
            assert_eq!(ok, Ok(&5));
            let again = cell
                .get_or_try_init(|| async { Err::<u32, _>("not run") })
                .await;
            assert_eq!(again, Ok(&5), "an initialised cell runs no init");
        });
    }
);

rt_test!(a_waiter_behind_a_failing_initialiser_takes_its_turn, |rt| {
    let cell = Arc::new(OnceCell::new());
    let (fail, started) = (Gate::new(), Gate::new());
    let failing = rt.spawn({
        let (cell, fail, started) = (cell.clone(), fail.clone(), started.clone());
        async move {
            cell.get_or_try_init(|| async move {
                started.open();
                fail.wait().await;
                Err::<u32, _>("refused")
            })
            .await
            .copied()
        }
    });
    rt.block_on(guard("the first initialiser runs", started.wait()));
    assert_eq!(cell.set(0), Err(SetError::Initializing(0)));
    rt.block_on(async {
        let mut waiter = pin!(cell.get_or_init(|| async { 2 }));
        assert!(
            poll_once(waiter.as_mut()).await.is_pending(),
            "queued behind it"
        );
        fail.open();
        assert_eq!(*guard("the queued waiter", waiter).await, 2);
    });
    assert_eq!(rt.block_on(failing).unwrap(), Err("refused"));
});

rt_test!(
    a_panic_in_init_leaves_the_cell_empty_and_the_waiter_proceeds,
    |rt| {
        let cell = Arc::new(OnceCell::new());
        let (go, started) = (Gate::new(), Gate::new());
        let panicking = rt.spawn({
            let (cell, go, started) = (cell.clone(), go.clone(), started.clone());
            async move {
                cell.get_or_init(|| async move {
                    started.open();
                    go.wait().await;
                    panic!("init failed");
                })
                .await;
            }
        });
        rt.block_on(guard("the panicking initialiser runs", started.wait()));
        rt.block_on(async {
            let mut waiter = pin!(cell.get_or_init(|| async { 3 }));
            assert!(
                poll_once(waiter.as_mut()).await.is_pending(),
                "queued behind it"
            );
            go.open();
            assert_eq!(*guard("the queued waiter", waiter).await, 3);
        });
        assert!(rt.block_on(panicking).unwrap_err().is_panic());

        // On a thread too: the panic reaches the caller, and the cell stays usable.
        let cell = OnceCell::<u8>::new();
        let err = catch_unwind(AssertUnwindSafe(|| {
            cell.get_or_init_blocking(|| panic!("thread init failed"))
        }))
        .unwrap_err();
        assert_eq!(panic_message(&*err), "thread init failed");
        assert!(!cell.initialized());
        assert_eq!(cell.get_or_init_blocking(|| 4), &4);
    }
);

rt_test!(a_cancelled_initialiser_hands_the_turn_on, |rt| {
    rt.block_on(async {
        let cell = OnceCell::new();
        let timed_out = runtime::time::timeout(
            Duration::from_millis(1),
            cell.get_or_init(std::future::pending::<u32>),
        )
        .await;
        assert!(timed_out.is_err());
        assert!(!cell.initialized());
        assert_eq!(
            *guard("the next initialiser", cell.get_or_init(|| async { 6 })).await,
            6
        );
    });

    // A waiter queued behind an initialiser that is dropped mid-way proceeds.
    rt.block_on(async {
        let cell = OnceCell::new();
        let mut running = Box::pin(cell.get_or_init(std::future::pending::<u32>));
        let mut waiting = pin!(cell.get_or_init(|| async { 7 }));
        assert!(poll_once(running.as_mut()).await.is_pending());
        assert!(poll_once(waiting.as_mut()).await.is_pending());
        drop(running);
        assert_eq!(*guard("the queued waiter", waiting).await, 7);
    });
});

rt_test!(an_aborted_initialiser_task_hands_the_turn_on, |rt| {
    let cell = Arc::new(OnceCell::new());
    let started = Gate::new();
    let stuck = rt.spawn({
        let (cell, started) = (cell.clone(), started.clone());
        async move {
            *cell
                .get_or_init(|| async move {
                    started.open();
                    std::future::pending::<u32>().await
                })
                .await
        }
    });
    rt.block_on(guard("the initialiser runs", started.wait()));
    // A thread waits behind it.
    let blocked = thread::spawn({
        let cell = cell.clone();
        move || *cell.get_or_init_blocking(|| 8)
    });
    stuck.abort();
    assert!(rt.block_on(stuck).unwrap_err().is_cancelled());
    let got = support::run_bounded("the waiting thread", support::HANG_GUARD, move || {
        blocked.join().unwrap()
    });
    assert_eq!(got, 8);
});

rt_test!(a_thread_waits_for_a_task_initialiser, |rt| {
    let cell = Arc::new(OnceCell::new());
    let (release, started) = (Gate::new(), Gate::new());
    let init = rt.spawn({
        let (cell, release, started) = (cell.clone(), release.clone(), started.clone());
        async move {
            *cell
                .get_or_init(|| async move {
                    started.open();
                    release.wait().await;
                    "from the task"
                })
                .await
        }
    });
    rt.block_on(guard("the task initialises", started.wait()));
    assert_eq!(cell.set("x"), Err(SetError::Initializing("x")));
    let waiting = thread::spawn({
        let cell = cell.clone();
        move || *cell.get_or_init_blocking(|| "from the thread")
    });
    release.open();
    assert_eq!(rt.block_on(init).unwrap(), "from the task");
    assert_eq!(waiting.join().unwrap(), "from the task");
});

#[test]
fn set_gives_the_value_back() {
    let cell = OnceCell::new();
    assert_eq!(cell.set(1), Ok(()));
    let err = cell.set(2).unwrap_err();
    assert!(err.is_already_initialized());
    assert_eq!(err.to_string(), "the cell already holds a value");
    assert_eq!(err.into_inner(), 2);
    assert_eq!(cell.get(), Some(&1));
}

#[test]
fn get_or_init_blocking_on_a_worker_panics_naming_the_async_form() {
    let rt = support::Flavor::MultiThread.build();
    let msg = rt
        .block_on(rt.spawn(async {
            let cell = OnceCell::new();
            let err =
                catch_unwind(AssertUnwindSafe(|| *cell.get_or_init_blocking(|| 1))).unwrap_err();
            panic_message(&*err)
        }))
        .unwrap();
    assert!(msg.contains("OnceCell::get_or_init_blocking"), "{msg}");
    assert!(msg.contains("get_or_init(init).await"), "{msg}");
}
