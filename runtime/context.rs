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
    handle: RefCell<Option<Handle>>,
    runtime_entered: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
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
        .try_with(|cx| cx.handle.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// Makes `handle` current until the guard drops (nesting restores the previous one).
pub(crate) fn set_current(handle: &Handle) -> SetCurrentGuard {
    let prev = CONTEXT.with(|cx| cx.handle.replace(Some(handle.clone())));
    SetCurrentGuard { prev: Some(prev) }
}

/// Restores the previously current runtime on drop.
pub(crate) struct SetCurrentGuard {
    prev: Option<Option<Handle>>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            let _ = CONTEXT.try_with(|cx| *cx.handle.borrow_mut() = prev);
        }
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
    EnterRuntimeGuard {
        _current: set_current(handle),
        was_worker,
    }
}

pub(crate) struct EnterRuntimeGuard {
    _current: SetCurrentGuard,
    was_worker: bool,
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
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
