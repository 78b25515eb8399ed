//! The thread-local runtime context: which runtime this thread belongs to (for
//! `runtime::spawn` and `Handle::current`), which scheduler runs here (so a wake on a
//! worker goes to its local queue), and whether the thread is already driving a runtime
//! (so a nested `block_on` panics instead of deadlocking). The running task's id is kept
//! by the task machinery itself (`task_core::id`).

use crate::scheduler;
use crate::Handle;
use std::cell::{Cell, RefCell};
use std::task::Waker;

struct Context {
    /// The entered runtimes, innermost last, each under its guard's id: the current one is
    /// the last. A guard removes its own entry wherever it is, so guards dropped out of
    /// order still leave exactly the runtimes of the live guards entered.
    entered: RefCell<Vec<(u64, Handle)>>,
    next_guard: Cell<u64>,
    runtime_entered: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            entered: RefCell::new(Vec::new()),
            next_guard: Cell::new(0),
            runtime_entered: Cell::new(false),
        }
    };
    // Touched on every poll and wake: kept apart from `CONTEXT`, whose handle needs a
    // destructor, so that accessing them is a plain TLS load with no init-state check.
    static SCHEDULER: Cell<*const scheduler::Context> = const { Cell::new(std::ptr::null()) };
}

pub(crate) const NO_RUNTIME: &str = "there is no runtime here: this must be called from the \
context of a runtime. Call it inside `Runtime::block_on` or `#[runtime::main]`, inside a task, \
or pass a `runtime::Handle` and use `Handle::spawn` (or `Handle::enter`)";

/// Runs `f` with the current runtime's handle.
///
/// # Panics
///
/// Outside a runtime, with [`NO_RUNTIME`].
#[track_caller]
pub(crate) fn with_current_handle<R>(f: impl FnOnce(&Handle) -> R) -> R {
    match try_with_current_handle(f) {
        Some(r) => r,
        None => panic!("{NO_RUNTIME}"),
    }
}

pub(crate) fn try_with_current_handle<R>(f: impl FnOnce(&Handle) -> R) -> Option<R> {
    CONTEXT
        .try_with(|cx| cx.entered.borrow().last().map(|(_, handle)| f(handle)))
        .ok()
        .flatten()
}

/// Makes `handle` current until the guard drops (nesting restores the previous one).
pub(crate) fn set_current(handle: &Handle) -> SetCurrentGuard {
    try_set_current(handle).expect("the thread's runtime context is being destroyed")
}

/// As [`set_current`], but `None` when this thread's context is already gone (a runtime
/// dropped by a thread-local destructor as its thread exits): there is no current runtime
/// to set then, and panicking inside a thread-local destructor would abort the process.
pub(crate) fn try_set_current(handle: &Handle) -> Option<SetCurrentGuard> {
    CONTEXT
        .try_with(|cx| {
            let id = cx.next_guard.get();
            cx.next_guard.set(id + 1);
            cx.entered.borrow_mut().push((id, handle.clone()));
            id
        })
        .ok()
        .map(|id| SetCurrentGuard { id })
}

/// Leaves the runtime it entered on drop: the current one is then the innermost runtime
/// whose guard is still alive, whatever order guards drop in.
pub(crate) struct SetCurrentGuard {
    id: u64,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| {
            let removed = {
                let mut entered = cx.entered.borrow_mut();
                entered
                    .iter()
                    .rposition(|(id, _)| *id == self.id)
                    .map(|at| entered.remove(at))
            };
            // The handle drops after the borrow ends: its drop may look at the context.
            drop(removed);
        });
    }
}

/// Marks this thread as driving a runtime: current handle set, nested `block_on` refused,
/// `*_blocking` primitives refused.
///
/// # Panics
///
/// If the thread already drives a runtime.
#[track_caller]
pub(crate) fn enter_runtime(handle: &Handle, is_worker: bool) -> EnterRuntimeGuard {
    let entered = CONTEXT.with(|cx| cx.runtime_entered.replace(true));
    if entered {
        panic!(
            "Cannot start a runtime from within a runtime. This happens because a function \
             (like `block_on`) attempted to block the current thread while the thread is \
             being used to drive asynchronous tasks. Await the future instead, or move the \
             blocking call into `runtime::spawn_blocking`."
        );
    }
    let was_worker = runtime_primitives::hooks::set_worker_thread(is_worker);
    // Primitives that wake a waiter only to compete (the semaphore) wake it behind the
    // running tasks: after this thread's next driver turn, as `yield_now` does.
    let wake_behind = runtime_primitives::hooks::set_wake_behind(Some(defer));
    EnterRuntimeGuard {
        _current: set_current(handle),
        was_worker,
        wake_behind,
    }
}

pub(crate) struct EnterRuntimeGuard {
    _current: SetCurrentGuard,
    was_worker: bool,
    wake_behind: Option<fn(&Waker)>,
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        runtime_primitives::hooks::set_wake_behind(self.wake_behind);
        runtime_primitives::hooks::set_worker_thread(self.was_worker);
        let _ = CONTEXT.try_with(|cx| cx.runtime_entered.set(false));
    }
}

/// Runs `f` with `cx` as this thread's scheduler context.
pub(crate) fn set_scheduler<R>(cx: &scheduler::Context, f: impl FnOnce() -> R) -> R {
    struct Reset(*const scheduler::Context);
    impl Drop for Reset {
        fn drop(&mut self) {
            SCHEDULER.set(self.0);
        }
    }
    let prev = SCHEDULER.replace(cx);
    let _reset = Reset(prev);
    f()
}

/// Runs `f` with this thread's scheduler context, if any.
pub(crate) fn with_scheduler<R>(f: impl FnOnce(Option<&scheduler::Context>) -> R) -> R {
    let ptr = SCHEDULER.get();
    // SAFETY: the pointer is set by `set_scheduler` for the duration of a call that
    // borrows the context, and reset before that borrow ends; it is only read on this
    // thread.
    f(unsafe { ptr.as_ref() })
}

/// Defers `waker` until after the next driver turn of this thread's scheduler; wakes it
/// at once on a thread without one.
pub(crate) fn defer(waker: &Waker) {
    with_scheduler(|cx| match cx {
        Some(cx) => cx.defer(waker),
        None => waker.wake_by_ref(),
    });
}
