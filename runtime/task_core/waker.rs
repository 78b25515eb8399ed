//! `Waker`s that are the task's header pointer with a static vtable: waking never allocates.
//!
//! A cloned waker holds one task reference; the waker lent to `poll` holds none (it borrows
//! the poller's reference and is never dropped).
//!
//! With the `tracing` feature each operation is also reported to console (see `trace`),
//! before the operation, while the waker's reference still keeps the cell alive.

use crate::task_core::raw::{Header, RawTask};
use crate::task_core::state::TransitionToNotified;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for `task` that borrows the caller's reference: wrap it in `ManuallyDrop`.
pub(super) fn borrowed(task: RawTask) -> Waker {
    let raw = RawWaker::new(task.header_ptr().as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable's functions uphold the `RawWaker` contract for a task header
    // pointer; the caller keeps the task alive while this waker is lent out.
    unsafe { Waker::from_raw(raw) }
}

fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: every `RawWaker` built here carries a non-null header pointer.
    RawTask::from_raw(unsafe { NonNull::new_unchecked(ptr as *mut Header) })
}

// The `RawWakerVTable` functions. Their shared contract, as `Waker` promises it: `ptr`
// comes from a `RawWaker` built with `VTABLE`, i.e. it is the header of a live task cell
// whose reference this waker owns.

/// Takes one more reference for the new waker.
///
/// # Safety
///
/// `ptr` is the header of a live task whose reference the cloned waker owns.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    #[cfg(feature = "tracing")]
    raw(ptr).trailer().span.waker_op("waker.clone");
    raw(ptr).ref_inc();
    RawWaker::new(ptr, &VTABLE)
}

/// Wakes the task, consuming the waker's reference.
///
/// # Safety
///
/// As [`clone`]; the waker's reference is given up.
unsafe fn wake(ptr: *const ()) {
    let task = raw(ptr);
    #[cfg(feature = "tracing")]
    task.trailer().span.waker_op("waker.wake");
    match task.state().transition_to_notified_by_val() {
        TransitionToNotified::Submit => task.schedule(),
        TransitionToNotified::Dealloc => task.dealloc(),
        TransitionToNotified::DoNothing => {}
    }
}

/// Wakes the task, keeping the waker's reference.
///
/// # Safety
///
/// As [`clone`].
unsafe fn wake_by_ref(ptr: *const ()) {
    let task = raw(ptr);
    #[cfg(feature = "tracing")]
    task.trailer().span.waker_op("waker.wake_by_ref");
    match task.state().transition_to_notified_by_ref() {
        TransitionToNotified::Submit => task.schedule(),
        TransitionToNotified::Dealloc => unreachable!("wake_by_ref keeps its reference"),
        TransitionToNotified::DoNothing => {}
    }
}

/// Releases the waker's reference.
///
/// # Safety
///
/// As [`clone`]; the waker's reference is given up.
unsafe fn drop_waker(ptr: *const ()) {
    #[cfg(feature = "tracing")]
    raw(ptr).trailer().span.waker_op("waker.drop");
    raw(ptr).drop_reference();
}
