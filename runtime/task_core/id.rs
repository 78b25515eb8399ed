//! Task identifiers, and the slot that says which task this thread is running.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// A task's identifier, unique among all tasks of the process for its lifetime.
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// let handle = rt.spawn(async { runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), id);
/// ```
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        // A plain std atomic even under loom: ids order nothing, they only have to be unique.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("task ids exhausted"))
    }

    /// The id as a number (for logs and metrics labels); never 0.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let a = runtime::spawn(async {});
    /// let b = runtime::spawn(async {});
    /// assert_ne!(a.id().as_u64(), b.id().as_u64());
    /// assert_eq!(a.id().as_u64().to_string(), a.id().to_string());
    /// # }
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// The id whose [`as_u64`](Id::as_u64) is `id`; `None` for 0.
    pub(crate) fn from_u64(id: u64) -> Option<Id> {
        NonZeroU64::new(id).map(Id)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of the task currently running.
///
/// # Panics
///
/// Outside a task (use [`try_id`] there).
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let handle = runtime::spawn(async { runtime::task::id() });
///     assert_eq!(handle.id(), handle.await.unwrap());
/// });
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect("`runtime::task::id()` called outside a task; use `task::try_id()` there")
}

/// The id of the task currently running, or `None` outside a task.
///
/// ```
/// assert!(runtime::task::try_id().is_none());
/// ```
pub fn try_id() -> Option<Id> {
    CURRENT.get()
}

thread_local! {
    /// The id of the task being polled (or dropped) on this thread.
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

/// Makes `id` the running task's id until the guard drops (nesting restores the outer one).
pub(crate) fn set_current_task_id(id: Option<Id>) -> CurrentIdGuard {
    CurrentIdGuard {
        prev: CURRENT.replace(id),
    }
}

pub(crate) struct CurrentIdGuard {
    prev: Option<Id>,
}

impl Drop for CurrentIdGuard {
    fn drop(&mut self) {
        CURRENT.set(self.prev);
    }
}
