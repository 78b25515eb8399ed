//! `Sleep`, `sleep`, `sleep_until`.

use crate::coop;
use crate::time::driver::TimeHandle;
use crate::time::entry::TimerNode;
use crate::time::Instant;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Waits until `duration` has passed on the runtime's clock. Never completes early;
/// completes at the first driver turn at or after the deadline (1 ms resolution). On a
/// paused clock (see [`pause`](crate::time::pause)) it completes when the clock gets there.
///
/// # Panics
///
/// Outside a runtime (the timer needs one), or when polled after its runtime shut down.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = std::time::Instant::now();
/// runtime::time::sleep(std::time::Duration::from_millis(20)).await;
/// assert!(start.elapsed() >= std::time::Duration::from_millis(20));
/// # }
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = crate::driver::Handle::with_current(|driver| driver.time.clone());
    let deadline = deadline_after(&handle, duration);
    Sleep::new(handle, deadline, !duration.is_zero())
}

/// Waits until `deadline`. See [`sleep`].
///
/// # Panics
///
/// As [`sleep`].
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{sleep_until, Duration, Instant};
/// let deadline = Instant::now() + Duration::from_millis(5);
/// sleep_until(deadline).await;
/// assert!(Instant::now() >= deadline);
/// # }
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    let handle = crate::driver::Handle::with_current(|driver| driver.time.clone());
    Sleep::new(handle, deadline.into_std(), false)
}

/// `now + duration` on `handle`'s clock, saturating at a deadline decades away.
pub(crate) fn deadline_after(handle: &TimeHandle, duration: Duration) -> std::time::Instant {
    let now = handle.now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

/// A future that completes at a deadline; made by [`sleep`] and [`sleep_until`].
///
/// It takes a timer-wheel slot only once polled, and gives it back when dropped.
///
/// # Cancel safety
///
/// Dropping it cancels the timer; nothing else is lost.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{sleep, Duration, Instant};
/// // Pinned, a `Sleep` can be polled through `&mut` and kept, e.g. across a loop.
/// let mut timer = std::pin::pin!(sleep(Duration::from_millis(5)));
/// let deadline = timer.deadline();
/// timer.as_mut().await;
/// assert!(Instant::now() >= deadline && timer.is_elapsed());
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: std::time::Instant,
    handle: TimeHandle,
    /// Whether the node was ever inserted (only the owner touches this).
    registered: bool,
    /// The deadline lay ahead of the clock when it was set (`sleep`/`timeout` with a positive
    /// duration read the clock to make it): the first poll registers the timer without
    /// reading the clock again. Timer churn (a timeout made, polled once, dropped) then costs
    /// one clock read, not two.
    ahead: bool,
    node: TimerNode,
}

impl Sleep {
    /// A sleep until `deadline`; `ahead`: the caller saw that it lies in the future.
    pub(crate) fn new(handle: TimeHandle, deadline: std::time::Instant, ahead: bool) -> Sleep {
        Sleep {
            deadline,
            handle,
            registered: false,
            ahead,
            node: TimerNode::new(),
        }
    }

    /// The clock of the runtime this sleep belongs to.
    pub(crate) fn now(&self) -> std::time::Instant {
        self.handle.now()
    }

    /// The instant this sleep completes at.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{sleep_until, Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(60);
    /// assert_eq!(sleep_until(at).deadline(), at);
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.deadline)
    }

    /// Whether the deadline has passed (polled or not). Never waits.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{sleep, Duration};
    /// let short = sleep(Duration::from_millis(1));
    /// assert!(!short.is_elapsed());
    /// sleep(Duration::from_millis(2)).await;
    /// assert!(short.is_elapsed());
    /// # }
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.node.is_fired() || self.handle.now() >= self.deadline
    }

    /// Moves the deadline; a task waiting on this sleep keeps waiting, for the new one.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{Duration, Instant};
    /// let mut sleep = std::pin::pin!(runtime::time::sleep(Duration::from_secs(3600)));
    /// sleep.as_mut().reset(Instant::now() + Duration::from_millis(5));
    /// sleep.await;
    /// # }
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.reset_std(deadline.into_std());
    }

    pub(crate) fn reset_std(self: Pin<&mut Self>, deadline: std::time::Instant) {
        // SAFETY: the node is never moved out; only plain fields are assigned.
        let this = unsafe { self.get_unchecked_mut() };
        this.deadline = deadline;
        this.ahead = false;
        if !this.registered {
            return;
        }
        let node = NonNull::from(&this.node);
        let mut wheel = this.handle.lock(this.node.shard);
        // SAFETY: the node is pinned inside this `Sleep` and we hold its shard's lock.
        unsafe {
            wheel.remove(node);
            this.node.set_fired(false);
            node.as_ref().inner().when = this.handle.deadline_to_tick(deadline);
            if this.handle.now() >= deadline || wheel.insert(node).is_err() {
                // Already due: complete it now, waking whoever waits on it.
                let inner = node.as_ref().inner();
                this.node.set_fired(true);
                if let Some(waker) = inner.waker.take() {
                    drop(wheel);
                    waker.wake();
                }
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the node is never moved out; only plain fields are assigned.
        let this = unsafe { self.get_unchecked_mut() };
        if this.node.is_fired() {
            return Poll::Ready(());
        }
        let mut coop = ready!(coop::poll_proceed(cx));
        if !this.registered {
            // Not linked anywhere yet, so nothing else reads the node.
            this.node.shard = this.handle.shard_here();
        }
        let node = NonNull::from(&this.node);
        let mut wheel = this.handle.lock(this.node.shard);
        if this.handle.is_shutdown() {
            drop(wheel);
            panic!("a timer was polled after its runtime shut down");
        }
        // SAFETY: the node is pinned inside this `Sleep`, and we hold its shard's lock.
        let inner = unsafe { node.as_ref().inner() };
        // A deadline already past completes now, not at the driver's next turn (which a
        // busy or stalled thread may not have taken yet); one known to lie ahead when it was
        // set is registered without asking the clock again (if it passed since, the driver
        // fires it at its next turn, as any registered timer).
        let due = (this.registered || !this.ahead) && this.handle.now() >= this.deadline;
        if !this.registered {
            this.registered = true;
            inner.when = this.handle.deadline_to_tick(this.deadline);
            // SAFETY: as above; `Drop` removes the node before it goes away.
            if due || unsafe { wheel.insert(node) }.is_err() {
                this.node.set_fired(true);
            }
        } else if due && !this.node.is_fired() {
            // SAFETY: as above.
            unsafe { wheel.remove(node) };
            this.node.set_fired(true);
        }
        if this.node.is_fired() {
            coop.made_progress();
            return Poll::Ready(());
        }
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.registered || self.node.is_fired() {
            return;
        }
        let node = NonNull::from(&self.node);
        let mut wheel = self.handle.lock(self.node.shard);
        // SAFETY: the node is pinned in this `Sleep` (being dropped in place) and we hold
        // its shard's lock; afterwards nothing points to it.
        unsafe {
            wheel.remove(node);
            drop(node.as_ref().inner().waker.take());
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.node.is_fired())
            .finish()
    }
}
