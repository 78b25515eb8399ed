//! Deadlock detection (`Builder::detect_deadlocks`): cycles in the wait-for graph over
//! `Mutex`, `RwLock`, `ReentrantMutex` and `Semaphore` are reported once, through
//! `on_deadlock`, with each party and the places where it waits and took what it holds; and
//! nothing else is reported.
//!
//! Tests wait for reports on a channel. To show that something was *not* reported, a test
//! ends the waits it set up (so any report they made has been sent) and then finds the
//! channel empty, or makes a real deadlock afterwards and finds its report first.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::Arc;

use runtime::diag::{DeadlockReport, Kind};
use runtime::sync::{channel, oneshot, Barrier, Mutex, ReentrantMutex, RwLock, Semaphore};
use runtime::task::JoinHandle;
use runtime::time::{timeout, Duration};
use runtime::{Builder, Runtime};

/// A two-worker runtime with detection on, whose reports arrive on the receiver.
fn detecting() -> (Runtime, mpsc::Receiver<DeadlockReport>) {
    let (tx, rx) = mpsc::channel();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .detect_deadlocks(true)
        .on_deadlock(move |report| {
            let _ = tx.send(report.clone());
        })
        .build()
        .unwrap();
    (rt, rx)
}

fn task_ids(report: &DeadlockReport) -> BTreeSet<u64> {
    report.parties().map(|p| p.task_id().unwrap()).collect()
}

/// Aborts the tasks and waits until their futures are gone (and with them their guards and
/// their places in the wait-for graph). A task may finish instead: the first one cancelled
/// frees its lock, and the other can take it before its own abort arrives.
fn cancel(rt: &Runtime, tasks: Vec<JoinHandle<()>>) {
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        if let Err(e) = rt.block_on(task) {
            assert!(e.is_cancelled());
        }
    }
}

/// Two tasks hold one lock each and wait for the other's: the cycle's second wait closes
/// it. `first` and `second` are the locks of the first task, taken in that order.
fn two_task_cycle(
    rt: &Runtime,
    first: Arc<Mutex<()>>,
    second: Arc<Mutex<()>>,
) -> (Vec<JoinHandle<()>>, mpsc::Receiver<(u32, u32)>) {
    let table = Arc::new(Barrier::new(2));
    let (lines, lines_rx) = mpsc::channel();
    let a = rt.spawn({
        let (first, second, table, lines) =
            (first.clone(), second.clone(), table.clone(), lines.clone());
        async move {
            let (_first, took) = (first.lock().await, line!());
            table.wait().await.unwrap();
            lines.send((took, line!() + 1)).unwrap();
            let _second = second.lock().await;
        }
    });
    let b = rt.spawn(async move {
        let (_second, took) = (second.lock().await, line!());
        table.wait().await.unwrap();
        lines.send((took, line!() + 1)).unwrap();
        let _first = first.lock().await;
    });
    (vec![a, b], lines_rx)
}

#[test]
fn a_two_lock_cycle_is_reported_once_with_both_tasks_and_four_locations() {
    let (rt, reports) = detecting();
    let (x, x_line) = (Arc::new(Mutex::new(())), line!());
    let (y, y_line) = (Arc::new(Mutex::new(())), line!());
    let (tasks, lines) = two_task_cycle(&rt, x, y);
    let report = reports.recv().unwrap();
    let (a, b) = (tasks[0].id().as_u64(), tasks[1].id().as_u64());
    assert_eq!(task_ids(&report), BTreeSet::from([a, b]));
    assert_eq!(report.links().len(), 2);
    // Which task sent its lines first is a race: match them by task through the report.
    let sent: Vec<(u32, u32)> = lines.iter().take(2).collect();
    let (a_lines, b_lines) = if sent[0].0 < sent[1].0 {
        (sent[0], sent[1])
    } else {
        (sent[1], sent[0])
    };
    for link in report.links() {
        let waiter = link.waiter().task_id().unwrap();
        let holder = link.holder().task_id().unwrap();
        let (mine, theirs, resource_line) = if waiter == a {
            (a_lines, b_lines, y_line)
        } else {
            (b_lines, a_lines, x_line)
        };
        assert_eq!(holder, if waiter == a { b } else { a });
        assert!(link.waits_at().file().ends_with("rt_deadlock.rs"));
        assert_eq!(link.waits_at().line(), mine.1, "where {waiter} waits");
        assert_eq!(link.taken_at().line(), theirs.0, "where {holder} took it");
        assert_eq!(link.resource().kind(), Kind::Mutex);
        assert_eq!(link.resource().created().line(), resource_line);
        assert_eq!(link.permits(), 1);
    }
    let text = report.to_string();
    assert!(
        text.starts_with("deadlock: 2 parties wait for each other in a cycle:"),
        "{text}"
    );
    assert!(text.contains(&format!("task {a} waits at")), "{text}");
    assert!(text.contains(&format!("held by task {b} since")), "{text}");
    cancel(&rt, tasks);
    assert!(reports.try_recv().is_err(), "reported once");
}

#[test]
fn a_three_task_cycle_is_reported() {
    let (rt, reports) = detecting();
    let locks: Vec<_> = (0..3).map(|_| Arc::new(Mutex::new(()))).collect();
    let table = Arc::new(Barrier::new(3));
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let (mine, next, table) = (locks[i].clone(), locks[(i + 1) % 3].clone(), table.clone());
            rt.spawn(async move {
                let _mine = mine.lock().await;
                table.wait().await.unwrap();
                let _next = next.lock().await;
            })
        })
        .collect();
    let report = reports.recv().unwrap();
    let ids: BTreeSet<u64> = tasks.iter().map(|t| t.id().as_u64()).collect();
    assert_eq!(task_ids(&report), ids);
    let links = report.links();
    assert_eq!(links.len(), 3);
    for (i, link) in links.iter().enumerate() {
        assert_eq!(
            link.holder(),
            links[(i + 1) % 3].waiter(),
            "a cycle, in order"
        );
    }
    cancel(&rt, tasks);
    assert!(reports.try_recv().is_err(), "reported once");
}

#[test]
fn a_cycle_through_an_rwlock_and_a_semaphore_is_reported() {
    let (rt, reports) = detecting();
    let lock = Arc::new(RwLock::new(0));
    let sem = Arc::new(Semaphore::new(1));
    let table = Arc::new(Barrier::new(2));
    let writer = rt.spawn({
        let (lock, sem, table) = (lock.clone(), sem.clone(), table.clone());
        async move {
            let _w = lock.write().await;
            table.wait().await.unwrap();
            let _permit = sem.acquire().await.unwrap();
        }
    });
    let reader = rt.spawn(async move {
        let _permit = sem.acquire().await.unwrap();
        table.wait().await.unwrap();
        let _r = lock.read().await;
    });
    let report = reports.recv().unwrap();
    let kinds: BTreeSet<&str> = report
        .links()
        .iter()
        .map(|l| l.resource().kind().name())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["RwLock", "Semaphore"]));
    assert_eq!(
        task_ids(&report),
        BTreeSet::from([writer.id().as_u64(), reader.id().as_u64()])
    );
    cancel(&rt, vec![writer, reader]);
}

#[test]
fn a_reentrant_self_lock_is_not_reported_but_a_mutex_self_lock_is() {
    // The reentrant guard stays with its task (`!Send`): local tasks on a local runtime.
    let (tx, reports) = channel::unbounded();
    let rt = Builder::new_current_thread()
        .detect_deadlocks(true)
        .on_deadlock(move |report| drop(tx.try_send(report.clone())))
        .build_local()
        .unwrap();
    let rlock = Arc::new(ReentrantMutex::new(()));
    let nested = rt.spawn_local({
        let rlock = rlock.clone();
        async move {
            let _outer = rlock.lock().await;
            runtime::yield_now().await;
            let _inner = rlock.lock().await; // its holder: nests, never waits
        }
    });
    rt.block_on(nested).unwrap();
    // A task that holds the reentrant lock and then waits for itself through a plain mutex
    // is a real deadlock: its report comes first, so the re-entry above made none.
    let m = Arc::new(Mutex::new(()));
    let (m_line, stuck) = (
        line!() + 4,
        rt.spawn_local(async move {
            let _r = rlock.lock().await;
            let _held = m.lock().await;
            let _again = m.lock().await; // a mutex is not reentrant: waits for itself
        }),
    );
    let report = rt.block_on(reports.recv()).unwrap();
    let [link] = report.links() else {
        panic!("a cycle of one: {report}")
    };
    assert_eq!(link.waiter(), link.holder());
    assert_eq!(link.waiter().task_id(), Some(stuck.id().as_u64()));
    assert_eq!(link.waits_at().line(), m_line);
    assert!(
        report.to_string().starts_with("deadlock: 1 party"),
        "{report}"
    );
    stuck.abort();
    assert!(rt.block_on(stuck).unwrap_err().is_cancelled());
    assert!(reports.try_recv().is_err());
}

#[test]
fn a_wait_that_a_timeout_ends_leaves_the_graph_and_is_not_reported() {
    let (rt, reports) = detecting();
    let (x, y) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let (y_held, y_held_rx) = oneshot::channel::<()>();
    let (timed_out, timed_out_rx) = mpsc::channel::<()>();
    // A holds x and gives up waiting for y after a while; it keeps x.
    let a = rt.spawn({
        let (x, y) = (x.clone(), y.clone());
        async move {
            let _x = x.lock().await;
            y_held_rx.await.unwrap();
            assert!(timeout(Duration::from_millis(20), y.lock()).await.is_err());
            timed_out.send(()).unwrap();
            std::future::pending::<()>().await;
        }
    });
    let _y = rt.block_on(y.clone().lock_owned());
    y_held.send(()).unwrap();
    timed_out_rx.recv().unwrap();
    let a_id = a.id().as_u64();
    let waits = runtime_primitives::diag::waits();
    assert!(
        waits.iter().all(|w| w.waiter().task_id() != Some(a_id)),
        "the timed-out wait left the graph: {waits:?}"
    );
    // B (this thread's `block_on` future) holds y and waits for x, held by A: A's expired
    // wait for y would close a cycle if it were still there.
    let waited = rt.block_on(async { timeout(Duration::from_millis(20), x.lock()).await });
    assert!(waited.is_err());
    cancel(&rt, vec![a]);
    assert!(
        reports.try_recv().is_err(),
        "no report: {:?}",
        reports.try_recv()
    );
}

#[test]
fn os_threads_are_holders_and_waiters_too() {
    let (rt, reports) = detecting();
    let (x, y) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let (x_held, x_held_rx) = mpsc::channel::<()>();
    let (y_held, y_held_rx) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new().name("scientist".into()).spawn({
        let (x, y, handle) = (x.clone(), y.clone(), rt.handle().clone());
        move || {
            let _enter = handle.enter(); // reports from here go to this runtime
            let _x = x.lock_blocking();
            x_held.send(()).unwrap();
            y_held_rx.recv().unwrap();
            let _y = y.lock_blocking(); // closes the cycle; gets y once the task is gone
        }
    });
    let thread = thread.unwrap();
    x_held_rx.recv().unwrap();
    let task = rt.spawn(async move {
        let _y = y.lock().await;
        y_held.send(()).unwrap();
        let _x = x.lock().await;
    });
    let report = reports.recv().unwrap();
    let parties: Vec<_> = report.parties().collect();
    assert_eq!(parties.len(), 2);
    let thread_party = parties.iter().find(|p| p.is_thread()).expect("the thread");
    assert_eq!(thread_party.name(), Some("scientist"));
    assert!(report.to_string().contains("(\"scientist\")"), "{report}");
    let task_party = parties.iter().find(|p| !p.is_thread()).expect("the task");
    assert_eq!(task_party.task_id(), Some(task.id().as_u64()));
    cancel(&rt, vec![task]);
    thread.join().unwrap();
}

#[test]
fn a_runtime_without_detection_reports_nothing() {
    // Tracking is process-wide once any runtime turns it on: this one does, and the runtime
    // under test must still stay silent.
    let (_detecting, _reports) = detecting();
    let (tx, reports) = mpsc::channel();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .on_deadlock(move |report| {
            let _ = tx.send(report.clone());
        })
        .build()
        .unwrap();
    let (tasks, _lines) = two_task_cycle(&rt, Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let ids: Vec<u64> = tasks.iter().map(|t| t.id().as_u64()).collect();
    // Both tasks wait (the second wait, which closes the cycle, ran its check)...
    while runtime_primitives::diag::waits()
        .iter()
        .filter(|w| w.waiter().task_id().is_some_and(|id| ids.contains(&id)))
        .count()
        < 2
    {
        std::thread::yield_now();
    }
    // ...and their polls are over once they are cancelled.
    cancel(&rt, tasks);
    assert!(
        reports.try_recv().is_err(),
        "detection was off for this runtime"
    );
}

#[test]
fn ten_thousand_tasks_in_one_lock_order_report_nothing() {
    let (rt, reports) = detecting();
    let m = Arc::new(Mutex::new(0u64));
    let rw = Arc::new(RwLock::new(0u64));
    let sem = Arc::new(Semaphore::new(3));
    let rlock = Arc::new(ReentrantMutex::new(()));
    let tasks: Vec<JoinHandle<()>> = (0..10_000u64)
        .map(|i| {
            let (m, rw, sem, rlock) = (m.clone(), rw.clone(), sem.clone(), rlock.clone());
            rt.spawn(async move {
                for _ in 0..3 {
                    let _permit = sem.acquire().await.unwrap();
                    if i % 4 == 0 {
                        *rw.write().await += 1;
                    } else {
                        let _r = rw.read().await;
                    }
                    let mut m = m.lock().await;
                    *m += 1;
                    if i % 100 == 0 {
                        drop(rlock.lock().await);
                    }
                    runtime::yield_now().await;
                }
            })
        })
        .collect();
    let ids: BTreeSet<u64> = tasks.iter().map(|t| t.id().as_u64()).collect();
    rt.block_on(async {
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(rt.block_on(async { *m.lock().await }), 30_000);
    assert!(reports.try_recv().is_err(), "one lock order: no deadlock");
    // The tasks are gone, and so are their holds and waits.
    let metrics = rt.metrics();
    assert_eq!(metrics.alive_tasks, 0);
    let waits = runtime_primitives::diag::waits();
    assert!(
        waits
            .iter()
            .all(|w| w.waiter().task_id().is_none_or(|id| !ids.contains(&id))),
        "{waits:?}"
    );
}

#[test]
fn the_dump_shows_what_a_parked_task_waits_on_and_who_holds_it() {
    let (rt, _reports) = detecting();
    let lock = Arc::new(Mutex::new(0u32));
    let created = line!() - 1;
    let (taken_tx, taken_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = rt.spawn({
        let lock = lock.clone();
        async move {
            let guard = lock.lock().await;
            taken_tx.send(line!() - 1).unwrap();
            // Hold the lock with this worker stuck inside the poll.
            release_rx.recv().unwrap();
            drop(guard);
        }
    });
    let taken = taken_rx.recv().unwrap();
    let (waits_tx, waits_rx) = mpsc::channel();
    let waiter = rt.spawn({
        let lock = lock.clone();
        async move {
            waits_tx.send(line!() + 1).unwrap();
            *lock.lock().await += 1;
        }
    });
    let waits = waits_rx.recv().unwrap();
    let dump = loop {
        let dump = rt.handle().dump();
        if dump
            .get(waiter.id())
            .is_some_and(|t| t.waiting_on().is_some())
        {
            break dump;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wait = dump.get(waiter.id()).unwrap().waiting_on().unwrap();
    assert_eq!(wait.kind(), "Mutex");
    assert_eq!(wait.created_at().line(), created);
    assert_eq!(wait.waits_at().line(), waits);
    assert!(
        wait.elapsed().is_some(),
        "a tracked wait knows when it began"
    );
    assert_eq!(wait.holders().len(), 1);
    let held = &wait.holders()[0];
    assert_eq!(held.owner(), &runtime::diag::Owner::Task(holder.id()));
    assert_eq!(held.taken_at().line(), taken);
    assert!(matches!(
        dump.get(holder.id()).unwrap().state(),
        runtime::diag::TaskState::Running {
            worker: Some(_),
            ..
        }
    ));
    let text = dump.to_string();
    assert!(
        text.contains(&format!("held by task {} since", holder.id())),
        "{text}"
    );
    release_tx.send(()).unwrap();
    rt.block_on(async {
        holder.await.unwrap();
        waiter.await.unwrap();
    });
    assert_eq!(*lock.try_lock().unwrap(), 1);
}
