//! `Instant`: a point on the runtime's clock.
//!
//! A thin wrapper over `std::time::Instant`, so that `Instant::now()` can read the current
//! runtime's clock (see `clock`): real time unless that clock is paused, then the virtual
//! time. Everything else is std's arithmetic on the wrapped value.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of the runtime's monotonic clock, as `std::time::Instant` is of the OS's.
///
/// [`Instant::now`] is std's `Instant::now()` unless the current runtime's clock is paused
/// (see [`pause`](crate::time::pause)); then it is the virtual time, which moves only by
/// [`advance`](crate::time::advance) or when the idle runtime jumps to its next timer.
/// Outside a runtime it is std's now. Every timer of the crate takes and returns this type;
/// [`from_std`](Instant::from_std) and [`into_std`](Instant::into_std) (and `From` both
/// ways) convert to and from std's.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// use runtime::time::{sleep, Duration, Instant};
/// let start = Instant::now();
/// sleep(Duration::from_millis(2)).await;
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// assert!(Instant::now() > start);
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current runtime's now: real time, or the virtual time while its clock is paused;
    /// std's now outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{Duration, Instant};
    /// runtime::time::pause();
    /// let frozen = Instant::now();
    /// std::thread::sleep(Duration::from_millis(2)); // real time passes, virtual time doesn't
    /// assert_eq!(Instant::now(), frozen);
    /// # }
    /// ```
    pub fn now() -> Instant {
        Instant {
            std: crate::time::clock::now(),
        }
    }

    /// Wraps a std instant (on the same timeline: a paused clock's virtual time is a std
    /// instant too).
    ///
    /// ```
    /// use runtime::time::Instant;
    /// let std_now = std::time::Instant::now();
    /// assert_eq!(Instant::from_std(std_now).into_std(), std_now);
    /// ```
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The std instant this is.
    ///
    /// ```
    /// use runtime::time::{Duration, Instant};
    /// let later = Instant::now() + Duration::from_secs(1);
    /// assert!(later.into_std() > std::time::Instant::now());
    /// ```
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later (as std's, which
    /// saturates).
    ///
    /// ```
    /// use runtime::time::{Duration, Instant};
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(5);
    /// assert_eq!(b.duration_since(a), Duration::from_millis(5));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, `None` if `earlier` is later.
    ///
    /// ```
    /// use runtime::time::{Duration, Instant};
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(5);
    /// assert_eq!(b.checked_duration_since(a), Some(Duration::from_millis(5)));
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// ```
    /// use runtime::time::{Duration, Instant};
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(5);
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time since `self` on the current runtime's clock (`Instant::now() - self`, zero if
    /// `self` is later).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use runtime::time::{advance, pause, Duration, Instant};
    /// pause();
    /// let start = Instant::now();
    /// advance(Duration::from_secs(30)).await;
    /// assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// # }
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, `None` if that is past what the platform's instant can hold.
    ///
    /// ```
    /// use runtime::time::{Duration, Instant};
    /// let now = Instant::now();
    /// assert!(now.checked_add(Duration::from_secs(1)).is_some());
    /// assert!(now.checked_add(Duration::MAX).is_none());
    /// ```
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, `None` if that is before what the platform's instant can hold.
    ///
    /// ```
    /// use runtime::time::{Duration, Instant};
    /// let now = Instant::now();
    /// assert_eq!(now.checked_sub(Duration::ZERO), Some(now));
    /// assert!(now.checked_sub(Duration::MAX).is_none());
    /// ```
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

/// # Panics
///
/// If the result overflows, as std's does; [`Instant::checked_add`] doesn't.
impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

/// # Panics
///
/// If the result overflows, as std's does; [`Instant::checked_sub`] doesn't.
impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

/// `self.duration_since(rhs)`: zero if `rhs` is later.
impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
