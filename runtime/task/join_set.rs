//! `JoinSet`: a collection of tasks awaited in completion order.
//!
//! Each member gets its own waker that queues the member's slot on a shared ready list, so
//! `join_next` polls only the handles that were woken: O(1) per completion, whatever the
//! set's size.

use crate::task_core::{AbortHandle, JoinError, JoinHandle};
use crate::Handle;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A set of tasks spawned together; [`join_next`](JoinSet::join_next) yields their results
/// as they finish. Dropping the set aborts every task still in it.
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut set = runtime::task::JoinSet::new();
///     for i in 0..10 {
///         set.spawn(async move { i * 2 });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     assert_eq!(sum, 90);
/// });
/// ```
pub struct JoinSet<T> {
    entries: Vec<Option<Entry<T>>>,
    free: Vec<usize>,
    ready: Arc<ReadyList>,
    len: usize,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
}

struct ReadyList {
    inner: Mutex<ReadyInner>,
}

struct ReadyInner {
    queue: VecDeque<usize>,
    parent: Option<Waker>,
}

struct EntryWaker {
    index: usize,
    queued: AtomicBool,
    list: Arc<ReadyList>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = {
            let mut inner = self.list.lock();
            inner.queue.push_back(self.index);
            inner.parent.take()
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl ReadyList {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReadyInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set = runtime::task::JoinSet::<u32>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            free: Vec::new(),
            ready: Arc::new(ReadyList {
                inner: Mutex::new(ReadyInner {
                    queue: VecDeque::new(),
                    parent: None,
                }),
            }),
            len: 0,
        }
    }

    /// The number of tasks in the set (finished ones count until joined).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async { 1 });
    /// set.spawn(async { 2 });
    /// assert_eq!(set.len(), 2);
    /// set.join_next().await;
    /// assert_eq!(set.len(), 1);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no task.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async {});
    /// assert!(!set.is_empty());
    /// set.join_next().await.unwrap().unwrap();
    /// assert!(set.is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an already spawned task.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let index = self.free.pop().unwrap_or_else(|| {
            self.entries.push(None);
            self.entries.len() - 1
        });
        let waker = Arc::new(EntryWaker {
            index,
            queued: AtomicBool::new(false),
            list: self.ready.clone(),
        });
        // Queue it once so the first `join_next` polls it and registers its waker.
        waker.wake_by_ref();
        self.entries[index] = Some(Entry { handle, waker });
        self.len += 1;
        abort
    }

    /// Aborts every task in the set; they stay in it until joined.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// for _ in 0..3 {
    ///     set.spawn(std::future::pending::<()>());
    /// }
    /// set.abort_all();
    /// assert_eq!(set.len(), 3);
    /// while let Some(res) = set.join_next().await {
    ///     assert!(res.unwrap_err().is_cancelled());
    /// }
    /// # }
    /// ```
    pub fn abort_all(&mut self) {
        for entry in self.entries.iter().flatten() {
            entry.handle.abort();
        }
    }

    /// Waits for the next task to finish and returns its result, or `None` when the set is
    /// empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a result not returned stays in the set.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async {
    ///     runtime::time::sleep(Duration::from_millis(5)).await;
    ///     "slow"
    /// });
    /// set.spawn(async { "fast" });
    /// assert_eq!(set.join_next().await.unwrap().unwrap(), "fast");
    /// assert_eq!(set.join_next().await.unwrap().unwrap(), "slow");
    /// assert!(set.join_next().await.is_none());
    /// # }
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next finished task (see [`join_next`](JoinSet::join_next)), for
    /// hand-written futures. `Ready(None)` when the set is empty; on `Pending` the waker of
    /// `cx` is woken when a member finishes.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(async { 7 });
    /// let res = std::future::poll_fn(|cx| set.poll_join_next(cx)).await;
    /// assert_eq!(res.unwrap().unwrap(), 7);
    /// # }
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        let mut coop = std::task::ready!(crate::coop::poll_proceed(cx));
        // The member handles are polled without the budget: their wakers are ours, and an
        // exhausted budget would make them requeue themselves forever.
        let _unconstrained = crate::coop::Unconstrained::enter();
        loop {
            let index = {
                let mut inner = self.ready.lock();
                match inner.queue.pop_front() {
                    Some(index) => index,
                    None => {
                        inner.parent = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                }
            };
            let Some(entry) = self.entries.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            entry.waker.queued.store(false, Ordering::Release);
            let waker = Waker::from(entry.waker.clone());
            let mut member_cx = Context::from_waker(&waker);
            if let Poll::Ready(res) = Pin::new(&mut entry.handle).poll(&mut member_cx) {
                self.entries[index] = None;
                self.free.push(index);
                self.len -= 1;
                coop.made_progress();
                return Poll::Ready(Some(res));
            }
        }
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    ///
    /// If a task panicked (the panic is resumed here) or was cancelled; the remaining tasks
    /// are aborted when the set drops during the unwind.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: the future owns the set, so dropping it aborts the tasks still
    /// running and loses the outputs collected so far.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// for i in 1..=3 {
    ///     set.spawn(async move { i * 10 });
    /// }
    /// let mut outputs = set.join_all().await;
    /// outputs.sort();
    /// assert_eq!(outputs, [10, 20, 30]);
    /// # }
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        while let Some(res) = self.join_next().await {
            match res {
                Ok(value) => out.push(value),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("JoinSet::join_all: {err}"),
            }
        }
        out
    }

    /// Aborts every task and waits until all of them have finished; their results are
    /// dropped. The set is empty afterwards.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if dropped early, the tasks not yet joined stay in the set, aborted.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn(std::future::pending::<()>());
    /// set.spawn(async {});
    /// set.shutdown().await;
    /// assert!(set.is_empty());
    /// # }
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns a task on the current runtime into the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`crate::spawn`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// let abort = set.spawn(std::future::pending::<u32>());
    /// set.spawn(async { 1 });
    /// abort.abort(); // the returned handle cancels that one member
    /// let (mut ok, mut cancelled) = (0, 0);
    /// while let Some(res) = set.join_next().await {
    ///     match res {
    ///         Ok(_) => ok += 1,
    ///         Err(e) if e.is_cancelled() => cancelled += 1,
    ///         Err(e) => panic!("{e}"),
    ///     }
    /// }
    /// assert_eq!((ok, cancelled), (1, 1));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns a task on the runtime of `handle` into the set; works outside any runtime.
    ///
    /// ```
    /// let rt = runtime::Runtime::new().unwrap();
    /// let mut set = runtime::task::JoinSet::new();
    /// set.spawn_on(async { "on rt" }, rt.handle());
    /// let res = rt.block_on(set.join_next()).unwrap();
    /// assert_eq!(res.unwrap(), "on rt");
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Runs `f` on the blocking pool of the current runtime, as a member of the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut set = runtime::task::JoinSet::new();
    /// for n in [10u64, 20] {
    ///     set.spawn_blocking(move || (1..=n).sum::<u64>());
    /// }
    /// let mut sums = set.join_all().await;
    /// sums.sort();
    /// assert_eq!(sums, [55, 210]);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(crate::spawn_blocking(f))
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a local task (its future need not be `Send`) into the set, as
    /// [`spawn_local`](crate::task::spawn_local).
    ///
    /// # Panics
    ///
    /// Where the task could not run, as [`spawn_local`](crate::task::spawn_local).
    ///
    /// ```
    /// # #[runtime::main(flavor = "local")]
    /// # async fn main() {
    /// use std::rc::Rc;
    /// let mut set = runtime::task::JoinSet::new();
    /// for i in 0..3 {
    ///     let i = Rc::new(i);
    ///     set.spawn_local(async move { *i });
    /// }
    /// let mut sum = 0;
    /// while let Some(res) = set.join_next().await {
    ///     sum += res.unwrap();
    /// }
    /// assert_eq!(sum, 3);
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::task::spawn_local(future))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
