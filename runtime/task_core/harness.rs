//! Poll, complete, cancel: the typed functions behind the task vtable.
//!
//! Every function here receives a header pointer and the reference its caller hands over,
//! and follows the state word (see `state`) to decide who may touch the stage and the join
//! waker. A panic in the future, or in its drop, is caught here and becomes the task's
//! `JoinError`: it never unwinds into a worker.

use crate::loom::UnsafeCell;
use crate::task_core::error::JoinError;
use crate::task_core::raw::{Cell, Core, Header, RawTask, Stage, Trailer};
use crate::task_core::state::{TransitionToIdle, TransitionToRunning};
use crate::task_core::{waker, Notified, Schedule, Task};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

struct Harness<F: Future, S: 'static> {
    cell: NonNull<Cell<F, S>>,
}

impl<F: Future, S: Schedule> Harness<F, S> {
    /// # Safety
    ///
    /// `ptr` must point to a live `Cell<F, S>`.
    unsafe fn from_raw(ptr: NonNull<Header>) -> Harness<F, S> {
        Harness { cell: ptr.cast() }
    }

    fn raw(&self) -> RawTask {
        RawTask::from_raw(self.cell.cast())
    }

    fn header(&self) -> &Header {
        // SAFETY: the cell is live while the harness's caller holds a reference.
        unsafe { &self.cell.as_ref().header }
    }

    fn core(&self) -> &Core<F, S> {
        // SAFETY: as above.
        unsafe { &self.cell.as_ref().core }
    }

    fn trailer(&self) -> &Trailer {
        // SAFETY: as above.
        unsafe { &self.cell.as_ref().trailer }
    }

    fn poll(self) {
        match self.header().state.transition_to_running() {
            TransitionToRunning::Success => {
                let waker = ManuallyDrop::new(waker::borrowed(self.raw()));
                let mut cx = Context::from_waker(&waker);
                if let Poll::Ready(output) = self.poll_future(&mut cx) {
                    self.store_and_complete(output);
                    return;
                }
                match self.header().state.transition_to_idle() {
                    TransitionToIdle::Ok => {}
                    TransitionToIdle::OkDealloc => self.raw().dealloc(),
                    TransitionToIdle::OkNotified => {
                        // Woken while running: requeue with the poller's reference, behind
                        // the other runnable tasks.
                        let task = Notified(Task::from_raw(self.raw()));
                        self.core().scheduler.yield_now(task);
                    }
                    TransitionToIdle::Cancelled => self.cancel_and_complete(None),
                }
            }
            TransitionToRunning::Cancelled => self.cancel_and_complete(None),
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.raw().dealloc(),
        }
    }

    /// Polls the future with the stage borrowed; a panic drops the future and becomes the
    /// output.
    fn poll_future(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        let id = self.header().id;
        let _task_id = crate::task_core::set_current_task_id(Some(id));
        // Console counts each enter of the task's span as one poll.
        // SAFETY: `RUNNING` is ours, which is the span's rule too.
        #[cfg(feature = "tracing")]
        let _entered = unsafe { self.trailer().span.enter() };
        let res = panic::catch_unwind(AssertUnwindSafe(|| {
            self.core().stage.with_mut(|ptr| {
                // SAFETY: `RUNNING` is ours, so nobody else touches the stage.
                let future = match unsafe { &mut *ptr } {
                    // SAFETY: the future stays in the cell until dropped in place: pinned.
                    Stage::Running(future) => unsafe { Pin::new_unchecked(future) },
                    _ => unreachable!("a task was polled after it completed"),
                };
                future.poll(cx)
            })
        }));
        match res {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => {
                self.drop_stage();
                Poll::Ready(Err(JoinError::panic(id, payload)))
            }
        }
    }

    /// Drops the future (or output) in place; a panic from its drop is swallowed, as the
    /// task is already being torn down.
    fn drop_stage(&self) {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            set_stage(&self.core().stage, Stage::Consumed);
        }));
    }

    /// A queued task that will never get to run (a blocking job with no thread): takes it
    /// as a poll would and completes it as cancelled, with `reason` in its `JoinError`. An
    /// abort that got there first wins: that task completes as plainly cancelled.
    fn fail(self, reason: std::io::Error) {
        match self.header().state.transition_to_running() {
            TransitionToRunning::Success => self.cancel_and_complete(Some(reason)),
            TransitionToRunning::Cancelled => self.cancel_and_complete(None),
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.raw().dealloc(),
        }
    }

    /// Drops the future and completes the task as cancelled (as a spawn failure with
    /// `spawn_error`); a panic from the future's drop becomes the output instead.
    fn cancel_and_complete(self, spawn_error: Option<std::io::Error>) {
        let id = self.header().id;
        let result = match panic::catch_unwind(AssertUnwindSafe(|| {
            let _task_id = crate::task_core::set_current_task_id(Some(id));
            set_stage(&self.core().stage, Stage::Consumed);
        })) {
            Ok(()) => match spawn_error {
                Some(err) => JoinError::spawn_failed(id, err),
                None => JoinError::cancelled(id),
            },
            Err(payload) => JoinError::panic(id, payload),
        };
        self.store_and_complete(Err(result));
    }

    fn store_and_complete(self, output: Result<F::Output, JoinError>) {
        set_stage(&self.core().stage, Stage::Finished(output));
        // Closed before `COMPLETE` is published, so a joiner never sees a finished task
        // whose span is still open.
        // SAFETY: the stage is ours until `transition_to_complete`.
        #[cfg(feature = "tracing")]
        unsafe {
            self.trailer().span.close()
        };
        let snapshot = self.header().state.transition_to_complete();
        // Leave the owned list before waking the joiner, so a task that joined this one
        // sees it gone from the runtime's alive count.
        let task = Task::<S>::from_raw(self.raw());
        let released = self.core().scheduler.release(&task);
        std::mem::forget(task);
        let count = if let Some(owned) = released {
            std::mem::forget(owned);
            2
        } else {
            1
        };
        // Whatever the output's drop or the join waker does, the task must still be
        // released below, so a panic there is contained.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            if !snapshot.is_join_interested() {
                // Nobody will read it: drop it here, where the task ran.
                set_stage(&self.core().stage, Stage::Consumed);
            } else if snapshot.is_join_waker_set() {
                self.trailer().waker.with(|ptr| {
                    // SAFETY: `JOIN_WAKER` is set, so the slot is ours to read until we
                    // clear the bit below.
                    if let Some(waker) = unsafe { &*ptr } {
                        waker.wake_by_ref();
                    }
                });
                let after = self.header().state.unset_waker_after_complete();
                if !after.is_join_interested() {
                    // The handle was dropped meanwhile and left the waker to us.
                    // SAFETY: `JOIN_INTEREST` is gone, so the handle no longer touches it.
                    self.trailer().waker.with_mut(|ptr| unsafe { *ptr = None });
                }
            }
        }));
        if self.header().state.transition_to_terminal(count) {
            self.raw().dealloc();
        }
    }

    fn try_read_output(self, dst: *mut Poll<Result<F::Output, JoinError>>, waker: &Waker) {
        if can_read_output(self.header(), self.trailer(), waker) {
            let output = self.core().stage.with_mut(|ptr| {
                // SAFETY: `COMPLETE` is set and the join handle is the only reader.
                match std::mem::replace(unsafe { &mut *ptr }, Stage::Consumed) {
                    Stage::Finished(output) => output,
                    _ => panic!("JoinHandle polled after completion"),
                }
            });
            // SAFETY: the caller guarantees `dst` is a valid `Poll<Result<T, JoinError>>`.
            unsafe { *dst = Poll::Ready(output) };
        }
    }

    fn drop_join_handle_slow(self) {
        let (drop_output, drop_waker) = self.header().state.transition_to_join_handle_dropped();
        if drop_output {
            // Complete: the output is ours; a panic in its drop is the dropper's.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                set_stage(&self.core().stage, Stage::Consumed);
            }));
        }
        if drop_waker {
            // SAFETY: `JOIN_WAKER` is clear and `JOIN_INTEREST` is ours: the slot is ours.
            self.trailer().waker.with_mut(|ptr| unsafe { *ptr = None });
        }
        self.raw().drop_reference();
    }

    fn shutdown(self) {
        if self.header().state.transition_to_shutdown() {
            // We took the idle task: drop its future here, with the owned reference as ours.
            self.cancel_and_complete(None);
        } else {
            // It runs elsewhere (and will see `CANCELLED`) or is complete.
            self.raw().drop_reference();
        }
    }
}

/// Decides whether the join handle may read the output now; registers `waker` otherwise.
fn can_read_output(header: &Header, trailer: &Trailer, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    let res = if !snapshot.is_join_waker_set() {
        set_join_waker(header, trailer, waker.clone())
    } else {
        let same = trailer.waker.with(|ptr| {
            // SAFETY: `JOIN_WAKER` is set, so the completing side only reads the slot.
            unsafe { &*ptr }
                .as_ref()
                .is_some_and(|w| w.will_wake(waker))
        });
        if same {
            return false;
        }
        header
            .state
            .unset_waker()
            .and_then(|_| set_join_waker(header, trailer, waker.clone()))
    };
    match res {
        Ok(_) => false,
        Err(snapshot) => {
            debug_assert!(snapshot.is_complete());
            true
        }
    }
}

fn set_join_waker(
    header: &Header,
    trailer: &Trailer,
    waker: Waker,
) -> Result<crate::task_core::state::Snapshot, crate::task_core::state::Snapshot> {
    // SAFETY: `JOIN_WAKER` is clear, so the join handle owns the slot.
    trailer.waker.with_mut(|ptr| unsafe { *ptr = Some(waker) });
    let res = header.state.set_join_waker();
    if res.is_err() {
        // Completed meanwhile: the slot is still ours; take the waker back out.
        // SAFETY: as above, the bit was never set.
        trailer.waker.with_mut(|ptr| unsafe { *ptr = None });
    }
    res
}

fn set_stage<F: Future>(stage: &UnsafeCell<Stage<F>>, new: Stage<F>) {
    // SAFETY: every caller holds the exclusive right to the stage (`RUNNING`, or
    // `COMPLETE` with the join interest on its side).
    stage.with_mut(|ptr| unsafe { *ptr = new });
}

// ===== vtable entry points =====
//
// Each is installed by `raw::vtable::<F, S>()` and reached through `Header::vtable`, so
// they share one contract, stated on each: `ptr` is the header of a live `Cell<F, S>`
// (these very `F` and `S`), and the caller owns the reference or the right the entry
// point consumes.

/// Polls the task once.
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>`; the caller gives up one `Notified`
/// reference, which the poll consumes.
pub(super) unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable is only installed on `Cell<F, S>`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.poll()
}

/// Completes a queued task that will never run as cancelled, with `reason`.
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>`; the caller gives up one `Notified`
/// reference, which this consumes as a poll would.
pub(super) unsafe fn fail<F: Future, S: Schedule>(ptr: NonNull<Header>, reason: std::io::Error) {
    // SAFETY: the vtable is only installed on `Cell<F, S>`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.fail(reason)
}

/// Hands the task to its scheduler's run queue.
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>`; the caller gives up one reference, which
/// becomes the queued `Notified`.
pub(super) unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as above.
    let harness = unsafe { Harness::<F, S>::from_raw(ptr) };
    let task = Notified(Task::from_raw(harness.raw()));
    harness.core().scheduler.schedule(task);
}

/// Frees the cell.
///
/// # Safety
///
/// `ptr` is the header of a `Cell<F, S>` whose last reference the caller just released;
/// nothing touches the cell afterwards.
pub(super) unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone; the cell was made by `Box` in `Cell::allocate`.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) });
}

/// Moves the output into `dst` if the task completed, else stores `waker` for the join.
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>` and the caller holds its `JoinHandle`;
/// `dst` points to a valid `Poll<Result<F::Output, JoinError>>`.
pub(super) unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: as above; the caller passes a `Poll<Result<F::Output, JoinError>>`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.try_read_output(dst.cast(), waker)
}

/// Drops the join interest when the fast path could not (the task completed, or a join
/// waker is stored).
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>`; the caller gives up its `JoinHandle`.
pub(super) unsafe fn drop_join_handle_slow<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.drop_join_handle_slow()
}

/// Cancels the task for runtime shutdown, dropping its future where it is not running.
///
/// # Safety
///
/// `ptr` is the header of a live `Cell<F, S>`; the caller gives up one reference (the
/// owned list's).
pub(super) unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: as above.
    unsafe { Harness::<F, S>::from_raw(ptr) }.shutdown()
}
