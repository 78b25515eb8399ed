//! A lock that the task holding it may take again: Python's `threading.RLock`, keyed on the
//! task instead of the thread.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::Location;

use runtime_primitives::diag::{self, Kind, Resource};
use runtime_primitives::{hooks, Semaphore};

use crate::loom::atomic::{AtomicU64, AtomicUsize, Ordering};

/// No owner.
const NOBODY: u64 = 0;

/// Who is asking: the current task, or, outside any task, the current OS thread (keys with
/// `diag::THREAD_KEY` set, the deadlock detector's, so its holders and waiters match).
fn current_key() -> u64 {
    match crate::task::try_id() {
        Some(id) => id.as_u64(),
        None => diag::thread_key(),
    }
}

/// A mutual-exclusion lock that the **task** holding it may lock again (Python's
/// `threading.RLock`, with the task in the role of the thread).
///
/// [`lock`](ReentrantMutex::lock) by the task that holds the lock returns at once with one
/// more level of nesting; the lock is released when the last guard is dropped. Any other task
/// waits, **including a task spawned inside the critical section**: it is a different task,
/// even though its parent holds the lock. Waiters are served in FIFO order.
///
/// Outside any task (a plain thread, a `spawn_blocking` job without a task, or the future of
/// `Runtime::block_on`), the lock is keyed on the OS thread instead: re-entry by the same
/// thread nests, and each task counts as a different owner from the thread that runs it.
///
/// The guard gives shared access only (`Deref`, no `DerefMut`): nested guards alias the same
/// data. Put a `Cell` or `RefCell` inside for data the critical section changes. The guard is
/// `!Send`, as it belongs to the task (or thread) that took it.
///
/// Held across an `.await`, the guard makes the task's future `!Send` too: spawn such a task
/// with [`spawn_local`](crate::task::spawn_local) (on a current-thread runtime or a
/// [`LocalRuntime`](crate::LocalRuntime)), which keeps it, and the guard, on its thread. The
/// lock stays keyed on that task, so other local tasks of the same thread wait for it:
///
/// ```
/// use runtime::sync::ReentrantMutex;
/// use std::cell::RefCell;
/// use std::sync::Arc;
///
/// #[runtime::main(flavor = "local")]
/// async fn main() {
///     let lock = Arc::new(ReentrantMutex::new(RefCell::new(Vec::new())));
///     let holder = runtime::spawn_local({
///         let lock = lock.clone();
///         async move {
///             let guard = lock.lock().await;
///             runtime::yield_now().await; // held across the await
///             guard.borrow_mut().push("holder");
///         }
///     });
///     runtime::yield_now().await; // the holder takes the lock
///     let other = runtime::spawn_local({
///         let lock = lock.clone();
///         async move { lock.lock().await.borrow_mut().push("other") }
///     });
///     holder.await.unwrap();
///     other.await.unwrap();
///     assert_eq!(*lock.lock().await.borrow(), ["holder", "other"]);
/// }
/// ```
///
/// ```
/// use runtime::sync::ReentrantMutex;
/// use std::cell::Cell;
/// use std::sync::Arc;
///
/// #[runtime::main(flavor = "current_thread")]
/// async fn main() {
///     let lock = Arc::new(ReentrantMutex::new(Cell::new(0)));
///     let outer = lock.lock().await;
///     let inner = lock.lock().await; // the same holder: nests
///     inner.set(inner.get() + 1);
///     // A task spawned inside the critical section must wait for it.
///     let child = runtime::spawn({
///         let lock = lock.clone();
///         async move { lock.lock().await.get() }
///     });
///     runtime::yield_now().await;
///     assert!(!child.is_finished());
///     drop(inner);
///     drop(outer);
///     assert_eq!(child.await.unwrap(), 1);
/// }
/// ```
///
/// The guard stays with its holder:
///
/// ```compile_fail
/// use runtime::sync::ReentrantMutex;
///
/// fn assert_send<T: Send>(_: T) {}
/// let lock = ReentrantMutex::new(0);
/// assert_send(lock.try_lock().unwrap());
/// ```
pub struct ReentrantMutex<T: ?Sized> {
    /// One permit: the lock itself, taken by the first level and given back by the last.
    /// Untracked: the lock tells the deadlock detector about itself (`diag`).
    sem: Semaphore,
    /// The deadlock detector's view: where the lock was created, and its holder (the same
    /// key as `owner`, with where it took the first level). A holder's re-entry never waits,
    /// so it never looks like a deadlock.
    diag: Resource,
    /// The key of the holder, or `NOBODY`.
    owner: AtomicU64,
    /// Nesting depth; touched only by the holder.
    depth: AtomicUsize,
    data: T,
}

// SAFETY: shared access to `T` is only given to the holder, one holder at a time, through
// `!Send` guards that stay on the holder's thread; the holder changes only through the
// semaphore, which orders the accesses. So `T` moves between threads (`T: Send`) but is never
// touched by two threads at once (no `T: Sync` needed), as with std's reentrant lock.
unsafe impl<T: ?Sized + Send> Sync for ReentrantMutex<T> {}

impl<T> ReentrantMutex<T> {
    /// A new, unlocked lock holding `data`. Deadlock reports name the caller's location as
    /// where it was created.
    ///
    /// ```
    /// use runtime::sync::ReentrantMutex;
    ///
    /// let lock = ReentrantMutex::new(5);
    /// assert_eq!(*lock.try_lock().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn new(data: T) -> ReentrantMutex<T> {
        ReentrantMutex {
            sem: Semaphore::new_untracked(1),
            diag: Resource::new(Kind::ReentrantMutex, Location::caller()),
            owner: AtomicU64::new(NOBODY),
            depth: AtomicUsize::new(0),
            data,
        }
    }

    /// Consumes the lock and returns its data.
    ///
    /// ```
    /// use runtime::sync::ReentrantMutex;
    ///
    /// assert_eq!(ReentrantMutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Takes the lock, or one more level of it if the current task already holds it.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future while it waits gives up its place in the queue.
    ///
    /// ```
    /// use runtime::sync::ReentrantMutex;
    ///
    /// let rt = runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let lock = ReentrantMutex::new(1);
    ///     let a = lock.lock().await;
    ///     let b = lock.lock().await;
    ///     assert_eq!(*a + *b, 2);
    /// });
    /// ```
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = ReentrantMutexGuard<'_, T>> + '_ {
        let at = Location::caller();
        async move {
            let key = current_key();
            if let Some(guard) = self.nest(key) {
                return guard;
            }
            diag::track(self.sem.acquire(), &self.diag, at)
                .await
                .expect("a ReentrantMutex's semaphore is never closed")
                .forget();
            self.take(key, at)
        }
    }

    /// Takes the lock (or one more level of it) if that needs no waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`](crate::sync::TryLockError) if another task or thread holds the lock,
    /// or others are queued for it.
    ///
    /// ```
    /// use runtime::sync::ReentrantMutex;
    ///
    /// let lock = ReentrantMutex::new(());
    /// let outer = lock.try_lock().unwrap();
    /// let inner = lock.try_lock().unwrap(); // same thread: nests
    /// # drop((inner, outer));
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> Result<ReentrantMutexGuard<'_, T>, crate::sync::TryLockError> {
        let key = current_key();
        if let Some(guard) = self.nest(key) {
            return Ok(guard);
        }
        match self.sem.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(self.take(key, Location::caller()))
            }
            Err(_) => Err(crate::sync::TryLockError::new()),
        }
    }

    /// Blocks the current OS thread until it holds the lock (or one more level of it): the
    /// form for synchronous code, keyed on the thread.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where it would stall every task on that thread: use
    /// `lock().await` there, or call it from `spawn_blocking`.
    ///
    /// ```
    /// use runtime::sync::ReentrantMutex;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(ReentrantMutex::new(()));
    /// let outer = lock.lock_blocking();
    /// let inner = lock.lock_blocking();
    /// let other = std::thread::spawn({
    ///     let lock = lock.clone();
    ///     move || drop(lock.lock_blocking()) // waits for both levels
    /// });
    /// drop(inner);
    /// drop(outer);
    /// other.join().unwrap();
    /// ```
    #[track_caller]
    pub fn lock_blocking(&self) -> ReentrantMutexGuard<'_, T> {
        hooks::assert_can_block("ReentrantMutex::lock_blocking", "mutex.lock().await");
        if let Some(guard) = self.nest(current_key()) {
            return guard;
        }
        runtime_primitives::internal::block_on_thread(self.lock())
    }

    /// One more level for the holder `key`, if it holds the lock.
    fn nest(&self, key: u64) -> Option<ReentrantMutexGuard<'_, T>> {
        // Only the holder itself can see its own key here: another thread reads either
        // `NOBODY` or someone else's key.
        if self.owner.load(Ordering::Relaxed) != key {
            return None;
        }
        let depth = self.depth.load(Ordering::Relaxed);
        let depth = depth
            .checked_add(1)
            .expect("ReentrantMutex nested more than usize::MAX times");
        self.depth.store(depth, Ordering::Relaxed);
        Some(ReentrantMutexGuard::new(self))
    }

    /// Records `key` as the holder after taking the permit at `at`.
    fn take(&self, key: u64, at: &'static Location<'static>) -> ReentrantMutexGuard<'_, T> {
        self.depth.store(1, Ordering::Relaxed);
        self.owner.store(key, Ordering::Relaxed);
        if diag::enabled() {
            self.diag.set_holder(key, at);
        }
        ReentrantMutexGuard::new(self)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReentrantMutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// One level of a [`ReentrantMutex`], held by the task (or thread) that took it; derefs to the
/// data. The lock is released when the last level is dropped.
///
/// ```
/// use runtime::sync::ReentrantMutex;
///
/// let lock = ReentrantMutex::new(String::from("x"));
/// let guard = lock.try_lock().unwrap();
/// assert_eq!(guard.len(), 1);
/// ```
#[must_use = "the level is released as soon as the guard is dropped"]
pub struct ReentrantMutexGuard<'a, T: ?Sized> {
    mutex: &'a ReentrantMutex<T>,
    /// `!Send` and `!Sync`: the guard belongs to its holder.
    _holder: PhantomData<*const ()>,
}

impl<'a, T: ?Sized> ReentrantMutexGuard<'a, T> {
    fn new(mutex: &'a ReentrantMutex<T>) -> Self {
        ReentrantMutexGuard {
            mutex,
            _holder: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for ReentrantMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.mutex.data
    }
}

impl<T: ?Sized> Drop for ReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        let m = self.mutex;
        let depth = m.depth.load(Ordering::Relaxed) - 1;
        m.depth.store(depth, Ordering::Relaxed);
        if depth == 0 {
            if diag::enabled() {
                m.diag.clear_holder();
            }
            m.owner.store(NOBODY, Ordering::Relaxed);
            // The permit taken (and forgotten) by the first level.
            m.sem.add_permits(1);
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
