//! An async mutual-exclusion lock whose guard may be held across `.await`.

use core::cell::UnsafeCell;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::panic::Location;
use std::sync::Arc;

use crate::diag;
use crate::hooks;
use crate::raw_mutex::RawMutex;
use crate::thread_waker::block_on_thread;

/// A mutual-exclusion lock for data shared between tasks and threads (Python's
/// `threading.Lock` used as `with lock:`), whose guard may be held across `.await`.
///
/// [`lock`](Mutex::lock) waits without blocking the thread; [`lock_blocking`](Mutex::lock_blocking)
/// is the form for OS threads, and [`try_lock`](Mutex::try_lock) never waits. Tasks and
/// threads may share one mutex.
///
/// # Fairness
///
/// No waiter starves. Waiters queue in FIFO order; at an unlock the first one is woken, but a
/// task that is already running may take the lock back before it gets there (as OS mutexes
/// allow), which saves a task switch per critical section under contention. A woken waiter
/// that loses this race goes back to the front, and the lock is then handed to the waiters in
/// order, so each waiter loses at most once.
///
/// # The data
///
/// The data is reached only through a guard, so it can't be touched without the lock. Use a
/// `std::sync::Mutex` instead when the lock is never held across an `.await`: it is cheaper.
///
/// There is no poisoning: a guard dropped by a panic (a task that panics while holding it)
/// unlocks like any other, and the next waiter gets the lock and the data as the panic left it.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::Mutex;
/// use std::sync::Arc;
///
/// // The seeds' counter: two threads add and subtract many times; the total stays 0.
/// let x = Arc::new(Mutex::new(0i64));
/// let (a, b) = (x.clone(), x.clone());
/// let add = std::thread::spawn(move || (0..100_000).for_each(|_| *a.lock_blocking() += 1));
/// let sub = std::thread::spawn(move || (0..100_000).for_each(|_| *b.lock_blocking() -= 1));
/// add.join().unwrap();
/// sub.join().unwrap();
/// assert_eq!(block_on(x.lock()).clone(), 0);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    // A plain cell, not the loom shim's: guards hand out references that outlive any closure.
    // The loom models check the lock word itself.
    data: UnsafeCell<T>,
}

// SAFETY: the mutex owns its `T` and may be moved (with it) to another thread.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: `&Mutex` gives access to `&mut T` to one holder of the lock at a time, on whatever
// thread it runs: that moves `T` between threads (`T: Send`), never shares it (no `T: Sync`).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `data`. Deadlock reports name the caller's location as
    /// where it was created.
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    ///
    /// let m = Mutex::new(vec![1, 2]);
    /// assert_eq!(m.into_inner(), vec![1, 2]);
    /// ```
    #[track_caller]
    pub fn new(data: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(Location::caller()),
            data: UnsafeCell::new(data),
        }
    }

    /// Consumes the mutex and returns its data (no lock needed: nobody else can hold it).
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    ///
    /// assert_eq!(Mutex::new(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock and returns a guard that unlocks when dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future gives up its place in the queue, and if the lock had
    /// already been handed to it, hands it on.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Mutex;
    ///
    /// let m = Mutex::new(1);
    /// block_on(async {
    ///     *m.lock().await += 1;
    ///     assert_eq!(*m.lock().await, 2);
    /// });
    /// ```
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        self.lock_from(Location::caller())
    }

    /// Waits for the lock from `at` and records the holder when tracking is on. `lock`
    /// returns this future as it is: each extra level of `async` around the raw wait cost the
    /// uncontended lock about ten instructions (callgrind).
    async fn lock_from(&self, at: &'static Location<'static>) -> MutexGuard<'_, T> {
        // One check of the process-wide flag: off, the plain wait, with nothing around it.
        if diag::enabled() {
            diag::track(self.raw.lock(), &self.raw.diag, at).await;
            self.raw.diag.acquired(at);
        } else {
            self.raw.lock().await;
        }
        MutexGuard { mutex: self }
    }

    /// Takes the lock if it is free, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held, or being handed to a waiter.
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    ///
    /// let m = Mutex::new(1);
    /// let guard = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(guard);
    /// assert!(m.try_lock().is_ok());
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.raw.try_lock() {
            self.raw.diag.acquired(Location::caller());
            Ok(MutexGuard { mutex: self })
        } else {
            Err(TryLockError(()))
        }
    }

    /// Blocks the current OS thread until the lock is taken: the form for synchronous code.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where it would stall every task on that thread: use
    /// `lock().await` there, or call it from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    ///
    /// let m = Mutex::new(0);
    /// *m.lock_blocking() += 1;
    /// assert_eq!(*m.lock_blocking(), 1);
    /// ```
    #[track_caller]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        hooks::assert_can_block("Mutex::lock_blocking", "mutex.lock().await");
        block_on_thread(self.lock())
    }

    /// Waits for the lock of a mutex held in an `Arc`; the guard keeps the `Arc`, so it has
    /// no lifetime and can move into a spawned task.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`lock`](Mutex::lock).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Mutex;
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(Mutex::new(0));
    /// let mut guard = block_on(m.clone().lock_owned());
    /// std::thread::spawn(move || *guard += 1).join().unwrap();
    /// assert_eq!(*m.lock_blocking(), 1);
    /// ```
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> {
        let at = Location::caller();
        async move {
            // The borrowed guard's lock passes to the owned one.
            std::mem::forget(self.lock_from(at).await);
            OwnedMutexGuard { mutex: self }
        }
    }

    /// [`try_lock`](Mutex::try_lock) for a mutex held in an `Arc`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held.
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(Mutex::new(0));
    /// let guard = m.clone().try_lock_owned().unwrap();
    /// assert!(m.clone().try_lock_owned().is_err());
    /// # drop(guard);
    /// ```
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        if self.raw.try_lock() {
            self.raw.diag.acquired(Location::caller());
            Ok(OwnedMutexGuard { mutex: self })
        } else {
            Err(TryLockError(()))
        }
    }

    /// The data, through a unique borrow (no lock needed: nobody else can hold it).
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    ///
    /// let mut m = Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Whether the lock is held right now (a snapshot, for diagnostics).
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    ///
    /// let m = Mutex::new(());
    /// let guard = m.try_lock().unwrap();
    /// assert!(m.is_locked());
    /// drop(guard);
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(data: T) -> Self {
        Mutex::new(data)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

// ===== guards =====

/// The lock of a [`Mutex`], held until the guard is dropped; derefs to the data.
///
/// `Send` when `T: Send`, so it may be held across `.await` in a spawned task.
///
/// ```
/// use runtime_primitives::Mutex;
///
/// let m = Mutex::new(String::from("a"));
/// let mut guard = m.try_lock().unwrap();
/// guard.push('b');
/// assert_eq!(*guard, "ab");
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: sharing the guard shares `&T` (needs `T: Sync`); the guard's holder may also have
// reached `T` from another thread before (needs `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    ///
    /// ```
    /// use runtime_primitives::{Mutex, MutexGuard};
    ///
    /// let m = Mutex::new(1);
    /// let guard = m.try_lock().unwrap();
    /// assert!(std::ptr::eq(MutexGuard::mutex(&guard), &m));
    /// ```
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }

    /// Narrows the guard to a part of the data; the lock is still released on drop.
    ///
    /// ```
    /// use runtime_primitives::{Mutex, MutexGuard};
    ///
    /// let m = Mutex::new((1, String::from("x")));
    /// let mut name = MutexGuard::map(m.try_lock().unwrap(), |pair| &mut pair.1);
    /// name.push('y');
    /// drop(name);
    /// assert_eq!(m.try_lock().unwrap().1, "xy");
    /// ```
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let mutex = this.mutex;
        core::mem::forget(this);
        // SAFETY: the lock is held (the guard's, now the mapped guard's), so `&mut T` is ours.
        let data = f(unsafe { &mut *mutex.data.get() }) as *mut U;
        MappedMutexGuard {
            raw: &mutex.raw,
            data,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock: no `&mut T` exists elsewhere.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and is borrowed uniquely.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.raw.release();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The lock of a [`Mutex`] held in an `Arc`, from [`Mutex::lock_owned`]: no lifetime, so it
/// can move into a spawned task or thread.
///
/// ```
/// use runtime_primitives::Mutex;
/// use std::sync::Arc;
///
/// let m = Arc::new(Mutex::new(1));
/// let guard = m.clone().try_lock_owned().unwrap();
/// assert!(Arc::ptr_eq(guard.mutex(), &m));
/// assert_eq!(*guard, 1);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    ///
    /// ```
    /// use runtime_primitives::Mutex;
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(Mutex::new(()));
    /// let guard = m.clone().try_lock_owned().unwrap();
    /// assert!(guard.mutex().is_locked());
    /// ```
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and is borrowed uniquely.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.raw.release();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] narrowed to a part of the data by [`MutexGuard::map`].
///
/// ```
/// use runtime_primitives::{Mutex, MutexGuard};
///
/// let m = Mutex::new([1, 2, 3]);
/// let last = MutexGuard::map(m.try_lock().unwrap(), |a| &mut a[2]);
/// assert_eq!(*last, 3);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    raw: &'a RawMutex,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&mut T` plus the duty to unlock, which any thread may do.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: points into the locked data; the lock is held until drop.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, borrowed uniquely.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.raw.release();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The error of [`Mutex::try_lock`], [`RwLock::try_read`](crate::RwLock::try_read) and
/// [`RwLock::try_write`](crate::RwLock::try_write): the lock is held (or others queue first).
///
/// ```
/// use runtime_primitives::Mutex;
///
/// let m = Mutex::new(());
/// let _guard = m.try_lock().unwrap();
/// assert_eq!(m.try_lock().unwrap_err().to_string(), "the lock is held");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl TryLockError {
    /// The error, for other lock types built on these primitives (such as the `runtime`
    /// crate's reentrant mutex).
    ///
    /// ```
    /// use runtime_primitives::TryLockError;
    ///
    /// assert_eq!(TryLockError::new().to_string(), "the lock is held");
    /// ```
    #[doc(hidden)]
    pub fn new() -> TryLockError {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held")
    }
}

impl std::error::Error for TryLockError {}

#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    type NotSync = core::cell::Cell<u8>;
    send::<Mutex<NotSync>>();
    sync::<Mutex<NotSync>>();
    send::<MutexGuard<'static, NotSync>>();
    send::<OwnedMutexGuard<NotSync>>();
    sync::<MutexGuard<'static, u8>>();
    fn send_val<T: Send>(_: &T) {}
    let m = Mutex::new(NotSync::new(0));
    send_val(&m.lock());
    send_val(&Arc::new(Mutex::new(0)).lock_owned());
}
