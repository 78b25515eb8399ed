//! An async reader-writer lock: many readers or one writer, served in FIFO order.

use core::cell::UnsafeCell;
use core::fmt;
use core::future::Future;
use core::ops::{Deref, DerefMut};
use core::panic::Location;
use std::sync::Arc;

use crate::diag::{self, Kind, Resource};
use crate::hooks;
use crate::mutex::TryLockError;
use crate::raw_semaphore::{RawSemaphore, MAX_PERMITS};
use crate::thread_waker::block_on_thread;

/// How many readers may hold the lock at once; a writer takes all of these permits.
const MAX_READERS: usize = MAX_PERMITS;

/// A reader-writer lock: any number of readers at once, or one writer alone.
///
/// # Fairness
///
/// Readers and writers queue together in FIFO order (the lock is a semaphore of
/// `MAX_READERS` permits; a reader takes one, a writer all of them). A waiting writer is
/// therefore never starved by a stream of readers: readers that come after it wait behind it.
///
/// There is no poisoning: a read or write guard dropped by a panic releases the lock like any
/// other, and the waiters go on with the data as the panic left it.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::RwLock;
///
/// let lock = RwLock::new(5);
/// block_on(async {
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
// `repr(C)`, the detector's view first: the semaphore and the data stay together for the
// lockers that touch both (see `RawMutex`).
#[repr(C)]
pub struct RwLock<T: ?Sized> {
    /// The deadlock detector's view: the writer inline, readers in its table.
    diag: Resource,
    sem: RawSemaphore,
    // A plain cell, not the loom shim's: guards hand out references that outlive any closure.
    data: UnsafeCell<T>,
}

// SAFETY: the lock owns its `T` and may move with it.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer on any thread gets
// `&mut T` (needs `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `data`. Deadlock reports name the caller's location as
    /// where it was created.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// assert_eq!(RwLock::new(1).into_inner(), 1);
    /// ```
    #[track_caller]
    pub fn new(data: T) -> RwLock<T> {
        RwLock {
            sem: RawSemaphore::new(MAX_READERS),
            diag: Resource::new(Kind::RwLock, Location::caller()),
            data: UnsafeCell::new(data),
        }
    }

    /// Consumes the lock and returns its data.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// assert_eq!(RwLock::new("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future gives up its place in the queue.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// assert_eq!(*block_on(lock.read()), 1);
    /// ```
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let at = Location::caller();
        async move {
            let key = self.acquire(1, at).await;
            RwLockReadGuard { lock: self, key }
        }
    }

    /// Waits for exclusive write access.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future gives up its place in the queue, and the read
    /// permits it had collected go on to the waiters behind it.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// *block_on(lock.write()) += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let at = Location::caller();
        async move {
            let key = self.acquire(MAX_READERS, at).await;
            RwLockWriteGuard { lock: self, key }
        }
    }

    /// Takes `n` permits (1: read, `MAX_READERS`: write), waiting from `at`, and tells the
    /// deadlock detector; returns the reader's key for its guard.
    async fn acquire(&self, n: usize, at: &'static Location<'static>) -> u64 {
        // The semaphore is never closed, so the acquire always succeeds.
        let acquired = diag::track(self.sem.acquire(n), &self.diag, at).await;
        debug_assert!(acquired.is_ok(), "an RwLock's semaphore is never closed");
        self.acquired(n, at)
    }

    /// Records a holder that just took `n` permits: the writer inline, a reader in the table.
    #[inline]
    fn acquired(&self, n: usize, at: &'static Location<'static>) -> u64 {
        if n == MAX_READERS {
            self.diag.acquired(at);
            0
        } else {
            self.diag.acquired_shared(n, at)
        }
    }

    /// Takes read access if no writer holds or waits for the lock, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds the lock or is queued.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let _r = lock.try_read().unwrap();
    /// assert!(lock.try_read().is_ok());
    /// assert!(lock.try_write().is_err());
    /// ```
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem.try_acquire(1).map_err(|_| TryLockError::new())?;
        let key = self.acquired(1, Location::caller());
        Ok(RwLockReadGuard { lock: self, key })
    }

    /// Takes write access if nobody holds or waits for the lock, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or others are queued.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let w = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_err());
    /// # drop(w);
    /// ```
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.sem
            .try_acquire(MAX_READERS)
            .map_err(|_| TryLockError::new())?;
        let key = self.acquired(MAX_READERS, Location::caller());
        Ok(RwLockWriteGuard { lock: self, key })
    }

    /// Blocks the current OS thread until read access is granted.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `read().await` there.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(3);
    /// assert_eq!(*lock.read_blocking(), 3);
    /// ```
    #[track_caller]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        hooks::assert_can_block("RwLock::read_blocking", "rwlock.read().await");
        block_on_thread(self.read())
    }

    /// Blocks the current OS thread until write access is granted.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `write().await` there.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(3);
    /// *lock.write_blocking() = 4;
    /// assert_eq!(*lock.read_blocking(), 4);
    /// ```
    #[track_caller]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        hooks::assert_can_block("RwLock::write_blocking", "rwlock.write().await");
        block_on_thread(self.write())
    }

    /// Waits for read access to a lock held in an `Arc`; the guard has no lifetime.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`read`](RwLock::read).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let guard = block_on(lock.clone().read_owned());
    /// std::thread::spawn(move || assert_eq!(*guard, 1)).join().unwrap();
    /// ```
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> {
        let at = Location::caller();
        async move {
            let key = self.acquire(1, at).await;
            OwnedRwLockReadGuard { lock: self, key }
        }
    }

    /// Waits for write access to a lock held in an `Arc`; the guard has no lifetime.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`write`](RwLock::write).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let mut guard = block_on(lock.clone().write_owned());
    /// std::thread::spawn(move || *guard += 1).join().unwrap();
    /// assert_eq!(*lock.read_blocking(), 2);
    /// ```
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockWriteGuard<T>> {
        let at = Location::caller();
        async move {
            let key = self.acquire(MAX_READERS, at).await;
            OwnedRwLockWriteGuard { lock: self, key }
        }
    }

    /// [`try_read`](RwLock::try_read) for a lock held in an `Arc`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds the lock or is queued.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let guard = lock.clone().try_read_owned().unwrap();
    /// assert_eq!(*guard, 1);
    /// ```
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.sem.try_acquire(1).map_err(|_| TryLockError::new())?;
        let key = self.acquired(1, Location::caller());
        Ok(OwnedRwLockReadGuard { lock: self, key })
    }

    /// [`try_write`](RwLock::try_write) for a lock held in an `Arc`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or others are queued.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let mut guard = lock.clone().try_write_owned().unwrap();
    /// *guard = 2;
    /// assert!(lock.clone().try_read_owned().is_err());
    /// ```
    #[track_caller]
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.sem
            .try_acquire(MAX_READERS)
            .map_err(|_| TryLockError::new())?;
        let key = self.acquired(MAX_READERS, Location::caller());
        Ok(OwnedRwLockWriteGuard { lock: self, key })
    }

    /// The data, through a unique borrow (no lock needed).
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let mut lock = RwLock::new(1);
    /// *lock.get_mut() = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(data: T) -> Self {
        RwLock::new(data)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

// ===== guards =====

macro_rules! guard {
    ($(#[$doc:meta])* $name:ident, [$($lt:lifetime)?] $lock:ty, $permits:expr, mut: $mutable:tt) => {
        $(#[$doc])*
        #[must_use = "the lock is released as soon as the guard is dropped"]
        pub struct $name<$($lt,)? T: ?Sized> {
            lock: $lock,
            /// A reader's key in the deadlock detector's table (0: untracked, or a writer).
            key: u64,
        }

        impl<$($lt,)? T: ?Sized> Deref for $name<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds read or write access: no `&mut T` exists elsewhere.
                unsafe { &*self.lock.data.get() }
            }
        }

        guard!(@mut $mutable $name $(, $lt)?);

        impl<$($lt,)? T: ?Sized> Drop for $name<$($lt,)? T> {
            fn drop(&mut self) {
                if $permits == MAX_READERS {
                    self.lock.diag.releasing();
                } else {
                    self.lock.diag.released_shared(self.key, $permits);
                }
                self.lock.sem.release($permits);
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    };
    (@mut true $name:ident $(, $lt:lifetime)?) => {
        impl<$($lt,)? T: ?Sized> DerefMut for $name<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: the guard holds write access and is borrowed uniquely.
                unsafe { &mut *self.lock.data.get() }
            }
        }
    };
    (@mut false $name:ident $(, $lt:lifetime)?) => {};
}

guard!(
    /// Shared read access to an [`RwLock`], held until dropped; derefs to the data.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(vec![1]);
    /// let guard = lock.try_read().unwrap();
    /// assert_eq!(guard.len(), 1);
    /// ```
    RwLockReadGuard, ['a] &'a RwLock<T>, 1, mut: false
);

guard!(
    /// Exclusive write access to an [`RwLock`], held until dropped.
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    ///
    /// let lock = RwLock::new(vec![1]);
    /// lock.try_write().unwrap().push(2);
    /// assert_eq!(*lock.try_read().unwrap(), [1, 2]);
    /// ```
    RwLockWriteGuard, ['a] &'a RwLock<T>, MAX_READERS, mut: true
);

guard!(
    /// Read access to an [`RwLock`] held in an `Arc`, from [`RwLock::read_owned`].
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let guard = futures::executor::block_on(lock.read_owned());
    /// assert_eq!(*guard, 1);
    /// ```
    OwnedRwLockReadGuard, [] Arc<RwLock<T>>, 1, mut: false
);

guard!(
    /// Write access to an [`RwLock`] held in an `Arc`, from [`RwLock::write_owned`].
    ///
    /// ```
    /// use runtime_primitives::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let mut guard = futures::executor::block_on(lock.write_owned());
    /// *guard = 2;
    /// assert_eq!(*guard, 2);
    /// ```
    OwnedRwLockWriteGuard, [] Arc<RwLock<T>>, MAX_READERS, mut: true
);

// SAFETY: a read guard is a shared `&T`: moving or sharing it across threads needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above; the `Arc` itself is `Send + Sync` for such `T`.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockReadGuard<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T> {}
// SAFETY: a write guard is a `&mut T` (moving it needs `T: Send`) in a lock that readers on
// other threads share (`T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}

#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RwLock<u8>>();
    send_sync::<RwLockReadGuard<'static, u8>>();
    send_sync::<RwLockWriteGuard<'static, u8>>();
    send_sync::<OwnedRwLockReadGuard<u8>>();
    send_sync::<OwnedRwLockWriteGuard<u8>>();
    fn send_val<T: Send>(_: &T) {}
    let lock = RwLock::new(0u8);
    send_val(&lock.read());
    send_val(&lock.write());
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::thread;

    /// A writer waiting for a reader that leaves on another thread, while a second reader
    /// arrives: the writer always gets in (no lost wake-up), and the late reader after it.
    #[test]
    fn writer_waits_for_readers_without_lost_wakeups() {
        ::loom::model(|| {
            // std's `Arc`: the owned guards take one; the lock's own state is loom's.
            let lock = Arc::new(RwLock::new(0u8));
            let reader = lock.clone().try_read_owned().unwrap();
            let late = {
                let lock = lock.clone();
                thread::spawn(move || *lock.read_blocking())
            };
            let leaver = thread::spawn(move || drop(reader));
            *lock.write_blocking() = 1;
            leaver.join().unwrap();
            let seen = late.join().unwrap();
            assert!(seen == 0 || seen == 1);
            assert!(lock.try_write().is_ok(), "every permit came back");
        });
    }
}
