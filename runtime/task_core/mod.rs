//! The task machinery, the floor under the schedulers and the public `task` API.
//!
//! A task is one allocation (`raw::Cell`: header, future or output, trailer) reached
//! through typed references that each own one count of the state word (`state`): `Task`
//! (the owned list's), `Notified` (a run queue's), `JoinHandle`, `AbortHandle` and wakers.
//! `harness` polls, completes and cancels; `list` is the runtime's set of live tasks.
//!
//! This module knows nothing of IO or of which thread runs a task: a scheduler plugs in
//! through [`Schedule`], and the only thread-local state kept here is the running task's
//! id (`id`).

mod error;
mod harness;
mod id;
mod join;
mod list;
mod local;
pub(crate) mod raw;
pub(crate) mod state;
#[cfg(feature = "tracing")]
mod trace;
mod waker;

#[cfg(all(test, runtime_loom))]
pub(crate) mod loom_support;
#[cfg(all(test, runtime_loom))]
mod loom_tests;

pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};

pub(crate) use id::set_current_task_id;
pub(crate) use list::{OwnedTasks, TaskView};
pub(crate) use local::ThreadKey;
pub(crate) use raw::TaskMeta;

use raw::{Header, RawTask};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// How a scheduler receives its tasks back.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// The task completed: remove it from the owned list, returning the list's reference.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// Queue a woken task.
    fn schedule(&self, task: Notified<Self>);

    /// Queue a task that was woken while it ran: behind other runnable tasks.
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
}

/// The owned list's reference to a task.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _scheduler: PhantomData<S>,
}

/// A run queue's reference: the right to poll the task once.
#[repr(transparent)]
pub(crate) struct Notified<S: 'static>(Task<S>);

// SAFETY: tasks are built only from `Send` futures and outputs, or (`new_local_task`) from
// a `LocalFuture`, which polls and drops its future only on its owner thread (see `local`),
// whose output reaches only a `JoinHandle` that is `Send` exactly when the output is; every
// shared field of the cell is synchronised by the state word.
unsafe impl<S> Send for Task<S> {}
// SAFETY: as above.
unsafe impl<S> Sync for Task<S> {}

impl<S: 'static> Task<S> {
    fn from_raw(raw: RawTask) -> Task<S> {
        Task {
            raw,
            _scheduler: PhantomData,
        }
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.raw.header_ptr()
    }

    /// Cancels the task for runtime shutdown, consuming this reference.
    pub(crate) fn shutdown(self) {
        let raw = self.raw;
        std::mem::forget(self);
        raw.shutdown();
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl<S: 'static> Notified<S> {
    /// Polls the task once, consuming this reference.
    pub(crate) fn run(self) {
        let raw = self.0.raw;
        std::mem::forget(self);
        raw.poll();
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        self.0.raw.id()
    }

    /// Hands the reference over as a raw pointer (for intrusive queues).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let ptr = self.0.header_ptr();
        std::mem::forget(self);
        ptr
    }

    /// # Safety
    ///
    /// `ptr` must come from [`Notified::into_raw`] of the same scheduler type.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        Notified(Task::from_raw(RawTask::from_raw(ptr)))
    }
}

/// Allocates a task; returns the three references of a fresh task.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    meta: TaskMeta,
) -> (Task<S>, Notified<S>, JoinHandle<F::Output>)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::from_raw(raw::Cell::allocate(future, scheduler, meta));
    (
        Task::from_raw(raw),
        Notified(Task::from_raw(raw)),
        JoinHandle::new(raw),
    )
}

impl<S: 'static> Notified<S> {
    /// Completes a queued task that will never run (a blocking job no thread can take) right
    /// here, without polling its future: its `JoinError` is a cancellation carrying `reason`.
    pub(crate) fn fail_and_run(self, reason: std::io::Error) {
        let raw = self.0.raw;
        std::mem::forget(self);
        raw.fail(reason);
    }

    /// Cancels a queued task and completes it right here, without polling its future.
    pub(crate) fn cancel_and_run(self) {
        // Queued (`NOTIFIED`), so this only sets `CANCELLED` and never asks to schedule.
        let submit = self.0.raw.state().transition_to_notified_and_cancel();
        debug_assert!(!submit);
        self.run();
    }
}
