//! `Handle::dump`: names, spawn locations, parents and states of every live task, taken
//! from inside and outside the runtime, and never held up by a worker stuck in a poll.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use runtime::diag::TaskState;
use runtime::sync::Event;
use runtime::task;

fn multi_thread() -> runtime::Runtime {
    runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Takes dumps until `ready` holds (the tasks under test get polled on other threads).
fn dump_when(
    handle: &runtime::Handle,
    ready: impl Fn(&runtime::diag::TaskDump) -> bool,
) -> runtime::diag::TaskDump {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let dump = handle.dump();
        if ready(&dump) {
            return dump;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dump never showed the expected state:\n{dump}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_worker_stuck_in_a_poll_shows_in_the_dump_and_does_not_stall_it() {
    let rt = multi_thread();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (child_at_tx, child_at_rx) = mpsc::channel();
    let stop = Arc::new(Event::new());
    let stuck = task::Builder::new().name("stuck").spawn_on(
        {
            let stop = stop.clone();
            async move {
                // A child that waits, then one queued behind this poll (the LIFO slot).
                let fut = async move { stop.wait().await };
                let waiter = task::Builder::new().name("waiter").spawn(fut);
                child_at_tx.send(line!() - 1).unwrap();
                // Block the worker inside this poll until the test says so.
                release_rx.recv().unwrap();
                waiter.await.unwrap();
            }
        },
        rt.handle(),
    );
    let stuck_id = stuck.id();
    let child_line = child_at_rx.recv().unwrap();

    let dump = dump_when(rt.handle(), |d| {
        matches!(
            d.get(stuck_id).map(|t| t.state()),
            Some(TaskState::Running {
                worker: Some(_),
                ..
            })
        )
    });
    let stuck_info = dump.get(stuck_id).unwrap();
    assert_eq!(stuck_info.name(), Some("stuck"));
    assert_eq!(stuck_info.parent(), None, "spawned from the test thread");
    assert!(stuck_info.location().file().ends_with("rt_dump.rs"));
    let TaskState::Running {
        worker: Some(worker),
        ..
    } = stuck_info.state()
    else {
        unreachable!()
    };
    assert_eq!(dump.workers()[worker].task(), Some(stuck_id));

    let waiter = dump.iter().find(|t| t.name() == Some("waiter")).unwrap();
    assert_eq!(
        waiter.parent(),
        Some(stuck_id),
        "the spawn tree links the child"
    );
    assert_eq!(waiter.location().line(), child_line);
    // Queued behind the stuck poll (no monitor here to move it): scheduled, not run.
    assert_eq!(waiter.state(), TaskState::Scheduled);

    let text = dump.to_string();
    assert!(text.contains(&format!(
        "task {stuck_id} \"stuck\" running on worker {worker}"
    )));
    assert!(
        text.contains("+-- task"),
        "the child is drawn under its parent:\n{text}"
    );
    assert!(text.contains(&format!("worker {worker}: polling task {stuck_id}")));

    release_tx.send(()).unwrap();
    let waiter_id = waiter.id();
    let dump = dump_when(rt.handle(), |d| {
        d.get(waiter_id).map(|t| t.state()) == Some(TaskState::Idle)
    });
    assert!(
        dump.get(waiter_id).unwrap().waiting_on().is_none(),
        "tracking is off"
    );
    stop.set();
    rt.block_on(stuck).unwrap();
    let dump = dump_when(rt.handle(), |d| d.is_empty());
    assert_eq!(dump.len(), 0, "finished tasks leave the dump");
}

#[test]
fn a_task_sees_itself_running_in_a_dump_taken_inside_it() {
    for rt in [
        runtime::Builder::new_current_thread().build().unwrap(),
        multi_thread(),
    ] {
        rt.block_on(async {
            let me = task::Builder::new()
                .name("self-aware")
                .spawn(async {
                    let dump = runtime::Handle::current().dump();
                    let me = dump.get(task::id()).unwrap().clone();
                    (me.name().map(str::to_owned), me.state())
                })
                .await
                .unwrap();
            assert_eq!(me.0.as_deref(), Some("self-aware"));
            assert!(
                matches!(
                    me.1,
                    TaskState::Running {
                        worker: Some(_),
                        elapsed: Some(_)
                    }
                ),
                "{:?}",
                me.1
            );
        });
    }
}

#[test]
fn parents_form_a_tree_three_levels_deep() {
    let rt = multi_thread();
    let stop = Arc::new(Event::new());
    let ids = rt.block_on({
        let stop = stop.clone();
        async move {
            let (tx, rx) = runtime_oneshot();
            let root = runtime::spawn(async move {
                let child = runtime::spawn(async move {
                    let grandchild = runtime::spawn(async move { stop.wait().await });
                    tx.send((task::id(), grandchild.id())).unwrap();
                    grandchild.await.unwrap();
                });
                child.await.unwrap();
            });
            let (child, grandchild) = rx.await.unwrap();
            (root, child, grandchild)
        }
    });
    let (root, child, grandchild) = ids;
    let dump = dump_when(rt.handle(), |d| d.len() == 3);
    assert_eq!(dump.get(root.id()).unwrap().parent(), None);
    assert_eq!(dump.get(child).unwrap().parent(), Some(root.id()));
    assert_eq!(dump.get(grandchild).unwrap().parent(), Some(child));
    let text = dump.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let at = |id: task::Id| {
        lines
            .iter()
            .position(|l| {
                l.trim_start()
                    .trim_start_matches("+-- ")
                    .starts_with(&format!("task {id} "))
            })
            .unwrap()
    };
    assert!(at(root.id()) < at(child) && at(child) < at(grandchild));
    assert!(lines[at(grandchild)].starts_with("        +-- "), "{text}");
    stop.set();
    rt.block_on(root).unwrap();
}

#[test]
fn local_tasks_are_in_the_dump() {
    let rt = runtime::Builder::new_current_thread()
        .build_local()
        .unwrap();
    let local = rt.spawn_local(std::future::pending::<()>());
    let dump = rt.handle().dump();
    let info = dump.get(local.id()).expect("the local task is listed");
    assert!(matches!(
        info.state(),
        TaskState::Scheduled | TaskState::Idle
    ));
}

#[test]
fn a_dump_taken_from_another_thread_of_an_idle_runtime_lists_sleepers() {
    let rt = multi_thread();
    let sleepers: Vec<_> = (0..100)
        .map(|_| rt.spawn(async { runtime::time::sleep(Duration::from_secs(3600)).await }))
        .collect();
    let handle = rt.handle().clone();
    let dump = std::thread::spawn(move || {
        dump_when(&handle, |d| d.iter().all(|t| t.state() == TaskState::Idle))
    })
    .join()
    .unwrap();
    assert_eq!(dump.len(), 100);
    for s in &sleepers {
        assert!(dump.get(s.id()).is_some());
    }
    assert_eq!((&dump).into_iter().count(), 100);
}

/// A one-shot channel from the primitives, named for what the test uses it for.
fn runtime_oneshot<T>() -> (
    runtime::sync::oneshot::Sender<T>,
    runtime::sync::oneshot::Receiver<T>,
) {
    runtime::sync::oneshot::channel()
}
