//! `task::Pool`: spawn with a limit on how many of the pool's tasks run at once (gevent's
//! `gevent.pool.Pool`).
//!
//! Built on the primitives, with no loop that polls:
//!
//! - the limit is a [`Semaphore`] of `size` permits: a spawn takes an owned permit (waiting
//!   in FIFO order while none is free) and moves it into the task, inside a `Slot` guard
//!   that wraps the user's future. The task's future is dropped when the task ends, whether
//!   it completed, panicked or was aborted (the harness drops it before it publishes the
//!   result), and the permit goes back with it;
//! - two counts of the pool's tasks: `running` (for `len`) drops *before* the task's permit
//!   goes back, so it never exceeds `size`; `live` drops *after*, and the `Slot` that brings
//!   it to zero calls [`Notify::notify_waiters`], which is what `join` waits for (it
//!   registers before it reads the count, so the wake-up is never missed), so a `join` that
//!   returns finds every slot of the ended tasks free;
//! - `tasks` keeps an [`AbortHandle`] per live task, for `abort_all`. A task is entered
//!   before it is spawned (so its `Slot` always finds its own entry to remove) and its
//!   handle is filled in just after; handles are aborted and dropped outside the lock,
//!   as a future dropped in an abort would take the lock again.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use runtime_primitives::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::task_core::{AbortHandle, JoinHandle, TaskMeta};
use crate::Handle;

/// A group of tasks of which at most `size` run at once: [`spawn`](Pool::spawn) waits for
/// a free slot, then spawns on the current runtime (gevent's `gevent.pool.Pool`).
///
/// Use it to bound concurrency (at most 10 downloads at a time, say) without giving up on
/// spawning one task per job. A slot is taken when the task is spawned and given back when
/// the task ends, however it ends: it completes, panics or is aborted. A pool is a cheap
/// handle: clones share the same slots and tasks, so a task may spawn into its own pool.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use runtime::task::Pool;
///
/// # #[runtime::main]
/// # async fn main() {
/// let pool = Pool::new(3);
/// let running = Arc::new(AtomicUsize::new(0));
/// let peak = Arc::new(AtomicUsize::new(0));
/// for _ in 0..20 {
///     let (running, peak) = (running.clone(), peak.clone());
///     pool.spawn(async move {
///         peak.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
///         runtime::time::sleep(std::time::Duration::from_millis(1)).await;
///         running.fetch_sub(1, Ordering::SeqCst);
///     })
///     .await; // waits while 3 run
/// }
/// pool.join().await; // all 20 have ended
/// assert!(peak.load(Ordering::SeqCst) <= 3);
/// # }
/// ```
///
/// Dropping the pool (every clone) neither waits for its tasks nor aborts them: they run
/// on, and their slots go back to nobody.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    size: usize,
    slots: Arc<Semaphore>,
    /// The pool's tasks holding their slot: at most `size`.
    running: AtomicUsize,
    /// The pool's tasks whose `Slot` has not finished dropping (the slot given back).
    live: AtomicUsize,
    /// Woken (`notify_waiters`) when `live` drops to zero.
    idle: Notify,
    tasks: Mutex<Tasks>,
}

/// The live tasks' abort handles, under `Inner::tasks`.
struct Tasks {
    next_key: u64,
    /// `None` between the task's entry and the end of its spawn.
    handles: HashMap<u64, Option<AbortHandle>>,
}

impl Pool {
    /// A pool that runs at most `size` of its tasks at once.
    ///
    /// # Panics
    ///
    /// If `size` is 0 (a pool with no slot could never run a task: use `Pool::new(1)` to run
    /// them one at a time, or [`spawn`](crate::spawn) / a [`JoinSet`](crate::task::JoinSet)
    /// for no limit), or above [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// let pool = runtime::task::Pool::new(10);
    /// assert_eq!(pool.size(), 10);
    /// assert_eq!(pool.free_count(), 10);
    /// ```
    #[track_caller]
    pub fn new(size: usize) -> Pool {
        assert!(
            size > 0,
            "Pool::new(0): a pool with no slot could never run a task; use Pool::new(1) to \
             run tasks one at a time, or runtime::spawn (or a JoinSet) for no limit"
        );
        Pool {
            inner: Arc::new(Inner {
                size,
                slots: Arc::new(Semaphore::new(size)),
                running: AtomicUsize::new(0),
                live: AtomicUsize::new(0),
                idle: Notify::new(),
                tasks: Mutex::new(Tasks {
                    next_key: 0,
                    handles: HashMap::new(),
                }),
            }),
        }
    }

    /// Waits until fewer than [`size`](Pool::size) of the pool's tasks run, then spawns
    /// `future` as a task on the current runtime (as [`crate::spawn`]) and returns its
    /// handle. Waiting spawns are served in the order they started waiting.
    ///
    /// The task holds its slot until it ends: completed, panicked or aborted. Dropping the
    /// returned [`JoinHandle`] detaches the task; it keeps its slot while it runs.
    ///
    /// # Panics
    ///
    /// Outside a runtime, at the call (not when the future is awaited), as
    /// [`crate::spawn`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future before it completes drops `future` unspawned and takes
    /// no slot (a slot it was about to get goes to the next waiting spawn).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(2);
    /// let handle = pool.spawn(async { 6 * 7 }).await;
    /// assert_eq!(handle.await.unwrap(), 42);
    /// # }
    /// ```
    #[track_caller]
    // The output is the task's handle, which the caller awaits when it wants the result.
    #[allow(clippy::async_yields_async)]
    pub fn spawn<F>(
        &self,
        future: F,
    ) -> impl Future<Output = JoinHandle<F::Output>> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        let handle = crate::context::with_current_handle(Handle::clone);
        let inner = self.inner.clone();
        async move {
            let permit = inner
                .slots
                .clone()
                .acquire_owned()
                .await
                .expect("a pool never closes its semaphore");
            Inner::start(&inner, &handle, permit, future, location)
        }
    }

    /// Spawns `future` as a task on the current runtime if a slot is free now, without
    /// waiting.
    ///
    /// # Errors
    ///
    /// [`TrySpawnError`] with the future, unspawned, if [`size`](Pool::size) tasks run (or
    /// spawns are already waiting for the next free slot).
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`crate::spawn`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(1);
    /// let first = pool.try_spawn(std::future::pending::<u8>()).unwrap();
    /// let refused = pool.try_spawn(async { 1 }).unwrap_err();
    /// let future = refused.into_inner(); // handed back, not run
    /// first.abort();
    /// pool.join().await; // the slot is free again
    /// assert_eq!(pool.try_spawn(future).unwrap().await.unwrap(), 1);
    /// # }
    /// ```
    #[track_caller]
    pub fn try_spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, TrySpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        crate::context::with_current_handle(|handle| {
            match self.inner.slots.clone().try_acquire_owned() {
                Ok(permit) => Ok(Inner::start(&self.inner, handle, permit, future, location)),
                Err(_) => Err(TrySpawnError { future }),
            }
        })
    }

    /// Waits until none of the pool's tasks is running: every task spawned through the
    /// pool so far has ended (gevent's `Pool.join()`). Returns at once if none runs.
    ///
    /// Tasks spawned while it waits count too, so a pool kept busy (tasks that spawn more
    /// tasks into it, say) is waited for until it runs dry. When it returns, the slots of
    /// the tasks that ended are free. Spawns still waiting for a slot are not tasks yet
    /// and are not waited for.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only watches the pool, so dropping it changes nothing.
    ///
    /// ```
    /// # #[runtime::main]
    /// # async fn main() {
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = runtime::task::Pool::new(4);
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let done = done.clone();
    ///     drop(pool.spawn(async move { done.fetch_add(1, Ordering::SeqCst) }).await);
    /// }
    /// pool.join().await;
    /// assert_eq!(done.load(Ordering::SeqCst), 10);
    /// assert!(pool.is_empty());
    /// # }
    /// ```
    pub async fn join(&self) {
        loop {
            let mut ended = pin!(self.inner.idle.notified());
            // Registered before the count is read: a last task ending in between is seen.
            ended.as_mut().enable();
            if self.inner.live.load(SeqCst) == 0 {
                return;
            }
            ended.await;
        }
    }

    /// Aborts every task of the pool that is running now (gevent's `Pool.kill()`), as
    /// [`JoinHandle::abort`]: each is cancelled at its next turn (a running one once its
    /// current poll returns) and frees its slot as it ends. Await [`join`](Pool::join) to wait for
    /// that. Spawns waiting for a slot are not affected (drop them to cancel them), nor are
    /// tasks spawned after this call.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(2);
    /// let a = pool.spawn(std::future::pending::<()>()).await;
    /// let b = pool.spawn(std::future::pending::<()>()).await;
    /// pool.abort_all();
    /// assert!(a.await.unwrap_err().is_cancelled());
    /// assert!(b.await.unwrap_err().is_cancelled());
    /// pool.join().await;
    /// assert_eq!(pool.free_count(), 2);
    /// # }
    /// ```
    pub fn abort_all(&self) {
        let handles: Vec<AbortHandle> = self
            .inner
            .lock_tasks()
            .handles
            .values()
            .flatten()
            .cloned()
            .collect();
        for handle in handles {
            handle.abort();
        }
    }

    /// The most tasks the pool runs at once: the `size` it was made with.
    ///
    /// ```
    /// assert_eq!(runtime::task::Pool::new(5).size(), 5);
    /// ```
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// How many of the pool's tasks are running (spawned and not ended), never more than
    /// [`size`](Pool::size): a snapshot (gevent's `len(pool)`).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(5);
    /// let task = pool.spawn(std::future::pending::<()>()).await;
    /// assert_eq!(pool.len(), 1);
    /// task.abort();
    /// pool.join().await;
    /// assert_eq!(pool.len(), 0);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.inner.running.load(SeqCst)
    }

    /// Whether none of the pool's tasks is running (a snapshot).
    ///
    /// ```
    /// assert!(runtime::task::Pool::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many tasks could be spawned now without waiting: a snapshot (gevent's
    /// `free_count()`). Zero while spawns wait, as a freed slot goes to the first of them.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(3);
    /// let _task = pool.spawn(std::future::pending::<()>()).await;
    /// assert_eq!(pool.free_count(), 2);
    /// # }
    /// ```
    pub fn free_count(&self) -> usize {
        self.inner.slots.available_permits()
    }

    /// Whether a [`spawn`](Pool::spawn) would wait now: no slot is free (a snapshot;
    /// gevent's `full()`).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(1);
    /// assert!(!pool.is_full());
    /// let _task = pool.spawn(std::future::pending::<()>()).await;
    /// assert!(pool.is_full());
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        self.free_count() == 0
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("running", &self.len())
            .field("free", &self.free_count())
            .finish()
    }
}

impl Inner {
    fn lock_tasks(&self) -> MutexGuard<'_, Tasks> {
        // Nothing panics while the lock is held, but a poisoned map is still consistent.
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns `future` on `handle` holding `permit` until the task's future is dropped.
    fn start<F>(
        this: &Arc<Inner>,
        handle: &Handle,
        permit: OwnedSemaphorePermit,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let key = {
            let mut tasks = this.lock_tasks();
            let key = tasks.next_key;
            tasks.next_key += 1;
            tasks.handles.insert(key, None);
            key
        };
        this.live.fetch_add(1, SeqCst);
        this.running.fetch_add(1, SeqCst);
        let slot = Slot {
            pool: this.clone(),
            key,
            permit: Some(permit),
        };
        let join = handle.spawn_with(
            async move {
                let _slot = slot;
                future.await
            },
            TaskMeta::new(None, location),
        );
        // The task may have ended already (its entry is then gone): nothing to fill in.
        if let Some(entry) = this.lock_tasks().handles.get_mut(&key) {
            *entry = Some(join.abort_handle());
        }
        join
    }
}

/// A pool task's hold on its slot, dropped with the task's future.
struct Slot {
    pool: Arc<Inner>,
    key: u64,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let entry = self.pool.lock_tasks().handles.remove(&self.key);
        drop(entry); // outside the lock
                     // `running` drops while the slot is held (so `len() <= size`), `live` once it is
                     // free (so a `join` that returns sees it free).
        self.pool.running.fetch_sub(1, SeqCst);
        drop(self.permit.take());
        if self.pool.live.fetch_sub(1, SeqCst) == 1 {
            self.pool.idle.notify_waiters();
        }
    }
}

/// The error of [`Pool::try_spawn`]: no slot was free. The future comes back unspawned.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() {
/// let pool = runtime::task::Pool::new(1);
/// let _busy = pool.spawn(std::future::pending::<()>()).await;
/// let err = pool.try_spawn(async { "later" }).unwrap_err();
/// assert_eq!(err.to_string(), "every slot of the pool is taken");
/// let _future = err.into_inner();
/// # }
/// ```
pub struct TrySpawnError<F> {
    future: F,
}

impl<F> TrySpawnError<F> {
    /// The future that was not spawned.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = runtime::task::Pool::new(1);
    /// let _busy = pool.spawn(std::future::pending::<()>()).await;
    /// let future = pool.try_spawn(async { 5 }).unwrap_err().into_inner();
    /// assert_eq!(future.await, 5);
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

// Futures rarely implement `Debug`: this one does not ask for it, so `unwrap` and `?` work.
impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrySpawnError(..)")
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every slot of the pool is taken")
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

// The handles users share between tasks must stay `Send + Sync`.
#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pool>();
}
