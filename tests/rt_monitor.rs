//! The blocking-poll monitor (`Builder::warn_on_blocking`): one report per long poll,
//! naming the task, and the stuck worker's queued tasks run elsewhere meanwhile.

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use runtime::diag::BlockingReport;
use runtime::task;

/// A runtime whose reports arrive on the returned channel.
fn monitored(
    builder: runtime::Builder,
    max: Duration,
) -> (runtime::Runtime, mpsc::Receiver<BlockingReport>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let rt = builder
        .warn_on_blocking(max)
        .on_blocking(move |report| {
            let _ = tx.lock().unwrap().send(report.clone());
        })
        .build()
        .unwrap();
    (rt, rx)
}

fn multi_thread() -> runtime::Builder {
    runtime::Builder::new_multi_thread().worker_threads(2)
}

#[test]
fn a_200ms_poll_is_reported_once_with_the_task_and_where_it_was_spawned() {
    for builder in [multi_thread(), runtime::Builder::new_current_thread()] {
        let (rt, reports) = monitored(builder, Duration::from_millis(100));
        let blocker = rt.block_on(async {
            let fut = async { std::thread::sleep(Duration::from_millis(200)) };
            let handle = task::Builder::new().name("blocker").spawn(fut);
            (handle, line!() - 1)
        });
        let (blocker, line) = blocker;
        let id = blocker.id();
        rt.block_on(blocker).unwrap();
        drop(rt); // stops the monitor: every report it was going to make is made
        let reports: Vec<BlockingReport> = reports.try_iter().collect();
        assert_eq!(reports.len(), 1, "one report per long poll: {reports:?}");
        let report = &reports[0];
        assert_eq!(report.task(), id);
        assert_eq!(report.name(), Some("blocker"));
        assert_eq!(report.location().unwrap().line(), line);
        assert!(report.elapsed() >= Duration::from_millis(100));
        assert_eq!(report.threshold(), Duration::from_millis(100));
        let text = report.to_string();
        assert!(
            text.starts_with(&format!("task {id} \"blocker\" appears to be blocked")),
            "{text}"
        );
        assert!(text.contains("rt_monitor.rs"), "{text}");
        assert!(
            report.dump().get(id).is_some(),
            "the dump is in the report:\n{text}"
        );
    }
}

#[test]
fn each_long_poll_is_its_own_report_and_short_polls_none() {
    let (rt, reports) = monitored(multi_thread(), Duration::from_millis(50));
    let id = rt.block_on(async {
        runtime::spawn(async {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(120));
                runtime::yield_now().await;
            }
            for _ in 0..1000 {
                runtime::yield_now().await; // many short polls of the same task
            }
            task::id()
        })
        .await
        .unwrap()
    });
    drop(rt);
    let reports: Vec<BlockingReport> = reports.try_iter().collect();
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(reports.iter().all(|r| r.task() == id));
}

#[test]
fn tasks_queued_behind_a_stuck_worker_run_on_the_other_worker() {
    // The blocker wakes three tasks (the first lands in its worker's LIFO slot, the others
    // in its ring), then blocks its worker until all three have run. Without the monitor
    // they would wait for the blocker's poll to end (here: forever, so 5 s and a failure).
    let (rt, _reports) = monitored(multi_thread(), Duration::from_millis(100));
    let ran = rt.block_on(async {
        runtime::spawn(async {
            let (tx, rx) = mpsc::channel();
            for i in 0..3 {
                let tx = tx.clone();
                runtime::spawn(async move { tx.send(i).unwrap() });
            }
            let mut ran = Vec::new();
            while ran.len() < 3 {
                match rx.recv_timeout(Duration::from_secs(5)) {
                    Ok(i) => ran.push(i),
                    Err(_) => break,
                }
            }
            ran
        })
        .await
        .unwrap()
    });
    let mut sorted = ran.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [0, 1, 2],
        "every queued task ran while its worker was stuck"
    );
}

#[test]
fn without_the_monitor_a_task_in_the_lifo_slot_waits_for_the_poll() {
    // The behaviour the monitor fixes, pinned so the rescue test above means something.
    let rt = multi_thread().build().unwrap();
    let waited = rt.block_on(async {
        runtime::spawn(async {
            let (tx, rx) = mpsc::channel();
            runtime::spawn(async move { tx.send(()).unwrap() });
            rx.recv_timeout(Duration::from_millis(300)).is_err()
        })
        .await
        .unwrap()
    });
    assert!(
        waited,
        "the woken task ran on another worker without any rescue"
    );
}

#[test]
fn the_report_goes_to_stderr_without_a_callback_and_shutdown_is_not_held_up() {
    let rt = multi_thread()
        .warn_on_blocking(Duration::from_millis(20))
        .build()
        .unwrap();
    rt.block_on(async {
        runtime::spawn(async { std::thread::sleep(Duration::from_millis(60)) })
            .await
            .unwrap()
    });
    drop(rt);
}

#[test]
#[should_panic(expected = "warn_on_blocking(Duration::ZERO)")]
fn a_zero_threshold_is_refused() {
    let _ = runtime::Builder::new_multi_thread().warn_on_blocking(Duration::ZERO);
}

#[test]
fn a_dump_during_a_report_shows_the_blocked_task_running() {
    let (rt, reports) = monitored(multi_thread(), Duration::from_millis(30));
    let stuck = rt.spawn(async { std::thread::sleep(Duration::from_millis(120)) });
    let id = stuck.id();
    let report = reports.recv_timeout(Duration::from_secs(10)).unwrap();
    let info = report.dump().get(id).unwrap().clone();
    assert!(
        matches!(info.state(), runtime::diag::TaskState::Running { worker: Some(w), .. } if w == report.worker()),
        "{:?}",
        info.state()
    );
    rt.block_on(stuck).unwrap();
}
