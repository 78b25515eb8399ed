//! `sleep`, `sleep_until` and `Sleep`: never early, fired in deadline order, resettable,
//! and leaving nothing behind when dropped; on both scheduler flavors.
//!
//! A counting global allocator measures the memory that timers leave behind. Tests that
//! allocate take the file's lock shared; the memory test takes it exclusively, so no other
//! test of this binary allocates while it measures.

#[macro_use]
mod support;

use runtime::time::{Duration, Instant};
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll, Wake, Waker};

use runtime::time::{sleep, sleep_until, Sleep};
use support::{eventually, panic_message, poll_once, run_bounded, Rng};

/// Upper bound on each test's run, against a timer that never fires (not a speed claim).
const LIMIT: Duration = Duration::from_secs(10);

// ===== live-memory accounting =====

/// Counts the bytes currently allocated by the whole process.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, SeqCst);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, SeqCst);
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static MEMORY_LOCK: RwLock<()> = RwLock::new(());

/// Taken by every test that may allocate concurrently with others.
fn shared() -> RwLockReadGuard<'static, ()> {
    MEMORY_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// Taken by the test that measures live memory: no other test runs meanwhile.
fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MEMORY_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

// ===== wake-order recording =====

/// Wraps a future so that whenever a waker it handed out is woken, `index` is appended to
/// `log` at that moment (before the task runs again): the order in which the timers fired.
struct RecordWake<F> {
    inner: Pin<Box<F>>,
    index: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

struct Recorder {
    inner: Waker,
    index: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.log.lock().unwrap().push(self.index);
        self.inner.wake_by_ref();
    }
}

impl<F: Future> Future for RecordWake<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(Recorder {
            inner: cx.waker().clone(),
            index: self.index,
            log: self.log.clone(),
        }));
        self.inner.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

/// Spawns one task per deadline (in the order given) that sleeps until it, and returns
/// the indices of `deadlines` in the order their timers fired.
///
/// Every task has polled its sleep once before the first deadline comes (checked), so each
/// completion goes through a timer firing rather than an already-past deadline.
async fn fire_order(deadlines: Vec<Instant>, spawn_order: Vec<usize>) -> Vec<usize> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let registered = Arc::new(AtomicUsize::new(0));
    let first = *deadlines.iter().min().expect("no deadlines");
    let mut tasks = Vec::new();
    for index in spawn_order {
        let deadline = deadlines[index];
        let log = log.clone();
        let registered = registered.clone();
        tasks.push(runtime::spawn(async move {
            let mut sleep = RecordWake {
                inner: Box::pin(sleep_until(deadline)),
                index,
                log,
            };
            let mut sleep = Pin::new(&mut sleep);
            assert!(
                poll_once(sleep.as_mut()).await.is_pending(),
                "a sleep completed on its first poll, before its deadline"
            );
            registered.fetch_add(1, SeqCst);
            sleep.await;
            assert!(Instant::now() >= deadline, "sleep {index} woke early");
        }));
    }
    let count = tasks.len();
    eventually("every task registers its timer", || {
        registered.load(SeqCst) == count
    })
    .await;
    assert!(
        Instant::now() < first,
        "setup took longer than the margin before the first deadline; the machine is too loaded \
         for this ordering check"
    );
    for task in tasks {
        task.await.expect("sleeping task failed");
    }
    let log = log.lock().unwrap().clone();
    log
}

// ===== never early =====

rt_test!(a_sleep_is_never_early, |rt| {
    let _shared = shared();
    run_bounded("random sleeps", LIMIT, move || {
        rt.block_on(async {
            let mut rng = Rng::new(0x5eed_0001);
            // Many at once, 0..50 ms with microsecond parts, so deadlines fall inside ticks.
            let tasks: Vec<_> = (0..300)
                .map(|_| {
                    let requested = Duration::from_micros(rng.below(50_000));
                    runtime::spawn(async move {
                        let start = Instant::now();
                        sleep(requested).await;
                        let elapsed = start.elapsed();
                        assert!(
                            elapsed >= requested,
                            "sleep({requested:?}) returned after {elapsed:?}"
                        );
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("sleeping task failed");
            }
            // One after another, including the edges of a tick.
            let mut durations: Vec<Duration> = [0, 1, 999, 1_000, 1_001, 1_999, 2_000, 2_001]
                .into_iter()
                .map(Duration::from_micros)
                .collect();
            durations.extend((0..30).map(|_| Duration::from_micros(rng.below(5_000))));
            for requested in durations {
                let start = Instant::now();
                sleep(requested).await;
                let elapsed = start.elapsed();
                assert!(
                    elapsed >= requested,
                    "sleep({requested:?}) returned after {elapsed:?}"
                );
            }
        });
    });
});

rt_test!(sleep_until_is_never_early, |rt| {
    let _shared = shared();
    run_bounded("sleep_until", LIMIT, move || {
        rt.block_on(async {
            let mut rng = Rng::new(0x5eed_0002);
            for _ in 0..40 {
                let deadline = Instant::now() + Duration::from_micros(rng.below(4_000));
                sleep_until(deadline).await;
                assert!(
                    Instant::now() >= deadline,
                    "sleep_until woke before its deadline"
                );
            }
        });
    });
});

// ===== ordering =====

rt_test!(two_hundred_sleeps_fire_in_deadline_order, |rt| {
    let _shared = shared();
    run_bounded("200 ordered sleeps", LIMIT, move || {
        rt.block_on(async {
            // Distinct deadlines 1 ms apart (so in distinct ticks), spawned in random order.
            let base = Instant::now() + Duration::from_millis(300);
            let deadlines: Vec<Instant> = (0..200u64)
                .map(|i| base + Duration::from_millis(i))
                .collect();
            let mut order: Vec<usize> = (0..deadlines.len()).collect();
            Rng::new(0x5eed_0003).shuffle(&mut order);
            let fired = fire_order(deadlines, order).await;
            let expected: Vec<usize> = (0..200).collect();
            assert_eq!(fired, expected, "timers fired out of deadline order");
        });
    });
});

rt_test!(deadlines_across_wheel_levels_fire_in_order, |rt| {
    let _shared = shared();
    run_bounded("sleeps across wheel levels", LIMIT, move || {
        rt.block_on(async {
            // Level 0 covers 64 ms: these cross into level 1 and cascade back down.
            let offsets_ms = [
                3u64, 30, 62, 63, 64, 65, 66, 70, 100, 127, 128, 129, 130, 191, 192,
            ];
            let base = Instant::now() + Duration::from_millis(100);
            let deadlines: Vec<Instant> = offsets_ms
                .iter()
                .map(|&ms| base + Duration::from_millis(ms))
                .collect();
            let mut order: Vec<usize> = (0..deadlines.len()).collect();
            Rng::new(0x5eed_0004).shuffle(&mut order);
            let fired = fire_order(deadlines, order).await;
            let expected: Vec<usize> = (0..offsets_ms.len()).collect();
            assert_eq!(fired, expected, "timers fired out of deadline order");
        });
    });
});

// ===== past deadlines, deadline(), is_elapsed() =====

rt_test!(sleep_until_in_the_past_completes_at_once, |rt| {
    let _shared = shared();
    run_bounded("past deadlines", LIMIT, move || {
        rt.block_on(async {
            // The runtime has been running a while, as in any real program.
            sleep(Duration::from_millis(20)).await;
            let now = Instant::now();
            let past = [
                now - Duration::from_secs(1),
                now - Duration::from_millis(10),
                now - Duration::from_millis(1),
                now,
            ];
            let mut late = Vec::new();
            for deadline in past {
                let mut sleep = pin!(sleep_until(deadline));
                assert!(sleep.is_elapsed());
                if poll_once(sleep.as_mut()).await.is_pending() {
                    late.push(now - deadline);
                }
            }
            let mut zero = pin!(sleep(Duration::ZERO));
            if poll_once(zero.as_mut()).await.is_pending() {
                late.push(Duration::ZERO);
            }
            assert!(
                late.is_empty(),
                "sleeps whose deadline had passed (this long ago) were still pending on their \
                 first poll: {late:?}"
            );
        });
    });
});

rt_test!(deadline_and_is_elapsed_report_the_timer, |rt| {
    let _shared = shared();
    run_bounded("deadline and is_elapsed", LIMIT, move || {
        rt.block_on(async {
            // Far enough out that the checks before it are done first even on a loaded
            // machine.
            let at = Instant::now() + Duration::from_millis(200);
            let mut timer = pin!(sleep_until(at));
            assert_eq!(timer.deadline(), at);
            assert!(!timer.is_elapsed());

            let before = Instant::now();
            let relative = sleep(Duration::from_millis(20));
            let after = Instant::now();
            assert!(relative.deadline() >= before + Duration::from_millis(20));
            assert!(relative.deadline() <= after + Duration::from_millis(20));

            assert!(poll_once(timer.as_mut()).await.is_pending());
            assert!(!timer.is_elapsed());
            timer.as_mut().await;
            assert!(timer.is_elapsed());
            assert!(Instant::now() >= at);
            // A completed sleep stays complete.
            assert!(poll_once(timer.as_mut()).await.is_ready());
            drop(relative);
        });
    });
});

// ===== reset =====

rt_test!(reset_moves_the_deadline_of_an_unpolled_sleep, |rt| {
    let _shared = shared();
    run_bounded("reset before the first poll", LIMIT, move || {
        rt.block_on(async {
            let mut timer = pin!(sleep(Duration::from_secs(3600)));
            let new = Instant::now() + Duration::from_millis(10);
            timer.as_mut().reset(new);
            assert_eq!(timer.deadline(), new);
            timer.as_mut().await;
            assert!(Instant::now() >= new);
        });
    });
});

/// A sleep shared between the task that waits on it and another that resets it.
type SharedSleep = Arc<Mutex<Pin<Box<Sleep>>>>;

/// Spawns a task that waits on `timer` (polling it only when woken) and reports when it
/// has polled it once; returns its handle, which yields the instant the wait ended.
fn wait_on(timer: &SharedSleep, polled: &Arc<AtomicUsize>) -> runtime::task::JoinHandle<Instant> {
    let timer = timer.clone();
    let polled = polled.clone();
    runtime::spawn(async move {
        std::future::poll_fn(|cx| {
            let res = timer.lock().unwrap().as_mut().poll(cx);
            polled.fetch_add(1, SeqCst);
            res
        })
        .await;
        Instant::now()
    })
}

rt_test!(
    reset_to_an_earlier_deadline_wakes_the_waiting_task_then,
    |rt| {
        let _shared = shared();
        run_bounded("reset earlier", LIMIT, move || {
            rt.block_on(async {
                // Far enough out to sit in wheel level 2 (4096 ms and more).
                for far in [Duration::from_secs(3600), Duration::from_millis(5_000)] {
                    let timer: SharedSleep = Arc::new(Mutex::new(Box::pin(sleep(far))));
                    let polled = Arc::new(AtomicUsize::new(0));
                    let waiter = wait_on(&timer, &polled);
                    eventually("the waiter polls the sleep", || polled.load(SeqCst) >= 1).await;
                    let new = Instant::now() + Duration::from_millis(20);
                    timer.lock().unwrap().as_mut().reset(new);
                    let woke = support::guard("the waiter wakes at the new deadline", waiter)
                        .await
                        .expect("waiter failed");
                    assert!(woke >= new, "woke before the new deadline");
                    assert!(timer.lock().unwrap().is_elapsed());
                }
            });
        });
    }
);

rt_test!(
    reset_to_a_later_deadline_keeps_the_waiting_task_waiting,
    |rt| {
        let _shared = shared();
        run_bounded("reset later", LIMIT, move || {
            rt.block_on(async {
                let timer: SharedSleep =
                    Arc::new(Mutex::new(Box::pin(sleep(Duration::from_millis(20)))));
                let polled = Arc::new(AtomicUsize::new(0));
                let waiter = wait_on(&timer, &polled);
                eventually("the waiter polls the sleep", || polled.load(SeqCst) >= 1).await;
                let new = Instant::now() + Duration::from_millis(120);
                timer.lock().unwrap().as_mut().reset(new);
                let woke = support::guard("the waiter wakes at the new deadline", waiter)
                    .await
                    .expect("waiter failed");
                assert!(
                    woke >= new,
                    "the waiter completed at the old deadline instead of the new one"
                );
            });
        });
    }
);

rt_test!(reset_to_the_past_wakes_the_waiting_task_at_once, |rt| {
    let _shared = shared();
    run_bounded("reset to the past", LIMIT, move || {
        rt.block_on(async {
            let timer: SharedSleep =
                Arc::new(Mutex::new(Box::pin(sleep(Duration::from_secs(3600)))));
            let polled = Arc::new(AtomicUsize::new(0));
            let waiter = wait_on(&timer, &polled);
            eventually("the waiter polls the sleep", || polled.load(SeqCst) >= 1).await;
            timer.lock().unwrap().as_mut().reset(Instant::now());
            support::guard("the waiter wakes after a reset to now", waiter)
                .await
                .expect("waiter failed");
        });
    });
});

rt_test!(a_completed_sleep_can_be_reset_and_awaited_again, |rt| {
    let _shared = shared();
    run_bounded("reset after completion", LIMIT, move || {
        rt.block_on(async {
            let mut timer = pin!(sleep(Duration::from_millis(5)));
            timer.as_mut().await;
            for _ in 0..2 {
                let new = Instant::now() + Duration::from_millis(150);
                timer.as_mut().reset(new);
                assert!(!timer.is_elapsed());
                assert!(poll_once(timer.as_mut()).await.is_pending());
                timer.as_mut().await;
                assert!(Instant::now() >= new, "a reset sleep completed early");
            }
        });
    });
});

// ===== dropped timers leave nothing behind =====

/// Creates, polls once and drops `count` timeouts with varied deadlines (every wheel level).
async fn churn(count: u64) {
    for i in 0..count {
        // 1 ms .. about 5 hours: spread over the levels of the wheel.
        let after = Duration::from_millis(1 + (i * 7919) % 18_000_000) + Duration::from_secs(1);
        let mut timeout = pin!(runtime::time::timeout(after, std::future::pending::<()>()));
        assert!(poll_once(timeout.as_mut()).await.is_pending());
    }
}

rt_test!(dropped_timers_leave_no_memory_behind, |rt| {
    let _exclusive = exclusive();
    run_bounded(
        "100 000 timeouts churned",
        Duration::from_secs(60),
        move || {
            rt.block_on(async {
                // Warm-up: whatever the first round allocates once (queues, caches) stays.
                churn(100_000).await;
                runtime::yield_now().await;
                let before = LIVE_BYTES.load(SeqCst);
                churn(100_000).await;
                runtime::yield_now().await;
                let after = LIVE_BYTES.load(SeqCst);
                const SLACK: isize = 64 * 1024;
                assert!(
                after <= before + SLACK,
                "100 000 created-and-dropped timeouts grew live memory from {before} to {after} \
                 bytes"
            );
            });
            drop(rt);
        },
    );
});

rt_test!(dropped_sleeps_do_not_fire_or_disturb_others, |rt| {
    let _shared = shared();
    run_bounded("dropped sleeps", LIMIT, move || {
        rt.block_on(async {
            // Many timers due soon, dropped after one poll; a survivor still fires on time.
            for i in 0..1_000u64 {
                let mut s = pin!(sleep(Duration::from_micros(i * 10)));
                let _ = poll_once(s.as_mut()).await;
            }
            let start = Instant::now();
            sleep(Duration::from_millis(30)).await;
            assert!(start.elapsed() >= Duration::from_millis(30));
        });
    });
});

// ===== far deadlines =====

rt_test!(far_future_timers_can_be_created_polled_and_dropped, |rt| {
    let _shared = shared();
    run_bounded("far-future timers", LIMIT, move || {
        rt.block_on(async {
            // Let the clock run a little first, as in any real program.
            sleep(Duration::from_millis(3)).await;
            let fars = [
                Duration::from_secs(3600),
                Duration::from_secs(86_400),
                Duration::from_secs(86_400 * 30),
                Duration::from_secs(86_400 * 365),
                Duration::from_secs(86_400 * 365 * 3),
                Duration::MAX,
            ];
            let mut sleeps: Vec<Pin<Box<Sleep>>> =
                fars.iter().map(|&d| Box::pin(sleep(d))).collect();
            let year = Instant::now() + Duration::from_secs(86_400 * 365);
            assert!(
                sleeps[5].deadline() > year,
                "Duration::MAX gave a near deadline"
            );
            for s in sleeps.iter_mut() {
                assert!(poll_once(s.as_mut()).await.is_pending());
                assert!(!s.is_elapsed());
            }
            // Timers near and far together: the near one still fires.
            let start = Instant::now();
            sleep(Duration::from_millis(10)).await;
            assert!(start.elapsed() >= Duration::from_millis(10));
            for s in sleeps.iter_mut() {
                assert!(poll_once(s.as_mut()).await.is_pending());
            }
            drop(sleeps);
            sleep(Duration::from_millis(5)).await;
        });
    });
});

rt_test!(a_lone_far_future_timer_lets_the_runtime_run, |rt| {
    let _shared = shared();
    run_bounded("a lone Duration::MAX timer", LIMIT, move || {
        rt.block_on(async {
            sleep(Duration::from_millis(3)).await;
            // Only far timers pending while the runtime parks and turns.
            let mut far = pin!(sleep(Duration::MAX));
            assert!(poll_once(far.as_mut()).await.is_pending());
            let spawned = runtime::spawn(async {
                sleep(Duration::from_millis(5)).await;
                7
            });
            assert_eq!(spawned.await.unwrap(), 7);
            for _ in 0..10 {
                runtime::yield_now().await;
            }
            assert!(poll_once(far.as_mut()).await.is_pending());
        });
    });
});

// ===== outside a runtime =====

#[test]
fn sleep_outside_a_runtime_panics_with_a_clear_message() {
    let _shared = shared();
    let cases: [(&str, fn()); 3] = [
        ("sleep", || drop(sleep(Duration::from_millis(1)))),
        ("sleep_until", || drop(sleep_until(Instant::now()))),
        ("timeout", || {
            drop(runtime::time::timeout(
                Duration::from_millis(1),
                std::future::ready(()),
            ))
        }),
    ];
    for (what, f) in cases {
        let payload = std::panic::catch_unwind(f).expect_err(what);
        let msg = panic_message(&*payload);
        assert!(
            msg.contains("must be called from the context of a runtime"),
            "{what} outside a runtime panicked with: {msg}"
        );
    }
}

rt_test!(
    a_sleep_outliving_its_runtime_panics_instead_of_hanging,
    |rt| {
        let _shared = shared();
        let handle = rt.handle().clone();
        let (started_tx, started) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            handle.block_on(async move {
                let mut timer = pin!(sleep(Duration::from_secs(3600)));
                assert!(poll_once(timer.as_mut()).await.is_pending());
                started_tx.send(()).unwrap();
                timer.await;
            })
        });
        started
            .recv_timeout(Duration::from_secs(5))
            .expect("the sleep never started waiting");
        drop(rt);
        let joined = run_bounded("the waiting thread ends", LIMIT, move || waiter.join());
        let payload = joined.expect_err("a sleep completed after its runtime was dropped");
        let msg = panic_message(&*payload);
        assert!(
            msg.contains("runtime shut down"),
            "unexpected panic from a sleep whose runtime was dropped: {msg}"
        );
    }
);

// ===== a waker that drops timers (tokio's `drop_from_wake`) =====

/// When woken, drops every sleep in the shared list, some of them timers the driver is firing
/// at that moment; records whether doing so panicked.
struct DropSleepsOnWake {
    sleeps: Mutex<Vec<Pin<Box<Sleep>>>>,
    panicked: std::sync::atomic::AtomicBool,
}

impl Wake for DropSleepsOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let taken = std::mem::take(&mut *self.sleeps.lock().unwrap());
            drop(taken);
        }));
        if dropped.is_err() {
            self.panicked.store(true, SeqCst);
        }
    }
}

rt_test!(
    a_waker_that_drops_firing_timers_neither_panics_nor_deadlocks,
    |rt| {
        run_bounded("drop sleeps from their own waker", LIMIT, move || {
            rt.block_on(async {
                let shared = Arc::new(DropSleepsOnWake {
                    sleeps: Mutex::new(Vec::new()),
                    panicked: std::sync::atomic::AtomicBool::new(false),
                });
                let waker = Waker::from(shared.clone());
                {
                    let mut sleeps = shared.sleeps.lock().unwrap();
                    for _ in 0..100 {
                        let mut timer = Box::pin(sleep(Duration::from_millis(10)));
                        let polled = timer.as_mut().poll(&mut Context::from_waker(&waker));
                        assert!(polled.is_pending());
                        sleeps.push(timer);
                    }
                }
                sleep(Duration::from_millis(20)).await;
                assert!(!shared.panicked.load(SeqCst));
                assert!(shared.sleeps.lock().unwrap().is_empty(), "the wake ran");
                // The timer driver still works afterwards.
                sleep(Duration::from_millis(1)).await;
            });
        });
    }
);
