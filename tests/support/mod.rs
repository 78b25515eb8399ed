//! Helpers shared by the runtime integration tests.
//!
//! Each test file pulls this in with `#[macro_use] mod support;` and uses only part of it,
//! hence the `dead_code` allowance.

#![allow(dead_code)]

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use runtime::Runtime;

pub(crate) mod example;

/// How long a helper waits for something that must happen before it declares a hang.
///
/// This is a guard against a test that would otherwise never end, not a speed claim: the
/// conditions it guards take microseconds when the runtime is correct.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(30);

/// The two scheduler flavors every common test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_current_thread()`: tasks run on the thread inside `block_on`.
    CurrentThread,
    /// `Builder::new_multi_thread().worker_threads(2)`.
    MultiThread,
}

impl Flavor {
    /// Number of workers `RuntimeMetrics::workers` reports for this flavor.
    pub(crate) fn workers(self) -> usize {
        match self {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread => 2,
        }
    }

    /// Builds a runtime of this flavor.
    pub(crate) fn build(self) -> Runtime {
        let built = match self {
            Flavor::CurrentThread => runtime::Builder::new_current_thread().build(),
            Flavor::MultiThread => runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build(),
        };
        built.expect("building the test runtime")
    }
}

/// Defines a test module `$name` with one `#[test]` per flavor (`current_thread`,
/// `multi_thread`), each building its runtime and running the body with it.
///
/// `rt_test!(name, |rt| { ... })` or, when the body needs to know the flavor,
/// `rt_test!(name, |rt, flavor| { ... })`. Attributes written before the name (such as
/// `#[should_panic(expected = "...")]`) are put on both tests.
#[allow(unused_macros)] // test files that only run examples don't use it
macro_rules! rt_test {
    ($(#[$meta:meta])* $name:ident, |$rt:ident| $body:block) => {
        rt_test!($(#[$meta])* $name, |$rt, _flavor| $body);
    };
    ($(#[$meta:meta])* $name:ident, |$rt:ident, $flavor:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[test]
            fn current_thread() {
                let $flavor = crate::support::Flavor::CurrentThread;
                let $rt = $flavor.build();
                $body
            }

            $(#[$meta])*
            #[test]
            fn multi_thread() {
                let $flavor = crate::support::Flavor::MultiThread;
                let $rt = $flavor.build();
                $body
            }
        }
    };
}

// ===== Gate =====

/// A one-way signal that tasks can await and any thread can open.
///
/// Written here rather than taken from the crate under test so that a test of the executor
/// doesn't depend on the primitives being right.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate {
    inner: Arc<Mutex<GateState>>,
}

#[derive(Debug, Default)]
struct GateState {
    open: bool,
    wakers: Vec<Waker>,
}

impl Gate {
    /// A closed gate.
    pub(crate) fn new() -> Gate {
        Gate::default()
    }

    /// Opens the gate and wakes every waiter; later waits complete at once.
    pub(crate) fn open(&self) {
        let wakers = {
            let mut state = self.inner.lock().expect("gate lock poisoned");
            state.open = true;
            std::mem::take(&mut state.wakers)
        };
        // Woken outside the lock: a waker may run the task inline on some executors.
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether `open` was called.
    pub(crate) fn is_open(&self) -> bool {
        self.inner.lock().expect("gate lock poisoned").open
    }

    /// Completes once the gate is open.
    pub(crate) fn wait(&self) -> GateWait {
        GateWait { gate: self.clone() }
    }
}

/// Future returned by [`Gate::wait`].
#[derive(Debug)]
pub(crate) struct GateWait {
    gate: Gate,
}

impl Future for GateWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.gate.inner.lock().expect("gate lock poisoned");
        if state.open {
            return Poll::Ready(());
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

// ===== Latch =====

/// A one-way signal for plain threads (and for task bodies that must block their worker
/// on purpose).
#[derive(Clone, Debug, Default)]
pub(crate) struct Latch {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Latch {
    /// A closed latch.
    pub(crate) fn new() -> Latch {
        Latch::default()
    }

    /// Opens the latch, releasing every thread blocked in `wait_blocking`.
    pub(crate) fn release(&self) {
        let (open, cond) = &*self.inner;
        *open.lock().expect("latch lock poisoned") = true;
        cond.notify_all();
    }

    /// Blocks the calling thread until `release` is called.
    pub(crate) fn wait_blocking(&self) {
        let (open, cond) = &*self.inner;
        let mut open = open.lock().expect("latch lock poisoned");
        while !*open {
            open = cond.wait(open).expect("latch lock poisoned");
        }
    }
}

/// Releases its latch when dropped, so a failing assertion can't leave threads blocked.
#[derive(Debug)]
pub(crate) struct ReleaseOnDrop(pub(crate) Latch);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

// ===== DropCounter =====

/// Counts how many of its guards were dropped.
#[derive(Clone, Debug, Default)]
pub(crate) struct DropCounter {
    dropped: Arc<AtomicUsize>,
}

impl DropCounter {
    /// A counter at zero.
    pub(crate) fn new() -> DropCounter {
        DropCounter::default()
    }

    /// A guard that adds one to the counter when dropped.
    pub(crate) fn guard(&self) -> DropGuard {
        DropGuard {
            dropped: self.dropped.clone(),
        }
    }

    /// Number of guards dropped so far.
    pub(crate) fn count(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Adds one to its [`DropCounter`] when dropped; move it into a future to observe that
/// the future was dropped.
#[derive(Debug)]
pub(crate) struct DropGuard {
    dropped: Arc<AtomicUsize>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

// ===== waiting without hanging =====

/// Yields to the runtime until `cond` holds; panics naming `what` if it doesn't within
/// [`HANG_GUARD`].
///
/// Yielding (not sleeping) keeps a current-thread runtime running its other tasks.
pub(crate) async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG_GUARD;
    let mut turns: u32 = 0;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        runtime::yield_now().await;
        turns += 1;
        // After a burst of yields, let the other threads have the cores for a moment.
        if turns == 64 {
            turns = 0;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Sleeps 1 ms at a time until `cond` holds; panics naming `what` if it doesn't within
/// [`HANG_GUARD`]. For plain threads, outside any runtime.
pub(crate) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG_GUARD;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Drives the runtime until it reports no alive task; panics if that doesn't happen
/// within [`HANG_GUARD`].
///
/// A task may be released a little after its JoinHandle resolves, hence the wait; it runs
/// inside `block_on` so that a current-thread runtime gets the turns it needs.
pub(crate) fn wait_no_alive_tasks(rt: &Runtime) {
    let handle = rt.handle().clone();
    rt.block_on(eventually("alive_tasks returns to 0", move || {
        handle.metrics().alive_tasks == 0
    }));
}

/// Polls `fut` to completion on the calling plain thread (outside any runtime), like
/// `futures::executor::block_on`, but panics if it is still pending after [`HANG_GUARD`].
pub(crate) fn block_on_outside<F: Future>(fut: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        let now = Instant::now();
        assert!(now < deadline, "future still pending: nothing woke it");
        std::thread::park_timeout(deadline - now);
    }
}

/// Aborts the whole test process if it is still alive after `limit`: for stress tests,
/// where a lost wake-up would otherwise hang the run forever.
///
/// Dropping it (at the end of the test) disarms it.
#[derive(Debug)]
pub(crate) struct Watchdog {
    disarm: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Arms a watchdog for the work described by `what`.
    pub(crate) fn arm(what: &'static str, limit: Duration) -> Watchdog {
        let (disarm, disarmed) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(limit) {
                eprintln!("hang: {what} still running after {limit:?}; aborting");
                std::process::abort();
            }
        });
        Watchdog {
            disarm: Some(disarm),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The text of a panic payload (`&'static str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

// ===== time and IO helpers =====

/// How long an IO or timer test waits for something that must happen before it declares a
/// hang (a bound, not a speed claim).
pub(crate) const IO_GUARD: Duration = Duration::from_secs(10);

/// Awaits `fut`, panicking naming `what` if it is still pending after [`IO_GUARD`].
///
/// Uses the runtime's own `timeout`, so it needs the timers to work; tests of the timers
/// themselves bound their waits with [`run_bounded`] instead.
pub(crate) async fn guard<F: Future>(what: &str, fut: F) -> F::Output {
    match runtime::time::timeout(IO_GUARD, fut).await {
        Ok(out) => out,
        Err(_) => panic!("hang: {what} still pending after {IO_GUARD:?}"),
    }
}

/// Polls `fut` exactly once with the task's context and returns what that poll gave.
pub(crate) async fn poll_once<F: Future + ?Sized>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Runs `f` on its own thread and returns its result; panics naming `what` if it hasn't
/// returned within `limit` (the thread is then left behind, so a deadlock in the code
/// under test fails the test instead of hanging the whole run). A panic inside `f` is
/// passed on.
pub(crate) fn run_bounded<R: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = done.send(out);
    });
    match result.recv_timeout(limit) {
        Ok(Ok(out)) => out,
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("hang: {what} did not finish within {limit:?}"),
    }
}

/// A small deterministic pseudo-random generator (xorshift64*), so a failing run can be
/// replayed from its seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is remapped).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// `len` bytes of a pattern that depends on `seed`, so a mixed-up or shifted stream is
/// caught by a byte comparison.
pub(crate) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}
