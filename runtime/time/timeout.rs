//! `timeout`, `timeout_at`, and the `Elapsed` error.

use crate::coop;
use crate::time::sleep::{deadline_after, Sleep};
use crate::time::Instant;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Runs `future` with a time limit: `Err(Elapsed)` if it has not completed within
/// `duration` (the future is then dropped).
///
/// # Panics
///
/// Outside a runtime (the timer needs one), or when polled after its runtime shut down,
/// as [`sleep`](crate::time::sleep).
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// let slow = std::future::pending::<()>();
/// let res = runtime::time::timeout(Duration::from_millis(10), slow).await;
/// assert!(res.is_err());
/// let fast = async { 7 };
/// assert_eq!(runtime::time::timeout(Duration::from_secs(1), fast).await, Ok(7));
/// # }
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let handle = crate::driver::Handle::with_current(|driver| driver.time.clone());
    let deadline = deadline_after(&handle, duration);
    Timeout {
        value: future,
        delay: Sleep::new(handle, deadline, !duration.is_zero()),
    }
}

/// Runs `future` until `deadline`. See [`timeout`].
///
/// # Panics
///
/// As [`timeout`].
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{timeout_at, Duration, Instant};
/// // One deadline for several steps.
/// let deadline = Instant::now() + Duration::from_millis(5);
/// assert_eq!(timeout_at(deadline, async { 1 }).await, Ok(1));
/// assert!(timeout_at(deadline, std::future::pending::<()>()).await.is_err());
/// assert!(Instant::now() >= deadline);
/// # }
/// ```
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        value: future,
        delay: crate::time::sleep_until(deadline),
    }
}

/// A future with a deadline; made by [`timeout`] and [`timeout_at`].
///
/// # Cancel safety
///
/// As cancel-safe as the future it wraps.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::time::{timeout, Duration};
/// // `Elapsed` converts to `io::Error` (`TimedOut`), so `?` works in IO code.
/// let slow = timeout(Duration::from_millis(1), std::future::pending::<()>());
/// let err = async { slow.await?; std::io::Result::Ok(()) }.await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    value: F,
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{timeout, Duration};
    /// let task = runtime::spawn(async { 1 });
    /// let id = task.id();
    /// let limited = timeout(Duration::from_secs(1), task);
    /// assert_eq!(limited.get_ref().id(), id);
    /// # }
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The wrapped future, taking the time limit off.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{timeout, Duration};
    /// let limited = timeout(Duration::from_millis(1), async {
    ///     runtime::time::sleep(Duration::from_millis(5)).await;
    ///     "finished"
    /// });
    /// // Changed our mind: wait as long as it takes.
    /// assert_eq!(limited.into_inner().await, "finished");
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning: neither field is moved out while pinned, and
        // `Timeout` has no `Drop` impl that could move them.
        let (value, delay) = unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.value),
                Pin::new_unchecked(&mut this.delay),
            )
        };
        if let Poll::Ready(output) = value.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // The deadline must fire even if the future spent the task's whole budget.
        let _unconstrained = coop::Unconstrained::enter();
        match delay.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("delay", &self.delay)
            .finish()
    }
}

/// The error of a [`timeout`] that ran out.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{timeout, Duration};
/// let elapsed = timeout(Duration::from_millis(1), std::future::pending::<()>())
///     .await
///     .unwrap_err();
/// assert_eq!(elapsed.to_string(), "deadline has elapsed");
/// let io: std::io::Error = elapsed.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}
