//! `Interval`: a periodic tick, with a choice of what to do about missed ticks.

use crate::time::sleep::{sleep_until, Sleep};
use crate::time::Instant;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Ticks every `period`, the first tick completing at once.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// let mut interval = runtime::time::interval(Duration::from_millis(5));
/// let first = interval.tick().await; // at once
/// let second = interval.tick().await;
/// assert!(second - first >= Duration::from_millis(5));
/// # }
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{interval_at, Duration, Instant};
/// let start = Instant::now() + Duration::from_millis(5);
/// let mut interval = interval_at(start, Duration::from_millis(2));
/// assert_eq!(interval.tick().await, start); // the first tick waits for `start`
/// assert!(Instant::now() >= start);
/// assert_eq!(interval.tick().await, start + Duration::from_millis(2));
/// # }
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "`interval` period must be non-zero; use `yield_now` in a loop to spin"
    );
    Interval {
        delay: Box::pin(sleep_until(start)),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed (the task was late to call `tick`).
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{interval, Duration, MissedTickBehavior};
/// let period = Duration::from_millis(2);
/// let mut ticks = interval(period);
/// ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// ticks.tick().await;
/// std::thread::sleep(5 * period); // the task is busy and misses some ticks
/// let late = ticks.tick().await; // the overdue tick, at once
/// let next = ticks.tick().await; // the missed ones are skipped, the phase is kept
/// assert!(next - late > period);
/// assert_eq!((next - late).as_nanos() % period.as_nanos(), 0);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the original schedule.
    #[default]
    Burst,
    /// Start a new schedule from now: the next tick is one period after this late one.
    Delay,
    /// Drop the missed ticks and keep the original phase: the next tick is the next
    /// multiple of the period that lies in the future.
    Skip,
}

/// Periodic ticks; made by [`interval`] and [`interval_at`].
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{interval, Duration};
/// let mut heartbeat = interval(Duration::from_millis(1));
/// let mut beats = 0;
/// while beats < 3 {
///     heartbeat.tick().await;
///     beats += 1; // send a heartbeat here
/// }
/// assert_eq!(beats, 3);
/// # }
/// ```
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a tick not returned is returned by the next call.
    ///
    /// # Panics
    ///
    /// When polled after its runtime shut down, as [`Sleep`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{interval, Duration};
    /// let period = Duration::from_millis(2);
    /// let mut interval = interval(period);
    /// let first = interval.tick().await;
    /// let second = interval.tick().await;
    /// assert_eq!(second - first, period); // the scheduled instants, a period apart
    /// # }
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick (see [`tick`](Interval::tick)), for hand-written futures;
    /// on `Pending` the waker of `cx` is woken at the tick.
    ///
    /// # Panics
    ///
    /// When polled after its runtime shut down, as [`Sleep`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{interval, Duration};
    /// let mut interval = interval(Duration::from_millis(1));
    /// let first = std::future::poll_fn(|cx| interval.poll_tick(cx)).await;
    /// let second = std::future::poll_fn(|cx| interval.poll_tick(cx)).await;
    /// assert!(second > first);
    /// # }
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(self.delay.as_mut().poll(cx));
        let scheduled = self.delay.deadline();
        let now = Instant::from_std(self.delay.now());
        let next = match self.missed_tick_behavior {
            MissedTickBehavior::Burst => scheduled + self.period,
            MissedTickBehavior::Delay if now > scheduled + self.period => now + self.period,
            MissedTickBehavior::Delay => scheduled + self.period,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let periods = behind / self.period.as_nanos() + 1;
                scheduled + self.period * u32::try_from(periods).unwrap_or(u32::MAX)
            }
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{interval, Duration, Instant};
    /// let period = Duration::from_millis(2);
    /// let mut idle_timer = interval(period);
    /// idle_timer.tick().await; // the first tick is at once
    /// let reset_at = Instant::now();
    /// idle_timer.reset(); // activity: push the next tick back
    /// assert!(idle_timer.tick().await >= reset_at + period);
    /// # }
    /// ```
    pub fn reset(&mut self) {
        let now = Instant::from_std(self.delay.now());
        self.delay.as_mut().reset(now + self.period);
    }

    /// The period.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{interval, Duration};
    /// assert_eq!(interval(Duration::from_millis(3)).period(), Duration::from_millis(3));
    /// # }
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The current missed-tick policy ([`MissedTickBehavior::Burst`] unless set).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{interval, Duration, MissedTickBehavior};
    /// let interval = interval(Duration::from_millis(1));
    /// assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// # }
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the missed-tick policy; it applies from the next tick on.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{interval, Duration, MissedTickBehavior};
    /// let period = Duration::from_millis(2);
    /// let mut ticks = interval(period);
    /// ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// ticks.tick().await;
    /// std::thread::sleep(3 * period); // the task is busy and misses some ticks
    /// let late = ticks.tick().await; // the overdue tick, at once
    /// let next = ticks.tick().await; // a full period after the late one, not sooner
    /// assert!(next - late >= 3 * period);
    /// # }
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed_tick_behavior)
            .finish()
    }
}
