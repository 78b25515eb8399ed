//! The runtime's clock, and the virtual time of tests: [`pause`], [`advance`], [`resume`].
//!
//! # Mechanism
//!
//! Each runtime's time driver owns a `Clock`. It reads std's `Instant::now()` untouched
//! until the clock is first paused; from then on it is
//!
//! - *paused*: a frozen instant (`base`) that only [`advance`] and the driver's
//!   auto-advance move forward;
//! - *resumed*: `base + (std now - resumed_at)`, real time again but continuing from the
//!   virtual time reached, so the clock never goes back and the wheel's ticks stay
//!   monotonic.
//!
//! The state sits behind a small mutex; the hot path never takes it: a relaxed load of
//! `mode` says whether the clock was ever paused, and while it wasn't, `now` is std's.
//! [`Instant::now`](crate::time::Instant::now) finds the current runtime's clock through the
//! thread-local context, and skips even that while no clock of the process is paused or
//! shifted (one relaxed load of a process-wide count).
//!
//! # Auto-advance
//!
//! With the clock paused, a driver turn that would wait first polls the OS without
//! waiting; if nothing arrived (no IO event, no unpark: no task became runnable) and no
//! `spawn_blocking` job is in flight, it moves the clock to the next timer and fires it
//! instead of sleeping. The blocking jobs are counted by the [`Gate`]: a job's end wakes
//! its joiner (an unpark) *before* it leaves the gate, and the driver reads the gate
//! *before* it polls, so a driver that sees the gate open also sees that wake (the loom
//! model below checks this order).
//!
//! Only the current-thread flavor can pause: on the multi-thread flavor "the runtime is
//! idle" would have to be agreed by every worker and the blocking pool at once, so
//! [`pause`] panics there instead of jumping while a worker still runs.

use crate::loom::atomic::{AtomicUsize, Ordering};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
// The clock's state is not shared with anything a loom model runs; only the gate is.
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

/// Never paused: `now` is std's.
const REAL: u8 = 0;
const PAUSED: u8 = 1;
/// Paused once and resumed: `now` is real time shifted to continue the virtual time.
const SHIFTED: u8 = 2;

/// Clocks of this process that are not `REAL`: while zero, `Instant::now()` needs no
/// look-up of the current runtime.
static UNREAL_CLOCKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub(crate) const NOT_PAUSABLE: &str = "the clock of a multi-thread runtime can't be paused: \
use a current-thread runtime (`#[runtime::test]`, whose default flavor it is, \
`#[runtime::test(start_paused = true)]`, or `Builder::new_current_thread()`)";

pub(crate) struct Clock {
    /// Tick 0 of the timing wheel.
    origin: StdInstant,
    pausable: bool,
    /// `REAL`, `PAUSED` or `SHIFTED`: the hot path's hint; `state` is the truth.
    mode: AtomicU8,
    state: Mutex<State>,
    gate: Gate,
}

struct State {
    paused: bool,
    /// Paused: now. Otherwise the clock's time at `resumed_at`.
    base: StdInstant,
    resumed_at: StdInstant,
}

impl State {
    fn now(&self) -> StdInstant {
        if self.paused {
            self.base
        } else {
            self.base + StdInstant::now().saturating_duration_since(self.resumed_at)
        }
    }
}

impl Clock {
    /// A clock starting now; `pausable` for the current-thread flavor only.
    pub(crate) fn new(pausable: bool, start_paused: bool) -> Clock {
        let origin = StdInstant::now();
        let clock = Clock {
            origin,
            pausable,
            mode: AtomicU8::new(REAL),
            state: Mutex::new(State {
                paused: false,
                base: origin,
                resumed_at: origin,
            }),
            gate: Gate::new(),
        };
        if start_paused {
            clock.pause();
        }
        clock
    }

    pub(crate) fn origin(&self) -> StdInstant {
        self.origin
    }

    #[inline]
    pub(crate) fn now(&self) -> StdInstant {
        if self.mode.load(Relaxed) == REAL {
            return StdInstant::now();
        }
        self.lock().now()
    }

    /// One relaxed load: the driver's test for the paused path.
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.mode.load(Relaxed) == PAUSED
    }

    pub(crate) fn is_pausable(&self) -> bool {
        self.pausable
    }

    pub(crate) fn gate(&self) -> &Gate {
        &self.gate
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Freezes the clock, at the next whole millisecond of the wheel: then deadlines a
    /// whole number of milliseconds away fall on ticks, and a jump to a timer's tick
    /// lands exactly on its deadline.
    #[track_caller]
    pub(crate) fn pause(&self) {
        assert!(self.pausable, "{NOT_PAUSABLE}");
        let mut state = self.lock();
        if state.paused {
            drop(state);
            panic!("`time::pause` was called while the clock is already paused");
        }
        let since = state.now().saturating_duration_since(self.origin);
        let mut ms = since.as_millis() as u64;
        if since > Duration::from_millis(ms) {
            ms += 1;
        }
        state.base = self.origin + Duration::from_millis(ms);
        state.paused = true;
        if self.mode.swap(PAUSED, Relaxed) == REAL {
            UNREAL_CLOCKS.fetch_add(1, Relaxed);
        }
    }

    /// Lets the clock run again from the virtual time reached.
    #[track_caller]
    pub(crate) fn resume(&self) {
        let mut state = self.lock();
        if !state.paused {
            drop(state);
            panic!("`time::resume` was called while the clock is not paused");
        }
        state.paused = false;
        state.resumed_at = StdInstant::now();
        self.mode.store(SHIFTED, Relaxed);
    }

    /// Moves a paused clock forward to `to` (never back); `false` if it isn't paused.
    pub(crate) fn advance_to(&self, to: StdInstant) -> bool {
        let mut state = self.lock();
        if !state.paused {
            return false;
        }
        state.base = state.base.max(to);
        true
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        if self.mode.load(Relaxed) != REAL {
            UNREAL_CLOCKS.fetch_sub(1, Relaxed);
        }
    }
}

/// The current runtime's now (std's outside a runtime).
pub(crate) fn now() -> StdInstant {
    if UNREAL_CLOCKS.load(Relaxed) == 0 {
        return StdInstant::now();
    }
    crate::context::try_with_current_handle(|handle| handle.inner.driver().time.now())
        .unwrap_or_else(StdInstant::now)
}

/// Whether the current runtime's clock was ever paused (so it is not std's).
#[cfg(feature = "hyper")]
pub(crate) fn is_virtual() -> bool {
    UNREAL_CLOCKS.load(Relaxed) != 0
        && crate::context::try_with_current_handle(|handle| {
            handle.inner.driver().time.clock().mode.load(Relaxed) != REAL
        })
        .unwrap_or(false)
}

/// Counts the `spawn_blocking` jobs in flight (queued or running) on a runtime whose clock
/// can pause; auto-advance waits while any is.
pub(crate) struct Gate {
    in_flight: AtomicUsize,
}

impl Gate {
    pub(crate) fn new() -> Gate {
        Gate {
            in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn enter(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A job is done, after it woke its joiner. `true` if it was the last one in flight
    /// (the caller then unparks the driver, which may now auto-advance).
    pub(crate) fn exit(&self) -> bool {
        // Release: the joiner's wake, made before, is seen by a driver that sees the gate
        // open.
        self.in_flight.fetch_sub(1, Ordering::Release) == 1
    }

    /// Whether no job is in flight; read before the driver polls for wakes.
    pub(crate) fn is_open(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

// ===== the public functions =====

/// The current runtime's time handle, or a panic naming `what` was called outside one.
#[track_caller]
fn current_time(what: &str) -> crate::time::driver::TimeHandle {
    match crate::context::try_with_current_handle(|handle| handle.inner.driver().time.clone()) {
        Some(time) => time,
        None => panic!(
            "`time::{what}` was called outside a runtime: call it inside `Runtime::block_on`, \
             `#[runtime::test]` or a task"
        ),
    }
}

/// Pauses the current runtime's clock: [`Instant::now`](crate::time::Instant::now) stops
/// (at the next whole millisecond) and moves only by [`advance`], or when the runtime has
/// nothing to do and jumps to its next timer instead of sleeping (*auto-advance*).
///
/// Auto-advance happens when no task is ready to run, no IO event or cross-thread wake has
/// arrived, and no `spawn_blocking` job is queued or running; then the clock moves to the
/// next timer's deadline and fires it, so an hour-long `sleep` in a paused test returns at
/// once, exactly an hour later on the virtual clock. With no timer at all the runtime parks
/// as usual, and IO and wakes from other threads still arrive. Timers keep the wheel's
/// 1 ms resolution.
///
/// Only a current-thread runtime's clock can pause (see the panics), so tests pause
/// on `#[runtime::test]`, or from the start with
/// `#[runtime::test(start_paused = true)]` or [`Builder::start_paused`](crate::Builder::start_paused).
///
/// # Panics
///
/// Outside a runtime; on a multi-thread runtime (its workers would have to agree that all
/// of them are idle, which they don't track); when the clock is already paused.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{pause, sleep, Duration, Instant};
/// pause();
/// let start = Instant::now();
/// sleep(Duration::from_secs(3600)).await; // returns at once, in real time
/// assert_eq!(Instant::now() - start, Duration::from_secs(3600));
/// # }
/// ```
#[track_caller]
pub fn pause() {
    current_time("pause").clock().pause();
}

/// Lets the paused clock run again, continuing from the virtual time it reached (it never
/// goes back); timers then fire in real time.
///
/// # Panics
///
/// Outside a runtime, or when the clock is not paused.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{advance, pause, resume, sleep, Duration, Instant};
/// pause();
/// let start = Instant::now();
/// advance(Duration::from_secs(60)).await;
/// resume();
/// sleep(Duration::from_millis(2)).await; // a real 2 ms
/// assert!(Instant::now() - start >= Duration::from_millis(60_002));
/// # }
/// ```
#[track_caller]
pub fn resume() {
    let time = current_time("resume");
    time.clock().resume();
    // A driver parked on another thread recomputes its timeout in real time.
    time.unpark();
}

/// How many scheduler rounds [`advance`] gives the tasks its timers woke, at most, per
/// step: enough for them and what they wake in turn to settle; bounded, so a task that
/// yields forever can't hold `advance` up.
const SETTLE_ROUNDS: usize = 32;

/// Moves the paused clock forward by `duration`, firing every timer that comes due on the
/// way, in deadline order, each with the clock at its own deadline; the tasks a timer wakes
/// (and those they wake in turn) run before the clock moves on, and before `advance`
/// returns. Afterwards [`Instant::now`](crate::time::Instant::now) is exactly `duration`
/// later than before.
///
/// Tasks that are ready to run when it is called (just spawned, say) run first, with the
/// clock where it was, so the timers they start are among those it fires.
///
/// Timers have the wheel's 1 ms resolution: one due within `duration` but whose deadline,
/// rounded up to the millisecond, lies beyond it fires later (whole-millisecond deadlines
/// on a clock paused by [`pause`] are exact).
///
/// # Panics
///
/// When polled outside a runtime, when the clock is not paused (call [`pause`] first), or
/// when `Instant::now() + duration` overflows.
///
/// # Cancel safety
///
/// Dropping it stops the clock where it had got to: the timers fired so far stay fired.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{advance, pause, sleep, Duration, Instant};
/// pause();
/// let start = Instant::now();
/// let timer = runtime::spawn(async move {
///     sleep(Duration::from_millis(250)).await;
///     Instant::now() - start
/// });
/// advance(Duration::from_secs(1)).await;
/// assert!(timer.is_finished());
/// assert_eq!(timer.await.unwrap(), Duration::from_millis(250)); // woken at its deadline
/// assert_eq!(Instant::now() - start, Duration::from_secs(1));
/// # }
/// ```
pub async fn advance(duration: Duration) {
    let time = current_time("advance");
    let clock = time.clock();
    if !clock.is_paused() {
        panic!("`time::advance` needs a paused clock: call `time::pause()` first");
    }
    let target = clock
        .now()
        .checked_add(duration)
        .expect("`time::advance` overflowed the clock: the duration is too long");
    settle().await;
    while let Some(next) = time.next_timer().filter(|&at| at <= target) {
        if !clock.advance_to(next) {
            // Resumed meanwhile (from another thread): real time goes on from here.
            return;
        }
        settle().await;
    }
    clock.advance_to(target);
    settle().await;
}

/// One driver turn (which fires what came due), then scheduler rounds until no task is
/// ready (at most [`SETTLE_ROUNDS`]). The clock doesn't move meanwhile: auto-advance waits
/// for a runtime with nothing to run, and this task is runnable until it returns.
async fn settle() {
    crate::yield_now().await;
    for _ in 0..SETTLE_ROUNDS {
        if !crate::scheduler::has_ready_tasks() {
            break;
        }
        crate::yield_now().await;
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::Gate;
    use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::{thread, Arc};

    /// A blocking job ends while the paused driver looks for work. If the driver sees no
    /// job in flight, it must also see the wake of the job's joiner, or it would jump the
    /// clock past a task about to run; if it sees the gate closed and no wake, it parks,
    /// and the job's end must unpark it (also for a detached job, which wakes no joiner).
    #[test]
    fn loom_gate_open_implies_wake_seen() {
        for detached in [false, true] {
            loom::model(move || {
                let gate = Arc::new(Gate::new());
                // The reactor's waker (an eventfd): an unpark adds, the driver's poll
                // reads and resets.
                let unparks = Arc::new(AtomicUsize::new(0));
                gate.enter();
                let job = {
                    let (gate, unparks) = (gate.clone(), unparks.clone());
                    thread::spawn(move || {
                        if !detached {
                            // Completion wakes the joiner: schedule it, unpark the driver.
                            unparks.fetch_add(1, SeqCst);
                        }
                        if gate.exit() {
                            unparks.fetch_add(1, SeqCst);
                        }
                    })
                };
                // The driver's paused turn: the gate first, then the poll for wakes.
                let open = gate.is_open();
                let woke = unparks.swap(0, SeqCst) > 0;
                if open && !detached {
                    assert!(
                        woke,
                        "gate open but the joiner's wake unseen: the clock would jump"
                    );
                }
                job.join().unwrap();
                if !open && !woke {
                    assert!(
                        unparks.load(SeqCst) > 0,
                        "the parked driver is never unparked"
                    );
                }
            });
        }
    }
}
