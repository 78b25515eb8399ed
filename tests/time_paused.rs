//! The virtual clock: `time::pause`, `advance`, `resume`, auto-advance, `start_paused`.
//!
//! Every test runs its runtime under [`paused_test`], a real-time watchdog: a paused test
//! that hangs (a clock that never jumps, a wake that is lost) fails after [`WATCHDOG`]
//! instead of hanging the run. No test asserts how long anything took in real time.

#[macro_use]
mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use runtime::time::{
    advance, interval, interval_at, pause, resume, sleep, sleep_until, timeout, timeout_at,
    Duration, Instant, MissedTickBehavior,
};
use runtime::Builder;
use support::{panic_message, poll_once, run_bounded};

/// Real-time bound on each test: an hour of virtual sleeping must not take this long.
const WATCHDOG: Duration = Duration::from_secs(30);

const HOUR: Duration = Duration::from_secs(3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `body` on a fresh current-thread runtime whose clock starts paused, on a thread
/// bounded by the watchdog.
fn paused_test<F>(what: &str, body: impl FnOnce() -> F + Send + 'static)
where
    F: Future<Output = ()>,
{
    run_bounded(what, WATCHDOG, move || {
        let rt = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(body());
    });
}

/// The panic message of `f`, which must panic.
fn panic_of(f: impl FnOnce()) -> String {
    let payload =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    panic_message(&*payload)
}

// ===== auto-advance =====

#[test]
fn hour_long_sleep_finishes_at_exactly_its_deadline() {
    paused_test("an hour-long sleep on a paused clock", || async {
        let start = Instant::now();
        sleep(HOUR).await;
        assert_eq!(Instant::now() - start, HOUR);
    });
}

#[test]
fn timeout_of_a_pending_future_elapses_at_the_virtual_deadline() {
    paused_test("a timeout on a paused clock", || async {
        let start = Instant::now();
        let res = timeout(Duration::from_secs(90), std::future::pending::<()>()).await;
        assert!(res.is_err(), "a pending future can't complete");
        assert_eq!(Instant::now(), start + Duration::from_secs(90));

        let deadline = Instant::now() + ms(1500);
        assert!(timeout_at(deadline, std::future::pending::<()>())
            .await
            .is_err());
        assert_eq!(Instant::now(), deadline);
    });
}

#[test]
fn timeout_of_a_future_that_finishes_first_returns_its_output() {
    paused_test("a timeout racing a shorter sleep", || async {
        let start = Instant::now();
        let res = timeout(ms(500), async {
            sleep(ms(200)).await;
            7
        })
        .await;
        assert_eq!(res, Ok(7));
        assert_eq!(Instant::now() - start, ms(200));
    });
}

#[test]
fn concurrent_sleeps_wake_in_deadline_order_at_their_deadlines() {
    paused_test("sleeps in many tasks", || async {
        let start = Instant::now();
        let woke = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Spawned in a scrambled order; each records when it woke.
        for i in [7u64, 3, 9, 1, 4, 8, 2, 6, 5, 10] {
            let woke = woke.clone();
            tasks.push(runtime::spawn(async move {
                sleep(Duration::from_secs(i * 60)).await;
                woke.lock().unwrap().push((i, Instant::now() - start));
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let woke = woke.lock().unwrap().clone();
        let expected: Vec<_> = (1..=10u64)
            .map(|i| (i, Duration::from_secs(i * 60)))
            .collect();
        assert_eq!(woke, expected);
    });
}

#[test]
fn no_jump_while_a_task_is_runnable() {
    paused_test("a yielding task beside a long sleep", || async {
        let start = Instant::now();
        let spins = Arc::new(AtomicUsize::new(0));
        let spinner = {
            let spins = spins.clone();
            runtime::spawn(async move {
                for _ in 0..500 {
                    runtime::yield_now().await;
                    // The clock stands still while this task is runnable.
                    assert_eq!(Instant::now(), start);
                    spins.fetch_add(1, SeqCst);
                }
            })
        };
        sleep(HOUR).await;
        // The sleep can only have fired once the runtime went idle: after the spinner.
        assert_eq!(spins.load(SeqCst), 500);
        assert!(spinner.is_finished());
        spinner.await.unwrap();
    });
}

#[test]
fn no_jump_while_a_joined_blocking_job_runs() {
    paused_test("a sleep beside a blocking job", || async {
        let start = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let job = {
            let done = done.clone();
            runtime::spawn_blocking(move || {
                std::thread::sleep(ms(50)); // real time
                done.store(true, SeqCst);
            })
        };
        let waiter = runtime::spawn(async move {
            job.await.unwrap();
            // Nothing jumped while the job ran.
            Instant::now()
        });
        sleep(HOUR).await;
        assert!(
            done.load(SeqCst),
            "the hour passed while the blocking job still ran"
        );
        assert_eq!(waiter.await.unwrap(), start);
        assert_eq!(Instant::now() - start, HOUR);
    });
}

#[test]
fn no_jump_while_a_detached_blocking_job_runs() {
    // Nothing awaits the job: its end must still let the clock jump (or this hangs).
    paused_test("a sleep beside a detached blocking job", || async {
        let done = Arc::new(AtomicBool::new(false));
        {
            let done = done.clone();
            drop(runtime::spawn_blocking(move || {
                std::thread::sleep(ms(50));
                done.store(true, SeqCst);
            }));
        }
        sleep(HOUR).await;
        assert!(
            done.load(SeqCst),
            "the hour passed while the blocking job still ran"
        );
    });
}

#[test]
fn without_timers_a_paused_runtime_still_gets_cross_thread_wakes() {
    paused_test("a wake from a thread on a paused clock", || async {
        let start = Instant::now();
        let (tx, rx) = runtime::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(ms(20));
            tx.send(5).unwrap();
        });
        assert_eq!(rx.await, Ok(5));
        thread.join().unwrap();
        assert_eq!(Instant::now(), start, "no timer, so no jump");
    });
}

#[test]
fn without_timers_a_paused_runtime_still_gets_io() {
    paused_test("IO on a paused clock", || async {
        let start = Instant::now();
        let a = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = a.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(ms(20));
            b.send_to(b"ping", to).unwrap();
        });
        let mut buf = [0; 8];
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        thread.join().unwrap();
        assert_eq!(Instant::now(), start);
    });
}

// ===== advance =====

#[test]
fn now_moves_by_exactly_what_advance_says() {
    paused_test("advance", || async {
        let start = Instant::now();
        std::thread::sleep(ms(5)); // real time passes; the clock doesn't
        assert_eq!(Instant::now(), start);
        advance(ms(1)).await;
        assert_eq!(Instant::now() - start, ms(1));
        advance(Duration::from_nanos(250)).await;
        assert_eq!(Instant::now() - start, ms(1) + Duration::from_nanos(250));
        advance(Duration::from_secs(7 * 86_400)).await;
        assert_eq!(
            Instant::now() - start,
            Duration::from_secs(7 * 86_400) + ms(1) + Duration::from_nanos(250)
        );
        advance(Duration::ZERO).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(7 * 86_400) + ms(1) + Duration::from_nanos(250)
        );
    });
}

#[test]
fn one_advance_fires_many_timers_in_order_each_at_its_deadline() {
    paused_test("many timers fired by one advance", || async {
        let start = Instant::now();
        let fired = Arc::new(Mutex::new(Vec::new()));
        let mut rng = support::Rng::new(0x7157);
        let mut delays: Vec<u64> = (1..=100).map(|i| i * 10).collect();
        rng.shuffle(&mut delays);
        let mut tasks = Vec::new();
        for &d in &delays {
            let fired = fired.clone();
            tasks.push(runtime::spawn(async move {
                sleep(ms(d)).await;
                fired.lock().unwrap().push((d, Instant::now() - start));
            }));
        }
        // The tasks have not run yet: `advance` lets them start their sleeps first.
        // Up to 500 ms: the first 50 fire, and have run, when `advance` returns.
        advance(ms(505)).await;
        let got = fired.lock().unwrap().clone();
        let expected: Vec<_> = (1..=50).map(|i| (i * 10, ms(i * 10))).collect();
        assert_eq!(
            got, expected,
            "fired out of order, at the wrong time, or not run"
        );
        assert_eq!(Instant::now() - start, ms(505));
        advance(ms(495)).await;
        assert_eq!(fired.lock().unwrap().len(), 100);
        for task in tasks {
            assert!(task.is_finished());
        }
    });
}

#[test]
fn advance_runs_what_the_woken_tasks_wake_in_turn() {
    paused_test("a chain woken by a timer", || async {
        let (tx, rx) = runtime::sync::oneshot::channel();
        let relay = runtime::spawn(async move {
            rx.await.unwrap();
            "relayed"
        });
        let timer = runtime::spawn(async move {
            sleep(ms(100)).await;
            tx.send(()).unwrap();
        });
        runtime::yield_now().await;
        advance(ms(100)).await;
        assert!(timer.is_finished());
        assert!(
            relay.is_finished(),
            "the task the timer's task woke has not run"
        );
        assert_eq!(relay.await.unwrap(), "relayed");
    });
}

#[test]
fn advance_from_a_task_fires_timers_of_other_tasks() {
    paused_test("advance inside a spawned task", || async {
        let start = Instant::now();
        let sleeper = runtime::spawn(async move {
            sleep(Duration::from_secs(10)).await;
            Instant::now() - start
        });
        let driver = runtime::spawn(async move {
            runtime::yield_now().await;
            advance(Duration::from_secs(10)).await;
        });
        driver.await.unwrap();
        assert!(sleeper.is_finished());
        assert_eq!(sleeper.await.unwrap(), Duration::from_secs(10));
    });
}

#[test]
fn a_dropped_advance_keeps_the_time_and_timers_it_reached() {
    paused_test("cancelling advance", || async {
        let start = Instant::now();
        let first = runtime::spawn(sleep(ms(10)));
        let second = runtime::spawn(sleep(ms(30)));
        runtime::yield_now().await;
        {
            let mut adv = pin!(advance(ms(30)));
            // Poll it until it has moved the clock to the first timer, then drop it.
            for _ in 0..1_000 {
                assert!(poll_once(adv.as_mut()).await.is_pending());
                if Instant::now() != start {
                    break;
                }
                runtime::yield_now().await;
            }
        }
        assert_eq!(Instant::now() - start, ms(10), "the clock went back or on");
        // What it reached stays reached: the first timer fires, the second waits.
        runtime::yield_now().await;
        runtime::yield_now().await;
        assert!(first.is_finished());
        assert!(!second.is_finished());
        second.await.unwrap(); // auto-advance takes it from here
        assert_eq!(Instant::now() - start, ms(30));
    });
}

#[test]
fn sleep_deadline_and_reset_use_the_virtual_clock() {
    paused_test("Sleep::deadline and reset", || async {
        let start = Instant::now();
        let mut timer = pin!(sleep(HOUR));
        assert_eq!(timer.deadline(), start + HOUR);
        assert!(poll_once(timer.as_mut()).await.is_pending());
        timer.as_mut().reset(start + ms(20));
        assert!(!timer.is_elapsed());
        advance(ms(19)).await;
        assert!(!timer.is_elapsed());
        assert!(poll_once(timer.as_mut()).await.is_pending());
        advance(ms(1)).await;
        assert!(timer.is_elapsed());
        assert_eq!(poll_once(timer.as_mut()).await, Poll::Ready(()));
        // A deadline already past completes at once, without moving the clock.
        sleep_until(start).await;
        assert_eq!(Instant::now() - start, ms(20));
    });
}

// ===== interval and missed ticks =====

/// Ticks at 0, then stalls (in virtual time) for 350 ms, then collects the next `n` ticks,
/// with the instant at which each returned, as offsets from the start.
async fn ticks_after_stall(behavior: MissedTickBehavior, n: usize) -> Vec<(Duration, Duration)> {
    let start = Instant::now();
    let mut ticks = interval(ms(100));
    ticks.set_missed_tick_behavior(behavior);
    assert_eq!(ticks.tick().await, start, "the first tick is at once");
    advance(ms(350)).await; // the task is busy past three periods
    let mut out = Vec::new();
    for _ in 0..n {
        let at = ticks.tick().await;
        out.push((at - start, Instant::now() - start));
    }
    out
}

#[test]
fn interval_burst_fires_missed_ticks_back_to_back() {
    paused_test("Burst", || async {
        let got = ticks_after_stall(MissedTickBehavior::Burst, 5).await;
        // 100, 200 and 300 were missed: all returned at once, at 350; then on schedule.
        assert_eq!(
            got,
            [
                (ms(100), ms(350)),
                (ms(200), ms(350)),
                (ms(300), ms(350)),
                (ms(400), ms(400)),
                (ms(500), ms(500)),
            ]
        );
    });
}

#[test]
fn interval_delay_restarts_the_schedule_from_the_late_tick() {
    paused_test("Delay", || async {
        let got = ticks_after_stall(MissedTickBehavior::Delay, 3).await;
        // The late tick returns at 350; the next ones a full period apart from then.
        assert_eq!(
            got,
            [(ms(100), ms(350)), (ms(450), ms(450)), (ms(550), ms(550))]
        );
    });
}

#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_phase() {
    paused_test("Skip", || async {
        let got = ticks_after_stall(MissedTickBehavior::Skip, 3).await;
        // The late tick returns at 350; 200 and 300 are skipped; 400 keeps the phase.
        assert_eq!(
            got,
            [(ms(100), ms(350)), (ms(400), ms(400)), (ms(500), ms(500))]
        );
    });
}

#[test]
fn interval_at_on_time_ticks_at_each_period() {
    paused_test("interval_at", || async {
        let start = Instant::now() + ms(50);
        let mut ticks = interval_at(start, ms(25));
        for i in 0..40u32 {
            let at = ticks.tick().await;
            assert_eq!(at, start + ms(25) * i);
            assert_eq!(Instant::now(), at);
        }
    });
}

// ===== resume, start_paused =====

#[test]
fn after_resume_real_timers_work_and_time_goes_on_from_the_virtual_time() {
    paused_test("resume", || async {
        let start = Instant::now();
        advance(HOUR).await;
        resume();
        let real = std::time::Instant::now();
        sleep(ms(20)).await;
        assert!(real.elapsed() >= ms(20), "a resumed sleep is a real one");
        assert!(Instant::now() - start >= HOUR + ms(20));
        // The clock can be paused again, from where it is.
        pause();
        let frozen = Instant::now();
        assert!(frozen - start >= HOUR + ms(20));
        sleep(HOUR).await;
        assert_eq!(Instant::now() - frozen, HOUR);
    });
}

#[test]
fn pause_inside_a_running_runtime_freezes_the_clock() {
    run_bounded("pause()", WATCHDOG, || {
        let rt = Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            sleep(ms(1)).await; // real
            pause();
            let frozen = Instant::now();
            std::thread::sleep(ms(5));
            assert_eq!(Instant::now(), frozen);
            sleep(HOUR).await;
            assert!(Instant::now() - frozen >= HOUR);
            // Within a millisecond: `pause` rounds up to the wheel's next millisecond.
            assert!(Instant::now() - frozen <= HOUR + ms(1));
        });
    });
}

#[runtime::test(start_paused = true)]
async fn start_paused_through_the_test_macro() {
    let start = Instant::now();
    std::thread::sleep(ms(5));
    assert_eq!(Instant::now(), start, "the clock is paused");
    sleep(HOUR).await;
    assert_eq!(start.elapsed(), HOUR);
}

#[runtime::test(flavor = "local", start_paused = true)]
async fn start_paused_on_a_local_runtime_with_local_tasks() {
    // A `!Send` task's timer follows the paused clock like any other.
    let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let start = Instant::now();
    let task = runtime::spawn_local({
        let log = log.clone();
        async move {
            sleep(HOUR).await;
            log.borrow_mut().push(start.elapsed());
        }
    });
    sleep(HOUR / 2).await;
    assert!(log.borrow().is_empty(), "the local task's hour is not over");
    task.await.unwrap();
    assert_eq!(*log.borrow(), [HOUR]);
}

#[test]
fn start_paused_through_the_builder() {
    run_bounded("Builder::start_paused", WATCHDOG, || {
        let rt = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        let start = rt.block_on(async { Instant::now() });
        std::thread::sleep(ms(5));
        rt.block_on(async move {
            assert_eq!(Instant::now(), start);
            sleep(HOUR).await;
            assert_eq!(start.elapsed(), HOUR);
        });
        let unpaused = Builder::new_current_thread()
            .start_paused(false)
            .build()
            .unwrap();
        unpaused.block_on(async {
            let start = Instant::now();
            std::thread::sleep(ms(2));
            assert!(
                Instant::now() > start,
                "a runtime not paused reads real time"
            );
        });
    });
}

#[test]
fn instant_outside_a_runtime_and_on_other_runtimes_is_std_time() {
    run_bounded("other clocks", WATCHDOG, || {
        let paused = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        let frozen = paused.block_on(async {
            advance(HOUR).await;
            Instant::now()
        });
        // Outside any runtime, and on a runtime not paused, `now` is std's.
        let before = std::time::Instant::now();
        let outside = Instant::now().into_std();
        assert!(outside >= before && outside <= std::time::Instant::now());
        let other = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let there = other.block_on(async { Instant::now().into_std() });
        assert!(there >= before && there <= std::time::Instant::now());
        // The paused one kept its own time.
        paused.block_on(async move { assert_eq!(Instant::now(), frozen) });
    });
}

// ===== bad calls =====

#[test]
fn pause_twice_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    let msg = panic_of(|| {
        rt.block_on(async {
            pause();
            pause();
        })
    });
    assert!(msg.contains("already paused"), "{msg}");
}

#[test]
fn resume_when_not_paused_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    let msg = panic_of(|| rt.block_on(async { resume() }));
    assert!(msg.contains("not paused"), "{msg}");
}

#[test]
fn advance_when_not_paused_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    let msg = panic_of(|| rt.block_on(advance(ms(1))));
    assert!(msg.contains("call `time::pause()` first"), "{msg}");
}

#[test]
fn advance_past_the_end_of_time_panics() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let msg = panic_of(|| rt.block_on(advance(Duration::MAX)));
    assert!(msg.contains("overflowed"), "{msg}");
}

#[test]
fn outside_a_runtime_each_call_panics() {
    for (what, msg) in [
        ("pause", panic_of(pause)),
        ("resume", panic_of(resume)),
        (
            "advance",
            panic_of(|| support::block_on_outside(advance(ms(1)))),
        ),
    ] {
        assert!(
            msg.contains(&format!("`time::{what}` was called outside a runtime")),
            "{what}: {msg}"
        );
    }
}

#[test]
fn pause_on_the_multi_thread_flavor_panics() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let msg = panic_of(|| rt.block_on(async { pause() }));
    assert!(msg.contains("use a current-thread runtime"), "{msg}");
    let from_worker = rt.block_on(rt.spawn(async { pause() }));
    let msg = panic_message(&*from_worker.unwrap_err().into_panic());
    assert!(msg.contains("use a current-thread runtime"), "{msg}");
    let msg = panic_of(|| {
        let _ = Builder::new_multi_thread().start_paused(true);
    });
    assert!(msg.contains("use a current-thread runtime"), "{msg}");
}
