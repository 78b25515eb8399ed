//! A semaphore that never holds more permits than it started with.

use core::fmt;
use core::future::Future;
use core::panic::Location;
use std::sync::Arc;

use crate::diag::{Kind, Resource};
use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
use crate::thread_waker::block_on_thread;

/// A [`Semaphore`] whose count can never grow past its initial value (Python's
/// `threading.BoundedSemaphore`).
///
/// Permits are taken and given back with guards as with a `Semaphore`. Code written in the
/// Python style, which takes a permit in one place and gives it back in another, takes it
/// with [`forget`](SemaphorePermit::forget) and gives it back with
/// [`release`](BoundedSemaphore::release): giving back more than was taken out is an
/// [`OverRelease`] error, not a silent increase of the limit. Asking for more permits than
/// the bound is an error too, where a plain semaphore would wait forever.
///
/// ```
/// use runtime_primitives::BoundedSemaphore;
///
/// let sem = BoundedSemaphore::new(2);
/// sem.try_acquire().unwrap().forget(); // acquire() in Python
/// assert_eq!(sem.available_permits(), 1);
/// sem.release(1).unwrap(); // release()
/// assert!(sem.release(1).is_err(), "one release too many");
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct BoundedSemaphore {
    sem: Arc<Semaphore>,
    bound: usize,
}

impl BoundedSemaphore {
    /// A semaphore holding `permits` permits, which is also the most it will ever hold.
    ///
    /// # Panics
    ///
    /// If `permits` is above [`Semaphore::MAX_PERMITS`]: a bound that large bounds nothing
    /// (use no semaphore at all).
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(3);
    /// assert_eq!((sem.bound(), sem.available_permits()), (3, 3));
    /// ```
    #[track_caller]
    pub fn new(permits: usize) -> BoundedSemaphore {
        if permits > Semaphore::MAX_PERMITS {
            panic!(
                "BoundedSemaphore::new({permits}) is above Semaphore::MAX_PERMITS ({}); a bound \
                 that large bounds nothing: use no semaphore at all",
                Semaphore::MAX_PERMITS
            );
        }
        BoundedSemaphore {
            sem: Arc::new(Semaphore::with_tally(
                permits,
                Tally::bounded(),
                Resource::new(Kind::BoundedSemaphore, Location::caller()),
            )),
            bound: permits,
        }
    }

    /// The initial count: the most permits this semaphore can ever hold.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// assert_eq!(BoundedSemaphore::new(5).bound(), 5);
    /// ```
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// The permits free right now (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(2);
    /// let _permit = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Gives back `n` permits that were taken out with
    /// [`forget`](SemaphorePermit::forget), waking waiters that can now proceed.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if fewer than `n` permits are out: the count would pass the bound.
    /// Nothing is given back then.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let err = sem.release(1).unwrap_err();
    /// assert_eq!((err.released, err.taken_out), (1, 0));
    /// ```
    pub fn release(&self, n: usize) -> Result<(), OverRelease> {
        self.sem.tally().take_back(n)?;
        self.sem.release(n);
        Ok(())
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first;
    /// [`AcquireError::TooManyPermits`] at once if the bound is 0.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Semaphore::acquire`].
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let permit = block_on(sem.acquire()).unwrap();
    /// assert_eq!(permit.num_permits(), 1);
    /// ```
    #[track_caller]
    pub fn acquire(
        &self,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + Send + '_ {
        self.acquire_many_at(1, Location::caller())
    }

    /// Waits for `n` permits, in FIFO order with the other waiters.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first;
    /// [`AcquireError::TooManyPermits`] at once if `n` is above the bound, which this
    /// semaphore can never grant.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Semaphore::acquire_many`].
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::{AcquireError, BoundedSemaphore};
    ///
    /// let sem = BoundedSemaphore::new(2);
    /// assert_eq!(
    ///     block_on(sem.acquire_many(3)).unwrap_err(),
    ///     AcquireError::TooManyPermits { requested: 3, max: 2 }
    /// );
    /// ```
    #[track_caller]
    pub fn acquire_many(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + Send + '_ {
        self.acquire_many_at(n, Location::caller())
    }

    async fn acquire_many_at(
        &self,
        n: usize,
        at: &'static Location<'static>,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.check(n)?;
        self.sem.acquire_many_at(n, at).await
    }

    /// Takes one permit if one is free and nobody is queued ahead, without waiting.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire`], plus [`TryAcquireError::TooManyPermits`] if the bound
    /// is 0.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// let _permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// ```
    #[track_caller]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued ahead, without waiting.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire_many`]; [`TryAcquireError::TooManyPermits`] if `n` is
    /// above the bound.
    ///
    /// ```
    /// use runtime_primitives::{BoundedSemaphore, TryAcquireError};
    ///
    /// let sem = BoundedSemaphore::new(2);
    /// assert!(matches!(
    ///     sem.try_acquire_many(3),
    ///     Err(TryAcquireError::TooManyPermits { requested: 3, max: 2 })
    /// ));
    /// ```
    #[track_caller]
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.check(n).map_err(|_| TryAcquireError::TooManyPermits {
            requested: n,
            max: self.bound,
        })?;
        self.sem.try_acquire_many(n)
    }

    /// Blocks the current OS thread until one permit is granted.
    ///
    /// # Errors
    ///
    /// As [`acquire`](BoundedSemaphore::acquire).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `acquire().await` there.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// assert!(sem.acquire_blocking().is_ok());
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many_blocking_as(1, "BoundedSemaphore::acquire_blocking")
    }

    /// Blocks the current OS thread until `n` permits are granted.
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](BoundedSemaphore::acquire_many).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `acquire_many(n).await` there.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(2);
    /// assert!(sem.acquire_many_blocking(3).is_err(), "never more than the bound");
    /// ```
    #[track_caller]
    pub fn acquire_many_blocking(&self, n: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many_blocking_as(n, "BoundedSemaphore::acquire_many_blocking")
    }

    #[track_caller]
    fn acquire_many_blocking_as(
        &self,
        n: usize,
        op: &str,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        hooks::assert_can_block(op, "semaphore.acquire_many(n).await");
        block_on_thread(self.acquire_many(n))
    }

    /// Waits for one permit, with a guard that holds an `Arc` (it can move into a task).
    ///
    /// # Errors
    ///
    /// As [`acquire`](BoundedSemaphore::acquire).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Semaphore::acquire`].
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::BoundedSemaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(BoundedSemaphore::new(1));
    /// let permit = block_on(sem.clone().acquire_owned()).unwrap();
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[track_caller]
    pub fn acquire_owned(
        self: Arc<Self>,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send {
        self.acquire_many_owned_at(1, Location::caller())
    }

    /// Waits for `n` permits, with a guard that holds an `Arc`.
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](BoundedSemaphore::acquire_many).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Semaphore::acquire_many`].
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::BoundedSemaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(BoundedSemaphore::new(2));
    /// assert_eq!(block_on(sem.acquire_many_owned(2)).unwrap().num_permits(), 2);
    /// ```
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send {
        self.acquire_many_owned_at(n, Location::caller())
    }

    async fn acquire_many_owned_at(
        self: Arc<Self>,
        n: usize,
        at: &'static Location<'static>,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.check(n)?;
        self.sem.clone().acquire_many_owned_at(n, at).await
    }

    /// Closes the semaphore: waiters wake with [`AcquireError::Closed`], later acquires
    /// fail; permits held stay valid.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// let sem = BoundedSemaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed() && sem.try_acquire().is_err());
    /// ```
    pub fn close(&self) {
        self.sem.close();
    }

    /// Whether [`close`](BoundedSemaphore::close) was called.
    ///
    /// ```
    /// use runtime_primitives::BoundedSemaphore;
    ///
    /// assert!(!BoundedSemaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    fn check(&self, n: usize) -> Result<(), AcquireError> {
        if n > self.bound {
            return Err(AcquireError::TooManyPermits {
                requested: n,
                max: self.bound,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("bound", &self.bound)
            .field("semaphore", &self.sem)
            .finish()
    }
}

// ===== impl Tally =====

/// What only a `BoundedSemaphore` needs of its inner [`Semaphore`]: the count of permits
/// taken out with `forget` and not given back by hand yet, so [`BoundedSemaphore::release`]
/// can refuse to pass the bound. A plain semaphore's tally is the `UNBOUNDED` mark, which
/// `forget` only reads, and which also makes `add_permits` refuse to grow a bounded one.
pub(crate) struct Tally(AtomicUsize);

/// The tally of a semaphore without a bound. No count reaches it: a bounded count is at
/// most the bound, at most `Semaphore::MAX_PERMITS`.
const UNBOUNDED: usize = usize::MAX;

impl Tally {
    pub(crate) fn unbounded() -> Tally {
        Tally(AtomicUsize::new(UNBOUNDED))
    }

    fn bounded() -> Tally {
        Tally(AtomicUsize::new(0))
    }

    /// Whether this is a `BoundedSemaphore`'s semaphore (fixed at construction).
    pub(crate) fn is_bounded(&self) -> bool {
        self.0.load(Ordering::Relaxed) != UNBOUNDED
    }

    /// Counts `n` permits dropped without being given back.
    pub(crate) fn forget(&self, n: usize) {
        if self.is_bounded() {
            self.0.fetch_add(n, Ordering::AcqRel);
        }
    }

    /// Takes `n` forgotten permits off the count, or fails if fewer are out.
    fn take_back(&self, n: usize) -> Result<(), OverRelease> {
        let mut out = self.0.load(Ordering::Acquire);
        loop {
            let Some(left) = out.checked_sub(n) else {
                return Err(OverRelease {
                    released: n,
                    taken_out: out,
                });
            };
            match self
                .0
                .compare_exchange_weak(out, left, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => out = actual,
            }
        }
    }
}

/// The error of [`BoundedSemaphore::release`]: more permits given back than were taken out.
///
/// ```
/// use runtime_primitives::BoundedSemaphore;
///
/// let sem = BoundedSemaphore::new(1);
/// let err = sem.release(2).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "released 2 permits but only 0 were taken out: the count would pass the bound"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverRelease {
    /// Permits the call tried to give back.
    pub released: usize,
    /// Permits taken out (with `forget`) at the time, the most that may be given back.
    pub taken_out: usize,
}

impl fmt::Display for OverRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "released {} permits but only {} were taken out: the count would pass the bound",
            self.released, self.taken_out
        )
    }
}

impl std::error::Error for OverRelease {}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::thread;

    /// Two threads give back the one permit taken out, racing a waiter: exactly one release
    /// succeeds, the waiter gets the permit, and the count ends at the bound.
    #[test]
    fn racing_releases_never_pass_the_bound() {
        ::loom::model(|| {
            let sem = crate::loom::Arc::new(BoundedSemaphore::new(1));
            sem.try_acquire().unwrap().forget();
            let releasers: Vec<_> = (0..2)
                .map(|_| {
                    let sem = sem.clone();
                    thread::spawn(move || sem.release(1).is_ok())
                })
                .collect();
            drop(sem.acquire_blocking().unwrap());
            let ok = releasers
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|&ok| ok)
                .count();
            assert_eq!(ok, 1);
            assert_eq!(sem.available_permits(), 1);
        });
    }
}
