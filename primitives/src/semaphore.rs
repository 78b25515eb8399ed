//! A counting semaphore: at most `n` holders at a time, waiters served in FIFO order.

use core::fmt;
use core::future::Future;
use core::panic::Location;
use std::sync::Arc;

use crate::bounded_semaphore::Tally;
use crate::diag::{self, Kind, Resource};
use crate::hooks;
use crate::raw_semaphore::{self as raw, RawSemaphore};
use crate::thread_waker::block_on_thread;

/// A counting semaphore: a pool of permits that tasks and threads take and give back, so at
/// most `n` of them are inside a section at once (Python's `threading.Semaphore`).
///
/// A permit comes back to the semaphore when its [`SemaphorePermit`] guard is dropped, also
/// when a panic drops it (there is no poisoning), so a task that panics loses no permit.
/// Waiters are served in FIFO order: one that asks for `k > 1` permits is not overtaken by
/// later requests; it collects permits as they are given back until it has all `k`. A waiter
/// for one permit may lose it once to a task that asks at the moment it is given back (often
/// the task that gave it back, in a loop), which saves a task switch per acquire under
/// contention; after that one lost race it is served strictly in turn, so nobody starves.
/// Giving back `k > 1` permits at once (dropping a permit of `k`, `add_permits(k)`) lets the
/// first waiters through in order, as Python's `release(n)` does.
///
/// Uncontended, acquiring and releasing are one atomic operation each; the waiter queue's
/// lock is taken only when someone has to wait.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::Semaphore;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// // 20 workers, at most 5 inside at once.
/// let sem = Arc::new(Semaphore::new(5));
/// let inside = Arc::new(AtomicUsize::new(0));
/// let workers: Vec<_> = (0..20)
///     .map(|_| {
///         let (sem, inside) = (sem.clone(), inside.clone());
///         std::thread::spawn(move || {
///             let _permit = sem.acquire_blocking().expect("never closed");
///             assert!(inside.fetch_add(1, Ordering::SeqCst) < 5);
///             inside.fetch_sub(1, Ordering::SeqCst);
///         })
///     })
///     .collect();
/// for worker in workers {
///     worker.join().unwrap();
/// }
/// assert_eq!(sem.available_permits(), 5);
/// # block_on(async { drop(sem.acquire().await) });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
    /// A `BoundedSemaphore`'s count of forgotten permits; one word that a plain semaphore
    /// only reads (on `forget` and `add_permits`). The permit guards reach a semaphore by
    /// reference only, so this is the one place where they can find it.
    tally: Tally,
    /// The deadlock detector's view: where it was created; holders are in its table.
    diag: Resource,
}

impl Semaphore {
    /// The most permits a semaphore can hold: `usize::MAX >> 5` (the permit word keeps four
    /// flag bits and one bit of headroom beside the count).
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// assert_eq!(Semaphore::MAX_PERMITS, usize::MAX >> 5);
    /// ```
    pub const MAX_PERMITS: usize = raw::MAX_PERMITS;

    /// A semaphore holding `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` is above [`MAX_PERMITS`](Semaphore::MAX_PERMITS). A limit that large
    /// limits nothing: use no semaphore, or `MAX_PERMITS` itself.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        let created = Location::caller();
        if permits > Self::MAX_PERMITS {
            panic!(
                "Semaphore::new({permits}) is above Semaphore::MAX_PERMITS ({}); a limit that \
                 large limits nothing: use no semaphore, or Semaphore::MAX_PERMITS itself",
                Self::MAX_PERMITS
            );
        }
        Semaphore::with_tally(
            permits,
            Tally::unbounded(),
            Resource::new(Kind::Semaphore, created),
        )
    }

    /// A semaphore that the deadlock detector ignores: the building block of a lock that
    /// tells the detector about itself (the `runtime` crate's `ReentrantMutex`).
    ///
    /// # Panics
    ///
    /// As [`new`](Semaphore::new).
    ///
    /// ```
    /// let sem = runtime_primitives::Semaphore::new_untracked(1);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[doc(hidden)]
    #[track_caller]
    pub fn new_untracked(permits: usize) -> Semaphore {
        let sem = Semaphore::new(permits);
        Semaphore {
            diag: Resource::untracked(),
            ..sem
        }
    }

    /// A semaphore of `permits` (checked by the caller) with the given tally.
    pub(crate) fn with_tally(permits: usize, tally: Tally, diag: Resource) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::new(permits),
            tally,
            diag,
        }
    }

    /// The permits free right now (a snapshot: other tasks may take or give back some at any
    /// moment). Permits held, and permits already promised to a queued waiter, are not free.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(4);
    /// let permit = sem.try_acquire_many(3).unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 4);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.raw.available_permits()
    }

    /// Adds `n` permits, waking waiters that can now proceed.
    ///
    /// # Panics
    ///
    /// If the free permits would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS). The check
    /// comes first: when it panics, no permit was added. Also on the semaphore of a
    /// `BoundedSemaphore` (reached through [`OwnedSemaphorePermit::semaphore`]), whose count
    /// must not grow: give permits back with `BoundedSemaphore::release` there.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        assert!(
            !self.tally.is_bounded(),
            "add_permits on the semaphore of a BoundedSemaphore would pass its bound; \
             give permits back with BoundedSemaphore::release"
        );
        self.raw.add_permits(n);
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is [closed](Semaphore::close) before the
    /// permit is granted.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, and it keeps its place: dropping the future while it waits gives back
    /// nothing it did not take and loses no permit; the waiter's place in the queue goes to
    /// the next one.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// block_on(async {
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available_permits(), 0);
    ///     drop(permit);
    /// });
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    #[track_caller]
    pub fn acquire(
        &self,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + Send + '_ {
        self.acquire_many_at(1, Location::caller())
    }

    /// Waits for `n` permits at once. A waiter for `n` is not overtaken by later requests:
    /// it collects permits as they are given back, in FIFO order.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first;
    /// [`AcquireError::TooManyPermits`] at once if `n` is above
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS), which no semaphore can ever grant.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: permits already assigned to a waiter that is dropped go on to the next
    /// waiters.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(5);
    /// let permit = block_on(sem.acquire_many(3)).unwrap();
    /// assert_eq!(permit.num_permits(), 3);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[track_caller]
    pub fn acquire_many(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + Send + '_ {
        self.acquire_many_at(n, Location::caller())
    }

    /// [`acquire_many`](Semaphore::acquire_many), waiting from `at`.
    pub(crate) async fn acquire_many_at(
        &self,
        n: usize,
        at: &'static Location<'static>,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        check_request(n)?;
        match diag::track(self.raw.acquire(n), &self.diag, at).await {
            Ok(()) => Ok(SemaphorePermit::new(self, n, at)),
            Err(()) => Err(AcquireError::Closed),
        }
    }

    /// Takes one permit if one is free and nobody is queued ahead, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] if none is free or others are already waiting;
    /// [`TryAcquireError::Closed`] if the semaphore is closed.
    ///
    /// ```
    /// use runtime_primitives::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// drop(permit);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    #[track_caller]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued ahead, without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire), plus [`TryAcquireError::TooManyPermits`]
    /// if `n` is above [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// ```
    /// use runtime_primitives::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(2);
    /// assert_eq!(sem.try_acquire_many(3).unwrap_err(), TryAcquireError::NoPermits);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    #[track_caller]
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        check_request(n).map_err(|_| TryAcquireError::TooManyPermits {
            requested: n,
            max: Self::MAX_PERMITS,
        })?;
        self.raw.try_acquire(n).map_err(TryAcquireError::from)?;
        Ok(SemaphorePermit::new(self, n, Location::caller()))
    }

    /// Blocks the current OS thread until one permit is granted: the form for synchronous
    /// code. The thread is parked, not spinning.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where it would stall every task on that thread: use
    /// `acquire().await` there, or call it from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.acquire_blocking().unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// # drop(permit);
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        hooks::assert_can_block("Semaphore::acquire_blocking", "semaphore.acquire().await");
        block_on_thread(self.acquire())
    }

    /// Blocks the current OS thread until `n` permits are granted.
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](Semaphore::acquire_many).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `acquire_many(n).await` there.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// assert_eq!(sem.acquire_many_blocking(2).unwrap().num_permits(), 2);
    /// ```
    #[track_caller]
    pub fn acquire_many_blocking(&self, n: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        hooks::assert_can_block(
            "Semaphore::acquire_many_blocking",
            "semaphore.acquire_many(n).await",
        );
        block_on_thread(self.acquire_many(n))
    }

    /// Waits for one permit held through an `Arc`, so the guard can move into a spawned task.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`acquire`](Semaphore::acquire).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
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

    /// Waits for `n` permits held through an `Arc`.
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](Semaphore::acquire_many).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`acquire_many`](Semaphore::acquire_many).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(4));
    /// let permit = block_on(sem.clone().acquire_many_owned(4)).unwrap();
    /// assert_eq!(permit.num_permits(), 4);
    /// ```
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send {
        self.acquire_many_owned_at(n, Location::caller())
    }

    /// [`acquire_many_owned`](Semaphore::acquire_many_owned), waiting from `at`.
    pub(crate) async fn acquire_many_owned_at(
        self: Arc<Self>,
        n: usize,
        at: &'static Location<'static>,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let permit = self.acquire_many_at(n, at).await?;
        let key = permit.into_owned_parts();
        Ok(OwnedSemaphorePermit::adopt(self, n, key))
    }

    /// [`try_acquire`](Semaphore::try_acquire) with a guard that holds an `Arc`.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_err());
    /// # drop(permit);
    /// ```
    #[track_caller]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) with a guard that holds an `Arc`.
    ///
    /// # Errors
    ///
    /// As [`try_acquire_many`](Semaphore::try_acquire_many).
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(3));
    /// assert_eq!(sem.try_acquire_many_owned(2).unwrap().num_permits(), 2);
    /// ```
    #[track_caller]
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let permit = self.try_acquire_many(n)?;
        let key = permit.into_owned_parts();
        Ok(OwnedSemaphorePermit::adopt(self, n, key))
    }

    /// Closes the semaphore: every waiter wakes with [`AcquireError::Closed`] and every
    /// later acquire fails. Permits already held stay valid and come back as usual.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::{AcquireError, Semaphore};
    ///
    /// let sem = Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert_eq!(block_on(sem.acquire()).unwrap_err(), AcquireError::Closed);
    /// ```
    pub fn close(&self) {
        self.raw.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// assert!(!sem.is_closed());
    /// sem.close();
    /// assert!(sem.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    /// Gives back `n` permits that came out of this semaphore (for `BoundedSemaphore`).
    pub(crate) fn release(&self, n: usize) {
        self.raw.release(n);
    }

    /// The bounded semaphore's count of forgotten permits (see [`Tally`]).
    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }
}

/// Rejects requests no semaphore can ever grant.
fn check_request(n: usize) -> Result<(), AcquireError> {
    if n > Semaphore::MAX_PERMITS {
        return Err(AcquireError::TooManyPermits {
            requested: n,
            max: Semaphore::MAX_PERMITS,
        });
    }
    Ok(())
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

// ===== impl SemaphorePermit =====

/// Permits taken from a [`Semaphore`]; dropping the guard gives them back.
///
/// ```
/// use runtime_primitives::Semaphore;
///
/// let sem = Semaphore::new(2);
/// {
///     let _permit = sem.try_acquire().unwrap();
///     assert_eq!(sem.available_permits(), 1);
/// }
/// assert_eq!(sem.available_permits(), 2);
/// ```
#[must_use = "the permits are given back as soon as the guard is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
    /// The holder's key in the deadlock detector's table (0: untracked).
    key: u64,
}

impl<'a> SemaphorePermit<'a> {
    /// Permits just taken at `at` by the caller: told to the deadlock detector.
    #[inline]
    fn new(sem: &'a Semaphore, permits: usize, at: &'static Location<'static>) -> Self {
        let key = sem.diag.acquired_shared(permits, at);
        SemaphorePermit { sem, permits, key }
    }

    /// How many permits this guard holds.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Drops the guard without giving its permits back: the semaphore has that many fewer
    /// for good (a `BoundedSemaphore` can take them back with `release`).
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn forget(self) {
        self.sem.tally.forget(self.permits);
        self.sem.diag.released_shared(self.key, self.permits);
        self.forget_silently();
    }

    /// Drops the guard and its permits without any bookkeeping (they moved elsewhere, with
    /// the holder's record in the deadlock detector).
    fn forget_silently(mut self) {
        self.permits = 0;
    }

    /// Gives up the guard so its permits can move to an owned one; returns its holder key
    /// (the deadlock detector's record moves with the permits).
    fn into_owned_parts(self) -> u64 {
        let key = self.key;
        self.forget_silently();
        key
    }

    /// Moves `other`'s permits into this guard.
    ///
    /// # Panics
    ///
    /// If the two guards come from different semaphores.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// let mut permit = sem.try_acquire().unwrap();
    /// permit.merge(sem.try_acquire_many(2).unwrap());
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, other: SemaphorePermit<'a>) {
        assert!(
            core::ptr::eq(self.sem, other.sem),
            "merging permits of two different semaphores"
        );
        self.permits += other.permits;
        self.sem
            .diag
            .moved_shared(other.key, self.key, other.permits);
        other.forget_silently();
    }

    /// Splits `n` permits off into a new guard, or returns `None` if this one holds fewer.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// let mut permit = sem.try_acquire_many(3).unwrap();
    /// let one = permit.split(1).unwrap();
    /// assert_eq!((permit.num_permits(), one.num_permits()), (2, 1));
    /// assert!(permit.split(5).is_none());
    /// ```
    pub fn split(&mut self, n: usize) -> Option<SemaphorePermit<'a>> {
        self.permits = self.permits.checked_sub(n)?;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
            key: self.key,
        })
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.diag.released_shared(self.key, self.permits);
        self.sem.raw.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

// ===== impl OwnedSemaphorePermit =====

/// Permits taken from a [`Semaphore`] held in an `Arc`: a guard with no lifetime, which can
/// move into a spawned task. Dropping it gives the permits back.
///
/// ```
/// use runtime_primitives::Semaphore;
/// use std::sync::Arc;
///
/// let sem = Arc::new(Semaphore::new(1));
/// let permit = sem.clone().try_acquire_owned().unwrap();
/// assert_eq!(permit.semaphore().available_permits(), 0);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "the permits are given back as soon as the guard is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
    /// The holder's key in the deadlock detector's table (0: untracked).
    key: u64,
}

impl OwnedSemaphorePermit {
    /// The owned guard of `permits` already taken from `sem` by holder `key`.
    fn adopt(sem: Arc<Semaphore>, permits: usize, key: u64) -> OwnedSemaphorePermit {
        OwnedSemaphorePermit { sem, permits, key }
    }

    /// How many permits this guard holds.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// assert_eq!(sem.try_acquire_many_owned(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let permit = sem.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(permit.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Drops the guard without giving its permits back, as [`SemaphorePermit::forget`].
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// sem.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.sem.tally.forget(self.permits);
        self.sem.diag.released_shared(self.key, self.permits);
        self.permits = 0;
    }

    /// Moves `other`'s permits into this guard.
    ///
    /// # Panics
    ///
    /// If the two guards come from different semaphores.
    ///
    /// ```
    /// use runtime_primitives::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(Semaphore::new(2));
    /// let mut permit = sem.clone().try_acquire_owned().unwrap();
    /// permit.merge(sem.clone().try_acquire_owned().unwrap());
    /// assert_eq!(permit.num_permits(), 2);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits of two different semaphores"
        );
        let moved = core::mem::take(&mut other.permits);
        self.sem.diag.moved_shared(other.key, self.key, moved);
        self.permits += moved;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.diag.released_shared(self.key, self.permits);
        self.sem.raw.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

// ===== errors =====

/// Why a waiting acquire failed.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::{AcquireError, Semaphore};
///
/// let sem = Semaphore::new(1);
/// sem.close();
/// let err = block_on(sem.acquire()).unwrap_err();
/// assert_eq!(err, AcquireError::Closed);
/// assert_eq!(err.to_string(), "semaphore closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// The semaphore was closed.
    Closed,
    /// More permits were asked for than the semaphore can ever hold: waiting would never end.
    TooManyPermits {
        /// Permits asked for.
        requested: usize,
        /// The most the semaphore can ever hold.
        max: usize,
    },
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Closed => f.write_str("semaphore closed"),
            AcquireError::TooManyPermits { requested, max } => write!(
                f,
                "asked for {requested} permits from a semaphore that can never hold more than {max}"
            ),
        }
    }
}

impl std::error::Error for AcquireError {}

/// Why an acquire that never waits failed.
///
/// ```
/// use runtime_primitives::{Semaphore, TryAcquireError};
///
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free, or others are queued ahead.
    NoPermits,
    /// More permits were asked for than the semaphore can ever hold.
    TooManyPermits {
        /// Permits asked for.
        requested: usize,
        /// The most the semaphore can ever hold.
        max: usize,
    },
}

impl From<raw::TryAcquireError> for TryAcquireError {
    fn from(err: raw::TryAcquireError) -> Self {
        match err {
            raw::TryAcquireError::Closed => TryAcquireError::Closed,
            raw::TryAcquireError::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
            TryAcquireError::TooManyPermits { requested, max } => write!(
                f,
                "asked for {requested} permits from a semaphore that can never hold more than {max}"
            ),
        }
    }
}

impl std::error::Error for TryAcquireError {}

#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'static>>();
    send_sync::<OwnedSemaphorePermit>();
    fn send<T: Send>(_: &T) {}
    let sem = Semaphore::new(1);
    send(&sem.acquire());
    send(&Arc::new(Semaphore::new(1)).acquire_owned());
}
