//! The hidden seam between these primitives and a runtime.
//!
//! The primitives know nothing of any executor, yet on the `runtime` executor they must
//! (1) spend the cooperative budget, so an always-ready channel polled in a loop still
//! yields, and (2) refuse `*_blocking` calls on a worker thread, which would stall every
//! task on it. Both are thread-local slots that the runtime fills when a worker thread starts
//! and around each task poll; on any other executor they stay empty and every check is a no-op.
//!
//! The budget is a plain counter: `None` means unconstrained (not inside a budgeted poll).

use core::cell::Cell;
use core::task::{Context, Poll, Waker};

thread_local! {
    static BUDGET: Cell<Option<u8>> = const { Cell::new(None) };
    static WORKER: Cell<bool> = const { Cell::new(false) };
    static WAKE_BEHIND: Cell<Option<fn(&Waker)>> = const { Cell::new(None) };
}

/// Replaces the current task's budget, returning the previous one.
///
/// ```
/// use runtime_primitives::hooks;
///
/// let before = hooks::set_budget(Some(3));
/// assert_eq!(hooks::budget(), Some(3));
/// hooks::set_budget(before);
/// ```
#[inline]
pub fn set_budget(budget: Option<u8>) -> Option<u8> {
    BUDGET.with(|b| b.replace(budget))
}

/// The budget left in the current poll (`None`: unconstrained).
///
/// ```
/// // Outside a runtime's budgeted poll nothing is counted.
/// assert_eq!(runtime_primitives::hooks::budget(), None);
/// ```
#[inline]
pub fn budget() -> Option<u8> {
    BUDGET.with(Cell::get)
}

/// Whether the current poll has any budget left.
///
/// ```
/// use runtime_primitives::hooks;
///
/// let before = hooks::set_budget(Some(0));
/// assert!(!hooks::has_budget_remaining());
/// hooks::set_budget(before);
/// assert!(hooks::has_budget_remaining());
/// ```
#[inline]
pub fn has_budget_remaining() -> bool {
    budget() != Some(0)
}

/// Spends one unit of budget for an operation that is about to make progress.
///
/// When the budget is spent, wakes the task and returns `Pending`, so the caller returns
/// `Pending` too and the task goes to the back of its run queue. The returned guard gives the
/// unit back if the operation ends up not making progress (dropped without
/// [`RestoreOnPending::made_progress`]).
///
/// ```
/// use runtime_primitives::hooks;
/// use std::task::{Context, Poll, Waker};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let before = hooks::set_budget(Some(1));
/// let Poll::Ready(mut coop) = hooks::poll_proceed(&mut cx) else { unreachable!() };
/// coop.made_progress(); // keep the unit spent
/// drop(coop);
/// assert!(hooks::poll_proceed(&mut cx).is_pending(), "the budget is spent: yield");
/// hooks::set_budget(before);
/// ```
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    BUDGET.with(|cell| match cell.get() {
        None => Poll::Ready(RestoreOnPending(None)),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            cell.set(Some(n - 1));
            Poll::Ready(RestoreOnPending(Some(n)))
        }
    })
}

/// Gives a unit of budget back on drop unless the operation made progress.
///
/// ```
/// use runtime_primitives::hooks;
/// use std::task::{Context, Waker};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let before = hooks::set_budget(Some(1));
/// let guard = hooks::poll_proceed(&mut cx);
/// assert_eq!(hooks::budget(), Some(0));
/// drop(guard); // no progress: the unit comes back
/// assert_eq!(hooks::budget(), Some(1));
/// hooks::set_budget(before);
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard right away gives the budget unit back"]
pub struct RestoreOnPending(Option<u8>);

impl RestoreOnPending {
    /// Keeps the unit spent: the operation made progress.
    ///
    /// ```
    /// use runtime_primitives::hooks;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let before = hooks::set_budget(Some(2));
    /// if let Poll::Ready(mut coop) = hooks::poll_proceed(&mut cx) {
    ///     coop.made_progress();
    /// }
    /// assert_eq!(hooks::budget(), Some(1));
    /// hooks::set_budget(before);
    /// ```
    #[inline]
    pub fn made_progress(&mut self) {
        self.0 = None;
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(previous) = self.0 {
            BUDGET.with(|cell| cell.set(Some(previous)));
        }
    }
}

/// Marks (or unmarks) the current thread as a runtime worker; returns the previous mark.
///
/// ```
/// use runtime_primitives::hooks;
///
/// let was = hooks::set_worker_thread(true);
/// assert!(hooks::is_worker_thread());
/// hooks::set_worker_thread(was);
/// ```
#[inline]
pub fn set_worker_thread(is_worker: bool) -> bool {
    WORKER.with(|w| w.replace(is_worker))
}

/// Whether the current thread is a runtime worker (blocking on it would stall tasks).
///
/// ```
/// assert!(!runtime_primitives::hooks::is_worker_thread());
/// ```
#[inline]
pub fn is_worker_thread() -> bool {
    WORKER.with(Cell::get)
}

/// Panics when a `*_blocking` operation is called on a runtime worker thread.
///
/// # Panics
///
/// On a worker thread, with a message naming `op` and the async form to use instead.
///
/// ```
/// use runtime_primitives::hooks;
///
/// hooks::assert_can_block("Event::wait_blocking", "event.wait().await"); // a plain thread
/// let refused = std::thread::spawn(|| {
///     hooks::set_worker_thread(true);
///     hooks::assert_can_block("Event::wait_blocking", "event.wait().await");
/// });
/// assert!(refused.join().is_err());
/// ```
#[track_caller]
pub fn assert_can_block(op: &str, async_form: &str) {
    if is_worker_thread() {
        panic!(
            "`{op}` would block a runtime worker thread and stall every task on it; \
             use `{async_form}` inside async code, or call it from `spawn_blocking`"
        );
    }
}

/// Sets how this thread wakes a task "behind" the running ones (`None`: a plain wake);
/// returns the previous setting. The runtime sets it while a thread drives its scheduler.
///
/// ```
/// use runtime_primitives::hooks;
///
/// let before = hooks::set_wake_behind(Some(|waker| waker.wake_by_ref()));
/// hooks::set_wake_behind(before);
/// ```
#[inline]
pub fn set_wake_behind(wake: Option<fn(&Waker)>) -> Option<fn(&Waker)> {
    WAKE_BEHIND.with(|w| w.replace(wake))
}

/// Wakes `waker` behind the tasks already runnable on this thread's executor (after its
/// next IO turn), or at once where no executor said how.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::task::{Wake, Waker};
///
/// struct Flag(AtomicBool);
/// impl Wake for Flag {
///     fn wake(self: Arc<Self>) {
///         self.0.store(true, Ordering::Relaxed);
///     }
/// }
/// let flag = Arc::new(Flag(AtomicBool::new(false)));
/// runtime_primitives::hooks::wake_behind(Waker::from(flag.clone()));
/// assert!(flag.0.load(Ordering::Relaxed), "outside a runtime: woken at once");
/// ```
#[inline]
pub fn wake_behind(waker: Waker) {
    match WAKE_BEHIND.with(Cell::get) {
        Some(wake) => wake(&waker),
        None => waker.wake(),
    }
}
